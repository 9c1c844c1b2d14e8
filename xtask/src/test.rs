//! `cargo xtask test`: everything a change must pass, in order of cost.
//!
//! 0. every host tool below is there (`setup::everything`);
//! 1. generated code is current (`codegen --check`), formatting, clippy,
//!    host tests;
//! 2. the guest boots with 3 harts and runs `usertests` and shell commands;
//! 3. the network: `nettests` against an echo server on the host, the host
//!    echoing through the guest's `udpecho`, ping of the gateway, zero RX
//!    copies and no leaked mbufs; containers on the bridge reaching the
//!    host through NAT and serving it on published ports, and each other
//!    (`netns`); tshark dissects every frame captured on the NIC and on
//!    the bridge with checksum validation on, and finds each side of that
//!    traffic where it belongs (`bridge_capture`);
//! 4. `cargo xtask qemu` at a terminal and the README's "Try it"
//!    (`interactive_test`);
//! 5. the interop stages: LAN, Linux peer, hostile frames (`interop`).
//!
//! Every guest boots an image of the test's own (never build/fs.img).
//! Console logs and captures stay in build/ for reading after a failure.
use anyhow::{bail, ensure, Context, Result};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use crate::console::Console;
use crate::flags::TestArgs;
use crate::guest::{Guest, Net};
use crate::{bridge_capture, build, guestnet, netns, paths, send_path, setup, transfer, tshark};

const BOOT: Duration = Duration::from_secs(120);
const SHORT: Duration = Duration::from_secs(30);

pub fn run(args: &TestArgs) -> Result<()> {
    let started = Instant::now();
    // Every host tool the stages below run, installed up front.
    setup::everything()?;
    if args.console_only {
        crate::interactive_test::run()?;
        eprintln!(
            "xtask test --console-only: passed in {:.0?}",
            started.elapsed()
        );
        return Ok(());
    }
    if !args.guest_only {
        host_checks()?;
    }
    guest_suite()?;
    // `cargo xtask qemu` at a terminal, and the README's "Try it".
    crate::interactive_test::run()?;
    // Two guests on a LAN, the Linux peer (root), hostile frames.
    crate::interop::run(false, false, false, false)?;
    eprintln!("xtask test: all passed in {:.0?}", started.elapsed());
    Ok(())
}

fn step(name: &str) {
    eprintln!("\n== {name}");
}

fn cargo_ok(args: &[&str]) -> Result<()> {
    let ok = paths::cargo().args(args).status()?.success();
    ensure!(ok, "cargo {} failed", args.join(" "));
    Ok(())
}

fn host_checks() -> Result<()> {
    step("generated code is current");
    crate::codegen::run(true)?;
    step("cargo fmt --check");
    cargo_ok(&["fmt", "--all", "--", "--check"])?;
    step("cargo clippy (host crates, then kernel and user for riscv64)");
    cargo_ok(&["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"])?;
    cargo_ok(&[
        "clippy",
        "--quiet",
        "--release",
        "--target",
        paths::TARGET,
        "-p",
        "kernel",
        "-p",
        "user",
        "--",
        "-D",
        "warnings",
    ])?;
    step("host tests");
    cargo_ok(&["test", "--quiet"])?;
    step("the generated code and the stack build for the kernel target");
    cargo_ok(&[
        "build",
        "--quiet",
        "--target",
        paths::TARGET,
        "-p",
        "wire",
        "-p",
        "net",
    ])?;
    Ok(())
}

