//! tcpecho: a TCP echo server. `tcpecho [port]` (default 7; 0 picks a free
//! port, which it prints) sends every connection's bytes back to it, many
//! connections at once: sockets are non-blocking and one `poll` loop reads
//! from a connection while it has nothing left to send, and sends while it
//! has. A connection ends when its peer closes (or resets) it. Forever.
#![no_std]
#![no_main]

extern crate alloc;
use abi::Errno;
use alloc::format;
use alloc::vec::Vec;
use ulib::args;
use ulib::poll::{self, PollFd, POLLIN, POLLOUT};
use ulib::tcp::{TcpListener, TcpStream};

ulib::entry!(main);

const USAGE: &str = "tcpecho [port]";
/// Connections at once: what the process's descriptors allow.
const MAX_CONNS: usize = 40;

struct Conn {
    stream: TcpStream,
    /// Bytes read and not yet echoed, from `sent` on.
    pending: Vec<u8>,
    sent: usize,
}

/// Moves one connection along; false when it is over.
fn step(c: &mut Conn, buf: &mut [u8]) -> bool {
    if c.sent < c.pending.len() {
        match c.stream.write(&c.pending[c.sent..]) {
            Ok(n) => c.sent += n,
            Err(Errno::EAGAIN) => {}
            Err(_) => return false,
        }
        if c.sent == c.pending.len() {
            c.pending.clear();
            c.sent = 0;
        }
        return true;
    }
    match c.stream.read(buf) {
        Ok(0) => false,
        Ok(n) => {
            c.pending.extend_from_slice(&buf[..n]);
            // Most of the time it all goes out at once.
            step(c, buf)
        }
        Err(Errno::EAGAIN) => true,
        Err(_) => false,
    }
}

fn serve(listener: &TcpListener) -> Errno {
    let mut conns: Vec<Conn> = Vec::new();
    let mut fds: Vec<PollFd> = Vec::new();
    let mut buf = alloc::vec![0u8; 4096];
    // Out of descriptors or sockets: accept again once a connection ends.
    let mut starved = false;
    loop {
        fds.clear();
        let room = conns.len() < MAX_CONNS && !starved;
        fds.push(poll::entry(listener.fd(), if room { POLLIN } else { 0 }));
        for c in &conns {
            let ev = if c.pending.is_empty() {
                POLLIN
            } else {
                POLLOUT
            };
            fds.push(poll::entry(c.stream.fd(), ev));
        }
        if let Err(e) = poll::poll(&mut fds, -1) {
            return e;
        }
        for i in (0..conns.len()).rev() {
            if fds[i + 1].revents != 0 && !step(&mut conns[i], &mut buf) {
                conns.swap_remove(i);
                starved = false;
            }
        }
        if fds[0].revents & POLLIN != 0 {
            match listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_ok() {
                        conns.push(Conn {
                            stream,
                            pending: Vec::new(),
                            sent: 0,
                        });
                    }
                }
                Err(Errno::EAGAIN | Errno::ECONNABORTED | Errno::ECONNRESET) => {}
                Err(e @ (Errno::EMFILE | Errno::ENFILE)) => {
                    ulib::eprintln!(
                        "tcpecho: accept: {} ({} connections); waiting for one to end",
                        e.message(),
                        conns.len()
                    );
                    starved = !conns.is_empty();
                }
                Err(e) => return e,
            }
        }
    }
}

fn main(argv: &[&str]) -> i32 {
    let port = match &argv[1..] {
        [] => 7,
        [p] => match args::port(p) {
            Ok(p) => p,
            Err(problem) => return args::bad("tcpecho", &problem, USAGE),
        },
        [_, extra, ..] => {
            return args::bad("tcpecho", &format!("{extra}: unexpected argument"), USAGE)
        }
    };
    let listener = match TcpListener::bind(port) {
        Ok(l) => l,
        Err(e) => return ulib::fail("tcpecho", &format!("port {port}"), e),
    };
    if let Err(e) = listener.socket().set_nonblocking(true) {
        return ulib::fail("tcpecho", "setsockopt", e);
    }
    let port = match listener.local_addr() {
        Ok(a) => a.port(),
        Err(e) => return ulib::fail("tcpecho", "getsockname", e),
    };
    ulib::println!("tcpecho: listening on port {}", port);
    let e = serve(&listener);
    ulib::fail("tcpecho", "poll", e)
}
