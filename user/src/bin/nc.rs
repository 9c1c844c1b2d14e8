//! nc: a netcat-style UDP client. `nc [-w ms] <ip> <port>` sends each line
//! of stdin as one datagram to ip:port and prints every datagram that comes
//! back from there. At end of input it waits `ms` (default 500) for late
//! replies, then exits.
#![no_std]
#![no_main]

extern crate alloc;
use abi::syscall::TICK_HZ;
use alloc::vec;
use ulib::inet::{parse_ip, parse_port};
use ulib::lines::Lines;
use ulib::socket::Socket;
use ulib::sys;

ulib::entry!(main);

fn usage() -> i32 {
    ulib::eprintln!("usage: nc [-w ms] <ip> <port>");
    2
}

/// Prints datagrams from `sock` until killed.
fn receiver(sock: &Socket) -> ! {
    let mut buf = vec![0u8; 2048];
    loop {
        match sock.recv(&mut buf) {
            Ok(n) => {
                let _ = sys::write_all(sys::STDOUT, &buf[..n]);
                if n == 0 || buf[n - 1] != b'\n' {
                    let _ = sys::write_all(sys::STDOUT, b"\n");
                }
            }
            Err(e) => {
                ulib::fail("nc", "recv", e);
                let _ = sys::sleep(10);
            }
        }
    }
}

fn main(args: &[&str]) -> i32 {
    let mut wait_ms = 500u64;
    let mut rest = &args[1..];
    if rest.first() == Some(&"-w") {
        match rest.get(1).and_then(|v| v.parse().ok()) {
            Some(v) => wait_ms = v,
            None => return usage(),
        }
        rest = &rest[2..];
    }
    let (Some(ip), Some(port)) = (
        rest.first().and_then(|a| parse_ip(a)),
        rest.get(1).and_then(|p| parse_port(p)),
    ) else {
        return usage();
    };
    if rest.len() != 2 {
        return usage();
    }
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("nc", "socket", e),
    };
    if let Err(e) = sock.connect(abi::net::SockAddrIn::new(ip, port)) {
        return ulib::fail("nc", "connect", e);
    }
    let child = match sys::fork() {
        Ok(0) => receiver(&sock),
        Ok(pid) => pid,
        Err(e) => return ulib::fail("nc", "fork", e),
    };
    let mut status = 0;
    let mut input = Lines::new(sys::STDIN);
    while let Some(line) = input.next_line() {
        if let Err(e) = sock.send(&line) {
            status = ulib::fail("nc", "send", e);
        }
    }
    let _ = sys::sleep((wait_ms * TICK_HZ / 1000) as usize);
    let _ = sys::kill(child);
    let _ = sys::wait();
    status
}
