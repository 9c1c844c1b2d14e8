//! ulib: the user library every program in `src/bin/` links.
//!
//! - [`syscall`] — the `ecall` and one raw (unsafe) stub per system call;
//! - [`sys`] — safe wrappers for processes and files;
//! - [`socket`], [`tcp`], [`inet`], [`netinfo`] — BSD-style sockets, TCP
//!   streams and listeners, address parsing and printing, and the
//!   network's introspection calls;
//! - [`poll`] — waiting on several descriptors at once;
//! - [`dns`] — a stub resolver: names to IPv4 addresses (resolv.conf or
//!   the interface's name server);
//! - [`http`] — HTTP/1.1 heads, chunk sizes and paths, for httpd and curl;
//! - [`args`] — command-line arguments whose errors say what was wrong;
//! - [`echo`] — ICMP echo requests and replies for ping sockets;
//! - [`lines`] — line-by-line input;
//! - [`print`] — `print!`/`println!`/`eprintln!`/`fprintln!`;
//! - [`heap`] — the global allocator over `sbrk` (so `alloc` works);
//! - [`start`] — `entry!(main)`, argv, and the panic handler;
//! - [`testing`] — the harness of usertests and nettests;
//! - [`time`] — a microsecond clock (`rdtime`).
//!
//! Errors are [`abi::Errno`]; `e.message()` reads like strerror(3).
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

pub mod args;
pub mod cstr;
pub mod dns;
pub mod echo;
pub mod heap;
pub mod http;
pub mod inet;
pub mod lines;
pub mod netinfo;
pub mod poll;
pub mod print;
pub mod socket;
pub mod start;
pub mod sys;
pub mod syscall;
pub mod tcp;
pub mod testing;
pub mod time;

pub use abi;
pub use abi::Errno;

/// Prints "prog: what: message" to stderr and returns 1 (an exit status).
pub fn fail(prog: &str, what: &str, e: Errno) -> i32 {
    eprintln!("{}: {}: {}", prog, what, e.message());
    1
}

/// Prints "prog: what: message" to stderr and exits with status 1.
pub fn die(prog: &str, what: &str, e: Errno) -> ! {
    sys::exit(fail(prog, what, e))
}
