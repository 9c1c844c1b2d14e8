//! udpblast: sends a stream of datagrams as fast as it can, for the
//! benchmark. `udpblast <ip> <port> <count> <size>`: the first 4 bytes of
//! each are its sequence number (little-endian). Prints `sent N`.
#![no_std]
#![no_main]

extern crate alloc;
use abi::net::SockAddrIn;
use abi::Errno;
use alloc::vec;
use ulib::inet::{parse_ip, parse_port};
use ulib::socket::Socket;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let ip = args.get(1).and_then(|a| parse_ip(a));
    let port = args.get(2).and_then(|a| parse_port(a));
    let count = args.get(3).and_then(|a| a.parse::<u32>().ok());
    let size = args
        .get(4)
        .and_then(|a| a.parse::<usize>().ok())
        .filter(|&s| (4..=1472).contains(&s));
    let (Some(ip), Some(port), Some(count), Some(size)) = (ip, port, count, size) else {
        ulib::eprintln!("usage: udpblast <ip> <port> <count> <size 4..1472>");
        return 2;
    };
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("udpblast", "socket", e),
    };
    let to = SockAddrIn::new(ip, port);
    let mut buf = vec![0u8; size];
    let mut sent = 0u32;
    let mut status = 0;
    for seq in 0..count {
        buf[..4].copy_from_slice(&seq.to_le_bytes());
        loop {
            match sock.send_to(&buf, to) {
                Ok(_) => {
                    sent += 1;
                    break;
                }
                // Out of buffers: let the driver drain and try again.
                Err(Errno::ENOBUFS) | Err(Errno::EAGAIN) => {
                    let _ = ulib::sys::sleep(0);
                }
                Err(e) => {
                    status = ulib::fail("udpblast", "sendto", e);
                    break;
                }
            }
        }
    }
    ulib::println!("sent {}", sent);
    status
}
