//! ICMP errors about translated flows (RFC 5508 section 4, RFC 3022
//! section 2.2), as Linux's conntrack translates them.
//!
//! A destination unreachable, time exceeded or parameter problem quotes
//! the datagram it is about. One that came by `eth0` about a datagram a
//! container sent (its quote from our address and a flow's public port)
//! is given back to that container: the quote's source becomes the
//! container's address and port, the error's destination the container's
//! address, and it is forwarded over the bridge, so the container's socket
//! hears of it (a port unreachable is ECONNREFUSED on a connected UDP
//! socket, and fails a TCP connect in SYN-SENT). The other way, a
//! container's error about a datagram it received through the translator
//! leaves from our address, its quote's destination our address and the
//! flow's public port.
//!
//! What is checked first: the error's own checksum and body (its generated
//! `parse`), then the quote (`wire::quote`): an error whose quote the
//! translator cannot read, or that is about no translated flow, is the
//! root namespace's own and goes on to `icmp_input`, as before. One that
//! quotes a translator's port with no live flow is dropped
//! (`drop_nat_icmp_no_mapping`), as is one whose quoted header fails its
//! checksum (`drop_nat_icmp_bad_quote`, RFC 5508 REQ-3). A container's
//! error that cannot be translated never leaves with its address in it.
//!
//! No error is ever sent about one of these: the forwarding path sends
//! none about an ICMP error (`forward.rs`).

use wire::dispatch::{ipv4_next, Ipv4Next};
use wire::icmpv4::{
    Icmpv4DestUnreachable, Icmpv4Header, Icmpv4ParameterProblem, Icmpv4TimeExceeded, Icmpv4Type,
};
use wire::ipv4::{Ipv4Header, Ipv4HeaderRepr};
use wire::quote::{self, End, QuoteError, QuotedFlow};
use wire::{Emit, EmitOptions};
use zerocopy::FromBytes;

use crate::counters::{DropReason, Stat};
use crate::mbuf::Mbuf;
use crate::nat::{NatProto, NAT_PORTS};
use crate::{Ipv4Addr, NetEnv, Stack};
use wire::quote::Endpoint;

/// Where the quote of the ICMP error in `packet` (from its IPv4 header,
/// cut to its total length) starts; `None` when it is no ICMP error, or
/// one whose checksum or body its `parse` refuses (the receive path
/// counts those).
pub(crate) fn error_quote(packet: &[u8]) -> Option<usize> {
    let (ip, _) = Ipv4Header::ref_from_prefix(packet).ok()?;
    if ipv4_next(ip.protocol()) != Ipv4Next::Icmpv4 {
        return None;
    }
    let p = Icmpv4Header::parse(packet.get(ip.ihl_bytes()..)?).ok()?;
    let quote = match p.header.msg_type() {
        Icmpv4Type::DEST_UNREACHABLE => Icmpv4DestUnreachable::parse(p.payload).ok()?.payload,
        Icmpv4Type::TIME_EXCEEDED => Icmpv4TimeExceeded::parse(p.payload).ok()?.payload,
        Icmpv4Type::PARAMETER_PROBLEM => Icmpv4ParameterProblem::parse(p.payload).ok()?.payload,
        _ => return None,
    };
    Some(packet.len() - quote.len())
}

/// The translator's protocol of a quoted flow (`wire::quote::flow` reads
/// no other).
fn nat_proto(f: &QuotedFlow) -> Option<NatProto> {
    match f.protocol {
        Ipv4Next::Udp => Some(NatProto::Udp),
        Ipv4Next::Tcp => Some(NatProto::Tcp),
        Ipv4Next::Icmpv4 => Some(NatProto::Icmp),
        Ipv4Next::Unknown(_) => None,
    }
}

/// The flow of a reply to the datagram `quote` holds: protocol, then its
/// source and destination (the quote's destination and source).
pub(crate) fn reply_to_quote(quote: &[u8]) -> Option<(NatProto, Endpoint, Endpoint)> {
    let f = quote::flow(quote).ok()?;
    Some((nat_proto(&f)?, f.dst, f.src))
}

