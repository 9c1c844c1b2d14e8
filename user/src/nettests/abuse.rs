//! Resource abuse: socket exhaustion (per process and kernel-wide), closed
//! and doubly closed descriptors, huge and "negative" lengths. Every call
//! must fail with an error and every resource must come back.

use crate::util::{echo_addr, echo_once, udp};
use abi::net::SockAddrIn;
use abi::Errno;
use alloc::format;
use alloc::vec::Vec;
use core::mem::size_of;
use core::ptr;
use ulib::ensure;
use ulib::socket::Socket;
use ulib::sys;
use ulib::syscall as raw;
use ulib::testing::{Check, TestResult};

/// Children that each open sockets until refused; together they ask for
/// more than the kernel's socket table holds.
const HOARDERS: usize = 6;

/// Opens UDP sockets until one is refused; returns them and the refusal.
fn open_until_refused() -> (Vec<Socket>, Errno) {
    let mut socks = Vec::new();
    loop {
        match Socket::udp() {
            Ok(s) => socks.push(s),
            Err(e) => return (socks, e),
        }
    }
}

/// One process runs out of descriptors; many run the socket table out;
/// after closing, everything can be opened again.
pub fn exhaustion() -> TestResult {
    let (socks, err) = open_until_refused();
    ensure!(err == Errno::EMFILE, "per-process limit gave {:?}", err);
    let mine = socks.len();
    drop(socks);
    let (again, _) = open_until_refused();
    ensure!(again.len() == mine, "reopened {} of {}", again.len(), mine);
    drop(again);

    // Kernel-wide: each child reports its refusal, then holds its sockets
    // until the parent closes `hold`.
    let [report_r, report_w] = sys::pipe().or_fail("pipe")?;
    let [hold_r, hold_w] = sys::pipe().or_fail("pipe")?;
    for _ in 0..HOARDERS {
        if sys::fork().or_fail("fork")? == 0 {
            let _ = sys::close(report_r);
            let _ = sys::close(hold_w);
            let (socks, err) = open_until_refused();
            let _ = sys::write(report_w, &[(err as i32) as u8]);
            let mut b = [0u8; 1];
            let _ = sys::read(hold_r, &mut b); // returns at EOF
            drop(socks);
            sys::exit(0);
        }
    }
    let _ = (sys::close(report_w), sys::close(hold_r));
    let mut refusals = Vec::new();
    for _ in 0..HOARDERS {
        let mut b = [0u8; 1];
        sys::read_full(report_r, &mut b).or_fail("read report")?;
        refusals.push(Errno::from_num(b[0] as i32));
    }
    let _ = (sys::close(hold_w), sys::close(report_r));
    for _ in 0..HOARDERS {
        sys::wait().or_fail("wait")?;
    }
    ensure!(
        refusals.contains(&Some(Errno::ENFILE)),
        "the socket table never filled: {:?}",
        refusals
    );
    // Every socket came back: a full process's worth opens, and works.
    let (again, _) = open_until_refused();
    ensure!(
        again.len() == mine,
        "after the hoarders: {} of {}",
        again.len(),
        mine
    );
    drop(again);
    let s = udp(2000)?;
    echo_once(&s, b"after exhaustion", 2000)
}

/// Closed, doubly closed and never-opened descriptors; lengths too big to
/// be real or "negative" when read as signed.
pub fn closedfds() -> TestResult {
    const ALEN: usize = size_of::<SockAddrIn>();
    let good = echo_addr();
    let s = Socket::udp().or_fail("socket")?;
    let fd = s.fd();
    let mut buf = [0u8; 64];
    for len in [usize::MAX, usize::MAX / 2, (-1isize) as usize, 1 << 40] {
        // SAFETY: live local buffers with lengths the kernel must refuse.
        unsafe {
            raw::sendto(fd, buf.as_ptr(), len, 0, &good, ALEN)
                .must_fail(&format!("sendto(len {len:#x})"))?;
            raw::sendto(fd, buf.as_ptr(), 8, 0, &good, len)
                .must_fail(&format!("sendto(addrlen {len:#x})"))?;
            raw::bind(fd, &good, len).must_fail(&format!("bind(addrlen {len:#x})"))?;
        }
    }
    s.set_nonblocking(true).or_fail("nonblock")?;
    // SAFETY: a live local buffer with a length past its end: with nothing
    // queued the call must fail without touching memory.
    unsafe {
        raw::recvfrom(
            fd,
            buf.as_mut_ptr(),
            usize::MAX,
            0,
            ptr::null_mut(),
            ptr::null_mut(),
        )
        .must_fail("recvfrom(len MAX) with nothing queued")?;
    }
    drop(s); // closes fd
    sys::close(fd).must_fail("double close")?;
    // SAFETY: live locals; the descriptor is closed, so each call fails.
    unsafe {
        raw::sendto(fd, buf.as_ptr(), 1, 0, &good, ALEN).must_fail("sendto on a closed fd")?;
        raw::recvfrom(fd, buf.as_mut_ptr(), 1, 0, ptr::null_mut(), ptr::null_mut())
            .must_fail("recvfrom on a closed fd")?;
        raw::bind(fd, &good, ALEN).must_fail("bind on a closed fd")?;
        raw::connect(fd, &good, ALEN).must_fail("connect on a closed fd")?;
        let mut a = SockAddrIn::default();
        let mut l = ALEN as u32;
        raw::getsockname(fd, &mut a, &mut l).must_fail("getsockname on a closed fd")?;
        for bad in [usize::MAX, (-1isize) as usize, 1 << 20] {
            raw::sendto(bad, buf.as_ptr(), 1, 0, &good, ALEN)
                .must_fail(&format!("sendto(fd {bad:#x})"))?;
        }
    }
    ensure!(
        sys::close(fd) == Err(Errno::EBADF),
        "close of a closed fd is not EBADF"
    );
    let t = udp(2000)?;
    echo_once(&t, b"after closed fds", 2000)
}
