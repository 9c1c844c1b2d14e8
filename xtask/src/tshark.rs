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

/// The expert group of TCP's conversation analysis (retransmissions,
/// out-of-order and duplicate segments, resets, zero windows), as tshark
/// prints `_ws.expert.group`.
const SEQUENCE_GROUP: u32 = 0x0200_0000;
/// `_ws.expert.severity` of a warning; errors are above it.
const WARNING: u32 = 0x0060_0000;

/// Judges a capture of TCP traffic over a lossy link or with injected
/// segments: no malformed frame and no bad checksum (TCP's included), and
/// no expert warning except TCP's sequence analysis, whose warnings
/// (a reset, a segment lost or out of order) describe the conversation the
/// test made happen, not a badly built frame. A peer's checksum of 0xffff
/// where 0x0000 is the canonical form (RFC 1624: the same number in one's
/// complement, which Linux sends now and then) is the peer's nit, not a
/// fault; from the guest, `guest` (its MAC), it would be flagged.
pub fn check_tcp(pcap: &Path, guest: &str) -> Result<usize> {
    let bad = format!(
        "(_ws.malformed || tcp.checksum.status == 0 || ({FLAGGED})) && \
         !(eth.src != {guest} && tcp.checksum == 0xffff && _ws.expert.message contains \"RFC 1624\")"
    );
    let rows = tshark(
        pcap,
        &bad,
        &[
            // The files the tests move are random bytes, which HTTP or a
            // heuristic dissector (Thrift, seen) would try to read as their
            // own and flag: dissect only the layers judged here. tshark
            // 4.0 (Debian 12's) ignores `ALL` and still runs HTTP on port
            // 8000 (seen: "Illegal characters found in header name"), so
            // every TCP payload is also decoded as plain data, which takes
            // it before any port or heuristic dissector.
            "--disable-protocol",
            "ALL",
            "--enable-protocol",
            "frame,eth,ethertype,arp,ip,icmp,udp,tcp",
            "-d",
            "tcp.port==1-65535,data",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=|",
            "-e",
            "frame.number",
            "-e",
            "_ws.expert.group",
            "-e",
            "_ws.expert.severity",
            "-e",
            "_ws.expert.message",
        ],
    )?;
    let flagged: Vec<&str> = rows.lines().filter(|row| !only_sequence(row)).collect();
    anyhow::ensure!(
        flagged.is_empty(),
        "tshark flags frames in {} (frame, expert groups, severities, messages):\n{}",
        pcap.display(),
        flagged.join("\n")
    );
    let n = count(pcap, "frame")?;
    anyhow::ensure!(n > 0, "no frames in {}", pcap.display());
    let tcp = count(pcap, "tcp")?;
    eprintln!(
        "tshark: {n} frames ({tcp} TCP) in {}, none malformed or with bad checksums",
        pcap.display()
    );
    Ok(n)
}

/// Whether a flagged frame's row (number, groups, severities, messages)
/// holds warnings of TCP's sequence analysis and nothing worse.
fn only_sequence(row: &str) -> bool {
    let fields: Vec<&str> = row.split('\t').collect();
    let numbers = |i: usize| -> Vec<Option<u32>> {
        fields
            .get(i)
            .unwrap_or(&"")
            .split('|')
            .map(|v| v.trim().parse().ok())
            .collect()
    };
    let (groups, severities) = (numbers(1), numbers(2));
    groups.len() == severities.len()
        && groups.iter().zip(&severities).all(|(g, s)| match (g, s) {
            (Some(g), Some(s)) => *s < WARNING || *g == SEQUENCE_GROUP,
            _ => false,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tcp_sequence_warnings_pass() {
        // A reset (sequence, warning) and a retransmission (sequence, note).
        assert!(only_sequence("13\t33554432|33554432\t6291456|4194304\tConnection reset (RST)|This frame is a (suspected) retransmission"));
        // A bad TCP checksum (checksum group, error) beside a reset.
        assert!(!only_sequence(
            "7\t16777216|33554432\t8388608|6291456\tBad checksum|Connection reset (RST)"
        ));
        // Malformed.
        assert!(!only_sequence("9\t117440512\t8388608\tMalformed Packet"));
        // Flagged by a checksum status with no expert item at all.
        assert!(!only_sequence("3"));
    }
}
