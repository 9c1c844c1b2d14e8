//! curl: fetches one URL over HTTP/1.1. `curl [-o FILE] [-I] URL`, URL
//! `http://HOST[:PORT]/path`, HOST an address or a name (`ulib::dns`),
//! sent as the Host header. The body goes to stdout, or to FILE with
//! `-o`; `-I` sends HEAD and prints the response head instead. A body is
//! read as its Content-Length says, chunk by chunk when chunked, or to the
//! end of the connection. On an HTTP error (status 400 and up) the status
//! line goes to stderr and curl exits 1; a body shorter than announced, or
//! malformed framing, is an error too (exit 1).
#![no_std]
#![no_main]

extern crate alloc;
use abi::fcntl::{O_CREATE, O_TRUNC, O_WRONLY};
use abi::net::SockAddrIn;
use abi::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use ulib::args;
use ulib::http::{self, Body, MAX_CHUNK_LINE, MAX_HEAD};
use ulib::inet::Addr;
use ulib::sys::{self, Fd};
use ulib::tcp::TcpStream;

ulib::entry!(main);

const USAGE: &str = "curl [-o FILE] [-I] http://HOST[:PORT]/path";
/// Read and write in pieces this big.
const CHUNK: usize = 16 * 1024;
/// No byte for this long: give up.
const IDLE_MS: u64 = 30_000;

struct Options<'a> {
    out: Option<&'a str>,
    head_only: bool,
    /// The URL's host (an address or a name) and port.
    server: &'a str,
    port: u16,
    /// The Host header: the URL's authority.
    host: &'a str,
    path: &'a str,
}

/// Splits `http://HOST[:PORT][/path]` into host, port, authority and path.
fn parse_url(url: &str) -> Result<(&str, u16, &str, &str), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (server, port) = match authority.split_once(':') {
        Some((server, port)) => (server, args::port(port)?),
        None => (authority, 80),
    };
    if server.is_empty() {
        return Err(format!("{url}: no host"));
    }
    if port == 0 {
        return Err("port 0: cannot connect to port 0".into());
    }
    if !path.bytes().all(|c| c.is_ascii_graphic()) {
        return Err(format!("{path}: spaces or control characters in the path"));
    }
    Ok((server, port, authority, path))
}

fn parse<'a>(argv: &[&'a str]) -> Result<Options<'a>, String> {
    let (mut out, mut head_only, mut url) = (None, false, None);
    let mut i = 1;
    while i < argv.len() {
        match argv[i] {
            "-o" => {
                out = Some(*argv.get(i + 1).ok_or("-o needs a file name")?);
                i += 1;
            }
            "-I" => head_only = true,
            a if a.starts_with('-') => return Err(format!("unknown option {a}")),
            a if url.is_none() => url = Some(a),
            a => return Err(format!("{a}: unexpected argument")),
        }
        i += 1;
    }
    let (server, port, host, path) = parse_url(url.ok_or("missing URL")?)?;
    Ok(Options {
        out,
        head_only,
        server,
        port,
        host,
        path,
    })
}

/// The connection with what was read but not yet used.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
}

impl Conn {
    fn buffered(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Reads more; false at the end of the stream.
    fn fill(&mut self) -> Result<bool, String> {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        let r = self.stream.read(&mut self.buf[old..]);
        let n = match r {
            Ok(n) => n,
            Err(Errno::EAGAIN) => return Err(format!("no data for {} s", IDLE_MS / 1000)),
            Err(e) => return Err(format!("read: {}", e.message())),
        };
        self.buf.truncate(old + n);
        Ok(n > 0)
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
    }

    /// The response head, up to [`MAX_HEAD`] bytes.
    fn head(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if let Some(end) = http::head_end(self.buffered()) {
                let head = self.buffered()[..end].to_vec();
                self.consume(end);
                return Ok(head);
            }
            if self.buffered().len() > MAX_HEAD {
                return Err("response head too long".into());
            }
            if !self.fill()? {
                return Err("connection closed before the response head ended".into());
            }
        }
    }

