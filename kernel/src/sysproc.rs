//! Process-related system calls: fork, exit, wait, kill, getpid, sbrk,
//! sleep, uptime, the process groups ^C acts on (setpgid, tcsetpgrp),
//! containers (spawn, procinfo, attach; see `ns.rs`), plus halt and
//! sysinfo for tests and tools.
//!
//! `procinfo` is a system call rather than xv6-container projects' `/proc`
//! directory of one file per process: the file system here has no
//! synthetic files, and one call gives `ps` a consistent snapshot, taken
//! under the process locks, already filtered and numbered for the
//! caller's namespace (as `socklist` does for sockets).

use abi::fs::T_DIR;
use abi::net::{PublishedPort, MAX_PUBLISHED};
use abi::syscall::{ProcInfo, SysInfo};
use abi::Errno;
use zerocopy::IntoBytes;

use crate::file::FileKind;
use crate::log::Op;
use crate::memlayout::TEST_DEV;
use crate::ns::{self, ROOT_NS};
use crate::param::{MAXPATH, ROOTDEV};
use crate::proc::{self, myproc};
use crate::syscall::{argaddr, argfd, argint, argstr};
use crate::trap::TICKS;
use crate::vm;

pub fn sys_exit() -> Result<usize, Errno> {
    proc::exit(argint(0));
}

pub fn sys_getpid() -> Result<usize, Errno> {
    Ok(proc::getpid() as usize)
}

pub fn sys_fork() -> Result<usize, Errno> {
    proc::fork()
}

pub fn sys_wait() -> Result<usize, Errno> {
    proc::wait(argaddr(0))
}

/// sbrk(n): grow (or shrink, n < 0) the heap; returns the old break.
pub fn sys_sbrk() -> Result<usize, Errno> {
    proc::growproc(argaddr(0) as isize)
}

/// sleep(n): wait n timer ticks (EINTR if killed meanwhile).
pub fn sys_sleep() -> Result<usize, Errno> {
    let n = argint(0);
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    let mut t = TICKS.lock();
    let deadline = t.now.saturating_add(n as u64);
    while t.now < deadline {
        if proc::killed() {
            return Err(Errno::EINTR);
        }
        t.wake_at(deadline);
        t = proc::sleep(&TICKS as *const _ as usize, t);
    }
    Ok(0)
}

/// kill(pid): kill one process; kill(-pgid): every process of a group.
pub fn sys_kill() -> Result<usize, Errno> {
    let pid = argint(0);
    if pid < 0 {
        proc::kill_group(pid.checked_neg().ok_or(Errno::EINVAL)?)
    } else {
        proc::kill(pid)
    }
}

/// setpgid(pid, pgid): see `proc::setpgid`.
pub fn sys_setpgid() -> Result<usize, Errno> {
    proc::setpgid(argint(0), argint(1))
}

/// tcsetpgrp(fd, pgid): make group `pgid` (0: none) the console's
/// foreground job, the one ^C kills. `fd` must be the console (ENOTTY).
pub fn sys_tcsetpgrp() -> Result<usize, Errno> {
    let (_, f) = argfd(0)?;
    if !matches!(f.kind, FileKind::Device { major, .. } if major == abi::fcntl::CONSOLE) {
        return Err(Errno::ENOTTY);
    }
    let pgid = argint(1);
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    if pgid != 0 && !proc::group_exists(proc::my_ns(), pgid) {
        return Err(Errno::ESRCH);
    }
    crate::console::set_foreground(pgid);
    Ok(0)
}

