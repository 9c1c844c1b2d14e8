//! Two guests on one virtual Ethernet link, no root.
//!
//! The link is QEMU's `dgram` netdev over 127.0.0.1: guest A's QEMU binds
//! port PA and sends its frames to PB, guest B's binds PB and sends to PA
//! (both picked free for each run). Each guest has its own fs.img copy, MAC
//! (52:54:00:0e:09:0N), address on the private subnet 10.0.9.0/24 (set with
//! the guest's `ifconfig`; no gateway) and capture. In [`test`], b gets
//! its address from a instead: a runs `dhcpd`, b's DHCP client asks.
//!
//! - `cargo xtask qemu --lan`: both consoles side by side in a tmux session
//!   of this run (or, with no tmux or no terminal, how to start each half
//!   in its own terminal with `cargo xtask qemu --lan-peer a|b`).
//! - [`test`] (part of `cargo xtask test`): b's lease from a's `dhcpd`,
//!   with a's `dnsd` as its name server, which b then asks for names
//!   (no resolv.conf on b); ARP, ping, UDP echo and chat in both
//!   directions, then tshark over both captures (the DHCP exchange and
//!   the DNS queries included).
use anyhow::{bail, ensure, Context, Result};
use std::io::IsTerminal;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::build::{self, Images};
use crate::console::Console;
use crate::guest::{Guest, Mac, Net};
use crate::guestnet::{self, arp_resolves, big_echoes, configure, end_input, nc_echo, pings};
use crate::guestnet::{NETMASK, NO_GATEWAY};
use crate::{relay, tshark};

const BOOT: Duration = Duration::from_secs(120);
const SHORT: Duration = Duration::from_secs(30);

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
            gdb: None,
        }
    }
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
    for con in cons.iter_mut() {
        con.expect("$ ", BOOT)
            .context("waiting for the shell prompt")?;
    }
    let [a, b] = &mut cons[..] else {
        unreachable!()
    };
    let [pa_, pb_] = PEERS;
    // a is static and serves; b has no address of its own.
    configure(a, pa_.ip, pa_.mac, NETMASK, NO_GATEWAY)?;
    dhcp_from_a(a, b, pb_)?;
    names_from_a(a, b, pa_, pb_)?;

    arp_resolves(a, pb_.ip, pb_.mac)?;
    arp_resolves(b, pa_.ip, pa_.mac)?;
    eprintln!(
        "ARP: a resolved {} to {}, b resolved {} to {}",
        pb_.ip, pb_.mac, pa_.ip, pa_.mac
    );
    pings(a, pb_.ip)?;
    pings(b, pa_.ip)?;
    eprintln!("ping: a -> b and b -> a, 3 of 3 each");
    guestnet::big_pings(a, pb_.ip)?;
    eprintln!("ping -s 8000/30000/65507: a -> b in IPv4 fragments, 3 of 3 each");

    b.run("udpecho 7 &", SHORT)?;
    a.run("udpecho 7 &", SHORT)?;
    std::thread::sleep(Duration::from_millis(200));
    nc_echo(a, pb_.ip, 7, "hello-from-a")?;
    nc_echo(b, pa_.ip, 7, "hello-from-b")?;
    eprintln!("UDP: nc on a echoed by udpecho on b, and the other way round");
    big_echoes(a, pb_.ip, 7)?;
    big_echoes(b, pa_.ip, 7)?;
    eprintln!("UDP: 8,000-, 30,000- and 65,507-byte datagrams (IPv4 fragments) a <-> b");

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

