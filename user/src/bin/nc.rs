//! nc: netcat. `nc [-u] [-w ms] <host> <port>` connects (the host an
//! address or a name, `ulib::dns`), `nc -l [-u] <port>` listens.
//!
//! TCP (the default): stdin goes to the connection and what comes back
//! goes to stdout. At the end of stdin nc ends its side (shutdown) and
//! prints what the peer still sends until it closes, or at most `ms`
//! longer when `-w` is given. `-l` accepts one connection and does the
//! same with it. A refused connection (nobody listens there) says so.
//!
//! UDP (`-u`): each line of stdin is one datagram to ip:port, and every
//! datagram that comes back from there is printed. At end of input nc
//! waits `ms` (default 500) for late replies, then exits. When the peer
//! answers with an ICMP port unreachable, nc says so: the socket is
//! connected, so the kernel reports it as ECONNREFUSED. With `-l -u` nc
//! prints the datagrams arriving on the port and sends each line of stdin
//! to whoever sent the last one.
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
use ulib::poll::{self, POLLERR, POLLHUP, POLLIN};
use ulib::socket::Socket;
use ulib::tcp::{TcpListener, TcpStream};
use ulib::time::now_us;
use ulib::{args, sys};

ulib::entry!(main);

const USAGE: &str = "nc [-u] [-w ms] <host> <port> | nc -l [-u] <port>";

struct Options<'a> {
    udp: bool,
    listen: bool,
    wait_ms: Option<u64>,
    /// The peer's address or name (not listening).
    host: Option<&'a str>,
    /// Its port (the address is filled in once `host` is resolved).
    peer: SockAddrIn,
}

/// Says what went wrong talking to `peer`.
fn report(what: &str, peer: SockAddrIn, e: Errno, udp: bool) {
    if e == Errno::ECONNREFUSED {
        let why = if udp {
            "port unreachable: nobody listens there"
        } else {
            "nobody listens there"
        };
        ulib::eprintln!("nc: {}: {} ({})", Addr(peer), e.message(), why);
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
                report("receiving from", peer, e, true);
                let _ = sys::sleep(10);
            }
        }
    }
}

/// UDP to one peer: a child prints replies while stdin is sent.
fn udp_client(peer: SockAddrIn, wait_ms: u64) -> i32 {
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("nc", "socket", e),
    };
    if let Err(e) = sock.connect(peer) {
        report("connect to", peer, e, true);
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
            report("sending to", peer, e, true);
            status = 1;
        }
    }
    let _ = sys::sleep((wait_ms * TICK_HZ / 1000) as usize);
    let _ = sys::kill(child);
    let _ = sys::wait();
    status
}

/// UDP on a port: prints what arrives; stdin goes to the last sender.
fn udp_listen(port: u16) -> i32 {
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("nc", "socket", e),
    };
    if let Err(e) = sock.bind_port(port) {
        return ulib::fail("nc", &format!("port {port}"), e);
    }
    let mut buf = vec![0u8; 2048];
    let mut last = None;
    let mut stdin_open = true;
    loop {
        let mut fds = [
            poll::entry(sock.fd(), POLLIN),
            poll::entry(sys::STDIN, POLLIN),
        ];
        if !stdin_open {
            fds[1].fd = -1;
        }
        if let Err(e) = poll::poll(&mut fds, -1) {
            return ulib::fail("nc", "poll", e);
        }
        if fds[0].revents != 0 {
            match sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    last = Some(from);
                    let _ = sys::write_all(sys::STDOUT, &buf[..n]);
                }
                Err(e) => return ulib::fail("nc", "recvfrom", e),
            }
        }
        if fds[1].revents != 0 {
            match sys::read(sys::STDIN, &mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => match last {
                    Some(to) => {
                        if let Err(e) = sock.send_to(&buf[..n], to) {
                            report("sending to", to, e, true);
                        }
                    }
                    None => ulib::eprintln!("nc: nobody to send to yet"),
                },
            }
        }
    }
}

