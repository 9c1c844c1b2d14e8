//! Container tests (`spawn`, see the kernel's `ns.rs`): pid numbering
//! and what each namespace sees, kill and wait kept inside, paths that try
//! to climb out of a container's root, the host's programs run but never
//! reached, bad arguments, and every page, process, inode and namespace
//! slot back after containers end.
//!
//! Each test body that runs inside a container reports by exit status
//! (printing why on failure); the host side checks what it can see.

use crate::util::{read_file, write_file};
use abi::fcntl::{O_CREATE, O_RDONLY, O_RDWR};
use abi::syscall::{SysInfo, PROC_ZOMBIE};
use abi::Errno;
use alloc::format;
use alloc::string::String;
use ulib::ensure;
use ulib::sys::{self, Spawned};
use ulib::testing::{Check, TestResult};

/// Namespace slots besides the host's (the kernel's `ns::NNS` - 1).
const CONTAINERS: usize = 7;

/// Spawns a container rooted at `dir` that runs `body` and exits 0 if it
/// passes (1 after printing why if not); returns it as the host sees it.
pub fn spawn_running(dir: &str, body: impl FnOnce() -> TestResult) -> Result<Spawned, String> {
    match sys::spawn(dir).or_fail(&format!("spawn {dir}"))? {
        Some(child) => Ok(child),
        None => match body() {
            Ok(()) => sys::exit(0),
            Err(why) => {
                ulib::eprintln!("in container: {}", why);
                sys::exit(1)
            }
        },
    }
}

/// Waits for `pid`; returns its exit status.
fn wait_for(pid: usize) -> Result<i32, String> {
    loop {
        let (w, st) = sys::wait().or_fail("wait")?;
        if w == pid {
            return Ok(st);
        }
    }
}

/// Runs `body` in a container rooted at `dir` and requires it to pass.
fn in_container(dir: &str, body: impl FnOnce() -> TestResult) -> TestResult {
    let child = spawn_running(dir, body)?;
    let st = wait_for(child.pid)?;
    ensure!(st == 0, "the container's checks failed (status {})", st);
    Ok(())
}

/// A fresh directory for a container.
fn make_dir(dir: &str) -> TestResult {
    match sys::mkdir(dir) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(format!("mkdir {dir}: {}", e.message())),
    }
}

/// Is `pid` (host numbering) alive and not a zombie?
fn running(pid: usize) -> Result<bool, String> {
    let all = sys::procinfo().or_fail("procinfo")?;
    Ok(all
        .iter()
        .any(|p| p.pid as usize == pid && p.state != PROC_ZOMBIE))
}

