//! Process-related system calls: fork, exit, wait, kill, getpid, sbrk,
//! sleep, uptime, the process groups ^C acts on (setpgid, tcsetpgrp),
//! plus halt and sysinfo for tests and tools.

use abi::syscall::SysInfo;
use abi::Errno;

use crate::file::FileKind;
use crate::memlayout::TEST_DEV;
use crate::param::ROOTDEV;
use crate::proc::{self, myproc};
use crate::syscall::{argaddr, argfd, argint};
use crate::trap::TICKS;
use crate::vm;

pub fn sys_exit() -> Result<usize, Errno> {
    proc::exit(argint(0));
}

pub fn sys_getpid() -> Result<usize, Errno> {
    Ok(myproc().pid() as usize)
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
    let t0 = *t;
    while *t - t0 < n as u64 {
        if proc::killed() {
            return Err(Errno::EINTR);
        }
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
    if pgid != 0 && !proc::group_exists(pgid) {
        return Err(Errno::ESRCH);
    }
    crate::console::set_foreground(pgid);
    Ok(0)
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
    };
    let mut b = [0u8; core::mem::size_of::<SysInfo>()];
    for (i, v) in [
        info.free_pages,
        info.total_pages,
        info.nproc,
        info.uptime_ticks,
        info.free_blocks,
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
