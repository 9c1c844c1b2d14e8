//! TCP over loopback: a refused connection, the stream calls' options
//! and errors, 32 clients of `tcpecho` at once, and processes killed while
//! blocked in accept and in recv.

use crate::procs::{connect_when_up, spawn, stop, wait_for};
use abi::net::SockAddrIn;
use abi::Errno;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use ulib::ensure;
use ulib::socket::Socket;
use ulib::tcp::{TcpListener, TcpStream};
use ulib::testing::{Check, TestResult};
use ulib::{sys, time};

pub const LOOPBACK: [u8; 4] = [127, 0, 0, 1];
/// Nobody listens here.
const CLOSED_PORT: u16 = 1;
pub const ECHO_PORT: u16 = 7007;
/// tcpecho's clients at once.
const ECHO_CLIENTS: usize = 32;
/// How long a client waits to connect, and then for each read.
const CLIENT_TIMEOUT_MS: u64 = 20_000;

pub fn at(port: u16) -> SockAddrIn {
    SockAddrIn::new(LOOPBACK, port)
}

/// Nobody listens: ECONNREFUSED at once (a RST answers the SYN).
pub fn tcprefused() -> TestResult {
    let t0 = sys::uptime();
    let r = TcpStream::connect(at(CLOSED_PORT));
    ensure!(
        matches!(r, Err(Errno::ECONNREFUSED)),
        "connect to a closed port gave {:?} (want ECONNREFUSED)",
        r.map(|_| ())
    );
    ensure!(
        sys::uptime() - t0 < 100,
        "refusal took {} ticks",
        sys::uptime() - t0
    );
    Ok(())
}

/// 32 clients connect to tcpecho, all before any sends; each then
/// echoes its own 4 KiB and checks it came back unchanged.
pub fn tcpecho32() -> TestResult {
    let echo = spawn(&["tcpecho", "7007"])?;
    let r = echo_clients(echo);
    stop(echo);
    r
}

fn echo_clients(echo: usize) -> TestResult {
    drop(connect_when_up(ECHO_PORT)?);
    let [go_r, go_w] = sys::pipe().or_fail("pipe")?;
    let [ready_r, ready_w] = sys::pipe().or_fail("pipe")?;
    let mut clients = Vec::new();
    let mut fork_error = None;
    for c in 0..ECHO_CLIENTS {
        match sys::fork() {
            Ok(0) => {
                let _ = (sys::close(go_w), sys::close(ready_r));
                sys::exit(match echo_client(c, go_r, ready_w) {
                    Ok(()) => 0,
                    Err(e) => {
                        ulib::println!("  client {}: {}", c, e);
                        1
                    }
                });
            }
            Ok(pid) => clients.push(pid),
            Err(e) => {
                fork_error = Some(e);
                break;
            }
        }
    }
    let _ = (sys::close(go_r), sys::close(ready_w));
    // Every client connected before any sends: 32 connections at once.
    // (Each client closes its end once it wrote, or exits, so this read
    // ends either way.)
    let mut ready = vec![0u8; ECHO_CLIENTS];
    let got = sys::read_full(ready_r, &mut ready).unwrap_or(0);
    let _ = (sys::close(go_w), sys::close(ready_r));
    // Reap every client before judging, so none is left blocked.
    let (mut failed, mut left) = (0, clients.len());
    while left > 0 {
        let (pid, st) = sys::wait().or_fail("wait")?;
        ensure!(pid != echo, "tcpecho exited (status {})", st);
        if clients.contains(&pid) {
            failed += (st != 0) as usize;
            left -= 1;
        }
    }
    if let Some(e) = fork_error {
        return Err(format!("fork of client {}: {}", clients.len(), e.message()));
    }
    ensure!(
        got == ECHO_CLIENTS,
        "only {} of {} clients connected",
        got,
        ECHO_CLIENTS
    );
    ensure!(failed == 0, "{} of {} clients failed", failed, ECHO_CLIENTS);
    Ok(())
}

