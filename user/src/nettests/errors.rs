//! Error paths: ICMP port unreachable surfacing as ECONNREFUSED, receive
//! timeouts and non-blocking mode, the receive queue's byte limit, a
//! process killed while blocked in recvfrom, and every socket call given
//! bad arguments.

use crate::util::{echo_addr, udp, GUEST, HOST};
use abi::net::{
    MMsg, SockAddrIn, AF_INET, RCVBUF_MAX, RCVBUF_MIN, SOCK_DGRAM, SOCK_ICMP, SOL_SOCKET,
    SO_RCVBUF, SO_RCVTIMEO_MS,
};
use abi::Errno;
use alloc::format;
use core::mem::size_of;
use core::ptr;
use ulib::ensure;
use ulib::socket::Socket;
use ulib::syscall as raw;
use ulib::testing::{Check, TestResult};
use ulib::{netinfo, sys};

/// A port nobody listens on, on the guest and (we assume) on the host.
const CLOSED_PORT: u16 = 1;

/// A datagram to a closed port draws ICMP port unreachable, which a
/// connected socket reports as ECONNREFUSED (as Linux does). Tried against
/// the guest itself first, then the host (QEMU's user network may not pass
/// the host's ICMP errors on).
pub fn unreach() -> TestResult {
    let counter = || {
        let cs = netinfo::counters().ok()?;
        let names = ["icmp_unreach_in", "icmp_port_unreach_rx"];
        cs.iter()
            .find(|c| names.contains(&c.name()))
            .map(|c| c.value)
    };
    let before = counter();
    for ip in [GUEST, HOST] {
        let s = udp(1500)?;
        s.connect(SockAddrIn::new(ip, CLOSED_PORT))
            .or_fail("connect")?;
        s.send(b"anyone there?").or_fail("send")?;
        let mut buf = [0u8; 64];
        match s.recv(&mut buf) {
            Err(Errno::ECONNREFUSED) => return Ok(()),
            Err(Errno::ETIMEDOUT | Errno::EAGAIN) => {}
            Ok(n) => return Err(format!("closed port answered with {} bytes", n)),
            Err(e) => return Err(format!("recv: {} (want ECONNREFUSED)", e.message())),
        }
    }
    match (before, counter()) {
        (Some(b), Some(a)) if a > b => Err(format!(
            "ICMP unreachable counter went {} -> {} but no socket saw ECONNREFUSED",
            b, a
        )),
        _ => Err("no ICMP port unreachable came back (ECONNREFUSED)".into()),
    }
}

/// Non-blocking receive on an empty queue gives EAGAIN at once; a receive
/// timeout gives EAGAIN (or ETIMEDOUT) after about that long.
pub fn timeouts() -> TestResult {
    let s = Socket::udp().or_fail("socket")?;
    s.bind_port(0).or_fail("bind")?;
    s.set_nonblocking(true).or_fail("set_nonblocking")?;
    let mut buf = [0u8; 16];
    let t0 = sys::uptime();
    ensure!(
        s.recv(&mut buf) == Err(Errno::EAGAIN),
        "non-blocking recv did not give EAGAIN"
    );
    ensure!(sys::uptime() - t0 < 10, "non-blocking recv blocked");
    s.set_nonblocking(false).or_fail("set_nonblocking(false)")?;
    s.set_timeout(300).or_fail("set_timeout")?;
    // Timed with the clock the kernel's timeouts use: ticks fall behind
    // when QEMU is busy.
    let t0 = ulib::time::now_us();
    let r = s.recv(&mut buf);
    let took = (ulib::time::now_us() - t0) / 1000;
    ensure!(
        matches!(r, Err(Errno::EAGAIN | Errno::ETIMEDOUT)),
        "recv with timeout gave {:?}",
        r
    );
    ensure!(
        (299..1500).contains(&took),
        "a 300 ms timeout took {} ms",
        took
    );
    Ok(())
}

