//! ifconfig: shows the interface (MAC, address, netmask, gateway);
//! `ifconfig <ip> <netmask> <gateway>` sets them.
#![no_std]
#![no_main]

use ulib::inet::{parse_ip, Ip, Mac};
use ulib::netinfo;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let mut cfg = match netinfo::get_ifconfig() {
        Ok(c) => c,
        Err(e) => return ulib::fail("ifconfig", "get", e),
    };
    match args.len() {
        1 => {}
        4 => {
            let (Some(a), Some(m), Some(g)) =
                (parse_ip(args[1]), parse_ip(args[2]), parse_ip(args[3]))
            else {
                ulib::eprintln!("ifconfig: bad address");
                return 2;
            };
            (cfg.addr, cfg.netmask, cfg.gateway) = (a, m, g);
            if let Err(e) = netinfo::set_ifconfig(cfg) {
                return ulib::fail("ifconfig", "set", e);
            }
            match netinfo::get_ifconfig() {
                Ok(c) => cfg = c,
                Err(e) => return ulib::fail("ifconfig", "get", e),
            }
        }
        _ => {
            ulib::eprintln!("usage: ifconfig [ip netmask gateway]");
            return 2;
        }
    }
    ulib::println!("eth0: ether {}", Mac(cfg.mac));
    ulib::println!(
        "      inet {}  netmask {}  gateway {}",
        Ip(cfg.addr),
        Ip(cfg.netmask),
        Ip(cfg.gateway)
    );
    0
}
