//! ps: lists the processes this namespace sees, from the `procinfo`
//! system call: on the host every process, with its namespace (NS, 0 the
//! host) and its pid there (NSPID); in a container only its own.
#![no_std]
#![no_main]

use abi::syscall::{PROC_RUNNABLE, PROC_RUNNING, PROC_SLEEPING, PROC_USED, PROC_ZOMBIE};
use ulib::cstr::from_padded;
use ulib::sys;

ulib::entry!(main);

fn state(s: u32) -> &'static str {
    match s {
        PROC_USED => "used",
        PROC_SLEEPING => "sleep",
        PROC_RUNNABLE => "runble",
        PROC_RUNNING => "run",
        PROC_ZOMBIE => "zombie",
        _ => "?",
    }
}

fn main(_args: &[&str]) -> i32 {
    let all = match sys::procinfo() {
        Ok(all) => all,
        Err(e) => return ulib::fail("ps", "procinfo", e),
    };
    ulib::println!("PID PPID NS NSPID STATE NAME");
    for p in &all {
        ulib::println!(
            "{} {} {} {} {} {}",
            p.pid,
            p.ppid,
            p.ns,
            p.nspid,
            state(p.state),
            from_padded(&p.name)
        );
    }
    0
}