/// `SO_RCVBUF` bounds a socket's queue in bytes, each datagram counting
/// the 2 KiB buffer it holds: with room for two, two of five datagrams
/// sent to ourselves wait and three are dropped and counted; raised, the
/// queue takes all five. Bad values are refused.
pub fn rcvbuf() -> TestResult {
    let r = Socket::udp().or_fail("socket")?;
    r.bind_port(0).or_fail("bind")?;
    let me = SockAddrIn::new(GUEST, r.local_addr().or_fail("getsockname")?.port());
    r.set_nonblocking(true).or_fail("set_nonblocking")?;
    for bad in [0, RCVBUF_MIN - 1, RCVBUF_MAX + 1, u64::MAX] {
        r.set_rcvbuf(bad).must_fail(&format!("SO_RCVBUF {bad}"))?;
    }
    // SAFETY: a live 8-byte local, but the length says 4.
    unsafe { raw::setsockopt(r.fd(), SOL_SOCKET, SO_RCVBUF, [0u8; 8].as_ptr(), 4) }
        .must_fail("SO_RCVBUF with optlen 4")?;
    let full = || {
        netinfo::counter("drop_socket_queue_full")
            .ok()
            .flatten()
            .unwrap_or(0)
    };
    let s = Socket::udp().or_fail("socket")?;
    let mut buf = [0u8; 64];
    for (limit, queued) in [(2 * RCVBUF_MIN, 2), (RCVBUF_MAX, 5)] {
        r.set_rcvbuf(limit).or_fail("set_rcvbuf")?;
        let before = full();
        for i in 0..5u8 {
            s.send_to(&[i; 10], me).or_fail("send_to ourselves")?;
        }
        let mut got = 0;
        while r.recv(&mut buf).is_ok() {
            ensure!(buf[0] == got, "datagram {} came as {}", got, buf[0]);
            got += 1;
        }
        ensure!(
            got == queued,
            "SO_RCVBUF {}: {} of 5 queued, not {}",
            limit,
            got,
            queued
        );
        let dropped = full() - before;
        ensure!(
            dropped == 5 - queued as u64,
            "SO_RCVBUF {}: drop_socket_queue_full moved {}",
            limit,
            dropped
        );
    }
    Ok(())
}

/// A process blocked in recvfrom dies promptly when killed. (Its receive
/// has a 10 s timeout, so a kill that does not work fails the test
/// instead of hanging it.)
pub fn killrecv() -> TestResult {
    let s = udp(10_000)?;
    s.bind_port(0).or_fail("bind")?;
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        let mut buf = [0u8; 16];
        let _ = s.recv(&mut buf);
        sys::exit(0);
    }
    sys::sleep(5).or_fail("sleep")?;
    let t0 = sys::uptime();
    sys::kill(pid).or_fail("kill")?;
    let (w, st) = sys::wait().or_fail("wait")?;
    ensure!(w == pid && st != 0, "child {} exit status {}", w, st);
    ensure!(
        sys::uptime() - t0 < 100,
        "killed child took {} ticks",
        sys::uptime() - t0
    );
    // The socket still works in the parent.
    s.set_timeout(2000).or_fail("set_timeout")?;
    crate::util::echo_once(&s, b"after kill", 2000)
}

