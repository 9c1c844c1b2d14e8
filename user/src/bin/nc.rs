//! nc: a netcat-style UDP client. `nc [-w ms] <ip> <port>` sends each line
//! of stdin as one datagram to ip:port and prints every datagram that comes
//! back from there. At end of input it waits `ms` (default 500) for late
//! replies, then exits. When the peer answers with an ICMP port
//! unreachable (nobody listens there), nc says so: the socket is
//! connected, so the kernel reports it as ECONNREFUSED.
#![no_std]
#![no_main]

extern crate alloc;
use abi::net::SockAddrIn;
use abi::syscall::TICK_HZ;
use abi::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use ulib::inet::Addr;
use ulib::lines::Lines;
use ulib::socket::Socket;
use ulib::{args, sys};

ulib::entry!(main);

const USAGE: &str = "nc [-w ms] <ip> <port>";

/// Says what went wrong talking to `peer`.
fn report(what: &str, peer: SockAddrIn, e: Errno) {
    if e == Errno::ECONNREFUSED {
        ulib::eprintln!(
            "nc: {}: {} (port unreachable: nobody listens there)",
            Addr(peer),
            e.message()
        );
    } else {
        ulib::eprintln!("nc: {} {}: {}", what, Addr(peer), e.message());
    }
}

/// Prints datagrams from `sock` until killed.
fn receiver(sock: &Socket, peer: SockAddrIn) -> ! {
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
                report("receiving from", peer, e);
                let _ = sys::sleep(10);
            }
        }
    }
}

fn parse(argv: &[&str]) -> Result<(u64, SockAddrIn), String> {
    let mut wait_ms = 500u64;
    let mut rest = &argv[1..];
    while let Some(&flag) = rest.first().filter(|a| a.starts_with('-')) {
        match flag {
            "-w" => wait_ms = args::number(flag, rest.get(1).copied(), 0..=3_600_000)?,
            _ => return Err(format!("unknown option {flag}")),
        }
        rest = &rest[2.min(rest.len())..];
    }
    match rest {
        [] => Err("missing address and port".into()),
        [_] => Err("missing port".into()),
        [ip, port] => Ok((wait_ms, SockAddrIn::new(args::ip(ip)?, args::port(port)?))),
        [_, _, extra, ..] => Err(format!("{extra}: unexpected argument")),
    }
}

fn main(argv: &[&str]) -> i32 {
    let (wait_ms, peer) = match parse(argv) {
        Ok(v) => v,
        Err(problem) => return args::bad("nc", &problem, USAGE),
    };
    if peer.port() == 0 {
        return args::bad("nc", "port 0: cannot send to port 0", USAGE);
    }
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("nc", "socket", e),
    };
    if let Err(e) = sock.connect(peer) {
        report("connect to", peer, e);
        return 1;
    }
    let child = match sys::fork() {
        Ok(0) => receiver(&sock, peer),
        Ok(pid) => pid,
        Err(e) => return ulib::fail("nc", "fork", e),
    };
    let mut status = 0;
    let mut input = Lines::new(sys::STDIN);
    while let Some(line) = input.next_line() {
        if let Err(e) = sock.send(&line) {
            report("sending to", peer, e);
            status = 1;
        }
    }
    let _ = sys::sleep((wait_ms * TICK_HZ / 1000) as usize);
    let _ = sys::kill(child);
    let _ = sys::wait();
    status
}
