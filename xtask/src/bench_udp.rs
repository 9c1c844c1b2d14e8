//! The host's side of the benchmark's UDP measurements. Each loop talks to
//! a UDP port on 127.0.0.1 and does not know what answers there: QEMU's
//! forward to the guest's `udpecho`, or the loopback echo thread that
//! serves as the baseline. So guest and baseline figures come from the
//! same code.
use anyhow::{ensure, Result};
use serde::Serialize;
use std::net::UdpSocket;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A round trip slower than this is counted as a stall (one timer tick of
/// the classic xv6, the wait a packet must never have).
pub const SLOW: Duration = Duration::from_millis(10);
/// How long a round trip may take before it counts as lost.
const LOST_AFTER: Duration = Duration::from_millis(200);

/// One datagram outstanding at a time, `count` times.
#[derive(Serialize)]
pub struct RoundTrips {
    pub size: usize,
    pub sent: usize,
    pub lost: usize,
    pub per_sec: f64,
    pub median_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Round trips slower than [`SLOW`].
    pub slow: usize,
    /// Every completed round trip's time in µs, sorted (for the plot).
    #[serde(skip)]
    pub sorted_us: Vec<u64>,
}

/// Sends one `size`-byte datagram to `port`, waits for its echo, `count`
/// times.
pub fn round_trips(port: u16, size: usize, count: usize) -> Result<RoundTrips> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.connect(("127.0.0.1", port))?;
    sock.set_read_timeout(Some(LOST_AFTER))?;
    let mut msg = vec![0x5a; size.max(4)];
    let mut buf = vec![0u8; 2048];
    let mut samples = Vec::with_capacity(count);
    let start = Instant::now();
    for seq in 0..count as u32 {
        msg[..4].copy_from_slice(&seq.to_le_bytes());
        let t = Instant::now();
        sock.send(&msg[..size.max(4)])?;
        // A late echo of an earlier datagram is skipped, not counted.
        while let Ok(n) = sock.recv(&mut buf) {
            if n >= 4 && buf[..4] == seq.to_le_bytes() {
                samples.push(t.elapsed().as_micros() as u64);
                break;
            }
            if t.elapsed() > LOST_AFTER {
                break;
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    ensure!(
        !samples.is_empty(),
        "no round trip completed on port {port}"
    );
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    Ok(RoundTrips {
        size,
        sent: count,
        lost: count - samples.len(),
        per_sec: samples.len() as f64 / elapsed,
        median_us: at(0.5),
        p99_us: at(0.99),
        max_us: *samples.last().unwrap(),
        slow: samples
            .iter()
            .filter(|&&us| us > SLOW.as_micros() as u64)
            .count(),
        sorted_us: samples,
    })
}

/// Datagrams sent at a steady offered rate and how many came back.
#[derive(Serialize, Clone, Copy)]
pub struct Paced {
    pub offered_per_sec: u64,
    pub sent: u64,
    pub echoed: u64,
    /// `echoed / sent`.
    pub share: f64,
    /// Echoes per second over the sending time.
    pub echoed_per_sec: f64,
}

/// The payload of a paced datagram: small, so the per-datagram cost is
/// what is measured.
pub const PACED_SIZE: usize = 64;

/// Sends to `port` at `rate` datagrams/s for `secs` and counts the echoes
/// on another thread (each datagram carries its sequence number; each is
/// counted once).
pub fn paced_echo(port: u16, rate: u64, secs: f64) -> Result<Paced> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.connect(("127.0.0.1", port))?;
    let count = ((rate as f64 * secs) as u64).max(1);
    let rx = sock.try_clone()?;
    rx.set_read_timeout(Some(Duration::from_millis(50)))?;
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let counter = std::thread::spawn(move || {
        let mut seen = vec![false; count as usize];
        let mut got = 0u64;
        let mut buf = [0u8; 2048];
        let mut quiet_since: Option<Instant> = None;
        loop {
            match rx.recv(&mut buf) {
                Ok(n) if n >= 4 => {
                    let seq = u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize;
                    if seq < seen.len() && !seen[seq] {
                        seen[seq] = true;
                        got += 1;
                    }
                    quiet_since = None;
                }
                _ => {
                    // After the sender is done, stop once echoes stop.
                    if done_rx.try_recv().is_ok() || quiet_since.is_some() {
                        let q = *quiet_since.get_or_insert_with(Instant::now);
                        if q.elapsed() > Duration::from_millis(300) {
                            return got;
                        }
                    }
                }
            }
            if got == count {
                return got;
            }
        }
    });
    let mut msg = [0xa5u8; PACED_SIZE];
    let gap = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    for seq in 0..count as u32 {
        // Sleep rather than spin: the host has few cores and QEMU's threads
        // need them. Deadlines count from the start, so an oversleep is
        // caught up and the average rate holds.
        if let Some(wait) = (gap * seq).checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        msg[..4].copy_from_slice(&seq.to_le_bytes());
        // A refused send (ICMP unreachable while nothing listens) is a loss.
        let _ = sock.send(&msg);
    }
    let send_secs = start.elapsed().as_secs_f64();
    let _ = done_tx.send(());
    let echoed = counter.join().expect("echo counter thread");
    Ok(Paced {
        offered_per_sec: rate,
        sent: count,
        echoed,
        share: echoed as f64 / count as f64,
        echoed_per_sec: echoed as f64 / send_secs,
    })
}

/// The highest offered rate with at least 99.9 % echoed, below which every
/// rate also made it.
pub fn highest_lossless(curve: &[Paced]) -> u64 {
    curve
        .iter()
        .take_while(|p| p.share >= 0.999)
        .last()
        .map_or(0, |p| p.offered_per_sec)
}

/// Receives a stream on `sock` until `count` arrived or it stays silent for
/// 2 s; returns datagrams/s from the first to the last and how many came.
pub fn receive_stream(sock: &UdpSocket, count: usize) -> Result<(f64, usize)> {
    sock.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = [0u8; 2048];
    let mut received = 0usize;
    let mut first = None;
    let mut last = Instant::now();
    while sock.recv(&mut buf).is_ok() {
        first.get_or_insert_with(Instant::now);
        last = Instant::now();
        received += 1;
        if received == count {
            break;
        }
    }
    ensure!(
        received > 1,
        "the host received {received} datagrams of the stream"
    );
    let secs = last.duration_since(first.unwrap()).as_secs_f64().max(1e-3);
    Ok(((received - 1) as f64 / secs, received))
}

/// The baseline for a guest's stream: a host thread sending `count`
/// datagrams of `size` bytes as fast as it can to a socket on loopback.
pub fn loopback_stream(count: usize, size: usize) -> Result<(f64, usize)> {
    let sink = UdpSocket::bind("127.0.0.1:0")?;
    let port = sink.local_addr()?.port();
    let sender = std::thread::spawn(move || -> Result<()> {
        let sock = UdpSocket::bind("127.0.0.1:0")?;
        let msg = vec![0u8; size];
        for _ in 0..count {
            sock.send_to(&msg, ("127.0.0.1", port))?;
        }
        Ok(())
    });
    let r = receive_stream(&sink, count);
    sender.join().expect("stream sender")?;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paced(rate: u64, share: f64) -> Paced {
        Paced {
            offered_per_sec: rate,
            sent: 1000,
            echoed: (share * 1000.0) as u64,
            share,
            echoed_per_sec: 0.0,
        }
    }

    #[test]
    fn lossless_stops_at_the_first_loss() {
        let c = [
            paced(1000, 1.0),
            paced(2000, 0.9995),
            paced(3000, 0.99),
            paced(4000, 1.0),
        ];
        assert_eq!(highest_lossless(&c), 2000);
        assert_eq!(highest_lossless(&c[2..]), 0);
    }

    #[test]
    fn loops_measure_a_loopback_echo() {
        let port = crate::guestnet::loopback_echo_server(None).unwrap();
        let r = round_trips(port, 16, 50).unwrap();
        assert_eq!((r.sent, r.lost, r.sorted_us.len()), (50, 0, 50));
        assert!(r.median_us <= r.p99_us && r.p99_us <= r.max_us);
        let p = paced_echo(port, 1000, 0.05).unwrap();
        assert_eq!((p.sent, p.echoed), (50, 50));
    }
}
