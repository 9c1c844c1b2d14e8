//! Helpers for the nettests modules: the echo server's address, echo round
//! trips, ICMP echo, and the resource counts taken at start.

use abi::net::SockAddrIn;
use abi::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use core::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use ulib::socket::Socket;
use ulib::testing::{Check, TestResult};
use ulib::{netinfo, sys};

pub const HOST: [u8; 4] = [10, 0, 2, 2];
pub const GUEST: [u8; 4] = [10, 0, 2, 15];

static PORT: AtomicU16 = AtomicU16::new(7777);
static FREE_PAGES: AtomicU64 = AtomicU64::new(0);
static MBUFS_FREE: AtomicU64 = AtomicU64::new(u64::MAX);

pub fn set_port(p: u16) {
    PORT.store(p, Ordering::Relaxed);
}

pub fn port() -> u16 {
    PORT.load(Ordering::Relaxed)
}

/// The host's echo server.
pub fn echo_addr() -> SockAddrIn {
    SockAddrIn::new(HOST, port())
}

pub fn record_resources() {
    if let Ok(i) = sys::sysinfo() {
        FREE_PAGES.store(i.free_pages, Ordering::Relaxed);
    }
    if let Ok(Some(v)) = netinfo::counter("mbufs_free") {
        MBUFS_FREE.store(v, Ordering::Relaxed);
    }
}

pub fn start_free_pages() -> u64 {
    FREE_PAGES.load(Ordering::Relaxed)
}

/// None if the kernel had no `mbufs_free` counter at start.
pub fn start_mbufs_free() -> Option<u64> {
    Some(MBUFS_FREE.load(Ordering::Relaxed)).filter(|&v| v != u64::MAX)
}

/// A UDP socket with a receive timeout.
pub fn udp(timeout_ms: u64) -> Result<Socket, String> {
    let s = Socket::udp().or_fail("socket")?;
    s.set_timeout(timeout_ms).or_fail("set_timeout")?;
    Ok(s)
}

/// Sends `msg` to the echo server and waits for it to come back (other
/// datagrams are skipped). One try: a loss fails.
pub fn echo_once(s: &Socket, msg: &[u8], timeout_ms: u64) -> TestResult {
    s.send_to(msg, echo_addr()).or_fail("sendto")?;
    expect_echo(s, msg, timeout_ms)
}

/// Waits for the datagram `msg` from the echo server.
pub fn expect_echo(s: &Socket, msg: &[u8], timeout_ms: u64) -> TestResult {
    let mut buf = vec![0u8; msg.len() + 64];
    let deadline = sys::uptime() + timeout_ms.div_ceil(10) + 1;
    loop {
        match s.recv_from(&mut buf) {
            Ok((n, from)) => {
                if from != echo_addr() {
                    return Err(format!(
                        "datagram from {} (not the echo server)",
                        ulib::inet::Addr(from)
                    ));
                }
                if &buf[..n] == msg {
                    return Ok(());
                }
                // A late echo of an earlier message: skip it.
            }
            Err(Errno::ETIMEDOUT | Errno::EAGAIN) => {
                return Err(format!(
                    "no echo of {:?} within {} ms",
                    String::from_utf8_lossy(&msg[..msg.len().min(40)]),
                    timeout_ms
                ))
            }
            Err(e) => return Err(format!("recvfrom: {}", e.message())),
        }
        if sys::uptime() > deadline {
            return Err(format!("only stale echoes within {} ms", timeout_ms));
        }
    }
}

/// Sends one ICMP echo request to `ip` and waits for its reply.
pub fn ping_once(s: &Socket, ip: [u8; 4], seq: u16, timeout_ms: u64) -> TestResult {
    let data: [u8; 32] = core::array::from_fn(|i| b'a' + i as u8 % 26);
    let pkt = ulib::echo::request(seq, &data);
    s.set_timeout(timeout_ms).or_fail("set_timeout")?;
    s.send_to(&pkt, SockAddrIn::new(ip, 0))
        .or_fail("sendto (icmp)")?;
    let mut buf = [0u8; 128];
    loop {
        let (n, from) = match s.recv_from(&mut buf) {
            Ok(r) => r,
            Err(Errno::ETIMEDOUT | Errno::EAGAIN) => {
                return Err(format!(
                    "no echo reply for seq {} within {} ms",
                    seq, timeout_ms
                ))
            }
            Err(e) => return Err(format!("recvfrom (icmp): {}", e.message())),
        };
        if let Some((s, reply_data)) = ulib::echo::parse_reply(&buf[..n]) {
            if s != seq {
                continue;
            }
            if from.addr_be != ip {
                return Err(format!("reply from {}", ulib::inet::Ip(from.addr_be)));
            }
            if reply_data != data {
                return Err("reply data differs".into());
            }
            return Ok(());
        }
    }
}
