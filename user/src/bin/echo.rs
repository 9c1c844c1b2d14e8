//! echo: prints its arguments, separated by spaces.
#![no_std]
#![no_main]

extern crate alloc;
use alloc::string::String;
use ulib::sys::{write_all, STDOUT};

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let mut line = String::new();
    for (i, a) in args.iter().skip(1).enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(a);
    }
    line.push('\n');
    match write_all(STDOUT, line.as_bytes()) {
        Ok(()) => 0,
        Err(e) => ulib::fail("echo", "write", e),
    }
}
