//! wc: counts lines, words and bytes of each named file (or stdin).
#![no_std]
#![no_main]

extern crate alloc;
use abi::fcntl::O_RDONLY;
use abi::Errno;
use alloc::vec;
use ulib::sys::{self, Fd};

ulib::entry!(main);

fn wc(fd: Fd, name: &str, buf: &mut [u8]) -> Result<(), Errno> {
    let (mut lines, mut words, mut bytes) = (0usize, 0usize, 0usize);
    let mut inword = false;
    loop {
        let n = sys::read(fd, buf)?;
        if n == 0 {
            break;
        }
        bytes += n;
        for &c in &buf[..n] {
            if c == b'\n' {
                lines += 1;
            }
            if b" \r\t\n\x0b".contains(&c) {
                inword = false;
            } else if !inword {
                words += 1;
                inword = true;
            }
        }
    }
    ulib::println!("{} {} {} {}", lines, words, bytes, name);
    Ok(())
}

fn main(args: &[&str]) -> i32 {
    let mut buf = vec![0u8; 1024];
    if args.len() < 2 {
        return match wc(sys::STDIN, "", &mut buf) {
            Ok(()) => 0,
            Err(e) => ulib::fail("wc", "stdin", e),
        };
    }
    let mut status = 0;
    for path in &args[1..] {
        match sys::open(path, O_RDONLY) {
            Ok(fd) => {
                if let Err(e) = wc(fd, path, &mut buf) {
                    status = ulib::fail("wc", path, e);
                }
                let _ = sys::close(fd);
            }
            Err(e) => status = ulib::fail("wc", path, e),
        }
    }
    status
}
