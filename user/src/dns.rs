//! A stub resolver (RFC 1035, section 7; RFC 1123, section 6.1.3): a
//! name's IPv4 addresses from a recursive name server.
//!
//! [`lookup`] takes a dotted address as it is (no query); otherwise it asks
//! each name server for the name's A records over UDP, `TRIES` rounds with
//! a timeout each (a lost query or reply is asked again), follows the CNAME
//! chain in the reply (at most [`message::MAX_CNAMES`] links), and when the
//! server truncated the reply (TC) asks the same server again over TCP, as
//! real resolvers do. A reply that breaks a rule of `proto-defs/dns.toml`
//! (a compression loop, a pointer out of range, an over-long name, a bad
//! length) is refused under that rule's name, as is a name that does not
//! exist (NXDOMAIN). Each query, reply and refusal is counted
//! ([`stats`]; `host -v` prints the counters).
//!
//! The name servers: the `nameserver` lines of `/etc/resolv.conf` (at most
//! three) if it names any, else the interface's DNS server (`ifconfig`,
//! from DHCP). Our
//! extension to resolv.conf: `nameserver A.B.C.D:PORT` names a server on
//! another port than 53 (tests run theirs on an unprivileged port).
//!
//! The other side, for `dnsd`: [`server`] answers queries from a table of
//! names.

pub mod message;
pub mod server;
pub mod stats;

use crate::inet::{parse_ip, parse_sockaddr};
use crate::socket::Socket;
use crate::tcp::TcpStream;
use crate::time::now_us;
use crate::{netinfo, sys};
use abi::net::SockAddrIn;
use abi::Errno;
use alloc::vec::Vec;
use core::fmt;
use message::{Answer, ReplyError, QUERY_MAX};
use stats::Event;
use wire::dns::{DnsError, PORT, UDP_MAX};

pub use message::MAX_CNAMES;

/// Where the name servers are listed.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
/// Name servers read from resolv.conf at most (as glibc's MAXNS).
const MAX_SERVERS: usize = 3;
/// Rounds over the servers before giving up.
const TRIES: u32 = 3;
/// How long one query waits for its reply: RFC 1123 (section 6.1.3.3)
/// asks for a timeout of a few seconds; the second and later rounds wait
/// twice as long.
const TIMEOUT_MS: u64 = 1000;
/// The longest reply read over TCP (its two-byte length allows 65,535).
const TCP_MAX: usize = u16::MAX as usize;

/// Why a name has no address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// No resolv.conf and the interface has no name server.
    NoServer,
    /// Digits and dots only, but no IPv4 address (`999.1.1.1`): no top-level
    /// domain is all digits (RFC 3696, section 2), so it is not asked for.
    NotAnAddress,
    /// A line of resolv.conf that names no server.
    BadConfig(alloc::string::String),
    /// The name cannot be asked for: the rule it breaks.
    BadName(DnsError),
    /// What the reply said (NXDOMAIN, malformed, no A record, ...).
    Reply(ReplyError),
    /// No server answered in `TRIES` rounds.
    Timeout,
    /// Sending, or the TCP connection after a truncated reply, failed.
    Net(Errno),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::NoServer => write!(
                f,
                "no name server: no {RESOLV_CONF} and the interface has none"
            ),
            ResolveError::NotAnAddress => f.write_str("not an IPv4 address"),
            ResolveError::BadConfig(line) => write!(f, "{RESOLV_CONF}: bad line `{line}`"),
            ResolveError::BadName(e) => write!(f, "not a domain name ({})", e.name()),
            ResolveError::Reply(e) => e.fmt(f),
            ResolveError::Timeout => write!(f, "no reply from the name server ({TRIES} tries)"),
            ResolveError::Net(e) => f.write_str(e.message()),
        }
    }
}

/// A name's addresses, and how they were found.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub answer: Answer,
    /// The server that answered, and whether over TCP (after a truncated reply).
    pub server: SockAddrIn,
    pub tcp: bool,
}

/// The first IPv4 address of `name` (a dotted address is itself).
pub fn lookup(name: &str) -> Result<[u8; 4], ResolveError> {
    if let Some(ip) = parse_ip(name) {
        return Ok(ip);
    }
    if name.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return Err(ResolveError::NotAnAddress);
    }
    let resolved = resolve(name, &servers()?)?;
    Ok(resolved.answer.addrs[0])
}

/// The name servers to ask: resolv.conf's if it names any, else the
/// interface's.
pub fn servers() -> Result<Vec<SockAddrIn>, ResolveError> {
    if let Some(text) = read_resolv_conf() {
        let list = parse_resolv_conf(&text)?;
        if !list.is_empty() {
            return Ok(list);
        }
    }
    match netinfo::get_ifconfig() {
        Ok(cfg) if cfg.dns != [0; 4] => Ok(alloc::vec![SockAddrIn::new(cfg.dns, PORT)]),
        _ => Err(ResolveError::NoServer),
    }
}

/// resolv.conf's text, if the file exists.
fn read_resolv_conf() -> Option<alloc::string::String> {
    let fd = sys::open(RESOLV_CONF, abi::fcntl::O_RDONLY).ok()?;
    let mut buf = alloc::vec![0u8; 1024];
    let n = sys::read_full(fd, &mut buf);
    let _ = sys::close(fd);
    buf.truncate(n.ok()?);
    alloc::string::String::from_utf8(buf).ok()
}

