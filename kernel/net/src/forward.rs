//! Forwarding (RFC 1812), on in the root namespace only: a datagram that
//! is not for us leaves by the interface its route names, `eth0` or `br0`.
//!
//! A forwarded datagram is checked as a received one is
//! (`Ipv4Header::parse` and its options, each refusal its own counter) and
//! then (RFC 1812 5.2.1, 5.3.1):
//! - it needs a route: none draws a net unreachable
//!   (`drop_forward_no_route`), a directed broadcast of a subnet is not
//!   forwarded (`drop_forward_broadcast`, RFC 2644), nor is one whose
//!   route leads back out the interface it came in by (not for us);
//! - its TTL must be above 1, else it goes no further and its sender gets
//!   a time exceeded in transit (`drop_forward_ttl_exceeded`);
//! - leaving by `eth0` from `br0`, a container's datagram gets our
//!   address (source NAT, [`crate::nat`]); arriving by `eth0` for our
//!   address, one that belongs to a translated flow or a published port
//!   is given its container's address first; from `br0` for a published
//!   port of `eth0`'s address, it is translated both ways and turned back
//!   onto the bridge (hairpin, [`crate::nat`]);
//! - the TTL is decremented (the header written again by its generated
//!   builder, options kept, checksum filled), and ARP sends it on; a next hop that never
//!   answers draws a host unreachable ([`Stack::forward_unreachable`]).
//!
//! Both links are Ethernet with the same MTU, so a datagram received on
//! one always fits the other: there is nothing to fragment.
//!
//! The ICMP errors share the stack's rate limit and are never sent about
//! an ICMP error or a fragment past the first (RFC 1812 4.3.2.7).

use wire::dispatch::{ipv4_next, Ipv4Next};
use wire::icmpv4::{
    Icmpv4DestUnreachableRepr, Icmpv4Header, Icmpv4HeaderRepr, Icmpv4TimeExceededCode,
    Icmpv4TimeExceededRepr, Icmpv4Type, Icmpv4UnreachableCode,
};
use wire::ipv4::{Ipv4Header, Ipv4HeaderRepr};
use wire::{Emit, EmitOptions};
use zerocopy::FromBytes;

use crate::counters::{DropReason, Stat};
use crate::ipv4::{is_group, is_loopback, IpMeta};
use crate::mbuf::Mbuf;
use crate::route::{IfId, NextHop};
use crate::{Ipv4Addr, NetEnv, Stack};

impl Stack {
    /// Turns forwarding on or off (off by default: a container's stack,
    /// like a host's, only receives what is addressed to it).
    pub fn set_forwarding(&mut self, on: bool) {
        self.forwarding = on;
    }

    pub fn forwarding(&self) -> bool {
        self.forwarding
    }

    /// The IPv4 datagram in `m` (the window at its header) either is ours,
    /// handed back for the receive path, or is forwarded (or dropped and
    /// counted) here. With forwarding off everything is handed back.
    pub(crate) fn ipv4_forward(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
    ) -> Result<Option<Mbuf>, DropReason> {
        if !self.forwarding || self.looped {
            return Ok(Some(m));
        }
        let p = Ipv4Header::parse(m.data())?;
        Ipv4Header::options(&p).check()?;
        let (total, dst) = (p.message.len(), p.header.dst());
        let rx = *self.rx_iface();
        let ours = self.is_local_addr(dst) || rx.is_broadcast(dst);
        if is_loopback(dst) || is_group(dst) {
            return Ok(Some(m));
        }
        m.trim(total);
        if ours {
            if self.rx_if == IfId::Br0 && self.is_hairpin(env, m.data()) {
                self.hairpin(env, m)?;
                return Ok(None);
            }
            // A reply to a translated flow, or a published port.
            if self.rx_if != IfId::Eth0 || !self.nat_inbound(env, &mut m)? {
                return Ok(Some(m));
            }
        }
        self.forward(env, m)?;
        Ok(None)
    }

    /// Sends the checked datagram in `m` (window at its IPv4 header, cut to
    /// its total length) on towards its destination.
    fn forward(&mut self, env: &mut dyn NetEnv, m: Mbuf) -> Result<(), DropReason> {
        let (h, _) = Ipv4Header::ref_from_prefix(m.data()).map_err(|_| DropReason::Ipv4TooShort)?;
        let (src, dst, ttl) = (h.src(), h.dst(), h.ttl());
        // Between the interfaces only: back out the way it came in is
        // nowhere a router here should send it (a stray unicast, or one
        // for an address we do not have yet), so that is not for us; and
        // what comes in by `eth0` with no route was never meant for us.
        let (out, hop) = match self.route(dst) {
            Some(NextHop::Host(out, hop)) if out != self.rx_if => (out, hop),
            Some(NextHop::Broadcast(out)) if out != self.rx_if => {
                return Err(DropReason::ForwardBroadcast)
            }
            None if self.rx_if == IfId::Br0 => {
                self.unreachable(env, m, Icmpv4UnreachableCode::NET_UNREACHABLE);
                return Err(DropReason::ForwardNoRoute);
            }
            _ => return Err(DropReason::Ipv4NotForUs),
        };
        if is_group(src) || self.rx_iface().is_broadcast(src) || self.is_local_addr(src) {
            return Err(DropReason::Ipv4BadSource);
        }
        let mut m = self.hop_left(env, m, ttl)?;
        if self.rx_if == IfId::Br0 && out == IfId::Eth0 {
            self.nat_outbound(env, &mut m)?;
        }
        self.send_on(env, m, out, hop)
    }

