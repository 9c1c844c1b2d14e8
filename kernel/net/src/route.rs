//! Interfaces and routes: a stack has its Ethernet interface (`eth0`, the
//! NIC in the root namespace, the bridge port in a container) and may have
//! a second one, `br0`, on the containers' bridge (the root namespace's
//! side of it). Each has its own MAC and address; ARP entries remember the
//! interface they were learnt on.
//!
//! The route of a destination, in the order a routing table with only
//! connected routes and one default route would give it (RFC 1812 5.2.4.3,
//! longest match first): one of our addresses or the loopback network is
//! local; a broadcast of either subnet leaves by that interface; an address
//! on either subnet is reached directly; anything else goes to the default
//! gateway, which is `eth0`'s.

use crate::ipv4::{is_group, is_loopback, LOOPBACK_ADDR};
use crate::{Iface, Ipv4Addr, MacAddr, Stack};

/// An interface of a stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfId {
    /// The Ethernet interface every stack has.
    Eth0,
    /// The interface on the containers' bridge, when attached.
    Br0,
}

/// Where a packet goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NextHop {
    /// Our own address or the loopback network: loop back.
    Local,
    /// A broadcast address of the interface's subnet: Ethernet broadcast,
    /// no ARP.
    Broadcast(IfId),
    /// An on-link host (the destination or the gateway), via ARP.
    Host(IfId, Ipv4Addr),
}

impl NextHop {
    /// The interface it leaves by (`None`: it does not leave).
    pub(crate) fn iface(self) -> Option<IfId> {
        match self {
            NextHop::Local => None,
            NextHop::Broadcast(i) | NextHop::Host(i, _) => Some(i),
        }
    }
}

impl Stack {
    /// The interface `id`: `eth0` always, `br0` when attached.
    pub fn iface_of(&self, id: IfId) -> Option<&Iface> {
        match id {
            IfId::Eth0 => Some(&self.iface),
            IfId::Br0 => self.bridge.as_ref(),
        }
    }

    /// Attaches `br0` with its own MAC, address and netmask (no gateway:
    /// the default route stays `eth0`'s). Its ARP entries are forgotten.
    pub fn attach_bridge(&mut self, mac: MacAddr, addr: Ipv4Addr, netmask: Ipv4Addr) {
        self.bridge = Some(Iface {
            mac,
            addr,
            netmask,
            gateway: [0; 4],
            dns: [0; 4],
        });
        self.arp_flush();
    }

    /// The interface `id` for sending (`br0` only ever is routed to
    /// when attached; were it not, `eth0`).
    pub(crate) fn ifc(&self, id: IfId) -> &Iface {
        self.iface_of(id).unwrap_or(&self.iface)
    }

    /// The interface the frame being received came in by.
    pub(crate) fn rx_iface(&self) -> &Iface {
        self.ifc(self.rx_if)
    }

    /// Is `ip` one of our addresses (0.0.0.0, unconfigured, is not)?
    pub(crate) fn is_local_addr(&self, ip: Ipv4Addr) -> bool {
        ip != [0; 4] && (ip == self.iface.addr || self.bridge.is_some_and(|b| b.addr == ip))
    }

    /// Where a packet to `dst` goes; `None` when there is no route.
    pub(crate) fn route(&self, dst: Ipv4Addr) -> Option<NextHop> {
        if self.is_local_addr(dst) || is_loopback(dst) {
            return Some(NextHop::Local);
        }
        let ifaces = [(IfId::Eth0, Some(self.iface)), (IfId::Br0, self.bridge)];
        let attached = ifaces.iter().filter_map(|&(id, i)| i.map(|i| (id, i)));
        for (id, i) in attached.clone() {
            if i.is_broadcast(dst) && dst != crate::ipv4::BROADCAST {
                return Some(NextHop::Broadcast(id));
            }
        }
        if dst == crate::ipv4::BROADCAST {
            return Some(NextHop::Broadcast(IfId::Eth0));
        }
        if is_group(dst) || dst == [0; 4] {
            return None;
        }
        for (id, i) in attached {
            if i.on_link(dst) {
                return Some(NextHop::Host(id, dst));
            }
        }
        let i = &self.iface;
        (i.gateway != [0; 4] && i.on_link(i.gateway))
            .then_some(NextHop::Host(IfId::Eth0, i.gateway))
    }

    /// The source address of what we send to `dst` (UDP's and TCP's
    /// checksums cover it too): 127.0.0.1 on the loopback network, the
    /// address itself when it is ours, else that of the interface the
    /// route leaves by.
    pub(crate) fn source_for(&self, dst: Ipv4Addr) -> Ipv4Addr {
        if is_loopback(dst) {
            return LOOPBACK_ADDR;
        }
        if self.is_local_addr(dst) {
            return dst;
        }
        match self.route(dst).and_then(NextHop::iface) {
            Some(id) => self.ifc(id).addr,
            None => self.iface.addr,
        }
    }
}