/// a runs `dnsd` (a's name from a hosts file typed in the guest, b's
/// from its command line) and `dhcpd -n`, naming a as the name server;
/// b (booted with no server on the link, so still asking) restarts its
/// client with `ifconfig dhcp` and must get the first address of a's
/// pool, a's netmask, a as its server and a as its name server.
fn dhcp_from_a(a: &mut Console, b: &mut Console, pb: Peer) -> Result<()> {
    let before = b.run("ifconfig", SHORT)?;
    ensure!(
        before.contains("inet 0.0.0.0 ") && before.contains("dhcp selecting"),
        "b should have no address and still be asking before a serves:\n{before}"
    );
    // The logs to files, so nothing they print lands between a's commands.
    a.run("echo 10.0.9.1 a.lan gw.lan > hosts", SHORT)?;
    a.run("dnsd -f hosts b.lan=10.0.9.2 > dnsd.log &", SHORT)?;
    a.run("dhcpd -n 10.0.9.1 > dhcpd.log &", SHORT)?;
    std::thread::sleep(Duration::from_millis(300));
    let out = b.run("ifconfig dhcp", SHORT)?;
    ensure!(
        out.contains(&format!("inet {} ", pb.ip))
            && out.contains(&format!("netmask {NETMASK} "))
            && out.contains("dns 10.0.9.1")
            && out.contains("dhcp bound  server 10.0.9.1  lease 3600 s"),
        "b did not get {} and name server 10.0.9.1 from a's dhcpd:\n{out}",
        pb.ip
    );
    let log = a.run("cat dhcpd.log", SHORT)?;
    ensure!(
        log.contains("dhcpd: serving 10.0.9.2 - 10.0.9.17")
            && log.contains(&format!("dhcpd: ACK {} to {}", pb.ip, pb.mac)),
        "a's dhcpd log:\n{log}"
    );
    eprintln!(
        "DHCP: b got {} and name server 10.0.9.1 from dhcpd on a",
        pb.ip
    );
    Ok(())
}

/// b, with no resolv.conf, asks the name server its lease gave (a's
/// `dnsd`) for names: `host`, `host -v` (no refusal counted), a name a
/// does not serve (NXDOMAIN), `ping` by name; datagrams that are no DNS
/// queries are refused by `dnsd` (logged under their reasons), which
/// answers on after them.
fn names_from_a(a: &mut Console, b: &mut Console, pa: Peer, pb: Peer) -> Result<()> {
    let started = Instant::now();
    let conf = b.run("cat /etc/resolv.conf", SHORT)?;
    ensure!(
        !conf.contains("nameserver"),
        "b has a resolv.conf; it must use its lease's name server:\n{conf}"
    );
    shows(b, "host a.lan", &[format!("a.lan has address {}", pa.ip)])?;
    shows(b, "host gw.lan", &[format!("gw.lan has address {}", pa.ip)])?;
    let out = shows(
        b,
        "host -v b.lan",
        &[format!("b.lan has address {}", pb.ip)],
    )?;
    let refused: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("drop_dns_") && !l.ends_with(" 0"))
        .collect();
    ensure!(
        out.contains("dns_replies 1") && refused.is_empty(),
        "host -v b.lan: a good lookup moved {refused:?}:\n{out}"
    );
    shows(
        b,
        "host nope.lan",
        &["host: nope.lan: no such name (NXDOMAIN)".into()],
    )?;
    shows(
        b,
        "ping -c 2 -i 200 a.lan",
        &["2 packets transmitted, 2 received".into()],
    )?;
    // Datagrams that are no DNS queries, sent over a's loopback (tshark
    // would rightly flag them as malformed DNS on the link's captures):
    // three bytes, shorter than a header (no reply); text, whose header
    // has no standard opcode (NOTIMP).
    a.run("echo hi | nc -u -w 500 127.0.0.1 53", SHORT)?;
    a.run(
        "echo no-dns-query-at-all | nc -u -w 500 127.0.0.1 53 > notimp",
        SHORT,
    )?;
    shows(b, "host a.lan", &[format!("a.lan has address {}", pa.ip)])?;
    let log = a.run("cat dnsd.log", SHORT)?;
    for want in [
        "dnsd: serving 3 names on port 53".to_string(),
        format!("dnsd: A a.lan from {}:", pb.ip),
        format!("dnsd: A nope.lan from {}:", pb.ip),
        "NXDOMAIN".into(),
        "dnsd: query from 127.0.0.1:".into(),
        "refused (too_short), no reply".into(),
        "refused (not a standard query)".into(),
    ] {
        ensure!(log.contains(&want), "a's dnsd log lacks {want:?}:\n{log}");
    }
    eprintln!(
        "DNS: b (no resolv.conf) resolved a.lan, gw.lan, b.lan, pinged a.lan and got NXDOMAIN through dnsd on a, its lease's name server; a malformed query refused ({:.1?})",
        started.elapsed()
    );
    Ok(())
}

/// Runs `line` on `con`; each of `want` must be in what it prints.
fn shows(con: &mut Console, line: &str, want: &[String]) -> Result<String> {
    let out = con.run(line, SHORT)?;
    for w in want {
        ensure!(
            out.contains(w.as_str()),
            "{}: `{line}` did not print {w:?}:\n{out}",
            con.name
        );
    }
    Ok(out)
}

