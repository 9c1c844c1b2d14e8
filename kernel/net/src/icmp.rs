//! ICMPv4 (RFC 792): echo replies, the errors we send (port and protocol
//! unreachable, reassembly time exceeded), errors received, echo sockets.
//!
//! - An echo request to our address is answered in its own mbuf: the
//!   generated builder rewrites the ICMP header as an echo reply (checksum
//!   redone) and a fresh IPv4 header is pushed back in front (zero copy).
//!   Echo requests to a broadcast address are ignored, as Linux does by
//!   default.
//! - A message reassembled from IPv4 fragments arrives as a chain of the
//!   fragments' mbufs; its checksum is checked across the pieces
//!   (`Icmpv4Header::parse_pieces`). An echo request so received is
//!   answered in that same chain: the header rewritten in the first piece,
//!   the checksum summed over all of them, and each piece goes back out
//!   as one fragment (every piece but the last holds a whole number of
//!   8-byte units, as it came). A reply of the same size, nothing copied.
//! - A UDP datagram to a closed port is turned, in its own mbuf, into a
//!   destination unreachable / port unreachable quoting the IP header and
//!   the first 8 bytes of the datagram; a datagram of an unknown protocol
//!   into a protocol unreachable; the first fragment of a datagram whose
//!   reassembly timed out into a time exceeded (code 1), unless that
//!   datagram is itself an ICMP error (RFC 1122 3.2.2). These go out at most
//!   [`UNREACH_BURST`] at once and then one per [`UNREACH_REFILL_MS`]
//!   (a token bucket, RFC 1812 4.3.2.8); the rest are counted.
//! - A port (or protocol) unreachable quoting a datagram from a connected
//!   UDP socket sets ECONNREFUSED (ENOPROTOOPT) on it, as Linux does; one
//!   quoting the SYN of a connect in SYN-SENT fails it with ECONNREFUSED.
//! - Echo sockets: `sendto` takes an echo request (type, code, checksum,
//!   identifier, sequence, data); the stack puts the socket's identifier in
//!   and fills the checksum. A request longer than one frame comes as a
//!   chain cut where its fragments will be ([`cut_for_fragments`]). Echo
//!   replies are queued, ICMP header and all, on the socket with that
//!   identifier.

use abi::Errno;
use wire::dispatch::{ipv4_next, Ipv4Next};
use wire::emit::MessageTail;
use wire::icmpv4::{
    self as wicmp, Icmpv4DestUnreachable, Icmpv4DestUnreachableRepr, Icmpv4Echo, Icmpv4EchoRepr,
    Icmpv4Header, Icmpv4HeaderRepr, Icmpv4TimeExceededCode, Icmpv4TimeExceededRepr, Icmpv4Type,
    Icmpv4UnreachableCode,
};
use wire::ipv4::Ipv4Header;
use wire::tcp::TcpHeader;
use wire::udp::UdpHeader;
use wire::Emit;
use zerocopy::FromBytes;

use crate::counters::{DropReason, Stat};
use crate::ipv4::{IpMeta, FRAGMENT_ROOM};
use crate::mbuf::Mbuf;
use crate::socket::SocketKind;
use crate::tcp::TcpState;
use crate::{Ipv4Addr, NetEnv, Stack};

/// Port unreachables that may go out back to back.
pub const UNREACH_BURST: u32 = 10;
/// One more token every this many ms (10 per second).
pub const UNREACH_REFILL_MS: u64 = 100;
/// An ICMP error quotes the IP header and "the first 64 bits of the
/// original datagram's data" (RFC 792).
const QUOTED_DATA: usize = wicmp::ERROR_QUOTED_DATA as usize;

/// A token bucket for rate-limiting ICMP errors.
pub struct TokenBucket {
    tokens: u32,
    last_ms: u64,
}