fn guest_suite() -> Result<()> {
    step("build kernel, user programs, fs.img");
    // The suite's own image: a user's build/fs.img is left alone.
    let fs_img = guestnet::artifact("test-fs.img");
    let images = build::images(&fs_img)?;
    let echo_port = guestnet::loopback_echo_server(None)?;
    let (fwd_port, _) = guestnet::two_free_udp_ports()?;
    let http_ports = [guestnet::free_tcp_port()?, guestnet::free_tcp_port()?];
    let dir = paths::build_dir();
    let pcap = dir.join("test.pcap");
    let log = dir.join("test-console.log");
    std::fs::remove_file(&pcap).ok();
    std::fs::remove_file(crate::guest::bridge_capture_for(&pcap)).ok();
    let guest = Guest {
        images,
        net: Net::User {
            udp_forwards: vec![(fwd_port, 7)],
            tcp_forwards: http_ports.into_iter().zip(netns::PUBLISHED).collect(),
        },
        pcap: pcap.clone(),
        gdb: None,
    };
    step(&format!("boot (console log: {})", log.display()));
    let boot = Instant::now();
    let mut con = Console::spawn("guest", guest.command(), &log)?;
    let booted = con
        .expect("$ ", BOOT)
        .context("waiting for the shell prompt")?;
    eprintln!("shell prompt after {:.2?}", boot.elapsed());

    step("DHCP: the address, router and name server from QEMU's user network");
    dhcp_from_slirp(&mut con, &booted)?;
    boot_timeline(&mut con)?;

    step("shell commands");
    let ls = con.run("ls", SHORT)?;
    ensure!(
        ls.contains("README") && ls.contains("usertests"),
        "ls output wrong:\n{ls}"
    );
    let wc = con.run("echo hi there | wc", SHORT)?;
    ensure!(
        wc.split_whitespace().collect::<Vec<_>>() == ["1", "2", "9"],
        "wc output wrong: {wc:?}"
    );
    let out = con.run("echo one > f1; cat f1; rm f1; cat f1", SHORT)?;
    ensure!(
        out.contains("one") && out.contains("cat: "),
        "redirection/rm wrong: {out:?}"
    );
    // sha256sum, which checks the guest's downloads, agrees with the host.
    let readme = std::fs::read(paths::root().join("README.md"))?;
    let want = format!("{}  README.md", transfer::sha256_hex(&readme));
    let out = con.run("sha256sum README.md", SHORT)?;
    ensure!(
        out.lines().any(|l| l.trim() == want),
        "sha256sum README.md printed {out:?}, not {want:?}"
    );

    step("usertests");
    let t = Instant::now();
    con.send_line("usertests")?;
    let out = con.expect("$ ", Duration::from_secs(600))?;
    eprintln!("usertests ran in {:.1?}", t.elapsed());
    if !out.contains("ALL TESTS PASSED") {
        bail!("usertests failed:\n{out}");
    }

    let mirrored = network(&mut con, echo_port, fwd_port, http_ports)?;

    step("halt");
    con.send_line("halt")?;
    let status = con.wait_exit(SHORT)?;
    ensure!(status.success(), "qemu exit status after halt: {status}");
    drop(con);

    step("the file system is consistent after the run (mkfs --check)");
    build::check_fs(&fs_img)?;

    step("tshark judges the capture");
    // TCP crosses the NIC too (to the containers' published ports, through
    // NAT): its checksums are judged with the rest.
    let guest_mac = net::Iface::UNCONFIGURED
        .mac
        .map(|b| format!("{b:02x}"))
        .join(":");
    tshark::check_tcp(&pcap, &guest_mac)?;
    step("tshark judges the bridge's capture beside the NIC's");
    bridge_capture::judge(&pcap, &guest.bridge_pcap(), &guest_mac, echo_port, mirrored)?;
    Ok(())
}

