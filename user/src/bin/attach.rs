//! attach: `attach N` gives the console to container N (its shell reads
//! what is typed; ^C and ^P act there) until ^] is typed or the container
//! ends; then the console is the host's again. Only the host (the root
//! namespace) can attach: a container cannot reach another.
#![no_std]
#![no_main]

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
    ulib::eprintln!("attached to container {}; ^] detaches", ns);
    match sys::attach(ns) {
        Ok(()) => {
            ulib::eprintln!("detached from container {}", ns);
            0
        }
        Err(Errno::ESRCH) => {
            ulib::eprintln!("attach: {}: no such container", ns);
            1
        }
        Err(Errno::EPERM) => {
            ulib::eprintln!("attach: {}: not permitted from inside a container", ns);
            1
        }
        Err(Errno::EINVAL) => {
            ulib::eprintln!("attach: {}: the host is not a container", ns);
            1
        }
        Err(e) => ulib::fail("attach", arg, e),
    }
}
