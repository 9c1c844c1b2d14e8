//! init: the first user process. Opens the console as fds 0, 1 and 2
//! (making the device node if it is missing), waits a moment for the
//! network (the DHCP lease the kernel asks for when the NIC comes up: at
//! most [`NETWORK_WAIT_MS`], so a link with no server does not hold boot
//! up) and says what it got, starts `sh`, reaps orphaned zombies, and
//! starts a new `sh` whenever the old one exits.
#![no_std]
#![no_main]

use abi::fcntl::{CONSOLE, O_RDWR};
use abi::net::dhcp_state;
use ulib::inet::Ip;
use ulib::{netinfo, sys};

ulib::entry!(main);

/// The longest init waits for a DHCP lease before starting the shell.
const NETWORK_WAIT_MS: u64 = 3_000;

fn main(_args: &[&str]) -> i32 {
    if sys::open("console", O_RDWR).is_err() {
        let _ = sys::mknod("console", CONSOLE, 0);
        if sys::open("console", O_RDWR).is_err() {
            sys::exit(1); // nowhere to say so
        }
    }
    let _ = sys::dup(0); // stdout
    let _ = sys::dup(0); // stderr
    network_online();

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

/// Waits (a bounded time) for the DHCP lease, and says what eth0 has.
fn network_online() {
    let Ok(c) = netinfo::wait_for_lease(NETWORK_WAIT_MS) else {
        return; // no network stack answers: nothing to wait for
    };
    match c.dhcp_state {
        dhcp_state::BOUND => ulib::println!(
            "init: eth0 {} netmask {} gateway {} dns {} (DHCP from {}, {} s)",
            Ip(c.addr),
            Ip(c.netmask),
            Ip(c.gateway),
            Ip(c.dns),
            Ip(c.dhcp_server),
            c.lease_secs
        ),
        dhcp_state::OFF => {}
        _ => ulib::println!(
            "init: eth0 has no DHCP lease yet (still asking; or set one: ifconfig ADDR MASK GW)"
        ),
    }
}
