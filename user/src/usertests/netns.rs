//! Containers' networks (the kernel's `netglue.rs` and `bridge.rs`): each
//! container has its own stack at 10.0.3.N on the bridge; two bind the
//! same port; they reach each other by address over UDP and TCP; none
//! sees another's sockets or receives its traffic; none can take the
//! host's address or change its own; sockets stay on the host at `spawn`;
//! and containers that end leave every mbuf, socket, page and slot back.
//!
//! Containers talk through the pipes they inherit: a container that is
//! ready (bound, listening) writes one byte, which its peer waits for, a
//! bounded time.

use abi::net::{SockAddrIn, SHUT_WR, SOCK_DGRAM, SOCK_STREAM};
use abi::syscall::SysInfo;
use abi::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use ulib::ensure;
use ulib::netinfo;
use ulib::poll::{self, POLLIN};
use ulib::socket::Socket;
use ulib::sys::{self, Spawned};
use ulib::testing::{Check, TestResult};

/// The container directory these tests use.
const DIR: &str = "/ct-net";
/// The port every container binds.
const PORT: u16 = 7000;

/// Namespace `ns`'s address on the bridge.
fn bridge_addr(ns: u32) -> [u8; 4] {
    [10, 0, 3, ns as u8 + 1]
}

fn make_dir() -> TestResult {
    match sys::mkdir(DIR) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(format!("mkdir {DIR}: {}", e.message())),
    }
}

/// Spawns a container in [`DIR`] that runs `body` and exits 0 if it
/// passes.
fn spawn_running(body: impl FnOnce() -> TestResult) -> Result<Spawned, String> {
    crate::container::spawn_running(DIR, body)
}

/// Waits for each of `kids` and requires every one to have passed.
fn reap(kids: &[Spawned]) -> TestResult {
    let mut left = kids.len();
    while left > 0 {
        let (w, st) = sys::wait().or_fail("wait")?;
        if kids.iter().any(|k| k.pid == w) {
            ensure!(st == 0, "the container of pid {} failed (status {})", w, st);
            left -= 1;
        }
    }
    Ok(())
}

/// How long a peer may take to get ready: a container that failed before
/// signalling makes the test fail now, not hang until the suite's timeout.
const READY_MS: i32 = 20_000;

/// Waits for a byte on `r` (a peer is ready), at most [`READY_MS`].
fn await_ready(r: usize) -> TestResult {
    let mut fds = [poll::entry(r, POLLIN)];
    let ready = poll::poll(&mut fds, READY_MS).or_fail("poll ready")?;
    ensure!(ready == 1, "no peer ready after {} ms", READY_MS);
    let mut b = [0u8; 1];
    let n = sys::read(r, &mut b).or_fail("read ready")?;
    ensure!(n == 1, "the peer ended before it was ready");
    Ok(())
}

/// The container's address is 10.0.3.N, N its namespace's number plus
/// one, with the gateway 10.0.3.1 and a MAC of its own.
fn check_own_address() -> Result<[u8; 4], String> {
    let c = netinfo::get_ifconfig().or_fail("ifconfig")?;
    ensure!(
        c.addr[..3] == [10, 0, 3] && c.addr[3] >= 2,
        "address {:?}",
        c.addr
    );
    ensure!(
        c.gateway == [10, 0, 3, 1] && c.netmask == [255, 255, 255, 0],
        "gateway {:?} netmask {:?}",
        c.gateway,
        c.netmask
    );
    ensure!(
        c.mac == [2, 0, 10, 0, 3, c.addr[3]],
        "MAC {:?} for {:?}",
        c.mac,
        c.addr
    );
    Ok(c.addr)
}

