//! host: looks a name up. `host [-v] NAME [SERVER[:PORT]]` prints the CNAME
//! chain that leads to NAME's canonical name and its IPv4 addresses, as
//! BIND's `host` does; SERVER (port 53 unless given) replaces the name
//! servers of /etc/resolv.conf or the interface. A dotted address is
//! printed as it is, without a query. Exit status 1 when NAME has no
//! address (no such name, a malformed or truncated reply that TCP could
//! not complete, no reply). `-v` then prints the resolver's counters
//! (`ulib::dns::stats`), every one, zero or not, one `  name value` line
//! each after `;; resolver counters:`: the queries sent, the replies
//! used, and each reply refused, under its reason.
#![no_std]
#![no_main]

extern crate alloc;

use abi::net::SockAddrIn;
use ulib::args;
use ulib::dns::{self, ResolveError};
use ulib::inet::{parse_ip, parse_sockaddr, Addr, Ip};

ulib::entry!(main);

const USAGE: &str = "host [-v] NAME [SERVER[:PORT]]";

fn server(arg: &str) -> Result<SockAddrIn, alloc::string::String> {
    parse_ip(arg)
        .map(|ip| SockAddrIn::new(ip, wire::dns::PORT))
        .or_else(|| parse_sockaddr(arg))
        .ok_or_else(|| alloc::format!("{arg}: not a server address (A.B.C.D or A.B.C.D:PORT)"))
}

fn main(argv: &[&str]) -> i32 {
    let (verbose, rest) = match argv.get(1) {
        Some(&"-v") => (true, &argv[2..]),
        _ => (false, argv.get(1..).unwrap_or(&[])),
    };
    let status = lookup(rest);
    if verbose {
        ulib::println!(";; resolver counters:");
        for (name, value) in dns::stats::counters() {
            ulib::println!("  {name} {value}");
        }
    }
    status
}

/// Looks `NAME [SERVER]` up and prints what it found; the exit status.
fn lookup(rest: &[&str]) -> i32 {
    let (name, servers) = match rest {
        [name] => (*name, None),
        [name, s] => match server(s) {
            Ok(s) => (*name, Some(alloc::vec![s])),
            Err(problem) => return args::bad("host", &problem, USAGE),
        },
        _ => return args::bad("host", "one name, and at most one server", USAGE),
    };
    if let Some(ip) = parse_ip(name) {
        ulib::println!("{name} has address {}", Ip(ip));
        return 0;
    }
    let servers = match servers.map_or_else(dns::servers, Ok) {
        Ok(s) => s,
        Err(e) => return say(name, &e),
    };
    match dns::resolve(name, &servers) {
        Ok(r) => {
            if r.tcp {
                ulib::println!(
                    ";; truncated reply from {}, asked again over TCP",
                    Addr(r.server)
                );
            }
            for (alias, target) in &r.answer.cnames {
                ulib::println!("{alias} is an alias for {target}.");
            }
            for ip in &r.answer.addrs {
                ulib::println!("{} has address {}", r.answer.canonical, Ip(*ip));
            }
            0
        }
        Err(e) => say(name, &e),
    }
}

fn say(name: &str, e: &ResolveError) -> i32 {
    ulib::eprintln!("host: {name}: {e}");
    1
}
