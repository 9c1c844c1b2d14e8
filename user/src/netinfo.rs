//! Safe wrappers for the network's introspection calls: counters
//! (netstat), the interface (ifconfig), the ARP cache and the socket list.

use crate::syscall as raw;
use abi::net::{
    dhcp_state, ArpEntry, Counter, IfConfig, SockInfo, ARP_LIST, ARP_RESOLVE, IFCONFIG_DHCP,
    IFCONFIG_GET, IFCONFIG_SET, MAX_COUNTERS,
};
use abi::syscall::TICK_HZ;
use abi::Errno;
use alloc::vec;
use alloc::vec::Vec;
use core::ptr;

/// Every counter of the network stack.
pub fn counters() -> Result<Vec<Counter>, Errno> {
    let mut v = vec![Counter::default(); MAX_COUNTERS];
    // SAFETY: v holds MAX_COUNTERS writable Counters.
    let n = unsafe { raw::netstat(v.as_mut_ptr(), v.len()) }?;
    v.truncate(n.min(MAX_COUNTERS));
    Ok(v)
}

/// The value of counter `name`, if the kernel has one by that name.
pub fn counter(name: &str) -> Result<Option<u64>, Errno> {
    Ok(counters()?
        .iter()
        .find(|c| c.name() == name)
        .map(|c| c.value))
}

pub fn get_ifconfig() -> Result<IfConfig, Errno> {
    let mut cfg = IfConfig::default();
    // SAFETY: cfg is a live, writable IfConfig.
    unsafe { raw::ifconfig(&mut cfg, IFCONFIG_GET) }?;
    Ok(cfg)
}

/// A static configuration: the DHCP client stops.
pub fn set_ifconfig(mut cfg: IfConfig) -> Result<(), Errno> {
    // SAFETY: cfg is a live IfConfig (the kernel only reads it).
    unsafe { raw::ifconfig(&mut cfg, IFCONFIG_SET) }.map(drop)
}

/// Waits up to `max_ms` for the DHCP client to hold a lease (or to be
/// off: a static address), looking every clock tick (the shortest sleep;
/// init waits here at boot, so each look later is the boot's); returns
/// the configuration then, or as it is when the time is up.
pub fn wait_for_lease(max_ms: u64) -> Result<IfConfig, Errno> {
    let step_ms = 1000 / TICK_HZ;
    let mut waited = 0;
    loop {
        let c = get_ifconfig()?;
        let settled = matches!(c.dhcp_state, dhcp_state::OFF | dhcp_state::BOUND);
        if settled || waited >= max_ms {
            return Ok(c);
        }
        crate::sys::sleep((step_ms * TICK_HZ / 1000) as usize)?;
        waited += step_ms;
    }
}

/// Starts the DHCP client again (the address goes until a lease comes).
pub fn start_dhcp() -> Result<(), Errno> {
    let mut cfg = IfConfig::default();
    // SAFETY: cfg is a live IfConfig; the kernel does not touch it.
    unsafe { raw::ifconfig(&mut cfg, IFCONFIG_DHCP) }.map(drop)
}

/// The ARP cache.
pub fn arp_list() -> Result<Vec<ArpEntry>, Errno> {
    let mut v = vec![ArpEntry::default(); 64];
    // SAFETY: v holds 64 writable entries; a null ip is allowed for ARP_LIST.
    let n = unsafe { raw::arp(ARP_LIST, ptr::null(), v.as_mut_ptr(), v.len()) }?;
    v.truncate(n.min(64));
    Ok(v)
}

/// Asks the kernel to resolve `ip`; returns the entry it reports, if any.
pub fn arp_resolve(ip: [u8; 4]) -> Result<Option<ArpEntry>, Errno> {
    let mut e = ArpEntry::default();
    // SAFETY: ip and e are live; room for one entry.
    let n = unsafe { raw::arp(ARP_RESOLVE, &ip, &mut e, 1) }?;
    Ok((n > 0).then_some(e))
}

/// Every open socket in the system.
pub fn sockets() -> Result<Vec<SockInfo>, Errno> {
    let mut v = vec![SockInfo::default(); MAX_LISTED];
    // SAFETY: v holds MAX_LISTED writable SockInfos.
    let n = unsafe { raw::socklist(v.as_mut_ptr(), v.len()) }?;
    v.truncate(n.min(MAX_LISTED));
    Ok(v)
}

/// Sockets `sockets` lists at most: more than the kernel has (64 datagram
/// sockets and 256 TCP connections, closing ones included).
const MAX_LISTED: usize = 384;

/// Empties the ARP cache; returns how many entries were dropped.
pub fn arp_flush() -> Result<usize, Errno> {
    // SAFETY: ARP_FLUSH reads and writes nothing of ours.
    unsafe { raw::arp(abi::net::ARP_FLUSH, ptr::null(), ptr::null_mut(), 0) }
}