/// Two containers bind the same UDP port and answer each other by
/// address; a third, bound to it too, receives none of it.
pub fn nsudp() -> TestResult {
    make_dir()?;
    let [ready_r, ready_w] = sys::pipe().or_fail("pipe")?;
    let [done_r, done_w] = sys::pipe().or_fail("pipe")?;
    // The echo: answers one datagram, from whoever sent it.
    let echo = spawn_running(|| {
        check_own_address()?;
        let s = Socket::udp().or_fail("socket")?;
        s.bind_port(PORT).or_fail("bind")?;
        s.set_timeout(5000).or_fail("timeout")?;
        sys::write(ready_w, b"e").or_fail("ready")?;
        let mut buf = [0u8; 64];
        let (n, from) = s.recv_from(&mut buf).or_fail("recv")?;
        s.send_to(&buf[..n], from).or_fail("send")?;
        Ok(())
    })?;
    // The bystander: on the same port, hears nothing.
    let bystander = spawn_running(|| {
        let s = Socket::udp().or_fail("socket")?;
        s.bind_port(PORT).or_fail("bind")?;
        sys::write(ready_w, b"b").or_fail("ready")?;
        await_ready(done_r)?;
        s.set_nonblocking(true).or_fail("nonblock")?;
        let mut buf = [0u8; 64];
        let r = s.recv_from(&mut buf);
        ensure!(r.err() == Some(Errno::EAGAIN), "received {:?}", r);
        Ok(())
    })?;
    await_ready(ready_r)?;
    await_ready(ready_r)?;
    let to = SockAddrIn::new(bridge_addr(echo.ns), PORT);
    let client = spawn_running(|| {
        let me = check_own_address()?;
        let s = Socket::udp().or_fail("socket")?;
        s.bind_port(PORT).or_fail("bind the same port")?;
        s.set_timeout(5000).or_fail("timeout")?;
        s.send_to(b"hello, neighbour", to).or_fail("send")?;
        let mut buf = [0u8; 64];
        let (n, from) = s.recv_from(&mut buf).or_fail("recv the echo")?;
        ensure!(&buf[..n] == b"hello, neighbour", "echo {:?}", &buf[..n]);
        ensure!(from == to, "echoed from {:?}", from);
        ensure!(me != to.addr_be, "the client has the echo's address");
        Ok(())
    })?;
    reap(&[echo, client])?;
    let _ = sys::write(done_w, b"d");
    reap(&[bystander])?;
    for fd in [ready_r, ready_w, done_r, done_w] {
        let _ = sys::close(fd);
    }
    Ok(())
}

/// A container serves TCP on a port another container connects to by
/// address: 20,000 bytes there and back.
pub fn nstcp() -> TestResult {
    make_dir()?;
    let [ready_r, ready_w] = sys::pipe().or_fail("pipe")?;
    let server = spawn_running(|| {
        let l = Socket::stream().or_fail("socket")?;
        l.bind_port(80).or_fail("bind")?;
        l.listen(1).or_fail("listen")?;
        sys::write(ready_w, b"s").or_fail("ready")?;
        let (c, _) = l.accept().or_fail("accept")?;
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match c.recv(&mut buf).or_fail("recv")? {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        sys::write_all(c.fd(), &got).or_fail("send back")?;
        Ok(())
    })?;
    await_ready(ready_r)?;
    let to = SockAddrIn::new(bridge_addr(server.ns), 80);
    let client = spawn_running(|| {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let s = Socket::stream().or_fail("socket")?;
        s.connect(to).or_fail("connect")?;
        sys::write_all(s.fd(), &data).or_fail("send")?;
        s.shutdown(SHUT_WR).or_fail("shutdown")?;
        let mut back = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match s.recv(&mut buf).or_fail("recv")? {
                0 => break,
                n => back.extend_from_slice(&buf[..n]),
            }
        }
        ensure!(
            back == data,
            "{} bytes came back, not the 20000 sent",
            back.len()
        );
        Ok(())
    })?;
    reap(&[server, client])?;
    let _ = sys::close(ready_r);
    let _ = sys::close(ready_w);
    Ok(())
}

/// A container's socket list is its own: one container's sockets are not
/// in another's list nor in the host's.
pub fn nsnetstat() -> TestResult {
    make_dir()?;
    let [ready_r, ready_w] = sys::pipe().or_fail("pipe")?;
    let [done_r, done_w] = sys::pipe().or_fail("pipe")?;
    let owner = spawn_running(|| {
        let u = Socket::udp().or_fail("socket")?;
        u.bind_port(7001).or_fail("bind")?;
        let l = Socket::stream().or_fail("socket")?;
        l.bind_port(81).or_fail("bind")?;
        l.listen(1).or_fail("listen")?;
        let mine = netinfo::sockets().or_fail("socklist")?;
        ensure!(mine.len() == 2, "{} sockets listed, not 2", mine.len());
        sys::write(ready_w, b"o").or_fail("ready")?;
        await_ready(done_r)?;
        Ok(())
    })?;
    await_ready(ready_r)?;
    let other = spawn_running(|| {
        let u = Socket::udp().or_fail("socket")?;
        u.bind_port(7002).or_fail("bind")?;
        let seen = netinfo::sockets().or_fail("socklist")?;
        let ports: Vec<u16> = seen.iter().map(|s| s.local.port()).collect();
        ensure!(
            ports == [7002],
            "the neighbour's list has ports {:?}",
            ports
        );
        ensure!(
            netinfo::arp_list().or_fail("arp")?.is_empty(),
            "a fresh container's ARP cache has entries"
        );
        Ok(())
    })?;
    reap(&[other])?;
    let host = netinfo::sockets().or_fail("socklist")?;
    ensure!(
        !host
            .iter()
            .any(|s| [7001, 7002, 81].contains(&s.local.port())),
        "the host lists a container's socket"
    );
    let _ = sys::write(done_w, b"d");
    reap(&[owner])?;
    for fd in [ready_r, ready_w, done_r, done_w] {
        let _ = sys::close(fd);
    }
    Ok(())
}