fn quote_drop(e: QuoteError) -> DropReason {
    match e {
        QuoteError::Malformed | QuoteError::BadChecksum => DropReason::NatIcmpBadQuote,
        QuoteError::Fragment => DropReason::NatPartial,
        QuoteError::Unsupported => DropReason::NatUnsupported,
    }
}

/// Rewrites the ICMP error in `packet` (from its IPv4 header, its quote at
/// `at`): `end` of the quote to `to`, then the ICMP header (its checksum
/// over the new quote) and the outer header's other end (the error goes
/// to, or comes from, the quote's new address), both by their builders.
fn rewrite_error(
    packet: &mut [u8],
    at: usize,
    end: End,
    to: (Ipv4Addr, u16),
) -> Result<(), DropReason> {
    quote::rewrite(&mut packet[at..], end, to).map_err(quote_drop)?;
    let (h, _) = Ipv4Header::ref_from_prefix(packet).map_err(|_| DropReason::Ipv4TooShort)?;
    let (old, header_len) = (h.repr(), h.ihl_bytes());
    let icmp = &mut packet[header_len..];
    let header = Icmpv4Header::ref_from_prefix(icmp)
        .map_err(|_| DropReason::IcmpTooShort)?
        .0
        .repr();
    header
        .emit(icmp, ())
        .map_err(|_| DropReason::IcmpTooShort)?;
    let outer = match end {
        // About what we sent: it goes to the container.
        End::Src => Ipv4HeaderRepr { dst: to.0, ..old },
        // About what the container received: it comes from us.
        End::Dst => Ipv4HeaderRepr { src: to.0, ..old },
    };
    outer
        .emit_with_options(packet, header_len - Ipv4Header::LEN, ())
        .map_err(|_| DropReason::Ipv4TooShort)
}

impl Stack {
    /// The ICMP error in `m` (from its IPv4 header, its quote at `at`)
    /// came by `eth0` for our address: when it is about a datagram a
    /// container sent, it is given back to that container and true (to be
    /// forwarded); false when it is ours to receive.
    pub(crate) fn nat_error_inbound(
        &mut self,
        env: &mut dyn NetEnv,
        m: &mut Mbuf,
        at: usize,
    ) -> Result<bool, DropReason> {
        let Ok(f) = quote::flow(&m.data()[at..]) else {
            return Ok(false);
        };
        let Some(proto) = nat_proto(&f) else {
            return Ok(false);
        };
        if f.src.0 != self.iface.addr {
            return Ok(false);
        }
        let now = env.now_ms();
        let found = self
            .nat
            .live(now)
            .find(|c| c.proto == proto && c.public == f.src.1 && c.remote == f.dst);
        let inside = match found {
            Some(c) => c.inside,
            None if NAT_PORTS.contains(&f.src.1) || self.nat.is_published(proto, f.src.1) => {
                return Err(DropReason::NatIcmpNoMapping)
            }
            None => return Ok(false),
        };
        rewrite_error(m.data_mut(), at, End::Src, inside)?;
        self.counters.bump(Stat::NatIcmpErrorsIn);
        Ok(true)
    }

    /// A container's ICMP error in `m` (from its IPv4 header, its quote at
    /// `at`) leaves by `eth0`: it must be about a datagram the container
    /// received through the translator, and then leaves from our address,
    /// quoting what the sender sent.
    pub(crate) fn nat_error_outbound(
        &mut self,
        env: &mut dyn NetEnv,
        m: &mut Mbuf,
        at: usize,
    ) -> Result<(), DropReason> {
        let f = quote::flow(&m.data()[at..]).map_err(quote_drop)?;
        let proto = nat_proto(&f).ok_or(DropReason::NatUnsupported)?;
        let now = env.now_ms();
        let public = self
            .nat
            .live(now)
            .find(|c| c.proto == proto && c.inside == f.dst && c.remote == f.src)
            .map(|c| c.public)
            .ok_or(DropReason::NatIcmpNoMapping)?;
        rewrite_error(m.data_mut(), at, End::Dst, (self.iface.addr, public))?;
        self.counters.bump(Stat::NatIcmpErrorsOut);
        Ok(())
    }
}
