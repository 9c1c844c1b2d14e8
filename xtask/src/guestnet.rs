//! Helpers shared by everything that talks to a guest's network: free
//! loopback ports, the host echo server, per-guest copies of fs.img, and
//! the shell commands the tests type (`ifconfig`, `arp`, `ping`, `nc`,
//! `netstat`) with their output checked.
use anyhow::{ensure, Context, Result};
use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::time::Duration;

use crate::build::Images;
use crate::console::Console;
use crate::guest::Mac;
use crate::paths;

const SHORT: Duration = Duration::from_secs(30);
pub const NETMASK: &str = "255.255.255.0";
/// No router on the link.
pub const NO_GATEWAY: &str = "0.0.0.0";

/// Two different free UDP ports (both bound at once, so they differ).
pub fn two_free_udp_ports() -> Result<(u16, u16)> {
    let a = UdpSocket::bind("127.0.0.1:0")?;
    let b = UdpSocket::bind("127.0.0.1:0")?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

/// A free TCP port on 127.0.0.1 (for the gdb stub, a forward to the guest).
pub fn free_tcp_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `port` if it is free for UDP on 127.0.0.1, or a clear error.
pub fn udp_port_free(port: u16, what: &str) -> Result<u16> {
    UdpSocket::bind(("127.0.0.1", port))
        .with_context(|| format!("UDP port {port} ({what}) is taken on 127.0.0.1: pick another or leave it out to have one picked"))?;
    Ok(port)
}

/// `port` if it is free for TCP on 127.0.0.1, or a clear error.
pub fn tcp_port_free(port: u16, what: &str) -> Result<u16> {
    std::net::TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("TCP port {port} ({what}) is taken on 127.0.0.1: pick another or leave it out to have one picked"))?;
    Ok(port)
}

/// A UDP echo server on the host's loopback, on `port` or a free one, for
/// as long as xtask runs. The guest reaches it through QEMU's user-mode
/// gateway as 10.0.2.2 (`nettests PORT`); the benchmark also uses it as
/// its baseline peer.
pub fn loopback_echo_server(port: Option<u16>) -> Result<u16> {
    let sock = UdpSocket::bind(("127.0.0.1", port.unwrap_or(0))).with_context(|| {
        format!(
            "UDP port {} (the echo server) is taken on 127.0.0.1",
            port.unwrap_or(0)
        )
    })?;
    let port = sock.local_addr()?.port();
    std::thread::spawn(move || {
        // Room for the longest datagram: nettests echoes 65,507 bytes.
        let mut buf = vec![0u8; u16::MAX as usize];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            sock.send_to(&buf[..n], from).ok();
        }
    });
    Ok(port)
}

/// A private copy of fs.img for one guest (guests must not share a disk).
pub fn own_images(images: &Images, name: &str) -> Result<Images> {
    let fs_img = paths::build_dir().join(format!("{name}-fs.img"));
    std::fs::copy(&images.fs_img, &fs_img)
        .with_context(|| format!("copying fs.img to {}", fs_img.display()))?;
    Ok(Images {
        kernel: images.kernel.clone(),
        fs_img,
    })
}

/// Every counter `netstat` printed, by name.
pub type Counters = BTreeMap<String, u64>;

/// Runs `netstat -a` (every counter, zero or not) on the guest and parses
/// its `  name value` lines.
pub fn netstat(con: &mut Console) -> Result<Counters> {
    let out = con.run("netstat -a", Duration::from_secs(20))?;
    let mut map = Counters::new();
    let mut in_counters = false;
    for line in out.lines() {
        if line.starts_with("Counters") {
            in_counters = true;
            continue;
        }
        let mut words = line.split_whitespace();
        if let (true, Some(name), Some(value), None) =
            (in_counters, words.next(), words.next(), words.next())
        {
            if let Ok(v) = value.parse() {
                map.insert(name.to_string(), v);
            }
        }
    }
    ensure!(
        !map.is_empty(),
        "{}: netstat printed no counters:\n{out}",
        con.name
    );
    Ok(map)
}

