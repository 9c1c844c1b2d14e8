//! chat: two-way UDP chat. `chat <peer-ip> [port]` (default 5555) binds the
//! port, prints each line the peer sends, and sends each line typed to the
//! peer's same port. End of input (^D) leaves.
#![no_std]
#![no_main]

extern crate alloc;
use abi::net::SockAddrIn;
use alloc::vec;
use ulib::inet::{parse_ip, parse_port, Addr};
use ulib::lines::Lines;
use ulib::socket::Socket;
use ulib::sys;

ulib::entry!(main);

fn receiver(sock: &Socket, peer: [u8; 4]) -> ! {
    let mut buf = vec![0u8; 2048];
    loop {
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                if from.addr_be != peer {
                    continue; // strangers are not part of the chat
                }
                let text = core::str::from_utf8(&buf[..n]).unwrap_or("(not text)");
                let text = text.strip_suffix('\n').unwrap_or(text);
                ulib::println!("[{}] {}", Addr(from), text);
            }
            Err(e) => {
                ulib::fail("chat", "recvfrom", e);
                let _ = sys::sleep(10);
            }
        }
    }
}

fn main(args: &[&str]) -> i32 {
    let peer = args.get(1).and_then(|a| parse_ip(a));
    let port = match args.get(2) {
        None => Some(5555),
        Some(p) => parse_port(p),
    };
    let (Some(peer), Some(port), true) = (peer, port, args.len() <= 3) else {
        ulib::eprintln!("usage: chat <peer-ip> [port]");
        return 2;
    };
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("chat", "socket", e),
    };
    if let Err(e) = sock.bind_port(port) {
        return ulib::fail("chat", "bind", e);
    }
    let to = SockAddrIn::new(peer, port);
    ulib::println!("chat with {} (end with ^D)", Addr(to));
    let child = match sys::fork() {
        Ok(0) => receiver(&sock, peer),
        Ok(pid) => pid,
        Err(e) => return ulib::fail("chat", "fork", e),
    };
    let mut input = Lines::new(sys::STDIN);
    while let Some(line) = input.next_line() {
        if let Err(e) = sock.send_to(&line, to) {
            ulib::fail("chat", "sendto", e);
        }
    }
    let _ = sys::kill(child);
    let _ = sys::wait();
    0
}
