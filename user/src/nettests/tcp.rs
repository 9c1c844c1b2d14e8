//! TCP over loopback: a refused connection, `httpd` serving a file that
//! `curl` fetches and the test compares byte for byte (plus 404, 403,
//! 400, HEAD, keep-alive and a directory listing from a raw client),
//! 32 clients of `tcpecho` at once, and processes killed while blocked in
//! accept and in recv. The HTTP parsers are checked on their own too.

use abi::net::SockAddrIn;
use abi::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ulib::ensure;
use ulib::http::{self, Body, Method};
use ulib::socket::Socket;
use ulib::tcp::{TcpListener, TcpStream};
use ulib::testing::{Check, TestResult};
use ulib::{sys, time};

pub const LOOPBACK: [u8; 4] = [127, 0, 0, 1];
/// Nobody listens here.
const CLOSED_PORT: u16 = 1;
const HTTP_PORT: u16 = 8080;
const ECHO_PORT: u16 = 7007;
/// The file httpd serves and curl fetches: as large as a file may be
/// (268 KiB until files have a doubly-indirect block).
const FILE_BYTES: usize = 256 * 1024;
const ROOT: &str = "/www";
/// tcpecho's clients at once.
const ECHO_CLIENTS: usize = 32;

/// Whether the kernel serves TCP; without it the TCP tests say so and
/// pass, as nettests does without a network.
pub fn have_tcp() -> Result<bool, String> {
    match Socket::stream() {
        Ok(_) => Ok(true),
        Err(Errno::EPROTONOSUPPORT) => {
            ulib::println!("  SKIPPED: the kernel has no TCP (EPROTONOSUPPORT)");
            Ok(false)
        }
        Err(e) => Err(format!("socket(SOCK_STREAM): {}", e.message())),
    }
}

fn at(port: u16) -> SockAddrIn {
    SockAddrIn::new(LOOPBACK, port)
}

/// Starts `argv[0]` (a program in /) in a child; returns its pid.
fn spawn(argv: &[&str]) -> Result<usize, String> {
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        let e = sys::exec(&format!("/{}", argv[0]), argv);
        ulib::println!("  exec {}: {}", argv[0], e.message());
        sys::exit(127);
    }
    Ok(pid)
}

/// Waits for child `pid`; its exit status (other children that exit
/// meanwhile are reaped and forgotten).
fn wait_for(pid: usize) -> Result<i32, String> {
    loop {
        let (w, st) = sys::wait().or_fail("wait")?;
        if w == pid {
            return Ok(st);
        }
    }
}

fn stop(pid: usize) {
    let _ = sys::kill(pid);
    let _ = wait_for(pid);
}

/// Connects to `port` once something listens there (within 3 s).
fn connect_when_up(port: u16) -> Result<TcpStream, String> {
    let deadline = sys::uptime() + 300;
    loop {
        match TcpStream::connect(at(port)) {
            Ok(s) => return Ok(s),
            Err(Errno::ECONNREFUSED) if sys::uptime() < deadline => {
                sys::sleep(5).or_fail("sleep")?;
            }
            Err(e) => return Err(format!("connect to port {port}: {}", e.message())),
        }
    }
}

/// Nobody listens: ECONNREFUSED at once (a RST answers the SYN).
pub fn tcprefused() -> TestResult {
    if !have_tcp()? {
        return Ok(());
    }
    let t0 = sys::uptime();
    let r = TcpStream::connect(at(CLOSED_PORT));
    ensure!(
        matches!(r, Err(Errno::ECONNREFUSED)),
        "connect to a closed port gave {:?} (want ECONNREFUSED)",
        r.map(|_| ())
    );
    ensure!(
        sys::uptime() - t0 < 100,
        "refusal took {} ticks",
        sys::uptime() - t0
    );
    Ok(())
}

/// The byte at `i` of the served file: a pseudo-random sequence, so a
/// moved, repeated or dropped piece shows.
fn file_byte(i: usize) -> u8 {
    let x = (i as u32).wrapping_mul(2_654_435_761) ^ (i as u32 >> 7);
    (x >> 24) as u8
}