/// How much each counter grew from `before` to `after` (only those that moved).
pub fn deltas(before: &Counters, after: &Counters) -> BTreeMap<String, i64> {
    after
        .iter()
        .filter_map(|(k, &v)| {
            let d = v as i64 - *before.get(k).unwrap_or(&0) as i64;
            (d != 0).then(|| (k.clone(), d))
        })
        .collect()
}

/// The mbuf pool's census in `netstat`: where each buffer is.
const MBUF_STATES: [(&str, &str); 7] = [
    ("mbufs_free", "free"),
    ("mbufs_rx_posted", "in the RX ring"),
    ("mbufs_in_stack", "held in the stack"),
    ("mbufs_socket", "on sockets"),
    ("mbufs_arp_wait", "waiting for ARP"),
    ("mbufs_tx_inflight", "in flight on TX"),
    ("mbufs_reassembly", "fragments held for reassembly"),
];

/// Every mbuf is back once traffic has drained: each is free or posted in
/// the RX ring, none left on a socket, waiting for ARP, in flight on TX or
/// held by the stack. The kernel's census always adds up to the total (a
/// buffer is in exactly one state), so that is checked only to catch a
/// state missing from the export; the leak check is where the buffers are.
pub fn mbufs_balanced(c: &Counters) -> Result<String> {
    let get = |k: &str| {
        c.get(k)
            .copied()
            .with_context(|| format!("netstat has no {k}"))
    };
    let total = get("mbufs_total")?;
    let mut states = Vec::new();
    for (name, what) in MBUF_STATES {
        states.push((get(name)?, what));
    }
    let shown = states
        .iter()
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(" + ");
    let sum: u64 = states.iter().map(|(n, _)| n).sum();
    ensure!(sum == total, "mbuf census {shown} != {total} total");
    let (free, posted) = (states[0].0, states[1].0);
    ensure!(posted > 0, "no mbuf posted in the RX ring: {shown}");
    ensure!(
        free + posted == total,
        "mbufs not back after the traffic drained: {shown} (total {total})"
    );
    Ok(format!(
        "{free} free + {posted} in the RX ring == {total} total"
    ))
}

