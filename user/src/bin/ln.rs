//! ln: makes a new name (hard link) for an existing file.
#![no_std]
#![no_main]

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    if args.len() != 3 {
        ulib::eprintln!("usage: ln old new");
        return 1;
    }
    match ulib::sys::link(args[1], args[2]) {
        Ok(()) => 0,
        Err(e) => ulib::fail("ln", args[2], e),
    }
}
