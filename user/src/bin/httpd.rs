//! httpd: serves files over HTTP/1.1. `httpd [-p PORT] [-i IDLE_MS]
//! [ROOT]` (port 80, root `/`) answers GET and HEAD with the file under ROOT the path names
//! (Content-Length, a Content-Type by extension) or, for a directory, a
//! generated listing; 404 when there is nothing there, 403 for a path
//! climbing above ROOT, 400 for a malformed request (then the connection
//! closes), 501 for other methods. Connections stay open for further
//! requests (keep-alive) unless the client asks otherwise. Serves many
//! clients at once from one process: every socket is non-blocking and a
//! `poll` loop moves each connection along as it becomes ready, so a slow
//! client never holds up the others. Before closing a connection httpd
//! ends its side and reads what the client still sends (up to
//! [`LINGER_BYTES`]) until the client closes: closing with unread bytes
//! would reset the connection, and the client could lose the response.
//! A connection that does nothing for `-i` milliseconds ([`IDLE_MS`] by
//! default: a client that never sends, never reads, or never closes, or a
//! keep-alive connection left open) is closed, so idle clients cannot
//! hold every slot. Runs until killed.
#![no_std]
#![no_main]

extern crate alloc;
use abi::fcntl::O_RDONLY;
use abi::fs::Dirent;
use abi::stat::{T_DIR, T_FILE};
use abi::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::mem::size_of;
use ulib::args;
use ulib::cstr::from_padded;
use ulib::http::{self, Method, Refusal, MAX_HEAD};
use ulib::poll::{self, PollFd, POLLERR, POLLHUP, POLLIN, POLLOUT};
use ulib::sys::{self, Fd};
use ulib::tcp::{TcpListener, TcpStream};
use ulib::time::now_us;
use zerocopy::IntoBytes;

ulib::entry!(main);

const USAGE: &str = "httpd [-p PORT] [-i IDLE_MS] [ROOT]";
/// Connections served at once: each may hold a socket and a file, within
/// the process's descriptors.
const MAX_CONNS: usize = 20;
/// File bytes read (and sent) at a time.
const CHUNK: usize = 8 * 1024;
/// What a closing connection reads and discards at most before it gives
/// up waiting for the client's close.
const LINGER_BYTES: usize = 64 * 1024;
/// A connection without progress for this long is closed (unless `-i`
/// says otherwise).
const IDLE_MS: u64 = 30_000;
/// How often idle connections are looked for.
const SWEEP_MS: i32 = 1000;

/// One client connection.
struct Conn {
    stream: TcpStream,
    /// Received bytes not yet part of an answered request.
    input: Vec<u8>,
    /// Response bytes to send, from `sent` on.
    out: Vec<u8>,
    sent: usize,
    /// The file whose bytes follow `out`, and how many are still to send.
    file: Option<(Fd, u64)>,
    /// Close once the response is out.
    close_after: bool,
    /// Our side is shut: discarding input until the client closes; the
    /// bytes discarded so far.
    lingering: Option<usize>,
    /// When the connection last moved (µs since boot).
    active_us: u64,
}

impl Conn {
    fn sending(&self) -> bool {
        self.sent < self.out.len() || self.file.is_some()
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some((fd, _)) = self.file.take() {
            let _ = sys::close(fd);
        }
    }
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A path segment as it may appear in a URL.
fn escape_url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The listing of the open directory `fd`, as HTML.
fn listing(fd: Fd, fs_path: &str, url_path: &str) -> Result<Vec<u8>, Errno> {
    let title = escape_html(url_path);
    let mut html =
        format!("<!DOCTYPE html>\n<html><head><title>Index of {title}</title></head>\n<body><h1>Index of {title}</h1>\n<ul>\n");
    let base = url_path.trim_end_matches('/');
    let mut de = Dirent::default();
    while sys::read_full(fd, de.as_mut_bytes())? == size_of::<Dirent>() {
        let name = from_padded(&de.name);
        if de.inum == 0 || name == "." || name == ".." {
            continue;
        }
        let dir = sys::stat(&format!("{}/{name}", fs_path.trim_end_matches('/')))
            .is_ok_and(|st| st.typ == T_DIR);
        let slash = if dir { "/" } else { "" };
        html.push_str(&format!(
            "<li><a href=\"{base}/{}{slash}\">{}{slash}</a></li>\n",
            escape_url(name),
            escape_html(name)
        ));
    }
    html.push_str("</ul>\n</body></html>\n");
    Ok(html.into_bytes())
}

fn head(status: u16, content_type: &str, length: u64, keep_alive: bool) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {}\r\nServer: xv6net-httpd\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: {}\r\n\r\n",
        http::reason(status),
        if keep_alive { "keep-alive" } else { "close" }
    )
    .into_bytes()
}

