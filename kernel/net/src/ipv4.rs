//! IPv4 (RFC 791, host requirements from RFC 1122): validating received
//! packets, routing and sending.
//!
//! Receive checks, each with its own drop reason: version, IHL (at least
//! 5 words and inside the frame), header checksum, total length (not below
//! the header, not past the frame: link padding is trimmed off here),
//! fragments (not reassembled), a broadcast/multicast source, and a
//! destination that is neither our address nor a broadcast. TTL 0 is
//! accepted and counted (RFC 1122 3.2.1.7: a host must not drop it).
//!
//! Send: a 20-byte header (no options) with TTL 64, a fresh identification
//! and the checksum; the next hop is the destination when on-link, else the
//! gateway; our own address and the loopback network 127.0.0.0/8 (`lo`,
//! sent from 127.0.0.1) loop back without touching the device. A packet
//! from the wire to 127.0.0.0/8 is not for us. One from 127.0.0.0/8 is
//! accepted, although RFC 1122 3.2.1.3 calls it martian: QEMU's user
//! network sends its ICMP errors from 127.0.0.1 (and our answers to such
//! a source stay inside, on the loopback path).

use wire::ethernet::{EtherType, EthernetHeader, BROADCAST as ETH_BROADCAST};
use wire::ipv4::{self as wip, IpProtocol, Ipv4Header};
use zerocopy::{FromBytes, IntoBytes};

use crate::counters::{DropReason, Stat};
use crate::mbuf::Mbuf;
use crate::{Ipv4Addr, NetEnv, Stack};

/// The link MTU (Ethernet).
pub const MTU: usize = 1500;
/// The header we send: the fixed part, no options.
pub const HEADER_LEN: usize = Ipv4Header::LEN;
/// TTL of packets we send.
pub const DEFAULT_TTL: u8 = 64;
/// The limited broadcast address.
pub const BROADCAST: Ipv4Addr = [255; 4];
/// Our address on the loopback network.
pub const LOOPBACK_ADDR: Ipv4Addr = [127, 0, 0, 1];

/// Is `ip` on the loopback network, 127.0.0.0/8 (RFC 1122 3.2.1.3 (g))?
pub fn is_loopback(ip: Ipv4Addr) -> bool {
    ip[0] == LOOPBACK_ADDR[0]
}

/// IHL counts 32-bit words.
const IHL_UNIT: usize = 4;

/// Is `ip` a multicast (class D: top four bits 1110, RFC 1112) or the
/// limited broadcast address?
pub fn is_group(ip: Ipv4Addr) -> bool {
    const CLASS_D_MASK: u8 = 0xf0;
    const CLASS_D: u8 = 0xe0;
    ip[0] & CLASS_D_MASK == CLASS_D || ip == BROADCAST
}

/// What upper layers learn about the packet that carried them.
#[derive(Clone, Copy, Debug)]
pub struct IpMeta {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: IpProtocol,
    /// Header length with options: how far back the IP header starts.
    pub header_len: usize,
    /// Sent to our unicast address (not a broadcast).
    pub unicast: bool,
}

/// Where a packet goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NextHop {
    /// Our own address or the loopback network: loop back.
    Local,
    /// A broadcast address: Ethernet broadcast, no ARP.
    Broadcast,
    /// An on-link host (the destination or the gateway), via ARP.
    Host(Ipv4Addr),
}

