//! With root: TCP between the guest and the Linux kernel over TAP, in a
//! network namespace of our own (see `tap.rs`), each direction checked by
//! SHA-256 or byte for byte.
//!
//! The frames pass through `xtask/peer/netem.py` between QEMU (a `dgram`
//! netdev on the namespace's loopback) and the TAP device: netem's
//! impairments in user space, because the kernels these tests run on may
//! lack `sch_netem` (and `tc` cannot shape what a TAP receives without
//! `ifb` and a classifier they may lack too). Linux still sees every frame
//! on its TAP device. The stages:
//!
//! - a clean link: the guest's `curl` downloads from Python's `http.server`
//!   in the namespace, Linux's `curl` downloads from the guest's `httpd`;
//! - 16 Linux `curl`s at once against `httpd`;
//! - both directions again through netem's loss, reordering, duplication
//!   and delay, on frames to and from the guest;
//! - RSTs and segments outside the window injected with scapy into a live
//!   connection to the guest's `tcpecho` (`xtask/peer/tcp.py inject`);
//! - the Linux side vanishing mid-transfer (every
//!   frame dropped, its process killed), then coming back: the guest's
//!   connection ends and `httpd` serves again;
//! - a SYN flood from spoofed addresses while a real download is served;
//!   the half-open connections it leaves stay within the backlog bound;
//!
//! then no mbuf is left behind, and tshark judges the capture.
use anyhow::{ensure, Context, Result};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::build::Images;
use crate::console::Console;
use crate::guest::{Guest, Net};
use crate::guestnet::{self, configure, NETMASK};
use crate::netem::{Wire, GUEST_WIRE, RELAY_WIRE};
use crate::tap::{self, Netns, GUEST_IP, GUEST_MAC, LINUX_IP, TAP};
use crate::transfer::{self, HttpServer, WebRoot, FILE_SIZE, GUEST_FILE, SMALL_FILE, SMALL_SIZE};
use crate::{paths, setup, tshark};

const BOOT: Duration = Duration::from_secs(120);
const SHORT: Duration = Duration::from_secs(30);
/// The http.server in the namespace.
const LINUX_HTTP: u16 = 8000;
/// Connections at once in the parallel stage.
const PARALLEL: usize = 16;
/// What netem does to every frame each way, in `tc qdisc ... netem` words.
const NETEM: &str = "loss 5% reorder 25% duplicate 1% delay 20ms";
/// SYNs in the flood.
const FLOOD: usize = 2000;
/// The Linux curl's port in the vanishing stage, to find its connection
/// in `netstat`.
const VANISHING_PORT: u16 = 45000;

/// `vanish`: also the stage of the Linux side vanishing mid-transfer,
/// which needs the kernel to probe a window too small to send into.
pub fn test(images: &Images) -> Result<()> {
    eprintln!("\n== TCP with a real Linux peer over TAP in a network namespace (root)");
    if !setup::running_as_root() || !tap::ip_netns_works() {
        eprintln!("SKIPPED: linux-peer TCP tests (need root and ip netns)");
        return Ok(());
    }
    setup::tool("curl", "curl")?;
    setup::tool("tc", "iproute2")?;
    setup::scapy()?;
    let started = Instant::now();
    let ns = Netns::create(&format!("xv6net-tcp-{}", std::process::id()))?;
    let wire = Wire::start(&ns)?;
    let g = Guest {
        images: guestnet::own_images(images, "tcp-tap")?,
        net: Net::Dgram {
            local_port: GUEST_WIRE,
            remote_port: RELAY_WIRE,
            mac: GUEST_MAC,
        },
        pcap: guestnet::artifact("tcp-tap.pcap"),
        gdb: None,
    };
    std::fs::remove_file(&g.pcap).ok();
    let pcap = g.pcap.clone();
    let log = guestnet::artifact("tcp-tap-console.log");
    eprintln!(
        "namespace {}: {TAP} {LINUX_IP}; guest {GUEST_IP} (console: {})",
        ns.name,
        log.display()
    );
    let mut con = Console::spawn("tcp-tap", ns.wrap(g.command()), &log)?;
    con.expect("$ ", BOOT)
        .context("waiting for the shell prompt")?;
    configure(&mut con, GUEST_IP, GUEST_MAC, NETMASK, LINUX_IP)?;
    let www = WebRoot::new("tcp-tap-www", 0x5eed_0002)?;
    let wrap = ["ip", "netns", "exec", &ns.name];
    let _server = HttpServer::start(&wrap, &www.dir, LINUX_IP, LINUX_HTTP)?;
    transfer::guest_server(&mut con, "httpd", "httpd: serving")?;
    transfer::guest_server(&mut con, "tcpecho", "tcpecho: listening")?;
    let mut table = Vec::new();

    both_ways(&mut con, &ns, &www, "clean link", true)?;
    table.push(format!(
        "clean link: guest curl <- Linux http.server and Linux curl <- guest httpd, {FILE_SIZE} bytes each, SHA-256 equal"
    ));

    parallel(&mut con, &ns, &www)?;
    table.push(format!(
        "{PARALLEL} Linux curls at once <- guest httpd: all {SMALL_SIZE} bytes, identical"
    ));

    wire.set(&format!("netem {NETEM}"))?;
    let impaired = both_ways(&mut con, &ns, &www, "netem", false);
    wire.set("clean")?;
    impaired?;
    table.push(format!("netem {NETEM}, both ways: both downloads intact"));

    inject(&ns)?;
    table.push(
        "scapy: out-of-window RST ignored, out-of-window data ACKed and dropped, in-window RST challenged (RFC 5961), exact RST resets"
            .into(),
    );

    // Before the flood, whose half-open connections fill the backlog for
    // minutes; a failure is reported at the end, after the other stages
    // and the capture's judgement.
    let vanished = vanishes(&mut con, &ns, &wire, &www);

    let before = guestnet::netstat(&mut con)?;
    syn_flood(&ns, &www)?;
    let (half_open, beyond) = flood_bounded(&mut con, &before)?;
    table.push(format!(
        "{FLOOD} SYNs from spoofed addresses: a Linux curl is served during the flood; {half_open} half-open (at most {}), {beyond} SYNs past the backlog counted",
        net::tcp::BACKLOG_MAX
    ));
    // A connection left behind by a failed vanishing stage holds its
    // buffers: that failure is the one to report.
    if vanished.is_ok() {
        let (_, balance) = drained(&mut con, Duration::from_secs(60))?;
        table.push(format!("mbufs: {balance}"));
    }
    con.send_line("halt")?;
    con.wait_exit(SHORT)?;
    drop(con);
    drop(wire);
    drop(ns);
    for row in &table {
        eprintln!("  ok: {row}");
    }
    tshark::check_tcp(&pcap, &GUEST_MAC.to_string())?;
    vanished?;
    eprintln!("  ok: Linux vanishes mid-transfer, comes back: the guest's connection ends, httpd serves again");
    eprintln!("Linux-peer TCP tests passed in {:.0?}", started.elapsed());
    Ok(())
}

