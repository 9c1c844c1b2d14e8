//! Socket-level constants and structures shared by kernel and user space.
//! Addresses and ports in [`SockAddrIn`] are stored in network byte order,
//! as in BSD, so `sockaddr_in` code from other systems reads the same.

use wire::ipv4;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const AF_INET: u16 = 2;
/// A TCP stream socket.
pub const SOCK_STREAM: usize = 1;
pub const SOCK_DGRAM: usize = 2;
/// An ICMP echo socket ("ping socket", as Linux's SOCK_DGRAM+IPPROTO_ICMP):
/// `sendto` takes an ICMP echo request (type, code, id, seq + data), the
/// kernel fills in the checksum; `recvfrom` returns echo replies.
pub const SOCK_ICMP: usize = 3;

/// `setsockopt` levels and options.
pub const SOL_SOCKET: usize = 1;
/// Receive timeout in milliseconds (u64); 0 = block forever.
pub const SO_RCVTIMEO_MS: usize = 20;
/// Non-blocking mode (u64 0/1): recvfrom returns EAGAIN when empty.
pub const SO_NONBLOCK: usize = 21;
/// Receive queue limit in bytes (u64), `RCVBUF_MIN..=RCVBUF_MAX`; each
/// queued datagram counts the 2 KiB buffer it holds, whatever its size.
/// Datagrams beyond it are dropped and counted (`drop_socket_queue_full`).
pub const SO_RCVBUF: usize = 22;
pub const RCVBUF_MIN: u64 = 2048;
pub const RCVBUF_MAX: u64 = 1 << 20;
/// A new socket's limit: 128 datagrams.
pub const RCVBUF_DEFAULT: u64 = 256 * 1024;
/// Allow `bind` to a port that connections in TIME-WAIT still hold (u64 0/1).
pub const SO_REUSEADDR: usize = 23;
/// Keep-alive probes on an idle TCP connection (u64 0/1); a peer that
/// answers none of them fails the connection with ETIMEDOUT. When and how
/// often: `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`.
pub const SO_KEEPALIVE: usize = 24;

/// The `setsockopt` level of TCP's own options: its protocol number, as in BSD.
pub const SOL_TCP: usize = ipv4::IpProtocol::TCP.0 as usize;
/// Send segments at once instead of coalescing small writes (Nagle's
/// algorithm off), u64 0/1.
pub const TCP_NODELAY: usize = 1;
/// Seconds of silence from the peer before the first keep-alive probe
/// (u64, 1..=`TCP_KEEP_MAX_SECS`; 7200 until set, as Linux).
pub const TCP_KEEPIDLE: usize = 4;
/// Seconds between unanswered probes (u64, 1..=`TCP_KEEP_MAX_SECS`; 75).
pub const TCP_KEEPINTVL: usize = 5;
/// Unanswered probes before the connection fails (u64,
/// 1..=`TCP_KEEPCNT_MAX`; 9).
pub const TCP_KEEPCNT: usize = 6;
/// The largest `TCP_KEEPIDLE` and `TCP_KEEPINTVL` (Linux's).
pub const TCP_KEEP_MAX_SECS: u64 = 32767;
/// The largest `TCP_KEEPCNT` (Linux's).
pub const TCP_KEEPCNT_MAX: u64 = 127;

/// One datagram of `sendmmsg`: Linux's `struct mmsghdr` with one buffer
/// per message. The kernel fills in `sent`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct MMsg {
    /// The payload's address and length.
    pub buf: u64,
    pub len: u64,
    /// A `SockAddrIn` and its length, or 0 for the connected peer.
    pub addr: u64,
    pub addrlen: u32,
    /// Bytes sent (`msg_len`).
    pub sent: u32,
}

/// The most datagrams one `sendmmsg` takes (Linux: `UIO_MAXIOV`, 1024);
/// more are left for the next call.
pub const MAX_MMSG: usize = 64;

/// `shutdown` directions.
pub const SHUT_RD: usize = 0;
pub const SHUT_WR: usize = 1;
pub const SHUT_RDWR: usize = 2;

/// One entry of `poll`'s array, as POSIX `struct pollfd`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct PollFd {
    /// The descriptor; a negative one is skipped (`revents` 0).
    pub fd: i32,
    /// What the caller waits for: `POLLIN`, `POLLOUT`.
    pub events: i16,
    /// What is ready; `POLLERR`, `POLLHUP` and `POLLNVAL` are reported
    /// whether asked for or not.
    pub revents: i16,
}

