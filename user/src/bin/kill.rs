//! kill: kills each process named by pid.
#![no_std]
#![no_main]

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    if args.len() < 2 {
        ulib::eprintln!("usage: kill pid...");
        return 1;
    }
    let mut status = 0;
    for a in &args[1..] {
        match a.parse::<usize>() {
            Ok(pid) => {
                if let Err(e) = ulib::sys::kill(pid) {
                    status = ulib::fail("kill", a, e);
                }
            }
            Err(_) => {
                ulib::eprintln!("kill: {}: not a pid", a);
                status = 1;
            }
        }
    }
    status
}
