//! Issue 5, no root: two guests on one virtual Ethernet link.
//!
//! The link is QEMU's `dgram` netdev over 127.0.0.1: guest A's QEMU binds
//! port PA and sends its frames to PB, guest B's binds PB and sends to PA.
//! Each guest has its own fs.img copy, MAC (52:54:00:0e:09:0N), address on
//! the private subnet 10.0.9.0/24 (set with the guest's `ifconfig`; no
//! gateway) and capture (build/lan-a.pcap, build/lan-b.pcap).
//!
//! - `cargo xtask qemu --lan`: both consoles side by side in tmux (or, with
//!   no tmux or no terminal, how to start each half in its own terminal
//!   with `cargo xtask qemu --lan-peer a|b`).
//! - [`test`] (part of `cargo xtask test`): ARP, ping, UDP echo and chat
//!   in both directions, then tshark over both captures.
use anyhow::{bail, ensure, Context, Result};
use std::io::{IsTerminal, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::build::{self, Images};
use crate::console::Console;
use crate::guestnet;
use crate::paths;
use crate::qemu::{Guest, Mac, Net};
use crate::tshark;

const BOOT: Duration = Duration::from_secs(120);
const SHORT: Duration = Duration::from_secs(30);
pub const NETMASK: &str = "255.255.255.0";
/// No router on the link.
pub const NO_GATEWAY: &str = "0.0.0.0";
/// Fixed loopback ports for the interactive LAN (both halves must agree
/// even when started by hand in two terminals).
const INTERACTIVE_PORTS: [u16; 2] = [47901, 47902];
const TMUX_SESSION: &str = "xv6net-lan";

/// One of the two guests.
#[derive(Clone, Copy)]
pub struct Peer {
    pub name: &'static str,
    pub ip: &'static str,
    pub mac: Mac,
}

pub const PEERS: [Peer; 2] = [
    Peer {
        name: "a",
        ip: "10.0.9.1",
        mac: Mac::numbered(0x0901),
    },
    Peer {
        name: "b",
        ip: "10.0.9.2",
        mac: Mac::numbered(0x0902),
    },
];

impl Peer {
    fn index(&self) -> usize {
        PEERS.iter().position(|p| p.name == self.name).unwrap()
    }

    fn other(&self) -> Peer {
        PEERS[1 - self.index()]
    }

    pub fn ifconfig(&self) -> String {
        format!("ifconfig {} {NETMASK} {NO_GATEWAY}", self.ip)
    }

    fn guest(&self, images: Images, ports: [u16; 2], pcap_name: &str) -> Guest {
        let i = self.index();
        Guest {
            images,
            net: Net::Dgram {
                local_port: ports[i],
                remote_port: ports[1 - i],
                mac: self.mac,
            },
            pcap: guestnet::artifact(pcap_name),
            gdb: false,
        }
    }
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

/// `echo <tag> | nc <ip> <port>` must print the tag back (an echo server runs there).
pub fn nc_echo(con: &mut Console, ip: &str, port: u16, tag: &str) -> Result<()> {
    let out = con.run(&format!("echo {tag} | nc -w 1000 {ip} {port}"), SHORT)?;
    ensure!(
        out.lines().any(|l| l.trim() == tag),
        "{}: no echo of {tag:?} from {ip}:{port}:\n{out}",
        con.name
    );
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

/// The automatic two-guest test.
pub fn test(images: &Images) -> Result<()> {
    eprintln!("\n== two guests on one virtual LAN (dgram over 127.0.0.1, no root)");
    let started = Instant::now();
    let (pa, pb) = guestnet::two_free_udp_ports()?;
    let mut cons = Vec::new();
    let mut pcaps = Vec::new();
    for p in PEERS {
        let guest = p.guest(
            guestnet::own_images(images, &format!("lan-{}", p.name))?,
            [pa, pb],
            &format!("lan-{}.pcap", p.name),
        );
        std::fs::remove_file(&guest.pcap).ok();
        pcaps.push(guest.pcap.clone());
        let log = guestnet::artifact(&format!("lan-{}-console.log", p.name));
        eprintln!(
            "guest {} {} {} on 127.0.0.1:{} (console: {})",
            p.name,
            p.ip,
            p.mac,
            [pa, pb][p.index()],
            log.display()
        );
        cons.push(Console::spawn(
            &format!("lan-{}", p.name),
            guest.command(),
            &log,
        )?);
    }
    for (con, p) in cons.iter_mut().zip(PEERS) {
        con.expect("$ ", BOOT)
            .context("waiting for the shell prompt")?;
        configure(con, p.ip, p.mac, NETMASK, NO_GATEWAY)?;
    }
    let [a, b] = &mut cons[..] else {
        unreachable!()
    };
    let [pa_, pb_] = PEERS;

    arp_resolves(a, pb_.ip, pb_.mac)?;
    arp_resolves(b, pa_.ip, pa_.mac)?;
    eprintln!(
        "ARP: a resolved {} to {}, b resolved {} to {}",
        pb_.ip, pb_.mac, pa_.ip, pa_.mac
    );
    pings(a, pb_.ip)?;
    pings(b, pa_.ip)?;
    eprintln!("ping: a -> b and b -> a, 3 of 3 each");

    b.run("udpecho 7 &", SHORT)?;
    a.run("udpecho 7 &", SHORT)?;
    std::thread::sleep(Duration::from_millis(200));
    nc_echo(a, pb_.ip, 7, "hello-from-a")?;
    nc_echo(b, pa_.ip, 7, "hello-from-b")?;
    eprintln!("UDP: nc on a echoed by udpecho on b, and the other way round");

    a.send_line(&format!("chat {}", pb_.ip))?;
    a.expect("chat with", SHORT)?;
    b.send_line(&format!("chat {}", pa_.ip))?;
    b.expect("chat with", SHORT)?;
    std::thread::sleep(Duration::from_millis(200));
    a.send_line("hi b, this is a")?;
    b.expect(&format!("[{}:5555] hi b, this is a", pa_.ip), SHORT)?;
    b.send_line("hello a, b here")?;
    a.expect(&format!("[{}:5555] hello a, b here", pb_.ip), SHORT)?;
    end_input(a)?;
    end_input(b)?;
    eprintln!("chat: a -> b and b -> a");

    for con in cons.iter_mut() {
        let c = guestnet::netstat(con)?;
        let drops: Vec<_> = c
            .iter()
            .filter(|(k, v)| k.starts_with("drop_") && **v > 0)
            .collect();
        eprintln!(
            "{}: frames in {} out {}, drops {drops:?}",
            con.name,
            c.get("frames_in").unwrap_or(&0),
            c.get("frames_out").unwrap_or(&0)
        );
        con.send_line("halt")?;
    }
    for con in cons.iter_mut() {
        let status = con.wait_exit(SHORT)?;
        ensure!(
            status.success(),
            "{}: qemu exit status after halt: {status}",
            con.name
        );
    }
    drop(cons);
    for pcap in &pcaps {
        tshark::check(pcap)?;
    }
    eprintln!("LAN tests passed in {:.0?}", started.elapsed());
    Ok(())
}

/// `cargo xtask qemu --lan`: both guests, each console in a tmux pane.
pub fn interactive(no_build: bool) -> Result<()> {
    crate::setup::qemu()?;
    if !no_build {
        prepare()?;
    }
    let exe = std::env::current_exe()?;
    let mut env = String::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        env = format!(
            "env CARGO_TARGET_DIR={} ",
            shell_quote(&dir.to_string_lossy())
        );
    }
    let half = |p: &Peer| {
        format!(
            "{env}{} qemu --lan-peer {} --no-build",
            shell_quote(&exe.to_string_lossy()),
            p.name
        )
    };
    let have_tmux = Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_tmux || !std::io::stdin().is_terminal() {
        eprintln!(
            "xv6net: {} -- start the two halves in two terminals:",
            if have_tmux {
                "not on a terminal"
            } else {
                "tmux is not installed"
            }
        );
        for p in &PEERS {
            eprintln!(
                "  cargo xtask qemu --lan-peer {}      # {} {}",
                p.name, p.ip, p.mac
            );
        }
        return Ok(());
    }
    let [a, b] = PEERS;
    eprintln!(
        "xv6net: two guests in tmux session {TMUX_SESSION}: a = {} (left), b = {} (right)",
        a.ip, b.ip
    );
    eprintln!("xv6net: try `ping {}` or `chat {}` on a. Leave a guest with Ctrl-A then X; Ctrl-B D detaches tmux.", b.ip, b.ip);
    let tmux = |args: &[&str]| -> Result<()> {
        let ok = Command::new("tmux").args(args).status()?.success();
        ensure!(ok, "tmux {} failed", args.join(" "));
        Ok(())
    };
    Command::new("tmux")
        .args(["kill-session", "-t", TMUX_SESSION])
        .stderr(Stdio::null())
        .status()
        .ok();
    tmux(&[
        "new-session",
        "-d",
        "-s",
        TMUX_SESSION,
        "-x",
        "200",
        "-y",
        "50",
        &half(&a),
    ])?;
    tmux(&["set-option", "-t", TMUX_SESSION, "remain-on-exit", "off"])?;
    tmux(&["split-window", "-h", "-t", TMUX_SESSION, &half(&b)])?;
    tmux(&["select-pane", "-t", &format!("{TMUX_SESSION}:0.0")])?;
    if std::env::var_os("TMUX").is_some() {
        tmux(&["switch-client", "-t", TMUX_SESSION])
    } else {
        tmux(&["attach-session", "-t", TMUX_SESSION])
    }
}

/// Builds and makes each guest's fs.img copy.
fn prepare() -> Result<Images> {
    let images = build::all()?;
    for p in &PEERS {
        guestnet::own_images(&images, &format!("lan-{}", p.name))?;
    }
    Ok(images)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `cargo xtask qemu --lan-peer a|b`: one half of the LAN on this terminal.
/// Boots the guest, types its `ifconfig` once the shell is up, then hands
/// the console to the terminal (raw mode; Ctrl-A then X quits).
pub fn interactive_peer(name: &str, no_build: bool) -> Result<()> {
    let Some(p) = PEERS.iter().find(|p| p.name == name).copied() else {
        bail!("--lan-peer takes a or b");
    };
    crate::setup::qemu()?;
    let images = if no_build {
        Images {
            kernel: paths::riscv_release().join("kernel"),
            fs_img: guestnet::artifact(&format!("lan-{}-fs.img", p.name)),
        }
    } else {
        build::all()?;
        guestnet::own_images(
            &build::Images {
                kernel: paths::riscv_release().join("kernel"),
                fs_img: paths::build_dir().join("fs.img"),
            },
            &format!("lan-{}", p.name),
        )?
    };
    ensure!(
        images.fs_img.exists(),
        "{} is missing: run without --no-build",
        images.fs_img.display()
    );
    let guest = p.guest(
        images,
        INTERACTIVE_PORTS,
        &format!("qemu-lan-{}.pcap", p.name),
    );
    let other = p.other();
    eprintln!(
        "xv6net LAN guest {}: {} {} on 127.0.0.1:{}, peer {} at {}; capture {}",
        p.name,
        p.ip,
        p.mac,
        INTERACTIVE_PORTS[p.index()],
        other.name,
        other.ip,
        guest.pcap.display()
    );
    eprintln!(
        "xv6net: try `ping {}`, `arp {}`, `chat {}`. Quit with Ctrl-A then X.\r",
        other.ip, other.ip, other.ip
    );
    relay(guest.command(), &p.ifconfig())
}

/// Runs QEMU with piped stdio, types `first_line` at the first prompt,
/// then connects the terminal to the console until QEMU exits.
pub fn relay(mut cmd: Command, first_line: &str) -> Result<()> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting qemu")?;
    let mut to_qemu = child.stdin.take().unwrap();
    let mut from_qemu = child.stdout.take().unwrap();
    let tty = std::io::stdin().is_terminal();
    let saved = if tty {
        let out = Command::new("stty")
            .arg("-g")
            .stdin(Stdio::inherit())
            .output()?;
        Command::new("stty")
            .args(["raw", "-echo", "opost", "onlcr"])
            .stdin(Stdio::inherit())
            .status()?;
        Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        None
    };
    let (prompt_tx, prompt_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        let mut told = false;
        let mut stdout = std::io::stdout();
        while let Ok(n) = from_qemu.read(&mut buf) {
            if n == 0 {
                break;
            }
            stdout.write_all(&buf[..n]).ok();
            stdout.flush().ok();
            if !told {
                seen.extend_from_slice(&buf[..n]);
                if seen.windows(2).any(|w| w == b"$ ") {
                    prompt_tx.send(()).ok();
                    told = true;
                }
            }
        }
    });
    let result = (|| -> Result<()> {
        if prompt_rx.recv_timeout(BOOT).is_ok() {
            to_qemu.write_all(first_line.as_bytes())?;
            to_qemu.write_all(b"\n")?;
            to_qemu.flush()?;
        }
        // Terminal -> console; Ctrl-A then X quits, as in QEMU's own mux.
        let (key_tx, key_rx) = mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            let mut stdin = std::io::stdin();
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 || key_tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut ctrl_a = false;
        loop {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            let Ok(keys) = key_rx.recv_timeout(Duration::from_millis(100)) else {
                continue;
            };
            for &k in &keys {
                if ctrl_a && (k == b'x' || k == b'X') {
                    child.kill().ok();
                    return Ok(());
                }
                ctrl_a = k == 0x01;
                if !ctrl_a {
                    let k = if k == b'\r' { b'\n' } else { k };
                    to_qemu.write_all(&[k]).ok();
                }
            }
            to_qemu.flush().ok();
        }
    })();
    child.kill().ok();
    child.wait().ok();
    if let Some(state) = saved {
        Command::new("stty")
            .arg(state)
            .stdin(Stdio::inherit())
            .status()
            .ok();
        eprintln!();
    }
    result
}
