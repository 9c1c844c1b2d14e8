//! IPv4 (RFC 791, host requirements from RFC 1122): validating received
//! packets, routing and sending.
//!
//! Receive: `Ipv4Header::parse` makes the header's checks, each with its own
//! drop reason (version, IHL, total length, header checksum: the rules of
//! `proto-defs/ipv4.toml`), and `Ipv4Options` walks the options, refusing
//! malformed ones (well-formed options are accepted and skipped: we neither
//! route nor record); here the policy: a broadcast/multicast source, and
//! a destination that is neither our address nor a broadcast. Link padding
//! past the total length is trimmed off. TTL 0 is accepted and counted
//! (RFC 1122 3.2.1.7: a host must not drop it).
//!
//! Send: the generated builder writes the header (no options) with
//! [`DEFAULT_TTL`] and a fresh identification, its lengths and checksum
//! filled from the spec; the route (`route.rs`) names the interface and
//! the next hop (the destination when on-link, else the gateway); our own
//! addresses and the loopback network 127.0.0.0/8 (`lo`, sent from
//! 127.0.0.1) loop back without touching the device. A datagram for none of
//! our addresses is forwarded when forwarding is on (`forward.rs`). A packet
//! from the wire to 127.0.0.0/8 is not for us. One from 127.0.0.0/8 is
//! accepted, although RFC 1122 3.2.1.3 calls it martian: QEMU's user
//! network sends its ICMP errors from 127.0.0.1 (and our answers to such
//! a source stay inside, on the loopback path).
//!
//! Fragments: a received fragment passes the same checks and goes to
//! reassembly (`reassembly.rs`), which hands up its datagram when whole. A
//! datagram longer than the MTU (a chain of mbufs, see `Mbuf::chain`)
//! is sent as fragments, one per mbuf of the chain, each with its own
//! header (the same identification, its offset in `FRAGMENT_UNIT`s, MF on
//! all but the last): the caller cut the chain so that every piece but the
//! last is a whole number of units ([`FRAGMENT_ROOM`]), or, for the reply
//! to an echo request that came in fragments, kept the pieces as they came
//! (each within a frame, all but the last in whole units). The fragments
//! travel down as the same chain (ARP queues it as one packet) and
//! Ethernet sends one frame per piece.

use wire::dispatch::{EthernetNext, Ipv4Next};
use wire::ethernet::{self as weth, EthernetHeaderRepr, BROADCAST as ETH_BROADCAST};
use wire::ipv4::{self as wip, IpProtocol, Ipv4Header, Ipv4HeaderRepr};

use crate::counters::{DropReason, Stat};
use crate::mbuf::Mbuf;
use crate::reassembly::Fragment;
use crate::route::NextHop;
use crate::{Ipv4Addr, NetEnv, Stack};

/// The link MTU (Ethernet).
pub const MTU: usize = weth::MTU as usize;
/// The header we send: the fixed part, no options.
pub const HEADER_LEN: usize = Ipv4Header::LEN;
/// The payload of each fragment we send but the last: what the MTU
/// leaves after our header, in whole units of the fragment offset.
pub const FRAGMENT_ROOM: usize =
    (MTU - HEADER_LEN) / wip::FRAGMENT_UNIT as usize * wip::FRAGMENT_UNIT as usize;
/// The longest datagram payload (after our header) the total length can
/// describe.
pub const MAX_PAYLOAD: usize = wip::MAX_DATAGRAM as usize - HEADER_LEN;
/// TTL of packets we send.
pub const DEFAULT_TTL: u8 = 64;
/// The limited broadcast address.
pub const BROADCAST: Ipv4Addr = wip::BROADCAST;
/// Our address on the loopback network.
pub const LOOPBACK_ADDR: Ipv4Addr = wip::LOOPBACK_ADDR;

/// Is `ip` on the loopback network, 127.0.0.0/8 (RFC 1122 3.2.1.3 (g))?
pub fn is_loopback(ip: Ipv4Addr) -> bool {
    let masked = u32::from_be_bytes(ip) & u32::from_be_bytes(wip::LOOPBACK_MASK);
    masked == u32::from_be_bytes(wip::LOOPBACK_NETWORK)
}

/// Is `ip` a multicast (class D, RFC 1112) or the limited broadcast
/// address?
pub fn is_group(ip: Ipv4Addr) -> bool {
    let masked = u32::from_be_bytes(ip) & u32::from_be_bytes(wip::MULTICAST_MASK);
    masked == u32::from_be_bytes(wip::MULTICAST_PREFIX) || ip == BROADCAST
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
    /// The fragment fields, when it is one (MF set or an offset).
    pub fragment: Option<Fragment>,
}