/// Copies stdin to the connection and the connection to stdout until the
/// peer closes (after the end of stdin: at most `wait_ms` more, if given).
fn relay(s: &TcpStream, wait_ms: Option<u64>) -> i32 {
    let peer = s.peer_addr().unwrap_or_default();
    let mut buf = vec![0u8; 4096];
    let mut stdin_open = true;
    let mut stdin_closed_at = 0;
    loop {
        let mut fds = [poll::entry(s.fd(), POLLIN), poll::entry(sys::STDIN, POLLIN)];
        if !stdin_open {
            fds[1].fd = -1;
        }
        let timeout = match (stdin_open, wait_ms) {
            (false, Some(ms)) => {
                let spent = (now_us() - stdin_closed_at) / 1000;
                if spent >= ms {
                    return 0;
                }
                (ms - spent).min(i32::MAX as u64) as i32
            }
            _ => -1,
        };
        if let Err(e) = poll::poll(&mut fds, timeout) {
            return ulib::fail("nc", "poll", e);
        }
        if fds[0].revents & (POLLIN | POLLHUP | POLLERR) != 0 {
            match s.read(&mut buf) {
                Ok(0) => return 0,
                Ok(n) => {
                    if let Err(e) = sys::write_all(sys::STDOUT, &buf[..n]) {
                        return ulib::fail("nc", "write", e);
                    }
                }
                Err(e) => {
                    report("receiving from", peer, e, false);
                    return 1;
                }
            }
        }
        if fds[1].revents != 0 {
            match sys::read(sys::STDIN, &mut buf) {
                Ok(0) | Err(_) => {
                    stdin_open = false;
                    stdin_closed_at = now_us();
                    if let Err(e) = s.shutdown_write() {
                        report("shutdown to", peer, e, false);
                        return 1;
                    }
                }
                Ok(n) => {
                    if let Err(e) = s.write_all(&buf[..n]) {
                        report("sending to", peer, e, false);
                        return 1;
                    }
                }
            }
        }
    }
}

fn parse<'a>(argv: &[&'a str]) -> Result<Options<'a>, String> {
    let (mut udp, mut listen, mut wait_ms) = (false, false, None);
    let mut rest = &argv[1..];
    while let Some(&flag) = rest.first().filter(|a| a.starts_with('-')) {
        let mut used = 1;
        match flag {
            "-u" => udp = true,
            "-l" => listen = true,
            "-w" => {
                wait_ms = Some(args::number(flag, rest.get(1).copied(), 0..=3_600_000)?);
                used = 2;
            }
            _ => return Err(format!("unknown option {flag}")),
        }
        rest = &rest[used.min(rest.len())..];
    }
    let host = match (listen, rest) {
        (false, [host, _]) => Some(*host),
        _ => None,
    };
    let peer = match (listen, rest) {
        (true, [port]) => SockAddrIn::new([0; 4], args::port(port)?),
        (true, []) => return Err("missing port".into()),
        (true, [_, extra, ..]) => return Err(format!("{extra}: unexpected argument")),
        (false, []) => return Err("missing address and port".into()),
        (false, [_]) => return Err("missing port".into()),
        (false, [_, port]) => SockAddrIn::new([0; 4], args::port(port)?),
        (false, [_, _, extra, ..]) => return Err(format!("{extra}: unexpected argument")),
    };
    Ok(Options {
        udp,
        listen,
        wait_ms,
        host,
        peer,
    })
}

fn main(argv: &[&str]) -> i32 {
    let mut o = match parse(argv) {
        Ok(v) => v,
        Err(problem) => return args::bad("nc", &problem, USAGE),
    };
    if !o.listen && o.peer.port() == 0 {
        return args::bad("nc", "port 0: cannot send to port 0", USAGE);
    }
    if let Some(host) = o.host {
        match ulib::dns::lookup_for("nc", host) {
            Ok(ip) => o.peer = SockAddrIn::new(ip, o.peer.port()),
            Err(status) => return status,
        }
    }
    match (o.udp, o.listen) {
        (true, false) => udp_client(o.peer, o.wait_ms.unwrap_or(500)),
        (true, true) => udp_listen(o.peer.port()),
        (false, false) => match TcpStream::connect(o.peer) {
            Ok(s) => relay(&s, o.wait_ms),
            Err(e) => {
                report("connect to", o.peer, e, false);
                1
            }
        },
        (false, true) => {
            let l = match TcpListener::bind(o.peer.port()) {
                Ok(l) => l,
                Err(e) => return ulib::fail("nc", &format!("port {}", o.peer.port()), e),
            };
            match l.accept() {
                Ok((s, _)) => {
                    drop(l);
                    relay(&s, o.wait_ms)
                }
                Err(e) => ulib::fail("nc", "accept", e),
            }
        }
    }
}
