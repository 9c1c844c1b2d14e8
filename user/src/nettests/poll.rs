//! poll: pipes, datagram sockets and TCP connections and listeners
//! reporting readiness; timeouts, bad descriptors and arguments; a
//! sleeping poller woken by a pipe and by a datagram; end of file on a pipe
//! as POLLHUP; and a process killed while polling.

use crate::tcp::LOOPBACK;
use abi::net::SockAddrIn;
use abi::Errno;
use core::ptr;
use ulib::ensure;
use ulib::poll::{self, entry, PollFd, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT};
use ulib::socket::Socket;
use ulib::sys;
use ulib::syscall as raw;
use ulib::tcp::{TcpListener, TcpStream};
use ulib::testing::{Check, TestResult};
use ulib::time::now_us;

/// A descriptor number no test has open.
const UNOPENED: usize = 40;

/// What one poll of `fds` with `timeout` says, and how long it took in
/// milliseconds (of the clock the kernel's timeouts use, not ticks, which
/// fall behind when QEMU is busy).
fn poll_timed(fds: &mut [PollFd], timeout: i32) -> Result<(usize, u64), alloc::string::String> {
    let t0 = now_us();
    let n = poll::poll(fds, timeout).or_fail("poll")?;
    Ok((n, (now_us() - t0) / 1000))
}

/// Readiness of pipes and a datagram socket, timeouts, POLLNVAL.
pub fn pollbasic() -> TestResult {
    let [r, w] = sys::pipe().or_fail("pipe")?;
    let s = Socket::udp().or_fail("socket")?;
    s.bind_port(0).or_fail("bind")?;
    let mut fds = [
        entry(r, POLLIN),
        entry(s.fd(), POLLIN),
        entry(w, POLLOUT),
        PollFd {
            fd: -1,
            events: POLLIN,
            revents: POLLIN,
        },
        entry(UNOPENED, POLLIN),
    ];
    let (n, _) = poll_timed(&mut fds, 0)?;
    let got: [i16; 5] = core::array::from_fn(|i| fds[i].revents);
    ensure!(
        n == 2 && got == [0, 0, POLLOUT, 0, POLLNVAL],
        "idle poll: {} ready, revents {:?} (want 2, [0, 0, POLLOUT, 0, POLLNVAL])",
        n,
        got
    );
    // Nothing ready: the timeout passes, neither early nor much late.
    let mut idle = [entry(r, POLLIN), entry(s.fd(), POLLIN)];
    let (n, took) = poll_timed(&mut idle, 300)?;
    ensure!(n == 0, "poll with nothing ready gave {}", n);
    ensure!(
        (299..1000).contains(&took),
        "a 300 ms poll took {} ms",
        took
    );
    // A byte in the pipe.
    sys::write(w, b"x").or_fail("write")?;
    let (n, _) = poll_timed(&mut idle, 0)?;
    ensure!(
        n == 1 && idle[0].revents == POLLIN && idle[1].revents == 0,
        "after a write: {} ready, revents {:?}",
        n,
        [idle[0].revents, idle[1].revents]
    );
    let mut b = [0u8; 1];
    sys::read(r, &mut b).or_fail("read")?;
    // A datagram to ourselves.
    let port = s.local_addr().or_fail("getsockname")?.port();
    let t = Socket::udp().or_fail("socket")?;
    t.send_to(b"ping", SockAddrIn::new(LOOPBACK, port))
        .or_fail("sendto")?;
    let (n, _) = poll_timed(&mut idle, 1000)?;
    ensure!(
        n == 1 && idle[1].revents == POLLIN,
        "after a datagram: {} ready, revents {:?}",
        n,
        [idle[0].revents, idle[1].revents]
    );
    // The writer gone: end of file, reported as POLLHUP with POLLIN.
    sys::close(w).or_fail("close")?;
    let mut rd = [entry(r, POLLIN)];
    let (n, _) = poll_timed(&mut rd, 0)?;
    ensure!(
        n == 1 && rd[0].revents == POLLIN | POLLHUP,
        "pipe without writer: revents {:#x} (want POLLIN|POLLHUP)",
        rd[0].revents
    );
    // The reader gone: writing would fail, POLLERR.
    let [r2, w2] = sys::pipe().or_fail("pipe")?;
    sys::close(r2).or_fail("close")?;
    let mut wr = [entry(w2, POLLOUT)];
    poll_timed(&mut wr, 0)?;
    ensure!(
        wr[0].revents & POLLERR != 0,
        "pipe without reader: revents {:#x} (want POLLERR)",
        wr[0].revents
    );
    let _ = (sys::close(r), sys::close(w2));
    Ok(())
}

