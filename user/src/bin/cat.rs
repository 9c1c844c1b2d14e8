//! cat: copies each named file (or stdin) to stdout.
#![no_std]
#![no_main]

extern crate alloc;
use abi::fcntl::O_RDONLY;
use abi::Errno;
use alloc::vec;
use ulib::sys::{self, Fd};

ulib::entry!(main);

fn copy(fd: Fd, buf: &mut [u8]) -> Result<(), Errno> {
    loop {
        match sys::read(fd, buf)? {
            0 => return Ok(()),
            n => sys::write_all(sys::STDOUT, &buf[..n])?,
        }
    }
}

fn main(args: &[&str]) -> i32 {
    let mut buf = vec![0u8; 1024];
    if args.len() < 2 {
        return match copy(sys::STDIN, &mut buf) {
            Ok(()) => 0,
            Err(e) => ulib::fail("cat", "stdin", e),
        };
    }
    let mut status = 0;
    for path in &args[1..] {
        let fd = match sys::open(path, O_RDONLY) {
            Ok(fd) => fd,
            Err(e) => {
                status = ulib::fail("cat", path, e);
                continue;
            }
        };
        if let Err(e) = copy(fd, &mut buf) {
            status = ulib::fail("cat", path, e);
        }
        let _ = sys::close(fd);
    }
    status
}
