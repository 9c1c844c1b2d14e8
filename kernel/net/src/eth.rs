//! Ethernet II framing (IEEE 802.3): accept frames for our MAC or
//! broadcast, strip the header on receive, push it on transmit. The header's
//! own rules (length, the largest frame) are `EthernetHeader::parse`'s, from
//! `proto-defs/ethernet.toml`.

use wire::ethernet::{EtherType, EthernetHeader, BROADCAST};

use crate::counters::{DropReason, Stat};
use crate::mbuf::Mbuf;
use crate::{MacAddr, NetEnv, Stack};

/// Is `mac` a group (multicast or broadcast) address? IEEE 802 marks those
/// with the I/G bit, the least significant bit of the first octet.
pub fn is_group(mac: &MacAddr) -> bool {
    const IG_BIT: u8 = 0x01;
    mac[0] & IG_BIT != 0
}

impl Stack {
    /// Validates the Ethernet header and strips it; returns the EtherType
    /// for the dispatcher.
    pub(crate) fn eth_input(&mut self, mut m: Mbuf) -> Result<(Mbuf, EtherType), DropReason> {
        let h = EthernetHeader::parse(m.data())?.header;
        let (dst, src, ethertype) = (h.dst(), h.src(), h.ethertype());
        if dst != self.iface.mac && dst != BROADCAST {
            return Err(DropReason::EthNotForUs);
        }
        if is_group(&src) {
            return Err(DropReason::EthBadSource);
        }
        m.pull(EthernetHeader::LEN)
            .map_err(|_| DropReason::EthTooShort)?;
        Ok((m, ethertype))
    }

    /// Pushes an Ethernet header from us to `dst` and transmits.
    pub(crate) fn eth_output(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        dst: MacAddr,
        ethertype: EtherType,
    ) {
        let src = self.iface.mac;
        let Ok(h) = m.push_header::<EthernetHeader>() else {
            self.counters.drop(DropReason::TxNoMbuf);
            return;
        };
        h.set_dst(dst);
        h.set_src(src);
        h.set_ethertype(ethertype);
        self.transmit(env, m);
    }

    fn transmit(&mut self, env: &mut dyn NetEnv, m: Mbuf) {
        let n = m.len() as u64;
        match env.transmit(m) {
            Ok(()) => {
                self.counters.bump(Stat::FramesOut);
                self.counters.add(Stat::BytesOut, n);
            }
            Err(_m) => self.counters.drop(DropReason::TxRingFull),
        }
    }
}
