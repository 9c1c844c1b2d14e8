//! dnsd: a small authoritative name server (RFC 1035) over UDP.
//! `dnsd [-p PORT] [-f HOSTS] [NAME=A.B.C.D ...]` answers A queries for
//! the names given as arguments and those of HOSTS, a file in the format
//! of /etc/hosts (`A.B.C.D NAME [ALIAS ...]` a line, `#` comments; lines of
//! IPv6 addresses skipped); any other name is NXDOMAIN. Port 53 unless
//! given. The answers are `ulib::dns::server`'s: built and read with the
//! generated DNS formats. A query it cannot read is refused under the
//! rule it breaks (FORMERR when its header was readable, else no reply)
//! and the server goes on. Each query is printed as it is answered:
//! `dnsd: TYPE NAME from A.B.C.D:PORT: ADDR ...` (or `NXDOMAIN`, or `no A
//! record`), or `dnsd: query from A.B.C.D:PORT: refused (reason)`.
#![no_std]
#![no_main]

extern crate alloc;

use abi::fcntl::O_RDONLY;
use alloc::string::String;
use ulib::dns::server::{self, Reply, Zone, REPLY_MAX};
use ulib::inet::{parse_ip, Addr, Ip};
use ulib::socket::Socket;
use ulib::{args, sys};
use wire::dns::{DnsRcode, PORT};

ulib::entry!(main);

const USAGE: &str = "dnsd [-p PORT] [-f HOSTS] [NAME=A.B.C.D ...]";
/// The longest hosts file read.
const HOSTS_MAX: usize = 16 * 1024;

fn main(argv: &[&str]) -> i32 {
    let mut zone = Zone::new();
    let mut port = PORT;
    let mut rest = &argv[1..];
    while let [flag, value, more @ ..] = rest {
        match *flag {
            "-p" => match args::port(value) {
                Ok(p) => port = p,
                Err(problem) => return args::bad("dnsd", &problem, USAGE),
            },
            "-f" => {
                if let Err(problem) = read_hosts(value, &mut zone) {
                    ulib::eprintln!("dnsd: {value}: {problem}");
                    return 1;
                }
            }
            _ => break,
        }
        rest = more;
    }
    for arg in rest {
        let entry = arg
            .split_once('=')
            .and_then(|(name, ip)| Some((name, parse_ip(ip)?)));
        let Some((name, ip)) = entry else {
            let problem = alloc::format!("{arg}: not NAME=A.B.C.D");
            return args::bad("dnsd", &problem, USAGE);
        };
        if let Err(e) = zone.add(name, ip) {
            let problem = alloc::format!("{name}: not a domain name ({})", e.name());
            return args::bad("dnsd", &problem, USAGE);
        }
    }
    if zone.entries().is_empty() {
        return args::bad("dnsd", "no names to serve", USAGE);
    }
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("dnsd", "socket", e),
    };
    if let Err(e) = sock.bind_port(port) {
        return ulib::fail("dnsd", "bind", e);
    }
    ulib::println!(
        "dnsd: serving {} names on port {port}",
        zone.entries().len()
    );
    for (name, ip) in zone.entries() {
        ulib::println!("dnsd: {name} A {}", Ip(*ip));
    }
    // Room for any datagram, so an over-long query is read whole and refused.
    let mut query = alloc::vec![0u8; u16::MAX as usize];
    let mut reply = [0u8; REPLY_MAX];
    loop {
        let (n, from) = match sock.recv_from(&mut query) {
            Ok(got) => got,
            Err(e) => return ulib::fail("dnsd", "recvfrom", e),
        };
        reply.fill(0);
        match server::answer(&zone, &query[..n], &mut reply) {
            Ok(r) => {
                say(&r, from);
                if let Err(e) = sock.send_to(&reply[..r.len], from) {
                    ulib::fail("dnsd", "sendto", e);
                }
            }
            Err(why) => {
                ulib::println!("dnsd: query from {}: refused ({why}), no reply", Addr(from))
            }
        }
    }
}

/// Prints what the reply to `from` says.
fn say(r: &Reply, from: abi::net::SockAddrIn) {
    let Some((name, qtype)) = &r.question else {
        let why = r.refused.map(|w| alloc::format!("{w}")).unwrap_or_default();
        ulib::println!("dnsd: query from {}: refused ({why})", Addr(from));
        return;
    };
    if r.rcode == DnsRcode::NX_DOMAIN {
        ulib::println!("dnsd: {qtype:?} {name} from {}: NXDOMAIN", Addr(from));
    } else {
        let mut line = alloc::format!("dnsd: {qtype:?} {name} from {}:", Addr(from));
        for ip in &r.addrs {
            line += &alloc::format!(" {}", Ip(*ip));
        }
        if r.addrs.is_empty() {
            line += " no A record";
        }
        ulib::println!("{line}");
    }
}

/// Adds the entries of the hosts file `path` to `zone`.
fn read_hosts(path: &str, zone: &mut Zone) -> Result<(), String> {
    let fd = sys::open(path, O_RDONLY).map_err(|e| String::from(e.message()))?;
    let mut buf = alloc::vec![0u8; HOSTS_MAX];
    let n = sys::read_full(fd, &mut buf);
    let _ = sys::close(fd);
    buf.truncate(n.map_err(|e| String::from(e.message()))?);
    let text = core::str::from_utf8(&buf).map_err(|_| String::from("not text"))?;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(addr) = words.next() else {
            continue;
        };
        if addr.contains(':') {
            continue; // IPv6: not served
        }
        let ip = parse_ip(addr).ok_or_else(|| alloc::format!("{addr}: not an IPv4 address"))?;
        let mut names = 0;
        for name in words {
            zone.add(name, ip)
                .map_err(|e| alloc::format!("{name}: not a domain name ({})", e.name()))?;
            names += 1;
        }
        if names == 0 {
            return Err(alloc::format!("`{line}`: an address and no name"));
        }
    }
    Ok(())
}