fn echo_client(c: usize, go: usize, ready: usize) -> TestResult {
    // A SYN the full backlog dropped is sent again after 1, 3, 7 s...
    let s = TcpStream::connect_timeout(at(ECHO_PORT), CLIENT_TIMEOUT_MS).or_fail("connect")?;
    sys::write(ready, b"r").or_fail("ready")?;
    // Closed now, so the parent's read ends (short) if a sibling fails
    // to connect and exits, instead of waiting for its byte for ever.
    let _ = sys::close(ready);
    let mut b = [0u8; 1];
    let _ = sys::read(go, &mut b); // end of file: go
    let msg: Vec<u8> = (0..4096).map(|i| (i * 7 + c * 13) as u8).collect();
    s.write_all(&msg).or_fail("write")?;
    let mut back = vec![0u8; msg.len()];
    let n = s.read_full(&mut back).or_fail("read")?;
    ensure!(n == msg.len(), "{} of {} bytes came back", n, msg.len());
    ensure!(back == msg, "the echo differs");
    s.shutdown_write().or_fail("shutdown")?;
    ensure!(s.read(&mut back) == Ok(0), "no end of file after the echo");
    Ok(())
}

/// A process blocked in accept, then one blocked in recv, is killed: it
/// dies at once, its listener's port is free again, and its connection
/// ends for the peer (end of file or reset, not silence).
pub fn tcpkill() -> TestResult {
    const PORT: u16 = 7100;
    let [r, w] = sys::pipe().or_fail("pipe")?;
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        let l = TcpListener::bind(PORT);
        let _ = sys::write(w, if l.is_ok() { b"y" } else { b"n" });
        if let Ok(l) = l {
            let _ = l.accept();
        }
        sys::exit(0);
    }
    let mut b = [0u8; 1];
    sys::read(r, &mut b).or_fail("read")?;
    ensure!(b[0] == b'y', "child could not listen");
    sys::sleep(5).or_fail("sleep")?;
    let t0 = sys::uptime();
    sys::kill(pid).or_fail("kill")?;
    let st = wait_for(pid)?;
    ensure!(st != 0, "child blocked in accept exited {}", st);
    ensure!(
        sys::uptime() - t0 < 100,
        "killed in accept: {} ticks to die",
        sys::uptime() - t0
    );
    drop(TcpListener::bind(PORT).or_fail("listen again on the dead listener's port")?);

    // Blocked in recv.
    let l = TcpListener::bind(PORT).or_fail("listen")?;
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        if let Ok(s) = TcpStream::connect(at(PORT)) {
            let _ = sys::write(w, b"c");
            let mut buf = [0u8; 16];
            let _ = s.read(&mut buf);
        }
        sys::exit(0);
    }
    let (conn, _) = l.accept().or_fail("accept")?;
    sys::read(r, &mut b).or_fail("read")?;
    sys::sleep(5).or_fail("sleep")?;
    let t0 = sys::uptime();
    sys::kill(pid).or_fail("kill")?;
    let st = wait_for(pid)?;
    ensure!(st != 0, "child blocked in recv exited {}", st);
    ensure!(
        sys::uptime() - t0 < 100,
        "killed in recv: {} ticks to die",
        sys::uptime() - t0
    );
    conn.set_timeout(3000).or_fail("set_timeout")?;
    let mut buf = [0u8; 16];
    match conn.read(&mut buf) {
        Ok(0) | Err(Errno::ECONNRESET) => {}
        other => return Err(format!("the dead process's peer read {:?}", other)),
    }
    let _ = (sys::close(r), sys::close(w));
    Ok(())
}

