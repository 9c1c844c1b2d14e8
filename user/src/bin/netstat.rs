//! netstat: every open socket, then every counter of the network stack
//! (frames in/out, drops by reason, RX bytes copied, mbufs free/total...).
#![no_std]
#![no_main]

use abi::net::{SOCK_DGRAM, SOCK_ICMP};
use ulib::inet::Addr;
use ulib::netinfo;

ulib::entry!(main);

fn main(_args: &[&str]) -> i32 {
    let mut status = 0;
    match netinfo::sockets() {
        Ok(list) => {
            ulib::println!(
                "Proto {:<21} {:<21} {:>6} {:>8}",
                "Local",
                "Remote",
                "RecvQ",
                "Dropped"
            );
            for s in &list {
                let proto = match s.kind as usize {
                    SOCK_DGRAM => "udp",
                    SOCK_ICMP => "icmp",
                    _ => "?",
                };
                ulib::println!(
                    "{:<5} {:<21} {:<21} {:>6} {:>8}",
                    proto,
                    Addr(s.local),
                    Addr(s.remote),
                    s.rx_queued,
                    s.rx_dropped
                );
            }
        }
        Err(e) => status = ulib::fail("netstat", "socklist", e),
    }
    match netinfo::counters() {
        Ok(list) => {
            ulib::println!("Counters:");
            for c in &list {
                ulib::println!("  {:<32} {}", c.name(), c.value);
            }
        }
        Err(e) => status = ulib::fail("netstat", "netstat", e),
    }
    status
}
