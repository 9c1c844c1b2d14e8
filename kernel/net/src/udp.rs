//! UDP (RFC 768): checking received datagrams and delivering them to
//! sockets; building datagrams for `sendto`.
//!
//! Receive: the length field must be at least the header and at most what
//! IP carried (anything after it is cut off, so nothing past the datagram
//! is ever handed out); a non-zero checksum must verify (zero means the
//! sender computed none). A datagram for a port nobody has bound draws an
//! ICMP port unreachable (RFC 1122 4.1.3.1), unless it was broadcast. The
//! datagram is queued on its socket in the same mbuf, the window moved onto
//! the payload.
//!
//! Send: the checksum is always computed (a computed zero goes out as
//! 0xffff, which `wire::udp::fill_checksum` takes care of).

use wire::ipv4::IpProtocol;
use wire::udp::{self as wudp, UdpHeader};
use zerocopy::FromBytes;

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
        let (h, _) = UdpHeader::ref_from_prefix(m.data()).map_err(|_| DropReason::UdpTooShort)?;
        let len = h.length() as usize;
        if len < HEADER_LEN || len > m.len() {
            return Err(DropReason::UdpBadLength);
        }
        let (sport, dport) = (h.src_port(), h.dst_port());
        m.trim(len);
        if !wudp::checksum_ok(ip.src, ip.dst, m.data()) {
            return Err(DropReason::UdpBadChecksum);
        }
        self.counters.bump(Stat::UdpIn);
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
        let len = m.len() + HEADER_LEN;
        let src = self.source_for(to.0);
        let Ok(h) = m.push_header::<UdpHeader>() else {
            self.counters.drop(DropReason::TxNoMbuf);
            return;
        };
        h.set_src_port(sport);
        h.set_dst_port(to.1);
        h.set_length(len as u16);
        wudp::fill_checksum(src, to.0, m.data_mut());
        self.counters.bump(Stat::UdpOut);
        self.ipv4_output(env, m, IpProtocol::UDP, to.0);
    }
}