/// The stream calls' options and errors: non-blocking connect and
/// accept, a receive timeout, getpeername, TCP_NODELAY and SO_REUSEADDR,
/// stream calls on a datagram socket, bad directions and pointers.
pub fn tcpcalls() -> TestResult {
    use abi::net::{
        SHUT_WR, SOCK_STREAM, SOL_SOCKET, SOL_TCP, SO_REUSEADDR, TCP_NODELAY, TCP_STATES,
    };
    use ulib::poll::{entry, poll, POLLERR, POLLIN, POLLOUT};
    use ulib::syscall as raw;
    const PORT: u16 = 7500;
    let l = TcpListener::bind(PORT).or_fail("listen")?;
    l.socket()
        .set_nonblocking(true)
        .or_fail("set_nonblocking")?;
    ensure!(
        matches!(l.accept(), Err(Errno::EAGAIN)),
        "non-blocking accept with nobody connecting did not give EAGAIN"
    );
    // Non-blocking connect: at once, done or in progress; then writable.
    let c = Socket::stream().or_fail("socket")?;
    c.set_nonblocking(true).or_fail("set_nonblocking")?;
    match c.connect(at(PORT)) {
        Ok(()) | Err(Errno::EINPROGRESS) => {}
        Err(e) => return Err(format!("non-blocking connect: {}", e.message())),
    }
    let mut fds = [entry(c.fd(), POLLOUT)];
    poll(&mut fds, 2000).or_fail("poll")?;
    ensure!(
        fds[0].revents == POLLOUT,
        "connecting socket polled {:#x}",
        fds[0].revents
    );
    let (a, peer) = l.accept().or_fail("accept")?;
    ensure!(
        peer == c.local_addr().or_fail("getsockname")?,
        "accept's peer {:?} is not the client's address",
        peer
    );
    ensure!(
        c.peer_addr().or_fail("getpeername")? == at(PORT),
        "getpeername is not the listener's address"
    );
    ensure!(
        a.peer_addr().or_fail("getpeername")? == peer,
        "accepted socket's peer differs"
    );
    // netstat's view: the listener and both ends, with their states.
    let list = ulib::netinfo::sockets().or_fail("socklist")?;
    let state = |local: SockAddrIn, remote: SockAddrIn| {
        list.iter()
            .find(|i| {
                i.kind as usize == SOCK_STREAM
                    && i.local.port_be == local.port_be
                    && i.remote == remote
            })
            .map(|i| TCP_STATES.get(i.state as usize).copied().unwrap_or("?"))
    };
    let any = SockAddrIn::new([0; 4], 0);
    let client = c.local_addr().or_fail("getsockname")?;
    let (ls, cs, ss) = (
        state(at(PORT), any),
        state(client, at(PORT)),
        state(at(PORT), client),
    );
    ensure!(
        ls == Some("LISTEN") && cs == Some("ESTABLISHED") && ss == Some("ESTABLISHED"),
        "socklist: listener {:?}, client {:?}, server side {:?}",
        ls,
        cs,
        ss
    );
    // A receive timeout: EAGAIN after about that long.
    a.set_timeout(300).or_fail("set_timeout")?;
    let t0 = time::now_us();
    let mut buf = [0u8; 8];
    ensure!(
        matches!(a.read(&mut buf), Err(Errno::EAGAIN)),
        "recv with timeout did not give EAGAIN"
    );
    let ms = (time::now_us() - t0) / 1000;
    ensure!(
        (299..1500).contains(&ms),
        "a 300 ms receive timeout took {} ms",
        ms
    );
    // Options.
    a.set_nodelay(true).or_fail("TCP_NODELAY")?;
    c.set_reuseaddr(true).or_fail("SO_REUSEADDR")?;
    let u = Socket::udp().or_fail("socket")?;
    ensure!(
        u.set_option(SOL_TCP, TCP_NODELAY, 1) == Err(Errno::ENOPROTOOPT),
        "TCP_NODELAY on a datagram socket"
    );
    ensure!(
        u.listen(1) == Err(Errno::EOPNOTSUPP),
        "listen on a datagram socket"
    );
    ensure!(u.accept().is_err(), "accept on a datagram socket");
    ensure!(
        u.shutdown(SHUT_WR).is_err(),
        "shutdown of a datagram socket"
    );
    ensure!(a.socket().shutdown(7) == Err(Errno::EINVAL), "shutdown(7)");
    ensure!(
        u.set_option(SOL_SOCKET, SO_REUSEADDR, 1).is_ok(),
        "SO_REUSEADDR on a datagram socket refused"
    );
    // A non-blocking stream: EAGAIN when nothing arrived; sendto with an
    // address goes to the peer.
    c.set_nonblocking(true).or_fail("set_nonblocking")?;
    ensure!(
        matches!(c.recv(&mut buf), Err(Errno::EAGAIN)),
        "non-blocking recv did not give EAGAIN"
    );
    c.send_to(b"via sendto", SockAddrIn::new([1, 2, 3, 4], 9))
        .or_fail("sendto on a stream")?;
    a.set_timeout(2000).or_fail("set_timeout")?;
    let mut got = [0u8; 16];
    let n = a.read_full(&mut got[..10]).or_fail("read")?;
    ensure!(&got[..n] == b"via sendto", "the peer read {:?}", &got[..n]);
    // Bad pointers: EFAULT, with something there to accept and to read.
    let wild = 0xffff_ffff_ffffusize;
    let d = Socket::stream().or_fail("socket")?;
    d.connect(at(PORT)).or_fail("connect")?;
    c.send(b"x").or_fail("send")?;
    // Both stay ready once they are (poll is level-triggered).
    let mut ready = [entry(a.fd(), POLLIN), entry(l.fd(), POLLIN)];
    let t0 = time::now_us();
    while time::now_us() - t0 < 2_000_000 {
        poll(&mut ready, 100).or_fail("poll")?;
        if ready.iter().all(|p| p.revents != 0) {
            break;
        }
        sys::sleep(1).or_fail("sleep")?;
    }
    ensure!(
        ready.iter().all(|p| p.revents == POLLIN),
        "data and a connection: revents {:?}",
        [ready[0].revents, ready[1].revents]
    );
    // SAFETY: wild pointers the kernel must refuse.
    let (peer_r, accept_r, read_r) = unsafe {
        (
            raw::getpeername(a.fd(), wild as *mut SockAddrIn, core::ptr::null_mut()),
            raw::accept(l.fd(), wild as *mut SockAddrIn, core::ptr::null_mut()),
            raw::read(a.fd(), wild as *mut u8, 8),
        )
    };
    ensure!(
        peer_r == Err(Errno::EFAULT)
            && accept_r == Err(Errno::EFAULT)
            && read_r == Err(Errno::EFAULT),
        "wild pointers: getpeername {:?}, accept {:?}, read {:?} (want EFAULT each)",
        peer_r,
        accept_r,
        read_r
    );
    // A connection refused while non-blocking: reported by poll and the
    // next call.
    let r = Socket::stream().or_fail("socket")?;
    r.set_nonblocking(true).or_fail("set_nonblocking")?;
    match r.connect(at(CLOSED_PORT)) {
        Err(Errno::ECONNREFUSED) => {}
        Err(Errno::EINPROGRESS) => {
            let mut fds = [entry(r.fd(), POLLOUT)];
            poll(&mut fds, 2000).or_fail("poll")?;
            ensure!(
                fds[0].revents & POLLERR != 0,
                "refused connect polled {:#x}",
                fds[0].revents
            );
        }
        other => {
            return Err(format!(
                "non-blocking connect to a closed port: {:?}",
                other
            ))
        }
    }
    Ok(())
}

