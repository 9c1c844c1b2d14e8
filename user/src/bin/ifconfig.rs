//! ifconfig: shows the interfaces: `eth0` (MAC, address, netmask,
//! gateway, name server, and the DHCP client's state and lease) and `lo`,
//! the loopback network the kernel delivers internally;
//! `ifconfig <ip> <netmask> <gateway>` sets eth0's (gateway 0.0.0.0: none)
//! and stops the DHCP client; `ifconfig dhcp` starts it again and waits
//! (up to 10 s) for a lease.
//! An address that is not a host's (0.0.0.0, a broadcast, multicast,
//! loopback), a netmask that is not a prefix or a gateway off the subnet
//! is refused with the reason (`IfConfig::problem`, the rule the kernel
//! enforces with EINVAL).
#![no_std]
#![no_main]

extern crate alloc;
use abi::net::{dhcp_state, IfConfig, IfField};
use ulib::inet::{Ip, Mac};
use ulib::{args, netinfo};
use wire::ipv4;

ulib::entry!(main);

const USAGE: &str = "ifconfig [ip netmask gateway | dhcp]";

/// How long `ifconfig dhcp` waits for a lease.
const DHCP_WAIT_MS: u64 = 10_000;

fn main(argv: &[&str]) -> i32 {
    let mut cfg = match netinfo::get_ifconfig() {
        Ok(c) => c,
        Err(e) => return ulib::fail("ifconfig", "get", e),
    };
    match &argv[1..] {
        [] => {}
        ["dhcp"] => {
            if let Err(e) = netinfo::start_dhcp() {
                return ulib::fail("ifconfig", "dhcp", e);
            }
            match netinfo::wait_for_lease(DHCP_WAIT_MS) {
                Ok(c) => cfg = c,
                Err(e) => return ulib::fail("ifconfig", "get", e),
            }
        }
        [a, m, g] => {
            let parsed = (args::ip(a), args::ip(m), args::ip(g));
            let (a, m, g) = match parsed {
                (Ok(a), Ok(m), Ok(g)) => (a, m, g),
                (Err(p), _, _) | (_, Err(p), _) | (_, _, Err(p)) => {
                    return args::bad("ifconfig", &p, USAGE)
                }
            };
            (cfg.addr, cfg.netmask, cfg.gateway) = (a, m, g);
            if let Some((field, why)) = cfg.problem() {
                let (name, value) = match field {
                    IfField::Addr => ("address", a),
                    IfField::Netmask => ("netmask", m),
                    IfField::Gateway => ("gateway", g),
                };
                ulib::eprintln!("ifconfig: {} {}: {}", name, Ip(value), why);
                return 1;
            }
            if let Err(e) = netinfo::set_ifconfig(cfg) {
                return ulib::fail("ifconfig", "set", e);
            }
            match netinfo::get_ifconfig() {
                Ok(c) => cfg = c,
                Err(e) => return ulib::fail("ifconfig", "get", e),
            }
        }
        _ => {
            let problem = alloc::format!(
                "{} arguments: give none, or the address, netmask and gateway",
                argv.len() - 1
            );
            return args::bad("ifconfig", &problem, USAGE);
        }
    }
    ulib::println!("eth0: ether {}", Mac(cfg.mac));
    ulib::println!(
        "      inet {}  netmask {}  gateway {}",
        Ip(cfg.addr),
        Ip(cfg.netmask),
        Ip(cfg.gateway)
    );
    ulib::println!("      dns {}", Ip(cfg.dns));
    show_dhcp(&cfg);
    let prefix = u32::from_be_bytes(ipv4::LOOPBACK_MASK).leading_ones();
    ulib::println!(
        "lo    {}/{}  (loopback: delivered in the kernel, never on eth0)",
        Ip(ipv4::LOOPBACK_ADDR),
        prefix
    );
    0
}

/// The DHCP client's line: its state, and the lease when it holds one.
fn show_dhcp(c: &IfConfig) {
    let state = dhcp_state::name(c.dhcp_state);
    match c.dhcp_state {
        dhcp_state::OFF => ulib::println!("      dhcp off (static address)"),
        dhcp_state::BOUND | dhcp_state::RENEWING | dhcp_state::REBINDING => {
            if c.lease_secs == u32::MAX {
                ulib::println!(
                    "      dhcp {}  server {}  lease infinite",
                    state,
                    Ip(c.dhcp_server)
                );
            } else {
                ulib::println!(
                    "      dhcp {}  server {}  lease {} s, {} s left",
                    state,
                    Ip(c.dhcp_server),
                    c.lease_secs,
                    c.lease_left_secs
                );
            }
        }
        _ => ulib::println!("      dhcp {} (no lease yet)", state),
    }
}