/// A short HTML page for an error status.
fn error_page(c: &mut Conn, status: u16, why: &str, method: Method) {
    let body = format!(
        "<!DOCTYPE html>\n<html><body><h1>{status} {}</h1><p>{}</p></body></html>\n",
        http::reason(status),
        escape_html(why)
    );
    c.out = head(
        status,
        "text/html; charset=utf-8",
        body.len() as u64,
        !c.close_after,
    );
    if method == Method::Get {
        c.out.extend_from_slice(body.as_bytes());
    }
}

/// Prepares the response to one request head in `c.out` (and `c.file`).
fn respond(c: &mut Conn, root: &str, req: Result<http::Request, Refusal>) {
    c.sent = 0;
    let req = match req {
        Ok(r) => r,
        Err(r) => {
            c.close_after = true;
            return error_page(c, r.status, r.why, Method::Get);
        }
    };
    c.close_after = !req.keep_alive;
    let Some(path) = http::target_path(root, &req.target) else {
        return error_page(c, 403, "the path leaves the served directory", req.method);
    };
    let fd = match sys::open(&path, O_RDONLY) {
        Ok(fd) => fd,
        Err(Errno::ENOENT | Errno::ENOTDIR) => {
            return error_page(c, 404, "no such file", req.method)
        }
        Err(e) => return error_page(c, 403, e.message(), req.method),
    };
    let answer = match sys::fstat(fd) {
        Ok(st) if st.typ == T_FILE => {
            c.out = head(200, http::content_type(&path), st.size, req.keep_alive);
            if req.method == Method::Get && st.size > 0 {
                c.file = Some((fd, st.size));
                return;
            }
            Ok(())
        }
        Ok(st) if st.typ == T_DIR => listing(fd, &path, &req.target).map(|body| {
            c.out = head(
                200,
                "text/html; charset=utf-8",
                body.len() as u64,
                req.keep_alive,
            );
            if req.method == Method::Get {
                c.out.extend_from_slice(&body);
            }
        }),
        Ok(_) => Err(Errno::EPERM),
        Err(e) => Err(e),
    };
    let _ = sys::close(fd);
    if let Err(e) = answer {
        error_page(c, 403, e.message(), req.method);
    }
}

/// Takes the next complete request head from `c.input` and prepares its
/// response; false when none is complete yet.
fn next_request(c: &mut Conn, root: &str) -> bool {
    match http::head_end(&c.input) {
        Some(end) => {
            let req = http::parse_request(&c.input[..end]);
            c.input.drain(..end);
            respond(c, root, req);
            true
        }
        None if c.input.len() > MAX_HEAD => {
            c.input.clear();
            respond(
                c,
                root,
                Err(Refusal {
                    status: 400,
                    why: "request head too long",
                }),
            );
            true
        }
        None => false,
    }
}

/// Reads what arrived; false when the connection is over.
fn on_readable(c: &mut Conn, root: &str) -> bool {
    let mut buf = [0u8; 2048];
    let n = match c.stream.read(&mut buf) {
        Ok(0) => return false,
        Ok(n) => n,
        Err(Errno::EAGAIN) => return true,
        Err(_) => return false,
    };
    if let Some(discarded) = &mut c.lingering {
        *discarded += n;
        return *discarded <= LINGER_BYTES;
    }
    c.input.extend_from_slice(&buf[..n]);
    next_request(c, root);
    true
}

/// Sends what the socket takes; false when the connection is over.
fn on_writable(c: &mut Conn, root: &str) -> bool {
    loop {
        if c.sent < c.out.len() {
            match c.stream.write(&c.out[c.sent..]) {
                Ok(n) => c.sent += n,
                Err(Errno::EAGAIN) => return true,
                Err(_) => return false,
            }
            continue;
        }
        if let Some((fd, left)) = c.file {
            c.out.resize(CHUNK.min(left as usize), 0);
            c.sent = 0;
            match sys::read(fd, &mut c.out) {
                Ok(n) if n > 0 => c.out.truncate(n),
                // The file ended early or failed: the length promised
                // cannot be kept, so the connection must end.
                _ => return false,
            }
            let left = left - c.out.len() as u64;
            c.file = Some((fd, left));
            if left == 0 {
                let _ = sys::close(fd);
                c.file = None;
            }
            continue;
        }
        // This response is out.
        c.out.clear();
        c.sent = 0;
        if c.close_after {
            c.lingering = Some(0);
            return c.stream.shutdown_write().is_ok();
        }
        if !next_request(c, root) {
            return true;
        }
    }
}

