//! arp: shows the ARP cache; `arp <ip>` resolves an address and prints its
//! MAC; `arp -d` forgets every entry.
#![no_std]
#![no_main]

extern crate alloc;

use abi::net::ArpEntry;
use ulib::inet::{Ip, Mac};
use ulib::{args, netinfo, sys};

ulib::entry!(main);

const USAGE: &str = "arp [-d | ip]";

fn show(list: &[ArpEntry]) {
    ulib::println!(
        "{:<15}  {:<17}  {:<8}  {:>6}  {:>6}",
        "Address",
        "HWaddress",
        "State",
        "TTL(s)",
        "Queued"
    );
    for e in list {
        let state = if e.resolved != 0 {
            "resolved"
        } else {
            "pending"
        };
        ulib::println!(
            "{:<15}  {:<17}  {:<8}  {:>6}  {:>6}",
            Ip(e.ip),
            Mac(e.mac),
            state,
            e.ttl_ticks / abi::syscall::TICK_HZ,
            e.queued
        );
    }
}

fn resolve(ip: [u8; 4]) -> i32 {
    if let Err(e) = netinfo::arp_resolve(ip) {
        let why = if e == abi::Errno::EHOSTUNREACH {
            "not a host on the local subnet (ARP only reaches those)"
        } else {
            e.message()
        };
        ulib::eprintln!("arp: {}: {}", Ip(ip), why);
        return 1;
    }
    // The kernel may answer at once or only send a request: watch the cache.
    let deadline = sys::uptime() + 3 * abi::syscall::TICK_HZ;
    loop {
        match netinfo::arp_list() {
            Ok(list) => {
                if let Some(e) = list.iter().find(|e| e.ip == ip && e.resolved != 0) {
                    ulib::println!("{} is at {}", Ip(ip), Mac(e.mac));
                    return 0;
                }
            }
            Err(e) => return ulib::fail("arp", "list", e),
        }
        if sys::uptime() >= deadline {
            ulib::eprintln!("arp: {}: no answer within 3 s", Ip(ip));
            return 1;
        }
        let _ = sys::sleep(5);
    }
}

fn main(argv: &[&str]) -> i32 {
    match &argv[1..] {
        [] => match netinfo::arp_list() {
            Ok(list) => {
                show(&list);
                0
            }
            Err(e) => ulib::fail("arp", "list", e),
        },
        ["-d"] => match netinfo::arp_flush() {
            Ok(n) => {
                ulib::println!("{} {} flushed", n, if n == 1 { "entry" } else { "entries" });
                0
            }
            Err(e) => ulib::fail("arp", "flush", e),
        },
        [a] if a.starts_with('-') => args::bad("arp", &alloc::format!("unknown option {a}"), USAGE),
        [a] => match args::ip(a) {
            Ok(ip) => resolve(ip),
            Err(problem) => args::bad("arp", &problem, USAGE),
        },
        [_, extra, ..] => args::bad(
            "arp",
            &alloc::format!("{extra}: unexpected argument"),
            USAGE,
        ),
    }
}
