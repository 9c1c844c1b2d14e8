//! Network address translation (RFC 3022's NAPT) in the root namespace,
//! between the containers' bridge and `eth0`.
//!
//! - Source NAT: a container's datagram leaving by `eth0` gets our address
//!   and a port (for ICMP echo, an identifier) of [`NAT_PORTS`]; the
//!   connection table remembers `(protocol, inside, remote) ↔ public port`,
//!   so replies to that port from that remote get the container's address
//!   and port back. UDP, TCP and ICMP echo are translated, and the ICMP
//!   errors about those flows both ways (`nat_icmp.rs`); other
//!   protocols, other ICMP messages and fragments (whose ports only the
//!   first one carries) are not, and are counted.
//! - Destination NAT: the kernel publishes `(protocol, host port) →
//!   (container address, port)`; the first datagram from a remote to that
//!   port of our address makes a connection entry, whose replies leave
//!   from the published port.
//! - Hairpin: a container's datagram for a published port of our address
//!   (a neighbour reaching a published service by the address the outside
//!   uses) is translated as if it had left by `eth0` and come straight back
//!   in: source NAT gives it our address and a public port, destination NAT
//!   the published container's, and it goes back onto the bridge. The
//!   server sees the connection come from our address, as from any client
//!   outside, and its replies return the same way (RFC 4787 section 6,
//!   RFC 5508 section 6; Linux's hairpin NAT, Docker's userland proxy).
//!
//! Ports of [`NAT_PORTS`] on our address belong to the translator: a
//! datagram to one with no entry is dropped (`drop_nat_no_mapping`), not
//! delivered. The stack's own sockets take ephemeral ports above it.
//! An entry lives [`UDP_TIMEOUT_MS`] (ICMP too) or [`TCP_TIMEOUT_MS`]
//! after its last datagram; the table holds [`NAT_CONNS`], and a new flow
//! finding it full is dropped (`drop_nat_table_full`).
//!
//! Headers are rewritten by their generated builders, which compute the
//! checksums again (UDP's and TCP's cover the addresses too, in the
//! pseudo-header), after the generated `parse` checked the old ones: a
//! datagram that arrived corrupted is dropped under its protocol's
//! `bad_checksum`, never given a fresh, valid checksum.

use abi::Errno;
use wire::dispatch::{ipv4_next, Ipv4Next};
use wire::emit::Ipv4PseudoHeader;
use wire::icmpv4::{Icmpv4Echo, Icmpv4EchoRepr, Icmpv4Header, Icmpv4Type};
use wire::ipv4::{Ipv4Header, Ipv4HeaderRepr};
use wire::tcp::{TcpHeader, TcpHeaderRepr};
use wire::udp::{UdpHeader, UdpHeaderRepr};
use wire::{Emit, EmitOptions};
use zerocopy::FromBytes;

use crate::counters::{DropReason, Stat};
use crate::mbuf::Mbuf;
use crate::{Ipv4Addr, NetEnv, Stack};

/// Connections translated at once.
pub const NAT_CONNS: usize = 64;
/// Ports that may be published.
pub const NAT_PUBLISHED: usize = 16;
/// The public ports (and ICMP identifiers) of translated flows: below the
/// stack's own ephemeral ports.
pub const NAT_PORTS: core::ops::RangeInclusive<u16> = 32768..=(crate::socket::EPHEMERAL_FIRST - 1);
/// A UDP or ICMP echo flow is forgotten this long after its last datagram.
pub const UDP_TIMEOUT_MS: u64 = 30_000;
/// A TCP flow is forgotten this long after its last segment.
pub const TCP_TIMEOUT_MS: u64 = 300_000;

/// A translated protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatProto {
    Udp,
    Tcp,
    /// ICMP echo: the identifier plays the inside port.
    Icmp,
}

type Endpoint = (Ipv4Addr, u16);

