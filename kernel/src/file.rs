//! Open files: what a file descriptor refers to.
//!
//! A [`File`] is shared (`Arc<File>`) by every descriptor that `dup`,
//! `fork` or `pipe` made from the same `open`; it carries the read/write
//! mode, and for inodes the offset. It refers to one of:
//! - a pipe end ([`FileKind::Pipe`]),
//! - an inode of a regular file or directory ([`FileKind::Inode`]),
//! - a device inode ([`FileKind::Device`]), served by the driver of its
//!   major number (only the console, `abi::fcntl::CONSOLE`).
//!
//! - a network socket ([`FileKind::Socket`], see `sysnet.rs`).
//!
//! `filedup` is `Arc::clone`, `fileclose` is dropping the Arc: when the last
//! reference goes, `Drop for File` closes the pipe end or releases the
//! inode inside its own log operation. So a `File` must not be dropped
//! while its holder is inside a log operation (begin_op could wait for
//! itself). At most `NFILE` files are open system-wide (ENFILE).

use alloc::sync::Arc;
use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use abi::fs::{BSIZE, MAXOPBLOCKS};
use abi::stat::{Stat, T_PIPE};
use abi::Errno;

use crate::console;
use crate::fs::Inode;
use crate::log::Op;
use crate::param::NFILE;
use crate::pipe::{self, Pipe};
use crate::proc;

pub enum FileKind {
    Pipe(Arc<Pipe>),
    Inode {
        /// Released by `Drop for File`, inside a log operation.
        ip: ManuallyDrop<Inode>,
        /// Read/write offset. Only read and updated while holding the
        /// inode's sleep lock, so concurrent reads/writes through shared
        /// descriptors are serialised as in xv6.
        off: AtomicU32,
    },
    Device {
        ip: ManuallyDrop<Inode>,
        major: u16,
    },
    /// A network socket (`sysnet.rs`); dropping it closes the socket.
    Socket(crate::sysnet::Socket),
}

pub struct File {
    pub readable: bool,
    pub writable: bool,
    pub kind: FileKind,
}

/// Files currently open (the bounded ftable of xv6).
static NOPEN: AtomicUsize = AtomicUsize::new(0);

impl File {
    /// filealloc: a new open file. ENFILE when `NFILE` are already open;
    /// then the inode in `kind` (if any) is released, so call inside the
    /// log operation that found it.
    pub fn new(kind: FileKind, readable: bool, writable: bool) -> Result<Arc<File>, Errno> {
        if NOPEN.fetch_add(1, Ordering::AcqRel) >= NFILE {
            NOPEN.fetch_sub(1, Ordering::AcqRel);
            match kind {
                FileKind::Inode { ip, .. } | FileKind::Device { ip, .. } => {
                    drop(ManuallyDrop::into_inner(ip))
                }
                FileKind::Pipe(_) | FileKind::Socket(_) => {}
            }
            return Err(Errno::ENFILE);
        }
        Ok(Arc::new(File {
            readable,
            writable,
            kind,
        }))
    }

    /// The inode behind this file, if any.
    pub fn inode(&self) -> Option<&Inode> {
        match &self.kind {
            FileKind::Inode { ip, .. } | FileKind::Device { ip, .. } => Some(ip),
            FileKind::Pipe(_) | FileKind::Socket(_) => None,
        }
    }
}

