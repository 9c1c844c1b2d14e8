//! HTTP/1.1 (RFC 9112) as `httpd` and `curl` need it: parsing a request
//! head, a response head and a chunk-size line, mapping a request target
//! to a path under a root (never above it), and content types. Every
//! parser takes bytes from the network, so it trusts nothing: sizes are
//! bounded, anything malformed is an error naming what was wrong, and
//! nothing panics.

use alloc::string::String;
use alloc::vec::Vec;

/// The longest request or response head accepted (request line or status
/// line plus headers); longer is refused.
pub const MAX_HEAD: usize = 8192;
/// Headers in one head at most.
pub const MAX_HEADERS: usize = 64;
/// The longest chunk-size line of a chunked body.
pub const MAX_CHUNK_LINE: usize = 256;

/// Where the head ends: the index just past its empty line ("\r\n\r\n",
/// or bare "\n\n", which RFC 9112 lets a recipient accept).
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            let rest = &buf[i + 1..];
            if rest.starts_with(b"\n") {
                return Some(i + 2);
            }
            if rest.starts_with(b"\r\n") {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

/// The lines of a head (without their line ends), up to the empty line.
fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take_while(|l| !l.is_empty())
}

/// RFC 9110's `tchar`: the characters of a token (methods, header names).
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&c| is_tchar(c))
}

/// One header field: its name and its value without surrounding spaces.
/// Refuses a missing colon, a name that is not a token (which includes
/// whitespace before the colon, RFC 9112 section 5.1), and control
/// characters in the value.
fn header(line: &[u8]) -> Result<(&str, &str), &'static str> {
    let colon = line
        .iter()
        .position(|&c| c == b':')
        .ok_or("header line without a colon")?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if !is_token(name) {
        return Err("bad header name");
    }
    if value.iter().any(|&c| (c < b' ' && c != b'\t') || c == 0x7f) {
        return Err("control character in a header value");
    }
    let name = core::str::from_utf8(name).map_err(|_| "bad header name")?;
    let value = core::str::from_utf8(value)
        .map_err(|_| "header value is not UTF-8")?
        .trim_matches([' ', '\t']);
    Ok((name, value))
}

/// The request methods httpd serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
}

/// A parsed request head.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The request target as sent (origin form: starts with '/').
    pub target: String,
    /// Keep the connection open after the response.
    pub keep_alive: bool,
}

/// Why a request was refused, with its status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub why: &'static str,
}

const fn bad(why: &'static str) -> Refusal {
    Refusal { status: 400, why }
}

