//! Every file-system and process call given wild pointers, lengths that
//! run off mapped memory, and bad fds: each must fail with an error, and
//! the kernel must keep running. Wild addresses: null, page 0, kernel
//! memory, the trampoline and trapframe (mapped, but not for users), beyond
//! MAXVA, unmapped pages, and (where the kernel would store) read-only text.

use crate::util::{bad_addrs, edge, wait_all, write_file, PGSIZE};
use abi::fcntl::{O_CREATE, O_RDONLY, O_RDWR};
use abi::Errno;
use alloc::format;
use alloc::vec;
use core::ptr;
use ulib::ensure;
use ulib::sys;
use ulib::syscall as raw;
use ulib::testing::{Check, TestResult};

/// Runs `call` with each wild address; every call must fail.
fn each_bad(
    for_store: bool,
    what: &str,
    mut call: impl FnMut(usize) -> Result<usize, Errno>,
) -> TestResult {
    for (addr, name) in bad_addrs(for_store) {
        if let Ok(v) = call(addr) {
            return Err(format!(
                "{} with {} ({:#x}) returned {} but must fail",
                what, name, addr, v
            ));
        }
    }
    Ok(())
}

/// A NUL-terminated string that stays valid while `call` runs.
fn c(s: &str) -> alloc::vec::Vec<u8> {
    ulib::cstr::cstring(s).unwrap()
}

pub fn badfd() -> TestResult {
    let closed = sys::open("badfd", O_CREATE | O_RDWR).or_fail("create")?;
    sys::close(closed).or_fail("close")?;
    let mut buf = [0u8; 16];
    for fd in [
        usize::MAX,
        (-2isize) as usize,
        16,
        63,
        100,
        1 << 32,
        1 << 40,
        closed,
    ] {
        sys::read(fd, &mut buf).must_fail(&format!("read fd {fd}"))?;
        sys::write(fd, b"x").must_fail(&format!("write fd {fd}"))?;
        sys::fstat(fd).must_fail(&format!("fstat fd {fd}"))?;
        sys::dup(fd).must_fail(&format!("dup fd {fd}"))?;
        sys::close(fd).must_fail(&format!("close fd {fd}"))?;
    }
    sys::unlink("badfd").or_fail("unlink")?;
    Ok(())
}

/// Calls that store into user memory: read (file, pipe), fstat.
pub fn badptr_read() -> TestResult {
    write_file("bpr", &[7u8; 100])?;
    each_bad(true, "read(file)", |a| {
        let fd = sys::open("bpr", O_RDONLY)?;
        // SAFETY: a is not memory this process may be given; the kernel must refuse.
        let r = unsafe { raw::read(fd, a as *mut u8, 10) };
        let _ = sys::close(fd);
        r
    })?;
    let [r, w] = sys::pipe().or_fail("pipe")?;
    each_bad(true, "read(pipe)", |a| {
        sys::write(w, b"0123456789")?;
        // SAFETY: as above.
        unsafe { raw::read(r, a as *mut u8, 10) }
    })?;
    let _ = (sys::close(r), sys::close(w));
    let fd = sys::open("bpr", O_RDONLY).or_fail("open")?;
    // SAFETY: as above.
    each_bad(true, "fstat", |a| unsafe { raw::fstat(fd, a as *mut _) })?;
    // The file is unharmed and still readable.
    let mut b = [0u8; 100];
    ensure!(
        sys::read_full(fd, &mut b).or_fail("read")? == 100 && b == [7u8; 100],
        "file changed"
    );
    sys::close(fd).or_fail("close")?;
    sys::unlink("bpr").or_fail("unlink")?;
    Ok(())
}