fn write_file(path: &str, len: usize, byte: impl Fn(usize) -> u8) -> TestResult {
    let fd = sys::open(
        path,
        abi::fcntl::O_CREATE | abi::fcntl::O_WRONLY | abi::fcntl::O_TRUNC,
    )
    .or_fail(path)?;
    let mut buf = vec![0u8; 4096];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(buf.len());
        for (k, b) in buf[..n].iter_mut().enumerate() {
            *b = byte(done + k);
        }
        sys::write_all(fd, &buf[..n]).or_fail("write")?;
        done += n;
    }
    sys::close(fd).or_fail("close")
}

/// Checks the file at `path` is `len` bytes of `byte`.
fn check_file(path: &str, len: usize, byte: impl Fn(usize) -> u8) -> TestResult {
    let fd = sys::open(path, abi::fcntl::O_RDONLY).or_fail(path)?;
    let mut buf = vec![0u8; 4096];
    let mut got = 0;
    loop {
        let n = sys::read(fd, &mut buf).or_fail("read")?;
        if n == 0 {
            break;
        }
        if let Some(k) = (0..n).find(|&k| got + k >= len || buf[k] != byte(got + k)) {
            let _ = sys::close(fd);
            return Err(format!("{path}: byte {} differs", got + k));
        }
        got += n;
    }
    let _ = sys::close(fd);
    ensure!(got == len, "{path}: {got} bytes, want {len}");
    Ok(())
}

/// One request on a fresh connection: status, head, and the body as the
/// response delimits it (its Content-Length, else the connection's end).
fn exchange(request: &[u8]) -> Result<(u16, String, Vec<u8>), String> {
    let s = TcpStream::connect(at(HTTP_PORT)).or_fail("connect")?;
    s.set_timeout(5000).or_fail("set_timeout")?;
    s.write_all(request).or_fail("send request")?;
    let mut all = Vec::new();
    let mut buf = vec![0u8; 4096];
    let mut parsed = None;
    loop {
        if parsed.is_none() {
            if let Some(end) = http::head_end(&all) {
                let resp = http::parse_response(&all[..end]).map_err(String::from)?;
                parsed = Some((end, resp));
            }
        }
        if let Some((end, resp)) = &parsed {
            if let Body::Length(n) = resp.body {
                if all.len() - end >= n as usize {
                    break;
                }
            }
        }
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) => {
                let line = request.split(|&c| c == b'\r').next().unwrap_or(request);
                return Err(format!(
                    "{:?}: reading the response: {}",
                    String::from_utf8_lossy(&line[..line.len().min(60)]),
                    e.message()
                ));
            }
        }
    }
    let (end, resp) = parsed.ok_or("no complete response head")?;
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    Ok((resp.status, head, all[end..].to_vec()))
}

/// httpd serves a file; curl fetches it whole; raw requests get the
/// right status for every kind of mistake.
pub fn httpfetch() -> TestResult {
    if !have_tcp()? {
        return Ok(());
    }
    match sys::mkdir(ROOT) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(format!("mkdir {ROOT}: {}", e.message())),
    }
    let big = format!("{ROOT}/big.bin");
    write_file(&big, FILE_BYTES, file_byte)?;
    write_file(&format!("{ROOT}/hello.txt"), 6, |i| b"hello\n"[i])?;
    let httpd = spawn(&["httpd", "-p", "8080", ROOT])?;
    let r = fetch_checks();
    stop(httpd);
    let _ = sys::unlink("/got.bin");
    let _ = sys::unlink(&big);
    r
}

