//! init: the first user process. Opens the console as fds 0, 1 and 2
//! (making the device node if it is missing), starts `sh`, reaps orphaned
//! zombies, and starts a new `sh` whenever the old one exits.
#![no_std]
#![no_main]

use abi::fcntl::{CONSOLE, O_RDWR};
use ulib::sys;

ulib::entry!(main);

fn main(_args: &[&str]) -> i32 {
    if sys::open("console", O_RDWR).is_err() {
        let _ = sys::mknod("console", CONSOLE, 0);
        if sys::open("console", O_RDWR).is_err() {
            sys::exit(1); // nowhere to say so
        }
    }
    let _ = sys::dup(0); // stdout
    let _ = sys::dup(0); // stderr

    loop {
        ulib::println!("init: starting sh");
        let pid = match sys::fork() {
            Ok(0) => {
                let e = sys::exec("sh", &["sh"]);
                ulib::die("init", "exec sh", e);
            }
            Ok(pid) => pid,
            Err(e) => {
                ulib::fail("init", "fork", e);
                let _ = sys::sleep(100);
                continue;
            }
        };
        loop {
            match sys::wait() {
                Ok((w, _)) if w == pid => break, // the shell exited: restart it
                Ok(_) => {}                      // a parentless process exited
                Err(e) => {
                    ulib::fail("init", "wait", e);
                    break;
                }
            }
        }
    }
}
