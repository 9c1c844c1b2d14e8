//! The receive benchmark, step one of `cargo xtask bench` (alone with
//! `--parse`): the kernel's own receive path (`net::Stack::input` up to the
//! socket, then `recvfrom`) on a captured Ethernet/IPv4/UDP frame, timed in
//! the same run as smoltcp's whole stack (`Interface` + `udp::Socket`) and
//! as etherparse's and smoltcp's header parsing, each printed as a ratio
//! to ours. The measuring is `spec-tests/benches/parse.rs` (its module docs
//! say what each side does); it runs on the host, no guest involved.
use anyhow::{ensure, Result};

use crate::paths;

/// `full`: criterion's statistics for each side, then the ratios (about
/// a minute); otherwise only the same-run ratios (seconds, once built).
pub fn run(full: bool) -> Result<()> {
    let mut cmd = paths::cargo();
    cmd.current_dir(paths::root()).args([
        "bench",
        "-p",
        "spec-tests",
        "--features",
        "bench",
        "--bench",
        "parse",
    ]);
    if !full {
        cmd.args(["--", "--quick"]);
    }
    let status = cmd.status()?;
    ensure!(status.success(), "the receive benchmark failed ({status})");
    Ok(())
}
