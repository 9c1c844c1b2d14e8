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
//! (no query) and a dotted non-address (refused, no query).
use anyhow::{bail, ensure, Context, Result};
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

    shows(
        con,
        "host www.xv6.test",
        &["www.xv6.test has address 10.0.2.2"],
    )?;
    let out = shows(
        con,
        "host big.xv6.test",
        &["big.xv6.test has address 10.0.3.1"],
    )?;
    let addrs = out.matches("big.xv6.test has address").count();
    ensure!(addrs == 40, "host big.xv6.test: {addrs} addresses, not 40");
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