    /// One line (without its end), at most `max` bytes.
    fn line(&mut self, max: usize) -> Result<Vec<u8>, String> {
        loop {
            if let Some(i) = self.buffered().iter().position(|&c| c == b'\n') {
                let line = self.buffered()[..i].to_vec();
                self.consume(i + 1);
                return Ok(line);
            }
            if self.buffered().len() > max {
                return Err("line too long in a chunked body".into());
            }
            if !self.fill()? {
                return Err("connection closed inside a chunked body".into());
            }
        }
    }

    /// Copies `n` bytes (all of them: `None` up to the end) to `out`.
    fn copy(&mut self, out: Fd, n: Option<u64>) -> Result<u64, String> {
        let mut left = n.unwrap_or(u64::MAX);
        let mut done = 0;
        while left > 0 {
            if self.buffered().is_empty() && !self.fill()? {
                return match n {
                    Some(n) => Err(format!("body ended after {done} of {n} bytes")),
                    None => Ok(done),
                };
            }
            let take = (self.buffered().len() as u64).min(left) as usize;
            sys::write_all(out, &self.buffered()[..take])
                .map_err(|e| format!("write: {}", e.message()))?;
            self.consume(take);
            left -= take as u64;
            done += take as u64;
        }
        Ok(done)
    }

    /// A chunked body (RFC 9112 section 7.1), trailers skipped.
    fn chunked(&mut self, out: Fd) -> Result<(), String> {
        loop {
            let line = self.line(MAX_CHUNK_LINE)?;
            let size = http::parse_chunk_size(&line).map_err(String::from)?;
            if size == 0 {
                break;
            }
            self.copy(out, Some(size))?;
            let end = self.line(MAX_CHUNK_LINE)?;
            if !(end.is_empty() || end == b"\r") {
                return Err("chunk data longer than its size".into());
            }
        }
        for _ in 0..http::MAX_HEADERS {
            let trailer = self.line(MAX_CHUNK_LINE)?;
            if trailer.is_empty() || trailer == b"\r" {
                return Ok(());
            }
        }
        Err("too many trailer lines".into())
    }
}

fn fetch(o: &Options) -> Result<i32, String> {
    let ip = ulib::dns::lookup(o.server).map_err(|e| format!("{}: {e}", o.server))?;
    let peer = SockAddrIn::new(ip, o.port);
    let stream = TcpStream::connect_timeout(peer, IDLE_MS).map_err(|e| match e {
        Errno::EINPROGRESS => format!("connect to {}: timed out", Addr(peer)),
        e => format!("connect to {}: {}", Addr(peer), e.message()),
    })?;
    let method = if o.head_only { "HEAD" } else { "GET" };
    let request = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: xv6net-curl\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        o.path, o.host
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send: {}", e.message()))?;
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        start: 0,
    };
    let head = conn.head()?;
    let resp = http::parse_response(&head).map_err(String::from)?;
    if resp.status >= 400 {
        ulib::eprintln!("curl: {}", resp.status_line);
        return Ok(1);
    }
    let out = match o.out {
        Some(path) => sys::open(path, O_WRONLY | O_CREATE | O_TRUNC)
            .map_err(|e| format!("{path}: {}", e.message()))?,
        None => sys::STDOUT,
    };
    let r = if o.head_only {
        sys::write_all(out, &head).map_err(|e| format!("write: {}", e.message()))
    } else {
        match resp.body {
            Body::Length(n) => conn.copy(out, Some(n)).map(drop),
            Body::Chunked => conn.chunked(out),
            Body::UntilClose => conn.copy(out, None).map(drop),
        }
    };
    if o.out.is_some() {
        let _ = sys::close(out);
    }
    r.map(|_| 0)
}

fn main(argv: &[&str]) -> i32 {
    let o = match parse(argv) {
        Ok(o) => o,
        Err(problem) => return args::bad("curl", &problem, USAGE),
    };
    match fetch(&o) {
        Ok(status) => status,
        Err(e) => {
            ulib::eprintln!("curl: {}", e);
            1
        }
    }
}
