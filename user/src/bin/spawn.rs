//! spawn: runs a command in a new container.
//!
//! `spawn [-d] DIR [cmd args...]` forks into a new namespace whose `/` is
//! directory DIR and whose first process (pid 1 there) runs `cmd` (`sh`
//! when none is given). Programs the container lacks come from the host's
//! root, read-only (see the kernel's `ns.rs`). It prints `container N pid
//! P` (N for `attach` and `ps`, P the host's pid of the container's first
//! process). Without -d it then gives the console to the container and
//! waits for its end, exiting with its status; ^] detaches and leaves it
//! running (`attach N` goes back). With -d it returns at once.
//!
//! `-p HOSTPORT:PORT[/udp]` (up to four) publishes the container's TCP
//! (or UDP) port PORT on the host's address as HOSTPORT: the root
//! namespace translates what arrives there to the container (its `nat`).
//! A port published already, by this or another container, is refused.
#![no_std]
#![no_main]

use abi::net::{PublishedPort, MAX_PUBLISHED, SOCK_DGRAM, SOCK_STREAM};
use abi::syscall::PROC_ZOMBIE;
use abi::Errno;
use alloc::format;
use alloc::vec::Vec;
use ulib::sys;

extern crate alloc;

ulib::entry!(main);

const USAGE: &str = "usage: spawn [-d] [-p HOSTPORT:PORT[/udp]]... DIR [cmd args...]";

fn main(args: &[&str]) -> i32 {
    let mut args = &args[1..];
    let mut detached = false;
    let mut ports = Vec::new();
    loop {
        match args {
            ["-d", rest @ ..] => {
                detached = true;
                args = rest;
            }
            ["-p", map, rest @ ..] => {
                let Some(p) = parse_port(map) else {
                    ulib::eprintln!("spawn: {}: not HOSTPORT:PORT[/udp]\n{}", map, USAGE);
                    return 1;
                };
                if ports.len() == MAX_PUBLISHED {
                    ulib::eprintln!("spawn: at most {} ports", MAX_PUBLISHED);
                    return 1;
                }
                ports.push(p);
                args = rest;
            }
            _ => break,
        }
    }
    let Some((dir, cmd)) = args.split_first() else {
        ulib::eprintln!("{}", USAGE);
        return 1;
    };
    if dir.starts_with('-') {
        ulib::eprintln!("spawn: {}: unknown option\n{}", dir, USAGE);
        return 1;
    }
    let argv: &[&str] = if cmd.is_empty() { &["sh"] } else { cmd };
    let child = match sys::spawn_publishing(dir, &ports) {
        Ok(Some(child)) => child,
        Ok(None) => run(argv),
        Err(Errno::EPERM) => {
            ulib::eprintln!("spawn: containers cannot be spawned from inside a container");
            return 1;
        }
        Err(Errno::EAGAIN) => {
            ulib::eprintln!("spawn: {}: no free namespace or process slot", dir);
            return 1;
        }
        Err(Errno::EADDRINUSE) => {
            ulib::eprintln!(
                "spawn: a port of {} is published already",
                port_list(&ports)
            );
            return 1;
        }
        Err(e) => return ulib::fail("spawn", dir, e),
    };
    ulib::println!("container {} pid {}", child.ns, child.pid);
    if detached {
        return 0;
    }
    // ESRCH: it ended before the console got there.
    match sys::attach(child.ns) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => return ulib::fail("spawn", "attach", e),
    }
    if running(child.pid) {
        ulib::eprintln!("spawn: detached; attach {} to go back", child.ns);
        return 0;
    }
    loop {
        match sys::wait() {
            Ok((pid, status)) if pid == child.pid => return status,
            Ok(_) => {}
            Err(e) => return ulib::fail("spawn", "wait", e),
        }
    }
}

/// Is `pid` (as the root namespace numbers it) alive and not a zombie?
fn running(pid: usize) -> bool {
    sys::procinfo()
        .map(|all| {
            all.iter()
                .any(|p| p.pid as usize == pid && p.state != PROC_ZOMBIE)
        })
        .unwrap_or(false)
}

/// In the container: runs the command as the shell would.
fn run(argv: &[&str]) -> ! {
    let name = argv[0];
    let mut e = sys::exec(name, argv);
    if e == Errno::ENOENT && !name.contains('/') {
        e = sys::exec(&format!("/{name}"), argv);
    }
    ulib::eprintln!("spawn: {}: {}", name, e.message());
    sys::exit(127)
}

/// `HOSTPORT:PORT` (TCP) or `HOSTPORT:PORT/udp`, ports 1 to 65535.
fn parse_port(map: &str) -> Option<PublishedPort> {
    let (map, kind) = match map.strip_suffix("/udp") {
        Some(m) => (m, SOCK_DGRAM),
        None => (map.strip_suffix("/tcp").unwrap_or(map), SOCK_STREAM),
    };
    let (host, port) = map.split_once(':')?;
    let number = |s: &str| s.parse::<u16>().ok().filter(|&p| p != 0);
    Some(PublishedPort {
        kind: kind as u32,
        host_port: number(host)?,
        port: number(port)?,
    })
}

/// `8081/tcp, 53/udp`: the host ports asked for.
fn port_list(ports: &[PublishedPort]) -> alloc::string::String {
    let names: Vec<_> = ports
        .iter()
        .map(|p| {
            let proto = if p.kind == SOCK_DGRAM as u32 {
                "udp"
            } else {
                "tcp"
            };
            format!("{}/{}", p.host_port, proto)
        })
        .collect();
    names.join(", ")
}
