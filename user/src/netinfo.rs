//! Safe wrappers for the network's introspection calls: counters
//! (netstat), the interface (ifconfig), the ARP cache and the socket list.

use crate::syscall as raw;
use abi::net::{ArpEntry, Counter, IfConfig, SockInfo, ARP_LIST, ARP_RESOLVE, MAX_COUNTERS};
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
    unsafe { raw::ifconfig(&mut cfg, 0) }?;
    Ok(cfg)
}

pub fn set_ifconfig(mut cfg: IfConfig) -> Result<(), Errno> {
    // SAFETY: cfg is a live IfConfig (the kernel only reads it when set = 1).
    unsafe { raw::ifconfig(&mut cfg, 1) }.map(drop)
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
