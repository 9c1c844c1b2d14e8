//! poll(2): wait until one of several descriptors is ready.
//!
//! Each kind of file answers "would a read or write block now?" under its
//! own lock: sockets through the stack (`Stack::tcp_poll`, or the receive
//! queue of a datagram socket), pipes and the console from their buffers;
//! inodes are always ready.
//!
//! The wake-up: a poller cannot sleep on every object's channel at once,
//! so every waker of a socket, pipe or console also calls [`notify`],
//! which bumps a generation number under [`POLL`]'s lock and wakes the
//! pollers sleeping on it. A poller reads the generation before it looks
//! at its descriptors and sleeps only if it is unchanged, checked under
//! the lock it sleeps with (as xv6's `sleep` wants): a change that came
//! after the look has bumped the number, and one that comes later finds
//! the poller asleep. The stack wakes a socket only while someone waits on
//! it, so the poller registers as a waiter of each of its sockets for the
//! whole call. With a timeout, the timer's [`tick`] wakes pollers too.
//!
//! Lock order: a stack's lock (one at a time), a pipe's or the console's
//! lock → `POLL` → `p.lock`.
//! A poller holds `POLL` only to go to sleep.

use alloc::sync::Arc;
use alloc::vec::Vec;

use abi::net::{PollFd, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT};
use abi::Errno;
use zerocopy::IntoBytes;

use crate::file::{File, FileKind};
use crate::netglue::now_ms;
use crate::param::NOFILE;
use crate::proc::{self, myproc};
use crate::spinlock::Spinlock;
use crate::syscall::{argaddr, argint};
use crate::{console, pipe, vm};

/// The most entries one call takes: one per descriptor a process can hold,
/// as POSIX bounds it by the open-file limit.
pub const MAX_POLLFDS: usize = NOFILE;

struct PollWait {
    /// Bumped by every [`notify`].
    generation: u64,
    /// Pollers asleep, and those of them with a timeout.
    sleepers: u32,
    timed: u32,
}

static POLL: Spinlock<PollWait> = Spinlock::new(
    "poll",
    PollWait {
        generation: 0,
        sleepers: 0,
        timed: 0,
    },
);

fn poll_chan() -> usize {
    &POLL as *const _ as usize
}

/// Something a poller may wait for has changed: call after the change,
/// from every place that wakes a reader or writer of a socket, pipe or
/// the console.
pub fn notify() {
    let mut w = POLL.lock();
    w.generation = w.generation.wrapping_add(1);
    if w.sleepers > 0 {
        proc::wakeup(poll_chan());
    }
}

/// Timer hook: pollers with a timeout look at the clock.
pub fn tick() {
    let w = POLL.lock();
    if w.timed > 0 {
        proc::wakeup(poll_chan());
    }
}

/// What is ready on `f` now, in `POLL*` bits (all of them; the caller
/// keeps those asked for).
fn ready(f: &File) -> i16 {
    match &f.kind {
        FileKind::Inode { .. } => POLLIN | POLLOUT,
        FileKind::Device { major, .. } => match *major {
            abi::fcntl::CONSOLE => POLLOUT | if console::readable() { POLLIN } else { 0 },
            _ => POLLERR,
        },
        FileKind::Pipe(pi) => {
            let s = pipe::poll_state(pi);
            let mut r = 0;
            if f.readable && s.readable {
                r |= POLLIN;
            }
            if f.readable && s.hangup {
                r |= POLLHUP;
            }
            if f.writable && s.writable {
                r |= POLLOUT;
            }
            if f.writable && s.broken {
                r |= POLLERR;
            }
            r
        }
        FileKind::Socket(s) => match crate::sysnet::poll_socket(s.0) {
            Ok(p) => {
                (if p.readable { POLLIN } else { 0 })
                    | (if p.writable { POLLOUT } else { 0 })
                    | (if p.hangup { POLLHUP } else { 0 })
                    | (if p.error { POLLERR } else { 0 })
            }
            Err(_) => POLLERR,
        },
    }
}

/// Fills `revents` of every entry; returns how many have some.
fn scan(fds: &mut [PollFd], files: &[Option<Arc<File>>]) -> usize {
    let mut n = 0;
    for (p, f) in fds.iter_mut().zip(files) {
        p.revents = if p.fd < 0 {
            0
        } else if let Some(f) = f {
            ready(f) & (p.events | POLLERR | POLLHUP)
        } else {
            POLLNVAL
        };
        n += (p.revents != 0) as usize;
    }
    n
}

/// Registers (or, `on == false`, unregisters) the poller as a waiter of
/// each of its sockets, so the stack wakes them.
fn watch_sockets(files: &[Option<Arc<File>>], on: bool) {
    for f in files.iter().flatten() {
        if let FileKind::Socket(s) = &f.kind {
            let (s, mut net) = (s.0, s.0.stack());
            if on {
                net.wait_begin(s.id, false);
            } else {
                net.wait_end(s.id, false);
            }
        }
    }
}

/// Waits until something in `fds` is ready, the deadline passes, or the
/// process is killed.
fn wait(
    fds: &mut [PollFd],
    files: &[Option<Arc<File>>],
    deadline: Option<u64>,
) -> Result<usize, Errno> {
    let forever = deadline.is_none();
    loop {
        let seen = POLL.lock().generation;
        let n = scan(fds, files);
        if n > 0 {
            return Ok(n);
        }
        if proc::killed() {
            return Err(Errno::EINTR);
        }
        if deadline.is_some_and(|d| now_ms() >= d) {
            return Ok(0);
        }
        let mut w = POLL.lock();
        if w.generation != seen {
            continue;
        }
        w.sleepers += 1;
        w.timed += !forever as u32;
        w = proc::sleep(poll_chan(), w);
        w.sleepers -= 1;
        w.timed -= !forever as u32;
    }
}

/// poll(fds, nfds, timeout_ms) -> entries with events; timeout -1 (any
/// negative) waits for ever, 0 only looks.
pub fn sys_poll() -> Result<usize, Errno> {
    let (addr, nfds, timeout) = (argaddr(0), argaddr(1), argint(2));
    if nfds > MAX_POLLFDS {
        return Err(Errno::EINVAL);
    }
    let mut fds = alloc::vec![PollFd::default(); nfds];
    vm::copyin(myproc().data().pagetable, fds.as_mut_bytes(), addr)?;
    // Hold each file for the call, so a descriptor closed meanwhile by
    // another thread of control cannot take its socket away under us.
    let files: Vec<Option<Arc<File>>> = fds
        .iter()
        .map(|p| {
            let fd = usize::try_from(p.fd).ok().filter(|&fd| fd < NOFILE)?;
            myproc().data().ofile[fd].clone()
        })
        .collect();
    let deadline = (timeout >= 0).then(|| now_ms() + timeout as u64);
    watch_sockets(&files, true);
    let r = wait(&mut fds, &files, deadline);
    watch_sockets(&files, false);
    let n = r?;
    vm::copyout(myproc().data().pagetable, addr, fds.as_bytes())?;
    // The files held here may be the last references to sockets: closing
    // one sends through the stack, so drop them with no lock held.
    drop(files);
    Ok(n)
}
