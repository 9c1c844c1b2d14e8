//! HTTP over loopback: `httpd` serving a file that `curl` fetches and the
//! test compares byte for byte, with 404, 403, 400, 501, 505, HEAD,
//! keep-alive and a directory listing from a raw client; `curl` on a
//! chunked body; and the HTTP parsers on their own.

use crate::procs::{
    check_file, connect_when_up, read_all, spawn, spawn_piped, stop, wait_for, write_file,
};
use crate::tcp::at;
use abi::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ulib::ensure;
use ulib::http::{self, Body, Method};
use ulib::tcp::{TcpListener, TcpStream};
use ulib::testing::{Check, TestResult};
use ulib::{sys, time};

const HTTP_PORT: u16 = 8080;
/// The file httpd serves and curl fetches over loopback.
const FILE_BYTES: usize = 1024 * 1024;
const ROOT: &str = "/www";

/// The byte at `i` of the served file: a pseudo-random sequence, so a
/// moved, repeated or dropped piece shows.
fn file_byte(i: usize) -> u8 {
    let x = (i as u32).wrapping_mul(2_654_435_761) ^ (i as u32 >> 7);
    (x >> 24) as u8
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
    match sys::mkdir(ROOT) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(format!("mkdir {ROOT}: {}", e.message())),
    }
    let big = format!("{ROOT}/big.bin");
    write_file(&big, FILE_BYTES, file_byte)?;
    write_file(&format!("{ROOT}/hello.txt"), 6, |i| b"hello\n"[i])?;
    let idle = format!("{IDLE_MS}");
    let httpd = spawn(&["httpd", "-p", "8080", "-i", &idle, ROOT])?;
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
    // curl -I: the response head on stdout.
    let (curl, to_curl, from_curl) = spawn_piped(&["curl", "-I", "http://127.0.0.1:8080/big.bin"])?;
    let _ = sys::close(to_curl);
    let head = read_all(from_curl)?;
    let _ = sys::close(from_curl);
    let head = String::from_utf8_lossy(&head);
    ensure!(
        wait_for(curl)? == 0
            && head.starts_with("HTTP/1.1 200 OK\r\n")
            && head.contains(&format!("Content-Length: {FILE_BYTES}\r\n")),
        "curl -I printed {:?}",
        head
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

/// httpd's idle time (`-i`): short, so the test sees a connection closed.
const IDLE_MS: u64 = 1500;

/// Two requests on one connection, each answered in full; then, left
/// idle, httpd closes it after its idle time.
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
    let t0 = time::now_us();
    let mut buf = [0u8; 16];
    let r = s.read(&mut buf);
    let ms = (time::now_us() - t0) / 1000;
    ensure!(
        r == Ok(0) && pending.is_empty(),
        "an idle keep-alive connection: read gave {:?}, {} bytes pending",
        r,
        pending.len()
    );
    ensure!(
        (IDLE_MS - 100..IDLE_MS + 2500).contains(&ms),
        "httpd closed an idle connection after {} ms (its -i is {} ms)",
        ms,
        IDLE_MS
    );
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

/// curl reads a chunked body (extensions and trailers included), and
/// exits 1 when a chunk is cut short. The server is this test, speaking
/// raw HTTP.
pub fn curlchunked() -> TestResult {
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
