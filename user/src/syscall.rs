//! The `ecall` primitive and one raw stub per [`abi::syscall::Sys`], with
//! exactly the argument lists of the team's ABI (TEAM.md). Pointers go to
//! the kernel unchecked, so every stub that takes one is `unsafe`; the safe
//! wrappers live in [`crate::sys`] and [`crate::socket`]. `usertests` calls
//! these directly to hand the kernel wild pointers and lengths.
//!
//! Convention: number in a7, arguments in a0..a5, result in a0: `>= 0` is a
//! value, negative is `-(errno)`.

use abi::net::{ArpEntry, Counter, IfConfig, MMsg, PollFd, PublishedPort, SockAddrIn, SockInfo};
use abi::stat::Stat;
use abi::syscall::{ProcInfo, Sys, SysInfo};
use abi::Errno;
use core::arch::asm;

/// Makes system call `n` with six arguments and returns a0 as is.
///
/// # Safety
/// The kernel may read or write user memory named by the arguments; the
/// caller makes sure that is memory it may hand out (or memory that is not
/// mapped, which the kernel must reject).
#[inline(always)]
pub unsafe fn ecall(n: Sys, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: `ecall` traps into the kernel, which saves and restores every
    // register but a0; memory effects are the caller's contract (above).
    unsafe {
        asm!(
            "ecall",
            inlateout("a0") a[0] => ret,
            in("a1") a[1],
            in("a2") a[2],
            in("a3") a[3],
            in("a4") a[4],
            in("a5") a[5],
            in("a7") n as usize,
            options(nostack),
        );
    }
    ret
}

/// [`ecall`], with the result split into a value or an [`Errno`].
///
/// # Safety
/// As for [`ecall`].
#[inline(always)]
pub unsafe fn call(n: Sys, a: [usize; 6]) -> Result<usize, Errno> {
    // SAFETY: forwarded contract.
    Errno::check(unsafe { ecall(n, a) })
}

macro_rules! stubs {
    ($($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) = $sys:ident;)*) => {$(
        $(#[$doc])*
        /// # Safety
        /// Pointer arguments are handed to the kernel as they are (see [`ecall`]).
        #[inline]
        pub unsafe fn $name($($arg: $ty),*) -> Result<usize, Errno> {
            #[allow(unused_mut)]
            let mut a = [0usize; 6];
            let mut _i = 0;
            $( a[_i] = $arg as usize; _i += 1; )*
            // SAFETY: forwarded contract.
            unsafe { call(Sys::$sys, a) }
        }
    )*};
}

