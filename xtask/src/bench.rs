//! `cargo xtask bench`: UDP between a host process and the guest over QEMU
//! user-mode networking. Each figure is printed next to a baseline measured
//! in the same run (the same host loop against an echo thread on loopback),
//! because these machines are shared and absolute numbers drift. The
//! figures go to `build/bench.json`, the round-trip distribution and the
//! paced-rate curve to `build/bench.svg`.
//!
//! What runs is what the tests run: the guest's `udpecho` answers the round
//! trips and the paced stream, `udpblast` sends the guest→host stream, and
//! `netstat -t` reports the kernel's receive-path profile at the end.
//!
//! Then TCP (`bench_tcp`): bulk throughput guest→host (`tcpbulk send`)
//! and host→guest (`tcpbulk sink`), and connections/s to the guest's
//! `tcpecho`, each beside the same loop between two host threads.
use anyhow::{ensure, Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{TcpListener, UdpSocket};
use std::process::Command;
use std::time::Duration;

use crate::bench_boot;
use crate::bench_plot::{self, Latency, RateCurve};
use crate::bench_tcp::{self, Bulk};
use crate::bench_udp::{self, Paced, RoundTrips, PACED_SIZE};
use crate::console::Console;
use crate::flags::BenchArgs;
use crate::guest::{Guest, Net};
use crate::{build, guestnet, paths, setup, transfer};

/// Offered rates of the paced echo, datagrams/s.
const RATES: [u64; 8] = [1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000];
const STREAM_SIZE: usize = 1024;
/// Datagrams per system call of the guest's stream: `sendmmsg`'s batch,
/// and one `sendto` each.
const STREAM_BATCH: usize = 32;

/// How much of each measurement: the full run, or `--quick`.
struct Sizes {
    round_trips: usize,
    paced_secs: f64,
    stream: usize,
    tcp_bytes: usize,
    tcp_connections: usize,
}

const FULL: Sizes = Sizes {
    round_trips: 15_000,
    paced_secs: 2.0,
    stream: 20_000,
    tcp_bytes: 16 << 20,
    tcp_connections: 500,
};
const QUICK: Sizes = Sizes {
    round_trips: 2_000,
    paced_secs: 0.5,
    stream: 5_000,
    tcp_bytes: 4 << 20,
    tcp_connections: 100,
};
/// The guest ports of `tcpbulk sink` and `tcpecho`.
const TCP_SINK: u16 = 5001;
const TCP_ECHO: u16 = 7;

#[derive(Serialize)]
struct Report {
    machine: String,
    /// The host's 1-minute load average when the run started and ended.
    host_load_1min: String,
    host_load_1min_after: String,
    harts: u64,
    quick: bool,
    /// When the guest's console said udpecho listens.
    udpecho_listening_after_qemu_start_s: f64,
    first_echo_after_qemu_start_s: f64,
    /// Where the time to the first echo went.
    boot: bench_boot::Timeline,
    round_trips: Vec<Pair<RoundTrips>>,
    paced_size: usize,
    paced: Vec<Pair<Paced>>,
    highest_lossless_per_sec: Pair<u64>,
    /// The guest's non-zero drop counters after the paced runs.
    guest_drops: BTreeMap<String, u64>,
    /// `udpblast`'s stream, `STREAM_BATCH` datagrams per `sendmmsg`.
    guest_to_host_per_sec: Pair<f64>,
    /// The same with one `sendto` per datagram.
    guest_to_host_sendto_per_sec: f64,
    stream_size: usize,
    tcp: TcpFigures,
    rx_profile: Vec<String>,
    /// The same profile's means over the round trips alone and over the
    /// paced runs alone (where a full socket queue adds its wait).
    rx_profile_phases: Vec<PhaseProfile>,
}

/// The receive-path stages `netstat -t` reports, in a frame's order.
const RX_STAGES: [&str; 4] = [
    "irq_to_stack",
    "stack_to_queue",
    "queue_to_recv",
    "recv_to_user",
];

/// The receive-path profile over one phase of the run: the growth of the
/// kernel's `rxprof_<stage>_n` and `_us` counters between two `netstat`s.
#[derive(Serialize)]
struct PhaseProfile {
    phase: &'static str,
    datagrams: u64,
    /// Mean µs per datagram of each stage of [`RX_STAGES`].
    mean_us: Vec<f64>,
}

impl PhaseProfile {
    fn between(
        phase: &'static str,
        before: &guestnet::Counters,
        after: &guestnet::Counters,
    ) -> PhaseProfile {
        let grew = |name: String| {
            let at = |c: &guestnet::Counters| c.get(&name).copied().unwrap_or(0);
            at(after).saturating_sub(at(before))
        };
        let datagrams = grew(format!("rxprof_{}_n", RX_STAGES[0]));
        let mean_us = RX_STAGES
            .iter()
            .map(|s| grew(format!("rxprof_{s}_us")) as f64 / datagrams.max(1) as f64)
            .collect();
        PhaseProfile {
            phase,
            datagrams,
            mean_us,
        }
    }
}

impl std::fmt::Display for PhaseProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:<12} {:>6} datagrams:", self.phase, self.datagrams)?;
        for (stage, us) in RX_STAGES.iter().zip(&self.mean_us) {
            write!(f, " {stage} {us:.0}")?;
        }
        Ok(())
    }
}