    /// A container's datagram for a published port of our address
    /// (window at its IPv4 header, cut to its total length), translated
    /// both ways and sent back onto the bridge.
    fn hairpin(&mut self, env: &mut dyn NetEnv, m: Mbuf) -> Result<(), DropReason> {
        let ttl = Ipv4Header::ref_from_prefix(m.data())
            .map_err(|_| DropReason::Ipv4TooShort)?
            .0
            .ttl();
        let mut m = self.hop_left(env, m, ttl)?;
        self.nat_hairpin(env, &mut m)?;
        let (h, _) = Ipv4Header::ref_from_prefix(m.data()).map_err(|_| DropReason::Ipv4TooShort)?;
        let dst = h.dst();
        self.send_on(env, m, IfId::Br0, dst)
    }

    /// `m` back, unless its TTL (`ttl`) runs out here: then its sender
    /// gets a time exceeded in transit.
    fn hop_left(&mut self, env: &mut dyn NetEnv, m: Mbuf, ttl: u8) -> Result<Mbuf, DropReason> {
        if ttl > 1 {
            return Ok(m);
        }
        let header = Icmpv4HeaderRepr {
            msg_type: Icmpv4Type::TIME_EXCEEDED,
            code: Icmpv4TimeExceededCode::TTL_EXCEEDED.0,
        };
        if self.forward_error(env, m, header, Icmpv4TimeExceededRepr::default()) {
            self.counters.bump(Stat::IcmpTimeExceededOut);
        }
        Err(DropReason::ForwardTtlExceeded)
    }

    /// Sends the datagram in `m` (from its IPv4 header) on by `out` to
    /// `hop`, one hop less: the header written again by its builder,
    /// options kept, its checksum filled.
    fn send_on(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        out: IfId,
        hop: Ipv4Addr,
    ) -> Result<(), DropReason> {
        let (h, _) = Ipv4Header::ref_from_prefix(m.data()).map_err(|_| DropReason::Ipv4TooShort)?;
        let (header, options_len) = (h.repr(), h.ihl_bytes() - Ipv4Header::LEN);
        let hop_less = Ipv4HeaderRepr {
            ttl: header.ttl - 1,
            ..header
        };
        hop_less
            .emit_with_options(m.data_mut(), options_len, ())
            .map_err(|_| DropReason::Ipv4TooShort)?;
        self.counters.bump(Stat::Forwarded);
        self.arp_output(env, m, out, hop);
        Ok(())
    }

    /// Is the datagram in `packet` (from its IPv4 header) one we forward,
    /// not one we sent?
    pub(crate) fn is_forwarded(&self, packet: &[u8]) -> bool {
        self.forwarding
            && Ipv4Header::ref_from_prefix(packet)
                .is_ok_and(|(h, _)| !self.is_local_addr(h.src()) && !is_loopback(h.src()))
    }

    /// A datagram we forwarded (`m`, from its IPv4 header on) waited for
    /// ARP in vain: a host unreachable to its sender.
    pub(crate) fn forward_unreachable(&mut self, env: &mut dyn NetEnv, m: Mbuf) {
        self.unreachable(env, m, Icmpv4UnreachableCode::HOST_UNREACHABLE);
    }

    fn unreachable(&mut self, env: &mut dyn NetEnv, m: Mbuf, code: Icmpv4UnreachableCode) {
        let header = Icmpv4HeaderRepr {
            msg_type: Icmpv4Type::DEST_UNREACHABLE,
            code: code.0,
        };
        if self.forward_error(env, m, header, Icmpv4DestUnreachableRepr::default()) {
            self.counters.bump(Stat::IcmpUnreachOut);
        }
    }

    /// The ICMP error `header` + `body` about the datagram in `m` (window
    /// at its IPv4 header) back to its sender, unless the datagram is an
    /// ICMP error itself or a later fragment. True when it went out.
    fn forward_error<B: Emit<Context = ()>>(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        header: Icmpv4HeaderRepr,
        body: B,
    ) -> bool {
        let Ok((h, rest)) = Ipv4Header::ref_from_prefix(m.data()) else {
            return false;
        };
        let ip = IpMeta {
            src: h.src(),
            dst: h.dst(),
            protocol: h.protocol(),
            header_len: h.ihl_bytes(),
            unicast: true,
            fragment: None,
        };
        let payload = rest.get(ip.header_len - Ipv4Header::LEN..).unwrap_or(&[]);
        let about_error = ipv4_next(ip.protocol) == Ipv4Next::Icmpv4
            && Icmpv4Header::ref_from_prefix(payload).is_ok_and(|(i, _)| {
                i.msg_type() != Icmpv4Type::ECHO_REQUEST && i.msg_type() != Icmpv4Type::ECHO_REPLY
            });
        if about_error || h.fragment_offset() != 0 || m.pull(ip.header_len).is_err() {
            return false;
        }
        self.icmp_error(env, m, &ip, header, body)
    }
}
