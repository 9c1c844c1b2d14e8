//! Containers on the network, in the guest suite's guest: each has its own
//! stack on the bridge 10.0.3.0/24, the root namespace at 10.0.3.1 routes
//! and translates between the bridge and the NIC.
//!
//! A container pings its gateway 10.0.3.1 and, through source NAT, the
//! host 10.0.2.2; it sends a datagram to the host's echo server and hears
//! it back. Then the demo: two containers each run `httpd` on port 80,
//! published with `spawn -p` on 8081 and 8082 (QEMU forwards `http_ports`
//! of the host's 127.0.0.1 there), and the host's `curl` gets each
//! container's own file. Publishing a port twice, or a malformed `-p`, is
//! refused. Containers reach each other by address: a datagram to a UDP
//! echo server in a third container, and a `curl` of the second one's
//! `httpd`. Every frame a port of the bridge sent was copied to the mirror
//! (`netstat`). tshark then judges both captures, checksums after
//! translation included, and what each shows of this traffic
//! (`bridge_capture.rs`).
//!
//! Through the translator the other way too ([`port_unreachable_through_nat`], [`hairpin`]): a
//! container's datagram to a closed port of the host draws QEMU's port
//! unreachable, which the root gives back to the container, so its `nc -u`
//! says so; and each container fetches the other's page by the guest's
//! address and published port, 10.0.2.15:8081 and :8082 (hairpin).
use anyhow::{ensure, Context, Result};
use std::process::Command;
use std::time::Duration;

use crate::console::Console;
use crate::guestnet;

const SHORT: Duration = Duration::from_secs(30);

/// The guest ports the host's `http_ports` are forwarded to: each
/// container's published port 80.
pub const PUBLISHED: [u16; 2] = [8081, 8082];

/// What a container sends the host's echo server through source NAT.
pub const THROUGH_NAT: &str = "through nat";

/// `spawn -d` of `line`'s command: the container's number and its host pid.
fn spawn_detached(con: &mut Console, line: &str) -> Result<(u32, String)> {
    let out = con.run(line, SHORT)?;
    let words: Vec<&str> = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("container "))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    match words[..] {
        [n, "pid", pid, ..] => Ok((n.parse()?, pid.to_string())),
        _ => anyhow::bail!("{line} printed:\n{out}"),
    }
}

/// Container `n`'s address on the bridge.
fn bridge_addr(n: u32) -> String {
    format!("10.0.3.{}", n + 1)
}

/// Runs the containers' tests; returns how many frames the mirror copied
/// (`mirror_frames`), which the bridge's capture must hold.
pub fn test(con: &mut Console, echo_port: u16, http_ports: [u16; 2]) -> Result<u64> {
    for (dir, who) in [("nc1", "one"), ("nc2", "two")] {
        con.run(
            &format!("mkdir {dir}; echo container {who} > {dir}/who"),
            SHORT,
        )?;
    }

    let out = con.run("spawn nc1 ping -c 2 10.0.3.1", SHORT)?;
    ensure!(
        out.contains("2 received"),
        "container ping of 10.0.3.1:\n{out}"
    );
    eprintln!("  ok: a container pings its gateway 10.0.3.1");
    let out = con.run("spawn nc1 ping -c 2 10.0.2.2", SHORT)?;
    ensure!(
        out.contains("2 received"),
        "container ping of 10.0.2.2:\n{out}"
    );
    let line = format!("echo {THROUGH_NAT} | spawn nc1 nc -u -w 2000 10.0.2.2 {echo_port}");
    let out = con.run(&line, SHORT)?;
    ensure!(
        out.contains(THROUGH_NAT),
        "container to the host's echo server:\n{out}"
    );
    eprintln!("  ok: a container pings 10.0.2.2 and hears the host's echo server, through NAT");
    let before = guestnet::netstat(con)?;
    port_unreachable_through_nat(con)?;

    let mut pids = Vec::new();
    let mut servers = Vec::new();
    for (dir, port) in [("nc1", PUBLISHED[0]), ("nc2", PUBLISHED[1])] {
        let (n, pid) = spawn_detached(con, &format!("spawn -d -p {port}:80 {dir} httpd"))?;
        servers.push(n);
        pids.push(pid);
    }
    let out = con.run(&format!("spawn -d -p {}:80 nc2 httpd", PUBLISHED[0]), SHORT)?;
    ensure!(
        out.contains("published already"),
        "a port published twice:\n{out}"
    );
    let out = con.run("spawn -p 80 nc2 httpd", SHORT)?;
    ensure!(out.contains("not HOSTPORT:PORT"), "a malformed -p:\n{out}");
    eprintln!("  ok: a port published twice and a malformed -p are refused");

    for (port, who) in http_ports.iter().zip(["one", "two"]) {
        let url = format!("http://127.0.0.1:{port}/who");
        let run = Command::new("curl")
            .args(["-sS", "--fail", "--max-time", "20", &url])
            .output()
            .context("running curl")?;
        let body = String::from_utf8_lossy(&run.stdout);
        ensure!(
            run.status.success() && body.trim() == format!("container {who}"),
            "curl {url}: {} {body:?} {}",
            run.status,
            String::from_utf8_lossy(&run.stderr).trim()
        );
        eprintln!("  ok: curl {url} -> {}", body.trim());
    }
    hairpin(con)?;
    let moved = guestnet::deltas(&before, &guestnet::netstat(con)?);
    for counter in ["nat_icmp_errors_in", "nat_hairpin"] {
        ensure!(
            moved.get(counter).is_some_and(|&d| d > 0),
            "{counter} did not move: {moved:?}"
        );
    }

    // Container to container, by address, over the bridge alone.
    let (echo, pid) = spawn_detached(con, "spawn -d nc1 udpecho")?;
    pids.push(pid);
    let line = format!(
        "echo hi neighbour | spawn nc2 nc -u -w 2000 {} 7",
        bridge_addr(echo)
    );
    let out = con.run(&line, SHORT)?;
    ensure!(out.contains("hi neighbour"), "{line}:\n{out}");
    let url = format!("http://{}/who", bridge_addr(servers[1]));
    let out = con.run(&format!("spawn nc1 curl {url}"), SHORT)?;
    ensure!(out.contains("container two"), "curl {url} in nc1:\n{out}");
    eprintln!("  ok: containers reach each other: UDP echo and curl {url}");

    for pid in pids {
        con.run(&format!("kill {pid}"), SHORT)?;
    }
    con.run("rm nc1/who nc2/who", SHORT)?;
    mirrored(con)
}

