//! `cargo xtask bench`: UDP between a host process and the guest over QEMU
//! user-mode networking. Each figure is printed next to a baseline measured
//! in the same run (the same host loop against an echo thread on loopback),
//! because these machines are shared and absolute numbers drift.
use anyhow::{ensure, Context, Result};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use crate::console::Console;
use crate::guest::{Guest, Net};
use crate::{build, guestnet, paths, setup};

const ROUND: Duration = Duration::from_secs(3);

pub fn run() -> Result<()> {
    crate::parse_bench::run(false)?;
    setup::qemu()?;
    let images = build::images(&guestnet::artifact("bench-fs.img"))?;
    let (echo_port, sink_port) = guestnet::two_free_udp_ports()?;
    let guest = Guest {
        images,
        net: Net::User {
            udp_forwards: vec![(echo_port, 7), (sink_port, 9)],
        },
        pcap: paths::build_dir().join("bench.pcap"),
        gdb: None,
    };
    let mut con = Console::spawn(
        "bench",
        guest.command(),
        &paths::build_dir().join("bench-console.log"),
    )?;
    con.expect("$ ", Duration::from_secs(120))?;
    print_machine();

    let loopback = guestnet::loopback_echo_server(None)?;
    con.run("udpecho 7 &", Duration::from_secs(10))?;
    warm_up(echo_port)?;
    for size in [16usize, 1472] {
        let base = round_trips(loopback, size)?;
        let guest = round_trips(echo_port, size)?;
        println!(
            "round trips, {size:>4}-byte payload: guest {:>7.0}/s (median {:>5} us, p99 {:>6} us) | loopback baseline {:>7.0}/s | ratio {:.3}",
            guest.rate, guest.median_us, guest.p99_us, base.rate, guest.rate / base.rate
        );
    }

    let (sent_rate, received) = guest_to_host_stream(&mut con)?;
    println!("guest -> host stream, 1024-byte datagrams: {sent_rate:.0} datagrams/s received by the host ({received} received)");

    let best = host_to_guest_lossless(&mut con, sink_port)?;
    println!("host -> guest stream without loss, 1024-byte datagrams: highest rate tried without loss {best} datagrams/s");
    con.send_line("halt")?;
    con.wait_exit(Duration::from_secs(20)).ok();
    Ok(())
}

fn print_machine() {
    let qemu = std::process::Command::new("qemu-system-riscv64")
        .arg("--version")
        .output();
    let version = qemu
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!("{version}; host cores: {cores}; guest: 3 harts, user-mode networking");
}

fn warm_up(port: u16) -> Result<()> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut buf = [0u8; 64];
    for _ in 0..20 {
        sock.send_to(b"warm", ("127.0.0.1", port))?;
        if sock.recv(&mut buf).is_ok() {
            return Ok(());
        }
    }
    anyhow::bail!("the guest's udpecho does not answer")
}

struct RoundTrips {
    rate: f64,
    median_us: u128,
    p99_us: u128,
}

/// Send one datagram, wait for its echo, repeat for [`ROUND`].
fn round_trips(port: u16, size: usize) -> Result<RoundTrips> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.connect(("127.0.0.1", port))?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    let msg = vec![0x5a; size];
    let mut buf = vec![0u8; 2048];
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < ROUND {
        let t = Instant::now();
        sock.send(&msg)?;
        if sock.recv(&mut buf).is_ok() {
            samples.push(t.elapsed().as_micros());
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    ensure!(
        !samples.is_empty(),
        "no round trip completed on port {port}"
    );
    let rate = samples.len() as f64 / elapsed;
    samples.sort_unstable();
    Ok(RoundTrips {
        rate,
        median_us: samples[samples.len() / 2],
        p99_us: samples[samples.len() * 99 / 100],
    })
}

fn guest_to_host_stream(con: &mut Console) -> Result<(f64, usize)> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let port = sock.local_addr()?.port();
    sock.set_read_timeout(Some(Duration::from_secs(2)))?;
    let count = 20_000;
    con.send_line(&format!("udpblast 10.0.2.2 {port} {count} 1024"))?;
    let mut buf = [0u8; 2048];
    let mut received = 0usize;
    let mut first = None;
    let mut last = Instant::now();
    while sock.recv(&mut buf).is_ok() {
        first.get_or_insert_with(Instant::now);
        last = Instant::now();
        received += 1;
        if received == count {
            break;
        }
    }
    con.expect("$ ", Duration::from_secs(60))?;
    let first = first.context("the host received nothing from udpblast")?;
    let secs = last.duration_since(first).as_secs_f64().max(1e-3);
    Ok((received as f64 / secs, received))
}

/// Raise the offered rate until the guest's `udpsink` loses datagrams.
fn host_to_guest_lossless(con: &mut Console, port: u16) -> Result<u64> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let msg = vec![0xa5u8; 1024];
    let mut best = 0;
    for rate in [500u64, 1000, 2000, 4000, 8000, 16000, 32000] {
        let count = (rate / 2).max(200);
        con.send_line(&format!("udpsink 9 {count} 1000"))?;
        con.expect("ready", Duration::from_secs(10))?;
        let gap = Duration::from_nanos(1_000_000_000 / rate);
        let start = Instant::now();
        for i in 0..count {
            // Sleep rather than spin: the host has few cores and QEMU's
            // vCPU threads need them. Deadlines are from the start, so an
            // oversleep is caught up and the average rate holds.
            if let Some(wait) = (gap * i as u32).checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            sock.send_to(&msg, ("127.0.0.1", port))?;
        }
        let out = con.expect("$ ", Duration::from_secs(30))?;
        let got: u64 = out
            .split("received ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .context("udpsink printed no count")?;
        println!("  offered {rate:>6}/s: {got}/{count} received");
        if got < count {
            break;
        }
        best = rate;
    }
    Ok(best)
}