/// A translated flow: `inside` talks with `remote`, which sees it as
/// `public` of our address.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Conn {
    pub(crate) proto: NatProto,
    pub(crate) inside: Endpoint,
    pub(crate) public: u16,
    pub(crate) remote: Endpoint,
    expires_ms: u64,
}

#[derive(Clone, Copy, Debug)]
struct Published {
    proto: NatProto,
    port: u16,
    inside: Endpoint,
}

pub(crate) struct Nat {
    conns: [Option<Conn>; NAT_CONNS],
    published: [Option<Published>; NAT_PUBLISHED],
    next_port: u16,
}

impl Nat {
    pub(crate) const fn new() -> Self {
        Nat {
            conns: [None; NAT_CONNS],
            published: [None; NAT_PUBLISHED],
            next_port: *NAT_PORTS.start(),
        }
    }

    /// The flows whose time is not up.
    pub(crate) fn live(&self, now: u64) -> impl Iterator<Item = &Conn> {
        self.conns
            .iter()
            .flatten()
            .filter(move |c| c.expires_ms > now)
    }

    fn published(&self, proto: NatProto, port: u16) -> Option<&Published> {
        self.published
            .iter()
            .flatten()
            .find(|p| p.proto == proto && p.port == port)
    }

    /// Is `port` of our address published for `proto`?
    pub(crate) fn is_published(&self, proto: NatProto, port: u16) -> bool {
        self.published(proto, port).is_some()
    }

    /// A public port no live flow of `proto` and no published port holds.
    fn free_port(&mut self, proto: NatProto, now: u64) -> Option<u16> {
        let span = usize::from(NAT_PORTS.end() - NAT_PORTS.start()) + 1;
        for _ in 0..span {
            let p = self.next_port;
            self.next_port = if p == *NAT_PORTS.end() {
                *NAT_PORTS.start()
            } else {
                p + 1
            };
            let taken = self.live(now).any(|c| c.proto == proto && c.public == p)
                || self.published(proto, p).is_some();
            if !taken {
                return Some(p);
            }
        }
        None
    }

    /// A new entry; `None` when every slot holds a live flow.
    fn add(&mut self, c: Conn, now: u64) -> Option<Conn> {
        let slot = self
            .conns
            .iter_mut()
            .find(|s| s.is_none_or(|old| old.expires_ms <= now))?;
        *slot = Some(c);
        Some(c)
    }
}

/// A datagram's protocol and ports as the translator sees them; `None`
/// for what it does not translate. An echo request's identifier is its
/// source port, an echo reply's its destination port.
fn ports(packet: &[u8]) -> Option<(NatProto, u16, u16)> {
    let (ip, _) = Ipv4Header::ref_from_prefix(packet).ok()?;
    let l4 = packet.get(ip.ihl_bytes()..)?;
    match ipv4_next(ip.protocol()) {
        Ipv4Next::Udp => {
            let (u, _) = UdpHeader::ref_from_prefix(l4).ok()?;
            Some((NatProto::Udp, u.src_port(), u.dst_port()))
        }
        Ipv4Next::Tcp => {
            let (t, _) = TcpHeader::ref_from_prefix(l4).ok()?;
            Some((NatProto::Tcp, t.src_port(), t.dst_port()))
        }
        Ipv4Next::Icmpv4 => {
            let (h, rest) = Icmpv4Header::ref_from_prefix(l4).ok()?;
            let (echo, _) = Icmpv4Echo::ref_from_prefix(rest).ok()?;
            match h.msg_type() {
                Icmpv4Type::ECHO_REQUEST => Some((NatProto::Icmp, echo.identifier(), 0)),
                Icmpv4Type::ECHO_REPLY => Some((NatProto::Icmp, 0, echo.identifier())),
                _ => None,
            }
        }
        Ipv4Next::Unknown(_) => None,
    }
}

fn is_fragment(packet: &[u8]) -> bool {
    Ipv4Header::ref_from_prefix(packet)
        .is_ok_and(|(h, _)| h.more_fragments() || h.fragment_offset() != 0)
}

/// Which end of the datagram is rewritten.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Src,
    Dst,
}

