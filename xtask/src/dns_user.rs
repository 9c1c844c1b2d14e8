//! Names in the guest, against the test's own name server: `xtask/peer/dns.py`
//! on the host's 127.0.0.1 (10.0.2.2 to the guest), never a public
//! resolver. The guest's disk gets `/etc/resolv.conf` naming that server
//! before it boots, so nothing is ever asked of QEMU's 10.0.2.3 (which
//! forwards to the real network); the capture is checked for it too.
//!
//! In the guest, the README's "## Names" block line by line: `host` of a
//! CNAME chain, a name that does not exist, a truncated reply (asked again
//! over TCP), a compression loop (refused by name, no hang), a server
//! given on the command line; `ping`, `nc -u` (to a UDP echo server here)
//! and `curl` (to a web server here that answers with the Host header it
//! got) by name. Then: an A name, all 40 addresses of the truncated one, a
//! first query the server drops (the retry answers), a dotted address
//! (no query) and a dotted non-address (refused, no query). Each hostile
//! reply of the server (a compression loop, a CNAME chain too long,
//! another query's id over UDP; a reply cut short and a pointer past the
//! end over TCP) moves exactly its own counter of the resolver
//! (`host -v`), a good lookup none.
use anyhow::{bail, ensure, Context, Result};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::build::{self, Images};
use crate::console::Console;
use crate::{guestnet, paths, tshark};

const SHORT: Duration = Duration::from_secs(30);
/// The host, as the guest reaches it and as the server's zone says.
const HOST_IP: &str = "10.0.2.2";
/// QEMU's DNS forwarder, which nothing may reach.
const QEMU_DNS: &str = "10.0.2.3";

/// The test's name server, killed when dropped.
pub struct DnsServer {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl DnsServer {
    /// Starts `xtask/peer/dns.py` on 127.0.0.1 (UDP and TCP, one port it
    /// picks); its queries are logged to `build/dns-server.log`.
    pub fn start() -> Result<DnsServer> {
        let log = guestnet::artifact("dns-server.log");
        let script = paths::root().join("xtask/peer/dns.py");
        let mut child = Command::new("python3")
            .arg("-u")
            .arg(&script)
            .args(["127.0.0.1", "0"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).context("creating dns-server.log")?)
            .spawn()
            .context("starting xtask/peer/dns.py")?;
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first)?;
        let port = first
            .trim()
            .strip_prefix("dns: serving on ")
            .and_then(|p| p.parse().ok());
        let Some(port) = port else {
            child.kill().ok();
            child.wait().ok();
            bail!("dns.py did not start: {first:?}");
        };
        Ok(DnsServer { child, port, log })
    }