/// The container's first process is its pid 1, its children 2, 3, ...;
/// it sees only its own processes, numbered its way; the host sees them
/// all with both numbers, and fork, getpid and wait agree on them.
pub fn nspids() -> TestResult {
    make_dir("/ct-pids")?;
    let [ready_r, ready_w] = sys::pipe().or_fail("pipe")?;
    let [go_r, go_w] = sys::pipe().or_fail("pipe")?;
    let child = spawn_running("/ct-pids", || {
        ensure!(sys::getpid() == 1, "first pid {}, not 1", sys::getpid());
        let kid = sys::fork().or_fail("fork")?;
        if kid == 0 {
            // Stay until the host has looked.
            let _ = sys::write(ready_w, b"!");
            let mut b = [0u8; 1];
            let _ = sys::read(go_r, &mut b);
            sys::exit(if sys::getpid() == 2 { 0 } else { 1 });
        }
        ensure!(kid == 2, "second process got pid {}", kid);
        let all = sys::procinfo().or_fail("procinfo")?;
        let pids: alloc::vec::Vec<i32> = all.iter().map(|p| p.pid).collect();
        ensure!(pids.len() == 2, "the container sees {:?}, not [1, 2]", pids);
        ensure!(
            all.iter()
                .all(|p| p.pid == p.nspid && (p.pid == 1 || p.pid == 2)),
            "pids seen {:?}",
            pids
        );
        let two = all.iter().find(|p| p.pid == 2).unwrap();
        let one = all.iter().find(|p| p.pid == 1).unwrap();
        ensure!(two.ppid == 1, "pid 2's parent is {}", two.ppid);
        ensure!(one.ppid == 0, "pid 1's parent shows as {}, not 0", one.ppid);
        let (w, st) = sys::wait().or_fail("wait")?;
        ensure!(w == 2 && st == 0, "wait gave pid {} status {}", w, st);
        Ok(())
    })?;
    ensure!(child.ns != 0, "spawn reported namespace 0");
    // The host sees both processes while pid 2 waits: global pids, and
    // namespace-local ones beside them.
    // The container's ends only: a container that fails early ends the read.
    let _ = sys::close(ready_w);
    let _ = sys::close(go_r);
    let mut b = [0u8; 1];
    let _ = sys::read(ready_r, &mut b);
    let all = sys::procinfo().or_fail("procinfo")?;
    let _ = sys::write(go_w, b"!");
    let _ = sys::close(ready_r);
    let _ = sys::close(go_w);
    let me = sys::getpid() as i32;
    let theirs: alloc::vec::Vec<_> = all.iter().filter(|p| p.ns == child.ns).collect();
    let first = all.iter().find(|p| p.pid as usize == child.pid);
    ensure!(
        first.is_some_and(|p| p.nspid == 1 && p.ppid == me && p.ns == child.ns),
        "the host does not see pid {} as pid 1 of namespace {}",
        child.pid,
        child.ns
    );
    ensure!(
        theirs.len() == 2 && theirs.iter().any(|p| p.nspid == 2 && p.pid as usize != 2),
        "the host sees {} processes in the container",
        theirs.len()
    );
    ensure!(
        all.iter().any(|p| p.pid == me && p.ns == 0),
        "the host does not see itself"
    );
    let st = wait_for(child.pid)?;
    ensure!(st == 0, "the container's checks failed (status {})", st);
    Ok(())
}

/// From inside, no pid reaches a process outside: every kill is ESRCH
/// (EPERM for its own pid 1), wait has no child of the host's; the host's
/// process lives on. The host kills the container by its pid 1, which
/// ends every process in it.
pub fn nskill() -> TestResult {
    make_dir("/ct-kill")?;
    let sleeper = sys::fork().or_fail("fork")?;
    if sleeper == 0 {
        let _ = sys::sleep(1000);
        sys::exit(0);
    }
    in_container("/ct-kill", || {
        ensure!(sys::wait() == Err(Errno::ECHILD), "wait found a child");
        ensure!(sys::kill(1) == Err(Errno::EPERM), "kill(1) not EPERM");
        for pid in 2..200 {
            let r = sys::kill(pid);
            ensure!(r == Err(Errno::ESRCH), "kill({}) gave {:?}", pid, r);
            let r = sys::kill_group(pid);
            ensure!(r == Err(Errno::ESRCH), "kill(-{}) gave {:?}", pid, r);
        }
        ensure!(
            sys::setpgid(2, 2) == Err(Errno::ESRCH),
            "setpgid reached out"
        );
        Ok(())
    })?;
    ensure!(
        running(sleeper)?,
        "the host's process {} was killed",
        sleeper
    );
    sys::kill(sleeper).or_fail("kill the sleeper")?;
    ensure!(wait_for(sleeper)? != 0, "the sleeper was not killed");

    // A container's pid 1 with a child: the host kills it; both end.
    let child = spawn_running("/ct-kill", || {
        if sys::fork().or_fail("fork")? == 0 {
            let _ = sys::sleep(1000);
            sys::exit(0);
        }
        let _ = sys::sleep(1000);
        Err("pid 1 was not killed".into())
    })?;
    sys::sleep(2).or_fail("sleep")?;
    sys::kill(child.pid).or_fail("kill the container's pid 1")?;
    wait_for(child.pid)?;
    for _ in 0..100 {
        let all = sys::procinfo().or_fail("procinfo")?;
        if !all.iter().any(|p| p.ns == child.ns) {
            return Ok(());
        }
        sys::sleep(2).or_fail("sleep")?;
    }
    Err("a process outlived its container's pid 1".into())
}

