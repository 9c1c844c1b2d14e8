//! Safe wrappers over [`crate::syscall`] for processes and files: slices
//! instead of pointer+length, `&str` paths, typed results. Each returns
//! `Result<_, Errno>` (print an error with `e.message()`).

use crate::cstr::cstring;
use crate::syscall as raw;
use abi::net::PublishedPort;
use abi::stat::Stat;
use abi::syscall::{ProcInfo, SysInfo};
use abi::Errno;
use alloc::vec::Vec;
use core::ptr;

pub use crate::syscall::exit;

/// A file descriptor.
pub type Fd = usize;

pub const STDIN: Fd = 0;
pub const STDOUT: Fd = 1;
pub const STDERR: Fd = 2;

/// Returns the child's pid in the parent and 0 in the child.
pub fn fork() -> Result<usize, Errno> {
    // SAFETY: no pointer arguments.
    unsafe { raw::fork() }
}

/// Waits for a child to exit; returns its pid and exit status.
pub fn wait() -> Result<(usize, i32), Errno> {
    let mut status = 0i32;
    // SAFETY: `status` is a live, writable i32.
    let pid = unsafe { raw::wait(&mut status) }?;
    Ok((pid, status))
}

/// Returns (read end, write end).
pub fn pipe() -> Result<[Fd; 2], Errno> {
    let mut fds = [-1i32; 2];
    // SAFETY: `fds` is a live, writable [i32; 2].
    unsafe { raw::pipe(&mut fds) }?;
    Ok([fds[0] as Fd, fds[1] as Fd])
}

pub fn read(fd: Fd, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    unsafe { raw::read(fd, buf.as_mut_ptr(), buf.len()) }
}

pub fn write(fd: Fd, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel reads at most buf.len() bytes from buf.
    unsafe { raw::write(fd, buf.as_ptr(), buf.len()) }
}

