//! ping: ICMP echo through a SOCK_ICMP socket, like ping(8).
//! `ping [-c count] [-i interval_ms] [-s size] <ip>` (count 4, 1000 ms, 56
//! bytes by default). Per reply: size, sequence and round-trip time in
//! milliseconds (from the `time` counter, to the microsecond); then a
//! summary. Exit status 0 if any reply came back. The echo request is built
//! with the generated `wire::icmpv4` structs; the kernel sets the
//! identifier to the socket's and fills the checksum.
#![no_std]
#![no_main]

extern crate alloc;
use abi::syscall::TICK_HZ;
use abi::Errno;
use alloc::vec;
use alloc::vec::Vec;
use ulib::echo;
use ulib::inet::{parse_ip, Ip};
use ulib::socket::Socket;
use ulib::sys;
use ulib::time::{now_us, Millis};

ulib::entry!(main);

const MS_PER_TICK: u64 = 1000 / TICK_HZ;

fn usage() -> i32 {
    ulib::eprintln!("usage: ping [-c count] [-i interval_ms] [-s size] <ip>");
    2
}

fn main(args: &[&str]) -> i32 {
    let (mut count, mut interval, mut size, mut dest) = (4u32, 1000u64, 56usize, None);
    let mut it = args.iter().skip(1);
    while let Some(&a) = it.next() {
        let mut num = |max: u64| {
            it.next()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|&v| v <= max)
        };
        match a {
            "-c" => match num(1_000_000) {
                Some(v) => count = v as u32,
                None => return usage(),
            },
            "-i" => match num(60_000) {
                Some(v) => interval = v,
                None => return usage(),
            },
            "-s" => match num(1472 - 8) {
                Some(v) => size = v as usize,
                None => return usage(),
            },
            _ => match parse_ip(a) {
                Some(ip) if dest.is_none() => dest = Some(ip),
                _ => return usage(),
            },
        }
    }
    let Some(dest) = dest else { return usage() };
    let sock = match Socket::icmp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("ping", "socket", e),
    };
    let to = abi::net::SockAddrIn::new(dest, 0);
    let data: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let mut reply = vec![0u8; echo::ECHO_HEADER_LEN + size + 64];
    ulib::println!("PING {} {} data bytes", Ip(dest), size);

    let (mut sent, mut received) = (0u32, 0u32);
    let (mut min, mut max, mut sum) = (u64::MAX, 0u64, 0u64);
    let start = sys::uptime();
    for seq in 1..=count {
        let pkt = echo::request(seq as u16, &data);
        let t0 = sys::uptime();
        let t0_us = now_us();
        match sock.send_to(&pkt, to) {
            Ok(_) => sent += 1,
            Err(e) => {
                ulib::fail("ping", "sendto", e);
                continue;
            }
        }
        // Wait for this reply until the interval (at least 1 s) is over.
        let wait_ms = interval.max(1000);
        loop {
            let waited = (sys::uptime() - t0) * MS_PER_TICK;
            if waited >= wait_ms {
                break;
            }
            let _ = sock.set_timeout(wait_ms - waited);
            match sock.recv_from(&mut reply) {
                Ok((n, from)) => {
                    let msg = &reply[..n];
                    if echo::parse_reply(msg).is_none_or(|(s, _)| s != seq as u16) {
                        continue; // not the reply we wait for
                    }
                    let rtt = now_us() - t0_us;
                    received += 1;
                    (min, max, sum) = (min.min(rtt), max.max(rtt), sum + rtt);
                    ulib::println!(
                        "{} bytes from {}: icmp_seq={} time={} ms",
                        msg.len(),
                        Ip(from.addr_be),
                        seq,
                        Millis(rtt)
                    );
                    break;
                }
                Err(Errno::ETIMEDOUT) | Err(Errno::EAGAIN) => break,
                Err(e) => {
                    ulib::fail("ping", "recvfrom", e);
                    break;
                }
            }
        }
        if seq < count {
            let elapsed = (sys::uptime() - t0) * MS_PER_TICK;
            if elapsed < interval {
                let _ = sys::sleep(((interval - elapsed) / MS_PER_TICK) as usize);
            }
        }
    }
    let total_ms = (sys::uptime() - start) * MS_PER_TICK;
    let loss = ((sent - received) * 100).checked_div(sent).unwrap_or(100);
    ulib::println!("--- {} ping statistics ---", Ip(dest));
    ulib::println!(
        "{} packets transmitted, {} received, {}% packet loss, time {}ms",
        sent,
        received,
        loss,
        total_ms
    );
    if received > 0 {
        ulib::println!(
            "rtt min/avg/max = {}/{}/{} ms",
            Millis(min),
            Millis(sum / received as u64),
            Millis(max)
        );
        0
    } else {
        1
    }
}
