//! The receive path's demultiplexer: Ethernet → (ARP | IPv4) → (ICMP |
//! TCP | UDP), driven by the generated next-layer tables in `wire::dispatch`.
//! Each layer's `input` validates and strips its own header; this file only
//! routes the mbuf between them and counts why a frame was dropped.

use wire::dispatch::{ethernet_next, ipv4_next, EthernetNext, Ipv4Next};

use crate::counters::{DropReason, Stat};
use crate::ipv4::IpMeta;
use crate::mbuf::Mbuf;
use crate::route::IfId;
use crate::{NetEnv, Stack};

impl Stack {
    /// A frame arrived from the device (the window holds the Ethernet
    /// frame, the virtio-net header already pulled). The stack keeps or
    /// frees the mbuf; a dropped frame is counted under its reason.
    pub fn input(&mut self, env: &mut dyn NetEnv, m: Mbuf) {
        self.input_from(env, IfId::Eth0, m);
    }

    /// [`Stack::input`] for a frame that came in by interface `iface`.
    pub fn input_from(&mut self, env: &mut dyn NetEnv, iface: IfId, m: Mbuf) {
        self.counters.bump(Stat::FramesIn);
        self.counters.add(Stat::BytesIn, m.len() as u64);
        self.rx_if = iface;
        self.input_frame(env, m);
        self.rx_if = IfId::Eth0;
        self.flush_loopback(env);
    }

    /// The receive path without the frame counters (loopback enters here).
    /// From here on the bytes count as received (see `Mbuf::copy_out`).
    pub(crate) fn input_frame(&mut self, env: &mut dyn NetEnv, mut m: Mbuf) {
        m.mark_received();
        if let Err(reason) = self.demux(env, m) {
            self.counters.drop(reason);
        }
    }

    fn demux(&mut self, env: &mut dyn NetEnv, mut m: Mbuf) -> Result<(), DropReason> {
        let ethertype = self.eth_input(&mut m)?;
        match ethernet_next(ethertype) {
            EthernetNext::Arp => self.arp_input(env, m),
            EthernetNext::Ipv4 => {
                let Some(mut m) = self.ipv4_forward(env, m)? else {
                    return Ok(());
                };
                let ip = self.ipv4_input(&mut m)?;
                // A fragment waits for the rest of its datagram. (A whole
                // packet's `ip` stays where `ipv4_input` wrote it: moved
                // on as a block, its fields' fresh narrow stores would be
                // read back wide, which stalls the CPU.)
                match ip.fragment {
                    None => self.transport_input(env, m, &ip),
                    Some(f) => match self.reassemble(env, m, ip, f)? {
                        Some((m, ip)) => self.transport_input(env, m, &ip),
                        None => Ok(()),
                    },
                }
            }
            EthernetNext::Unknown(_) => Err(DropReason::EthUnknownType),
        }
    }

    /// An IPv4 packet (or a reassembled datagram) to its protocol.
    #[inline(always)]
    fn transport_input(
        &mut self,
        env: &mut dyn NetEnv,
        m: Mbuf,
        ip: &IpMeta,
    ) -> Result<(), DropReason> {
        match ipv4_next(ip.protocol) {
            Ipv4Next::Icmpv4 => self.icmp_input(env, m, ip),
            Ipv4Next::Tcp => self.tcp_input(env, m, ip),
            Ipv4Next::Udp => self.udp_input(env, m, ip),
            Ipv4Next::Unknown(_) => {
                if ip.unicast {
                    self.icmp_protocol_unreachable(env, m, ip);
                }
                Err(DropReason::Ipv4UnknownProtocol)
            }
        }
    }
}