/// Connections opened and closed in [`tcpchurn`].
const CHURN: usize = 10_000;
/// Port of its listener.
const CHURN_PORT: u16 = 7010;

/// 10,000 connections over loopback, each carrying a byte and closed by
/// both ends: none fails, and once the last TIME-WAIT has run out no TCP
/// socket is left (the test `resources`, which runs last, checks that
/// every page and mbuf came back too).
pub fn tcpchurn() -> TestResult {
    let l = TcpListener::bind(CHURN_PORT).or_fail("listen")?;
    let t0 = time::now_us();
    for i in 0..CHURN {
        let c = TcpStream::connect(at(CHURN_PORT))
            .map_err(|e| format!("connection {i}: connect: {}", e.message()))?;
        let (s, _) = l
            .accept()
            .map_err(|e| format!("connection {i}: accept: {}", e.message()))?;
        c.write_all(b"x").or_fail("write")?;
        let mut b = [0u8; 1];
        ensure!(
            s.read(&mut b) == Ok(1) && b == *b"x",
            "connection {i}: the byte did not arrive"
        );
        drop(c);
        ensure!(
            s.read(&mut b) == Ok(0),
            "connection {i}: no end of file after the peer closed"
        );
    }
    ulib::println!(
        "  {CHURN} connections in {} ms",
        (time::now_us() - t0) / 1000
    );
    drop(l);
    // TIME-WAIT lasts 2 MSL (4 s); then nothing of TCP may remain.
    let deadline = time::now_us() + 10_000_000;
    loop {
        let left = ulib::netinfo::sockets()
            .or_fail("socklist")?
            .iter()
            .filter(|s| s.kind as usize == abi::net::SOCK_STREAM)
            .count();
        if left == 0 {
            return Ok(());
        }
        ensure!(
            time::now_us() < deadline,
            "{left} TCP sockets left 10 s after the last connection closed"
        );
        sys::sleep(10).or_fail("sleep")?;
    }
}

