//! Process tests: fork, exit status, wait, getpid, exec, pipes, kill,
//! sleep, and filling the process table.

use crate::util::{read_file, wait_all};
use abi::fcntl::{O_CREATE, O_TRUNC, O_WRONLY};
use abi::Errno;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ulib::ensure;
use ulib::sys;
use ulib::testing::{Check, TestResult};

/// Ten children exit; wait returns each once, then ECHILD.
pub fn forkwait() -> TestResult {
    let mut pids = Vec::new();
    for _ in 0..10 {
        match sys::fork().or_fail("fork")? {
            0 => sys::exit(0),
            pid => pids.push(pid),
        }
    }
    for _ in 0..10 {
        let (pid, st) = sys::wait().or_fail("wait")?;
        ensure!(st == 0, "child {} exit status {}", pid, st);
        let i = pids.iter().position(|&p| p == pid);
        ensure!(i.is_some(), "wait returned unknown pid {}", pid);
        pids.swap_remove(i.unwrap());
    }
    ensure!(
        sys::wait() == Err(Errno::ECHILD),
        "wait with no children must fail with ECHILD"
    );
    Ok(())
}

/// exit(n) reaches the parent's wait as n.
pub fn exitstatus() -> TestResult {
    for code in [0, 1, 7, 42, -1] {
        let pid = sys::fork().or_fail("fork")?;
        if pid == 0 {
            sys::exit(code);
        }
        let (w, st) = sys::wait().or_fail("wait")?;
        ensure!(
            w == pid && st == code,
            "exit({}) seen as pid {} status {}",
            code,
            w,
            st
        );
    }
    Ok(())
}

/// A child's getpid is what fork returned to the parent, and differs from it.
pub fn getpid() -> TestResult {
    let me = sys::getpid();
    let [r, w] = sys::pipe().or_fail("pipe")?;
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        let _ = sys::write(w, &sys::getpid().to_le_bytes());
        sys::exit(0);
    }
    let _ = sys::close(w);
    let mut b = [0u8; 8];
    ensure!(
        sys::read_full(r, &mut b).or_fail("read")? == 8,
        "short read"
    );
    wait_all();
    let _ = sys::close(r);
    let child = usize::from_le_bytes(b);
    ensure!(
        child == pid && child != me,
        "child getpid {} fork {} parent {}",
        child,
        pid,
        me
    );
    Ok(())
}

/// exec runs a program with its arguments; its output lands in our file.
pub fn exec() -> TestResult {
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        let _ = sys::close(1);
        match sys::open("execout", O_CREATE | O_WRONLY | O_TRUNC) {
            Ok(1) => {}
            _ => sys::exit(2),
        }
        let e = sys::exec("/echo", &["echo", "hello", "exec", "world"]);
        ulib::eprintln!("exec /echo: {}", e.message());
        sys::exit(3);
    }
    let (_, st) = sys::wait().or_fail("wait")?;
    ensure!(st == 0, "echo exit status {}", st);
    let out = read_file("execout")?;
    sys::unlink("execout").or_fail("unlink")?;
    ensure!(
        out == b"hello exec world\n",
        "echo wrote {:?}",
        String::from_utf8_lossy(&out)
    );
    Ok(())
}

/// exec of missing files, non-ELF files and directories fails and leaves us running.
pub fn execerrors() -> TestResult {
    let e = sys::exec("/no-such-program", &["x"]);
    ensure!(
        e == Errno::ENOENT,
        "exec of a missing file: {}",
        e.message()
    );
    crate::util::write_file("notelf", b"#!/bin/sh\necho not an elf file\n")?;
    let e = sys::exec("notelf", &["notelf"]);
    let _ = sys::unlink("notelf");
    ensure!(e != Errno::ENOENT, "exec notelf: {}", e.message());
    let _ = sys::exec("/", &["/"]);
    let _ = sys::exec("", &[""]);
    // Still here, so every exec above failed.
    Ok(())
}

/// exec with many long arguments succeeds or fails cleanly (as xv6's bigargtest).
pub fn bigargs() -> TestResult {
    let long = "x".repeat(400);
    for nargs in [31usize, 33, 200] {
        let pid = sys::fork().or_fail("fork")?;
        if pid == 0 {
            let _ = sys::close(1);
            let _ = sys::open("bigargs.out", O_CREATE | O_WRONLY | O_TRUNC);
            let mut argv: Vec<&str> = vec![long.as_str(); nargs];
            argv[0] = "echo";
            let _ = sys::exec("/echo", &argv);
            sys::exit(0); // failing is fine too
        }
        let (_, st) = sys::wait().or_fail("wait")?;
        ensure!(st == 0, "exec with {} args: status {}", nargs, st);
    }
    let _ = sys::unlink("bigargs.out");
    Ok(())
}