impl Stack {
    /// Validates the IPv4 header, trims link padding and strips the header.
    pub(crate) fn ipv4_input(&mut self, mut m: Mbuf) -> Result<(Mbuf, IpMeta), DropReason> {
        let (h, _) = Ipv4Header::ref_from_prefix(m.data()).map_err(|_| DropReason::Ipv4TooShort)?;
        if h.version() != Ipv4Header::VERSION {
            return Err(DropReason::Ipv4BadVersion);
        }
        let header_len = h.ihl_bytes();
        if header_len < Ipv4Header::LEN || header_len > m.len() {
            return Err(DropReason::Ipv4BadIhl);
        }
        if !wip::checksum_ok(&m.data()[..header_len]) {
            return Err(DropReason::Ipv4BadChecksum);
        }
        let total = h.total_length() as usize;
        if total < header_len || total > m.len() {
            return Err(DropReason::Ipv4BadLength);
        }
        if h.more_fragments() || h.fragment_offset() != 0 {
            return Err(DropReason::Ipv4Fragment);
        }
        let (src, dst, protocol, ttl) = (h.src(), h.dst(), h.protocol(), h.ttl());
        if is_group(src) || self.iface.is_broadcast(src) {
            return Err(DropReason::Ipv4BadSource);
        }
        let unicast =
            (dst == self.iface.addr && dst != [0; 4]) || (self.looped && is_loopback(dst));
        if !unicast && !self.iface.is_broadcast(dst) {
            return Err(DropReason::Ipv4NotForUs);
        }
        if ttl == 0 {
            self.counters.bump(Stat::Ipv4TtlZero);
        }
        self.counters.bump(Stat::Ipv4In);
        m.trim(total);
        m.pull(header_len).map_err(|_| DropReason::Ipv4BadIhl)?;
        Ok((
            m,
            IpMeta {
                src,
                dst,
                protocol,
                header_len,
                unicast,
            },
        ))
    }

    /// Where a packet to `dst` goes; `None` when there is no route.
    pub(crate) fn route(&self, dst: Ipv4Addr) -> Option<NextHop> {
        let i = &self.iface;
        if dst == i.addr || is_loopback(dst) {
            Some(NextHop::Local)
        } else if i.is_broadcast(dst) {
            Some(NextHop::Broadcast)
        } else if is_group(dst) || dst == [0; 4] {
            None
        } else if i.on_link(dst) {
            Some(NextHop::Host(dst))
        } else if i.gateway != [0; 4] && i.on_link(i.gateway) {
            Some(NextHop::Host(i.gateway))
        } else {
            None
        }
    }

    /// The source address of what we send to `dst` (UDP's checksum
    /// covers it too): 127.0.0.1 on the loopback network, else ours.
    pub(crate) fn source_for(&self, dst: Ipv4Addr) -> Ipv4Addr {
        if is_loopback(dst) {
            LOOPBACK_ADDR
        } else {
            self.iface.addr
        }
    }

    /// Pushes an IPv4 header (from our address to `dst`, carrying
    /// `protocol`) in front of `m` and sends it towards the next hop.
    /// Failures are counted, not returned.
    pub(crate) fn ipv4_output(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        protocol: IpProtocol,
        dst: Ipv4Addr,
    ) {
        let Some(hop) = self.route(dst) else {
            self.counters.drop(DropReason::Ipv4NoRoute);
            return;
        };
        let id = self.next_ip_id;
        self.next_ip_id = id.wrapping_add(1);
        let total = m.len() + HEADER_LEN;
        let src = self.source_for(dst);
        let Ok(h) = m.push_header::<Ipv4Header>() else {
            self.counters.drop(DropReason::TxNoMbuf);
            return;
        };
        h.set_version(Ipv4Header::VERSION);
        h.set_ihl((HEADER_LEN / IHL_UNIT) as u8);
        h.set_total_length(total as u16);
        h.set_identification(id);
        h.set_ttl(DEFAULT_TTL);
        h.set_protocol(protocol);
        h.set_src(src);
        h.set_dst(dst);
        wip::fill_checksum(h.as_mut_bytes());
        self.counters.bump(Stat::Ipv4Out);
        match hop {
            NextHop::Local => self.loopback(env, m),
            NextHop::Broadcast => self.eth_output(env, m, ETH_BROADCAST, EtherType::IPV4),
            NextHop::Host(ip) => self.arp_output(env, m, ip),
        }
    }

    /// Delivers a packet we sent to ourselves, as if it had arrived.
    fn loopback(&mut self, env: &mut dyn NetEnv, mut m: Mbuf) {
        let mac = self.iface.mac;
        let Ok(h) = m.push_header::<EthernetHeader>() else {
            self.counters.drop(DropReason::TxNoMbuf);
            return;
        };
        h.set_dst(mac);
        h.set_src(mac);
        h.set_ethertype(EtherType::IPV4);
        // A looped-back packet may draw another (an echo reply): restore.
        let outer = core::mem::replace(&mut self.looped, true);
        self.input_frame(env, m);
        self.looped = outer;
    }
}