/// `sendmmsg` sends up to the first bad message and says how many it sent;
/// a bad first message is its error; no message is no datagram.
fn sendmmsg_stops(fd: usize, to: SockAddrIn) -> TestResult {
    let msg = |buf: u64, addrlen: usize| MMsg {
        buf,
        len: 10,
        addr: &to as *const SockAddrIn as u64,
        addrlen: addrlen as u32,
        sent: 0,
    };
    let good = [0u8; 10];
    let mut msgs = [
        msg(good.as_ptr() as u64, size_of::<SockAddrIn>()),
        msg(8, size_of::<SockAddrIn>()),
    ];
    // SAFETY: `msgs` is live and holds 2 messages; the second's buffer is
    // wild, for the kernel to refuse.
    let n = unsafe { raw::sendmmsg(fd, msgs.as_mut_ptr(), 2, 0) }.or_fail("sendmmsg(good, bad)")?;
    ensure!(n == 1, "sendmmsg(good, bad) sent {n}, not 1");
    ensure!(
        msgs[0].sent == 10 && msgs[1].sent == 0,
        "sendmmsg(good, bad) filled in {} and {}",
        msgs[0].sent,
        msgs[1].sent
    );
    msgs.swap(0, 1);
    // SAFETY: as above.
    unsafe { raw::sendmmsg(fd, msgs.as_mut_ptr(), 2, 0) }.must_fail("sendmmsg(bad, good)")?;
    msgs[0] = msg(good.as_ptr() as u64, 3);
    // SAFETY: as above; an address length too short.
    unsafe { raw::sendmmsg(fd, msgs.as_mut_ptr(), 1, 0) }.must_fail("sendmmsg(addrlen 3)")?;
    // SAFETY: no message is read.
    let n = unsafe { raw::sendmmsg(fd, msgs.as_mut_ptr(), 0, 0) }.or_fail("sendmmsg of none")?;
    ensure!(n == 0, "sendmmsg of no message sent {n}");
    let tcp = Socket::stream().or_fail("socket(SOCK_STREAM)")?;
    // SAFETY: as above.
    let r = unsafe { raw::sendmmsg(tcp.fd(), msgs.as_mut_ptr(), 1, 0) };
    ensure!(
        r == Err(Errno::EOPNOTSUPP),
        "sendmmsg on a stream socket: {r:?}, not EOPNOTSUPP"
    );
    Ok(())
}

