//! cp: `cp SRC DST` copies a file; a directory DST receives it under its
//! own name. From the host, this is how files get into a container's
//! directory (`cp httpd.html c1/index.html`).
#![no_std]
#![no_main]

extern crate alloc;

use abi::fcntl::{O_CREATE, O_RDONLY, O_TRUNC, O_WRONLY};
use abi::stat::T_DIR;
use alloc::format;
use alloc::string::String;
use ulib::sys;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let [_, src, dst] = args else {
        ulib::eprintln!("usage: cp SRC DST (DST: a file, or a directory to copy into)");
        return 1;
    };
    let target: String = match sys::stat(dst) {
        Ok(st) if st.typ == T_DIR => {
            let base = src.rsplit('/').find(|s| !s.is_empty()).unwrap_or(src);
            format!("{}/{}", dst.trim_end_matches('/'), base)
        }
        _ => String::from(*dst),
    };
    let from = match sys::open(src, O_RDONLY) {
        Ok(fd) => fd,
        Err(e) => return ulib::fail("cp", src, e),
    };
    let to = match sys::open(&target, O_WRONLY | O_CREATE | O_TRUNC) {
        Ok(fd) => fd,
        Err(e) => return ulib::fail("cp", &target, e),
    };
    let mut buf = [0u8; 1024];
    loop {
        match sys::read(from, &mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = sys::write_all(to, &buf[..n]) {
                    return ulib::fail("cp", &target, e);
                }
            }
            Err(e) => return ulib::fail("cp", src, e),
        }
    }
    let _ = sys::close(from);
    let _ = sys::close(to);
    0
}