/// Rewrites one end of the datagram in `packet` (from its IPv4 header,
/// cut to its total length) to `to`: the transport header is checked with
/// its generated `parse` (its checksum with the old addresses) and written
/// again by its builder (the checksum with the new ones), then the IPv4
/// header by its own, options kept.
fn rewrite(packet: &mut [u8], end: End, to: Endpoint) -> Result<(), DropReason> {
    let (h, _) = Ipv4Header::ref_from_prefix(packet).map_err(|_| DropReason::Ipv4TooShort)?;
    let (old, header_len) = (h.repr(), h.ihl_bytes());
    let ip = match end {
        End::Src => Ipv4HeaderRepr { src: to.0, ..old },
        End::Dst => Ipv4HeaderRepr { dst: to.0, ..old },
    };
    let l4 = &mut packet[header_len..];
    let port = |src: u16, dst: u16| match end {
        End::Src => (to.1, dst),
        End::Dst => (src, to.1),
    };
    let pseudo = Ipv4PseudoHeader::new(ip.src, ip.dst);
    match ipv4_next(old.protocol) {
        Ipv4Next::Udp => {
            let u = UdpHeader::parse(l4, old.src, old.dst)?.header;
            let (len, (src_port, dst_port)) =
                (usize::from(u.length()), port(u.src_port(), u.dst_port()));
            let repr = UdpHeaderRepr { src_port, dst_port };
            repr.emit(&mut l4[..len], pseudo)
                .map_err(|_| DropReason::UdpTooShort)?;
        }
        Ipv4Next::Tcp => {
            let t = TcpHeader::parse(l4, old.src, old.dst)?.header;
            let options_len = t.data_offset_bytes() - TcpHeader::LEN;
            let (src_port, dst_port) = port(t.src_port(), t.dst_port());
            let repr = TcpHeaderRepr {
                src_port,
                dst_port,
                ..t.repr()
            };
            repr.emit_with_options(l4, options_len, pseudo)
                .map_err(|_| DropReason::TcpTooShort)?;
        }
        Ipv4Next::Icmpv4 => {
            let p = Icmpv4Header::parse(l4)?;
            let header = p.header.repr();
            let (echo, _) =
                Icmpv4Echo::ref_from_prefix(p.payload).map_err(|_| DropReason::IcmpTooShort)?;
            let body = Icmpv4EchoRepr {
                identifier: to.1,
                ..echo.repr()
            };
            // The body first, then the header whose checksum covers it.
            let rest = l4
                .get_mut(Icmpv4Header::LEN..)
                .ok_or(DropReason::IcmpTooShort)?;
            body.emit(rest, ()).map_err(|_| DropReason::IcmpTooShort)?;
            header.emit(l4, ()).map_err(|_| DropReason::IcmpTooShort)?;
        }
        Ipv4Next::Unknown(_) => return Err(DropReason::NatUnsupported),
    }
    ip.emit_with_options(packet, header_len - Ipv4Header::LEN, ())
        .map_err(|_| DropReason::Ipv4TooShort)
}

impl Stack {
    /// Publishes `port` of our address for `proto` (UDP or TCP): what
    /// arrives there by `eth0` goes to `inside`. EADDRINUSE when the port
    /// is published already, ENOSPC when the table is full, EINVAL for
    /// port 0, ICMP or an address not on the bridge.
    pub fn nat_publish(
        &mut self,
        proto: NatProto,
        port: u16,
        inside: (Ipv4Addr, u16),
    ) -> Result<(), Errno> {
        let on_bridge = self.bridge.is_some_and(|b| {
            b.on_link(inside.0) && !b.is_broadcast(inside.0) && inside.0 != b.addr
        });
        if port == 0 || inside.1 == 0 || proto == NatProto::Icmp || !on_bridge {
            return Err(Errno::EINVAL);
        }
        if self.nat.published(proto, port).is_some() {
            return Err(Errno::EADDRINUSE);
        }
        let slot = self
            .nat
            .published
            .iter_mut()
            .find(|p| p.is_none())
            .ok_or(Errno::ENOSPC)?;
        *slot = Some(Published {
            proto,
            port,
            inside,
        });
        Ok(())
    }