impl Stack {
    /// Validates the IPv4 header, trims link padding and strips the header.
    pub(crate) fn ipv4_input(&mut self, m: &mut Mbuf) -> Result<IpMeta, DropReason> {
        let p = Ipv4Header::parse(m.data())?;
        Ipv4Header::options(&p).check()?;
        // The total length, checked against the frame: what follows is padding.
        let (h, total) = (p.header, p.message.len());
        let header_len = h.ihl_bytes();
        let fragment = (h.more_fragments() || h.fragment_offset() != 0).then(|| Fragment {
            identification: h.identification(),
            offset: usize::from(h.fragment_offset()) * usize::from(wip::FRAGMENT_UNIT),
            more: h.more_fragments(),
        });
        let (src, dst, protocol, ttl) = (h.src(), h.dst(), h.protocol(), h.ttl());
        let rx = *self.rx_iface();
        if is_group(src) || rx.is_broadcast(src) {
            return Err(DropReason::Ipv4BadSource);
        }
        let unicast = self.is_local_addr(dst) || (self.looped && is_loopback(dst));
        if !unicast && !rx.is_broadcast(dst) {
            return Err(DropReason::Ipv4NotForUs);
        }
        if ttl == 0 {
            self.counters.bump(Stat::Ipv4TtlZero);
        }
        self.counters.bump(Stat::Ipv4In);
        m.trim(total);
        m.pull(header_len).map_err(|_| DropReason::Ipv4BadIhl)?;
        Ok(IpMeta {
            src,
            dst,
            protocol,
            header_len,
            unicast,
            fragment,
        })
    }

    /// Pushes an IPv4 header (from our address to `dst`, carrying
    /// `next`) in front of `m` and sends it towards the next hop.
    /// Failures are counted, not returned.
    pub(crate) fn ipv4_output(
        &mut self,
        env: &mut dyn NetEnv,
        m: Mbuf,
        next: Ipv4Next,
        dst: Ipv4Addr,
    ) {
        let src = self.source_for(dst);
        self.ipv4_output_from(env, m, next, src, dst);
    }

    /// [`Stack::ipv4_output`] from a given source address of ours (a TCP
    /// connection keeps the one it was opened with).
    pub(crate) fn ipv4_output_from(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        next: Ipv4Next,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) {
        let Some(hop) = self.route(dst) else {
            self.counters.drop(DropReason::Ipv4NoRoute);
            return;
        };
        let id = self.next_ip_id;
        self.next_ip_id = id.wrapping_add(1);
        let header = Ipv4HeaderRepr {
            identification: id,
            ttl: DEFAULT_TTL,
            protocol: next.protocol(),
            src,
            dst,
            ..Ipv4HeaderRepr::default()
        };
        if m.is_chained() {
            match self.fragment(m, header) {
                Some(frags) => m = frags,
                None => return,
            }
        } else if m.push_emit(&header, ()).is_err() {
            self.counters.drop(DropReason::TxNoMbuf);
            return;
        }
        self.counters.bump(Stat::Ipv4Out);
        match hop {
            NextHop::Local => self.loopback(m),
            NextHop::Broadcast(i) => self.eth_output(env, m, i, ETH_BROADCAST, EthernetNext::Ipv4),
            NextHop::Host(i, ip) => self.arp_output(env, m, i, ip),
        }
    }

    /// Turns the datagram in the chain `m` into its fragments, each mbuf
    /// one fragment with `header` (offset and MF its own) pushed in front;
    /// they stay chained. `None` (counted) when a piece is not a whole
    /// number of units or a header does not fit.
    fn fragment(&mut self, m: Mbuf, header: Ipv4HeaderRepr) -> Option<Mbuf> {
        let unit = usize::from(wip::FRAGMENT_UNIT);
        let mut frags: Option<Mbuf> = None;
        let (mut rest, mut offset) = (Some(m), 0);
        while let Some(mut piece) = rest {
            rest = piece.take_next();
            let len = piece.len();
            let more = rest.is_some();
            if (more && !len.is_multiple_of(unit)) || offset + len > MAX_PAYLOAD {
                self.counters.drop(DropReason::Ipv4FragBadLength);
                return None;
            }
            let h = Ipv4HeaderRepr {
                more_fragments: more,
                fragment_offset: (offset / unit) as u16,
                ..header
            };
            if piece.push_emit(&h, ()).is_err() {
                self.counters.drop(DropReason::TxNoMbuf);
                return None;
            }
            offset += len;
            self.counters.bump(Stat::Ipv4FragmentsOut);
            match frags.as_mut() {
                None => frags = Some(piece),
                Some(head) => head.chain(piece),
            }
        }
        frags
    }

    /// A packet we sent to ourselves: framed as if it had arrived and
    /// queued, to be received when the call that sent it is done
    /// ([`Stack::flush_loopback`]), not from inside it. Fragments are
    /// queued one by one, as they would arrive.
    fn loopback(&mut self, m: Mbuf) {
        let mac = self.iface.mac;
        let header = EthernetHeaderRepr {
            dst: mac,
            src: mac,
            ethertype: EthernetNext::Ipv4.ethertype(),
        };
        let mut rest = Some(m);
        while let Some(mut m) = rest {
            rest = m.take_next();
            if m.push_emit(&header, ()).is_err() {
                self.counters.drop(DropReason::TxNoMbuf);
                continue;
            }
            if let Err(r) = self.loopq.push(m) {
                self.counters.drop(r);
            }
        }
    }
}