/// A connect that takes longer than SO_RCVTIMEO: EINPROGRESS when the
/// timeout passes, EALREADY while the handshake goes on, POLLOUT when it
/// completes later. The listener's backlog is full (one connection
/// waits for accept), so the first SYN is dropped; once that one is
/// accepted, the SYN sent again a second later is answered.
pub fn tcpslowconnect() -> TestResult {
    use ulib::poll::{entry, poll, POLLOUT};
    const PORT: u16 = 7501;
    let l = Socket::stream().or_fail("socket")?;
    l.set_reuseaddr(true).or_fail("SO_REUSEADDR")?;
    l.bind_port(PORT).or_fail("bind")?;
    l.listen(1).or_fail("listen")?;
    let first = TcpStream::connect(at(PORT)).or_fail("connect")?;
    let c = Socket::stream().or_fail("socket")?;
    c.set_timeout(300).or_fail("set_timeout")?;
    let t0 = time::now_us();
    let r = c.connect(at(PORT));
    let ms = (time::now_us() - t0) / 1000;
    ensure!(
        r == Err(Errno::EINPROGRESS),
        "connect to a full backlog with a 300 ms timeout gave {:?}",
        r
    );
    ensure!((299..900).contains(&ms), "it gave up after {} ms", ms);
    let again = c.connect(at(PORT));
    ensure!(
        again == Err(Errno::EALREADY),
        "connect while the handshake goes on gave {:?}",
        again
    );
    drop(l.accept().or_fail("accept the first")?);
    let mut fds = [entry(c.fd(), POLLOUT)];
    poll(&mut fds, 3000).or_fail("poll")?;
    ensure!(
        fds[0].revents == POLLOUT,
        "the late handshake polled {:#x}",
        fds[0].revents
    );
    let (a, peer) = l.accept().or_fail("accept the late one")?;
    ensure!(
        peer == c.local_addr().or_fail("getsockname")?,
        "accepted someone else"
    );
    c.send(b"late").or_fail("send")?;
    a.set_timeout(2000).or_fail("set_timeout")?;
    let mut got = [0u8; 4];
    let n = TcpStream::from_socket(a)
        .read_full(&mut got)
        .or_fail("read")?;
    ensure!(&got[..n] == b"late", "read {:?}", &got[..n]);
    drop(first);
    Ok(())
}

/// SO_KEEPALIVE over loopback: its settings refuse values out of range;
/// with a one-second idle time the kernel probes, the other end answers
/// each probe, and the connection carries on.
pub fn tcpkeepalive() -> TestResult {
    use abi::net::{SOL_SOCKET, SOL_TCP, SO_KEEPALIVE, TCP_KEEPCNT, TCP_KEEPIDLE};
    const PORT: u16 = 7502;
    let l = TcpListener::bind(PORT).or_fail("listen")?;
    let c = TcpStream::connect(at(PORT)).or_fail("connect")?;
    let (a, _) = l.accept().or_fail("accept")?;
    let s = c.socket();
    for (opt, v) in [(TCP_KEEPIDLE, 0), (TCP_KEEPIDLE, 32768), (TCP_KEEPCNT, 128)] {
        ensure!(
            s.set_option(SOL_TCP, opt, v) == Err(Errno::EINVAL),
            "keep-alive option {} = {} accepted",
            opt,
            v
        );
    }
    let u = Socket::udp().or_fail("socket")?;
    ensure!(
        u.set_option(SOL_SOCKET, SO_KEEPALIVE, 1) == Err(Errno::ENOPROTOOPT),
        "SO_KEEPALIVE on a datagram socket"
    );
    let probes = || ulib::netinfo::counter("tcp_keepalive_probes");
    let before = probes().or_fail("netstat")?.unwrap_or(0);
    s.set_keepalive(1, 1, 2).or_fail("SO_KEEPALIVE")?;
    sys::sleep(abi::syscall::TICK_HZ as usize * 5 / 2).or_fail("sleep")?;
    let sent = probes().or_fail("netstat")?.unwrap_or(0) - before;
    ensure!(
        (2..=3).contains(&sent),
        "{} keep-alive probes in 2.5 s of silence (want 2)",
        sent
    );
    a.write_all(b"k").or_fail("write")?;
    c.set_timeout(2000).or_fail("set_timeout")?;
    let mut got = [0u8; 1];
    ensure!(
        c.read(&mut got) == Ok(1) && got == *b"k",
        "the probed connection no longer carries data"
    );
    Ok(())
}