stubs! {
    /// fork() -> child's pid in the parent, 0 in the child.
    fn fork() = Fork;
    /// wait(status or null) -> pid of the child that exited.
    fn wait(status: *mut i32) = Wait;
    /// pipe(fds): fds[0] read end, fds[1] write end.
    fn pipe(fds: *mut [i32; 2]) = Pipe;
    fn read(fd: usize, buf: *mut u8, n: usize) = Read;
    fn write(fd: usize, buf: *const u8, n: usize) = Write;
    fn kill(pid: usize) = Kill;
    /// exec(path, argv): both NUL-terminated, argv a NULL-terminated array.
    fn exec(path: *const u8, argv: *const *const u8) = Exec;
    fn fstat(fd: usize, st: *mut Stat) = Fstat;
    fn chdir(path: *const u8) = Chdir;
    fn dup(fd: usize) = Dup;
    fn getpid() = Getpid;
    /// sbrk(n) -> the old break.
    fn sbrk(n: isize) = Sbrk;
    fn sleep(ticks: usize) = Sleep;
    fn uptime() = Uptime;
    fn open(path: *const u8, flags: usize) = Open;
    fn mknod(path: *const u8, major: usize, minor: usize) = Mknod;
    fn unlink(path: *const u8) = Unlink;
    fn link(old: *const u8, new: *const u8) = Link;
    fn mkdir(path: *const u8) = Mkdir;
    fn close(fd: usize) = Close;
    /// halt(code): powers QEMU off (0 = success).
    fn halt(code: usize) = Halt;
    fn sysinfo(info: *mut SysInfo) = Sysinfo;
    /// setpgid(pid or 0 for self, pgid or 0 for pid).
    fn setpgid(pid: usize, pgid: usize) = Setpgid;
    /// tcsetpgrp(console fd, pgid or 0): the group ^C kills.
    fn tcsetpgrp(fd: usize, pgid: usize) = Tcsetpgrp;
    fn socket(domain: usize, typ: usize, protocol: usize) = Socket;
    fn bind(fd: usize, addr: *const SockAddrIn, addrlen: usize) = Bind;
    fn connect(fd: usize, addr: *const SockAddrIn, addrlen: usize) = Connect;
    /// sendto(fd, buf, len, flags, addr or null when connected, addrlen) -> bytes.
    fn sendto(fd: usize, buf: *const u8, len: usize, flags: usize, addr: *const SockAddrIn, addrlen: usize) = Sendto;
    /// sendmmsg(fd, msgs, n, flags) -> datagrams sent, each `sent` filled in.
    fn sendmmsg(fd: usize, msgs: *mut MMsg, n: usize, flags: usize) = Sendmmsg;
    /// recvfrom(fd, buf, len, flags, addr or null, addrlen or null) -> bytes.
    fn recvfrom(fd: usize, buf: *mut u8, len: usize, flags: usize, addr: *mut SockAddrIn, addrlen: *mut u32) = Recvfrom;
    fn getsockname(fd: usize, addr: *mut SockAddrIn, addrlen: *mut u32) = Getsockname;
    fn setsockopt(fd: usize, level: usize, opt: usize, optval: *const u8, optlen: usize) = Setsockopt;
    /// netstat(counters, max) -> number of counters filled in.
    fn netstat(counters: *mut Counter, max: usize) = Netstat;
    /// ifconfig(cfg, op): IFCONFIG_GET reads into cfg, IFCONFIG_SET applies
    /// cfg (static), IFCONFIG_DHCP starts the DHCP client.
    fn ifconfig(cfg: *mut IfConfig, set: usize) = Ifconfig;
    /// arp(op, ip, entries, max) -> number of entries filled in.
    fn arp(op: usize, ip: *const [u8; 4], entries: *mut ArpEntry, max: usize) = Arp;
    /// socklist(infos, max) -> number of sockets filled in.
    fn socklist(infos: *mut SockInfo, max: usize) = Socklist;
    /// listen(fd, backlog): a stream socket accepts connections.
    fn listen(fd: usize, backlog: usize) = Listen;
    /// accept(fd, addr or null, addrlen or null) -> the connection's fd.
    fn accept(fd: usize, addr: *mut SockAddrIn, addrlen: *mut u32) = Accept;
    /// shutdown(fd, SHUT_RD | SHUT_WR | SHUT_RDWR).
    fn shutdown(fd: usize, how: usize) = Shutdown;
    /// poll(fds, nfds, timeout_ms or -1) -> entries with events.
    fn poll(fds: *mut PollFd, nfds: usize, timeout_ms: isize) = Poll;
    fn getpeername(fd: usize, addr: *mut SockAddrIn, addrlen: *mut u32) = Getpeername;
    /// spawn(root dir, ns out) -> child's pid in the parent, 0 in the
    /// child, which is pid 1 of a new namespace rooted at that directory.
    fn spawn(root: *const u8, ns: *mut u32, ports: *const PublishedPort, n: usize) = Spawn;
    /// procinfo(infos, max) -> number of processes the caller sees.
    fn procinfo(infos: *mut ProcInfo, max: usize) = Procinfo;
    /// attach(ns): the console goes to container ns until ^] or its end.
    fn attach(ns: usize) = Attach;
}

/// exit(status): never returns.
pub fn exit(status: i32) -> ! {
    // SAFETY: exit takes no pointer.
    unsafe {
        ecall(Sys::Exit, [status as isize as usize, 0, 0, 0, 0, 0]);
    }
    // The kernel never returns from exit; if it does, spin rather than run on.
    #[allow(clippy::empty_loop)]
    loop {}
}