/// Parses a request head (as [`head_end`] delimits it).
pub fn parse_request(head: &[u8]) -> Result<Request, Refusal> {
    if head.len() > MAX_HEAD {
        return Err(bad("request head too long"));
    }
    let mut lines = lines(head);
    let line = lines.next().ok_or(bad("empty request"))?;
    let mut parts = line.split(|&c| c == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("request line is not METHOD TARGET VERSION"));
    };
    if !is_token(method) {
        return Err(bad("bad method"));
    }
    let http11 = match version {
        b"HTTP/1.1" => true,
        b"HTTP/1.0" => false,
        v if v.starts_with(b"HTTP/") => {
            return Err(Refusal {
                status: 505,
                why: "HTTP version not supported",
            })
        }
        _ => return Err(bad("bad HTTP version")),
    };
    if !target.starts_with(b"/") || !target.iter().all(|&c| c.is_ascii_graphic()) {
        return Err(bad("request target is not an absolute path"));
    }
    let method = match method {
        b"GET" => Method::Get,
        b"HEAD" => Method::Head,
        _ => {
            return Err(Refusal {
                status: 501,
                why: "method not implemented",
            })
        }
    };
    let mut keep_alive = http11;
    let mut host = false;
    for (n, line) in lines.enumerate() {
        if n >= MAX_HEADERS {
            return Err(bad("too many headers"));
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(bad("obsolete line folding"));
        }
        let (name, value) = header(line).map_err(bad)?;
        if name.eq_ignore_ascii_case("host") {
            if host {
                return Err(bad("two Host headers"));
            }
            host = true;
        } else if name.eq_ignore_ascii_case("connection") {
            for opt in value.split(',').map(|o| o.trim()) {
                if opt.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if opt.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            || (name.eq_ignore_ascii_case("content-length") && value != "0")
        {
            return Err(bad("a GET or HEAD request with a body"));
        }
    }
    if http11 && !host {
        return Err(bad("HTTP/1.1 request without Host"));
    }
    let target = core::str::from_utf8(target).map_err(|_| bad("bad target"))?;
    Ok(Request {
        method,
        target: String::from(target),
        keep_alive,
    })
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes %XX escapes; refuses a bad escape and a NUL.
pub fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = if b[i] == b'%' {
            let hi = hex_value(*b.get(i + 1)?)?;
            let lo = hex_value(*b.get(i + 2)?)?;
            i += 3;
            hi << 4 | lo
        } else {
            i += 1;
            b[i - 1]
        };
        if c == 0 {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

/// The file a request target names under `root`: the query dropped,
/// escapes decoded, "." segments skipped. `None` when a ".." segment
/// would climb (httpd refuses any), or the path is not valid.
pub fn target_path(root: &str, target: &str) -> Option<String> {
    let path = target.split(['?', '#']).next()?;
    let decoded = String::from_utf8(percent_decode(path)?).ok()?;
    let mut out = String::from(root.trim_end_matches('/'));
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => return None,
            s => {
                out.push('/');
                out.push_str(s);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

/// The Content-Type for a file name, by its extension.
pub fn content_type(name: &str) -> &'static str {
    let ext = match name.rsplit_once('.') {
        Some((_, e)) if !e.contains('/') => e,
        _ => "",
    };
    const TYPES: &[(&str, &str)] = &[
        ("html", "text/html; charset=utf-8"),
        ("htm", "text/html; charset=utf-8"),
        ("txt", "text/plain; charset=utf-8"),
        ("md", "text/markdown; charset=utf-8"),
        ("rs", "text/plain; charset=utf-8"),
        ("css", "text/css"),
        ("js", "text/javascript"),
        ("json", "application/json"),
        ("png", "image/png"),
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("gif", "image/gif"),
        ("svg", "image/svg+xml"),
        ("pdf", "application/pdf"),
    ];
    TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map_or("application/octet-stream", |(_, t)| t)
}

/// The reason phrase of the status codes httpd sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// How a response's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// Content-Length bytes.
    Length(u64),
    /// Transfer-Encoding: chunked.
    Chunked,
    /// Until the connection closes.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The status line as received, for messages.
    pub status_line: String,
    pub body: Body,
}

/// Parses a response head (as [`head_end`] delimits it).
pub fn parse_response(head: &[u8]) -> Result<Response, &'static str> {
    if head.len() > MAX_HEAD {
        return Err("response head too long");
    }
    let mut lines = lines(head);
    let line = lines.next().ok_or("empty response")?;
    let status_line = core::str::from_utf8(line).map_err(|_| "status line is not UTF-8")?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err("not an HTTP/1.x status line");
    }
    let code = parts.next().unwrap_or("");
    if code.len() != 3 || !code.bytes().all(|c| c.is_ascii_digit()) {
        return Err("bad status code");
    }
    let status: u16 = code.parse().map_err(|_| "bad status code")?;
    if !(100..=599).contains(&status) {
        return Err("bad status code");
    }
    let mut body = Body::UntilClose;
    let mut length = None;
    for (n, line) in lines.enumerate() {
        if n >= MAX_HEADERS {
            return Err("too many headers");
        }
        let (name, value) = header(line)?;
        if name.eq_ignore_ascii_case("transfer-encoding") {
            let last = value.rsplit(',').next().unwrap_or("").trim();
            if !last.eq_ignore_ascii_case("chunked") {
                return Err("unsupported transfer coding");
            }
            body = Body::Chunked;
        } else if name.eq_ignore_ascii_case("content-length") {
            if value.is_empty() || value.len() > 19 || !value.bytes().all(|c| c.is_ascii_digit()) {
                return Err("bad Content-Length");
            }
            let v: u64 = value.parse().map_err(|_| "bad Content-Length")?;
            if length.is_some_and(|l| l != v) {
                return Err("conflicting Content-Length headers");
            }
            length = Some(v);
        }
    }
    // Chunked wins over a length (RFC 9112 section 6.3).
    if let (Some(l), false) = (length, body == Body::Chunked) {
        body = Body::Length(l);
    }
    Ok(Response {
        status,
        status_line: String::from(status_line),
        body,
    })
}

/// The size in a chunk-size line (hex, then optional ";extensions").
pub fn parse_chunk_size(line: &[u8]) -> Result<u64, &'static str> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let end = line.iter().position(|&c| c == b';').unwrap_or(line.len());
    let digits = line[..end].trim_ascii_end();
    if digits.is_empty() || digits.len() > 15 {
        return Err("bad chunk size");
    }
    let mut n = 0u64;
    for &c in digits {
        n = n << 4 | hex_value(c).ok_or("bad chunk size")? as u64;
    }
    Ok(n)
}