    /// How many queries for `name` over `transport` the server has logged.
    fn queries(&self, name: &str, transport: &str) -> Result<usize> {
        let text = std::fs::read_to_string(&self.log)?;
        let prefix = format!("dns: query {name} ");
        let suffix = format!(" over {transport}");
        Ok(text
            .lines()
            .filter(|l| l.starts_with(&prefix) && l.ends_with(&suffix))
            .count())
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A fresh image for guest `name` whose `/etc/resolv.conf` names `server`
/// (through our `nameserver A.B.C.D:PORT` extension).
pub fn images_with_resolver(images: &Images, name: &str, server: &DnsServer) -> Result<Images> {
    let conf = guestnet::artifact(&format!("{name}-resolv.conf"));
    std::fs::write(
        &conf,
        format!(
            "# the test's name server (xtask/peer/dns.py)\nnameserver {HOST_IP}:{}\n",
            server.port
        ),
    )?;
    let fs_img = paths::build_dir().join(format!("{name}-fs.img"));
    build::mkfs_with(&fs_img, &[("etc/resolv.conf", &conf)])?;
    Ok(Images {
        kernel: images.kernel.clone(),
        fs_img,
    })
}

/// Runs `line` in the guest; every piece of `want` must be in what it prints.
fn shows(con: &mut Console, line: &str, want: &[&str]) -> Result<String> {
    let out = con.run(line, SHORT)?;
    for w in want {
        ensure!(out.contains(w), "`{line}` did not print {w:?}:\n{out}");
    }
    Ok(out)
}

/// The `xv6$` lines of the README's "## Names" block, each with the
/// lines shown under it.
fn readme_steps(readme: &str) -> Result<Vec<(String, Vec<String>)>> {
    let section = readme
        .split("\n## Names\n")
        .nth(1)
        .context("README has no \"## Names\" section")?;
    let section = section.split("\n## ").next().unwrap_or(section);
    let block = section
        .split("```")
        .nth(1)
        .context("no code block under \"## Names\"")?;
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for raw in block.lines().skip(1) {
        if let Some(line) = raw.strip_prefix("xv6$ ") {
            steps.push((line.trim().into(), Vec::new()));
        } else if !raw.trim().is_empty() {
            match steps.last_mut() {
                Some((_, want)) => want.push(raw.trim().into()),
                None => bail!("\"## Names\" starts with output, not a command: {raw:?}"),
            }
        }
    }
    ensure!(!steps.is_empty(), "no xv6$ lines under \"## Names\"");
    Ok(steps)
}

/// The name checks, in a booted guest whose resolv.conf names `dns`: the
/// README's "## Names" block line by line, then what it does not show.
pub fn test(con: &mut Console, dns: &DnsServer) -> Result<()> {
    let started = Instant::now();
    let server = format!("{HOST_IP}:{}", dns.port);
    let echo = guestnet::loopback_echo_server(None)?;
    let (web, seen) = host_reporter()?;
    let readme = std::fs::read_to_string(paths::root().join("README.md"))?;
    let ports = |text: &str| {
        text.replace("DNSPORT", &dns.port.to_string())
            .replace("ECHOPORT", &echo.to_string())
            .replace("WEBPORT", &web.to_string())
    };
    for (line, want) in readme_steps(&readme)? {
        let want: Vec<String> = want.iter().map(|w| ports(w)).collect();
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        shows(con, &ports(&line), &want)?;
    }
    let got = seen.lock().unwrap().clone();
    ensure!(
        got.as_deref() == Some(&format!("www.xv6.test:{web}")[..]),
        "the web server saw Host {got:?}"
    );
    eprintln!(
        "  ok: the README's \"Names\" block: host (a CNAME chain, NXDOMAIN, a truncated reply, a compression loop, a given server), ping, nc -u and curl by name"
    );

    let (_, c) = counted(con, "www.xv6.test", &["www.xv6.test has address 10.0.2.2"])?;
    moved(
        &c,
        "www.xv6.test",
        None,
        &[("dns_queries_udp", 1), ("dns_replies", 1)],
    )?;
    let (out, c) = counted(con, "big.xv6.test", &["big.xv6.test has address 10.0.3.1"])?;
    let addrs = out.matches("big.xv6.test has address").count();
    ensure!(addrs == 40, "host big.xv6.test: {addrs} addresses, not 40");
    moved(
        &c,
        "big.xv6.test",
        None,
        &[
            ("dns_queries_udp", 1),
            ("dns_replies_truncated", 1),
            ("dns_queries_tcp", 1),
            ("dns_replies", 1),
        ],
    )?;
    let over_tcp = dns.queries("big.xv6.test", "tcp")?;
    ensure!(
        over_tcp == 2,
        "the server saw {over_tcp} TCP queries for big.xv6.test, not 2"
    );
    eprintln!("  ok: the truncated reply asked again over TCP: all 40 addresses");
    let t = Instant::now();
    shows(
        con,
        "host flaky.xv6.test",
        &["flaky.xv6.test has address 10.0.2.2"],
    )?;
    let asked = dns.queries("flaky.xv6.test", "udp")?;
    ensure!(
        asked == 2,
        "flaky.xv6.test asked {asked} times, not 2 (dropped, then retried)"
    );
    eprintln!(
        "  ok: the first query dropped by the server, the retry answered ({:.1?})",
        t.elapsed()
    );
    hostile_replies_counted(con)?;
    shows(con, "host 10.0.2.2", &["10.0.2.2 has address 10.0.2.2"])?;
    ensure!(
        dns.queries("10.0.2.2", "udp")? == 0,
        "a dotted address was asked for"
    );
    shows(
        con,
        "ping -c 1 999.1.1.1",
        &["ping: 999.1.1.1: not an IPv4 address"],
    )?;
    eprintln!(
        "names passed in {:.1?} (server {server})",
        started.elapsed()
    );
    Ok(())
}

/// `host -v NAME`: what it printed (each piece of `want` in it) and the
/// resolver's counters it listed after `;; resolver counters:`.
fn counted(
    con: &mut Console,
    name: &str,
    want: &[&str],
) -> Result<(String, BTreeMap<String, u64>)> {
    let out = shows(con, &format!("host -v {name}"), want)?;
    let (_, list) = out
        .split_once(";; resolver counters:")
        .with_context(|| format!("host -v {name} listed no counters:\n{out}"))?;
    let mut counters = BTreeMap::new();
    for line in list.lines() {
        let mut words = line.split_whitespace();
        if let (Some(k), Some(v), None) = (words.next(), words.next(), words.next()) {
            if let Ok(v) = v.parse() {
                counters.insert(k.to_string(), v);
            }
        }
    }
    ensure!(
        counters.len() > 10
            && counters
                .keys()
                .all(|k| k.starts_with("dns_") || k.starts_with("drop_dns_")),
        "host -v {name}: not the resolver's counters:\n{out}"
    );
    Ok((out, counters))
}

/// Of the resolver's refusals (`drop_dns_*`), exactly `refused` moved,
/// by 1 (none when `None`), and each of `events` by as much as it says.
fn moved(
    counters: &BTreeMap<String, u64>,
    name: &str,
    refused: Option<&str>,
    events: &[(&str, u64)],
) -> Result<()> {
    let drops: Vec<(&String, &u64)> = counters
        .iter()
        .filter(|(k, v)| k.starts_with("drop_dns_") && **v > 0)
        .collect();
    let want: Vec<(String, u64)> = refused.iter().map(|r| (r.to_string(), 1)).collect();
    let got: Vec<(String, u64)> = drops.iter().map(|(k, v)| ((*k).clone(), **v)).collect();
    ensure!(
        got == want,
        "host -v {name}: refusals moved {got:?}, not {want:?}"
    );
    if let Some(r) = refused {
        ensure!(counters.contains_key(r), "host -v {name}: no counter {r}");
    }
    for (k, v) in events {
        let n = counters.get(*k).copied();
        ensure!(n == Some(*v), "host -v {name}: {k} is {n:?}, not {v}");
    }
    Ok(())
}

/// Counters of events and by how much each moved.
type Events = [(&'static str, u64)];

/// Every hostile reply of `xtask/peer/dns.py` refused under its own
/// counter, and nothing else refused; none hangs (each is a `host -v`
/// with the console's short timeout).
fn hostile_replies_counted(con: &mut Console) -> Result<()> {
    // Over UDP: the reply is refused.
    let udp = [("dns_queries_udp", 1), ("dns_replies", 0)];
    // Truncated over UDP (TC), then the reply over TCP is refused.
    let tcp = [
        ("dns_queries_udp", 1),
        ("dns_replies_truncated", 1),
        ("dns_queries_tcp", 1),
        ("dns_replies", 0),
    ];
    let cases: [(&str, &str, &str, &Events); 4] = [
        (
            "loop.xv6.test",
            "malformed reply (name_loop)",
            "drop_dns_name_loop",
            &udp,
        ),
        (
            "chain.xv6.test",
            "CNAME chain longer than 8",
            "drop_dns_too_many_cnames",
            &udp,
        ),
        (
            "short.xv6.test",
            "malformed reply (too_short)",
            "drop_dns_too_short",
            &tcp,
        ),
        (
            "far.xv6.test",
            "malformed reply (name_pointer_out_of_range)",
            "drop_dns_name_pointer_out_of_range",
            &tcp,
        ),
    ];
    for (name, says, counter, events) in cases {
        let t = Instant::now();
        let (_, c) = counted(con, name, &[&format!("host: {name}: {says}")])?;
        moved(&c, name, Some(counter), events)?;
        eprintln!(
            "  ok: host -v {name}: refused, {counter} 1 and no other ({:.1?})",
            t.elapsed()
        );
    }
    // Another query's reply first: skipped, counted, and the real one used.
    let (_, c) = counted(
        con,
        "spoof.xv6.test",
        &["spoof.xv6.test has address 10.0.2.2"],
    )?;
    moved(
        &c,
        "spoof.xv6.test",
        Some("drop_dns_not_ours"),
        &[("dns_queries_udp", 1), ("dns_replies", 1)],
    )?;
    eprintln!("  ok: host -v spoof.xv6.test: a reply with another id skipped (drop_dns_not_ours 1), the right one used");
    Ok(())
}

/// A one-request HTTP server on 127.0.0.1 that answers with the Host
/// header it got (and keeps it for the test).
fn host_reporter() -> Result<(u16, Arc<Mutex<Option<String>>>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let seen = Arc::new(Mutex::new(None));
    let keep = Arc::clone(&seen);
    std::thread::spawn(move || -> Option<()> {
        let (mut conn, _) = listener.accept().ok()?;
        conn.set_read_timeout(Some(SHORT)).ok()?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
            conn.read_exact(&mut byte).ok()?;
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let host = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("host")
                .then(|| value.trim().to_string())
        });
        let body = format!("Host: {}\n", host.as_deref().unwrap_or("(none)"));
        *keep.lock().unwrap() = host;
        write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .ok()
    });
    Ok((port, seen))
}

/// No frame of the capture went to or came from QEMU's DNS forwarder.
pub fn nothing_asked_of_qemu(pcap: &Path) -> Result<()> {
    let n = tshark::count(pcap, &format!("ip.addr == {QEMU_DNS}"))?;
    ensure!(
        n == 0,
        "{n} frames to or from {QEMU_DNS} in {}",
        pcap.display()
    );
    eprintln!("  ok: no frame to or from {QEMU_DNS} (QEMU's DNS forwarder)");
    Ok(())
}
