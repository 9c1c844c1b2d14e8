//! The network interop stages of `cargo xtask test` (issues 5 and 6), also
//! runnable alone with `cargo xtask interop [--lan] [--tap] [--hostile]`:
//! two guests on one virtual LAN, a real Linux peer over TAP (root only,
//! reported as skipped otherwise), and the hostile-frame suite with flood.
use anyhow::Result;

use crate::build::{self, Images};
use crate::guestnet;

pub fn run(lan: bool, tap: bool, hostile: bool) -> Result<()> {
    let all = !(lan || tap || hostile);
    crate::setup::qemu()?;
    crate::setup::tshark()?;
    let images = stable_copy(build::all()?)?;
    if all || lan {
        crate::lan::test(&images)?;
    }
    if all || tap {
        crate::tap::test(&images)?;
    }
    if all || hostile {
        crate::hostile::test(&images)?;
    }
    Ok(())
}

/// A private snapshot of fs.img taken from a finished build: on a machine
/// where other builds may rewrite build/fs.img meanwhile, copy until two
/// reads agree.
fn stable_copy(images: Images) -> Result<Images> {
    for _ in 0..5 {
        let copy = guestnet::own_images(&images, "interop")?;
        if std::fs::read(&copy.fs_img)? == std::fs::read(&images.fs_img)? {
            return Ok(copy);
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    anyhow::bail!(
        "{} keeps changing (another build running?)",
        images.fs_img.display()
    )
}
