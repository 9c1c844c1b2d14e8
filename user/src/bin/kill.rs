//! kill: kills each process named by pid; `kill -PGID` kills a whole
//! process group. Init (pid 1) cannot be killed: the kernel refuses with
//! EPERM, as Linux does.
#![no_std]
#![no_main]

use abi::Errno;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    if args.len() < 2 {
        ulib::eprintln!("usage: kill pid... (or -pgid for a process group)");
        return 1;
    }
    let mut status = 0;
    for a in &args[1..] {
        let (group, digits) = match a.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, *a),
        };
        let Ok(id) = digits.parse::<usize>() else {
            ulib::eprintln!("kill: {}: not a pid", a);
            status = 1;
            continue;
        };
        let r = if group {
            ulib::sys::kill_group(id)
        } else {
            ulib::sys::kill(id)
        };
        match r {
            Ok(()) => {}
            Err(Errno::EPERM) => {
                ulib::eprintln!(
                    "kill: {}: {} (init keeps the machine running)",
                    a,
                    Errno::EPERM.message()
                );
                status = 1;
            }
            Err(e) => status = ulib::fail("kill", a, e),
        }
    }
    status
}
