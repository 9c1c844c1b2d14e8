//! udpecho: a UDP echo server. `udpecho [port]` (default 7; 0 picks a free
//! port, which it prints) sends every datagram back to its sender, forever.
#![no_std]
#![no_main]

extern crate alloc;
use alloc::vec;
use ulib::socket::Socket;
use ulib::{args, sys};

ulib::entry!(main);

const USAGE: &str = "udpecho [port]";

fn main(argv: &[&str]) -> i32 {
    let port = match &argv[1..] {
        [] => 7,
        [p] => match args::port(p) {
            Ok(p) => p,
            Err(problem) => return args::bad("udpecho", &problem, USAGE),
        },
        [_, extra, ..] => {
            let problem = alloc::format!("{extra}: unexpected argument");
            return args::bad("udpecho", &problem, USAGE);
        }
    };
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("udpecho", "socket", e),
    };
    if let Err(e) = sock.bind_port(port) {
        return ulib::fail("udpecho", &alloc::format!("port {port}"), e);
    }
    // Port 0 asked the kernel to pick one: say which.
    let port = match sock.local_addr() {
        Ok(a) => a.port(),
        Err(e) => return ulib::fail("udpecho", "getsockname", e),
    };
    ulib::println!("udpecho: listening on port {}", port);
    // Room for the longest datagram (65,507 bytes, in IPv4 fragments).
    let mut buf = vec![0u8; u16::MAX as usize];
    loop {
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                if let Err(e) = sock.send_to(&buf[..n], from) {
                    ulib::fail("udpecho", "sendto", e);
                }
            }
            Err(e) => {
                ulib::fail("udpecho", "recvfrom", e);
                let _ = sys::sleep(10);
            }
        }
    }
}
