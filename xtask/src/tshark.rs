//! Wireshark as the judge: dissect a capture with checksum validation on and
//! fail on any malformed frame, bad checksum or expert warning, printing the
//! offending frames.
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

/// Preferences that make tshark check every checksum it can (ICMP's is
/// always checked; IPv4, UDP and TCP are off by default).
const VALIDATE: &[&str] = &[
    "ip.check_checksum:TRUE",
    "udp.check_checksum:TRUE",
    "tcp.check_checksum:TRUE",
];

/// What Wireshark objects to in a frame.
const FLAGGED: &str = "_ws.malformed || _ws.expert.severity >= warning \
    || ip.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0";

/// Judges every frame in `pcap`; returns how many there are.
pub fn check(pcap: &Path) -> Result<usize> {
    judge(pcap, None)
}

/// Judges only the frames `mac` sent: for captures that also hold frames
/// made bad on purpose (the hostile suite).
pub fn check_sender(pcap: &Path, mac: impl std::fmt::Display) -> Result<usize> {
    judge(pcap, Some(format!("eth.src == {mac}")))
}

fn judge(pcap: &Path, only: Option<String>) -> Result<usize> {
    anyhow::ensure!(pcap.exists(), "no capture at {}", pcap.display());
    let scope = only.as_deref().unwrap_or("frame");
    let flagged = tshark(pcap, &format!("({scope}) && ({FLAGGED})"), &[])?;
    anyhow::ensure!(
        flagged.trim().is_empty(),
        "tshark flags frames in {}:\n{flagged}",
        pcap.display()
    );
    let frames = tshark(pcap, scope, &["-T", "fields", "-e", "frame.number"])?;
    let n = frames.lines().count();
    anyhow::ensure!(n > 0, "no frames matching {scope:?} in {}", pcap.display());
    eprintln!(
        "tshark: {n} frames ({scope}) in {}, none malformed or with bad checksums",
        pcap.display()
    );
    Ok(n)
}

/// How many frames in `pcap` match the display filter `filter`.
pub fn count(pcap: &Path, filter: &str) -> Result<usize> {
    anyhow::ensure!(pcap.exists(), "no capture at {}", pcap.display());
    let frames = tshark(pcap, filter, &["-T", "fields", "-e", "frame.number"])?;
    Ok(frames.lines().count())
}

fn tshark(pcap: &Path, filter: &str, extra: &[&str]) -> Result<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap).arg("-n");
    for pref in VALIDATE {
        cmd.args(["-o", pref]);
    }
    cmd.args(["-Y", filter]).args(extra);
    let out = cmd.output().context("running tshark")?;
    anyhow::ensure!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
