//! Helpers shared by the usertests modules: wild addresses, the edge of
//! mapped memory, small file utilities, and the free-page count at start.

use abi::fcntl::{O_CREATE, O_RDONLY, O_TRUNC, O_WRONLY};
use alloc::format;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use ulib::sys;
use ulib::syscall as raw;
use ulib::testing::{Check, TestResult};

pub const PGSIZE: usize = 4096;
/// One past the highest Sv39 user address (as xv6's MAXVA).
pub const MAXVA: usize = 1 << 38;

static START_FREE: AtomicU64 = AtomicU64::new(0);

pub fn record_free_pages() {
    if let Ok(info) = sys::sysinfo() {
        START_FREE.store(info.free_pages, Ordering::Relaxed);
    }
}

pub fn start_free_pages() -> u64 {
    START_FREE.load(Ordering::Relaxed)
}

/// Makes the break page-aligned with the page below it mapped, and returns
/// the break: the first unmapped address. Do not allocate between this and
/// the use of the address (the heap could grow over it).
pub fn edge() -> usize {
    // SAFETY: sbrk(0) only reads the break.
    let brk = unsafe { raw::sbrk(0) }.unwrap_or(0);
    let top = (brk + PGSIZE - 1) & !(PGSIZE - 1);
    if top != brk {
        let _ = sys::sbrk(top - brk);
    }
    // SAFETY: as above.
    unsafe { raw::sbrk(0) }.unwrap_or(0)
}

/// Addresses no system call may read from or write to. `for_store`: the
/// kernel would write there, so read-only user text counts as bad too.
pub fn bad_addrs(for_store: bool) -> Vec<(usize, &'static str)> {
    let mut v = Vec::with_capacity(12);
    v.push((0, "null"));
    v.push((8, "page 0"));
    v.push((0xffff_ffff_ffff, "0xffffffffffff"));
    v.push((0x8000_0000, "kernel 0x80000000"));
    v.push((0x8000_1000, "kernel 0x80001000"));
    v.push((0x4000_0000, "unmapped 1 GiB"));
    v.push((MAXVA - PGSIZE, "trampoline"));
    v.push((MAXVA - 2 * PGSIZE, "trapframe"));
    v.push((MAXVA, "MAXVA"));
    v.push((usize::MAX - 7, "top of address space"));
    if for_store {
        v.push((0x1000, "read-only text"));
    }
    v.push((edge(), "page above the break"));
    v
}

pub fn write_file(path: &str, data: &[u8]) -> TestResult {
    let fd = sys::open(path, O_CREATE | O_WRONLY | O_TRUNC).or_fail(&format!("create {path}"))?;
    let r = sys::write_all(fd, data).or_fail(&format!("write {path}"));
    let _ = sys::close(fd);
    r
}

pub fn read_file(path: &str) -> Result<Vec<u8>, alloc::string::String> {
    let fd = sys::open(path, O_RDONLY).or_fail(&format!("open {path}"))?;
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match sys::read(fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => {
                let _ = sys::close(fd);
                return Err(format!("read {path}: {}", e.message()));
            }
        }
    }
    let _ = sys::close(fd);
    Ok(out)
}

/// Waits for every child; returns how many exited with a non-zero status.
pub fn wait_all() -> usize {
    let mut bad = 0;
    while let Ok((_, st)) = sys::wait() {
        if st != 0 {
            bad += 1;
        }
    }
    bad
}
