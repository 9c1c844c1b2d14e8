//! The network interop stages of `cargo xtask test`, also
//! runnable alone with `cargo xtask interop [--lan] [--tap] [--hostile]`:
//! two guests on one virtual LAN, a real Linux peer over TAP (root only,
//! reported as skipped otherwise), the hostile-frame suite with flood, and
//! TCP with real peers: over the user network (`tcp_user`) and with the
//! Linux peer (`tcp_tap`).
use anyhow::Result;

use crate::{build, guestnet};

pub fn run(lan: bool, tap: bool, hostile: bool, tcp: bool) -> Result<()> {
    let all = !(lan || tap || hostile || tcp);
    crate::setup::qemu()?;
    crate::setup::tshark()?;
    // The stages' own image, never the user's build/fs.img; each guest
    // boots a copy of it.
    let images = build::images(&guestnet::artifact("interop-fs.img"))?;
    if all || lan {
        crate::lan::test(&images)?;
    }
    if all || tap {
        crate::tap::test(&images)?;
    }
    if all || hostile {
        crate::hostile::test(&images)?;
    }
    if all || tcp {
        crate::tcp_user::test(&images)?;
        crate::tcp_tap::test(&images)?;
    }
    Ok(())
}
