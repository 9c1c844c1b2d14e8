//! Against the running kernel: malformed frames and a flood.
//!
//! The guest's NIC is a `Net::Dgram` link whose only other end is
//! `xtask/hostile/frames.py` (scapy), so every frame the guest sends reaches
//! the script and every frame the script writes reaches the guest, bad or
//! not, without root and without leaving 127.0.0.1. The script plays the
//! gateway 10.0.2.2 (answering the guest's ARP requests) and sends one kind
//! of bad frame per command. For each kind this module reads `netstat`
//! before and after and asserts that exactly the kind's drop counter moved
//! by the number of frames sent (and no other drop counter), then that the
//! guest still answers ping and UDP echo. Then a flood of 100,000
//! datagrams, with ping and echo tried throughout; afterwards every mbuf
//! must be back. Only the frames the guest sent are judged by tshark: the
//! rest are malformed on purpose.
use anyhow::{bail, ensure, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::build::Images;
use crate::console::Console;
use crate::guest::{Guest, Mac, Net};
use crate::guestnet::{self, deltas, netstat};
use crate::{paths, setup, tshark};

const BOOT: Duration = Duration::from_secs(120);
const SHORT: Duration = Duration::from_secs(20);
/// Datagrams in the flood.
pub const FLOOD: u64 = 100_000;
/// The guest's MAC on the hostile link, and the script's.
const GUEST_MAC: Mac = Mac::numbered(0x0601);
const PEER_MAC: &str = "52:54:00:0e:ff:01";
const PEER_IP: &str = "10.0.2.2";
/// The guest's address, which frames.py assumes (`--guest-ip`).
const GUEST_IP: &str = "10.0.2.15";
/// The port the flood goes to (udpsink listens there).
const SINK_PORT: u16 = 9;

/// Drop counters a kind may move besides its own.
fn also_allowed(kind: &str) -> &'static [&'static str] {
    match kind {
        // Over the rate limit, the port unreachable is not sent and counted.
        "udp_closed_port_storm" => &["drop_icmp_rate_limited"],
        // Protocol unreachables, rate-limited like the rest.
        "ipv4_unknown_protocol" => &["drop_icmp_rate_limited"],
        // The datagrams the flood leaves may time out while it is checked.
        "ipv4_fragment_flood" => &["drop_ipv4_frag_timeout", "drop_icmp_rate_limited"],
        _ => &[],
    }
}

/// The script, driven one command per line; each reply is one JSON line.
struct Script {
    child: Child,
    stdin: ChildStdin,
    out: BufReader<ChildStdout>,
}

