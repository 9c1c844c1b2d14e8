//! udpcheck: sends one datagram of each size to a UDP echo server and
//! checks that each comes back byte for byte (datagrams longer than a frame
//! travel as IPv4 fragments both ways). `udpcheck <ip> <port> <size>...`
//! (sizes up to 65507) prints `echoed N bytes` per size, or what went
//! wrong; the exit status is 0 only when every size came back.
#![no_std]
#![no_main]

extern crate alloc;
use abi::net::SockAddrIn;
use alloc::vec;
use ulib::inet::{parse_ip, parse_port, Addr};
use ulib::socket::Socket;

ulib::entry!(main);

const USAGE: &str = "usage: udpcheck <ip> <port> <size 1..65507>...";
/// The longest UDP payload an IPv4 datagram carries.
const MAX_SIZE: usize = 65_507;
/// How long to wait for each echo, and how many times to send.
const WAIT_MS: u64 = 3_000;
const TRIES: usize = 3;

fn main(args: &[&str]) -> i32 {
    let ip = args.get(1).and_then(|a| parse_ip(a));
    let port = args.get(2).and_then(|a| parse_port(a));
    let sizes: Option<vec::Vec<usize>> = args
        .get(3..)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.iter()
                .map(|a| {
                    a.parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_SIZE).contains(n))
                })
                .collect()
        })
        .and_then(|v: vec::Vec<Option<usize>>| v.into_iter().collect());
    let (Some(ip), Some(port), Some(sizes)) = (ip, port, sizes) else {
        ulib::eprintln!("{}", USAGE);
        return 2;
    };
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("udpcheck", "socket", e),
    };
    if let Err(e) = sock.set_timeout(WAIT_MS) {
        return ulib::fail("udpcheck", "set_timeout", e);
    }
    let to = SockAddrIn::new(ip, port);
    let mut back = vec![0u8; MAX_SIZE + 1];
    let mut status = 0;
    for (k, &size) in sizes.iter().enumerate() {
        // Bytes that show where they belong, different for each size.
        let msg: vec::Vec<u8> = (0..size).map(|i| (i * 31 + i / 256 + k) as u8).collect();
        let mut echoed = false;
        for _ in 0..TRIES {
            if let Err(e) = sock.send_to(&msg, to) {
                status = ulib::fail("udpcheck", "sendto", e);
                break;
            }
            // Skip stale echoes of an earlier try or size.
            while let Ok((n, from)) = sock.recv_from(&mut back) {
                if from == to && back[..n] == msg[..] {
                    echoed = true;
                    break;
                }
            }
            if echoed {
                break;
            }
        }
        if echoed {
            ulib::println!("echoed {} bytes", size);
        } else {
            ulib::println!("udpcheck: no echo of {} bytes from {}", size, Addr(to));
            status = 1;
        }
    }
    status
}