/// Writes all of `buf`, looping over short writes.
pub fn write_all(fd: Fd, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        match write(fd, buf)? {
            0 => return Err(Errno::EIO),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// Reads until `buf` is full or end of file; returns the bytes read.
pub fn read_full(fd: Fd, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut got = 0;
    while got < buf.len() {
        match read(fd, &mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Kills process `pid` (init refuses: EPERM).
pub fn kill(pid: usize) -> Result<(), Errno> {
    // SAFETY: no pointer arguments.
    unsafe { raw::kill(pid) }.map(drop)
}

/// Kills every process of group `pgid` (the kernel's `kill(-pgid)`).
pub fn kill_group(pgid: usize) -> Result<(), Errno> {
    let neg = isize::try_from(pgid)
        .map_err(|_| Errno::EINVAL)?
        .wrapping_neg();
    // SAFETY: no pointer arguments.
    unsafe { raw::kill(neg as usize) }.map(drop)
}

/// Moves process `pid` (0: this one) into group `pgid` (0: a group of its own).
pub fn setpgid(pid: usize, pgid: usize) -> Result<(), Errno> {
    // SAFETY: no pointer arguments.
    unsafe { raw::setpgid(pid, pgid) }.map(drop)
}

/// Makes group `pgid` the console's foreground job (0: none), the one ^C
/// kills; `fd` must be the console.
pub fn tcsetpgrp(fd: Fd, pgid: usize) -> Result<(), Errno> {
    // SAFETY: no pointer arguments.
    unsafe { raw::tcsetpgrp(fd, pgid) }.map(drop)
}

/// Replaces this process with the program at `path`; returns only on error.
pub fn exec(path: &str, argv: &[&str]) -> Errno {
    let Ok(path) = cstring(path) else {
        return Errno::EINVAL;
    };
    let mut strings = Vec::with_capacity(argv.len());
    for a in argv {
        match cstring(a) {
            Ok(s) => strings.push(s),
            Err(e) => return e,
        }
    }
    let mut ptrs: Vec<*const u8> = strings.iter().map(|s| s.as_ptr()).collect();
    ptrs.push(ptr::null());
    // SAFETY: path and every argv string are NUL-terminated and live until
    // the call returns; ptrs is NULL-terminated.
    match unsafe { raw::exec(path.as_ptr(), ptrs.as_ptr()) } {
        Ok(_) => Errno::EINVAL,
        Err(e) => e,
    }
}

pub fn fstat(fd: Fd) -> Result<Stat, Errno> {
    let mut st = Stat::default();
    // SAFETY: `st` is a live, writable Stat.
    unsafe { raw::fstat(fd, &mut st) }?;
    Ok(st)
}

/// `stat(path)`: open, fstat, close (as xv6's ulib).
pub fn stat(path: &str) -> Result<Stat, Errno> {
    let fd = open(path, abi::fcntl::O_RDONLY)?;
    let r = fstat(fd);
    let _ = close(fd);
    r
}

pub fn chdir(path: &str) -> Result<(), Errno> {
    let p = cstring(path)?;
    // SAFETY: p is NUL-terminated and live.
    unsafe { raw::chdir(p.as_ptr()) }.map(drop)
}

pub fn dup(fd: Fd) -> Result<Fd, Errno> {
    // SAFETY: no pointer arguments.
    unsafe { raw::dup(fd) }
}

pub fn getpid() -> usize {
    // SAFETY: no pointer arguments.
    unsafe { raw::getpid() }.unwrap_or(0)
}

/// Grows the heap by `n` bytes; returns the old break (the new memory's start).
/// Shrinking is `unsafe` (memory may still be in use): see [`raw::sbrk`].
pub fn sbrk(n: usize) -> Result<usize, Errno> {
    let n = isize::try_from(n).map_err(|_| Errno::ENOMEM)?;
    // SAFETY: growing only hands this process new memory.
    unsafe { raw::sbrk(n) }
}

/// Sleeps for `ticks` timer ticks (`abi::syscall::TICK_HZ` per second).
pub fn sleep(ticks: usize) -> Result<(), Errno> {
    // SAFETY: no pointer arguments.
    unsafe { raw::sleep(ticks) }.map(drop)
}

/// Timer ticks since boot.
pub fn uptime() -> u64 {
    // SAFETY: no pointer arguments.
    unsafe { raw::uptime() }.unwrap_or(0) as u64
}

/// Opens `path` with `abi::fcntl` flags.
pub fn open(path: &str, flags: usize) -> Result<Fd, Errno> {
    let p = cstring(path)?;
    // SAFETY: p is NUL-terminated and live.
    unsafe { raw::open(p.as_ptr(), flags) }
}

pub fn mknod(path: &str, major: u16, minor: u16) -> Result<(), Errno> {
    let p = cstring(path)?;
    // SAFETY: p is NUL-terminated and live.
    unsafe { raw::mknod(p.as_ptr(), major as usize, minor as usize) }.map(drop)
}

pub fn unlink(path: &str) -> Result<(), Errno> {
    let p = cstring(path)?;
    // SAFETY: p is NUL-terminated and live.
    unsafe { raw::unlink(p.as_ptr()) }.map(drop)
}

pub fn link(old: &str, new: &str) -> Result<(), Errno> {
    let (o, n) = (cstring(old)?, cstring(new)?);
    // SAFETY: both are NUL-terminated and live.
    unsafe { raw::link(o.as_ptr(), n.as_ptr()) }.map(drop)
}

pub fn mkdir(path: &str) -> Result<(), Errno> {
    let p = cstring(path)?;
    // SAFETY: p is NUL-terminated and live.
    unsafe { raw::mkdir(p.as_ptr()) }.map(drop)
}

pub fn close(fd: Fd) -> Result<(), Errno> {
    // SAFETY: no pointer arguments.
    unsafe { raw::close(fd) }.map(drop)
}

/// Powers the machine off with `code` (0 = success); returns only on error.
pub fn halt(code: u16) -> Errno {
    // SAFETY: no pointer arguments.
    match unsafe { raw::halt(code as usize) } {
        Ok(_) => Errno::EINVAL,
        Err(e) => e,
    }
}

pub fn sysinfo() -> Result<SysInfo, Errno> {
    let mut info = SysInfo::default();
    // SAFETY: `info` is a live, writable SysInfo.
    unsafe { raw::sysinfo(&mut info) }?;
    Ok(info)
}

/// A process started by [`spawn`], as its parent sees it.
#[derive(Clone, Copy, Debug)]
pub struct Spawned {
    /// The child's pid (the global one: only the root namespace spawns).
    pub pid: usize,
    /// The new namespace's number, for `attach` and `ps`.
    pub ns: u32,
}

/// Forks into a new namespace whose `/` is directory `root`: returns
/// `Some` in the parent and `None` in the child (pid 1 there).
pub fn spawn(root: &str) -> Result<Option<Spawned>, Errno> {
    spawn_publishing(root, &[])
}

/// [`spawn`], publishing `ports` of the container on the host's address
/// (EADDRINUSE: one is published already).
pub fn spawn_publishing(root: &str, ports: &[PublishedPort]) -> Result<Option<Spawned>, Errno> {
    let root = cstring(root)?;
    let mut ns = 0u32;
    // SAFETY: `root` is NUL-terminated, `ns` a live, writable u32 and
    // `ports` holds `ports.len()` PublishedPorts.
    let pid = unsafe { raw::spawn(root.as_ptr(), &mut ns, ports.as_ptr(), ports.len()) }?;
    Ok((pid != 0).then_some(Spawned { pid, ns }))
}

/// The processes this namespace sees (the root one: all of them).
pub fn procinfo() -> Result<Vec<ProcInfo>, Errno> {
    let mut infos = Vec::new();
    loop {
        let room = infos.len().max(16);
        infos.resize(room, ProcInfo::default());
        // SAFETY: `infos` holds `room` writable ProcInfos.
        let n = unsafe { raw::procinfo(infos.as_mut_ptr(), room) }?;
        if n <= room {
            infos.truncate(n);
            return Ok(infos);
        }
        infos.resize(n, ProcInfo::default());
    }
}

/// Gives the console to container `ns`; returns when it comes back (^]
/// or the container's end).
pub fn attach(ns: u32) -> Result<(), Errno> {
    // SAFETY: no pointer arguments.
    unsafe { raw::attach(ns as usize) }.map(drop)
}