/// The TCP figures, each beside its loopback baseline.
#[derive(Serialize)]
struct TcpFigures {
    guest_to_host: Pair<Bulk>,
    host_to_guest: Pair<Bulk>,
    /// What the guest's `tcpbulk` printed for each direction.
    guest_reports: Vec<String>,
    connections_per_sec: Pair<f64>,
    connections: usize,
}

/// A figure and its loopback baseline from the same run.
#[derive(Serialize)]
struct Pair<T> {
    guest: T,
    loopback: T,
}

/// The guest the benchmark boots, and the host port forwarded to its
/// `udpecho` and its two TCP ports (`tcpbulk sink`, `tcpecho`).
fn bench_guest() -> Result<(Guest, u16, (u16, u16))> {
    setup::qemu()?;
    let images = build::images(&guestnet::artifact("bench-fs.img"))?;
    let (echo_port, _) = guestnet::two_free_udp_ports()?;
    let tcp_ports = (guestnet::free_tcp_port()?, guestnet::free_tcp_port()?);
    let tcp_forwards = vec![(tcp_ports.0, TCP_SINK), (tcp_ports.1, TCP_ECHO)];
    let guest = Guest {
        images,
        net: Net::User {
            udp_forwards: vec![(echo_port, bench_boot::ECHO_PORT)],
            tcp_forwards,
        },
        pcap: paths::build_dir().join("bench.pcap"),
        gdb: None,
    };
    Ok((guest, echo_port, tcp_ports))
}

