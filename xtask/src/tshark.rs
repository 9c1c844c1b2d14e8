//! Wireshark as the judge: dissect a capture with checksum validation on and
//! fail on any malformed frame, bad checksum or expert warning.
use anyhow::{bail, ensure, Context, Result};
use std::path::Path;
use std::process::Command;

/// Preferences that make tshark check every checksum it can (ICMP's is
/// always checked; IPv4, UDP and TCP are off by default).
const VALIDATE: &[&str] = &[
    "ip.check_checksum:TRUE",
    "udp.check_checksum:TRUE",
    "tcp.check_checksum:TRUE",
];

pub fn check(pcap: &Path) -> Result<()> {
    ensure!(pcap.exists(), "no capture at {}", pcap.display());
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap).arg("-n");
    for pref in VALIDATE {
        cmd.args(["-o", pref]);
    }
    // Frames Wireshark flags: malformed, checksum errors, expert warnings/errors.
    cmd.args(["-Y", "_ws.malformed || _ws.expert.severity >= warning || ip.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0"]);
    let out = cmd.output().context("running tshark")?;
    ensure!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let flagged = String::from_utf8_lossy(&out.stdout);
    let total = count_frames(pcap)?;
    if !flagged.trim().is_empty() {
        bail!("tshark flags frames in {}:\n{flagged}", pcap.display());
    }
    ensure!(total > 0, "the capture {} is empty", pcap.display());
    eprintln!(
        "tshark: {total} frames in {}, none malformed or with bad checksums",
        pcap.display()
    );
    Ok(())
}

fn count_frames(pcap: &Path) -> Result<usize> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-n", "-T", "fields", "-e", "frame.number"])
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).lines().count())
}
