//! tcpbulk: a TCP bulk transfer, for measuring and for checking streams.
//! `tcpbulk send HOST PORT BYTES` connects and sends BYTES bytes of a
//! fixed pattern, ends its side and waits for the peer to close;
//! `tcpbulk sink PORT` accepts one connection, reads it to the end and
//! checks every byte against the pattern. Each prints the bytes, the
//! milliseconds and the rate in MB/s; the sink exits 1 when a byte was
//! wrong (it says where).
#![no_std]
#![no_main]

extern crate alloc;
use abi::net::SockAddrIn;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use ulib::args;
use ulib::inet::Addr;
use ulib::tcp::{TcpListener, TcpStream};
use ulib::time::now_us;

ulib::entry!(main);

const USAGE: &str = "tcpbulk send HOST PORT BYTES | tcpbulk sink PORT";
/// Bytes per write and read.
const CHUNK: usize = 16 * 1024;
/// The pattern's period: a prime, so it does not line up with chunks or
/// segments and a shifted or repeated piece shows.
const PERIOD: u64 = 251;

fn pattern(at: u64) -> u8 {
    (at % PERIOD) as u8
}

fn report(what: &str, bytes: u64, us: u64) {
    let us = us.max(1);
    // MB/s = bytes / us; printed with two decimals.
    let centi = bytes * 100 / us;
    ulib::println!(
        "{what} {bytes} bytes in {} ms: {}.{:02} MB/s",
        us / 1000,
        centi / 100,
        centi % 100
    );
}

fn send(peer: SockAddrIn, total: u64) -> Result<(), String> {
    let s = TcpStream::connect(peer)
        .map_err(|e| format!("connect to {}: {}", Addr(peer), e.message()))?;
    let mut buf = vec![0u8; CHUNK];
    let t0 = now_us();
    let mut sent = 0u64;
    while sent < total {
        let n = (total - sent).min(CHUNK as u64) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = pattern(sent + i as u64);
        }
        s.write_all(&buf[..n])
            .map_err(|e| format!("write after {sent} bytes: {}", e.message()))?;
        sent += n as u64;
    }
    s.shutdown_write()
        .map_err(|e| format!("shutdown: {}", e.message()))?;
    // The peer closes once it has read everything.
    while s
        .read(&mut buf)
        .map_err(|e| format!("waiting for the close: {}", e.message()))?
        > 0
    {}
    report("sent", sent, now_us() - t0);
    Ok(())
}

fn sink(port: u16) -> Result<(), String> {
    let l = TcpListener::bind(port).map_err(|e| format!("port {port}: {}", e.message()))?;
    ulib::println!(
        "tcpbulk: listening on port {}",
        l.local_addr().map(|a| a.port()).unwrap_or(port)
    );
    let (s, from) = l.accept().map_err(|e| format!("accept: {}", e.message()))?;
    drop(l);
    let mut buf = vec![0u8; CHUNK];
    let t0 = now_us();
    let mut got = 0u64;
    let mut first_bad = None;
    loop {
        let n = s
            .read(&mut buf)
            .map_err(|e| format!("read after {got} bytes: {}", e.message()))?;
        if n == 0 {
            break;
        }
        if first_bad.is_none() {
            first_bad = buf[..n]
                .iter()
                .enumerate()
                .find(|&(i, &b)| b != pattern(got + i as u64))
                .map(|(i, _)| got + i as u64);
        }
        got += n as u64;
    }
    report(&format!("received from {}", Addr(from)), got, now_us() - t0);
    match first_bad {
        Some(at) => Err(format!("byte {at} differs from the pattern")),
        None => Ok(()),
    }
}

fn run(argv: &[&str]) -> Result<Result<(), String>, String> {
    match argv.get(1..).unwrap_or(&[]) {
        ["send", host, port, bytes] => {
            let peer = SockAddrIn::new(args::ip(host)?, args::port(port)?);
            let total = args::number("BYTES", Some(bytes), 0..=u64::MAX >> 8)?;
            Ok(send(peer, total))
        }
        ["sink", port] => Ok(sink(args::port(port)?)),
        [] => Err("missing send or sink".into()),
        [mode, ..] if *mode != "send" && *mode != "sink" => {
            Err(format!("{mode}: not send or sink"))
        }
        _ => Err("wrong number of arguments".into()),
    }
}

fn main(argv: &[&str]) -> i32 {
    match run(argv) {
        Err(problem) => args::bad("tcpbulk", &problem, USAGE),
        Ok(Err(e)) => {
            ulib::eprintln!("tcpbulk: {}", e);
            1
        }
        Ok(Ok(())) => 0,
    }
}