/// After the flood: the half-open connections it left stay within the
/// listener's backlog bound, and the SYNs beyond it were counted, either
/// refused (`drop_tcp_backlog_full`) or taking the place of an older
/// half-open connection (`tcp_half_open_dropped`). Returns both numbers.
fn flood_bounded(con: &mut Console, before: &guestnet::Counters) -> Result<(usize, u64)> {
    let listing = con.run("netstat", SHORT)?;
    let half_open = listing.matches("SYN-RECEIVED").count();
    ensure!(
        half_open <= net::tcp::BACKLOG_MAX,
        "{half_open} half-open connections after the flood, more than the backlog's {}:\n{listing}",
        net::tcp::BACKLOG_MAX
    );
    let after = guestnet::netstat(con)?;
    let moved = |k: &str| {
        after
            .get(k)
            .unwrap_or(&0)
            .saturating_sub(*before.get(k).unwrap_or(&0))
    };
    let beyond = moved("drop_tcp_backlog_full") + moved("tcp_half_open_dropped");
    ensure!(
        beyond as usize >= FLOOD / 2,
        "drop_tcp_backlog_full and tcp_half_open_dropped moved by {beyond} together for {FLOOD} SYNs"
    );
    Ok((half_open, beyond))
}

/// The guest's curl downloads from Linux (sha256sum in the guest), then
/// Linux's curl downloads the guest's copy from its httpd. Only the first
/// time does the guest keep the file (`to_file`): its httpd serves it
/// from then on, and the file system's writes need not slow every stage.
fn both_ways(
    con: &mut Console,
    ns: &Netns,
    www: &WebRoot,
    what: &str,
    to_file: bool,
) -> Result<()> {
    let t = Instant::now();
    let url = format!("http://{LINUX_IP}:{LINUX_HTTP}/{GUEST_FILE}");
    let guest_what = format!("{what}: guest curl <- Linux");
    if to_file {
        transfer::guest_fetches(con, &url, GUEST_FILE, &www.sha256(), &guest_what)?;
    } else {
        transfer::guest_streams(con, &url, &www.sha256(), &guest_what)?;
    }
    eprintln!(
        "  {what}: guest curl <- Linux http.server in {:.1?}",
        t.elapsed()
    );
    let t = Instant::now();
    linux_curl(
        ns,
        GUEST_FILE,
        &www.bytes,
        "linux-download",
        &[],
        &format!("{what}: Linux curl <- guest httpd"),
    )?;
    eprintln!("  {what}: Linux curl <- guest httpd in {:.1?}", t.elapsed());
    Ok(())
}

