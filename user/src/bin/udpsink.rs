//! udpsink: counts datagrams, for the benchmark. `udpsink <port> <expected>
//! <idle_ms>`: binds the port, prints `ready`, then counts datagrams until
//! `expected` arrived or none came for `idle_ms`; prints `received N`.
#![no_std]
#![no_main]

extern crate alloc;
use abi::Errno;
use alloc::vec;
use ulib::inet::parse_port;
use ulib::socket::Socket;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let port = args.get(1).and_then(|a| parse_port(a));
    let expected = args.get(2).and_then(|a| a.parse::<u64>().ok());
    let idle = args
        .get(3)
        .and_then(|a| a.parse::<u64>().ok())
        .filter(|&ms| ms > 0);
    let (Some(port), Some(expected), Some(idle)) = (port, expected, idle) else {
        ulib::eprintln!("usage: udpsink <port> <expected> <idle_ms>");
        return 2;
    };
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("udpsink", "socket", e),
    };
    if let Err(e) = sock.bind_port(port) {
        return ulib::fail("udpsink", "bind", e);
    }
    if let Err(e) = sock.set_timeout(idle) {
        return ulib::fail("udpsink", "setsockopt", e);
    }
    ulib::println!("ready");
    let mut buf = vec![0u8; 2048];
    let mut got = 0u64;
    let mut status = 0;
    while got < expected {
        match sock.recv(&mut buf) {
            Ok(_) => got += 1,
            Err(Errno::ETIMEDOUT) | Err(Errno::EAGAIN) => break,
            Err(e) => {
                status = ulib::fail("udpsink", "recv", e);
                break;
            }
        }
    }
    ulib::println!("received {}", got);
    status
}
