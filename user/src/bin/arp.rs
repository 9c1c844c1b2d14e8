//! arp: shows the ARP cache; `arp <ip>` resolves an address and prints its
//! MAC; `arp -d` forgets every entry.
#![no_std]
#![no_main]

use abi::net::ArpEntry;
use ulib::inet::{parse_ip, Ip, Mac};
use ulib::{netinfo, sys};

ulib::entry!(main);

fn show(list: &[ArpEntry]) {
    ulib::println!(
        "{:<16} {:<18} {:<9} {:>7} {:>6}",
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
            "{:<16} {:<18} {:<9} {:>7} {:>6}",
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
        return ulib::fail("arp", "resolve", e);
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
            ulib::eprintln!("arp: {}: no answer", Ip(ip));
            return 1;
        }
        let _ = sys::sleep(5);
    }
}

fn main(args: &[&str]) -> i32 {
    match args.get(1) {
        None => match netinfo::arp_list() {
            Ok(list) => {
                show(&list);
                0
            }
            Err(e) => ulib::fail("arp", "list", e),
        },
        Some(&"-d") => match netinfo::arp_flush() {
            Ok(n) => {
                ulib::println!("{} entries flushed", n);
                0
            }
            Err(e) => ulib::fail("arp", "flush", e),
        },
        Some(a) => match parse_ip(a) {
            Some(ip) => resolve(ip),
            None => {
                ulib::eprintln!("usage: arp [-d | ip]");
                2
            }
        },
    }
}
