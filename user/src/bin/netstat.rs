//! netstat: every open socket, then every counter of the network stack
//! (frames in/out, drops by reason, RX bytes copied, mbufs free/total...).
//! `netstat -t`: the kernel's receive-path profile, stage by stage.
#![no_std]
#![no_main]

extern crate alloc;

use abi::net::{SOCK_DGRAM, SOCK_ICMP};
use ulib::inet::Addr;
use ulib::netinfo;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    if args.get(1) == Some(&"-t") {
        return profile();
    }
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

/// The `rxprof_<stage>_{n,us,max_us}` counters as one line per stage.
fn profile() -> i32 {
    let list = match netinfo::counters() {
        Ok(l) => l,
        Err(e) => return ulib::fail("netstat", "netstat", e),
    };
    let get = |name: &str| list.iter().find(|c| c.name() == name).map(|c| c.value);
    ulib::println!(
        "{:<16} {:>10} {:>10} {:>10}",
        "stage",
        "datagrams",
        "mean_us",
        "max_us"
    );
    for stage in [
        "irq_to_stack",
        "stack_to_queue",
        "queue_to_recv",
        "recv_to_user",
    ] {
        let field = |suffix: &str| get(&alloc::format!("rxprof_{stage}_{suffix}")).unwrap_or(0);
        let n = field("n");
        ulib::println!(
            "{:<16} {:>10} {:>10} {:>10}",
            stage,
            n,
            field("us") / n.max(1),
            field("max_us")
        );
    }
    0
}