/// The kernel has no address written in it: init printed the lease QEMU's
/// DHCP server gave before the prompt, and `ifconfig` shows it.
fn dhcp_from_slirp(con: &mut Console, booted: &str) -> Result<()> {
    let lease = "init: eth0 10.0.2.15 netmask 255.255.255.0 gateway 10.0.2.2 dns 10.0.2.3 (DHCP from 10.0.2.2";
    ensure!(
        booted.contains(lease),
        "init did not report the lease before the prompt:\n{booted}"
    );
    let out = con.run("ifconfig", SHORT)?;
    for want in [
        "inet 10.0.2.15  netmask 255.255.255.0  gateway 10.0.2.2",
        "dns 10.0.2.3",
        "dhcp bound  server 10.0.2.2  lease ",
    ] {
        ensure!(out.contains(want), "ifconfig lacks {want:?}:\n{out}");
    }
    let c = guestnet::netstat(con)?;
    for counter in ["dhcp_offers_in", "dhcp_acks_in", "dhcp_leases"] {
        ensure!(
            c.get(counter) == Some(&1),
            "{counter} is {:?}, not 1",
            c.get(counter)
        );
    }
    eprintln!("{}", out.lines().take(4).collect::<Vec<_>>().join("\n"));
    Ok(())
}

/// The kernel stamped each step of the boot (`boot_*_us`, what `cargo
/// xtask bench` reads), in the order the steps happen, and each of the
/// 3 harts reached its scheduler.
fn boot_timeline(con: &mut Console) -> Result<()> {
    let c = guestnet::netstat(con)?;
    let in_order = [
        "boot_main_us",
        "boot_memory_us",
        "boot_disk_us",
        "boot_nic_us",
        "boot_first_process_us",
        "boot_fs_us",
        "boot_exec_init_us",
        "boot_exec_sh_us",
    ];
    let mut previous = 0;
    for name in in_order {
        let at = c.get(name).copied().unwrap_or(0);
        ensure!(
            at > previous,
            "{name} is {at}, not after the step before it ({previous})"
        );
        previous = at;
    }
    for hart in 0..3 {
        let name = format!("boot_hart{hart}_us");
        ensure!(
            c.get(&name).is_some_and(|&at| at > c["boot_main_us"]),
            "{name} is {:?}",
            c.get(&name)
        );
    }
    Ok(())
}

