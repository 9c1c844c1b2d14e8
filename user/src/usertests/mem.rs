//! Memory tests: sbrk growing and shrinking, fresh memory is zero, freed
//! memory is gone, absurd requests fail, running out of memory leaves the
//! kernel running, and no page is lost over the whole run.

use crate::util::{start_free_pages, PGSIZE};
use ulib::ensure;
use ulib::sys;
use ulib::syscall as raw;
use ulib::testing::{Check, TestResult};

fn brk() -> usize {
    // SAFETY: sbrk(0) only reads the break.
    unsafe { raw::sbrk(0) }.unwrap_or(0)
}

/// Many small sbrks return consecutive memory we can use (xv6's sbrkbasic).
pub fn sbrkbasic() -> TestResult {
    let mut a = brk();
    for i in 0..500usize {
        let b = sys::sbrk(1).or_fail("sbrk(1)")?;
        ensure!(b == a, "sbrk(1) #{} returned {:#x}, want {:#x}", i, b, a);
        // SAFETY: [b, b+1) was just added to our address space.
        unsafe { (b as *mut u8).write_volatile(i as u8) };
        a = b + 1;
    }
    ensure!(brk() == a, "break is {:#x}, want {:#x}", brk(), a);
    // A child gets a copy of it all.
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        // SAFETY: a - 1 is below the inherited break.
        let v = unsafe { ((a - 1) as *const u8).read_volatile() };
        sys::exit(if v == 499u32 as u8 { 0 } else { 1 });
    }
    let (_, st) = sys::wait().or_fail("wait")?;
    ensure!(st == 0, "child saw other memory");
    Ok(())
}

/// Grow by 1 MiB: zero-filled and writable; shrink: touching it kills us;
/// grow again: zero-filled again.
pub fn sbrkshrink() -> TestResult {
    const MB: usize = 1 << 20;
    let a = sys::sbrk(MB).or_fail("sbrk(1 MiB)")?;
    for off in (0..MB).step_by(PGSIZE) {
        let p = (a + off) as *mut u64;
        // SAFETY: [a, a + MB) was just added; nothing else uses it.
        unsafe {
            ensure!(
                p.read_volatile() == 0,
                "fresh memory at {:#x} not zero",
                a + off
            );
            p.write_volatile(0xdead_beef);
        }
    }
    // SAFETY: we give back exactly the megabyte just taken; nothing points into it.
    unsafe { raw::sbrk(-(MB as isize)) }.or_fail("sbrk(-1 MiB)")?;
    ensure!(brk() == a, "break {:#x} after shrink, want {:#x}", brk(), a);

    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        // SAFETY: deliberately touches freed memory: the kernel must kill us.
        unsafe { ((a + MB / 2) as *mut u64).write_volatile(1) };
        sys::exit(0);
    }
    let (_, st) = sys::wait().or_fail("wait")?;
    ensure!(st != 0, "writing freed memory did not kill the child");

    let b = sys::sbrk(MB).or_fail("sbrk again")?;
    ensure!(a == b, "regrow at {:#x}, want {:#x}", b, a);
    for off in (0..MB).step_by(PGSIZE) {
        // SAFETY: [b, b + MB) was just added.
        let v = unsafe { ((b + off) as *const u64).read_volatile() };
        ensure!(v == 0, "regrown memory at {:#x} holds {:#x}", b + off, v);
    }
    // SAFETY: as above, giving back what we took.
    unsafe { raw::sbrk(-(MB as isize)) }.or_fail("sbrk(-1 MiB)")?;
    Ok(())
}

/// Absurd sizes fail and leave the break alone.
pub fn sbrkbad() -> TestResult {
    let before = brk();
    for n in [1isize << 40, isize::MAX, isize::MAX / 2] {
        // SAFETY: growth only; it must fail anyway.
        unsafe { raw::sbrk(n) }.must_fail("huge sbrk")?;
    }
    // SAFETY: shrinking past zero must fail and so frees nothing.
    unsafe { raw::sbrk(-(before as isize) - PGSIZE as isize) }.must_fail("sbrk below 0")?;
    // SAFETY: as above.
    unsafe { raw::sbrk(isize::MIN) }.must_fail("sbrk(isize::MIN)")?;
    ensure!(
        brk() == before,
        "break moved from {:#x} to {:#x}",
        before,
        brk()
    );
    Ok(())
}

/// A child takes memory until sbrk fails; fork fails too; it exits and all
/// the memory comes back.
pub fn oom() -> TestResult {
    const CHUNK: usize = 1 << 20;
    let before = sys::sysinfo().or_fail("sysinfo")?.free_pages;
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        let mut got = 0usize;
        while let Ok(a) = sys::sbrk(CHUNK) {
            // SAFETY: [a, a + CHUNK) is ours; touch one byte per chunk.
            unsafe { (a as *mut u8).write_volatile(1) };
            got += 1;
        }
        // Now a smaller request may still fit; take pages one at a time.
        while sys::sbrk(PGSIZE).is_ok() {}
        if got < 8 {
            ulib::println!("  oom: only {} MiB before sbrk failed", got);
            sys::exit(1);
        }
        let forked = match sys::fork() {
            Ok(0) => sys::exit(0),
            Ok(_) => {
                let _ = sys::wait();
                true
            }
            Err(_) => false,
        };
        let _ = forked; // either is fine: fork may or may not find memory
        sys::exit(0);
    }
    let (_, st) = sys::wait().or_fail("wait")?;
    ensure!(st == 0, "oom child status {}", st);
    let after = sys::sysinfo().or_fail("sysinfo")?.free_pages;
    ensure!(
        after == before,
        "free pages {} before, {} after",
        before,
        after
    );
    Ok(())
}

/// No page was lost over the run (counted before the first test).
pub fn freepages() -> TestResult {
    let start = start_free_pages();
    let now = sys::sysinfo().or_fail("sysinfo")?.free_pages;
    ensure!(start != 0, "no free-page count at start");
    ensure!(
        now >= start,
        "lost {} pages ({} at start, {} now)",
        start - now,
        start,
        now
    );
    Ok(())
}
