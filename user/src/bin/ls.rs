//! ls: lists a directory (or describes a file) as xv6 does:
//! name, type (1 dir, 2 file, 3 device), inode number, size.
#![no_std]
#![no_main]

extern crate alloc;
use abi::fcntl::O_RDONLY;
use abi::fs::{Dirent, DIRSIZ};
use abi::stat::{Stat, T_DIR};
use alloc::format;
use core::mem::size_of;
use ulib::cstr::from_padded;
use ulib::sys;
use zerocopy::IntoBytes;

ulib::entry!(main);

fn show(name: &str, st: &Stat) {
    ulib::println!(
        "{:<width$} {} {} {}",
        name,
        st.typ,
        st.ino,
        st.size,
        width = DIRSIZ
    );
}

fn ls(path: &str) -> i32 {
    let fd = match sys::open(path, O_RDONLY) {
        Ok(fd) => fd,
        Err(e) => return ulib::fail("ls", path, e),
    };
    let status = list(fd, path);
    let _ = sys::close(fd);
    status
}

fn list(fd: usize, path: &str) -> i32 {
    let st = match sys::fstat(fd) {
        Ok(st) => st,
        Err(e) => return ulib::fail("ls", path, e),
    };
    if st.typ != T_DIR {
        let base = path.rsplit('/').next().unwrap_or(path);
        show(base, &st);
        return 0;
    }
    let mut de = Dirent::default();
    loop {
        match sys::read_full(fd, de.as_mut_bytes()) {
            Ok(n) if n == size_of::<Dirent>() => {}
            Ok(_) => return 0,
            Err(e) => return ulib::fail("ls", path, e),
        }
        if de.inum == 0 {
            continue;
        }
        let name = from_padded(&de.name);
        let full = if path.ends_with('/') {
            format!("{path}{name}")
        } else {
            format!("{path}/{name}")
        };
        match sys::stat(&full) {
            Ok(st) => show(name, &st),
            Err(e) => {
                ulib::fail("ls", &full, e);
            }
        }
    }
}

fn main(args: &[&str]) -> i32 {
    if args.len() < 2 {
        return ls(".");
    }
    args.iter().skip(1).fold(0, |status, p| status | ls(p))
}
