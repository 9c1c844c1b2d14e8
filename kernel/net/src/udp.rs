//! UDP (RFC 768): checking received datagrams and delivering them to
//! sockets; building datagrams for `sendto`.
//!
//! Receive: `UdpHeader::parse` checks the length field (at least the header,
//! at most what IP carried; anything after it is cut off, so nothing past
//! the datagram is ever handed out) and a non-zero checksum (zero means the
//! sender computed none), as `proto-defs/udp.toml` says. A datagram for a port nobody has bound draws an
//! ICMP port unreachable (RFC 1122 4.1.3.1), unless it was broadcast. The
//! datagram is queued on its socket in the same mbuf, the window moved onto
//! the payload.
//!
//! Send: the generated builder writes the header, its length and checksum
//! (always computed; a computed zero goes out as 0xffff) filled from the
//! spec. A datagram longer than one frame comes as a chain of mbufs, cut
//! where its IPv4 fragments will be cut ([`FIRST_PIECE`], then
//! [`FRAGMENT_ROOM`](crate::ipv4::FRAGMENT_ROOM) each); the header's length
//! and checksum cover them all.
//!
//! A datagram reassembled from fragments arrives as such a chain and is
//! checked across its pieces (`UdpHeader::parse_pieces`).

use wire::dhcp::DhcpPort;
use wire::dispatch::Ipv4Next;
use wire::emit::{Ipv4PseudoHeader, MessageTail};
use wire::udp::{UdpHeader, UdpHeaderRepr};

use crate::counters::{DropReason, Stat};
use crate::ipv4::IpMeta;
use crate::mbuf::Mbuf;
use crate::socket::SocketKind;
use crate::{Ipv4Addr, NetEnv, Stack};

pub const HEADER_LEN: usize = UdpHeader::LEN;
/// The longest payload a datagram can carry: what an IPv4 datagram holds
/// after our header and this one (65,507 bytes).
pub const MAX_PAYLOAD: usize = crate::ipv4::MAX_PAYLOAD - HEADER_LEN;
/// The payload of the first mbuf of a datagram sent as fragments: the
/// first fragment carries this header too.
pub const FIRST_PIECE: usize = crate::ipv4::FRAGMENT_ROOM - HEADER_LEN;

/// Is the payload in `m` cut where its fragments will be: one mbuf of at
/// most [`FIRST_PIECE`] bytes, or a chain whose first mbuf holds exactly
/// [`FIRST_PIECE`] and every other but the last exactly
/// [`FRAGMENT_ROOM`](crate::ipv4::FRAGMENT_ROOM)? [`piece_len`] cuts so.
pub fn cut_for_fragments(m: &Mbuf) -> bool {
    let mut pieces = m.pieces().peekable();
    let mut k = 0;
    while let Some(p) = pieces.next() {
        let last = pieces.peek().is_none();
        if (last && p.len() > piece_len(k)) || (!last && p.len() != piece_len(k)) {
            return false;
        }
        k += 1;
    }
    true
}

/// How many payload bytes the `k`th mbuf of a datagram's chain holds
/// (all but the last; the last holds what is left, at most this).
pub const fn piece_len(k: usize) -> usize {
    if k == 0 {
        FIRST_PIECE
    } else {
        crate::ipv4::FRAGMENT_ROOM
    }
}

impl Stack {
    /// Handles a received datagram (the window starts at the UDP header).
    pub(crate) fn udp_input(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        ip: &IpMeta,
    ) -> Result<(), DropReason> {
        // A datagram reassembled from fragments is checked across its pieces.
        let p = if m.is_chained() {
            UdpHeader::parse_pieces(m.data(), m.pieces().skip(1), ip.src, ip.dst)?
        } else {
            UdpHeader::parse(m.data(), ip.src, ip.dst)?
        };
        let (len, sport, dport) = (
            usize::from(p.header.length()),
            p.header.src_port(),
            p.header.dst_port(),
        );
        m.trim(len);
        self.counters.bump(Stat::UdpIn);
        // A server's reply to the DHCP client, while it runs.
        if (sport, dport) == (DhcpPort::SERVER.0, DhcpPort::CLIENT.0) && self.dhcp.running() {
            m.pull(HEADER_LEN).map_err(|_| DropReason::UdpTooShort)?;
            return self.dhcp_input(env, m);
        }
        let Some(id) = self
            .sockets
            .find(SocketKind::Udp, (ip.dst, dport), (ip.src, sport))
        else {
            if ip.unicast {
                self.icmp_port_unreachable(env, m, ip);
            }
            return Err(DropReason::UdpNoSocket);
        };
        m.pull(HEADER_LEN).map_err(|_| DropReason::UdpTooShort)?;
        self.deliver(env, id, m, (ip.src, sport))
    }

    /// Sends the payload in `m` from our `sport` to `to`. A chain longer
    /// than the MTU goes out as IPv4 fragments, one per mbuf: its first
    /// mbuf holds at most [`FIRST_PIECE`] bytes, each other but the last
    /// exactly [`FRAGMENT_ROOM`](crate::ipv4::FRAGMENT_ROOM).
    pub(crate) fn udp_output(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        sport: u16,
        to: (Ipv4Addr, u16),
    ) {
        let header = UdpHeaderRepr {
            src_port: sport,
            dst_port: to.1,
        };
        // The header's length and checksum cover the whole chain.
        let pseudo = Ipv4PseudoHeader {
            tail: MessageTail::of(m.pieces().skip(1)),
            ..Ipv4PseudoHeader::new(self.source_for(to.0), to.0)
        };
        if m.push_emit(&header, pseudo).is_err() {
            self.counters.drop(DropReason::TxNoMbuf);
            return;
        }
        self.counters.bump(Stat::UdpOut);
        self.ipv4_output(env, m, Ipv4Next::Udp, to.0);
    }
}
