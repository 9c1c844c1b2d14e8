//! `cargo xtask codegen [--check]`: regenerate the `wire` crate, the deku
//! reference codecs and the round-trip tests from `proto-defs/`, or (with
//! `--check`) fail naming every generated file that is stale.
use anyhow::{bail, Result};

use crate::paths;

pub fn run(check: bool) -> Result<()> {
    match codegen::run(&paths::root(), check) {
        Ok(changed) if check => {
            debug_assert!(changed.is_empty());
            println!("codegen: generated files are up to date");
            Ok(())
        }
        Ok(changed) => {
            for path in &changed {
                println!("codegen: updated {}", path.display());
            }
            if changed.is_empty() {
                println!("codegen: nothing changed");
            }
            Ok(())
        }
        Err(e) => bail!("codegen: {e}"),
    }
}