/// Every misuse fails with an error.
pub fn badargs() -> TestResult {
    const ALEN: usize = size_of::<SockAddrIn>();
    let wild = [
        8usize,
        0x8000_0000,
        0xffff_ffff_ffff,
        1 << 38,
        usize::MAX - 7,
    ];
    // SAFETY: (for all raw calls below) pointers are either live locals or wild
    // addresses the kernel must refuse.
    unsafe {
        raw::socket(99, SOCK_DGRAM, 0).must_fail("socket(domain 99)")?;
        raw::socket(AF_INET as usize, 77, 0).must_fail("socket(type 77)")?;
        raw::socket(AF_INET as usize, SOCK_DGRAM, 99).must_fail("socket(protocol 99)")?;
    }
    let s = Socket::udp().or_fail("socket")?;
    let fd = s.fd();
    let good = echo_addr();
    let mut buf = [0u8; 64];
    // SAFETY: as above: wild pointers the kernel must refuse, or live locals.
    unsafe {
        raw::bind(fd, ptr::null(), ALEN).must_fail("bind(null)")?;
        raw::bind(fd, &good, 3).must_fail("bind(addrlen 3)")?;
        raw::connect(fd, &good, 3).must_fail("connect(addrlen 3)")?;
        raw::sendto(fd, b"x".as_ptr(), 1, 0, &good, 3).must_fail("sendto(addrlen 3)")?;
        raw::sendto(fd, b"x".as_ptr(), 1, 0, ptr::null(), 0)
            .must_fail("sendto unconnected without address")?;
        for a in wild {
            raw::bind(fd, a as *const SockAddrIn, ALEN).must_fail(&format!("bind({a:#x})"))?;
            raw::connect(fd, a as *const SockAddrIn, ALEN)
                .must_fail(&format!("connect({a:#x})"))?;
            raw::sendto(fd, a as *const u8, 10, 0, &good, ALEN)
                .must_fail(&format!("sendto(buf {a:#x})"))?;
            raw::sendto(fd, b"x".as_ptr(), 1, 0, a as *const SockAddrIn, ALEN)
                .must_fail(&format!("sendto(addr {a:#x})"))?;
            raw::getsockname(fd, a as *mut SockAddrIn, &mut (ALEN as u32))
                .must_fail(&format!("getsockname({a:#x})"))?;
            raw::sendmmsg(fd, a as *mut MMsg, 1, 0).must_fail(&format!("sendmmsg({a:#x})"))?;
            raw::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO_MS, a as *const u8, 8)
                .must_fail(&format!("setsockopt({a:#x})"))?;
        }
        raw::setsockopt(fd, SOL_SOCKET, 9999, [0u8; 8].as_ptr(), 8)
            .must_fail("setsockopt(unknown option)")?;
        raw::setsockopt(fd, 9999, SO_RCVTIMEO_MS, [0u8; 8].as_ptr(), 8)
            .must_fail("setsockopt(unknown level)")?;
        raw::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO_MS, [0u8; 8].as_ptr(), 2)
            .must_fail("setsockopt(optlen 2)")?;
    }
    sendmmsg_stops(fd, good)?;
    // Too big for one datagram.
    let big = alloc::vec![0u8; 70_000];
    s.send_to(&big, good).must_fail("sendto of 70000 bytes")?;
    // Socket calls on a file that is not a socket.
    let (r, w) = match sys::pipe().or_fail("pipe")? {
        [r, w] => (r, w),
    };
    // SAFETY: as above: wild pointers the kernel must refuse, or live locals.
    unsafe {
        raw::bind(r, &good, ALEN).must_fail("bind on a pipe")?;
        raw::sendto(w, b"x".as_ptr(), 1, 0, &good, ALEN).must_fail("sendto on a pipe")?;
        raw::recvfrom(r, buf.as_mut_ptr(), 1, 0, ptr::null_mut(), ptr::null_mut())
            .must_fail("recvfrom on a pipe")?;
        raw::bind(999, &good, ALEN).must_fail("bind on fd 999")?;
    }
    let _ = (sys::close(r), sys::close(w));
    // Receiving into wild buffers, with a datagram waiting each time: each
    // datagram is consumed and counted, never lost silently.
    let faults_before = copy_faults()?;
    let t = udp(2000)?;
    t.bind_port(0).or_fail("bind")?;
    for a in wild {
        t.send_to(b"wild", echo_addr()).or_fail("sendto")?;
        sys::sleep(2).or_fail("sleep")?;
        // SAFETY: as above: wild pointers the kernel must refuse, or live locals.
        unsafe {
            raw::recvfrom(
                t.fd(),
                a as *mut u8,
                64,
                0,
                ptr::null_mut(),
                ptr::null_mut(),
            )
            .must_fail(&format!("recvfrom(buf {a:#x})"))?;
        }
        t.send_to(b"wild", echo_addr()).or_fail("sendto")?;
        sys::sleep(2).or_fail("sleep")?;
        let mut len = ALEN as u32;
        // SAFETY: as above: wild pointers the kernel must refuse, or live locals.
        unsafe {
            raw::recvfrom(
                t.fd(),
                buf.as_mut_ptr(),
                64,
                0,
                a as *mut SockAddrIn,
                &mut len,
            )
            .must_fail(&format!("recvfrom(addr {a:#x})"))?;
        }
    }
    let faults = copy_faults()? - faults_before;
    ensure!(
        faults == 2 * wild.len() as u64,
        "drop_socket_copy_fault moved by {} for {} faulting receives",
        faults,
        2 * wild.len()
    );
    // An ICMP socket takes only echo requests.
    let icmp = Socket::new(SOCK_ICMP).or_fail("socket(SOCK_ICMP)")?;
    icmp.send_to(&[8, 0, 0, 0], SockAddrIn::new(HOST, 0))
        .must_fail("ICMP message shorter than 8 bytes")?;
    // Everything still works.
    drop(t);
    crate::util::echo_once(&s, b"still alive", 2000)
}

fn copy_faults() -> Result<u64, alloc::string::String> {
    netinfo::counter("drop_socket_copy_fault")
        .or_fail("netstat")?
        .ok_or_else(|| "no drop_socket_copy_fault counter".into())
}