    /// Forgets every published port and translated flow of the container
    /// at `addr` (it is gone).
    pub fn nat_forget(&mut self, addr: Ipv4Addr) {
        for p in self.nat.published.iter_mut() {
            if p.is_some_and(|p| p.inside.0 == addr) {
                *p = None;
            }
        }
        for c in self.nat.conns.iter_mut() {
            if c.is_some_and(|c| c.inside.0 == addr) {
                *c = None;
            }
        }
    }

    /// Frees the entries whose time is up.
    pub(crate) fn nat_tick(&mut self, env: &mut dyn NetEnv) {
        let now = env.now_ms();
        for c in self.nat.conns.iter_mut() {
            if c.is_some_and(|c| c.expires_ms <= now) {
                *c = None;
                self.counters.bump(Stat::NatExpired);
            }
        }
    }

    fn nat_expiry(proto: NatProto, now: u64) -> u64 {
        now + match proto {
            NatProto::Tcp => TCP_TIMEOUT_MS,
            NatProto::Udp | NatProto::Icmp => UDP_TIMEOUT_MS,
        }
    }

    /// A container's datagram in `m` (from its IPv4 header) leaves by
    /// `eth0`: its source becomes our address and its flow's public port.
    pub(crate) fn nat_outbound(
        &mut self,
        env: &mut dyn NetEnv,
        m: &mut Mbuf,
    ) -> Result<(), DropReason> {
        if is_fragment(m.data()) {
            return Err(DropReason::NatPartial);
        }
        if let Some(at) = crate::nat_icmp::error_quote(m.data()) {
            return self.nat_error_outbound(env, m, at);
        }
        let (proto, sport, dport) = ports(m.data()).ok_or(DropReason::NatUnsupported)?;
        let (src, dst) = match Ipv4Header::ref_from_prefix(m.data()) {
            Ok((h, _)) => (h.src(), h.dst()),
            Err(_) => return Err(DropReason::Ipv4TooShort),
        };
        let (inside, remote) = ((src, sport), (dst, dport));
        let now = env.now_ms();
        let found = self.nat.conns.iter_mut().flatten().find(|c| {
            c.expires_ms > now && c.proto == proto && c.inside == inside && c.remote == remote
        });
        let public = match found {
            Some(c) => {
                c.expires_ms = Self::nat_expiry(proto, now);
                c.public
            }
            None => {
                let public = self
                    .nat
                    .free_port(proto, now)
                    .ok_or(DropReason::NatTableFull)?;
                let c = Conn {
                    proto,
                    inside,
                    public,
                    remote,
                    expires_ms: Self::nat_expiry(proto, now),
                };
                self.nat.add(c, now).ok_or(DropReason::NatTableFull)?.public
            }
        };
        let ours = self.iface.addr;
        rewrite(m.data_mut(), End::Src, (ours, public))?;
        self.counters.bump(Stat::NatOut);
        Ok(())
    }

    /// The datagram in `m` (from its IPv4 header), translated on its way
    /// out, cannot be delivered: it gets its container's source back
    /// (header checksum and all), for the ICMP error that quotes it. True
    /// when it was a translated one.
    pub(crate) fn nat_revert(&mut self, env: &mut dyn NetEnv, m: &mut Mbuf) -> bool {
        let Some((proto, sport, dport)) = ports(m.data()) else {
            return false;
        };
        let Ok((h, _)) = Ipv4Header::ref_from_prefix(m.data()) else {
            return false;
        };
        let (src, remote) = (h.src(), (h.dst(), dport));
        let now = env.now_ms();
        let Some(c) = self.nat.live(now).find(|c| {
            src == self.iface.addr && c.proto == proto && c.public == sport && c.remote == remote
        }) else {
            return false;
        };
        let inside = c.inside;
        rewrite(m.data_mut(), End::Src, inside).is_ok()
    }