/// No path leaves the container's root: absolute, `..` at the root, long
/// `..` chains, a create or mkdir through `..`, a directory descriptor
/// opened before spawn.
pub fn nsescape() -> TestResult {
    make_dir("/ct-esc")?;
    make_dir("/ct-esc/sub")?;
    write_file("/ct-esc/inside", b"in")?;
    write_file("/esc-host", b"host")?;
    let dirfd = sys::open("/", O_RDONLY).or_fail("open /")?;
    let root_ino = sys::stat("/ct-esc").or_fail("stat")?.ino;
    in_container("/ct-esc", || {
        for path in [
            "/esc-host",
            "/../esc-host",
            "../esc-host",
            "../../../../esc-host",
            "/sub/../../esc-host",
            "sub/../../../ct-esc/inside",
        ] {
            let r = sys::open(path, O_RDONLY);
            ensure!(r == Err(Errno::ENOENT), "open {} gave {:?}", path, r);
        }
        let root = sys::stat("/").or_fail("stat /")?.ino;
        for path in ["/..", "..", "/../..", "sub/../..", "/sub/../../.."] {
            let ino = sys::stat(path).or_fail(path)?.ino;
            ensure!(
                ino == root,
                "{} is inode {}, not the root {}",
                path,
                ino,
                root
            );
        }
        ensure!(
            root == root_ino,
            "/ is inode {}, not the container's {}",
            root,
            root_ino
        );
        let r = sys::open("/..", O_CREATE | O_RDWR);
        ensure!(r.is_err(), "created /.. as a file");
        sys::chdir("/sub").or_fail("cd /sub")?;
        sys::chdir("../../..").or_fail("cd ../../..")?;
        ensure!(
            sys::stat(".").or_fail("stat .")?.ino == root,
            "cd ../../.. left the root"
        );
        sys::mkdir("../../made").or_fail("mkdir ../../made")?;
        ensure!(sys::stat("/inside").is_ok(), "its own file is missing");
        // The host's "/" opened before spawn did not come along.
        ensure!(
            sys::fstat(dirfd).err() == Some(Errno::EBADF),
            "a directory descriptor crossed into the container"
        );
        Ok(())
    })?;
    let _ = sys::close(dirfd);
    ensure!(
        sys::stat("/ct-esc/made").is_ok(),
        "../../made was not made inside"
    );
    ensure!(
        sys::stat("/made").is_err(),
        "../../made was made on the host"
    );
    ensure!(
        read_file("/esc-host")? == b"host",
        "the host's file changed"
    );
    for path in ["/ct-esc/made", "/ct-esc/inside", "/esc-host"] {
        sys::unlink(path).or_fail(path)?;
    }
    Ok(())
}