/// spawn(dir, &mut u32 ns): fork into a new namespace rooted at
/// directory `dir`; the child is its pid 1. Returns the child's pid (0 in
/// the child) and stores the namespace's number at `ns`. EPERM from
/// inside a container (they do not nest), ENOTDIR, EAGAIN when every
/// namespace slot or process slot is taken.
pub fn sys_spawn() -> Result<usize, Errno> {
    if proc::my_ns() != ROOT_NS {
        return Err(Errno::EPERM);
    }
    let mut buf = [0u8; MAXPATH];
    let len = argstr(0, &mut buf)?;
    let out = argaddr(1);
    let pt = myproc().data().pagetable;
    // Fail on a bad pointer before anything is created.
    vm::copyout(pt, out, &0u32.to_le_bytes())?;
    let mut ports = [PublishedPort::default(); MAX_PUBLISHED];
    let n = usize::try_from(argint(3)).map_err(|_| Errno::EINVAL)?;
    let ports = ports.get_mut(..n).ok_or(Errno::EINVAL)?;
    vm::copyin(pt, ports.as_mut_bytes(), argaddr(2))?;
    let _op = Op::begin();
    let root = crate::fs::namei(&buf[..len])?;
    if root.lock().typ != T_DIR {
        return Err(Errno::ENOTDIR);
    }
    let ns = ns::alloc(root)?;
    if let Err(e) = crate::netglue::publish(ns, ports) {
        ns::abandon(ns);
        return Err(e);
    }
    let pid = match proc::spawn(ns, unshared_fds()) {
        Ok(pid) => pid,
        Err(e) => {
            ns::abandon(ns);
            return Err(e);
        }
    };
    // Checked writable above; the page cannot have gone since.
    let _ = vm::copyout(pt, out, &(ns as u32).to_le_bytes());
    Ok(pid)
}

/// The caller's descriptors that spawn does not pass into the container,
/// as a bit set: directories, which would lead outside, and sockets,
/// which belong to the host's network stack.
fn unshared_fds() -> u64 {
    let mut set = 0;
    for (i, f) in myproc().data().ofile.iter().enumerate() {
        let unshared = match f.as_deref().map(|f| &f.kind) {
            Some(FileKind::Inode { ip, .. }) => ip.lock().typ == T_DIR,
            Some(FileKind::Socket(_)) => true,
            _ => false,
        };
        if unshared {
            set |= 1 << i;
        }
    }
    set
}

/// procinfo(&mut [ProcInfo], n) -> count: the processes the caller's
/// namespace sees (at most n are copied; the count is of all).
pub fn sys_procinfo() -> Result<usize, Errno> {
    let addr = argaddr(0);
    let n = argaddr(1);
    let all = proc::procinfo(proc::my_ns());
    let pt = myproc().data().pagetable;
    let size = core::mem::size_of::<ProcInfo>();
    for (i, info) in all.iter().take(n).enumerate() {
        vm::copyout(pt, addr + i * size, info.as_bytes())?;
    }
    Ok(all.len())
}

/// attach(ns): give the console to container `ns` until ^] or its end.
/// EPERM from inside a container (a container cannot reach a sibling),
/// ESRCH when no container `ns` is running, EINVAL for the root one.
pub fn sys_attach() -> Result<usize, Errno> {
    if proc::my_ns() != ROOT_NS {
        return Err(Errno::EPERM);
    }
    let to = argaddr(0);
    if to == ROOT_NS {
        return Err(Errno::EINVAL);
    }
    if !ns::alive(to) {
        return Err(Errno::ESRCH);
    }
    crate::console::attach(to)
}

/// How many clock tick interrupts have occurred since start.
pub fn sys_uptime() -> Result<usize, Errno> {
    Ok(crate::trap::ticks() as usize)
}

/// halt(code): power QEMU off through the virt test device.
pub fn sys_halt() -> Result<usize, Errno> {
    poweroff(argint(0) as u32);
}

pub fn sys_sysinfo() -> Result<usize, Errno> {
    let (free, total) = crate::kalloc::stats();
    let info = SysInfo {
        free_pages: free as u64,
        total_pages: total as u64,
        nproc: proc::nproc() as u64,
        uptime_ticks: crate::trap::ticks(),
        free_blocks: crate::fs::free_blocks(ROOTDEV) as u64,
        inodes: crate::fs::inodes_in_use() as u64,
        namespaces: ns::count() as u64,
    };
    let mut b = [0u8; core::mem::size_of::<SysInfo>()];
    for (i, v) in [
        info.free_pages,
        info.total_pages,
        info.nproc,
        info.uptime_ticks,
        info.free_blocks,
        info.inodes,
        info.namespaces,
    ]
    .iter()
    .enumerate()
    {
        b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    vm::copyout(myproc().data().pagetable, argaddr(0), &b)?;
    Ok(0)
}

/// Power off: code 0 exits QEMU with status 0, anything else with `code`.
pub fn poweroff(code: u32) -> ! {
    let v = if code == 0 {
        0x5555
    } else {
        (code << 16) | 0x3333
    };
    // SAFETY: the test device is mapped (direct) in the kernel page table,
    // and at the same physical address before paging is on.
    unsafe { core::ptr::write_volatile(TEST_DEV as *mut u32, v) };
    loop {
        crate::riscv::wfi();
    }
}