/// Data written into a pipe by a child arrives in order (xv6's pipe1).
pub fn pipe() -> TestResult {
    const N: usize = 5;
    const SZ: usize = 1033;
    let [r, w] = sys::pipe().or_fail("pipe")?;
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        let _ = sys::close(r);
        let mut seq = 0u8;
        let mut buf = vec![0u8; SZ];
        for _ in 0..N {
            for b in buf.iter_mut() {
                *b = seq;
                seq = seq.wrapping_add(1);
            }
            if sys::write_all(w, &buf).is_err() {
                sys::exit(1);
            }
        }
        sys::exit(0);
    }
    let _ = sys::close(w);
    let mut buf = vec![0u8; 3000];
    let (mut total, mut cc, mut seq) = (0usize, 1usize, 0u8);
    loop {
        let n = sys::read(r, &mut buf[..cc]).or_fail("read")?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            ensure!(b == seq, "byte {} is {} not {}", total, b, seq);
            seq = seq.wrapping_add(1);
            total += 1;
        }
        cc = (cc * 2).min(buf.len());
    }
    let _ = sys::close(r);
    ensure!(total == N * SZ, "read {} bytes, want {}", total, N * SZ);
    ensure!(wait_all() == 0, "writer failed");
    Ok(())
}

/// Closing one end: readers see end of file, writers get an error.
pub fn pipeclose() -> TestResult {
    let [r, w] = sys::pipe().or_fail("pipe")?;
    sys::write(w, b"abc").or_fail("write")?;
    sys::close(w).or_fail("close")?;
    let mut b = [0u8; 10];
    ensure!(sys::read(r, &mut b).or_fail("read")? == 3, "first read");
    ensure!(
        sys::read(r, &mut b).or_fail("read")? == 0,
        "read after writer closed must be 0"
    );
    sys::close(r).or_fail("close")?;
    let [r, w] = sys::pipe().or_fail("pipe")?;
    sys::close(r).or_fail("close")?;
    sys::write(w, b"abc").must_fail("write to pipe without reader")?;
    sys::close(w).or_fail("close")?;
    ensure!(sys::close(w).is_err(), "second close must fail");
    Ok(())
}

/// kill ends a spinning child, one blocked on a pipe and one asleep.
pub fn kill() -> TestResult {
    let [r, w] = sys::pipe().or_fail("pipe")?;
    let mut pids = Vec::new();
    for kind in 0..3 {
        match sys::fork().or_fail("fork")? {
            0 => {
                match kind {
                    0 => loop {
                        core::hint::spin_loop();
                    },
                    1 => {
                        let mut b = [0u8; 1];
                        let _ = sys::read(r, &mut b);
                    }
                    _ => {
                        let _ = sys::sleep(100_000);
                    }
                }
                sys::exit(0);
            }
            pid => pids.push(pid),
        }
    }
    sys::sleep(5).or_fail("sleep")?;
    let start = sys::uptime();
    for &pid in &pids {
        sys::kill(pid).or_fail("kill")?;
    }
    for _ in 0..3 {
        let (pid, st) = sys::wait().or_fail("wait")?;
        ensure!(pids.contains(&pid), "unknown pid {}", pid);
        ensure!(st != 0, "killed child {} exited 0", pid);
    }
    let took = sys::uptime() - start;
    ensure!(took < 200, "killed children took {} ticks to die", took);
    let _ = (sys::close(r), sys::close(w));
    sys::kill(1_000_000).must_fail("kill of no such pid")?;
    Ok(())
}

/// sleep waits at least as long as asked (uptime counts ticks).
pub fn sleep() -> TestResult {
    let t0 = sys::uptime();
    sys::sleep(10).or_fail("sleep")?;
    let t1 = sys::uptime();
    ensure!(
        t1 - t0 >= 10 && t1 - t0 < 500,
        "sleep(10) took {} ticks",
        t1 - t0
    );
    sys::sleep(0).or_fail("sleep(0)")?;
    Ok(())
}

/// Forking until the process table is full fails cleanly (xv6's forktest).
pub fn forkfull() -> TestResult {
    let mut n = 0;
    while n < 1000 {
        match sys::fork() {
            Ok(0) => sys::exit(0),
            Ok(_) => n += 1,
            Err(_) => break,
        }
    }
    ensure!(n < 1000, "fork never failed");
    ensure!(n > 10, "only {} forks succeeded", n);
    for _ in 0..n {
        sys::wait().or_fail("wait")?;
    }
    ensure!(sys::wait().is_err(), "an extra child");
    // And the table works again.
    let pid = sys::fork().or_fail("fork after full")?;
    if pid == 0 {
        sys::exit(0);
    }
    sys::wait().or_fail("wait")?;
    Ok(())
}
