//! udpblast: sends a stream of datagrams as fast as it can, for the
//! benchmark. `udpblast <ip> <port> <count> <size> [batch]`: the first 4
//! bytes of each are its sequence number (little-endian). With `batch` > 1
//! (the default, 32) it hands the kernel that many datagrams per
//! `sendmmsg`, as a bulk sender would; `batch` 1 calls `sendto` for each.
//! Prints `sent N`.
#![no_std]
#![no_main]

extern crate alloc;
use abi::net::{SockAddrIn, MAX_MMSG};
use abi::Errno;
use alloc::vec;
use alloc::vec::Vec;
use ulib::inet::{parse_ip, parse_port};
use ulib::socket::Socket;

ulib::entry!(main);

const USAGE: &str = "usage: udpblast <ip> <port> <count> <size 4..1472> [batch 1..64]";

fn main(args: &[&str]) -> i32 {
    let ip = args.get(1).and_then(|a| parse_ip(a));
    let port = args.get(2).and_then(|a| parse_port(a));
    let count = args.get(3).and_then(|a| a.parse::<u32>().ok());
    let size = args
        .get(4)
        .and_then(|a| a.parse::<usize>().ok())
        .filter(|&s| (4..=1472).contains(&s));
    let batch = match args.get(5) {
        None => Some(32),
        Some(a) => a
            .parse::<usize>()
            .ok()
            .filter(|b| (1..=MAX_MMSG).contains(b)),
    };
    let (Some(ip), Some(port), Some(count), Some(size), Some(batch)) =
        (ip, port, count, size, batch)
    else {
        ulib::eprintln!("{}", USAGE);
        return 2;
    };
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("udpblast", "socket", e),
    };
    let to = SockAddrIn::new(ip, port);
    let mut bufs: Vec<Vec<u8>> = (0..batch).map(|_| vec![0u8; size]).collect();
    let mut sent = 0u32;
    while sent < count {
        let n = (count - sent).min(batch as u32) as usize;
        for (k, buf) in bufs.iter_mut().take(n).enumerate() {
            buf[..4].copy_from_slice(&(sent + k as u32).to_le_bytes());
        }
        let r = if batch == 1 {
            sock.send_to(&bufs[0], to).map(|_| 1)
        } else {
            let views: Vec<&[u8]> = bufs[..n].iter().map(|b| b.as_slice()).collect();
            sock.send_many(&views, to)
        };
        match r {
            // The rest of the batch goes again, renumbered.
            Ok(k) => sent += k as u32,
            // Out of buffers: let the driver drain and try again.
            Err(Errno::ENOBUFS) | Err(Errno::EAGAIN) => {
                let _ = ulib::sys::sleep(0);
            }
            Err(e) => {
                ulib::println!("sent {}", sent);
                return ulib::fail("udpblast", "sendto", e);
            }
        }
    }
    ulib::println!("sent {}", sent);
    0
}
