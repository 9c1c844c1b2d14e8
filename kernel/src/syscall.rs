//! System-call dispatch and argument fetching.
//!
//! The number is in a7 and arguments in a0..a5 (see `abi::syscall`). Each
//! `sys_*` returns `Result<usize, Errno>`; `syscall()` stores the value, or
//! the negated errno, in a0. Arguments that are user pointers are only
//! ever dereferenced through copyin/copyout, which check the page table.

use alloc::sync::Arc;

use abi::syscall::Sys;
use abi::Errno;

use crate::file::File;
use crate::param::NOFILE;
use crate::proc::myproc;
use crate::vm;

/// Fetch the usize at addr from the current process.
pub fn fetchaddr(addr: usize) -> Result<usize, Errno> {
    let mut b = [0u8; 8];
    vm::copyin(myproc().data().pagetable, &mut b, addr)?;
    Ok(usize::from_le_bytes(b))
}

/// Fetch the NUL-terminated string at addr from the current process into
/// buf. Returns the length of the string, not including the NUL.
pub fn fetchstr(addr: usize, buf: &mut [u8]) -> Result<usize, Errno> {
    vm::copyinstr(myproc().data().pagetable, buf, addr)
}

fn argraw(n: usize) -> usize {
    let tf = myproc().trapframe();
    match n {
        0 => tf.a0,
        1 => tf.a1,
        2 => tf.a2,
        3 => tf.a3,
        4 => tf.a4,
        5 => tf.a5,
        _ => panic!("argraw"),
    }
}

/// Fetch the nth system call argument as a 32-bit integer.
pub fn argint(n: usize) -> i32 {
    argraw(n) as i32
}

/// Fetch the nth argument as a pointer or size. Doesn't check for
/// legality, since copyin/copyout will do that.
pub fn argaddr(n: usize) -> usize {
    argraw(n)
}

/// Fetch the nth argument as a NUL-terminated string into buf (with its
/// NUL). Returns the string length.
pub fn argstr(n: usize, buf: &mut [u8]) -> Result<usize, Errno> {
    fetchstr(argaddr(n), buf)
}

/// Fetch the nth argument as a file descriptor; return it and its open file.
pub fn argfd(n: usize) -> Result<(usize, Arc<File>), Errno> {
    // The whole register counts: fd 2^32 must not wrap to fd 0.
    let fd = argraw(n);
    if fd >= NOFILE {
        return Err(Errno::EBADF);
    }
    let f = myproc().data().ofile[fd].clone().ok_or(Errno::EBADF)?;
    Ok((fd, f))
}

fn dispatch(s: Sys) -> Result<usize, Errno> {
    use crate::exec::sys_exec;
    use crate::sysfile::*;
    use crate::sysproc::*;
    match s {
        Sys::Fork => sys_fork(),
        Sys::Exit => sys_exit(),
        Sys::Wait => sys_wait(),
        Sys::Pipe => sys_pipe(),
        Sys::Read => sys_read(),
        Sys::Kill => sys_kill(),
        Sys::Exec => sys_exec(),
        Sys::Fstat => sys_fstat(),
        Sys::Chdir => sys_chdir(),
        Sys::Dup => sys_dup(),
        Sys::Getpid => sys_getpid(),
        Sys::Sbrk => sys_sbrk(),
        Sys::Sleep => sys_sleep(),
        Sys::Uptime => sys_uptime(),
        Sys::Open => sys_open(),
        Sys::Write => sys_write(),
        Sys::Mknod => sys_mknod(),
        Sys::Unlink => sys_unlink(),
        Sys::Link => sys_link(),
        Sys::Mkdir => sys_mkdir(),
        Sys::Close => sys_close(),
        Sys::Halt => sys_halt(),
        Sys::Sysinfo => sys_sysinfo(),
        Sys::Setpgid => sys_setpgid(),
        Sys::Tcsetpgrp => sys_tcsetpgrp(),
        Sys::Spawn => sys_spawn(),
        Sys::Procinfo => sys_procinfo(),
        Sys::Attach => sys_attach(),
        // Sockets (sysnet.rs).
        Sys::Socket => crate::sysnet::sys_socket(),
        Sys::Bind => crate::sysnet::sys_bind(),
        Sys::Connect => crate::sysnet::sys_connect(),
        Sys::Sendto => crate::sysnet::sys_sendto(),
        Sys::Sendmmsg => crate::sysnet::sys_sendmmsg(),
        Sys::Recvfrom => crate::sysnet::sys_recvfrom(),
        Sys::Getsockname => crate::sysnet::sys_getsockname(),
        Sys::Setsockopt => crate::sysnet::sys_setsockopt(),
        Sys::Netstat => crate::sysnet::sys_netstat(),
        Sys::Ifconfig => crate::sysnet::sys_ifconfig(),
        Sys::Arp => crate::sysnet::sys_arp(),
        Sys::Socklist => crate::sysnet::sys_socklist(),
        // Stream sockets (systcp.rs) and poll (syspoll.rs).
        Sys::Listen => crate::systcp::sys_listen(),
        Sys::Accept => crate::systcp::sys_accept(),
        Sys::Shutdown => crate::systcp::sys_shutdown(),
        Sys::Getpeername => crate::systcp::sys_getpeername(),
        Sys::Poll => crate::syspoll::sys_poll(),
    }
}

pub fn syscall() {
    let p = myproc();
    let num = p.trapframe().a7;
    let ret = match Sys::from_num(num) {
        Some(s) => dispatch(s),
        None => {
            crate::println!("{} {}: unknown sys call {}", p.pid(), p.name(), num);
            Err(Errno::ENOSYS)
        }
    };
    // Re-fetch: exec replaced the address space but keeps the trapframe page.
    p.trapframe().a0 = match ret {
        Ok(v) => v,
        Err(e) => e.as_ret() as usize,
    };
    // Frames a container's stack sent during the call cross the bridge
    // now, with no stack locked (a look at a counter when there are none).
    crate::bridge::flush();
}