/// Calls that load from user memory: write (file, pipe).
pub fn badptr_write() -> TestResult {
    let fd = sys::open("bpw", O_CREATE | O_RDWR).or_fail("create")?;
    // SAFETY: a is not memory this process may be given; the kernel must refuse.
    each_bad(false, "write(file)", |a| unsafe {
        raw::write(fd, a as *const u8, 10)
    })?;
    ensure!(
        sys::fstat(fd).or_fail("fstat")?.size == 0,
        "bad writes grew the file"
    );
    sys::close(fd).or_fail("close")?;
    sys::unlink("bpw").or_fail("unlink")?;
    let [r, w] = sys::pipe().or_fail("pipe")?;
    // SAFETY: as above.
    each_bad(false, "write(pipe)", |a| unsafe {
        raw::write(w, a as *const u8, 10)
    })?;
    sys::close(w).or_fail("close")?;
    let mut b = [0u8; 10];
    ensure!(
        sys::read(r, &mut b).or_fail("read")? == 0,
        "bad pipe writes put data in the pipe"
    );
    sys::close(r).or_fail("close")?;
    Ok(())
}

/// Calls that take a path: wild pointers, strings that run into unmapped
/// memory without a NUL, and paths far too long.
pub fn badptr_path() -> TestResult {
    let ok = c("bpp");
    let okp = ok.as_ptr();
    // SAFETY: (for all calls below) each wild address is not memory this process
    // may be given, and `ok` is a live C string; the kernel must refuse.
    each_bad(false, "open", |a| unsafe {
        raw::open(a as *const u8, O_CREATE | O_RDWR)
    })?;
    // SAFETY: as above: wild pointers the kernel must refuse, or live locals.
    each_bad(false, "mkdir", |a| unsafe { raw::mkdir(a as *const u8) })?;
    // SAFETY: as above: wild pointers the kernel must refuse, or live locals.
    each_bad(false, "mknod", |a| unsafe {
        raw::mknod(a as *const u8, 1, 0)
    })?;
    // SAFETY: as above: wild pointers the kernel must refuse, or live locals.
    each_bad(false, "unlink", |a| unsafe { raw::unlink(a as *const u8) })?;
    // SAFETY: as above: wild pointers the kernel must refuse, or live locals.
    each_bad(false, "chdir", |a| unsafe { raw::chdir(a as *const u8) })?;
    // SAFETY: as above: wild pointers the kernel must refuse, or live locals.
    each_bad(false, "link(bad, ok)", |a| unsafe {
        raw::link(a as *const u8, okp)
    })?;
    write_file("bpp", b"x")?;
    // SAFETY: as above: wild pointers the kernel must refuse, or live locals.
    each_bad(false, "link(ok, bad)", |a| unsafe {
        raw::link(okp, a as *const u8)
    })?;
    // SAFETY: as above: wild pointers the kernel must refuse, or live locals.
    each_bad(false, "exec", |a| unsafe {
        raw::exec(a as *const u8, [okp, ptr::null()].as_ptr())
    })?;

    // A name with no NUL before unmapped memory.
    let top = edge();
    let start = top - 64;
    // SAFETY: [top - PGSIZE, top) is mapped and ours (below the break).
    unsafe { ptr::write_bytes(start as *mut u8, b'a', 64) };
    // SAFETY: the string runs into unmapped memory; the kernel must refuse.
    unsafe {
        raw::open(start as *const u8, O_CREATE | O_RDWR).must_fail("open unterminated")?;
        raw::mkdir(start as *const u8).must_fail("mkdir unterminated")?;
        raw::unlink(start as *const u8).must_fail("unlink unterminated")?;
        raw::chdir(start as *const u8).must_fail("chdir unterminated")?;
        raw::link(okp, start as *const u8).must_fail("link unterminated")?;
    }
    let _ = PGSIZE;

    // Paths far longer than any buffer.
    let long = "a/".repeat(3000);
    sys::open(&long, O_CREATE | O_RDWR).must_fail("open of a 6000-byte path")?;
    sys::mkdir(&long).must_fail("mkdir of a 6000-byte path")?;
    let longname = "b".repeat(200);
    if let Ok(fd) = sys::open(&longname, O_CREATE | O_RDWR) {
        // xv6 truncates long names to DIRSIZ; accept that, but clean up.
        let _ = sys::close(fd);
        let _ = sys::unlink(&longname);
    }
    sys::unlink("bpp").or_fail("unlink")?;
    Ok(())
}

