//! chat: two-way UDP chat. `chat <peer-ip> [port]` (default 5555) binds the
//! port, prints each line the peer sends, and sends each line typed to the
//! peer's same port. End of input (^D) leaves. The socket is connected to
//! the peer, so only the peer's lines arrive and an ICMP port unreachable
//! (the peer runs no chat yet) is reported, as ECONNREFUSED.
#![no_std]
#![no_main]

extern crate alloc;
use abi::net::SockAddrIn;
use abi::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use ulib::inet::Addr;
use ulib::lines::Lines;
use ulib::socket::Socket;
use ulib::{args, sys};

ulib::entry!(main);

const USAGE: &str = "chat <peer-ip> [port]";

/// Says what went wrong talking to `peer`.
fn report(what: &str, peer: SockAddrIn, e: Errno) {
    if e == Errno::ECONNREFUSED {
        ulib::eprintln!(
            "chat: {} is not listening (port unreachable); lines sent meanwhile are lost",
            Addr(peer)
        );
    } else {
        ulib::eprintln!("chat: {} {}: {}", what, Addr(peer), e.message());
    }
}

fn receiver(sock: &Socket, peer: SockAddrIn) -> ! {
    let mut buf = vec![0u8; 2048];
    loop {
        match sock.recv(&mut buf) {
            Ok(n) => {
                let text = core::str::from_utf8(&buf[..n]).unwrap_or("(not text)");
                let text = text.strip_suffix('\n').unwrap_or(text);
                ulib::println!("[{}] {}", Addr(peer), text);
            }
            Err(e) => {
                report("receiving from", peer, e);
                let _ = sys::sleep(10);
            }
        }
    }
}

fn parse(argv: &[&str]) -> Result<SockAddrIn, String> {
    match &argv[1..] {
        [] => Err("missing the peer's address".into()),
        [ip] => Ok(SockAddrIn::new(args::ip(ip)?, 5555)),
        [ip, port] => match args::port(port)? {
            0 => Err("port 0: pick a port both sides use".into()),
            port => Ok(SockAddrIn::new(args::ip(ip)?, port)),
        },
        [_, _, extra, ..] => Err(format!("{extra}: unexpected argument")),
    }
}

fn main(argv: &[&str]) -> i32 {
    let peer = match parse(argv) {
        Ok(p) => p,
        Err(problem) => return args::bad("chat", &problem, USAGE),
    };
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("chat", "socket", e),
    };
    if let Err(e) = sock.bind_port(peer.port()) {
        return ulib::fail("chat", &format!("port {}", peer.port()), e);
    }
    if let Err(e) = sock.connect(peer) {
        report("connect to", peer, e);
        return 1;
    }
    ulib::println!("chat with {} (end with ^D)", Addr(peer));
    let child = match sys::fork() {
        Ok(0) => receiver(&sock, peer),
        Ok(pid) => pid,
        Err(e) => return ulib::fail("chat", "fork", e),
    };
    let mut input = Lines::new(sys::STDIN);
    while let Some(line) = input.next_line() {
        if let Err(e) = sock.send(&line) {
            report("sending to", peer, e);
        }
    }
    let _ = sys::kill(child);
    let _ = sys::wait();
    0
}