/// Returns how many frames the bridge's mirror copied.
fn network(con: &mut Console, echo_port: u16, fwd_port: u16, http_ports: [u16; 2]) -> Result<u64> {
    step(&format!(
        "nettests against the host echo server (10.0.2.2:{echo_port})"
    ));
    let t = Instant::now();
    con.send_line(&format!("nettests {echo_port}"))?;
    let out = con.expect("$ ", Duration::from_secs(300))?;
    eprintln!("nettests ran in {:.1?}", t.elapsed());
    ensure!(
        out.contains("ALL NETTESTS PASSED"),
        "nettests failed:\n{out}"
    );

    step(&format!(
        "host -> guest udpecho (127.0.0.1:{fwd_port} -> guest port 7)"
    ));
    let before = guestnet::netstat(con)?;
    con.run("udpecho 7 &", SHORT)?;
    let (echoed, sent) = host_echo_check(fwd_port)?;
    let after = guestnet::netstat(con)?;
    // udpecho's recvfrom copied each datagram to user space once, through
    // the kernel's counted copy (a resent datagram may have been read twice).
    let to_user = |c: &guestnet::Counters| c.get("rx_bytes_to_user").copied().unwrap_or(0);
    let delivered = to_user(&after).saturating_sub(to_user(&before));
    ensure!(
        (echoed..=sent).contains(&delivered),
        "rx_bytes_to_user moved {delivered}, not between the {echoed} bytes echoed and the {sent} sent"
    );
    eprintln!("rx_bytes_to_user +{delivered} for {echoed} bytes echoed");
    send_path::check_rx(&before, &after)?;
    // The receive-path profile followed each of the 30 datagrams through
    // every stage, and `netstat -t` shows it.
    for stage in [
        "irq_to_stack",
        "stack_to_queue",
        "queue_to_recv",
        "recv_to_user",
    ] {
        let moved = |what: &str| -> Result<u64> {
            let name = format!("rxprof_{stage}_{what}");
            let get = |c: &guestnet::Counters| c.get(&name).copied();
            Ok(
                get(&after).with_context(|| format!("netstat has no {name}"))?
                    - get(&before).unwrap_or(0),
            )
        };
        let (n, us) = (moved("n")?, moved("us")?);
        ensure!(n >= 30, "rxprof_{stage}_n moved {n} for 30 datagrams");
        ensure!(us > 0, "rxprof_{stage}_us did not move");
        let max = after.get(&format!("rxprof_{stage}_max_us")).copied();
        ensure!(max > Some(0), "rxprof_{stage}_max_us is {max:?}");
    }
    // Where the harts' time went: hart 0 takes the NIC's interrupts, idles
    // in wfi between them and ticks; some hart's process received the 30
    // datagrams; starting udpecho woke an idle hart with an IPI.
    let grew = |name: &str| {
        let get = |c: &guestnet::Counters| c.get(name).copied().unwrap_or(0);
        get(&after).saturating_sub(get(&before))
    };
    for counter in [
        "hart0_irqs",
        "hart0_ticks",
        "hart0_wakeups",
        "hart0_runs",
        "hart0_idle_us",
        "ipi_sent",
        "ipi_latency_n",
    ] {
        ensure!(grew(counter) > 0, "{counter} did not move");
    }
    let recvs: u64 = (0..3).map(|h| grew(&format!("hart{h}_recvs"))).sum();
    ensure!(recvs >= 30, "hart<N>_recvs moved {recvs} for 30 datagrams");
    ensure!(
        after.contains_key("hart2_lock_spins"),
        "netstat has no hart2_lock_spins"
    );
    let profile = con.run("netstat -t", SHORT)?;
    ensure!(
        profile.contains("queue_to_recv") && profile.contains("ipis sent"),
        "netstat -t:\n{profile}"
    );
    eprintln!("receive path:\n{}", profile.trim_end());

    step("a burst from the guest (udpblast): the NIC's event index");
    send_path::check(con)?;

    step("ping the gateway");
    let out = con.run("ping -c 3 10.0.2.2", SHORT)?;
    ensure!(out.contains("3 received"), "ping output wrong:\n{out}");

    step("containers: the bridge, NAT and published ports");
    let mirrored = netns::test(con, echo_port, http_ports)?;

    step("netstat: zero RX copies, every mbuf back");
    // Idle, every mbuf is either free or posted on the RX ring for the
    // device to fill (udpecho's socket holds none between datagrams).
    let (counters, balance) = guestnet::mbufs_drained(con)?;
    let copied = counters
        .get("rx_bytes_copied")
        .context("netstat has no rx_bytes_copied")?;
    ensure!(*copied == 0, "the RX path copied {copied} bytes");
    eprintln!("mbufs: {balance}");
    Ok(mirrored)
}

/// Sends datagrams of several sizes to the guest's udpecho through the
/// forwarded port and checks each comes back unchanged. Returns the bytes
/// echoed and the bytes sent (with resends).
fn host_echo_check(port: u16) -> Result<(u64, u64)> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = [0u8; 2048];
    let sizes = [1usize, 18, 100, 512, 1000, 1472];
    let mut sent = 0;
    for (i, &size) in sizes.iter().cycle().take(30).enumerate() {
        let msg: Vec<u8> = (0..size).map(|j| (i * 7 + j) as u8).collect();
        // The first datagram may race udpecho's bind; retry a few times.
        let mut echoed = None;
        for _ in 0..5 {
            sock.send_to(&msg, ("127.0.0.1", port))?;
            sent += size as u64;
            if let Ok(n) = sock.recv(&mut buf) {
                echoed = Some(buf[..n].to_vec());
                break;
            }
        }
        let echoed = echoed.with_context(|| format!("no echo for datagram {i} ({size} bytes)"))?;
        ensure!(
            echoed == msg,
            "datagram {i} ({size} bytes) came back changed"
        );
    }
    eprintln!("30 datagrams of 1..1472 bytes echoed intact");
    Ok((sizes.iter().cycle().take(30).map(|&s| s as u64).sum(), sent))
}
