//! The xv6net network stack: Ethernet, ARP, IPv4 (fragments reassembled
//! in [`reassembly`]), ICMP, UDP and datagram sockets, TCP and stream
//! sockets ([`tcp`]), loopback, the DHCP client that configures the
//! interface ([`dhcp`]), a second interface on the containers' bridge and
//! the routes between them ([`route`]), forwarding ([`forward`]) and
//! address translation ([`nat`]), as a `no_std` library that the kernel
//! links and host tests drive frame by frame.
//!
//! One file per protocol, each with an `input` that checks its header in
//! place with the generated `parse` (the rules of its spec: lengths,
//! checksums, named constraints, options), applies its own policy, strips it
//! by moving the mbuf's window, and hands the same mbuf on
//! ([`dispatch`] does the demultiplexing with the generated tables); and an
//! `output` that pushes its header into the headroom with the header's
//! generated builder ([`Mbuf::push_emit`]), handing the mbuf down under the
//! dispatch table's key for its layer. A received datagram is
//! queued on its socket in the very buffer the device wrote, so nothing is
//! copied before `recvfrom`.
//!
//! The stack is one value, [`Stack`], with fixed-size tables and no heap.
//! The platform is behind [`NetEnv`] (clock, transmit, wake-ups), passed to
//! each call. The kernel keeps the `Stack` in one spinlock (interrupts off)
//! and calls [`Stack::input`] from the RX interrupt, [`Stack::tick`] from the
//! timer, and the socket calls from system calls.
//!
//! Every frame that is dropped is counted under a named [`DropReason`] (one
//! per error the specs declare, generated, and the policy's own);
//! [`Stack::export_counters`] is what `netstat` prints.
//!
//! Testing on the host (`cargo test -p net`): unit tests at the bottom of
//! the files, and in `tests/`: `stack.rs` (ARP, ping, UDP delivery, port
//! unreachable, ARP queueing and expiry, sockets), `malformed.rs` (one bad
//! frame per drop reason), `mbufs.rs` (the pool's census and the copy
//! counters followed through the stack), `tcp_*.rs` (TCP frame by frame:
//! `tcp_open` handshakes, data and bounds, `tcp_close` every closing path,
//! `tcp_rst` RSTs and challenge ACKs, `tcp_retransmit` loss and recovery,
//! `tcp_wire` bulk transfers between two stacks over a lossy wire and over
//! loopback, `tcp_counters` that every TCP counter is moved by a test),
//! `dhcp.rs` (the client against a scripted server and QEMU's captured
//! replies, every DHCP counter moved), `bridge.rs` (stacks joined by a
//! [`bridge::Bridge`], the switch the kernel joins its namespaces' stacks
//! with), `netns.rs` (a host, a forwarding root stack and two containers
//! wired frame by frame: routes, forwarding and its ICMP errors, source
//! NAT, published ports, every checksum verified) and
//! `fuzz.rs` (proptest over arbitrary and mutated frames, seeded with real
//! captures and TCP segments to live connections; checks no panic,
//! well-formed output and no leaked mbuf). A long fuzz run:
//! `PROPTEST_CASES=200000 cargo test -p net --release --test fuzz`.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod arp;
pub mod bridge;
pub mod counters;
pub mod dhcp;
pub mod dispatch;
pub mod eth;
pub mod forward;
pub mod icmp;
pub mod ipv4;
mod loopback;
pub mod mbuf;
pub mod mirror;
pub mod nat;
mod nat_icmp;
pub mod pool;
pub mod reassembly;
pub mod route;
pub mod socket;
pub mod tcp;
pub mod udp;

use abi::net::{ArpEntry, Counter, IfConfig};

pub use counters::{Counters, DropReason, Stat};
pub use mbuf::{Mbuf, RxStamp, HEADROOM, MBUF_SIZE, RX_STAMPS};
pub use nat::NatProto;
pub use pool::{Buf, Census, MbufState, Pool};
pub use route::IfId;
pub use socket::{SocketId, SocketKind};

