//! `codegen [--check] [ROOT]`: the generator without xtask (xtask calls the library).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            _ => root = PathBuf::from(arg),
        }
    }
    match codegen::run(&root, check) {
        Ok(written) => {
            for p in written {
                println!("updated {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
