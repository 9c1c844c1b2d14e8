//! tshark reads the two captures of the guest suite's guest side by side:
//! the NIC's and the containers' bridge's (its mirror card, `guest.rs`),
//! after the containers' tests (`netns.rs`). Each holds no malformed frame
//! and no bad IPv4, UDP, TCP or ICMP checksum, the translated ones
//! included (`tshark::check_tcp`), and each shows its side of the traffic:
//! - the bridge holds frames between containers (UDP to the echo server,
//!   TCP to `httpd`), which never reach the NIC;
//! - the flows source NAT translated leave the containers from their
//!   10.0.3.N on the bridge (ping and UDP to the host) and the NIC from
//!   10.0.2.15 (the datagram to the host's echo server, found by its
//!   text, and its echo back); no 10.0.3.0/24 address is ever seen on the
//!   NIC;
//! - the host's connections to the published ports reach 10.0.2.15:8081
//!   and 8082 on the NIC, and 10.0.3.N:80 on the bridge;
//! - the port unreachable QEMU sends about a translated datagram reaches
//!   the container on the bridge, its checksums (the quoted header's
//!   included) right after translation;
//! - a container's connection to 10.0.2.15's published port (hairpin)
//!   leaves it on the bridge and comes back onto the bridge from
//!   10.0.2.15, and never reaches the NIC;
//! - the bridge's capture holds at least the frames the mirror copied.
use anyhow::{ensure, Result};
use std::path::Path;

use crate::netns::{PUBLISHED, THROUGH_NAT};
use crate::tshark;

/// The guest's address on QEMU's user network, and the host's there.
const GUEST: &str = "10.0.2.15";
const HOST: &str = "10.0.2.2";
/// The bridge's subnet, and the root namespace's address on it.
const BRIDGE: &str = "10.0.3.0/24";
const GATEWAY: &str = "10.0.3.1";

/// What one capture must (or must not) hold, as a display filter.
struct Expect {
    what: &'static str,
    filter: String,
    present: bool,
}

fn holds(what: &'static str, filter: String) -> Expect {
    Expect {
        what,
        filter,
        present: true,
    }
}

/// The datagram a container sent the host's echo server, and its echo.
fn through_nat(echo_port: u16) -> String {
    format!("udp.port == {echo_port} && udp contains \"{THROUGH_NAT}\"")
}

/// The checks on the bridge's capture.
fn on_bridge(echo_port: u16) -> Vec<Expect> {
    let nat = through_nat(echo_port);
    let between = format!(
        "ip.src == {BRIDGE} && ip.dst == {BRIDGE} && ip.src != {GATEWAY} && ip.dst != {GATEWAY}"
    );
    vec![
        holds(
            "UDP between two containers",
            format!("{between} && udp.port == 7"),
        ),
        holds(
            "TCP between two containers",
            format!("{between} && tcp.port == 80 && tcp.len > 0"),
        ),
        holds(
            "a container's ping of the host, from its own address",
            format!("ip.src == {BRIDGE} && ip.dst == {HOST} && icmp.type == 8"),
        ),
        holds(
            "a container's datagram to the host's echo server, from its own address",
            format!("ip.src == {BRIDGE} && ip.dst == {HOST} && {nat}"),
        ),
        holds(
            "the echo's reply, translated back to the container",
            format!("ip.src == {HOST} && ip.dst == {BRIDGE} && {nat}"),
        ),
        holds(
            "the host's connections to the published ports, at 10.0.3.N:80",
            format!("ip.src == {HOST} && ip.dst == {BRIDGE} && tcp.dstport == 80"),
        ),
        holds(
            "a port unreachable about a translated datagram, given back to the container",
            format!("ip.dst == {BRIDGE} && icmp.type == 3 && icmp.code == 3"),
        ),
        holds(
            "a container's connection to a published port of 10.0.2.15 (hairpin)",
            format!("ip.src == {BRIDGE} && ip.dst == {GUEST} && tcp.flags.syn == 1"),
        ),
        holds(
            "the hairpinned connection turned back onto the bridge, from 10.0.2.15",
            format!("ip.src == {GUEST} && ip.dst == {BRIDGE} && tcp.dstport == 80"),
        ),
    ]
}

/// The checks on the NIC's capture.
fn on_nic(echo_port: u16) -> Vec<Expect> {
    let [a, b] = PUBLISHED;
    let nat = through_nat(echo_port);
    vec![
        Expect {
            what: "no 10.0.3.0/24 address on the NIC",
            filter: format!("ip.addr == {BRIDGE} || arp.src.proto_ipv4 == {BRIDGE}"),
            present: false,
        },
        holds(
            "the container's datagram to the echo server, from 10.0.2.15",
            format!("ip.src == {GUEST} && ip.dst == {HOST} && {nat}"),
        ),
        holds(
            "the echo's reply, to 10.0.2.15",
            format!("ip.src == {HOST} && ip.dst == {GUEST} && {nat}"),
        ),
        holds(
            "the host's connections to the published ports",
            format!("ip.dst == {GUEST} && (tcp.dstport == {a} || tcp.dstport == {b})"),
        ),
        Expect {
            what: "no hairpinned frame leaves by the NIC",
            // The outer header only (`#1`): an ICMP error's quote may hold
            // our address twice.
            filter: format!("ip.src#1 == {GUEST} && ip.dst#1 == {GUEST}"),
            present: false,
        },
    ]
}

/// Judges the NIC's capture `nic` and the bridge's `bridge` after the
/// containers' tests, the mirror having copied `mirrored` frames.
pub fn judge(
    nic: &Path,
    bridge: &Path,
    guest_mac: &str,
    echo_port: u16,
    mirrored: u64,
) -> Result<()> {
    let frames = tshark::check_tcp(bridge, guest_mac)? as u64;
    ensure!(
        frames >= mirrored,
        "{} holds {frames} frames, the mirror copied {mirrored}",
        bridge.display()
    );
    for (pcap, checks) in [(bridge, on_bridge(echo_port)), (nic, on_nic(echo_port))] {
        for e in checks {
            let n = tshark::count(pcap, &e.filter)?;
            ensure!(
                (n > 0) == e.present,
                "{}: {} frames of {:?} ({}): want {}",
                pcap.display(),
                n,
                e.what,
                e.filter,
                if e.present { "some" } else { "none" }
            );
            eprintln!("  ok: {}: {} ({n} frames)", pcap.display(), e.what);
        }
    }
    Ok(())
}
