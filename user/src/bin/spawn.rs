//! spawn: runs a command in a new container.
//!
//! `spawn [-d] DIR [cmd args...]` forks into a new namespace whose `/` is
//! directory DIR and whose first process (pid 1 there) runs `cmd` (`sh`
//! when none is given). Programs the container lacks come from the host's
//! root, read-only (see the kernel's `ns.rs`). It prints `container N pid
//! P` (N for `attach` and `ps`, P the host's pid of the container's first
//! process). Without -d it then gives the console to the container and
//! waits for its end, exiting with its status; ^] detaches and leaves it
//! running (`attach N` goes back). With -d it returns at once.
#![no_std]
#![no_main]

use abi::syscall::PROC_ZOMBIE;
use abi::Errno;
use alloc::format;
use ulib::sys;

extern crate alloc;

ulib::entry!(main);

const USAGE: &str = "usage: spawn [-d] DIR [cmd args...]";

fn main(args: &[&str]) -> i32 {
    let mut args = &args[1..];
    let detached = args.first() == Some(&"-d");
    if detached {
        args = &args[1..];
    }
    let Some((dir, cmd)) = args.split_first() else {
        ulib::eprintln!("{}", USAGE);
        return 1;
    };
    if dir.starts_with('-') {
        ulib::eprintln!("spawn: {}: unknown option\n{}", dir, USAGE);
        return 1;
    }
    let argv: &[&str] = if cmd.is_empty() { &["sh"] } else { cmd };
    let child = match sys::spawn(dir) {
        Ok(Some(child)) => child,
        Ok(None) => run(argv),
        Err(Errno::EPERM) => {
            ulib::eprintln!("spawn: containers cannot be spawned from inside a container");
            return 1;
        }
        Err(Errno::EAGAIN) => {
            ulib::eprintln!("spawn: {}: no free namespace or process slot", dir);
            return 1;
        }
        Err(e) => return ulib::fail("spawn", dir, e),
    };
    ulib::println!("container {} pid {}", child.ns, child.pid);
    if detached {
        return 0;
    }
    // ESRCH: it ended before the console got there.
    match sys::attach(child.ns) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => return ulib::fail("spawn", "attach", e),
    }
    if running(child.pid) {
        ulib::eprintln!("spawn: detached; attach {} to go back", child.ns);
        return 0;
    }
    loop {
        match sys::wait() {
            Ok((pid, status)) if pid == child.pid => return status,
            Ok(_) => {}
            Err(e) => return ulib::fail("spawn", "wait", e),
        }
    }
}

/// Is `pid` (as the root namespace numbers it) alive and not a zombie?
fn running(pid: usize) -> bool {
    sys::procinfo()
        .map(|all| {
            all.iter()
                .any(|p| p.pid as usize == pid && p.state != PROC_ZOMBIE)
        })
        .unwrap_or(false)
}

/// In the container: runs the command as the shell would.
fn run(argv: &[&str]) -> ! {
    let name = argv[0];
    let mut e = sys::exec(name, argv);
    if e == Errno::ENOENT && !name.contains('/') {
        e = sys::exec(&format!("/{name}"), argv);
    }
    ulib::eprintln!("spawn: {}: {}", name, e.message());
    sys::exit(127)
}