/// A `curl` in the namespace of the guest's `file`, with `extra` options,
/// as a command writing to build/`name`.
fn linux_curl_command(
    ns: &Netns,
    file: &str,
    name: &str,
    extra: &[&str],
) -> (Command, std::path::PathBuf) {
    let out = guestnet::artifact(name);
    std::fs::remove_file(&out).ok();
    let url = format!("http://{GUEST_IP}/{file}");
    let mut args = transfer::curl_args(&url, &out);
    args.splice(1..1, extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (ns.command(&args), out)
}

fn linux_curl(
    ns: &Netns,
    file: &str,
    want: &[u8],
    name: &str,
    extra: &[&str],
    what: &str,
) -> Result<()> {
    let (mut cmd, out) = linux_curl_command(ns, file, name, extra);
    transfer::curl_gets(&mut cmd, &out, want, what)
}

/// The guest fetches [`SMALL_FILE`], then 16 Linux curls download it from
/// its httpd at once.
fn parallel(con: &mut Console, ns: &Netns, www: &WebRoot) -> Result<()> {
    let url = format!("http://{LINUX_IP}:{LINUX_HTTP}/{SMALL_FILE}");
    let sha = transfer::sha256_hex(&www.small);
    transfer::guest_fetches(con, &url, SMALL_FILE, &sha, "guest curl <- Linux")?;
    let t = Instant::now();
    let mut running: Vec<(Child, std::path::PathBuf)> = Vec::new();
    for i in 0..PARALLEL {
        let (mut cmd, out) =
            linux_curl_command(ns, SMALL_FILE, &format!("linux-parallel-{i}"), &[]);
        running.push((cmd.spawn().context("starting curl")?, out));
    }
    let mut failures = Vec::new();
    for (i, (mut child, out)) in running.into_iter().enumerate() {
        let what = format!("parallel curl {i}");
        let ok = child.wait()?.success();
        if !ok {
            failures.push(format!("{what}: curl failed"));
        } else if let Err(e) = transfer::same_bytes(&out, &www.small, &what) {
            failures.push(format!("{e:#}"));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("  {PARALLEL} parallel downloads in {:.1?}", t.elapsed());
    Ok(())
}

/// `xtask/peer/tcp.py` in the namespace; its output must end in `ok`.
fn peer_script(ns: &Netns, args: &[&str], what: &str) -> Result<String> {
    let script = paths::root().join("xtask/peer/tcp.py");
    let mut full = vec!["python3", script.to_str().context("script path")?];
    full.extend_from_slice(args);
    let out = ns.command(&full).output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        out.status.success(),
        "{what} failed ({}):\n{text}",
        out.status
    );
    Ok(text)
}

fn inject(ns: &Netns) -> Result<()> {
    let text = peer_script(
        ns,
        &["inject", TAP, GUEST_IP, "7", &GUEST_MAC.to_string()],
        "RST and out-of-window injection",
    )?;
    for line in text.lines() {
        eprintln!("  inject: {line}");
    }
    Ok(())
}

/// The flood runs in the background while a real download is served.
fn syn_flood(ns: &Netns, www: &WebRoot) -> Result<()> {
    let script = paths::root().join("xtask/peer/tcp.py");
    let count = FLOOD.to_string();
    let mac = GUEST_MAC.to_string();
    let mut flood = ns
        .command(&[
            "python3",
            script.to_str().context("script path")?,
            "flood",
            TAP,
            GUEST_IP,
            "80",
            &mac,
            &count,
        ])
        .spawn()
        .context("starting the SYN flood")?;
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let served = linux_curl(
        ns,
        SMALL_FILE,
        &www.small,
        "linux-flood",
        &[],
        "Linux curl during a SYN flood",
    );
    let flooded = flood.wait()?;
    served?;
    ensure!(flooded.success(), "the SYN flood script failed: {flooded}");
    eprintln!("  SYN flood: a download was served in {:.1?}", t.elapsed());
    Ok(())
}

/// A slow download from the guest; then every frame from Linux is dropped
/// and its curl killed (the RST it sends is dropped too); after a while
/// the link comes back and Linux answers the guest's retransmissions with
/// RST. The guest's connection must end and httpd must serve again.
fn vanishes(con: &mut Console, ns: &Netns, wire: &Wire, www: &WebRoot) -> Result<()> {
    let port = VANISHING_PORT.to_string();
    let (mut cmd, _) = linux_curl_command(
        ns,
        GUEST_FILE,
        "linux-vanishing",
        &["--limit-rate", "20k", "--local-port", &port],
    );
    let mut curl = cmd.spawn().context("starting curl")?;
    std::thread::sleep(Duration::from_secs(2));
    let listing = con.run("netstat", SHORT)?;
    let peer = format!("{LINUX_IP}:{VANISHING_PORT}");
    ensure!(
        listing.contains(&peer),
        "netstat shows no connection from {peer} mid-transfer:\n{listing}"
    );
    wire.set("cut")?;
    curl.kill().ok();
    curl.wait().ok();
    std::thread::sleep(Duration::from_secs(6));
    wire.set("clean")?;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let listing = con.run("netstat", SHORT)?;
        if !listing.contains(&peer) {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "the connection from {peer} outlived its peer by 90 s:\n{listing}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    linux_curl(
        ns,
        SMALL_FILE,
        &www.small,
        "linux-after",
        &[],
        "Linux curl after a peer vanished",
    )
}

/// [`guestnet::mbufs_drained`] for up to `patience`.
fn drained(con: &mut Console, patience: Duration) -> Result<(guestnet::Counters, String)> {
    let deadline = Instant::now() + patience;
    loop {
        match guestnet::mbufs_drained(con) {
            Ok(done) => return Ok(done),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_secs(5)),
        }
    }
}
