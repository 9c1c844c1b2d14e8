//! grep: prints the lines matching a pattern, with the small regular
//! expressions of xv6's grep (Kernighan & Pike): `c`, `.`, `c*`, `^`, `$`.
#![no_std]
#![no_main]

extern crate alloc;
use abi::fcntl::O_RDONLY;
use abi::Errno;
use alloc::vec::Vec;
use ulib::sys::{self, Fd};

ulib::entry!(main);

fn matches(re: &[u8], text: &[u8]) -> bool {
    if let Some(rest) = re.strip_prefix(b"^") {
        return match_here(rest, text);
    }
    (0..=text.len()).any(|i| match_here(re, &text[i..]))
}

fn match_here(re: &[u8], text: &[u8]) -> bool {
    match re {
        [] => true,
        [c, b'*', rest @ ..] => match_star(*c, rest, text),
        [b'$'] => text.is_empty(),
        [c, rest @ ..] => match text {
            [t, trest @ ..] if *c == b'.' || c == t => match_here(rest, trest),
            _ => false,
        },
    }
}

fn match_star(c: u8, re: &[u8], mut text: &[u8]) -> bool {
    loop {
        if match_here(re, text) {
            return true;
        }
        match text {
            [t, rest @ ..] if *t == c || c == b'.' => text = rest,
            _ => return false,
        }
    }
}

fn grep(re: &[u8], fd: Fd) -> Result<(), Errno> {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let n = sys::read(fd, &mut chunk)?;
        buf.extend_from_slice(&chunk[..n]);
        while let Some(i) = buf.iter().position(|&c| c == b'\n') {
            if matches(re, &buf[..i]) {
                sys::write_all(sys::STDOUT, &buf[..=i])?;
            }
            buf.drain(..=i);
        }
        if n == 0 {
            if !buf.is_empty() && matches(re, &buf) {
                buf.push(b'\n');
                sys::write_all(sys::STDOUT, &buf)?;
            }
            return Ok(());
        }
    }
}

fn main(args: &[&str]) -> i32 {
    if args.len() < 2 {
        ulib::eprintln!("usage: grep pattern [file ...]");
        return 1;
    }
    let re = args[1].as_bytes();
    if args.len() == 2 {
        return match grep(re, sys::STDIN) {
            Ok(()) => 0,
            Err(e) => ulib::fail("grep", "stdin", e),
        };
    }
    let mut status = 0;
    for path in &args[2..] {
        match sys::open(path, O_RDONLY) {
            Ok(fd) => {
                if let Err(e) = grep(re, fd) {
                    status = ulib::fail("grep", path, e);
                }
                let _ = sys::close(fd);
            }
            Err(e) => status = ulib::fail("grep", path, e),
        }
    }
    status
}
