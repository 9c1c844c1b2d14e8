//! rm: removes (unlinks) each named file or empty directory.
#![no_std]
#![no_main]

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    if args.len() < 2 {
        ulib::eprintln!("usage: rm file...");
        return 1;
    }
    let mut status = 0;
    for path in &args[1..] {
        if let Err(e) = ulib::sys::unlink(path) {
            status = ulib::fail("rm", path, e);
        }
    }
    status
}
