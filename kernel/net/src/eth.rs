//! Ethernet II framing (IEEE 802.3): accept frames for our MAC or
//! broadcast, strip the header on receive, push it on transmit. The header's
//! own rules (length, the largest frame) are `EthernetHeader::parse`'s, from
//! `proto-defs/ethernet.toml`.

use wire::dispatch::EthernetNext;
use wire::ethernet::{self as weth, EtherType, EthernetHeader, EthernetHeaderRepr, BROADCAST};

use crate::counters::{DropReason, Stat};
use crate::mbuf::Mbuf;
use crate::route::IfId;
use crate::{MacAddr, NetEnv, Stack};

/// Is `mac` a group (multicast or broadcast) address? IEEE 802 marks those
/// with the I/G bit of the first octet.
pub fn is_group(mac: &MacAddr) -> bool {
    mac[0] & weth::GROUP_BIT != 0
}

impl Stack {
    /// Validates the Ethernet header and strips it; returns the EtherType
    /// for the dispatcher.
    pub(crate) fn eth_input(&mut self, m: &mut Mbuf) -> Result<EtherType, DropReason> {
        let h = EthernetHeader::parse(m.data())?.header;
        let (dst, src, ethertype) = (h.dst(), h.src(), h.ethertype());
        if dst != self.rx_iface().mac && dst != BROADCAST {
            return Err(DropReason::EthNotForUs);
        }
        if is_group(&src) {
            return Err(DropReason::EthBadSource);
        }
        m.pull(EthernetHeader::LEN)
            .map_err(|_| DropReason::EthTooShort)?;
        Ok(ethertype)
    }

    /// Pushes an Ethernet header from interface `iface` to `dst`, carrying
    /// `next`, and transmits by that interface. A chain (a datagram's IPv4
    /// fragments) is sent as one frame per mbuf.
    pub(crate) fn eth_output(
        &mut self,
        env: &mut dyn NetEnv,
        m: Mbuf,
        iface: IfId,
        dst: MacAddr,
        next: EthernetNext,
    ) {
        let header = EthernetHeaderRepr {
            dst,
            src: self.ifc(iface).mac,
            ethertype: next.ethertype(),
        };
        let mut rest = Some(m);
        while let Some(mut m) = rest {
            rest = m.take_next();
            if m.push_emit(&header, ()).is_err() {
                self.counters.drop(DropReason::TxNoMbuf);
                continue;
            }
            self.transmit(env, iface, m);
        }
    }

    fn transmit(&mut self, env: &mut dyn NetEnv, iface: IfId, m: Mbuf) {
        let n = m.len() as u64;
        match env.transmit(iface, m) {
            Ok(()) => {
                self.counters.bump(Stat::FramesOut);
                self.counters.add(Stat::BytesOut, n);
            }
            Err(_m) => self.counters.drop(DropReason::TxRingFull),
        }
    }
}