/// Runs one exec attempt in a child: it exits 0 if exec failed. If exec
/// wrongly succeeds, /sleep runs with bad arguments and exits 1.
fn exec_must_fail(what: &str, attempt: impl FnOnce() -> Result<usize, Errno>) -> TestResult {
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        let _ = attempt();
        sys::exit(0);
    }
    let (_, st) = sys::wait().or_fail("wait")?;
    ensure!(st == 0, "{} succeeded but must fail", what);
    Ok(())
}

/// exec with wild argv pointers, wild strings in argv, argv without its
/// NULL running into unmapped memory; each attempt must fail.
pub fn badptr_exec() -> TestResult {
    let path = c("/sleep");
    let pp = path.as_ptr();
    let arg = c("sleep");
    for (a, name) in bad_addrs(false) {
        if a == 0 {
            continue; // a null argv may mean "no arguments"; argv[1] = null ends argv
        }
        // SAFETY: a wild pointer the kernel must refuse; path is a live C string.
        exec_must_fail(&format!("exec(argv = {name})"), || unsafe {
            raw::exec(pp, a as *const *const u8)
        })?;
        let argv = [arg.as_ptr(), a as *const u8, ptr::null()];
        // SAFETY: as above; argv is live.
        exec_must_fail(&format!("exec(argv[1] = {name})"), || unsafe {
            raw::exec(pp, argv.as_ptr())
        })?;
    }
    exec_must_fail("exec with argv running off memory", || {
        let top = edge();
        let slots = (top - 16) as *mut *const u8;
        // SAFETY: the two slots below the break are mapped and ours; the
        // kernel must refuse to read the third, unmapped one.
        unsafe {
            slots.write(arg.as_ptr());
            slots.add(1).write(arg.as_ptr());
            raw::exec(pp, slots)
        }
    })?;
    let many = vec!["sleep"; 100];
    exec_must_fail("exec with 100 arguments", || {
        Err(sys::exec("/sleep", &many))
    })?;
    Ok(())
}

/// pipe, wait and sysinfo with wild pointers.
pub fn badptr_misc() -> TestResult {
    // SAFETY: wild pointers the kernel must refuse.
    each_bad(true, "pipe", |a| unsafe { raw::pipe(a as *mut [i32; 2]) })?;
    // SAFETY: as above.
    each_bad(true, "sysinfo", |a| unsafe { raw::sysinfo(a as *mut _) })?;
    for (addr, name) in bad_addrs(true) {
        if addr == 0 {
            continue; // wait(0) is allowed: "status not wanted"
        }
        if sys::fork().or_fail("fork")? == 0 {
            sys::exit(0);
        }
        sys::sleep(1).or_fail("sleep")?;
        // SAFETY: as above.
        let r = unsafe { raw::wait(addr as *mut i32) };
        ensure!(
            r.is_err(),
            "wait with {} ({:#x}) returned {:?}",
            name,
            addr,
            r
        );
        wait_all();
    }
    Ok(())
}

/// Lengths that run off the end of mapped memory, and absurd lengths.
pub fn badlen() -> TestResult {
    write_file("bl", &vec![5u8; 8192])?;
    let fd = sys::open("bl", O_RDWR).or_fail("open")?;
    let top = edge();
    let buf = top - 100;
    // SAFETY: (for all calls below) the range starts in our memory and runs
    // past the break; the kernel must refuse rather than copy part.
    unsafe {
        raw::read(fd, buf as *mut u8, 4096).must_fail("read across the break")?;
        raw::read(fd, buf as *mut u8, usize::MAX).must_fail("read of usize::MAX")?;
        raw::read(fd, buf as *mut u8, 1 << 40).must_fail("read of 1 TiB")?;
        raw::write(fd, buf as *const u8, 4096).must_fail("write across the break")?;
        raw::write(fd, buf as *const u8, usize::MAX).must_fail("write of usize::MAX")?;
        raw::write(fd, buf as *const u8, 1 << 40).must_fail("write of 1 TiB")?;
        raw::write(fd, 0x1000 as *const u8, usize::MAX - 0x800)
            .must_fail("write wrapping around")?;
    }
    sys::close(fd).or_fail("close")?;
    sys::unlink("bl").or_fail("unlink")?;
    Ok(())
}