/// `cargo xtask qemu --lan`: both guests, each console in a tmux pane of
/// a session named after this process.
pub fn interactive(no_build: bool) -> Result<()> {
    crate::setup::qemu()?;
    if no_build {
        for p in &PEERS {
            ensure!(
                interactive_image(p).exists(),
                "{} is missing: run without --no-build",
                interactive_image(p).display()
            );
        }
    } else {
        build::binaries()?;
        for p in &PEERS {
            build::mkfs(&interactive_image(p))?;
        }
    }
    let (pa, pb) = guestnet::two_free_udp_ports()?;
    let ports = format!("{pa},{pb}");
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
            "{env}{} qemu --lan-peer {} --lan-ports {ports} --no-build",
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
                "  cargo xtask qemu --lan-peer {} --lan-ports {ports} --no-build     # {} {}",
                p.name, p.ip, p.mac
            );
        }
        return Ok(());
    }
    let session = format!("xv6net-lan-{}", std::process::id());
    let [a, b] = PEERS;
    eprintln!(
        "xv6net: two guests in tmux session {session} (link on 127.0.0.1 ports {pa} and {pb}): a = {} (left), b = {} (right)",
        a.ip, b.ip
    );
    eprintln!("xv6net: try `ping {}` or `chat {}` on a. Leave a guest with Ctrl-A then X; Ctrl-B D detaches tmux.", b.ip, b.ip);
    let tmux = |args: &[&str]| -> Result<()> {
        let ok = Command::new("tmux").args(args).status()?.success();
        ensure!(ok, "tmux {} failed", args.join(" "));
        Ok(())
    };
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "200",
        "-y",
        "50",
        &half(&a),
    ])?;
    tmux(&["set-option", "-t", &session, "remain-on-exit", "off"])?;
    tmux(&["split-window", "-h", "-t", &session, &half(&b)])?;
    tmux(&["select-pane", "-t", &format!("{session}:0.0")])?;
    if std::env::var_os("TMUX").is_some() {
        tmux(&["switch-client", "-t", &session])
    } else {
        tmux(&["attach-session", "-t", &session])
    }
}

/// The disk of one interactive half (the tests use others).
fn interactive_image(p: &Peer) -> std::path::PathBuf {
    guestnet::artifact(&format!("qemu-lan-{}-fs.img", p.name))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `cargo xtask qemu --lan-peer a|b [--lan-ports PA,PB]`: one half of the
/// LAN on this terminal. Without ports it picks two and prints the command
/// that starts the other half. Boots the guest, types its `ifconfig` once
/// the shell is up, then hands the console to the terminal.
pub fn interactive_peer(name: &str, no_build: bool, ports: Option<[u16; 2]>) -> Result<()> {
    let Some(p) = PEERS.iter().find(|p| p.name == name).copied() else {
        bail!("--lan-peer takes a or b");
    };
    crate::setup::qemu()?;
    let image = interactive_image(&p);
    if no_build {
        ensure!(
            image.exists() && build::kernel().exists(),
            "{} is missing: run without --no-build",
            image.display()
        );
    } else {
        build::binaries()?;
        build::mkfs(&image)?;
    }
    let other = p.other();
    let ports = match ports {
        Some(ports) => ports,
        None => {
            let (pa, pb) = guestnet::two_free_udp_ports()?;
            eprintln!(
                "xv6net: start guest {} in another terminal with:\n  cargo xtask qemu --lan-peer {} --lan-ports {pa},{pb}",
                other.name, other.name
            );
            [pa, pb]
        }
    };
    let images = Images {
        kernel: build::kernel(),
        fs_img: image,
    };
    let guest = p.guest(images, ports, &format!("qemu-lan-{}.pcap", p.name));
    eprintln!(
        "xv6net LAN guest {}: {} {} on 127.0.0.1:{}, peer {} at {}; capture {}",
        p.name,
        p.ip,
        p.mac,
        ports[p.index()],
        other.name,
        other.ip,
        guest.pcap.display()
    );
    eprintln!(
        "xv6net: try `ping {}`, `arp {}`, `chat {}`. Quit with Ctrl-A then X.",
        other.ip, other.ip, other.ip
    );
    relay::run(guest.command(), &p.ifconfig())
}