/// Runs `netstat` until [`mbufs_balanced`] holds, for a few seconds: sent
/// frames are reclaimed on the next tick and packets waiting for ARP give
/// up after three requests a second apart, but a leaked buffer never comes
/// back. Returns the last counters and the balance.
pub fn mbufs_drained(con: &mut Console) -> Result<(Counters, String)> {
    let mut tries = 5;
    loop {
        let c = netstat(con)?;
        match mbufs_balanced(&c) {
            Ok(b) => return Ok((c, b)),
            Err(e) if tries == 0 => return Err(e),
            Err(_) => tries -= 1,
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Where captures and console logs of a named test go.
pub fn artifact(name: &str) -> PathBuf {
    paths::build_dir().join(name)
}

/// Sets the guest's address and checks `ifconfig` reports it and the MAC.
pub fn configure(
    con: &mut Console,
    ip: &str,
    mac: Mac,
    netmask: &str,
    gateway: &str,
) -> Result<()> {
    let out = con.run(&format!("ifconfig {ip} {netmask} {gateway}"), SHORT)?;
    ensure!(
        out.contains(&format!("inet {ip} ")) && out.contains(&mac.to_string()),
        "{}: ifconfig did not take {ip} / {mac}:\n{out}",
        con.name
    );
    Ok(())
}

/// `arp <ip>` after flushing the cache: a fresh request/reply exchange.
pub fn arp_resolves(con: &mut Console, ip: &str, mac: Mac) -> Result<()> {
    con.run("arp -d", SHORT)?;
    let out = con.run(&format!("arp {ip}"), SHORT)?;
    ensure!(
        out.contains(&format!("{ip} is at {mac}")),
        "{}: arp {ip} should find {mac}:\n{out}",
        con.name
    );
    Ok(())
}

pub fn pings(con: &mut Console, ip: &str) -> Result<()> {
    let out = con.run(&format!("ping -c 3 -i 200 {ip}"), SHORT)?;
    ensure!(
        out.contains("3 received"),
        "{}: ping {ip}:\n{out}",
        con.name
    );
    Ok(())
}

/// `ping -s N` of `ip` for each of [`BIG_DATAGRAMS`] (as echo data):
/// requests and replies in IPv4 fragments, 3 of 3 answered with the data
/// intact (the guest's ping reports a reply whose data differs as `wrong
/// data` and does not count it).
pub fn big_pings(con: &mut Console, ip: &str) -> Result<()> {
    for n in BIG_DATAGRAMS {
        let out = con.run(&format!("ping -c 3 -i 200 -s {n} {ip}"), SHORT)?;
        ensure!(
            out.contains("3 received") && out.contains(&format!("{} bytes from {ip}", n + 8)),
            "{}: ping -s {n} {ip}:\n{out}",
            con.name
        );
    }
    Ok(())
}

/// `echo <tag> | nc -u <ip> <port>` must print the tag back (an echo server runs there).
pub fn nc_echo(con: &mut Console, ip: &str, port: u16, tag: &str) -> Result<()> {
    let out = con.run(&format!("echo {tag} | nc -u -w 1000 {ip} {port}"), SHORT)?;
    ensure!(
        out.lines().any(|l| l.trim() == tag),
        "{}: no echo of {tag:?} from {ip}:{port}:\n{out}",
        con.name
    );
    Ok(())
}

/// The datagram sizes echoed both ways between every pair of peers: two
/// fragments, many, and the longest UDP datagram IPv4 carries.
pub const BIG_DATAGRAMS: [usize; 3] = [8_000, 30_000, 65_507];

/// `udpcheck` sends each of [`BIG_DATAGRAMS`] to the echo server at
/// `ip:port`, which must send each back byte for byte (IPv4 fragments
/// both ways).
pub fn big_echoes(con: &mut Console, ip: &str, port: u16) -> Result<()> {
    let sizes = BIG_DATAGRAMS.map(|n| n.to_string()).join(" ");
    let out = con.run(&format!("udpcheck {ip} {port} {sizes}"), SHORT)?;
    for n in BIG_DATAGRAMS {
        ensure!(
            out.lines().any(|l| l.trim() == format!("echoed {n} bytes")),
            "{}: {n}-byte datagram not echoed by {ip}:{port}:\n{out}",
            con.name
        );
    }
    Ok(())
}

/// Ends a foreground program reading the console (chat, nc) with ^D. The
/// newline after it reaches the shell as an empty command: two prompts.
pub fn end_input(con: &mut Console) -> Result<()> {
    con.send_line("\x04")?;
    con.expect("$ ", SHORT)?;
    con.expect("$ ", SHORT)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn census(states: [u64; 7]) -> Counters {
        let mut c: Counters = MBUF_STATES
            .iter()
            .zip(states)
            .map(|((name, _), n)| (name.to_string(), n))
            .collect();
        c.insert("mbufs_total".into(), 512);
        c
    }

    #[test]
    fn mbuf_balance_fails_on_any_buffer_left_behind() {
        let ok = mbufs_balanced(&census([384, 128, 0, 0, 0, 0, 0])).unwrap();
        assert_eq!(ok, "384 free + 128 in the RX ring == 512 total");
        for (i, (name, _)) in MBUF_STATES.iter().enumerate().skip(2) {
            let mut s = [383, 128, 0, 0, 0, 0, 0];
            s[i] = 1;
            let e = mbufs_balanced(&census(s)).unwrap_err().to_string();
            assert!(e.contains("not back"), "{name}: {e}");
        }
        let e = mbufs_balanced(&census([383, 128, 0, 0, 0, 0, 0])).unwrap_err();
        assert!(e.to_string().contains("census"), "{e}");
        let e = mbufs_balanced(&census([512, 0, 0, 0, 0, 0, 0])).unwrap_err();
        assert!(e.to_string().contains("RX ring"), "{e}");
        let mut c = census([384, 128, 0, 0, 0, 0, 0]);
        c.remove("mbufs_arp_wait");
        assert!(mbufs_balanced(&c).is_err());
    }
}