/// The host's programs run in a container (exec falls back to the host's
/// root, reading only) but no path reaches them: they cannot be opened
/// for writing, unlinked or replaced, and a program of the container's
/// own is its own business.
pub fn nsbinro() -> TestResult {
    make_dir("/ct-bin")?;
    let before = sys::stat("/echo").or_fail("stat /echo")?;
    let [r, w] = sys::pipe().or_fail("pipe")?;
    in_container("/ct-bin", || {
        ensure!(
            sys::open("/echo", O_RDWR) == Err(Errno::ENOENT),
            "opened /echo"
        );
        ensure!(
            sys::open("echo", O_RDONLY) == Err(Errno::ENOENT),
            "opened echo"
        );
        ensure!(sys::unlink("/echo") == Err(Errno::ENOENT), "unlinked /echo");
        ensure!(
            sys::link("/echo", "/mine") == Err(Errno::ENOENT),
            "linked /echo"
        );
        // Run the host's echo into the pipe.
        if sys::fork().or_fail("fork")? == 0 {
            let _ = sys::close(1);
            let _ = sys::dup(w);
            let e = sys::exec("echo", &["echo", "from", "the", "host"]);
            ulib::eprintln!("exec echo: {}", e.message());
            sys::exit(1);
        }
        let (_, st) = sys::wait().or_fail("wait")?;
        ensure!(st == 0, "echo exited {}", st);
        // A file of its own named echo, not a program: its own wins.
        write_file("/echo", b"not a program")?;
        let e = sys::exec("/echo", &["echo"]);
        ensure!(e == Errno::ENOEXEC, "exec of its own /echo gave {:?}", e);
        sys::unlink("/echo").or_fail("unlink its own /echo")?;
        ensure!(
            sys::exec("/sub/echo", &["echo"]) == Errno::ENOENT,
            "a path with a directory fell back to the host"
        );
        Ok(())
    })?;
    let _ = sys::close(w);
    let mut buf = [0u8; 64];
    let n = sys::read(r, &mut buf).or_fail("read")?;
    let _ = sys::close(r);
    ensure!(
        &buf[..n] == b"from the host\n",
        "echo printed {:?}",
        &buf[..n]
    );
    let after = sys::stat("/echo").or_fail("stat /echo")?;
    ensure!(
        after.ino == before.ino && after.size == before.size,
        "the host's /echo changed"
    );
    ensure!(sys::stat("/ct-bin/echo").is_err(), "its /echo was left");
    Ok(())
}

/// Bad arguments: spawn of a missing directory, a file, a bad pointer;
/// spawn and attach from inside a container; attach to no container, or
/// to the host.
pub fn nsbadargs() -> TestResult {
    make_dir("/ct-bad")?;
    write_file("/ct-bad/file", b"x")?;
    ensure!(
        sys::spawn("/ct-none").err() == Some(Errno::ENOENT),
        "spawn of a missing dir"
    );
    ensure!(
        sys::spawn("/ct-bad/file").err() == Some(Errno::ENOTDIR),
        "spawn of a file"
    );
    // SAFETY: the kernel must reject the wild pointers, not use them.
    let r = unsafe {
        ulib::syscall::spawn(
            c"/ct-bad".as_ptr().cast(),
            8 as *mut u32,
            core::ptr::null(),
            0,
        )
    };
    ensure!(
        r == Err(Errno::EFAULT),
        "spawn with a bad pointer gave {:?}",
        r
    );
    // Published ports: a wild array, too many, an unknown kind, port 0.
    let mut ns = 0u32;
    // SAFETY: as above, the kernel must reject the wild array.
    let r = unsafe { ulib::syscall::spawn(c"/ct-bad".as_ptr().cast(), &mut ns, 8 as *const _, 1) };
    ensure!(
        r == Err(Errno::EFAULT),
        "spawn with a wild port array gave {:?}",
        r
    );
    let web = abi::net::PublishedPort {
        kind: abi::net::SOCK_STREAM as u32,
        host_port: 8090,
        port: 80,
    };
    let too_many = [web; abi::net::MAX_PUBLISHED + 1];
    let bad_kind = abi::net::PublishedPort { kind: 99, ..web };
    let port_zero = abi::net::PublishedPort { port: 0, ..web };
    for (ports, what) in [
        (&too_many[..], "too many ports"),
        (&[bad_kind][..], "an unknown kind"),
        (&[port_zero][..], "port 0"),
    ] {
        let r = sys::spawn_publishing("/ct-bad", ports);
        ensure!(
            r.err() == Some(Errno::EINVAL),
            "spawn with {what} not EINVAL"
        );
    }
    ensure!(sys::attach(99) == Err(Errno::ESRCH), "attach 99 not ESRCH");
    ensure!(
        sys::attach(5) == Err(Errno::ESRCH),
        "attach to no container not ESRCH"
    );
    ensure!(sys::attach(0) == Err(Errno::EINVAL), "attach 0 not EINVAL");
    // A sibling to attach to from inside the other container.
    let [r, w] = sys::pipe().or_fail("pipe")?;
    let sibling = spawn_running("/ct-bad", || {
        let _ = sys::close(w);
        let mut b = [0u8; 1];
        let _ = sys::read(r, &mut b);
        Ok(())
    })?;
    in_container("/ct-bad", || {
        let r = sys::attach(sibling.ns);
        ensure!(r == Err(Errno::EPERM), "attach to a sibling gave {:?}", r);
        let r = sys::spawn("/");
        ensure!(
            r.as_ref().err() == Some(&Errno::EPERM),
            "nested spawn allowed"
        );
        Ok(())
    })?;
    let _ = sys::close(r);
    let _ = sys::close(w);
    ensure!(wait_for(sibling.pid)? == 0, "the sibling failed");
    sys::unlink("/ct-bad/file").or_fail("unlink")?;
    Ok(())
}

