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
//! spec.

use wire::dhcp::DhcpPort;
use wire::dispatch::Ipv4Next;
use wire::emit::Ipv4PseudoHeader;
use wire::udp::{UdpHeader, UdpHeaderRepr};

use crate::counters::{DropReason, Stat};
use crate::ipv4::IpMeta;
use crate::mbuf::Mbuf;
use crate::socket::SocketKind;
use crate::{Ipv4Addr, NetEnv, Stack};

pub const HEADER_LEN: usize = UdpHeader::LEN;

impl Stack {
    /// Handles a received datagram (the window starts at the UDP header).
    pub(crate) fn udp_input(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        ip: &IpMeta,
    ) -> Result<(), DropReason> {
        let p = UdpHeader::parse(m.data(), ip.src, ip.dst)?;
        let (len, sport, dport) = (p.message.len(), p.header.src_port(), p.header.dst_port());
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

    /// Sends the payload in `m` from our `sport` to `to`.
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
        let pseudo = Ipv4PseudoHeader {
            src: self.source_for(to.0),
            dst: to.0,
        };
        if m.push_emit(&header, pseudo).is_err() {
            self.counters.drop(DropReason::TxNoMbuf);
            return;
        }
        self.counters.bump(Stat::UdpOut);
        self.ipv4_output(env, m, Ipv4Next::Udp, to.0);
    }
}
