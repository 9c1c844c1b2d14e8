//! nettests: the in-guest network tests. Needs a UDP echo server on the
//! host, reached as 10.0.2.2:PORT through QEMU's user network (the test
//! command starts one). Sends only to 10.0.2.2 and to the guest itself.
//!
//! `nettests [port] [-q] [-v] [name...]` (port 7777 by default). Prints
//! `test NAME: OK` per test and ends with `ALL NETTESTS PASSED` or
//! `SOME NETTESTS FAILED: names`; a test still running after
//! [`LIMIT_S`] seconds is killed and fails. If the kernel has no sockets
//! (socket() gives ENOSYS) it prints `nettests: SKIPPED (no network)`. If
//! nothing echoes at 10.0.2.2:PORT it runs no test, says what it needs,
//! and ends with `NETTESTS NOT RUN: ...` (exit status 1).
#![no_std]
#![no_main]

extern crate alloc;

#[path = "../nettests/abuse.rs"]
mod abuse;
#[path = "../nettests/basic.rs"]
mod basic;
#[path = "../nettests/errors.rs"]
mod errors;
#[path = "../nettests/http.rs"]
mod http;
#[path = "../nettests/load.rs"]
mod load;
#[path = "../nettests/poll.rs"]
mod poll;
#[path = "../nettests/procs.rs"]
mod procs;
#[path = "../nettests/tcp.rs"]
mod tcp;
#[path = "../nettests/tools.rs"]
mod tools;
#[path = "../nettests/util.rs"]
mod util;

use abi::Errno;
use alloc::vec::Vec;
use ulib::inet::Addr;
use ulib::socket::Socket;
use ulib::testing::{run_tests, Test};

ulib::entry!(main);

/// The first two must stay first: they need addresses not yet resolved.
const TESTS: &[Test] = ulib::tests! {
    basic::firstping;
    basic::firstudp;
    basic::roundtrip;
    basic::bigdatagrams;
    basic::sendmany;
    basic::pinggw;
    basic::readwrite;
    basic::twosockets;
    basic::forkshare;
    basic::closeport;
    errors::unreach;
    errors::timeouts;
    errors::rcvbuf;
    errors::killrecv;
    errors::badargs;
    abuse::exhaustion;
    abuse::closedfds;
    load::manyroundtrips;
    load::concurrent;
    load::flood, slow;
    poll::pollbasic;
    poll::pollwake;
    poll::pollerrors;
    poll::polltcp;
    http::httpparse;
    tcp::tcprefused;
    tcp::tcpcalls;
    tcp::tcpslowconnect;
    tcp::tcpkeepalive;
    http::httpfetch;
    tcp::tcpecho32;
    tcp::tcpkill;
    tools::nctcp;
    http::curlchunked;
    tools::bulk;
    tcp::tcpchurn;
    load::resources, inline;
};

/// The longest any one test may take: generous, only a hang reaches it.
const LIMIT_S: u64 = 60;

/// Does the echo server answer? Three tries, a second each. The ARP cache
/// is flushed afterwards: the first tests need the host unresolved.
fn echo_server_answers() -> bool {
    let Ok(s) = util::udp(1000) else {
        return false;
    };
    let answers = (0..3).any(|i| {
        util::echo_once(&s, alloc::format!("nettests probe {i}").as_bytes(), 1000).is_ok()
    });
    let _ = ulib::netinfo::arp_flush();
    answers
}

fn main(args: &[&str]) -> i32 {
    let mut rest: Vec<&str> = Vec::with_capacity(args.len());
    for &a in args {
        match a.parse::<u16>() {
            Ok(p) => util::set_port(p),
            Err(_) => rest.push(a),
        }
    }
    match Socket::udp() {
        Err(Errno::ENOSYS) => {
            ulib::println!("nettests: SKIPPED (no network)");
            return 0;
        }
        Err(e) => ulib::println!("nettests: socket: {} (testing anyway)", e.message()),
        Ok(_) => {}
    }
    if !echo_server_answers() {
        let at = Addr(util::echo_addr());
        ulib::println!(
            "nettests: needs a UDP echo server at {at} (the host's 127.0.0.1:{} through QEMU's user network), and nothing echoes there.",
            util::port()
        );
        ulib::println!(
            "  Start one on the host (`cargo xtask qemu` runs one and prints its port), then: nettests PORT"
        );
        ulib::println!("NETTESTS NOT RUN: no echo server at {at}");
        return 1;
    }
    util::record_resources();
    ulib::println!("nettests starting (echo server 10.0.2.2:{})", util::port());
    run_tests(
        &rest,
        TESTS,
        LIMIT_S,
        "ALL NETTESTS PASSED",
        "SOME NETTESTS FAILED",
    )
}
