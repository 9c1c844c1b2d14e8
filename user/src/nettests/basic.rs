//! Basic socket behaviour against the host: the first ping and datagram to
//! an unresolved address, a round trip, ping of the gateway, read/write on
//! a connected socket, two sockets apart, a socket shared across fork,
//! close freeing the port, datagrams longer than a frame (IPv4
//! fragments both ways), and several datagrams in one `sendmmsg`.

use crate::util::{echo_addr, echo_once, expect_echo, ping_once, udp, HOST};
use abi::net::SockAddrIn;
use alloc::format;
use ulib::ensure;
use ulib::socket::Socket;
use ulib::testing::{Check, TestResult};
use ulib::{netinfo, sys};

/// Forgets the ARP cache if the kernel can; otherwise the test relies on
/// running first.
fn flush_arp() {
    let _ = netinfo::arp_flush();
}

/// The very first ping to an unresolved address is held while ARP resolves.
pub fn firstping() -> TestResult {
    flush_arp();
    let s = Socket::icmp().or_fail("socket(SOCK_ICMP)")?;
    ping_once(&s, HOST, 1, 2000)
}

/// The very first datagram to an unresolved address arrives.
pub fn firstudp() -> TestResult {
    flush_arp();
    let s = udp(2000)?;
    echo_once(&s, b"first datagram", 2000)
}

/// One round trip; the sender is the echo server; getsockname shows the
/// ephemeral port chosen at the first send.
pub fn roundtrip() -> TestResult {
    let s = udp(2000)?;
    echo_once(&s, b"hello, echo server", 2000)?;
    let me = s.local_addr().or_fail("getsockname")?;
    ensure!(me.port() != 0, "no ephemeral port after sendto");
    // And once more, explicitly bound.
    let s = udp(2000)?;
    s.bind_port(0).or_fail("bind port 0")?;
    let me = s.local_addr().or_fail("getsockname")?;
    ensure!(me.port() != 0, "bind(0) picked no port");
    echo_once(&s, b"from a bound socket", 2000)
}

/// Three datagrams handed over in one `sendmmsg` each come back whole
/// from the echo server.
pub fn sendmany() -> TestResult {
    let s = udp(2000)?;
    let msgs: [&[u8]; 3] = [b"one of three", b"two of three, a longer one", b"3"];
    let n = s.send_many(&msgs, echo_addr()).or_fail("sendmmsg")?;
    ensure!(n == 3, "sendmmsg sent {n} of 3");
    let mut got = alloc::vec::Vec::new();
    let mut buf = [0u8; 64];
    for _ in 0..3 {
        let (k, from) = s.recv_from(&mut buf).or_fail("recvfrom")?;
        ensure!(
            from == echo_addr(),
            "a datagram from {}",
            ulib::inet::Addr(from)
        );
        got.push(buf[..k].to_vec());
    }
    for m in msgs {
        ensure!(
            got.iter().any(|g| g == m),
            "{:?} did not come back (got {got:?})",
            core::str::from_utf8(m)
        );
    }
    Ok(())
}

/// Datagrams of 8,000, 30,000 and 65,507 bytes (the longest UDP over
/// IPv4) echoed by the host: fragmented on the way out, reassembled on
/// the way back, byte for byte.
pub fn bigdatagrams() -> TestResult {
    let s = udp(5000)?;
    for size in [8_000, 30_000, 65_507] {
        let msg: alloc::vec::Vec<u8> = (0..size).map(|i| (i * 13 + i / 256) as u8).collect();
        echo_once(&s, &msg, 5000).map_err(|e| format!("{size} bytes: {e}"))?;
    }
    Ok(())
}

/// Three echo requests to the gateway, each answered.
pub fn pinggw() -> TestResult {
    let s = Socket::icmp().or_fail("socket(SOCK_ICMP)")?;
    for seq in 1..=3 {
        ping_once(&s, HOST, seq, 2000)?;
    }
    Ok(())
}

/// A connected socket works with write/read as well as send/recv.
pub fn readwrite() -> TestResult {
    let s = udp(2000)?;
    s.connect(echo_addr()).or_fail("connect")?;
    let n = sys::write(s.fd(), b"via write").or_fail("write")?;
    ensure!(n == 9, "write sent {}", n);
    let mut buf = [0u8; 64];
    let n = sys::read(s.fd(), &mut buf).or_fail("read")?;
    ensure!(&buf[..n] == b"via write", "read {:?}", &buf[..n]);
    s.send(b"via send").or_fail("send")?;
    let n = s.recv(&mut buf).or_fail("recv")?;
    ensure!(&buf[..n] == b"via send", "recv {:?}", &buf[..n]);
    Ok(())
}

/// Two sockets on two ports each get only their own echoes.
pub fn twosockets() -> TestResult {
    let a = udp(2000)?;
    let b = udp(2000)?;
    a.bind_port(0).or_fail("bind a")?;
    b.bind_port(0).or_fail("bind b")?;
    let (pa, pb) = (
        a.local_addr().or_fail("a")?.port(),
        b.local_addr().or_fail("b")?.port(),
    );
    ensure!(pa != pb, "both sockets on port {}", pa);
    for i in 0..10 {
        a.send_to(format!("A{i}").as_bytes(), echo_addr())
            .or_fail("send a")?;
        b.send_to(format!("B{i}").as_bytes(), echo_addr())
            .or_fail("send b")?;
    }
    for (s, tag) in [(&a, b'A'), (&b, b'B')] {
        let mut buf = [0u8; 16];
        for i in 0..10 {
            let n = s.recv(&mut buf).or_fail("recv")?;
            ensure!(
                n >= 2 && buf[0] == tag,
                "socket {} got {:?} as datagram {}",
                tag as char,
                &buf[..n],
                i
            );
        }
    }
    a.set_nonblocking(true).or_fail("nonblock")?;
    let mut buf = [0u8; 16];
    ensure!(a.recv(&mut buf).is_err(), "socket A has extra datagrams");
    Ok(())
}

/// A socket made before fork works in both processes.
pub fn forkshare() -> TestResult {
    let s = udp(2000)?;
    s.bind_port(0).or_fail("bind")?;
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        let ok = s.send_to(b"from the child", echo_addr()).is_ok();
        sys::exit(if ok { 0 } else { 1 });
    }
    let (_, st) = sys::wait().or_fail("wait")?;
    ensure!(st == 0, "child could not send");
    expect_echo(&s, b"from the child", 2000)
}

/// Closing a socket frees its port; a bound port is in use.
pub fn closeport() -> TestResult {
    let s = udp(0)?;
    s.bind_port(0).or_fail("bind")?;
    let port = s.local_addr().or_fail("getsockname")?.port();
    let t = udp(0)?;
    t.bind_port(port).must_fail("bind to a port in use")?;
    drop(s);
    let u = udp(2000)?;
    u.bind(SockAddrIn::new([0; 4], port))
        .or_fail("bind after close")?;
    echo_once(&u, b"reused port", 2000)
}