/// The `nameserver` lines (`A.B.C.D`, or `A.B.C.D:PORT`, our extension);
/// comments (`#`, `;`) and the other keywords (`search`, `options`, ...)
/// are skipped.
pub fn parse_resolv_conf(text: &str) -> Result<Vec<SockAddrIn>, ResolveError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        let server = words.next().and_then(|w| {
            parse_ip(w)
                .map(|ip| SockAddrIn::new(ip, PORT))
                .or_else(|| parse_sockaddr(w))
        });
        match server {
            Some(s) if out.len() < MAX_SERVERS => out.push(s),
            Some(_) => {}
            None => return Err(ResolveError::BadConfig(line.into())),
        }
    }
    Ok(out)
}

/// Asks `servers` for `name`'s A records (see the module doc).
pub fn resolve(name: &str, servers: &[SockAddrIn]) -> Result<Resolved, ResolveError> {
    let mut query = [0u8; QUERY_MAX];
    let id = query_id();
    let len = message::query(id, name, &mut query).map_err(ResolveError::BadName)?;
    let query = &query[..len];
    let mut last = ResolveError::Timeout;
    for round in 0..TRIES {
        let timeout = if round == 0 {
            TIMEOUT_MS
        } else {
            2 * TIMEOUT_MS
        };
        for &server in servers {
            match ask_udp(server, query, id, name, timeout) {
                Ok(answer) => {
                    return Ok(Resolved {
                        answer,
                        server,
                        tcp: false,
                    })
                }
                Err(ResolveError::Reply(ReplyError::Truncated)) => {
                    let answer = ask_tcp(server, query, id, name).inspect_err(|e| {
                        if *e == ResolveError::Timeout {
                            stats::count(Event::Timeout);
                        }
                    })?;
                    return Ok(Resolved {
                        answer,
                        server,
                        tcp: true,
                    });
                }
                // No reply: the next server, or the next round.
                Err(ResolveError::Timeout) => stats::count(Event::Timeout),
                // A server that cannot be reached: the next one.
                Err(e @ ResolveError::Net(_)) => last = e,
                Err(e) => return Err(e),
            }
        }
    }
    Err(last)
}

/// One query over UDP, waiting `timeout_ms` for its reply; datagrams that
/// are not (another id, another question) are skipped.
fn ask_udp(
    server: SockAddrIn,
    query: &[u8],
    id: u16,
    name: &str,
    timeout_ms: u64,
) -> Result<Answer, ResolveError> {
    let sock = Socket::udp().map_err(ResolveError::Net)?;
    // Connected: the kernel passes up only datagrams from the server.
    sock.connect(server).map_err(ResolveError::Net)?;
    sock.send(query).map_err(ResolveError::Net)?;
    stats::count(Event::QueryUdp);
    let deadline = now_us() + timeout_ms * 1000;
    let mut buf = [0u8; UDP_MAX as usize];
    loop {
        let left_ms = deadline.saturating_sub(now_us()) / 1000;
        if left_ms == 0 {
            return Err(ResolveError::Timeout);
        }
        sock.set_timeout(left_ms).map_err(ResolveError::Net)?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(Errno::EAGAIN) => return Err(ResolveError::Timeout),
            Err(e) => return Err(ResolveError::Net(e)),
        };
        let reply = message::read_reply(&buf[..n], id, name);
        stats::count_reply(&reply);
        match reply {
            Err(ReplyError::NotOurs) => continue,
            other => return other.map_err(ResolveError::Reply),
        }
    }
}

/// The same query over TCP, each message behind its two-byte length
/// (RFC 1035, section 4.2.2).
fn ask_tcp(server: SockAddrIn, query: &[u8], id: u16, name: &str) -> Result<Answer, ResolveError> {
    let net = |e| match e {
        Errno::EAGAIN => ResolveError::Timeout,
        e => ResolveError::Net(e),
    };
    let stream = TcpStream::connect_timeout(server, 2 * TIMEOUT_MS).map_err(net)?;
    let len = u16::try_from(query.len()).map_err(|_| net(Errno::EINVAL))?;
    stream.write_all(&len.to_be_bytes()).map_err(net)?;
    stream.write_all(query).map_err(net)?;
    stats::count(Event::QueryTcp);
    let mut len = [0u8; 2];
    if stream.read_full(&mut len).map_err(net)? != len.len() {
        return Err(ResolveError::Timeout);
    }
    let len = usize::from(u16::from_be_bytes(len)).min(TCP_MAX);
    let mut reply = alloc::vec![0u8; len];
    let read = stream.read_full(&mut reply).map_err(net)?;
    let reply = if read == len {
        message::read_reply(&reply, id, name)
    } else {
        // The connection closed inside the message its length announced.
        Err(ReplyError::Malformed(DnsError::TooShort))
    };
    stats::count_reply(&reply);
    reply.map_err(ResolveError::Reply)
}

/// A query id hard to guess from outside (RFC 5452): the clock's low bits
/// mixed with the process id.
fn query_id() -> u16 {
    let t = now_us();
    let mixed = t ^ (t >> 16) ^ (t >> 32) ^ (sys::getpid() as u64).wrapping_mul(0x9e37_79b9);
    mixed as u16
}

/// [`lookup`] for a program's argument: on failure prints
/// "prog: name: why" and gives the exit status 1.
pub fn lookup_for(prog: &str, name: &str) -> Result<[u8; 4], i32> {
    lookup(name).map_err(|e| {
        crate::eprintln!("{prog}: {name}: {e}");
        1
    })
}
