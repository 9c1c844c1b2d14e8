//! Pipes: a bounded byte buffer between a writing and a reading file.
//!
//! [`pipealloc`] makes the two [`File`]s; each holds an `Arc<Pipe>`. A
//! writer that finds the buffer full sleeps until a reader drains it (and
//! vice versa); closing the last writer makes reads return 0 (end of file)
//! once the buffer is empty, and closing the reader makes writes fail with
//! EPIPE. As in xv6, the counters `nread`/`nwrite` only grow; the buffer
//! index is the counter modulo [`PIPESIZE`].

use alloc::sync::Arc;

use abi::Errno;

use crate::file::{File, FileKind};
use crate::proc;
use crate::spinlock::Spinlock;

pub const PIPESIZE: usize = 512;

pub struct Pipe {
    lock: Spinlock<PipeInner>,
}

struct PipeInner {
    data: [u8; PIPESIZE],
    /// Number of bytes read.
    nread: usize,
    /// Number of bytes written.
    nwrite: usize,
    /// Read fd is still open.
    readopen: bool,
    /// Write fd is still open.
    writeopen: bool,
}

/// What `poll` sees of a pipe (`syspoll.rs`).
pub struct PipeState {
    /// A read would not block: bytes, or no writer left (end of file).
    pub readable: bool,
    /// No writer is left.
    pub hangup: bool,
    /// A write would not block: room in the buffer, or no reader left.
    pub writable: bool,
    /// No reader is left: writes fail with EPIPE.
    pub broken: bool,
}

impl Pipe {
    /// Channel readers sleep on (xv6's &pi->nread).
    fn read_chan(&self) -> usize {
        self as *const Pipe as usize
    }
    /// Channel writers sleep on (xv6's &pi->nwrite).
    fn write_chan(&self) -> usize {
        self as *const Pipe as usize + 1
    }
}

/// Wakes the readers or writers sleeping on `chan`, and pollers.
fn wake(chan: usize) {
    proc::wakeup(chan);
    crate::syspoll::notify();
}

/// Makes a pipe: returns (read end, write end).
pub fn pipealloc() -> Result<(Arc<File>, Arc<File>), Errno> {
    let pi = Arc::new(Pipe {
        lock: Spinlock::new(
            "pipe",
            PipeInner {
                data: [0; PIPESIZE],
                nread: 0,
                nwrite: 0,
                readopen: true,
                writeopen: true,
            },
        ),
    });
    let f0 = File::new(FileKind::Pipe(pi.clone()), true, false)?;
    let f1 = match File::new(FileKind::Pipe(pi), false, true) {
        Ok(f) => f,
        Err(e) => {
            drop(f0);
            return Err(e);
        }
    };
    Ok((f0, f1))
}

/// Closes one end (called when the last reference to its File goes).
pub fn pipeclose(pi: &Pipe, writable: bool) {
    let mut p = pi.lock.lock();
    if writable {
        p.writeopen = false;
        wake(pi.read_chan());
    } else {
        p.readopen = false;
        wake(pi.write_chan());
    }
    // The memory goes when the last Arc<Pipe> is dropped.
}

/// Writes `n` bytes from user address `addr`. Returns the number written:
/// all `n`, unless the reader goes away or the process is killed part way
/// (then an error if nothing was written).
pub fn pipewrite(pi: &Pipe, addr: usize, n: usize) -> Result<usize, Errno> {
    let mut i = 0;
    let mut p = pi.lock.lock();
    while i < n {
        if !p.readopen {
            return if i > 0 { Ok(i) } else { Err(Errno::EPIPE) };
        }
        if proc::killed() {
            return if i > 0 { Ok(i) } else { Err(Errno::EINTR) };
        }
        if p.nwrite == p.nread + PIPESIZE {
            // Buffer full: let readers drain it.
            wake(pi.read_chan());
            p = proc::sleep(pi.write_chan(), p);
            continue;
        }
        // Copy as much as fits before the buffer wraps or fills.
        let start = p.nwrite % PIPESIZE;
        let space = PIPESIZE - (p.nwrite - p.nread);
        let m = (n - i).min(space).min(PIPESIZE - start);
        if let Err(e) = proc::either_copyin(&mut p.data[start..start + m], true, addr + i) {
            wake(pi.read_chan());
            return if i > 0 { Ok(i) } else { Err(e) };
        }
        p.nwrite += m;
        i += m;
    }
    wake(pi.read_chan());
    Ok(i)
}

/// Reads up to `n` bytes to user address `addr`, sleeping while the pipe
/// is empty and a writer remains. Returns 0 at end of file.
pub fn piperead(pi: &Pipe, addr: usize, n: usize) -> Result<usize, Errno> {
    let mut p = pi.lock.lock();
    while p.nread == p.nwrite && p.writeopen {
        // pipe empty
        if proc::killed() {
            return Err(Errno::EINTR);
        }
        p = proc::sleep(pi.read_chan(), p);
    }
    let mut i = 0;
    while i < n && p.nread != p.nwrite {
        let start = p.nread % PIPESIZE;
        let avail = p.nwrite - p.nread;
        let m = (n - i).min(avail).min(PIPESIZE - start);
        if let Err(e) = proc::either_copyout(true, addr + i, &p.data[start..start + m]) {
            if i == 0 {
                return Err(e);
            }
            break;
        }
        p.nread += m;
        i += m;
    }
    wake(pi.write_chan());
    Ok(i)
}

/// The pipe's state for `poll`.
pub fn poll_state(pi: &Pipe) -> PipeState {
    let p = pi.lock.lock();
    PipeState {
        readable: p.nread != p.nwrite || !p.writeopen,
        hangup: !p.writeopen,
        writable: p.nwrite < p.nread + PIPESIZE || !p.readopen,
        broken: !p.readopen,
    }
}