pub type Ipv4Addr = [u8; 4];
pub type MacAddr = [u8; 6];

/// What the stack needs from the platform (the kernel, or a host test).
pub trait NetEnv {
    /// Milliseconds since some fixed point (boot).
    fn now_ms(&self) -> u64;
    /// Sends one Ethernet frame by interface `iface` (the window of
    /// `frame`; the driver pushes its own header into the headroom). Gives
    /// the frame back when the device cannot take it; the stack then drops
    /// and counts it.
    fn transmit(&mut self, iface: IfId, frame: Mbuf) -> Result<(), Mbuf>;
    /// Something happened on `sock` (data queued, an error set, a timeout
    /// to check): wake whoever sleeps on it.
    fn wakeup(&mut self, sock: SocketId);
    /// A fine clock for the receive-path profile ([`Mbuf::stamp`]), in the
    /// environment's own unit; 0 where there is none.
    fn clock(&self) -> u64 {
        0
    }
}

/// The interface's addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Iface {
    pub mac: MacAddr,
    pub addr: Ipv4Addr,
    pub netmask: Ipv4Addr,
    pub gateway: Ipv4Addr,
    /// The name server, for the resolver (0.0.0.0: none).
    pub dns: Ipv4Addr,
}

impl Iface {
    /// No address yet (DHCP, or `ifconfig`, gives one). The MAC is QEMU's
    /// default until the driver reads the device's.
    pub const UNCONFIGURED: Iface = Iface {
        mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
        addr: [0; 4],
        netmask: [0; 4],
        gateway: [0; 4],
        dns: [0; 4],
    };

    // Addresses as 32-bit words: a mask is one `and`, not four (every
    // received packet's source and destination are checked).
    fn masked(a: Ipv4Addr, m: Ipv4Addr) -> u32 {
        u32::from_be_bytes(a) & u32::from_be_bytes(m)
    }

    /// Is `ip` on our subnet?
    pub fn on_link(&self, ip: Ipv4Addr) -> bool {
        Self::masked(ip, self.netmask) == Self::masked(self.addr, self.netmask)
    }

    /// The directed broadcast address of our subnet.
    pub fn subnet_broadcast(&self) -> Ipv4Addr {
        (Self::masked(self.addr, self.netmask) | !u32::from_be_bytes(self.netmask)).to_be_bytes()
    }

    /// Limited (255.255.255.255) or our subnet's directed broadcast.
    pub fn is_broadcast(&self, ip: Ipv4Addr) -> bool {
        ip == ipv4::BROADCAST || (self.netmask != ipv4::BROADCAST && ip == self.subnet_broadcast())
    }

    pub fn to_abi(&self) -> IfConfig {
        IfConfig {
            mac: self.mac,
            _pad: [0; 2],
            addr: self.addr,
            netmask: self.netmask,
            gateway: self.gateway,
            dns: self.dns,
            ..IfConfig::default()
        }
    }
}

/// The whole network stack: interface configuration, ARP cache, sockets
/// and counters. See the crate docs for how the kernel drives it.
pub struct Stack {
    pool: &'static Pool,
    /// `eth0`.
    iface: Iface,
    /// `br0`, the root namespace's interface on the containers' bridge.
    bridge: Option<Iface>,
    /// The interface the frame being received came in by.
    rx_if: IfId,
    /// Forward datagrams not for us ([`forward`]).
    forwarding: bool,
    nat: nat::Nat,
    arp: arp::ArpCache,
    sockets: socket::SocketTable,
    tcp: tcp::table::TcpTable,
    dhcp: dhcp::Client,
    /// Packets sent to ourselves, waiting to be received.
    loopq: loopback::LoopQueue,
    counters: Counters,
    /// IPv4 datagrams being put together from their fragments.
    reasm: reassembly::Reassembly,
    unreach_limit: icmp::TokenBucket,
    next_ip_id: u16,
    /// The packet being received was looped back, not from the device:
    /// only such packets may go to 127.0.0.0/8.
    looped: bool,
}