fn fetch_checks() -> TestResult {
    drop(connect_when_up(HTTP_PORT)?);
    // curl, to a file.
    let t0 = time::now_us();
    let curl = spawn(&["curl", "-o", "/got.bin", "http://127.0.0.1:8080/big.bin"])?;
    let st = wait_for(curl)?;
    ensure!(st == 0, "curl exit status {}", st);
    let ms = (time::now_us() - t0) / 1000;
    check_file("/got.bin", FILE_BYTES, file_byte)?;
    ulib::println!(
        "  curl fetched {} bytes in {} ms, identical",
        FILE_BYTES,
        ms
    );
    // curl on a missing file: exit status 1.
    let curl = spawn(&["curl", "-o", "/got.bin", "http://127.0.0.1:8080/missing"])?;
    ensure!(
        wait_for(curl)? == 1,
        "curl of a missing file did not exit 1"
    );

    let (status, head, body) =
        exchange(b"HEAD /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    ensure!(status == 200, "HEAD: status {}", status);
    ensure!(
        head.contains(&format!("Content-Length: {FILE_BYTES}\r\n")),
        "HEAD: no Content-Length {}: {:?}",
        FILE_BYTES,
        head
    );
    ensure!(
        body.is_empty(),
        "HEAD answered with {} body bytes",
        body.len()
    );
    let (status, head, body) = exchange(b"GET /hello.txt HTTP/1.0\r\n\r\n")?;
    ensure!(
        status == 200 && body == b"hello\n" && head.contains("Content-Type: text/plain"),
        "GET /hello.txt: {} {:?} {:?}",
        status,
        head,
        body
    );
    let (status, _, body) = exchange(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let listing = String::from_utf8_lossy(&body);
    ensure!(
        status == 200 && listing.contains("href=\"/big.bin\"") && listing.contains("hello.txt"),
        "directory listing: {} {:?}",
        status,
        listing
    );
    for (req, want) in [
        (&b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"[..], 404),
        (b"GET /../README.md HTTP/1.1\r\nHost: x\r\n\r\n", 403),
        (b"GET /%2e%2e/README.md HTTP/1.1\r\nHost: x\r\n\r\n", 403),
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /hello.txt HTTP/1.1\r\n\r\n", 400),
        (b"GET /hello.txt HTTP/1.1\r\nHost x\r\n\r\n", 400),
        (b"GET hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"DELETE /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ] {
        let (status, _, _) = exchange(req)?;
        ensure!(
            status == want,
            "{:?}: status {} (want {})",
            String::from_utf8_lossy(req),
            status,
            want
        );
    }
    // A head that never ends: refused once it passes the bound.
    let mut huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Filler: ".to_vec();
    huge.resize(http::MAX_HEAD + 1024, b'a');
    let (status, _, _) = exchange(&huge)?;
    ensure!(status == 400, "oversized head: status {}", status);
    keep_alive()
}

/// Two requests on one connection, each answered in full.
fn keep_alive() -> TestResult {
    let s = TcpStream::connect(at(HTTP_PORT)).or_fail("connect")?;
    s.set_timeout(5000).or_fail("set_timeout")?;
    let mut pending: Vec<u8> = Vec::new();
    for round in 0..2 {
        s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .or_fail("send")?;
        let mut buf = [0u8; 512];
        let end = loop {
            if let Some(end) = http::head_end(&pending) {
                break end;
            }
            let n = s.read(&mut buf).or_fail("read")?;
            ensure!(n > 0, "round {}: connection closed (no keep-alive)", round);
            pending.extend_from_slice(&buf[..n]);
        };
        let resp = http::parse_response(&pending[..end]).map_err(String::from)?;
        ensure!(
            resp.status == 200 && resp.body == Body::Length(6),
            "round {}: {:?}",
            round,
            resp
        );
        pending.drain(..end);
        while pending.len() < 6 {
            let n = s.read(&mut buf).or_fail("read body")?;
            ensure!(n > 0, "round {}: body cut short", round);
            pending.extend_from_slice(&buf[..n]);
        }
        ensure!(
            &pending[..6] == b"hello\n",
            "round {}: body {:?}",
            round,
            &pending[..6]
        );
        pending.drain(..6);
    }
    Ok(())
}

/// 32 clients connect to tcpecho, all before any sends; each then
/// echoes its own 4 KiB and checks it came back unchanged.
pub fn tcpecho32() -> TestResult {
    if !have_tcp()? {
        return Ok(());
    }
    let echo = spawn(&["tcpecho", "7007"])?;
    let r = echo_clients();
    stop(echo);
    r
}

fn echo_clients() -> TestResult {
    drop(connect_when_up(ECHO_PORT)?);
    let [go_r, go_w] = sys::pipe().or_fail("pipe")?;
    let [ready_r, ready_w] = sys::pipe().or_fail("pipe")?;
    let mut pids = Vec::new();
    for c in 0..ECHO_CLIENTS {
        let pid = sys::fork().or_fail("fork")?;
        if pid == 0 {
            let _ = (sys::close(go_w), sys::close(ready_r));
            sys::exit(match echo_client(c, go_r, ready_w) {
                Ok(()) => 0,
                Err(e) => {
                    ulib::println!("  client {}: {}", c, e);
                    1
                }
            });
        }
        pids.push(pid);
    }
    let _ = (sys::close(go_r), sys::close(ready_w));
    // Every client connected before any sends: 32 connections at once.
    let mut ready = vec![0u8; ECHO_CLIENTS];
    let got = sys::read_full(ready_r, &mut ready).or_fail("read ready")?;
    let _ = sys::close(go_w);
    let mut failed = 0;
    for _ in 0..ECHO_CLIENTS {
        let (_, st) = sys::wait().or_fail("wait")?;
        failed += (st != 0) as usize;
    }
    let _ = sys::close(ready_r);
    ensure!(
        got == ECHO_CLIENTS,
        "only {} of {} clients connected",
        got,
        ECHO_CLIENTS
    );
    ensure!(failed == 0, "{} of {} clients failed", failed, ECHO_CLIENTS);
    Ok(())
}

fn echo_client(c: usize, go: usize, ready: usize) -> TestResult {
    let s = TcpStream::connect(at(ECHO_PORT)).or_fail("connect")?;
    s.set_timeout(10_000).or_fail("set_timeout")?;
    sys::write(ready, b"r").or_fail("ready")?;
    let mut b = [0u8; 1];
    let _ = sys::read(go, &mut b); // end of file: go
    let msg: Vec<u8> = (0..4096).map(|i| (i * 7 + c * 13) as u8).collect();
    s.write_all(&msg).or_fail("write")?;
    let mut back = vec![0u8; msg.len()];
    let n = s.read_full(&mut back).or_fail("read")?;
    ensure!(n == msg.len(), "{} of {} bytes came back", n, msg.len());
    ensure!(back == msg, "the echo differs");
    s.shutdown_write().or_fail("shutdown")?;
    ensure!(s.read(&mut back) == Ok(0), "no end of file after the echo");
    Ok(())
}

/// A process blocked in accept, then one blocked in recv, is killed: it
/// dies at once, its listener's port is free again, and its connection
/// ends for the peer (end of file or reset, not silence).
pub fn tcpkill() -> TestResult {
    if !have_tcp()? {
        return Ok(());
    }
    const PORT: u16 = 7100;
    let [r, w] = sys::pipe().or_fail("pipe")?;
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        let l = TcpListener::bind(PORT);
        let _ = sys::write(w, if l.is_ok() { b"y" } else { b"n" });
        if let Ok(l) = l {
            let _ = l.accept();
        }
        sys::exit(0);
    }
    let mut b = [0u8; 1];
    sys::read(r, &mut b).or_fail("read")?;
    ensure!(b[0] == b'y', "child could not listen");
    sys::sleep(5).or_fail("sleep")?;
    let t0 = sys::uptime();
    sys::kill(pid).or_fail("kill")?;
    let st = wait_for(pid)?;
    ensure!(st != 0, "child blocked in accept exited {}", st);
    ensure!(
        sys::uptime() - t0 < 100,
        "killed in accept: {} ticks to die",
        sys::uptime() - t0
    );
    drop(TcpListener::bind(PORT).or_fail("listen again on the dead listener's port")?);

    // Blocked in recv.
    let l = TcpListener::bind(PORT).or_fail("listen")?;
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        if let Ok(s) = TcpStream::connect(at(PORT)) {
            let _ = sys::write(w, b"c");
            let mut buf = [0u8; 16];
            let _ = s.read(&mut buf);
        }
        sys::exit(0);
    }
    let (conn, _) = l.accept().or_fail("accept")?;
    sys::read(r, &mut b).or_fail("read")?;
    sys::sleep(5).or_fail("sleep")?;
    let t0 = sys::uptime();
    sys::kill(pid).or_fail("kill")?;
    let st = wait_for(pid)?;
    ensure!(st != 0, "child blocked in recv exited {}", st);
    ensure!(
        sys::uptime() - t0 < 100,
        "killed in recv: {} ticks to die",
        sys::uptime() - t0
    );
    conn.set_timeout(3000).or_fail("set_timeout")?;
    let mut buf = [0u8; 16];
    match conn.read(&mut buf) {
        Ok(0) | Err(Errno::ECONNRESET) => {}
        other => return Err(format!("the dead process's peer read {:?}", other)),
    }
    let _ = (sys::close(r), sys::close(w));
    Ok(())
}

/// The HTTP parsers on their own: what they accept and what they refuse.
pub fn httpparse() -> TestResult {
    let req = |s: &str| http::parse_request(s.as_bytes()).map_err(|r| r.status);
    let ok = req("GET /a%20b?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .map_err(|s| format!("a good request refused: {s}"))?;
    ensure!(
        ok.method == Method::Get && ok.target == "/a%20b?q=1" && !ok.keep_alive,
        "parsed {:?}",
        ok
    );
    ensure!(
        req("HEAD / HTTP/1.0\r\n\r\n").is_ok_and(|r| !r.keep_alive),
        "HTTP/1.0 HEAD"
    );
    for (bad, want) in [
        ("", 400),
        ("GET\r\n\r\n", 400),
        ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
        (
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
            400,
        ),
        ("GET / HTTP/1.1\r\nHost: \x01\r\n\r\n", 400),
        ("GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET / FTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/3\r\nHost: x\r\n\r\n", 505),
        ("PUT / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    ] {
        ensure!(
            req(bad) == Err(want),
            "{:?}: {:?}, want {}",
            bad,
            req(bad),
            want
        );
    }
    let root = "/www";
    for (target, want) in [
        ("/", Some("/www")),
        ("/a/./b", Some("/www/a/b")),
        ("/a%2Fb?x", Some("/www/a/b")),
        ("/a/../b", None),
        ("/%2e%2E/x", None),
        ("/%00", None),
        ("/%zz", None),
        ("/%4", None),
    ] {
        let got = http::target_path(root, target);
        ensure!(got.as_deref() == want, "target {:?} -> {:?}", target, got);
    }
    let resp = |s: &str| http::parse_response(s.as_bytes());
    ensure!(
        resp("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n")
            .is_ok_and(|r| r.body == Body::Length(12)),
        "length body"
    );
    ensure!(
        resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n")
            .is_ok_and(|r| r.body == Body::Chunked),
        "chunked body"
    );
    for bad in [
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 999 Huh\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "SMTP 200 OK\r\n\r\n",
    ] {
        ensure!(resp(bad).is_err(), "{:?} accepted", bad);
    }
    ensure!(
        http::parse_chunk_size(b"1aF;ext=1\r") == Ok(0x1af),
        "chunk size"
    );
    for bad in [&b""[..], b"g", b"-1", b"1234567890abcdef0"] {
        ensure!(
            http::parse_chunk_size(bad).is_err(),
            "chunk size {:?} accepted",
            bad
        );
    }
    ensure!(
        http::content_type("x.HTML").starts_with("text/html"),
        "html type"
    );
    ensure!(
        http::content_type("dir.d/file") == "application/octet-stream",
        "no extension"
    );
    Ok(())
}

/// Starts `argv` with stdin and stdout on pipes; returns its pid, the
/// descriptor writing its stdin and the one reading its stdout.
fn spawn_piped(argv: &[&str]) -> Result<(usize, usize, usize), String> {
    let [in_r, in_w] = sys::pipe().or_fail("pipe")?;
    let [out_r, out_w] = sys::pipe().or_fail("pipe")?;
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        // dup takes the lowest free descriptor: the one just closed.
        let _ = (
            sys::close(0),
            sys::dup(in_r),
            sys::close(1),
            sys::dup(out_w),
        );
        let _ = (
            sys::close(in_r),
            sys::close(in_w),
            sys::close(out_r),
            sys::close(out_w),
        );
        let e = sys::exec(&format!("/{}", argv[0]), argv);
        ulib::eprintln!("  exec {}: {}", argv[0], e.message());
        sys::exit(127);
    }
    let _ = (sys::close(in_r), sys::close(out_w));
    Ok((pid, in_w, out_r))
}

/// Everything a descriptor gives until end of file.
fn read_all(fd: usize) -> Result<Vec<u8>, String> {
    let mut all = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match sys::read(fd, &mut buf).or_fail("read")? {
            0 => return Ok(all),
            n => all.extend_from_slice(&buf[..n]),
        }
    }
}

/// nc as a TCP client of tcpecho: stdin goes out, the echo comes back,
/// and nc ends when the server closes after nc's end of input. Then
/// `nc -l`: what a client sends comes out on nc's stdout, and nc's stdin
/// reaches the client.
pub fn nctcp() -> TestResult {
    if !have_tcp()? {
        return Ok(());
    }
    let echo = spawn(&["tcpecho", "7007"])?;
    let r = nc_client();
    stop(echo);
    r?;
    let (nc, to_nc, from_nc) = spawn_piped(&["nc", "-l", "7008"])?;
    let r = (|| {
        let s = connect_when_up(7008)?;
        s.set_timeout(5000).or_fail("set_timeout")?;
        s.write_all(b"to the listener\n").or_fail("write")?;
        sys::write_all(to_nc, b"from the listener\n").or_fail("write to nc")?;
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).or_fail("read")?;
        ensure!(
            &buf[..n] == b"from the listener\n",
            "client read {:?}",
            &buf[..n]
        );
        drop(s);
        let _ = sys::close(to_nc);
        let out = read_all(from_nc)?;
        ensure!(
            out == b"to the listener\n",
            "nc -l printed {:?}",
            String::from_utf8_lossy(&out)
        );
        ensure!(wait_for(nc)? == 0, "nc -l failed");
        Ok(())
    })();
    if r.is_err() {
        stop(nc);
    }
    let _ = sys::close(from_nc);
    r
}

fn nc_client() -> TestResult {
    drop(connect_when_up(ECHO_PORT)?);
    let (nc, to_nc, from_nc) = spawn_piped(&["nc", "127.0.0.1", "7007"])?;
    let msg = b"line one\nline two\n";
    sys::write_all(to_nc, msg).or_fail("write to nc")?;
    let _ = sys::close(to_nc);
    let out = read_all(from_nc)?;
    let _ = sys::close(from_nc);
    let st = wait_for(nc)?;
    ensure!(out == msg, "nc printed {:?}", String::from_utf8_lossy(&out));
    ensure!(st == 0, "nc exit status {}", st);
    Ok(())
}

/// curl reads a chunked body (extensions and trailers included), and
/// exits 1 when a chunk is cut short. The server is this test, speaking
/// raw HTTP.
pub fn curlchunked() -> TestResult {
    if !have_tcp()? {
        return Ok(());
    }
    const PORT: u16 = 7300;
    let l = TcpListener::bind(PORT).or_fail("listen")?;
    let good = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=x\r\nhello\r\n1A\r\n, chunked world, 26 bytes!\r\n0\r\nX-Trailer: 1\r\n\r\n";
    let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly eight\r\n";
    for (reply, want) in [
        (&good[..], Some(&b"hello, chunked world, 26 bytes!"[..])),
        (&cut[..], None),
    ] {
        let curl = spawn(&["curl", "-o", "/chunked.out", "http://127.0.0.1:7300/x"])?;
        let (s, _) = l.accept().or_fail("accept")?;
        s.set_timeout(5000).or_fail("set_timeout")?;
        let mut req = Vec::new();
        let mut buf = [0u8; 512];
        while http::head_end(&req).is_none() {
            let n = s.read(&mut buf).or_fail("read request")?;
            ensure!(n > 0, "curl closed before its request ended");
            req.extend_from_slice(&buf[..n]);
        }
        let parsed =
            http::parse_request(&req).map_err(|r| format!("curl's request refused: {}", r.why))?;
        ensure!(
            parsed.method == Method::Get && parsed.target == "/x",
            "curl asked {:?}",
            parsed
        );
        s.write_all(reply).or_fail("write reply")?;
        drop(s);
        let st = wait_for(curl)?;
        match want {
            Some(body) => {
                ensure!(st == 0, "curl exit status {} on a good chunked body", st);
                check_file("/chunked.out", body.len(), |i| body[i])?;
            }
            None => ensure!(st == 1, "curl exit status {} on a cut chunk (want 1)", st),
        }
    }
    let _ = sys::unlink("/chunked.out");
    Ok(())
}

/// tcpbulk sends 2 MB to its sink over loopback; the sink checks every
/// byte of the pattern and reports the count.
pub fn bulk() -> TestResult {
    if !have_tcp()? {
        return Ok(());
    }
    const BYTES: usize = 2_000_000;
    let (sink, to_sink, from_sink) = spawn_piped(&["tcpbulk", "sink", "7400"])?;
    let _ = sys::close(to_sink);
    // Its first line says it listens.
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while !out.ends_with(b"\n") {
        ensure!(
            sys::read(from_sink, &mut b).or_fail("read")? == 1,
            "tcpbulk sink ended early"
        );
        out.push(b[0]);
    }
    ensure!(
        out.starts_with(b"tcpbulk: listening"),
        "sink said {:?}",
        String::from_utf8_lossy(&out)
    );
    let send = spawn(&["tcpbulk", "send", "127.0.0.1", "7400", "2000000"])?;
    let report = read_all(from_sink)?;
    let _ = sys::close(from_sink);
    // Both exit; either may be first.
    let (mut s1, mut s2) = (None, None);
    while s1.is_none() || s2.is_none() {
        let (pid, st) = sys::wait().or_fail("wait")?;
        if pid == send {
            s1 = Some(st);
        } else if pid == sink {
            s2 = Some(st);
        }
    }
    let (s1, s2) = (s1.unwrap_or(-1), s2.unwrap_or(-1));
    let report = String::from_utf8_lossy(&report);
    ensure!(
        s1 == 0 && s2 == 0,
        "tcpbulk send exit {}, sink exit {}: {}",
        s1,
        s2,
        report
    );
    ensure!(
        report.contains(&format!(" {BYTES} bytes in ")),
        "sink reported {:?}",
        report
    );
    ulib::print!("  sink: {}", report);
    Ok(())
}

/// The stream calls' options and errors: non-blocking connect and
/// accept, a receive timeout, getpeername, TCP_NODELAY and SO_REUSEADDR,
/// stream calls on a datagram socket, bad directions and pointers.
pub fn tcpcalls() -> TestResult {
    if !have_tcp()? {
        return Ok(());
    }
    use abi::net::{SHUT_WR, SOL_SOCKET, SOL_TCP, SO_REUSEADDR, TCP_NODELAY};
    use ulib::poll::{entry, poll, POLLERR, POLLIN, POLLOUT};
    use ulib::syscall as raw;
    const PORT: u16 = 7500;
    let l = TcpListener::bind(PORT).or_fail("listen")?;
    l.socket()
        .set_nonblocking(true)
        .or_fail("set_nonblocking")?;
    ensure!(
        matches!(l.accept(), Err(Errno::EAGAIN)),
        "non-blocking accept with nobody connecting did not give EAGAIN"
    );
    // Non-blocking connect: at once, done or in progress; then writable.
    let c = Socket::stream().or_fail("socket")?;
    c.set_nonblocking(true).or_fail("set_nonblocking")?;
    match c.connect(at(PORT)) {
        Ok(()) | Err(Errno::EINPROGRESS) => {}
        Err(e) => return Err(format!("non-blocking connect: {}", e.message())),
    }
    let mut fds = [entry(c.fd(), POLLOUT)];
    poll(&mut fds, 2000).or_fail("poll")?;
    ensure!(
        fds[0].revents == POLLOUT,
        "connecting socket polled {:#x}",
        fds[0].revents
    );
    let (a, peer) = l.accept().or_fail("accept")?;
    ensure!(
        peer == c.local_addr().or_fail("getsockname")?,
        "accept's peer {:?} is not the client's address",
        peer
    );
    ensure!(
        c.peer_addr().or_fail("getpeername")? == at(PORT),
        "getpeername is not the listener's address"
    );
    ensure!(
        a.peer_addr().or_fail("getpeername")? == peer,
        "accepted socket's peer differs"
    );
    // A receive timeout: EAGAIN after about that long.
    a.set_timeout(300).or_fail("set_timeout")?;
    let t0 = time::now_us();
    let mut buf = [0u8; 8];
    ensure!(
        matches!(a.read(&mut buf), Err(Errno::EAGAIN)),
        "recv with timeout did not give EAGAIN"
    );
    let ms = (time::now_us() - t0) / 1000;
    ensure!(
        (300..1500).contains(&ms),
        "a 300 ms receive timeout took {} ms",
        ms
    );
    // Options.
    a.set_nodelay(true).or_fail("TCP_NODELAY")?;
    c.set_reuseaddr(true).or_fail("SO_REUSEADDR")?;
    let u = Socket::udp().or_fail("socket")?;
    ensure!(
        u.set_option(SOL_TCP, TCP_NODELAY, 1) == Err(Errno::ENOPROTOOPT),
        "TCP_NODELAY on a datagram socket"
    );
    ensure!(
        u.listen(1) == Err(Errno::EOPNOTSUPP),
        "listen on a datagram socket"
    );
    ensure!(u.accept().is_err(), "accept on a datagram socket");
    ensure!(
        u.shutdown(SHUT_WR).is_err(),
        "shutdown of a datagram socket"
    );
    ensure!(a.socket().shutdown(7) == Err(Errno::EINVAL), "shutdown(7)");
    ensure!(
        u.set_option(SOL_SOCKET, SO_REUSEADDR, 1).is_ok(),
        "SO_REUSEADDR on a datagram socket refused"
    );
    // A non-blocking stream: EAGAIN when nothing arrived; sendto with an
    // address goes to the peer.
    c.set_nonblocking(true).or_fail("set_nonblocking")?;
    ensure!(
        matches!(c.recv(&mut buf), Err(Errno::EAGAIN)),
        "non-blocking recv did not give EAGAIN"
    );
    c.send_to(b"via sendto", SockAddrIn::new([1, 2, 3, 4], 9))
        .or_fail("sendto on a stream")?;
    a.set_timeout(2000).or_fail("set_timeout")?;
    let mut got = [0u8; 16];
    let n = a.read_full(&mut got[..10]).or_fail("read")?;
    ensure!(&got[..n] == b"via sendto", "the peer read {:?}", &got[..n]);
    // Bad pointers: EFAULT, with something there to accept and to read.
    let wild = 0xffff_ffff_ffffusize;
    let d = Socket::stream().or_fail("socket")?;
    d.connect(at(PORT)).or_fail("connect")?;
    c.send(b"x").or_fail("send")?;
    // Both stay ready once they are (poll is level-triggered).
    let mut ready = [entry(a.fd(), POLLIN), entry(l.fd(), POLLIN)];
    let t0 = time::now_us();
    while time::now_us() - t0 < 2_000_000 {
        poll(&mut ready, 100).or_fail("poll")?;
        if ready.iter().all(|p| p.revents != 0) {
            break;
        }
        sys::sleep(1).or_fail("sleep")?;
    }
    ensure!(
        ready.iter().all(|p| p.revents == POLLIN),
        "data and a connection: revents {:?}",
        [ready[0].revents, ready[1].revents]
    );
    // SAFETY: wild pointers the kernel must refuse.
    let (peer_r, accept_r, read_r) = unsafe {
        (
            raw::getpeername(a.fd(), wild as *mut SockAddrIn, core::ptr::null_mut()),
            raw::accept(l.fd(), wild as *mut SockAddrIn, core::ptr::null_mut()),
            raw::read(a.fd(), wild as *mut u8, 8),
        )
    };
    ensure!(
        peer_r == Err(Errno::EFAULT)
            && accept_r == Err(Errno::EFAULT)
            && read_r == Err(Errno::EFAULT),
        "wild pointers: getpeername {:?}, accept {:?}, read {:?} (want EFAULT each)",
        peer_r,
        accept_r,
        read_r
    );
    // A connection refused while non-blocking: reported by poll and the
    // next call.
    let r = Socket::stream().or_fail("socket")?;
    r.set_nonblocking(true).or_fail("set_nonblocking")?;
    match r.connect(at(CLOSED_PORT)) {
        Err(Errno::ECONNREFUSED) => {}
        Err(Errno::EINPROGRESS) => {
            let mut fds = [entry(r.fd(), POLLOUT)];
            poll(&mut fds, 2000).or_fail("poll")?;
            ensure!(
                fds[0].revents & POLLERR != 0,
                "refused connect polled {:#x}",
                fds[0].revents
            );
        }
        other => {
            return Err(format!(
                "non-blocking connect to a closed port: {:?}",
                other
            ))
        }
    }
    Ok(())
}