impl TokenBucket {
    pub const fn new() -> Self {
        TokenBucket {
            tokens: UNREACH_BURST,
            last_ms: 0,
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now_ms: u64) -> bool {
        let add = now_ms.saturating_sub(self.last_ms) / UNREACH_REFILL_MS;
        if add > 0 {
            self.tokens = (self.tokens as u64 + add).min(UNREACH_BURST as u64) as u32;
            self.last_ms += add * UNREACH_REFILL_MS;
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

impl Default for TokenBucket {
    fn default() -> Self {
        Self::new()
    }
}

/// For `map_err`: the message ended before a header it needs.
fn too_short<E>(_: E) -> DropReason {
    DropReason::IcmpTooShort
}

/// Is the echo request in `m` cut where its IPv4 fragments will be: one
/// mbuf of at most [`FRAGMENT_ROOM`] bytes, or a chain whose every mbuf
/// but the last holds exactly that (the ICMP header is in the first)?
pub fn cut_for_fragments(m: &Mbuf) -> bool {
    let mut pieces = m.pieces().peekable();
    while let Some(p) = pieces.next() {
        let last = pieces.peek().is_none();
        if p.len() > FRAGMENT_ROOM || (!last && p.len() != FRAGMENT_ROOM) {
            return false;
        }
    }
    true
}

/// Puts the checksum of the ICMP message in the chain `m` (window at its
/// header, the checksum the builder wrote summing this piece only) over
/// every piece. Nothing to do for an mbuf alone.
fn checksum_over_chain(m: &mut Mbuf) {
    if m.is_chained() {
        let tail = MessageTail::of(m.pieces().skip(1));
        wicmp::fill_checksum_with_tail(m.data_mut(), tail);
    }
}

impl Stack {
    /// Handles a received ICMP message (the window starts at its header).
    pub(crate) fn icmp_input(
        &mut self,
        env: &mut dyn NetEnv,
        m: Mbuf,
        ip: &IpMeta,
    ) -> Result<(), DropReason> {
        // A message reassembled from fragments is checked across its pieces.
        let p = if m.is_chained() {
            Icmpv4Header::parse_pieces(m.data(), m.pieces().skip(1))?
        } else {
            Icmpv4Header::parse(m.data())?
        };
        let msg_type = p.header.msg_type();
        if msg_type == Icmpv4Type::DEST_UNREACHABLE {
            Icmpv4DestUnreachable::parse(p.payload)?;
        } else if msg_type == Icmpv4Type::ECHO_REQUEST || msg_type == Icmpv4Type::ECHO_REPLY {
            Icmpv4Echo::parse(p.payload)?;
        } else {
            return Err(DropReason::IcmpUnsupported);
        }

        if msg_type == Icmpv4Type::ECHO_REQUEST {
            if !ip.unicast {
                return Err(DropReason::IcmpBroadcastEcho);
            }
            self.counters.bump(Stat::IcmpEchoRequestsIn);
            self.icmp_echo_reply(env, m, ip)
        } else if msg_type == Icmpv4Type::ECHO_REPLY {
            self.counters.bump(Stat::IcmpEchoRepliesIn);
            let (_, rest) =
                Icmpv4Header::ref_from_prefix(m.data()).map_err(|_| DropReason::IcmpTooShort)?;
            let (echo, _) =
                Icmpv4Echo::ref_from_prefix(rest).map_err(|_| DropReason::IcmpTooShort)?;
            let ident = echo.identifier();
            let sock = self
                .sockets
                .find(SocketKind::Icmp, (ip.dst, ident), (ip.src, 0))
                .ok_or(DropReason::IcmpNoSocket)?;
            self.deliver(env, sock, m, (ip.src, 0))
        } else {
            self.icmp_unreachable_input(env, &m)
        }
    }

    /// A destination unreachable arrived, quoting a packet we sent. As on
    /// Linux, only the hard errors reach a socket (RFC 1122 3.2.2.1, 4.2.3.9):
    /// a port unreachable (`ECONNREFUSED`) or protocol unreachable
    /// (`ENOPROTOOPT`) is set on the connected UDP socket that sent the
    /// datagram, and fails a TCP connect still in SYN-SENT whose SYN it
    /// quotes (`ECONNREFUSED`). Net and host unreachables are soft: TCP's
    /// retries and ARP decide.
    fn icmp_unreachable_input(&mut self, env: &mut dyn NetEnv, m: &Mbuf) -> Result<(), DropReason> {
        let (h, rest) = Icmpv4Header::ref_from_prefix(m.data()).map_err(too_short)?;
        let (_, quoted) = Icmpv4DestUnreachable::ref_from_prefix(rest).map_err(too_short)?;
        // The quoted header is held to its spec as far as it is quoted.
        let inner = Ipv4Header::parse_prefix(quoted).map_err(too_short)?;
        let (inner, after) = (inner.header, inner.payload);
        self.counters.bump(Stat::IcmpUnreachIn);
        let error = match Icmpv4UnreachableCode(h.code()) {
            Icmpv4UnreachableCode::PORT_UNREACHABLE => Errno::ECONNREFUSED,
            Icmpv4UnreachableCode::PROTOCOL_UNREACHABLE => Errno::ENOPROTOOPT,
            _ => return Ok(()),
        };
        if !self.is_local_addr(inner.src()) && !crate::ipv4::is_loopback(inner.src()) {
            return Ok(());
        }
        match ipv4_next(inner.protocol()) {
            Ipv4Next::Udp => {
                let (udp, _) = UdpHeader::ref_from_prefix(after).map_err(too_short)?;
                let remote = (inner.dst(), udp.dst_port());
                if let Some(id) = self.sockets.find_connected(udp.src_port(), remote) {
                    self.sockets.set_error(id, error);
                    self.wake(env, id);
                }
            }
            Ipv4Next::Tcp if error == Errno::ECONNREFUSED => {
                // The 8 bytes quoted hold the ports and the sequence number:
                // read them in a header whose other fields are zero.
                let quoted = after.get(..QUOTED_DATA).ok_or(DropReason::IcmpTooShort)?;
                let mut header = [0u8; TcpHeader::LEN];
                header[..QUOTED_DATA].copy_from_slice(quoted);
                let (tcp, _) = TcpHeader::ref_from_prefix(&header).map_err(too_short)?;
                let local = (inner.src(), tcp.src_port());
                let remote = (inner.dst(), tcp.dst_port());
                if let Some(c) = self.tcp.find(local, remote) {
                    let t = &self.tcp.conns[c];
                    if t.state == TcpState::SynSent && t.remote == remote && t.iss.0 == tcp.seq() {
                        self.tcp_fail(env, c, Errno::ECONNREFUSED);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Turns the echo request in `m` (window at its ICMP header, `ip` its
    /// IPv4 header) into our reply, in place: identifier, sequence and data
    /// stay, the header becomes an echo reply (code 0, RFC 792). A request
    /// reassembled from fragments is answered in its chain, sent as
    /// fragments again.
    fn icmp_echo_reply(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        ip: &IpMeta,
    ) -> Result<(), DropReason> {
        let reply = Icmpv4HeaderRepr {
            msg_type: Icmpv4Type::ECHO_REPLY,
            ..Icmpv4HeaderRepr::default()
        };
        reply
            .emit(m.data_mut(), ())
            .map_err(|_| DropReason::IcmpTooShort)?;
        checksum_over_chain(&mut m);
        self.counters.bump(Stat::IcmpEchoRepliesOut);
        self.ipv4_output(env, m, Ipv4Next::Icmpv4, ip.src);
        Ok(())
    }

    /// A packet we sent (`packet`, from its IPv4 header on) cannot reach
    /// its next hop: ARP got no answer. Report EHOSTUNREACH to the socket
    /// that sent it, as a host unreachable would (RFC 1122 3.2.2.1): an
    /// echo socket (ping says "Destination Host Unreachable"), or a
    /// connected UDP socket. Unconnected UDP sockets hear nothing, as on
    /// Linux.
    pub(crate) fn host_unreachable(&mut self, env: &mut dyn NetEnv, packet: &[u8]) {
        let Ok((ip, _)) = Ipv4Header::ref_from_prefix(packet) else {
            return;
        };
        let Some(payload) = packet.get(ip.ihl_bytes()..) else {
            return;
        };
        let (src, dst) = (ip.src(), ip.dst());
        let sock = match ipv4_next(ip.protocol()) {
            Ipv4Next::Udp => UdpHeader::ref_from_prefix(payload).ok().and_then(|(u, _)| {
                self.sockets
                    .find_connected(u.src_port(), (dst, u.dst_port()))
            }),
            Ipv4Next::Icmpv4 => Icmpv4Header::ref_from_prefix(payload)
                .ok()
                .filter(|(h, _)| h.msg_type() == Icmpv4Type::ECHO_REQUEST)
                .and_then(|(_, rest)| Icmpv4Echo::ref_from_prefix(rest).ok())
                .and_then(|(echo, _)| {
                    self.sockets
                        .find(SocketKind::Icmp, (src, echo.identifier()), (dst, 0))
                }),
            // A soft error for TCP (RFC 1122 4.2.3.9): its retransmission
            // timer decides when the connection fails.
            Ipv4Next::Tcp | Ipv4Next::Unknown(_) => None,
        };
        if let Some(id) = sock {
            self.sockets.set_error(id, Errno::EHOSTUNREACH);
            self.wake(env, id);
        }
    }

    /// Turns the datagram in `m` (window at the UDP header, `ip` its IPv4
    /// header) into a port unreachable back to its sender, rate-limited.
    pub(crate) fn icmp_port_unreachable(&mut self, env: &mut dyn NetEnv, m: Mbuf, ip: &IpMeta) {
        let header = Icmpv4HeaderRepr {
            msg_type: Icmpv4Type::DEST_UNREACHABLE,
            code: Icmpv4UnreachableCode::PORT_UNREACHABLE.0,
        };
        if self.icmp_error(env, m, ip, header, Icmpv4DestUnreachableRepr::default()) {
            self.counters.bump(Stat::IcmpUnreachOut);
        }
    }

    /// The datagram in `m` (window past its IPv4 header) carries a
    /// protocol we do not speak: a protocol unreachable back to its sender
    /// (RFC 1122 3.2.2.1), rate-limited.
    pub(crate) fn icmp_protocol_unreachable(&mut self, env: &mut dyn NetEnv, m: Mbuf, ip: &IpMeta) {
        let header = Icmpv4HeaderRepr {
            msg_type: Icmpv4Type::DEST_UNREACHABLE,
            code: Icmpv4UnreachableCode::PROTOCOL_UNREACHABLE.0,
        };
        if self.icmp_error(env, m, ip, header, Icmpv4DestUnreachableRepr::default()) {
            self.counters.bump(Stat::IcmpUnreachOut);
        }
    }

    /// A datagram whose fragments did not all come in time: a time
    /// exceeded, fragment reassembly, back to its sender in its first
    /// fragment `m` (RFC 792; RFC 1122 3.3.2), rate-limited. Not when that
    /// datagram is an ICMP error itself (RFC 1122 3.2.2: no error about an
    /// error): only an echo may draw one.
    pub(crate) fn icmp_reassembly_timeout(&mut self, env: &mut dyn NetEnv, m: Mbuf, ip: &IpMeta) {
        if ipv4_next(ip.protocol) == Ipv4Next::Icmpv4 {
            let query = Icmpv4Header::ref_from_prefix(m.data()).is_ok_and(|(h, _)| {
                let t = h.msg_type();
                t == Icmpv4Type::ECHO_REQUEST || t == Icmpv4Type::ECHO_REPLY
            });
            if !query {
                return;
            }
        }
        let header = Icmpv4HeaderRepr {
            msg_type: Icmpv4Type::TIME_EXCEEDED,
            code: Icmpv4TimeExceededCode::FRAGMENT_REASSEMBLY.0,
        };
        if self.icmp_error(env, m, ip, header, Icmpv4TimeExceededRepr::default()) {
            self.counters.bump(Stat::IcmpTimeExceededOut);
        }
    }

    /// Turns the packet in `m` (window past its IPv4 header `ip`) into the
    /// ICMP error `header` + `body` quoting that header and the first 8
    /// bytes after it, and sends it back, if the rate limit lets it (else
    /// counted). True when it went out.
    pub(crate) fn icmp_error<B: Emit<Context = ()>>(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        ip: &IpMeta,
        header: Icmpv4HeaderRepr,
        body: B,
    ) -> bool {
        if !self.unreach_limit.take(env.now_ms()) {
            self.counters.drop(DropReason::IcmpRateLimited);
            return false;
        }
        if m.is_shared() || m.unpull(ip.header_len).is_err() {
            return false;
        }
        m.trim(ip.header_len + QUOTED_DATA);
        // The body first, then the header whose checksum covers it.
        if m.push_emit(&body, ()).is_err() || m.push_emit(&header, ()).is_err() {
            self.counters.drop(DropReason::TxNoMbuf);
            return false;
        }
        self.ipv4_output(env, m, Ipv4Next::Icmpv4, ip.src);
        true
    }

    /// Sends the echo request in `m` from an echo socket with identifier
    /// `ident`: one mbuf of at most a frame's payload, or a chain cut as
    /// [`cut_for_fragments`] says, sent as fragments.
    pub(crate) fn icmp_send_echo(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        ident: u16,
        dst: Ipv4Addr,
    ) -> Result<(), Errno> {
        if !cut_for_fragments(&m) {
            return Err(Errno::EMSGSIZE);
        }
        let (h, rest) = Icmpv4Header::ref_from_prefix(m.data()).map_err(|_| Errno::EINVAL)?;
        if h.msg_type() != Icmpv4Type::ECHO_REQUEST {
            return Err(Errno::EINVAL);
        }
        let header = h.repr();
        let (echo, _) = Icmpv4Echo::ref_from_prefix(rest).map_err(|_| Errno::EINVAL)?;
        let body = Icmpv4EchoRepr {
            identifier: ident,
            ..echo.repr()
        };
        // Rewrite the body in place, then the header (its checksum last).
        m.pull(Icmpv4Header::LEN).map_err(|_| Errno::EINVAL)?;
        body.emit(m.data_mut(), ()).map_err(|_| Errno::EINVAL)?;
        m.push_emit(&header, ()).map_err(|_| Errno::EINVAL)?;
        checksum_over_chain(&mut m);
        self.counters.bump(Stat::IcmpEchoRequestsOut);
        self.ipv4_output(env, m, Ipv4Next::Icmpv4, dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_bursts_then_refills() {
        let mut b = TokenBucket::new();
        let t0 = 5_000;
        let burst = (0..100).filter(|_| b.take(t0)).count();
        assert_eq!(burst, UNREACH_BURST as usize);
        assert!(!b.take(t0 + UNREACH_REFILL_MS - 1));
        assert!(b.take(t0 + UNREACH_REFILL_MS));
        assert!(!b.take(t0 + UNREACH_REFILL_MS));
        // A long pause refills only up to the burst.
        let later = t0 + 1_000 * UNREACH_REFILL_MS;
        assert_eq!(
            (0..100).filter(|_| b.take(later)).count(),
            UNREACH_BURST as usize
        );
    }
}
