//! sha256sum: prints the SHA-256 digest of each named file (or stdin) in
//! the format of GNU coreutils' sha256sum, so a download in the guest can
//! be checked against the digest the host computed.
#![no_std]
#![no_main]

extern crate alloc;
use abi::fcntl::O_RDONLY;
use abi::Errno;
use alloc::vec;
use sha2::{Digest, Sha256};
use ulib::sys::{self, Fd};

ulib::entry!(main);

/// Reads `fd` to its end and prints its digest followed by `name`.
fn sum(fd: Fd, name: &str, buf: &mut [u8]) -> Result<(), Errno> {
    let mut hasher = Sha256::new();
    loop {
        let n = sys::read(fd, buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let mut hex = [0u8; 64];
    for (pair, byte) in hex.chunks_mut(2).zip(hasher.finalize().iter()) {
        pair[0] = b"0123456789abcdef"[usize::from(byte >> 4)];
        pair[1] = b"0123456789abcdef"[usize::from(byte & 0xf)];
    }
    let hex = core::str::from_utf8(&hex).unwrap_or_default();
    ulib::println!("{}  {}", hex, name);
    Ok(())
}

fn main(args: &[&str]) -> i32 {
    let mut buf = vec![0u8; 4096];
    if args.len() < 2 {
        return match sum(sys::STDIN, "-", &mut buf) {
            Ok(()) => 0,
            Err(e) => ulib::fail("sha256sum", "stdin", e),
        };
    }
    let mut status = 0;
    for path in &args[1..] {
        match sys::open(path, O_RDONLY) {
            Ok(fd) => {
                if let Err(e) = sum(fd, path, &mut buf) {
                    status = ulib::fail("sha256sum", path, e);
                }
                let _ = sys::close(fd);
            }
            Err(e) => status = ulib::fail("sha256sum", path, e),
        }
    }
    status
}
