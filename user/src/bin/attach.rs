//! attach: `attach N` gives the console to container N (its shell reads
//! what is typed; ^C and ^P act there) until ^] is typed or the container
//! ends; then the console is the host's again. Only the host (the root
//! namespace) can attach: a container cannot reach another.
#![no_std]
#![no_main]

extern crate alloc;

use abi::syscall::{PROC_ZOMBIE, ROOT_NS};
use abi::Errno;
use ulib::sys;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let (Some(arg), None) = (args.get(1), args.get(2)) else {
        ulib::eprintln!("usage: attach N (a container's number, as spawn and ps show)");
        return 1;
    };
    let Ok(ns) = arg.parse::<u32>() else {
        ulib::eprintln!("attach: {}: not a container number", arg);
        return 1;
    };
    // Refuse before the banner when it is clear already (the kernel
    // checks again: the container may end meanwhile).
    if let Err(e) = precheck(ns) {
        return refused(ns, e);
    }
    ulib::eprintln!("attached to container {}; ^] detaches", ns);
    match sys::attach(ns) {
        Ok(()) => {
            ulib::eprintln!("detached from container {}", ns);
            0
        }
        Err(e) => refused(ns, e),
    }
}

/// What the kernel would answer, as far as `ps` shows it: EPERM inside a
/// container, EINVAL for the host, ESRCH when no process of `ns` runs.
fn precheck(ns: u32) -> Result<(), Errno> {
    let all = sys::procinfo()?;
    let me = sys::getpid() as i32;
    if all.iter().any(|p| p.pid == me && p.ns != ROOT_NS) {
        return Err(Errno::EPERM);
    }
    if ns == ROOT_NS {
        return Err(Errno::EINVAL);
    }
    if !all.iter().any(|p| p.ns == ns && p.state != PROC_ZOMBIE) {
        return Err(Errno::ESRCH);
    }
    Ok(())
}

fn refused(ns: u32, e: Errno) -> i32 {
    match e {
        Errno::ESRCH => {
            ulib::eprintln!("attach: {}: no such container", ns);
            1
        }
        Errno::EPERM => {
            ulib::eprintln!("attach: {}: not permitted from inside a container", ns);
            1
        }
        Errno::EINVAL => {
            ulib::eprintln!("attach: {}: the host is not a container", ns);
            1
        }
        e => ulib::fail("attach", &alloc::format!("{ns}"), e),
    }
}