fn serve(listener: &TcpListener, root: &str, idle_ms: u64) -> Errno {
    let mut conns: Vec<Conn> = Vec::new();
    let mut fds: Vec<PollFd> = Vec::new();
    // Out of descriptors or sockets: accept again once a connection ends.
    let mut starved = false;
    loop {
        fds.clear();
        let accepting = conns.len() < MAX_CONNS && !starved;
        fds.push(poll::entry(
            listener.fd(),
            if accepting { POLLIN } else { 0 },
        ));
        for c in &conns {
            let ev = if c.sending() { POLLOUT } else { POLLIN };
            fds.push(poll::entry(c.stream.fd(), ev));
        }
        if let Err(e) = poll::poll(&mut fds, SWEEP_MS.min(idle_ms as i32)) {
            return e;
        }
        let now = now_us();
        // Connections first: their indices match `fds` until one goes.
        for i in (0..conns.len()).rev() {
            let ev = fds[i + 1].revents;
            if ev == 0 {
                if now - conns[i].active_us > idle_ms * 1000 {
                    conns.swap_remove(i);
                    starved = false;
                }
                continue;
            }
            let c = &mut conns[i];
            c.active_us = now;
            let alive = if c.sending() {
                ev & (POLLOUT | POLLERR | POLLHUP) == 0 || on_writable(c, root)
            } else if c.lingering.is_some() {
                on_readable(c, root)
            } else {
                on_readable(c, root) && (!c.sending() || on_writable(c, root))
            };
            if !alive {
                conns.swap_remove(i);
                starved = false;
            }
        }
        if fds[0].revents & POLLIN != 0 {
            match listener.accept() {
                Ok((stream, _peer)) => {
                    if stream.set_nonblocking(true).is_ok() {
                        conns.push(Conn {
                            stream,
                            input: Vec::new(),
                            out: Vec::new(),
                            sent: 0,
                            file: None,
                            close_after: false,
                            lingering: None,
                            active_us: now,
                        });
                    }
                }
                Err(Errno::EAGAIN | Errno::ECONNABORTED | Errno::ECONNRESET) => {}
                Err(Errno::EMFILE | Errno::ENFILE) => starved = !conns.is_empty(),
                Err(e) => return e,
            }
        }
    }
}

/// The command line: port, idle time (ms) and root.
fn parse<'a>(argv: &[&'a str]) -> Result<(u16, u64, &'a str), String> {
    let (mut port, mut idle_ms, mut root) = (80, IDLE_MS, None);
    let mut i = 1;
    while i < argv.len() {
        match argv[i] {
            "-p" => {
                port = args::port(argv.get(i + 1).ok_or("-p needs a port")?)?;
                i += 1;
            }
            "-i" => {
                idle_ms = args::number("-i", argv.get(i + 1).copied(), 1..=3_600_000)?;
                i += 1;
            }
            a if a.starts_with('-') => return Err(format!("unknown option {a}")),
            a if root.is_none() => root = Some(a),
            a => return Err(format!("{a}: unexpected argument")),
        }
        i += 1;
    }
    Ok((port, idle_ms, root.unwrap_or("/")))
}

fn main(argv: &[&str]) -> i32 {
    let (port, idle_ms, root) = match parse(argv) {
        Ok(v) => v,
        Err(problem) => return args::bad("httpd", &problem, USAGE),
    };
    match sys::stat(root) {
        Ok(st) if st.typ == T_DIR => {}
        Ok(_) => return args::bad("httpd", &format!("{root}: not a directory"), USAGE),
        Err(e) => return ulib::fail("httpd", root, e),
    }
    let listener = match TcpListener::bind(port) {
        Ok(l) => l,
        Err(e) => return ulib::fail("httpd", &format!("port {port}"), e),
    };
    if let Err(e) = listener.socket().set_nonblocking(true) {
        return ulib::fail("httpd", "setsockopt", e);
    }
    ulib::println!("httpd: serving {root} on port {port}");
    let e = serve(&listener, root, idle_ms);
    ulib::fail("httpd", "poll", e)
}