impl Stack {
    /// A stack with no address yet, taking buffers from `pool`.
    pub const fn new(pool: &'static Pool) -> Self {
        Stack {
            pool,
            iface: Iface::UNCONFIGURED,
            bridge: None,
            rx_if: IfId::Eth0,
            forwarding: false,
            nat: nat::Nat::new(),
            arp: arp::ArpCache::new(),
            sockets: socket::SocketTable::new(),
            tcp: tcp::table::TcpTable::new(),
            dhcp: dhcp::Client::new(),
            loopq: loopback::LoopQueue::new(),
            counters: Counters::new(),
            reasm: reassembly::Reassembly::new(),
            unreach_limit: icmp::TokenBucket::new(),
            next_ip_id: 1,
            looped: false,
        }
    }

    pub fn pool(&self) -> &'static Pool {
        self.pool
    }

    pub fn iface(&self) -> Iface {
        self.iface
    }

    /// Sets the MAC (from the device's config space).
    pub fn set_mac(&mut self, mac: MacAddr) {
        self.iface.mac = mac;
    }

    /// `ifconfig` set: address, netmask and gateway (the MAC is the
    /// device's). The ARP cache is flushed, since what is on-link changed;
    /// the DHCP client stops (the address is static now).
    /// EINVAL for what [`IfConfig::problem`] refuses: a netmask that is not
    /// a prefix, an address that is not a host's, a gateway off the subnet.
    pub fn set_config(&mut self, c: &IfConfig) -> Result<(), abi::Errno> {
        if c.problem().is_some() {
            return Err(abi::Errno::EINVAL);
        }
        self.iface.addr = c.addr;
        self.iface.netmask = c.netmask;
        self.iface.gateway = c.gateway;
        self.iface.dns = c.dns;
        self.arp_flush();
        self.dhcp_stop();
        Ok(())
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// For the driver: count a drop that happened below the stack (no
    /// mbuf to repost, a runt from the device, no TX descriptor).
    pub fn count_drop(&mut self, r: DropReason) {
        self.counters.drop(r);
    }

    /// `netstat`: every counter, then the pool's (buffers by state, bytes
    /// copied on receive; see [`Pool::counters`]).
    pub fn export_counters(&self, out: &mut [Counter]) -> usize {
        self.counters.export(&self.pool.counters(), out)
    }

    /// The periodic work: ARP retries and expiry, reassembly timeouts,
    /// socket timeouts, TCP's timers, DHCP's. Call it every timer tick
    /// (10 ms is fine; any period works).
    pub fn tick(&mut self, env: &mut dyn NetEnv) {
        self.arp_tick(env);
        self.reassembly_tick(env);
        self.dhcp_tick(env);
        self.sockets.tick(env);
        self.tcp_tick(env);
        self.nat_tick(env);
        self.flush_loopback(env);
    }

    /// `arp` list: copies the cache into `out`, returns the count.
    pub fn arp_list(&self, now_ms: u64, out: &mut [ArpEntry]) -> usize {
        self.arp.list(now_ms, out)
    }

    fn alloc(&mut self) -> Option<Mbuf> {
        let m = self.pool.alloc();
        if m.is_none() {
            self.counters.drop(DropReason::TxNoMbuf);
        }
        m
    }
}

#[cfg(test)]
mod testenv;

#[cfg(test)]
pub(crate) mod testutil {
    //! A fresh stack with its own pool, and the recording `TestEnv`.
    use super::*;
    pub use crate::testenv::TestEnv;

    pub fn pool() -> &'static Pool {
        Box::leak(Box::new(Pool::<[Buf; 128]>::new()))
    }

    pub fn stack() -> Box<Stack> {
        let mut s = Box::new(Stack::new(pool()));
        s.set_mac([2, 0, 0, 0, 0, 1]);
        let c = IfConfig {
            addr: [10, 0, 2, 15],
            netmask: [255, 255, 255, 0],
            gateway: [10, 0, 2, 2],
            ..IfConfig::default()
        };
        s.set_config(&c).unwrap();
        s
    }
}