/// Data to read (or a connection to accept, or end of file).
pub const POLLIN: i16 = 0x1;
/// Room to write.
pub const POLLOUT: i16 = 0x4;
/// An error is pending on the socket.
pub const POLLERR: i16 = 0x8;
/// The peer closed (or the connection reset): reads return end of file.
pub const POLLHUP: i16 = 0x10;
/// Not an open descriptor.
pub const POLLNVAL: i16 = 0x20;

/// The TCP states (RFC 9293, section 3.3.2) as [`SockInfo::state`] numbers
/// them, and `netstat` prints them.
pub const TCP_STATES: [&str; 11] = [
    "CLOSED",
    "LISTEN",
    "SYN-SENT",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "CLOSE-WAIT",
    "CLOSING",
    "LAST-ACK",
    "TIME-WAIT",
];

/// A container's port published on the host's address (`spawn -p`):
/// what reaches `host_port` of the root namespace's NIC address goes to
/// `port` of the container. `kind` is [`SOCK_STREAM`] (TCP) or
/// [`SOCK_DGRAM`] (UDP).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct PublishedPort {
    pub kind: u32,
    pub host_port: u16,
    pub port: u16,
}

/// Ports one `spawn` may publish.
pub const MAX_PUBLISHED: usize = 4;

/// `sockaddr_in`: 16 bytes like BSD's.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SockAddrIn {
    pub family: u16,
    /// Port, network byte order.
    pub port_be: u16,
    /// IPv4 address, network byte order.
    pub addr_be: [u8; 4],
    pub zero: [u8; 8],
}

impl SockAddrIn {
    pub const fn new(addr: [u8; 4], port: u16) -> Self {
        SockAddrIn {
            family: AF_INET,
            port_be: port.to_be(),
            addr_be: addr,
            zero: [0; 8],
        }
    }
    pub const fn port(&self) -> u16 {
        u16::from_be(self.port_be)
    }
}

/// Interface configuration for `ifconfig`.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct IfConfig {
    pub mac: [u8; 6],
    pub _pad: [u8; 2],
    pub addr: [u8; 4],
    pub netmask: [u8; 4],
    pub gateway: [u8; 4],
    /// The DNS server names are resolved with (0.0.0.0: none known).
    pub dns: [u8; 4],
    /// The DHCP server the lease is from (0.0.0.0: no lease).
    pub dhcp_server: [u8; 4],
    /// The lease's length and what is left of it, in seconds
    /// (`u32::MAX`: infinite).
    pub lease_secs: u32,
    pub lease_left_secs: u32,
    /// The DHCP client's state ([`dhcp_state`]).
    pub dhcp_state: u8,
    pub _pad2: [u8; 3],
}

/// `ifconfig(cfg, op)`: read the configuration, set a static one (the
/// DHCP client stops), or start the DHCP client.
pub const IFCONFIG_GET: usize = 0;
pub const IFCONFIG_SET: usize = 1;
pub const IFCONFIG_DHCP: usize = 2;

/// The DHCP client's states as [`IfConfig::dhcp_state`] holds them (RFC
/// 2131, figure 5; PROBING is RFC 5227's check of the address).
pub mod dhcp_state {
    pub const OFF: u8 = 0;
    pub const INIT: u8 = 1;
    pub const SELECTING: u8 = 2;
    pub const REQUESTING: u8 = 3;
    pub const PROBING: u8 = 4;
    pub const BOUND: u8 = 5;
    pub const RENEWING: u8 = 6;
    pub const REBINDING: u8 = 7;

    /// The state's name as `ifconfig` prints it.
    pub fn name(state: u8) -> &'static str {
        match state {
            OFF => "off",
            INIT => "init",
            SELECTING => "selecting",
            REQUESTING => "requesting",
            PROBING => "probing",
            BOUND => "bound",
            RENEWING => "renewing",
            REBINDING => "rebinding",
            _ => "unknown",
        }
    }
}

/// Which part of an [`IfConfig`] is wrong, for [`IfConfig::problem`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfField {
    Addr,
    Netmask,
    Gateway,
}