/// `--boots N`: N boots to the first echo, each with where its time went,
/// then their median; all of it to `build/bench-boots.json`.
pub fn boots(args: &BenchArgs) -> Result<()> {
    let n = args.boots.unwrap_or(1);
    let (guest, echo_port, _) = bench_guest()?;
    let machine = machine(args.smp);
    let load = host_load();
    println!("{machine}; host load {load}");
    let mut runs = Vec::new();
    for i in 1..=n {
        let mut booted = bench_boot::boot(
            with_harts(guest.command(), args.smp),
            echo_port,
            &guest.pcap,
            &paths::build_dir().join("bench-console.log"),
        )?;
        println!(
            "boot {i} of {n}: first echo {:.3} s after QEMU's start; where the time went:\n{}",
            booted.first_echo_s, booted.timeline
        );
        booted.con.send_line("halt")?;
        booted.con.wait_exit(Duration::from_secs(20)).ok();
        runs.push(booted.timeline);
    }
    let mut firsts: Vec<f64> = runs.iter().map(|t| t.first_echo_s()).collect();
    firsts.sort_by(f64::total_cmp);
    let median = firsts[firsts.len() / 2];
    println!(
        "first echo after QEMU's start, {n} boots: median {median:.3} s, fastest {:.3} s, slowest {:.3} s (host load {load} to {})",
        firsts[0],
        firsts[firsts.len() - 1],
        host_load()
    );
    #[derive(Serialize)]
    struct Boots {
        machine: String,
        host_load_1min: String,
        harts: u64,
        median_first_echo_s: f64,
        boots: Vec<bench_boot::Timeline>,
    }
    let json = paths::build_dir().join("bench-boots.json");
    let report = Boots {
        machine,
        host_load_1min: load,
        harts: args.smp,
        median_first_echo_s: median,
        boots: runs,
    };
    std::fs::write(&json, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", json.display()))?;
    println!("wrote {}", json.display());
    Ok(())
}

pub fn run(args: &BenchArgs) -> Result<()> {
    // The host-side receive ratios first: seconds, and no guest involved.
    crate::parse_bench::run(false)?;
    let sizes = if args.quick { &QUICK } else { &FULL };
    let (guest, echo_port, tcp_ports) = bench_guest()?;
    let machine = machine(args.smp);
    let load = host_load();
    println!("{machine}; host load {load}");

    // From QEMU's start until udpecho answers: boot, the shell, the first
    // ARP; and where that time went.
    let booted = bench_boot::boot(
        with_harts(guest.command(), args.smp),
        echo_port,
        &guest.pcap,
        &paths::build_dir().join("bench-console.log"),
    )?;
    let (listening, first_echo) = (booted.listening_s, booted.first_echo_s);
    let mut con = booted.con;
    println!(
        "QEMU start -> udpecho listening (console): {listening:.3} s; -> first echo at the host: {first_echo:.3} s; where the time went:\n{}",
        booted.timeline
    );

    let loopback = guestnet::loopback_echo_server(None)?;
    let before_round_trips = guestnet::netstat(&mut con)?;
    let mut round_trips = Vec::new();
    for size in [16usize, 1472] {
        let base = bench_udp::round_trips(loopback, size, sizes.round_trips)?;
        let guest = bench_udp::round_trips(echo_port, size, sizes.round_trips)?;
        println!(
            "round trips, {size:>4} B: guest {:>6.0}/s (median {} us, p99 {} us, max {} us, {} of {} over {} ms, {} lost) | loopback {:>6.0}/s",
            guest.per_sec, guest.median_us, guest.p99_us, guest.max_us, guest.slow, guest.sent,
            bench_udp::SLOW.as_millis(), guest.lost, base.per_sec
        );
        round_trips.push(Pair {
            guest,
            loopback: base,
        });
    }

    let after_round_trips = guestnet::netstat(&mut con)?;

    println!("paced echo, {PACED_SIZE} B datagrams, share echoed:");
    let mut paced = Vec::new();
    for rate in RATES {
        let base = bench_udp::paced_echo(loopback, rate, sizes.paced_secs)?;
        let guest = bench_udp::paced_echo(echo_port, rate, sizes.paced_secs)?;
        println!(
            "  offered {rate:>6}/s: guest {:>6.2} % ({:>6.0}/s echoed) | loopback {:>6.2} % ({:>6.0}/s)",
            guest.share * 100.0,
            guest.echoed_per_sec,
            base.share * 100.0,
            base.echoed_per_sec
        );
        paced.push(Pair {
            guest,
            loopback: base,
        });
    }
    let lossless = Pair {
        guest: bench_udp::highest_lossless(&paced.iter().map(|p| p.guest).collect::<Vec<_>>()),
        loopback: bench_udp::highest_lossless(
            &paced.iter().map(|p| p.loopback).collect::<Vec<_>>(),
        ),
    };
    println!(
        "highest offered rate echoed >= 99.9 %: guest {}/s | loopback {}/s",
        lossless.guest, lossless.loopback
    );
    // Where the guest lost what it did not echo.
    let after_paced = guestnet::netstat(&mut con)?;
    let drops: BTreeMap<String, u64> = after_paced
        .iter()
        .filter(|(k, v)| k.starts_with("drop_") && **v > 0)
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    println!("guest drop counters after the paced runs: {drops:?}");
    let rx_profile_phases = vec![
        PhaseProfile::between("round trips", &before_round_trips, &after_round_trips),
        PhaseProfile::between("paced echo", &after_round_trips, &after_paced),
    ];
    println!("receive path in the kernel, mean us per datagram in each phase:");
    for p in &rx_profile_phases {
        println!("  {p}");
    }

    let stream = Pair {
        guest: guest_to_host_stream(&mut con, sizes.stream, STREAM_BATCH)?.0,
        loopback: bench_udp::loopback_stream(sizes.stream, STREAM_SIZE)?.0,
    };
    let stream_sendto = guest_to_host_stream(&mut con, sizes.stream, 1)?.0;
    println!(
        "guest -> host stream, {STREAM_SIZE} B datagrams (udpblast): guest {:.0}/s ({STREAM_BATCH} per sendmmsg), {stream_sendto:.0}/s (one sendto each) | loopback {:.0}/s",
        stream.guest, stream.loopback
    );

    let tcp = tcp_figures(&mut con, tcp_ports, sizes)?;

    let profile = con.run("netstat -t", Duration::from_secs(20))?;
    println!(
        "receive path in the kernel (netstat -t):\n{}",
        profile.trim_end()
    );
    con.send_line("halt")?;
    con.wait_exit(Duration::from_secs(20)).ok();

    let report = Report {
        machine,
        host_load_1min: load,
        host_load_1min_after: host_load(),
        harts: args.smp,
        quick: args.quick,
        udpecho_listening_after_qemu_start_s: listening,
        first_echo_after_qemu_start_s: first_echo,
        boot: booted.timeline,
        round_trips,
        paced_size: PACED_SIZE,
        paced,
        highest_lossless_per_sec: lossless,
        guest_drops: drops,
        guest_to_host_per_sec: stream,
        guest_to_host_sendto_per_sec: stream_sendto,
        stream_size: STREAM_SIZE,
        tcp,
        rx_profile: profile.lines().map(|l| l.trim_end().to_string()).collect(),
        rx_profile_phases,
    };
    write_outputs(&report)
}

fn write_outputs(r: &Report) -> Result<()> {
    let json = paths::build_dir().join("bench.json");
    std::fs::write(&json, serde_json::to_string_pretty(r)?)
        .with_context(|| format!("writing {}", json.display()))?;
    let mut latency = Vec::new();
    for p in &r.round_trips {
        for (who, rt) in [("guest", &p.guest), ("loopback", &p.loopback)] {
            latency.push(Latency {
                label: format!("{who}, {} B", rt.size),
                sorted_us: &rt.sorted_us,
            });
        }
    }
    let curve = |label: &str, pick: fn(&Pair<Paced>) -> &Paced| RateCurve {
        label: label.into(),
        points: r
            .paced
            .iter()
            .map(|p| (pick(p).offered_per_sec as f64, pick(p).share * 100.0))
            .collect(),
    };
    let rates = [
        curve("guest", |p| &p.guest),
        curve("loopback", |p| &p.loopback),
    ];
    let svg = paths::build_dir().join("bench.svg");
    let title = format!(
        "xv6net on {} harts, QEMU TCG on a {}-core host (load {} to {}){}",
        r.harts,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        r.host_load_1min,
        r.host_load_1min_after,
        if r.quick { ", --quick" } else { "" }
    );
    bench_plot::draw(&svg, &title, &latency, &rates)?;
    println!("wrote {} and {}", json.display(), svg.display());
    Ok(())
}

/// TCP bulk both ways and connections/s, each beside the same loop over
/// loopback. `(sink, echo)`: the host ports forwarded to the guest's
/// `tcpbulk sink` and `tcpecho`.
fn tcp_figures(con: &mut Console, (sink, echo): (u16, u16), sizes: &Sizes) -> Result<TcpFigures> {
    let bytes = sizes.tcp_bytes;
    let long = Duration::from_secs(180);
    let mut guest_reports = Vec::new();

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    con.send_line(&format!("tcpbulk send 10.0.2.2 {port} {bytes}"))?;
    let sent = bench_tcp::receive_from_sender(&listener, bytes);
    let out = con.expect("$ ", long)?;
    let report = out.lines().find(|l| l.contains(" bytes in ")).unwrap_or("");
    guest_reports.push(format!("send: {}", report.trim()));
    let guest_to_host = Pair {
        guest: sent.context("tcpbulk send from the guest")?,
        loopback: bench_tcp::loopback_sender(&TcpListener::bind("127.0.0.1:0")?, bytes)?,
    };
    println!(
        "TCP guest -> host, {bytes} B (tcpbulk send): guest {:.2} MB/s | loopback {:.2} MB/s",
        guest_to_host.guest.mb_per_sec, guest_to_host.loopback.mb_per_sec
    );

    transfer::guest_server(
        con,
        &format!("tcpbulk sink {TCP_SINK}"),
        "tcpbulk: listening",
    )?;
    let guest = bench_tcp::send_to_sink(sink, bytes)?;
    // QEMU accepts the host's connection whatever the guest does: the
    // sink's own report proves the bytes arrived.
    let report = con
        .expect(&format!(" {bytes} bytes in "), long)
        .context("tcpbulk sink never reported the bytes")?;
    let report = report + &con.expect("\n", Duration::from_secs(5))?;
    let report = report.lines().last().unwrap_or("").trim().to_string();
    // The sink's verdict on the bytes follows its report.
    std::thread::sleep(Duration::from_millis(300));
    let verdict = con.run("echo", Duration::from_secs(20))?;
    ensure!(
        !verdict.contains("differs from the pattern"),
        "tcpbulk sink received other bytes than were sent: {report}"
    );
    guest_reports.push(format!("sink: {report}"));
    let host_to_guest = Pair {
        guest,
        loopback: bench_tcp::send_to_sink(bench_tcp::loopback_sink()?, bytes)?,
    };
    println!(
        "TCP host -> guest, {bytes} B (tcpbulk sink): guest {:.2} MB/s | loopback {:.2} MB/s",
        host_to_guest.guest.mb_per_sec, host_to_guest.loopback.mb_per_sec
    );

    transfer::guest_server(con, &format!("tcpecho {TCP_ECHO}"), "tcpecho: listening")?;
    let n = sizes.tcp_connections;
    let connections_per_sec = Pair {
        guest: bench_tcp::connections(echo, n)?,
        loopback: bench_tcp::connections(bench_tcp::loopback_echo()?, n)?,
    };
    println!(
        "TCP connections (connect, 1 B echoed, close) x {n}: guest {:.0}/s | loopback {:.0}/s",
        connections_per_sec.guest, connections_per_sec.loopback
    );
    Ok(TcpFigures {
        guest_to_host,
        host_to_guest,
        guest_reports,
        connections_per_sec,
        connections: n,
    })
}

/// The same QEMU command with `harts` harts instead of the default.
fn with_harts(cmd: Command, harts: u64) -> Command {
    let mut out = Command::new(cmd.get_program());
    let mut args = cmd.get_args();
    while let Some(a) = args.next() {
        out.arg(a);
        if a == "-smp" {
            args.next();
            out.arg(harts.to_string());
        }
    }
    out
}

/// `udpblast`'s stream of `count` datagrams, `batch` per system call.
fn guest_to_host_stream(con: &mut Console, count: usize, batch: usize) -> Result<(f64, usize)> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let port = sock.local_addr()?.port();
    con.send_line(&format!(
        "udpblast 10.0.2.2 {port} {count} {STREAM_SIZE} {batch}"
    ))?;
    let r = bench_udp::receive_stream(&sock, count);
    con.expect("$ ", Duration::from_secs(60))?;
    r.context("udpblast's stream")
}

/// What the figures come from: QEMU's version, host cores and CPU, the
/// guest's harts.
fn machine(harts: u64) -> String {
    let first_line = |out: std::io::Result<std::process::Output>| {
        out.map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default()
    };
    let qemu = first_line(
        Command::new("qemu-system-riscv64")
            .arg("--version")
            .output(),
    );
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{qemu} (TCG); host: {cores} cores, {cpu}; guest: {harts} harts, user-mode networking")
}

/// The host's 1-minute load average: figures taken above ~1.5 on a
/// 2-core host are noise.
fn host_load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harts_replace_the_default() {
        let mut cmd = Command::new("qemu");
        cmd.args(["-m", "128M", "-smp", "3", "-kernel", "k"]);
        let out = with_harts(cmd, 1);
        let args: Vec<_> = out.get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(args, ["-m", "128M", "-smp", "1", "-kernel", "k"]);
    }
}