impl Drop for File {
    /// The last reference is gone: close the pipe end or release the inode.
    fn drop(&mut self) {
        match &mut self.kind {
            FileKind::Pipe(pi) => pipe::pipeclose(pi, self.writable),
            FileKind::Inode { ip, .. } | FileKind::Device { ip, .. } => {
                let _op = Op::begin();
                // SAFETY: `ip` is dropped only here, once, and `self` is
                // going away so nothing can use it afterwards.
                unsafe { ManuallyDrop::drop(ip) };
            }
            // The socket closes itself when `kind` is dropped.
            FileKind::Socket(_) => {}
        }
        NOPEN.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Number of open files system-wide (for tests and sysinfo).
pub fn nopen() -> usize {
    NOPEN.load(Ordering::Acquire)
}

/// Increment ref count for file f.
pub fn filedup(f: &Arc<File>) -> Arc<File> {
    Arc::clone(f)
}

/// Close file f (decrement ref count, close when reaches 0).
pub fn fileclose(f: Arc<File>) {
    drop(f);
}

/// Views a `Stat` as the bytes copied to user space.
fn stat_bytes(st: &Stat) -> &[u8] {
    // SAFETY: Stat is repr(C), made only of integers with explicit padding
    // fields (4+4+2+2+4+8 = 24 bytes, no implicit padding), so all its
    // bytes are initialised; the slice borrows `st`.
    unsafe {
        core::slice::from_raw_parts(st as *const Stat as *const u8, core::mem::size_of::<Stat>())
    }
}

/// Get metadata about file f. `addr` is a user virtual address, pointing
/// to a struct stat.
pub fn filestat(f: &File, addr: usize) -> Result<(), Errno> {
    let st = match &f.kind {
        FileKind::Inode { ip, .. } | FileKind::Device { ip, .. } => {
            let g = ip.lock();
            g.stat()
        }
        FileKind::Pipe(_) => Stat {
            typ: T_PIPE,
            ..Stat::default()
        },
        FileKind::Socket(_) => Stat {
            typ: abi::stat::T_SOCKET,
            ..Stat::default()
        },
    };
    proc::either_copyout(true, addr, stat_bytes(&st))
}

/// Read from file f. `addr` is a user virtual address.
pub fn fileread(f: &File, addr: usize, n: usize) -> Result<usize, Errno> {
    if !f.readable {
        return Err(Errno::EBADF);
    }
    match &f.kind {
        FileKind::Pipe(pi) => pipe::piperead(pi, addr, n),
        FileKind::Socket(s) => crate::sysnet::sock_read(s, addr, n),
        FileKind::Device { major, .. } => match *major {
            abi::fcntl::CONSOLE => console::consoleread(true, addr, n),
            _ => Err(Errno::ENODEV),
        },
        FileKind::Inode { ip, off } => {
            let mut g = ip.lock();
            let r = g.readi(true, addr, off.load(Ordering::Relaxed), n)?;
            off.fetch_add(r as u32, Ordering::Relaxed);
            Ok(r)
        }
    }
}

/// Blocks of data one transaction of `filewrite` takes, so that it logs at
/// most MAXOPBLOCKS blocks. At worst it writes: the i-node; three indirect
/// blocks when it steps from the singly- into the doubly-indirect range
/// (the singly-indirect block, a new doubly-indirect block and its first
/// singly-indirect block) and the allocation blocks of the two new ones;
/// and each data block with its allocation block, one data block more
/// than the chunk holds when the write is not block-aligned.
const WRITE_CHUNK_BLOCKS: usize = (MAXOPBLOCKS - 1 - 3 - 2) / 2 - 1;
const _: () = assert!(WRITE_CHUNK_BLOCKS >= 1);

/// Write to file f. `addr` is a user virtual address.
pub fn filewrite(f: &File, addr: usize, n: usize) -> Result<usize, Errno> {
    if !f.writable {
        return Err(Errno::EBADF);
    }
    match &f.kind {
        FileKind::Pipe(pi) => pipe::pipewrite(pi, addr, n),
        FileKind::Socket(s) => crate::sysnet::sock_write(s, addr, n),
        FileKind::Device { major, .. } => match *major {
            abi::fcntl::CONSOLE => console::consolewrite(true, addr, n),
            _ => Err(Errno::ENODEV),
        },
        FileKind::Inode { ip, off } => {
            // Write a few blocks at a time to avoid exceeding the maximum
            // log transaction size. This really belongs lower down, since
            // writei() might be writing a device like the console.
            let max = WRITE_CHUNK_BLOCKS * BSIZE;
            let mut i = 0;
            while i < n {
                let n1 = (n - i).min(max);
                let _op = Op::begin();
                let mut g = ip.lock();
                match g.writei(true, addr + i, off.load(Ordering::Relaxed), n1) {
                    Ok(r) => {
                        off.fetch_add(r as u32, Ordering::Relaxed);
                        i += r;
                        if r != n1 {
                            break; // error from writei: disk full or bad address
                        }
                    }
                    Err(e) if i == 0 => return Err(e),
                    Err(_) => break,
                }
            }
            Ok(i)
        }
    }
}