impl IfConfig {
    /// What is wrong with this configuration, if anything: the one rule
    /// the kernel enforces (EINVAL) and `ifconfig` explains. The netmask
    /// must be a prefix; the address a host's (not 0.0.0.0, a broadcast,
    /// multicast, loopback, or the subnet's network address); the gateway
    /// 0.0.0.0 (none) or another host on the subnet.
    pub fn problem(&self) -> Option<(IfField, &'static str)> {
        let mask = u32::from_be_bytes(self.netmask);
        if mask.leading_ones() + mask.trailing_zeros() != 32 {
            return Some((
                IfField::Netmask,
                "not a netmask (its one bits must come first)",
            ));
        }
        if let Some(why) = host_problem(self.addr, mask) {
            return Some((IfField::Addr, why));
        }
        if self.gateway == [0; 4] {
            return None;
        }
        let (a, g) = (
            u32::from_be_bytes(self.addr),
            u32::from_be_bytes(self.gateway),
        );
        let why = if let Some(why) = host_problem(self.gateway, mask) {
            why
        } else if a & mask != g & mask {
            "not a gateway: it is not on the address's subnet"
        } else if a == g {
            "not a gateway: it is the host's own address"
        } else {
            return None;
        };
        Some((IfField::Gateway, why))
    }
}

/// Why `addr` cannot be a host's address on a subnet with `mask`.
fn host_problem(addr: [u8; 4], mask: u32) -> Option<&'static str> {
    let a = u32::from_be_bytes(addr);
    let on =
        |net: [u8; 4], netmask: [u8; 4]| a & u32::from_be_bytes(netmask) == u32::from_be_bytes(net);
    let class_d = on(ipv4::MULTICAST_PREFIX, ipv4::MULTICAST_MASK);
    let loopback = on(ipv4::LOOPBACK_NETWORK, ipv4::LOOPBACK_MASK);
    // /31 and /32 subnets have no network or broadcast address (RFC 3021).
    let hosts_part = !mask;
    let has_ends = mask.count_ones() < 31;
    Some(if a == 0 {
        "not a host address (0.0.0.0 means no address)"
    } else if a == u32::MAX {
        "not a host address (it is the broadcast address)"
    } else if class_d {
        "not a host address (it is a multicast address)"
    } else if loopback {
        "not a host address (127.0.0.0/8 is the loopback network, lo)"
    } else if has_ends && a & hosts_part == hosts_part {
        "not a host address (it is the subnet's broadcast address)"
    } else if has_ends && a & hosts_part == 0 {
        "not a host address (it is the subnet's network address)"
    } else {
        return None;
    })
}

/// One ARP cache entry as `arp` lists it.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ArpEntry {
    pub ip: [u8; 4],
    pub mac: [u8; 6],
    /// 1 = resolved, 0 = request outstanding.
    pub resolved: u8,
    pub _pad: u8,
    pub _pad1: [u8; 4],
    /// Ticks until expiry.
    pub ttl_ticks: u64,
    /// Packets waiting for resolution.
    pub queued: u32,
    pub _pad2: u32,
}

/// `arp` operations.
pub const ARP_LIST: usize = 0;
pub const ARP_RESOLVE: usize = 1;
/// Forget every entry (ip, entries may be null; returns how many were
/// dropped), so tests can make the next send wait for resolution.
pub const ARP_FLUSH: usize = 2;

/// One socket as `netstat` lists it.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SockInfo {
    /// SOCK_DGRAM, SOCK_ICMP or SOCK_STREAM.
    pub kind: u32,
    pub local: SockAddrIn,
    pub remote: SockAddrIn,
    /// Datagrams queued (datagram sockets); bytes queued (TCP).
    pub rx_queued: u32,
    pub rx_dropped: u64,
    /// TCP: an index into [`TCP_STATES`]; 0 for datagram sockets.
    pub state: u32,
    /// TCP: bytes sent and not yet acknowledged, or not yet sent.
    pub tx_queued: u32,
}

/// Maximum number of counters `netstat` returns.
pub const MAX_COUNTERS: usize = 384;

/// What `netstat` reports of each hart, as counters `hart<N>_<name>`: its
/// wake-ups from `wfi`, processes run, timer ticks, device interrupts,
/// wake-up IPIs, datagrams received, spins on busy locks, then its idle
/// time (the kernel's `hartprof` counts them in this order).
pub const HART_COUNTERS: [&str; 8] = [
    "wakeups",
    "runs",
    "ticks",
    "irqs",
    "ipis",
    "recvs",
    "lock_spins",
    "idle_us",
];
/// Length of a counter's name, NUL-padded.
pub const COUNTER_NAME_LEN: usize = 32;

/// One named counter of the network stack.
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Counter {
    pub name: [u8; COUNTER_NAME_LEN],
    pub value: u64,
}

impl Default for Counter {
    fn default() -> Self {
        Counter {
            name: [0; COUNTER_NAME_LEN],
            value: 0,
        }
    }
}

impl Counter {
    pub fn name(&self) -> &str {
        let end = self
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(COUNTER_NAME_LEN);
        core::str::from_utf8(&self.name[..end]).unwrap_or("?")
    }
}