/// A poller asleep is woken by a pipe write and by a datagram from
/// another process.
pub fn pollwake() -> TestResult {
    let [r, w] = sys::pipe().or_fail("pipe")?;
    let s = Socket::udp().or_fail("socket")?;
    s.bind_port(0).or_fail("bind")?;
    let port = s.local_addr().or_fail("getsockname")?.port();
    for round in ["pipe", "socket"] {
        let pid = sys::fork().or_fail("fork")?;
        if pid == 0 {
            let _ = sys::sleep(20);
            if round == "pipe" {
                let _ = sys::write(w, b"y");
            } else if let Ok(t) = Socket::udp() {
                let _ = t.send_to(b"wake", SockAddrIn::new(LOOPBACK, port));
            }
            sys::exit(0);
        }
        let mut fds = [entry(r, POLLIN), entry(s.fd(), POLLIN)];
        let (n, took) = poll_timed(&mut fds, 5000)?;
        let _ = sys::wait();
        let want = if round == "pipe" { 0 } else { 1 };
        ensure!(
            n == 1 && fds[want].revents == POLLIN,
            "{}: {} ready, revents {:?}",
            round,
            n,
            [fds[0].revents, fds[1].revents]
        );
        ensure!(
            (100..2000).contains(&took),
            "{}: woken after {} ms (the writer waited 20 ticks)",
            round,
            took
        );
        let mut buf = [0u8; 16];
        if round == "pipe" {
            sys::read(r, &mut buf).or_fail("read")?;
        } else {
            s.recv(&mut buf).or_fail("recv")?;
        }
    }
    let _ = (sys::close(r), sys::close(w));
    Ok(())
}

/// Bad arguments fail; a process killed in poll dies at once.
pub fn pollerrors() -> TestResult {
    // SAFETY: null and wild pointers the kernel must refuse.
    unsafe {
        raw::poll(ptr::null_mut(), 1, 0).must_fail("poll(null, 1)")?;
        raw::poll(0xffff_ffff_ffff as *mut PollFd, 1, 0).must_fail("poll(wild)")?;
    }
    let mut many = alloc::vec![entry(0, POLLIN); 1000];
    ensure!(
        poll::poll(&mut many, 0) == Err(Errno::EINVAL),
        "poll of 1000 entries did not give EINVAL"
    );
    // No entries and no timeout: just a sleep.
    let (n, took) = poll_timed(&mut [], 100)?;
    ensure!(
        n == 0 && (99..600).contains(&took),
        "empty poll: {} in {} ms",
        n,
        took
    );
    let [r, w] = sys::pipe().or_fail("pipe")?;
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        let mut fds = [entry(r, POLLIN)];
        let _ = poll::poll(&mut fds, -1);
        sys::exit(0);
    }
    sys::sleep(10).or_fail("sleep")?;
    let t0 = sys::uptime();
    sys::kill(pid).or_fail("kill")?;
    let (who, st) = sys::wait().or_fail("wait")?;
    ensure!(
        who == pid && st != 0,
        "killed poller: pid {} status {}",
        who,
        st
    );
    ensure!(
        sys::uptime() - t0 < 100,
        "killed poller took {} ticks to die",
        sys::uptime() - t0
    );
    let _ = (sys::close(r), sys::close(w));
    Ok(())
}

/// A listener polls readable with a connection to accept; a connection
/// polls writable, readable when the peer wrote, readable (end of file)
/// once the peer closed, and POLLHUP once both sides have.
pub fn polltcp() -> TestResult {
    let l = TcpListener::bind(0).or_fail("listen")?;
    let port = l.local_addr().or_fail("getsockname")?.port();
    let mut lf = [entry(l.fd(), POLLIN)];
    let (n, _) = poll_timed(&mut lf, 0)?;
    ensure!(
        n == 0,
        "a listener with nobody connecting polled {:#x}",
        lf[0].revents
    );
    let c = TcpStream::connect(SockAddrIn::new(LOOPBACK, port)).or_fail("connect")?;
    let (n, _) = poll_timed(&mut lf, 2000)?;
    ensure!(
        n == 1 && lf[0].revents == POLLIN,
        "listener with a connection waiting: revents {:#x}",
        lf[0].revents
    );
    let (a, _) = l.accept().or_fail("accept")?;
    let mut fds = [entry(a.fd(), POLLIN | POLLOUT)];
    poll_timed(&mut fds, 0)?;
    ensure!(
        fds[0].revents == POLLOUT,
        "fresh connection: revents {:#x} (want POLLOUT)",
        fds[0].revents
    );
    c.write_all(b"hello").or_fail("write")?;
    let mut rd = [entry(a.fd(), POLLIN)];
    let (n, _) = poll_timed(&mut rd, 2000)?;
    ensure!(
        n == 1 && rd[0].revents == POLLIN,
        "after data: revents {:#x}",
        rd[0].revents
    );
    let mut buf = [0u8; 8];
    let got = a.read(&mut buf).or_fail("read")?;
    ensure!(&buf[..got] == b"hello", "read {:?}", &buf[..got]);
    drop(c);
    let (n, _) = poll_timed(&mut rd, 2000)?;
    ensure!(
        n == 1 && rd[0].revents == POLLIN,
        "after the peer closed: revents {:#x} (want POLLIN)",
        rd[0].revents
    );
    ensure!(
        a.read(&mut buf) == Ok(0),
        "no end of file after the peer closed"
    );
    a.shutdown_write().or_fail("shutdown")?;
    let (n, _) = poll_timed(&mut rd, 2000)?;
    ensure!(
        n == 1 && rd[0].revents & POLLHUP != 0,
        "both sides closed: revents {:#x} (want POLLHUP)",
        rd[0].revents
    );
    Ok(())
}