/// Every frame a port sent reached the mirror: one of the mirror's
/// counters moved for each frame the bridge counted on arrival, and none
/// of them is a refusal, so the bridge's capture misses nothing.
fn mirrored(con: &mut Console) -> Result<u64> {
    let c = guestnet::netstat(con)?;
    let get = |k: &str| {
        c.get(k)
            .copied()
            .with_context(|| format!("netstat has no {k}"))
    };
    let arrived = ["bridge_frames_in", "drop_bridge_queue_full"]
        .into_iter()
        .chain(["drop_bridge_no_port", "drop_bridge_forged_src"])
        .chain(["drop_bridge_bad_frame"])
        .map(get)
        .sum::<Result<u64>>()?;
    let frames = get("mirror_frames")?;
    for refused in [
        "drop_mirror_no_mbuf",
        "drop_mirror_too_long",
        "drop_mirror_ring_full",
    ] {
        ensure!(get(refused)? == 0, "{refused} is {}", get(refused)?);
    }
    ensure!(
        frames > 0 && frames == arrived,
        "mirror_frames is {frames}, the bridge took {arrived} frames from its ports"
    );
    eprintln!("  ok: the mirror copied all {frames} frames the bridge's ports sent");
    Ok(frames)
}

/// A container's datagram to a host port nobody listens on: QEMU's user
/// network answers with a port unreachable quoting the translated
/// datagram, the root gives it back to the container (RFC 5508), and the
/// container's connected socket reports ECONNREFUSED.
fn port_unreachable_through_nat(con: &mut Console) -> Result<()> {
    let (closed, _) = guestnet::two_free_udp_ports()?;
    let line = format!("echo anyone | spawn nc1 nc -u -w 1000 10.0.2.2 {closed}");
    let out = con.run(&line, SHORT)?;
    ensure!(
        out.contains("port unreachable"),
        "a container's datagram to a closed host port:\n{out}"
    );
    eprintln!("  ok: a container hears the port unreachable for its datagram, through NAT");
    Ok(())
}

/// Each container fetches the other's page by the guest's own address
/// and the other's published port, as a client outside would.
fn hairpin(con: &mut Console) -> Result<()> {
    for (dir, port, who) in [("nc1", PUBLISHED[1], "two"), ("nc2", PUBLISHED[0], "one")] {
        let line = format!("spawn {dir} curl http://10.0.2.15:{port}/who");
        let out = con.run(&line, SHORT)?;
        ensure!(
            out.contains(&format!("container {who}")),
            "hairpin from {dir} to 10.0.2.15:{port}:\n{out}"
        );
        eprintln!("  ok: {dir} fetches container {who}'s page by 10.0.2.15:{port} (hairpin)");
    }
    Ok(())
}
