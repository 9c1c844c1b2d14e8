//! Process tests: fork, exit status, wait, getpid, exec, pipes, kill,
//! process groups (what ^C kills), init refusing to die, sleep, and
//! filling the process table.

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

/// kill(-pgid) (the kernel path ^C takes) kills every process of a group,
/// however it waits (asleep, in wait, on a pipe), down to grandchildren
/// that inherited the group; a process in another group lives on.
pub fn killgroup() -> TestResult {
    let [r, w] = sys::pipe().or_fail("pipe")?;
    let [r2, w2] = sys::pipe().or_fail("pipe")?;
    let leader = match sys::fork().or_fail("fork")? {
        0 => {
            let _ = sys::setpgid(0, 0);
            // A grandchild blocked on the pipe, inheriting the group.
            if sys::fork() == Ok(0) {
                let mut b = [0u8; 1];
                let _ = sys::read(r, &mut b);
                sys::exit(0);
            }
            // Its sibling escapes into a group of its own, and says it
            // outlived the kill.
            if sys::fork() == Ok(0) {
                let _ = sys::setpgid(0, 0);
                let _ = (sys::close(r), sys::close(w));
                let _ = sys::sleep(30);
                let _ = sys::write(w2, b"y");
                sys::exit(0);
            }
            // The leader waits for its children.
            while sys::wait().is_ok() {}
            sys::exit(0);
        }
        pid => pid,
    };
    // Both sides set the group, as a shell does.
    let _ = sys::setpgid(leader, leader);
    sys::sleep(10).or_fail("sleep")?;
    let start = sys::uptime();
    sys::kill_group(leader).or_fail("kill(-pgid)")?;
    let (pid, st) = sys::wait().or_fail("wait")?;
    ensure!(pid == leader, "wait returned {} instead of {}", pid, leader);
    ensure!(st != 0, "killed group leader exited 0");
    let took = sys::uptime() - start;
    ensure!(took < 200, "killed group took {} ticks to die", took);
    // The grandchild on the pipe died too: the pipe lost its last reader.
    let _ = sys::close(r);
    let mut dead = false;
    for _ in 0..100 {
        if sys::write(w, b"x") == Err(Errno::EPIPE) {
            dead = true;
            break;
        }
        sys::sleep(2).or_fail("sleep")?;
    }
    ensure!(dead, "the grandchild in the group still reads the pipe");
    let _ = sys::close(w);
    let _ = sys::close(w2);
    let mut b = [0u8; 1];
    let n = sys::read(r2, &mut b).or_fail("read")?;
    ensure!(n == 1, "the process that left the group was killed with it");
    let _ = sys::close(r2);
    sys::kill_group(leader).must_fail("kill of an emptied group")?;
    sys::kill_group(1_000_000).must_fail("kill of no such group")?;
    Ok(())
}

/// setpgid and tcsetpgrp refuse what they must: another process's child,
/// a group that does not exist, a descriptor that is not the console.
pub fn pgroups() -> TestResult {
    ensure!(
        sys::setpgid(1, 0) == Err(Errno::ESRCH),
        "setpgid of init (not our child) did not fail with ESRCH"
    );
    ensure!(
        sys::setpgid(0, 1_000_000) == Err(Errno::EPERM),
        "joining a group that does not exist did not fail with EPERM"
    );
    sys::setpgid(0, 0).or_fail("setpgid(0, 0)")?;
    let me = sys::getpid();
    match sys::fork().or_fail("fork")? {
        0 => {
            // The child inherited the group: kill(-me) would reach it.
            let _ = sys::sleep(1000);
            sys::exit(0);
        }
        child => {
            sys::setpgid(child, me).or_fail("setpgid(child, our group)")?;
            sys::kill(child).or_fail("kill child")?;
            sys::wait().or_fail("wait")?;
        }
    }
    let [r, w] = sys::pipe().or_fail("pipe")?;
    ensure!(
        sys::tcsetpgrp(r, me) == Err(Errno::ENOTTY),
        "tcsetpgrp on a pipe did not fail with ENOTTY"
    );
    let _ = (sys::close(r), sys::close(w));
    sys::tcsetpgrp(sys::STDIN, 1_000_000).must_fail("tcsetpgrp to no such group")?;
    Ok(())
}

/// init cannot be killed (EPERM, as on Linux) and lives on.
pub fn killinit() -> TestResult {
    ensure!(
        sys::kill(1) == Err(Errno::EPERM),
        "kill(1) did not fail with EPERM"
    );
    // Orphans are still reaped, so init is alive: an orphan's slot frees.
    let before = sys::sysinfo().or_fail("sysinfo")?.nproc;
    match sys::fork().or_fail("fork")? {
        0 => {
            if sys::fork() == Ok(0) {
                let _ = sys::sleep(5);
                sys::exit(0);
            }
            sys::exit(0);
        }
        _ => {
            sys::wait().or_fail("wait")?;
        }
    }
    for _ in 0..100 {
        if sys::sysinfo().or_fail("sysinfo")?.nproc == before {
            return Ok(());
        }
        sys::sleep(2).or_fail("sleep")?;
    }
    Err("init did not reap an orphan after kill(1)".into())
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

    // Two sleepers, the longer one first: each wakes at its own time, the
    // shorter not held to the longer's deadline.
    let long = sys::fork().or_fail("fork")?;
    if long == 0 {
        let t0 = sys::uptime();
        let ok = sys::sleep(50).is_ok() && sys::uptime() - t0 >= 50;
        sys::exit(if ok { 0 } else { 1 });
    }
    let t0 = sys::uptime();
    sys::sleep(5).or_fail("sleep")?;
    let short = sys::uptime() - t0;
    let (_, status) = sys::wait().or_fail("wait")?;
    ensure!(
        (5..45).contains(&short),
        "sleep(5) beside a sleep(50) took {short} ticks"
    );
    ensure!(status == 0, "sleep(50) beside a sleep(5) woke early");
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