    /// Does the datagram in `packet` (from its IPv4 header), from a
    /// container on `br0` for our address, turn back onto the bridge: is it
    /// for a published port of `eth0`'s address, or a published
    /// container's reply to a flow that came so?
    ///
    /// An ICMP error there is about a hairpin flow when the datagram it
    /// quotes came to the container so (the error goes back the way
    /// that datagram came, as a reply would).
    pub(crate) fn is_hairpin(&self, env: &mut dyn NetEnv, packet: &[u8]) -> bool {
        if is_fragment(packet) {
            return false;
        }
        let Ok((h, _)) = Ipv4Header::ref_from_prefix(packet) else {
            return false;
        };
        let flow = match crate::nat_icmp::error_quote(packet) {
            // As a reply to the quoted datagram would go, never a new flow.
            Some(at) => crate::nat_icmp::reply_to_quote(&packet[at..]).map(|f| (f, false)),
            None => ports(packet)
                .map(|(proto, sport, dport)| ((proto, (h.src(), sport), (h.dst(), dport)), true)),
        };
        let Some(((proto, src, dst), may_start)) = flow else {
            return false;
        };
        let now = env.now_ms();
        h.dst() == self.iface.addr
            && dst.0 == self.iface.addr
            && ((may_start && self.nat.is_published(proto, dst.1))
                || self
                    .nat
                    .live(now)
                    .any(|c| c.proto == proto && c.inside == src && c.remote == dst))
    }

    /// Translates the hairpin datagram in `m` (from its IPv4 header; see
    /// [`Stack::is_hairpin`]) out and back in: its source becomes our
    /// address and a public port, its destination a container's.
    pub(crate) fn nat_hairpin(
        &mut self,
        env: &mut dyn NetEnv,
        m: &mut Mbuf,
    ) -> Result<(), DropReason> {
        self.nat_outbound(env, m)?;
        if !self.nat_inbound(env, m)? {
            return Err(DropReason::NatNoMapping);
        }
        self.counters.bump(Stat::NatHairpin);
        Ok(())
    }

    /// A datagram in `m` (from its IPv4 header) came by `eth0` for our
    /// address: when it belongs to a translated flow or a published port,
    /// its destination becomes the container's and it is true (to be
    /// forwarded); false when it is ours to receive.
    pub(crate) fn nat_inbound(
        &mut self,
        env: &mut dyn NetEnv,
        m: &mut Mbuf,
    ) -> Result<bool, DropReason> {
        if is_fragment(m.data()) {
            return Ok(false);
        }
        if let Some(at) = crate::nat_icmp::error_quote(m.data()) {
            return self.nat_error_inbound(env, m, at);
        }
        let Some((proto, sport, dport)) = ports(m.data()) else {
            return Ok(false);
        };
        let src = match Ipv4Header::ref_from_prefix(m.data()) {
            Ok((h, _)) => h.src(),
            Err(_) => return Ok(false),
        };
        let remote = (src, sport);
        let now = env.now_ms();
        let published = self.nat.published(proto, dport).copied();
        let found = self.nat.conns.iter_mut().flatten().find(|c| {
            c.expires_ms > now && c.proto == proto && c.public == dport && c.remote == remote
        });
        let inside = match (found, published) {
            (Some(c), _) => {
                c.expires_ms = Self::nat_expiry(proto, now);
                c.inside
            }
            (None, Some(p)) => {
                let c = Conn {
                    proto,
                    inside: p.inside,
                    public: dport,
                    remote,
                    expires_ms: Self::nat_expiry(proto, now),
                };
                self.nat.add(c, now).ok_or(DropReason::NatTableFull)?.inside
            }
            (None, None) if NAT_PORTS.contains(&dport) => return Err(DropReason::NatNoMapping),
            (None, None) => return Ok(false),
        };
        rewrite(m.data_mut(), End::Dst, inside)?;
        self.counters.bump(Stat::NatIn);
        Ok(true)
    }
}
