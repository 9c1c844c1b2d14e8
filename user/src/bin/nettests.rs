//! nettests: the in-guest network tests. Needs a UDP echo server on the
//! host, reached as 10.0.2.2:PORT through QEMU's user network (the test
//! command starts one). Sends only to 10.0.2.2 and to the guest itself.
//!
//! `nettests [port] [-q] [-v] [name...]` (port 7777 by default). Prints
//! `test NAME: OK` per test and ends with `ALL NETTESTS PASSED` or
//! `SOME NETTESTS FAILED: names`. If the kernel has no sockets (socket()
//! gives ENOSYS) it prints `nettests: SKIPPED (no network)`.
#![no_std]
#![no_main]

extern crate alloc;

#[path = "../nettests/abuse.rs"]
mod abuse;
#[path = "../nettests/basic.rs"]
mod basic;
#[path = "../nettests/errors.rs"]
mod errors;
#[path = "../nettests/load.rs"]
mod load;
#[path = "../nettests/util.rs"]
mod util;

use abi::Errno;
use alloc::vec::Vec;
use ulib::socket::Socket;
use ulib::testing::{run_tests, Test};

ulib::entry!(main);

/// The first two must stay first: they need addresses not yet resolved.
const TESTS: &[Test] = ulib::tests! {
    basic::firstping;
    basic::firstudp;
    basic::roundtrip;
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
    load::resources, inline;
};

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
    util::record_resources();
    ulib::println!("nettests starting (echo server 10.0.2.2:{})", util::port());
    run_tests(&rest, TESTS, "ALL NETTESTS PASSED", "SOME NETTESTS FAILED")
}
