//! udpecho: a UDP echo server. `udpecho [port]` (default 7) sends every
//! datagram back to its sender, forever.
#![no_std]
#![no_main]

extern crate alloc;
use alloc::vec;
use ulib::inet::parse_port;
use ulib::socket::Socket;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let port = match args.get(1) {
        None => 7,
        Some(p) => match parse_port(p) {
            Some(p) => p,
            None => {
                ulib::eprintln!("usage: udpecho [port]");
                return 2;
            }
        },
    };
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("udpecho", "socket", e),
    };
    if let Err(e) = sock.bind_port(port) {
        return ulib::fail("udpecho", "bind", e);
    }
    ulib::println!("udpecho: listening on port {}", port);
    let mut buf = vec![0u8; 2048];
    loop {
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                if let Err(e) = sock.send_to(&buf[..n], from) {
                    ulib::fail("udpecho", "sendto", e);
                }
            }
            Err(e) => {
                ulib::fail("udpecho", "recvfrom", e);
                let _ = ulib::sys::sleep(10);
            }
        }
    }
}
