//! mkdir: makes each named directory.
#![no_std]
#![no_main]

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    if args.len() < 2 {
        ulib::eprintln!("usage: mkdir dir...");
        return 1;
    }
    let mut status = 0;
    for path in &args[1..] {
        if let Err(e) = ulib::sys::mkdir(path) {
            status = ulib::fail("mkdir", path, e);
        }
    }
    status
}
