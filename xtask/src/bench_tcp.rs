//! The host's side of the benchmark's TCP measurements, written so that
//! the guest's figure and its baseline come from the same code: each loop
//! talks to a TCP port on 127.0.0.1 and does not know whether QEMU's
//! forward to the guest answers there or a thread of this process.
//!
//! - bulk to a sink: connect, send `bytes`, shut down the write side, wait
//!   for the sink to close after reading them all; MB/s over that time.
//! - bulk from a sender: accept one connection, read to its end; MB/s from
//!   the first byte to the end.
//! - connections/s: connect, one byte echoed, close, in a loop.
use anyhow::{ensure, Context, Result};
use serde::Serialize;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// How long any one transfer may take before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(120);
/// The period of the bytes sent: the guest's `tcpbulk sink` checks each
/// byte at offset `i` is `i % 251`, the pattern its `send` sends.
const PERIOD: usize = 251;

/// Writes `bytes` bytes of the pattern to `s`.
fn send_pattern(s: &mut TcpStream, bytes: usize) -> Result<()> {
    // A whole number of periods, so every chunk starts the pattern afresh.
    let chunk: Vec<u8> = (0..PERIOD * 256).map(|i| (i % PERIOD) as u8).collect();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        s.write_all(&chunk[..n])?;
        left -= n;
    }
    Ok(())
}

/// One bulk transfer.
#[derive(Serialize, Clone, Copy)]
pub struct Bulk {
    pub bytes: usize,
    pub secs: f64,
    pub mb_per_sec: f64,
}

impl Bulk {
    fn new(bytes: usize, secs: f64) -> Bulk {
        Bulk {
            bytes,
            secs,
            mb_per_sec: bytes as f64 / secs / 1e6,
        }
    }
}

/// Sends `bytes` of the pattern to the sink at 127.0.0.1:`port`; done when it closes.
pub fn send_to_sink(port: u16, bytes: usize) -> Result<Bulk> {
    let start = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .with_context(|| format!("connecting to the sink on port {port}"))?;
    s.set_read_timeout(Some(PATIENCE))?;
    s.set_write_timeout(Some(PATIENCE))?;
    send_pattern(&mut s, bytes)?;
    s.shutdown(Shutdown::Write)?;
    // The sink closes once it has read everything: EOF (or a reset from a
    // sink that closed without reading our FIN) ends the transfer.
    let mut rest = [0u8; 64];
    loop {
        match s.read(&mut rest) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    Ok(Bulk::new(bytes, start.elapsed().as_secs_f64()))
}

/// Accepts one connection on `listener` and reads it to its end; the clock
/// starts at the first byte. Requires `bytes` to arrive.
pub fn receive_from_sender(listener: &TcpListener, bytes: usize) -> Result<Bulk> {
    let (mut s, _) = listener.accept()?;
    s.set_read_timeout(Some(PATIENCE))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = s.read(&mut buf)?;
    let start = Instant::now();
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let secs = start.elapsed().as_secs_f64();
    ensure!(got == bytes, "the sender sent {got} bytes, not {bytes}");
    Ok(Bulk::new(bytes, secs))
}

/// Connections per second to an echo server at 127.0.0.1:`port`: connect,
/// one byte there and back, close; `count` times.
pub fn connections(port: u16, count: usize) -> Result<f64> {
    let start = Instant::now();
    for i in 0..count {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .with_context(|| format!("connection {i} to port {port}"))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.set_nodelay(true)?;
        s.write_all(b"x")?;
        let mut b = [0u8; 1];
        s.read_exact(&mut b)
            .with_context(|| format!("connection {i}: no echo"))?;
        ensure!(&b == b"x", "connection {i}: echoed {b:?}");
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// A sink on 127.0.0.1 for the baseline: reads each connection to its end,
/// then closes it. Returns its port.
pub fn loopback_sink() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().map_while(Result::ok) {
            let mut buf = vec![0u8; 64 * 1024];
            while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        }
    });
    Ok(port)
}

/// A TCP echo server on 127.0.0.1 for the baseline; returns its port.
pub fn loopback_echo() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 1024];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 || s.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    });
    Ok(port)
}

/// The baseline of a guest sender: a thread sends `bytes` to `listener`.
pub fn loopback_sender(listener: &TcpListener, bytes: usize) -> Result<Bulk> {
    let port = listener.local_addr()?.port();
    let sender = std::thread::spawn(move || -> Result<()> {
        let mut s = TcpStream::connect(("127.0.0.1", port))?;
        send_pattern(&mut s, bytes)
    });
    let bulk = receive_from_sender(listener, bytes)?;
    sender.join().expect("loopback sender")?;
    Ok(bulk)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loops measure a loopback peer, as the bench's baselines do.
    #[test]
    fn loops_measure_loopback_peers() {
        let sink = loopback_sink().unwrap();
        let b = send_to_sink(sink, 1 << 20).unwrap();
        assert_eq!(b.bytes, 1 << 20);
        assert!(b.mb_per_sec > 0.0);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(loopback_sender(&listener, 1 << 20).unwrap().mb_per_sec > 0.0);
        let echo = loopback_echo().unwrap();
        assert!(connections(echo, 20).unwrap() > 0.0);
    }
}