impl Script {
    fn spawn(port: u16, qemu_port: u16) -> Result<Script> {
        let path = paths::root().join("xtask/hostile/frames.py");
        let mut child = Command::new("python3")
            .arg(&path)
            .args([
                "--port",
                &port.to_string(),
                "--qemu-port",
                &qemu_port.to_string(),
            ])
            .args([
                "--guest-mac",
                &GUEST_MAC.to_string(),
                "--my-mac",
                PEER_MAC,
                "--my-ip",
                PEER_IP,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting python3 {}", path.display()))?;
        let stdin = child.stdin.take().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut s = Script { child, stdin, out };
        let ready = s.line()?;
        ensure!(flag(&ready, "ready"), "frames.py did not start: {ready}");
        Ok(s)
    }

    /// One reply: a JSON object on one line.
    fn line(&mut self) -> Result<Value> {
        let mut line = String::new();
        let n = self.out.read_line(&mut line)?;
        ensure!(n > 0, "frames.py exited (see its stderr above)");
        serde_json::from_str(&line).with_context(|| format!("frames.py replied {line:?}"))
    }

    fn call(&mut self, cmd: &str) -> Result<Value> {
        writeln!(self.stdin, "{cmd}")?;
        self.stdin.flush()?;
        let reply = self.line()?;
        if let Some(e) = reply.get("error") {
            bail!("frames.py {cmd}: {e}");
        }
        Ok(reply)
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        writeln!(self.stdin, "quit").ok();
        self.stdin.flush().ok();
        std::thread::sleep(Duration::from_millis(100));
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// `true` only if `reply[key]` is the JSON `true`.
fn flag(reply: &Value, key: &str) -> bool {
    reply[key] == Value::Bool(true)
}

fn number(reply: &Value, key: &str) -> Result<u64> {
    reply[key]
        .as_u64()
        .with_context(|| format!("no number {key:?} in {reply}"))
}

/// `reply[key]` for a report line (`?` when absent).
fn shown(reply: &Value, key: &str) -> String {
    reply.get(key).map_or("?".into(), Value::to_string)
}

#[derive(Deserialize)]
struct Kind {
    name: String,
    counter: String,
    frames: u64,
    #[serde(default)]
    about: String,
}

/// The whole suite (called from `cargo xtask test`).
pub fn test(images: &Images) -> Result<()> {
    eprintln!("\n== hostile frames and flood");
    setup::scapy()?;
    let started = Instant::now();
    // Offline first: every kind builds and carries its defect where it should.
    let selftest = Command::new("python3")
        .arg(paths::root().join("xtask/hostile/frames.py"))
        .arg("--selftest")
        .output()?;
    ensure!(
        selftest.status.success(),
        "frames.py --selftest failed:\n{}{}",
        String::from_utf8_lossy(&selftest.stdout),
        String::from_utf8_lossy(&selftest.stderr)
    );
    let (qemu_port, script_port) = guestnet::two_free_udp_ports()?;
    let mut script = Script::spawn(script_port, qemu_port)?;
    let pcap = guestnet::artifact("hostile.pcap");
    let log = guestnet::artifact("hostile-console.log");
    std::fs::remove_file(&pcap).ok();
    let guest = Guest {
        images: guestnet::own_images(images, "hostile")?,
        net: Net::Dgram {
            local_port: qemu_port,
            remote_port: script_port,
            mac: GUEST_MAC,
        },
        pcap: pcap.clone(),
        gdb: None,
    };
    eprintln!("guest {GUEST_MAC} on 127.0.0.1:{qemu_port} <-> frames.py on 127.0.0.1:{script_port} (console: {})", log.display());
    let mut con = Console::spawn("hostile", guest.command(), &log)?;
    con.expect("$ ", BOOT)
        .context("waiting for the shell prompt")?;
    // No DHCP server on this link: the address the script expects, static.
    guestnet::configure(&mut con, GUEST_IP, GUEST_MAC, guestnet::NETMASK, PEER_IP)?;
    con.run("udpecho 7 &", SHORT)?;
    std::thread::sleep(Duration::from_millis(300));
    let alive = script.call("alive")?;
    ensure!(
        flag(&alive, "ping") && flag(&alive, "echo"),
        "guest does not answer before any bad frame: {alive}"
    );
    let kinds = kinds(&mut script)?;
    let mut report = Vec::new();
    for k in &kinds {
        report.push(one_kind(&mut con, &mut script, k)?);
    }
    eprintln!("{} kinds of bad frames, {} frames, each dropped under its counter; guest answered ping and echo after each:",
        kinds.len(), kinds.iter().map(|k| k.frames).sum::<u64>());
    for line in &report {
        eprintln!("  {line}");
    }

    flood(&mut con, &mut script)?;

    let stats = script.call("stats")?;
    ensure!(
        number(&stats, "misdirected")? == 0,
        "the guest sent frames to a MAC other than the peer's (ARP poisoned?): {stats}"
    );
    con.send_line("halt")?;
    con.wait_exit(SHORT)?;
    drop(con);
    drop(script);
    tshark::check_sender(&pcap, GUEST_MAC)?;
    eprintln!("hostile suite passed in {:.0?}", started.elapsed());
    Ok(())
}

fn kinds(script: &mut Script) -> Result<Vec<Kind>> {
    let head = script.call("kinds")?;
    let n = number(&head, "kinds")?;
    let mut kinds = Vec::new();
    for _ in 0..n {
        let line = script.line()?;
        kinds.push(Kind::deserialize(&line).with_context(|| format!("a kind: {line}"))?);
    }
    ensure!(
        kinds.len() >= 20,
        "frames.py offers only {} kinds",
        kinds.len()
    );
    Ok(kinds)
}

/// Sends one kind, checks the counters and that the guest still works.
fn one_kind(con: &mut Console, script: &mut Script, k: &Kind) -> Result<String> {
    let before = netstat(con)?;
    let reply = script.call(&format!("burst {}", k.name))?;
    ensure!(
        flag(&reply, "ok"),
        "{}: the script's check failed: {reply}",
        k.name
    );
    std::thread::sleep(Duration::from_millis(150));
    let after = netstat(con)?;
    let moved = deltas(&before, &after);
    let got = moved.get(&k.counter).copied().unwrap_or(0);
    let ctx = || {
        format!(
            "{} ({}): counters that moved: {moved:?}\nscript: {reply}",
            k.name, k.about
        )
    };
    let arrived = moved.get("frames_in").copied().unwrap_or(0);
    if k.name == "udp_closed_port_storm" && arrived < k.frames as i64 {
        // A storm can overrun QEMU's socket on the host before the guest
        // sees it: every datagram that did arrive must be counted.
        ensure!(
            arrived * 10 >= k.frames as i64 * 9 && got == moved.get("udp_in").copied().unwrap_or(0),
            "{} sent, {arrived} arrived, {} moved by {got}\n{}",
            k.frames,
            k.counter,
            ctx()
        );
    } else if k.name == "ipv4_fragment_flood" {
        // Every datagram but those the reassembly slots still hold gave way.
        let held = net::reassembly::REASM_DATAGRAMS as i64;
        ensure!(
            got == k.frames as i64 - held,
            "{} incomplete datagrams sent, {} moved by {got}, not {}\n{}",
            k.frames,
            k.counter,
            k.frames as i64 - held,
            ctx()
        );
    } else {
        ensure!(
            got == k.frames as i64,
            "{} frames sent, {} moved by {got}\n{}",
            k.frames,
            k.counter,
            ctx()
        );
    }
    let stray: Vec<_> = moved
        .iter()
        .filter(|(name, _)| {
            name.starts_with("drop_")
                && **name != k.counter
                && !also_allowed(&k.name).contains(&name.as_str())
        })
        .collect();
    ensure!(
        stray.is_empty(),
        "other drop counters moved: {stray:?}\n{}",
        ctx()
    );
    let mut extra = String::new();
    match k.name.as_str() {
        "udp_closed_port_storm" => {
            let sent = moved.get("icmp_unreach_out").copied().unwrap_or(0);
            let limited = moved.get("drop_icmp_rate_limited").copied().unwrap_or(0);
            ensure!(
                sent + limited == got && limited > 0,
                "port unreachables: {sent} sent + {limited} rate-limited, expected a sum of {got} with some limited\n{}",
                ctx()
            );
            extra = format!(
                " ({sent} unreachables sent, {limited} rate-limited; peer saw {})",
                shown(&reply, "unreach_seen")
            );
        }
        "arp_poison" => {
            let arp = con.run("arp", SHORT)?;
            let gw = arp.lines().find(|l| l.starts_with(PEER_IP));
            ensure!(
                gw.is_some_and(|l| l.contains(PEER_MAC)),
                "after unsolicited replies the gateway entry is not {PEER_MAC}:\n{arp}"
            );
            ensure!(
                !arp.contains("de:ad:be:ef"),
                "a forged MAC got into the ARP cache:\n{arp}"
            );
            extra = format!(" (cache still has {PEER_IP} at {PEER_MAC})");
        }
        "ipv4_ttl_zero" => extra = format!(" ({} replies)", shown(&reply, "replies")),
        "ipv4_fragment_flood" => extra = flood_times_out(con, &after)?,
        "icmp_echo_max" => extra = " (replies intact)".into(),
        "icmp_echo_huge_fragmented" => {
            extra = format!(
                " (its {} data bytes echoed in fragments, intact)",
                shown(&reply, "reply_bytes")
            )
        }
        "udp_echo_padded" => extra = " (echoed without the padding)".into(),
        _ => {}
    }
    let alive = script.call("alive")?;
    ensure!(
        flag(&alive, "ping") && flag(&alive, "echo"),
        "{}: guest stopped answering: {alive}",
        k.name
    );
    Ok(format!(
        "{:<26} {:>3} frames -> {} +{got}{extra}",
        k.name, k.frames, k.counter
    ))
}

/// After the fragment flood: the datagrams the reassembly slots kept time
/// out, each fragment counted, each sender told (time exceeded, within the
/// rate limit), and no fragment is left held.
fn flood_times_out(con: &mut Console, after_flood: &guestnet::Counters) -> Result<String> {
    let wait =
        Duration::from_millis(net::reassembly::REASM_TIMEOUT_MS) + Duration::from_millis(1500);
    std::thread::sleep(wait);
    let later = netstat(con)?;
    let moved = deltas(after_flood, &later);
    let get = |k: &str| moved.get(k).copied().unwrap_or(0);
    let held = net::reassembly::REASM_DATAGRAMS as i64;
    ensure!(
        get("drop_ipv4_frag_timeout") == held
            && get("icmp_time_exceeded_out") + get("drop_icmp_rate_limited") == held
            && later.get("mbufs_reassembly") == Some(&0),
        "after {wait:?} the {held} datagrams left did not time out cleanly: {moved:?}"
    );
    Ok(format!(
        " (after {wait:.1?} the {held} left timed out, {} time exceeded sent)",
        get("icmp_time_exceeded_out")
    ))
}

fn flood(con: &mut Console, script: &mut Script) -> Result<()> {
    eprintln!("\n== flood: {FLOOD} datagrams at udpsink (port {SINK_PORT}), ping and echo during");
    con.run(&format!("udpsink {SINK_PORT} {FLOOD} 2000 &"), SHORT)?;
    con.expect("ready", SHORT)?;
    let before = netstat(con)?;
    let reply = script.call(&format!("flood {FLOOD} {SINK_PORT}"))?;
    eprintln!("flood: {reply}");
    ensure!(
        number(&reply, "sent")? >= FLOOD,
        "the flood sent fewer than {FLOOD}: {reply}"
    );
    let tries = number(&reply, "tries_during")?;
    let (pings, echoes) = (
        number(&reply, "pings_ok_during")?,
        number(&reply, "echoes_ok_during")?,
    );
    ensure!(
        tries == 0 || pings + echoes > 0,
        "no ping or echo answered during the flood: {reply}"
    );
    let received = con
        .expect("received", Duration::from_secs(60))
        .context("udpsink did not finish")?;
    let tail = con.expect("\n", SHORT)?;
    let alive = script.call("alive")?;
    ensure!(
        flag(&alive, "ping") && flag(&alive, "echo"),
        "guest stopped answering after the flood: {alive}"
    );
    // Waits (a few seconds at most) until every mbuf is back.
    let (after, balance) = guestnet::mbufs_drained(con)?;
    let moved = deltas(&before, &after);
    let show = |k: &str| moved.get(k).copied().unwrap_or(0);
    let last = received.lines().last().unwrap_or("");
    eprintln!("flood: udpsink {}{}", last.trim(), tail.trim_end());
    eprintln!(
        "flood: frames_in +{}, udp_in +{}, socket_delivered +{}, drop_socket_queue_full +{}, drop_rx_no_mbuf +{}, mbufs_exhausted +{}",
        show("frames_in"), show("udp_in"), show("socket_delivered"), show("drop_socket_queue_full"),
        show("drop_rx_no_mbuf"), show("mbufs_exhausted")
    );
    let drops: Vec<_> = moved
        .iter()
        .filter(|(k, _)| k.starts_with("drop_"))
        .collect();
    eprintln!("flood: drop counters moved: {drops:?}");
    eprintln!(
        "flood: of {} sent, the guest took in {} frames; the host kernel counted {} datagrams dropped at a full UDP receive buffer \
         (QEMU stops reading its socket while the guest's RX ring is full)",
        number(&reply, "sent")?, show("frames_in"), shown(&reply, "host_rcvbuf_drops")
    );
    eprintln!("flood: ping/echo during the flood: {pings}/{tries} pings, {echoes}/{tries} echoes answered");
    eprintln!("flood: every mbuf back: {balance}");
    let copied = after.get("rx_bytes_copied").copied();
    ensure!(
        copied == Some(0),
        "flood: received bytes copied before recvfrom: {copied:?}"
    );
    Ok(())
}