/// A container cannot bind the host's address, nor set its own; a
/// socket the host holds does not follow it into the container.
pub fn nsbindroot() -> TestResult {
    make_dir()?;
    let host = netinfo::get_ifconfig().or_fail("ifconfig")?;
    ensure!(host.addr != [0; 4], "the host has no address");
    let held = Socket::udp().or_fail("socket")?;
    held.bind_port(7003).or_fail("bind")?;
    let fd = held.fd();
    let c = spawn_running(|| {
        for kind in [SOCK_DGRAM, SOCK_STREAM] {
            let s = Socket::new(kind).or_fail("socket")?;
            let r = s.bind(SockAddrIn::new(host.addr, 7004));
            ensure!(
                r == Err(Errno::EADDRNOTAVAIL),
                "binding the host's address: {:?}",
                r
            );
        }
        let mut cfg = netinfo::get_ifconfig().or_fail("ifconfig")?;
        cfg.addr = bridge_addr(5);
        let r = netinfo::set_ifconfig(cfg);
        ensure!(
            r == Err(Errno::EPERM),
            "ifconfig set in a container: {:?}",
            r
        );
        ensure!(
            netinfo::start_dhcp() == Err(Errno::EPERM),
            "ifconfig dhcp in a container"
        );
        let r = sys::fstat(fd).map(|st| st.typ);
        ensure!(r == Err(Errno::EBADF), "the host's socket fd: {:?}", r);
        Ok(())
    })?;
    reap(&[c])?;
    drop(held);
    Ok(())
}

fn counts() -> Result<(SysInfo, u64, u64, usize), String> {
    let info = sys::sysinfo().or_fail("sysinfo")?;
    let c = netinfo::counters().or_fail("netstat")?;
    let get = |name: &str| c.iter().find(|c| c.name() == name).map_or(0, |c| c.value);
    // Free or posted for the NIC: not held by any stack.
    let idle = get("mbufs_free") + get("mbufs_rx_posted");
    let sockets = netinfo::sockets().or_fail("socklist")?.len();
    Ok((info, idle, get("mbufs_total"), sockets))
}

/// 100 containers, each leaving sockets open as it exits (a bound UDP
/// socket with a datagram queued, a listener, a TCP connection over its
/// loopback), each starting on an empty stack; after them every mbuf,
/// socket, page, process and namespace slot is back.
pub fn nsnetfree() -> TestResult {
    make_dir()?;
    let (start, start_idle, total, start_socks) = counts()?;
    for i in 0..100 {
        let c = spawn_running(|| {
            ensure!(
                netinfo::sockets().or_fail("socklist")?.is_empty(),
                "a new container's stack has sockets"
            );
            let u = Socket::udp().or_fail("socket")?;
            u.bind_port(PORT).or_fail("bind")?;
            let me = SockAddrIn::new([127, 0, 0, 1], PORT);
            u.send_to(b"left unread", me).or_fail("send")?;
            let l = Socket::stream().or_fail("socket")?;
            l.bind_port(80).or_fail("bind")?;
            l.listen(1).or_fail("listen")?;
            let t = Socket::stream().or_fail("socket")?;
            t.connect(SockAddrIn::new([127, 0, 0, 1], 80))
                .or_fail("connect")?;
            sys::write_all(t.fd(), b"unread bytes").or_fail("write")?;
            // Exit with all of them open.
            core::mem::forget((u, l, t));
            Ok(())
        })?;
        reap(&[c]).map_err(|e| format!("container {i}: {e}"))?;
    }
    let mut now = counts()?;
    // A container's last processes may still be going: look a while.
    for _ in 0..100 {
        if now.0.free_pages == start.free_pages
            && now.0.nproc == start.nproc
            && now.0.namespaces == start.namespaces
            && now.1 == start_idle
            && now.3 == start_socks
        {
            return Ok(());
        }
        sys::sleep(2).or_fail("sleep")?;
        now = counts()?;
    }
    Err(format!(
        "before/after: pages {}/{}, processes {}/{}, namespaces {}/{}, idle mbufs {}/{} of {}, sockets {}/{}",
        start.free_pages,
        now.0.free_pages,
        start.nproc,
        now.0.nproc,
        start.namespaces,
        now.0.namespaces,
        start_idle,
        now.1,
        total,
        start_socks,
        now.3,
    ))
}