fn counts() -> Result<SysInfo, String> {
    sys::sysinfo().or_fail("sysinfo")
}

fn same(a: &SysInfo, b: &SysInfo) -> bool {
    a.free_pages == b.free_pages
        && a.nproc == b.nproc
        && a.inodes == b.inodes
        && a.namespaces == b.namespaces
}

/// Containers that end give back every page, process slot, in-memory
/// inode and namespace slot; all namespace slots can be taken (EAGAIN
/// after) and are free again once their containers end.
pub fn nsfree() -> TestResult {
    make_dir("/ct-free")?;
    make_dir("/ct-free/d")?;
    let start = counts()?;
    ensure!(
        start.namespaces == 1,
        "{} namespaces at start",
        start.namespaces
    );
    for _ in 0..20 {
        in_container("/ct-free", || {
            sys::chdir("/d").or_fail("cd /d")?;
            let fd = sys::open("/d", O_RDONLY).or_fail("open /d")?;
            if sys::fork().or_fail("fork")? == 0 {
                let _ = sys::sbrk(64 * 1024);
                sys::exit(0);
            }
            let _ = sys::wait();
            let _ = sys::close(fd);
            Ok(())
        })?;
    }
    // Fill every slot with containers blocked on a pipe.
    let [r, w] = sys::pipe().or_fail("pipe")?;
    let mut kids = alloc::vec::Vec::new();
    for _ in 0..CONTAINERS {
        kids.push(spawn_running("/ct-free", || {
            let _ = sys::close(w);
            let mut b = [0u8; 1];
            let _ = sys::read(r, &mut b);
            Ok(())
        })?);
    }
    ensure!(
        counts()?.namespaces == 1 + CONTAINERS as u64,
        "namespaces in use: {}",
        counts()?.namespaces
    );
    let full = sys::spawn("/ct-free");
    ensure!(
        full.as_ref().err() == Some(&Errno::EAGAIN),
        "spawn beyond the slots"
    );
    let _ = sys::close(r);
    let _ = sys::close(w);
    // Reap all seven, in whatever order they end.
    let mut left = kids.len();
    while left > 0 {
        let (w, st) = sys::wait().or_fail("wait")?;
        if kids.iter().any(|k| k.pid == w) {
            ensure!(st == 0, "container of pid {} failed", w);
            left -= 1;
        }
    }
    in_container("/ct-free", || Ok(()))?;
    // A killed container's other processes are reaped by init: wait a bit.
    for _ in 0..100 {
        let now = counts()?;
        if same(&start, &now) {
            return Ok(());
        }
        sys::sleep(2).or_fail("sleep")?;
    }
    let now = counts()?;
    Err(format!(
        "before/after: pages {}/{}, processes {}/{}, inodes {}/{}, namespaces {}/{}",
        start.free_pages,
        now.free_pages,
        start.nproc,
        now.nproc,
        start.inodes,
        now.inodes,
        start.namespaces,
        now.namespaces
    ))
}
