//! ARP (RFC 826): answering requests for our address, and the cache that
//! maps next-hop IPv4 addresses to MACs for transmit.
//!
//! Cache rules:
//! - An entry is `Pending` while our requests are out: up to
//!   [`ARP_QUEUE`] packets wait in it; the request is resent every
//!   [`ARP_RETRY_MS`] from [`Stack::tick`], and after [`ARP_MAX_REQUESTS`]
//!   unanswered ones the waiting packets are dropped and counted
//!   (`ArpTimeout`), and the sockets that sent them learn EHOSTUNREACH
//!   (`Stack::host_unreachable`).
//! - A reply (or request) from the address resolves a `Pending` entry and
//!   the queued packets go out in order.
//! - A `Resolved` entry lives [`ARP_TTL_MS`], refreshed by traffic from the
//!   same MAC. Nothing overwrites its MAC: a reply nobody asked for
//!   (`ArpUnsolicited`) cannot poison, say, the gateway's entry; after
//!   expiry the address is simply resolved again.
//! - A request for our address from a host we do not know adds it (it is
//!   about to talk to us), as RFC 826 says.
//!
//! The reply to a request is built in the request's own mbuf.

use abi::net::ArpEntry;
use abi::syscall::TICK_HZ;
use abi::Errno;
use wire::arp::{ArpOperation, ArpPacket, ArpPacketRepr};
use wire::dispatch::EthernetNext;
use wire::ethernet::BROADCAST;
use wire::Emit;
use zerocopy::FromBytes;

use crate::counters::{Counters, DropReason, Stat};
use crate::mbuf::{Mbuf, MbufState};
use crate::route::IfId;
use crate::{eth, ipv4, Ipv4Addr, MacAddr, NetEnv, Stack};

/// Cache entries.
pub const ARP_ENTRIES: usize = 32;
/// Packets that may wait for one address.
pub const ARP_QUEUE: usize = 4;
/// Lifetime of a resolved entry.
pub const ARP_TTL_MS: u64 = 60_000;
/// Time between requests for an unresolved address.
pub const ARP_RETRY_MS: u64 = 1_000;
/// Requests sent before giving up.
pub const ARP_MAX_REQUESTS: u8 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Free,
    /// `sent` requests are out; the next is due at `next_ms`.
    Pending {
        sent: u8,
        next_ms: u64,
    },
    Resolved {
        expires_ms: u64,
    },
}

struct Entry {
    /// The interface the address is reached by.
    iface: IfId,
    ip: Ipv4Addr,
    mac: MacAddr,
    state: State,
    /// IPv4 packets (no Ethernet header yet) waiting for the MAC.
    queue: [Option<Mbuf>; ARP_QUEUE],
    /// When the entry was created (for choosing one to evict).
    since_ms: u64,
}

impl Entry {
    const FREE: Entry = Entry {
        iface: IfId::Eth0,
        ip: [0; 4],
        mac: [0; 6],
        state: State::Free,
        queue: [const { None }; ARP_QUEUE],
        since_ms: 0,
    };

    fn queued(&self) -> usize {
        self.queue.iter().flatten().count()
    }

    /// Frees the entry, dropping what waits in it under `why`.
    fn free(&mut self, counters: &mut Counters, why: DropReason) {
        for m in self.queue.iter_mut() {
            if m.take().is_some() {
                counters.drop(why);
            }
        }
        *self = Entry::FREE;
    }
}

pub(crate) struct ArpCache {
    entries: [Entry; ARP_ENTRIES],
}

impl ArpCache {
    pub(crate) const fn new() -> Self {
        ArpCache {
            entries: [const { Entry::FREE }; ARP_ENTRIES],
        }
    }

    fn find(&self, ip: Ipv4Addr) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.state != State::Free && e.ip == ip)
    }

    /// The MAC for `ip` if resolved and not expired.
    fn lookup(&self, ip: Ipv4Addr, now: u64) -> Option<MacAddr> {
        let e = &self.entries[self.find(ip)?];
        match e.state {
            State::Resolved { expires_ms } if expires_ms > now => Some(e.mac),
            _ => None,
        }
    }

    /// A slot for a new entry: a free one, else the oldest resolved one,
    /// else the oldest pending one (its packets dropped as `ArpEvicted`).
    fn new_slot(&mut self, iface: IfId, ip: Ipv4Addr, now: u64, counters: &mut Counters) -> usize {
        let oldest = |pending: bool| {
            (0..ARP_ENTRIES)
                .filter(|&i| matches!(self.entries[i].state, State::Pending { .. }) == pending)
                .min_by_key(|&i| self.entries[i].since_ms)
        };
        let i = self
            .entries
            .iter()
            .position(|e| e.state == State::Free)
            .or_else(|| oldest(false))
            .or_else(|| oldest(true))
            .unwrap_or(0);
        self.entries[i].free(counters, DropReason::ArpEvicted);
        self.entries[i].iface = iface;
        self.entries[i].ip = ip;
        self.entries[i].since_ms = now;
        i
    }

    /// Forgets everything (the interface's addresses changed, or `arp`
    /// flush); returns how many entries there were.
    pub(crate) fn clear(&mut self, counters: &mut Counters) -> usize {
        let mut n = 0;
        for e in self.entries.iter_mut().filter(|e| e.state != State::Free) {
            e.free(counters, DropReason::ArpEvicted);
            n += 1;
        }
        n
    }

    pub(crate) fn list(&self, now: u64, out: &mut [ArpEntry]) -> usize {
        let live = self.entries.iter().filter(|e| e.state != State::Free);
        let mut n = 0;
        for (slot, e) in out.iter_mut().zip(live) {
            let (resolved, until) = match e.state {
                State::Resolved { expires_ms } => (1, expires_ms),
                State::Pending { next_ms, .. } => (0, next_ms),
                State::Free => (0, now),
            };
            *slot = ArpEntry {
                ip: e.ip,
                mac: e.mac,
                resolved,
                ttl_ticks: until.saturating_sub(now) * TICK_HZ / 1000,
                queued: e.queued() as u32,
                ..ArpEntry::default()
            };
            n += 1;
        }
        n
    }
}

impl Stack {
    /// Handles a received ARP packet (the window starts at it).
    pub(crate) fn arp_input(&mut self, env: &mut dyn NetEnv, m: Mbuf) -> Result<(), DropReason> {
        let p = ArpPacket::parse(m.data())?.header;
        let request = p.oper() == ArpOperation::REQUEST;
        let (sha, spa, tpa) = (p.sha(), p.spa(), p.tpa());
        // Probing an address DHCP offered: an answer means it is taken.
        if self.dhcp_arp_conflict(env, sha, spa, tpa) {
            return Ok(());
        }
        let me = *self.rx_iface();
        if eth::is_group(&sha)
            || sha == [0; 6]
            || sha == me.mac
            || ipv4::is_group(spa)
            || me.is_broadcast(spa)
            || spa == me.addr
        {
            return Err(DropReason::ArpBadSender);
        }
        self.counters.bump(if request {
            Stat::ArpRequestsIn
        } else {
            Stat::ArpRepliesIn
        });
        let for_us = tpa == me.addr && me.addr != [0; 4];

        // Learn the sender (0.0.0.0 is a probe: nothing to learn).
        let now = env.now_ms();
        let mut unsolicited = false;
        if spa != [0; 4] {
            match self.arp.find(spa) {
                Some(i) if self.arp.entries[i].iface != self.rx_if => unsolicited = true,
                Some(i) => match self.arp.entries[i].state {
                    State::Pending { .. } => self.arp_resolved(env, i, sha),
                    State::Resolved { .. } if self.arp.entries[i].mac == sha => {
                        self.arp.entries[i].state = State::Resolved {
                            expires_ms: now + ARP_TTL_MS,
                        };
                    }
                    _ => unsolicited = true,
                },
                None if request && for_us => {
                    let i = self.arp.new_slot(self.rx_if, spa, now, &mut self.counters);
                    self.arp.entries[i].mac = sha;
                    self.arp.entries[i].state = State::Resolved {
                        expires_ms: now + ARP_TTL_MS,
                    };
                }
                None => unsolicited = !request,
            }
        }

        if request {
            if !for_us {
                return Err(DropReason::ArpNotForUs);
            }
            self.arp_reply_in_place(env, m);
            return Ok(());
        }
        if unsolicited {
            return Err(DropReason::ArpUnsolicited);
        }
        Ok(())
    }

    /// Entry `i` got its MAC: mark it resolved and send what waited.
    fn arp_resolved(&mut self, env: &mut dyn NetEnv, i: usize, mac: MacAddr) {
        let now = env.now_ms();
        let e = &mut self.arp.entries[i];
        e.mac = mac;
        e.state = State::Resolved {
            expires_ms: now + ARP_TTL_MS,
        };
        let iface = e.iface;
        let waiting = core::mem::replace(&mut e.queue, [const { None }; ARP_QUEUE]);
        for mut m in waiting.into_iter().flatten() {
            m.set_state(MbufState::InStack);
            self.counters.bump(Stat::ArpQueuedSent);
            self.eth_output(env, m, iface, mac, EthernetNext::Ipv4);
        }
    }

    /// Turns the request in `m` (already validated) into our reply and
    /// sends it. A request whose buffer others read too (a broadcast a
    /// bridge handed to several stacks, `Mbuf::share`) is left as it is:
    /// the reply gets a buffer of its own.
    fn arp_reply_in_place(&mut self, env: &mut dyn NetEnv, mut m: Mbuf) {
        m.trim(ArpPacket::LEN);
        let Ok((p, _)) = ArpPacket::ref_from_prefix(m.data()) else {
            return;
        };
        let me = *self.rx_iface();
        let reply = ArpPacketRepr {
            oper: ArpOperation::REPLY,
            sha: me.mac,
            spa: me.addr,
            tha: p.sha(),
            tpa: p.spa(),
        };
        if m.is_shared() {
            let Some(mut own) = self.alloc() else { return };
            if own.push_emit(&reply, ()).is_err() {
                self.counters.drop(DropReason::TxNoMbuf);
                return;
            }
            m = own;
        } else if reply.emit(m.data_mut(), ()).is_err() {
            return;
        }
        self.counters.bump(Stat::ArpRepliesOut);
        self.eth_output(env, m, self.rx_if, reply.tha, EthernetNext::Arp);
    }

    /// Broadcasts a request for `ip` on `iface`.
    fn arp_request(&mut self, env: &mut dyn NetEnv, iface: IfId, ip: Ipv4Addr) {
        let Some(mut m) = self.alloc() else { return };
        let me = *self.ifc(iface);
        let request = ArpPacketRepr {
            oper: ArpOperation::REQUEST,
            sha: me.mac,
            spa: me.addr,
            tpa: ip,
            ..ArpPacketRepr::default()
        };
        if m.push_emit(&request, ()).is_err() {
            self.counters.drop(DropReason::TxNoMbuf);
            return;
        }
        self.counters.bump(Stat::ArpRequestsOut);
        self.eth_output(env, m, iface, BROADCAST, EthernetNext::Arp);
    }

    /// Sends the IPv4 packet `m` to `next_hop`, on-link on `iface`: at once
    /// if its MAC is known, else after resolving it (queued meanwhile).
    pub(crate) fn arp_output(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        iface: IfId,
        next_hop: Ipv4Addr,
    ) {
        let now = env.now_ms();
        if let Some(mac) = self.arp.lookup(next_hop, now) {
            self.eth_output(env, m, iface, mac, EthernetNext::Ipv4);
            return;
        }
        let i = self.arp_pending(env, iface, next_hop);
        match self.arp.entries[i].queue.iter_mut().find(|q| q.is_none()) {
            Some(slot) => {
                m.set_state(MbufState::ArpWait);
                *slot = Some(m);
            }
            None => self.counters.drop(DropReason::ArpQueueFull),
        }
    }

    /// The pending entry for `ip` on `iface`, created (and a request
    /// sent) if needed.
    fn arp_pending(&mut self, env: &mut dyn NetEnv, iface: IfId, ip: Ipv4Addr) -> usize {
        let now = env.now_ms();
        let i = match self.arp.find(ip) {
            Some(i) => i,
            None => self.arp.new_slot(iface, ip, now, &mut self.counters),
        };
        if !matches!(self.arp.entries[i].state, State::Pending { .. }) {
            // New, or resolved but expired.
            self.arp.entries[i].state = State::Pending {
                sent: 1,
                next_ms: now + ARP_RETRY_MS,
            };
            self.arp_request(env, iface, ip);
        }
        i
    }

    /// `arp` resolve: the MAC if known, else a request goes out (and
    /// `None`); the caller polls the list.
    pub fn arp_resolve(
        &mut self,
        env: &mut dyn NetEnv,
        ip: Ipv4Addr,
    ) -> Result<Option<MacAddr>, Errno> {
        if !self.iface.on_link(ip) || self.iface.is_broadcast(ip) || ip == self.iface.addr {
            return Err(Errno::EHOSTUNREACH);
        }
        if let Some(mac) = self.arp.lookup(ip, env.now_ms()) {
            return Ok(Some(mac));
        }
        self.arp_pending(env, IfId::Eth0, ip);
        Ok(None)
    }

    /// `arp` flush: forgets every entry (packets waiting are dropped as
    /// `ArpEvicted`), so the next send resolves again. Returns the count.
    pub fn arp_flush(&mut self) -> usize {
        self.arp.clear(&mut self.counters)
    }

    /// Expiry and retries.
    pub(crate) fn arp_tick(&mut self, env: &mut dyn NetEnv) {
        let now = env.now_ms();
        for i in 0..ARP_ENTRIES {
            let e = &mut self.arp.entries[i];
            match e.state {
                State::Resolved { expires_ms } if expires_ms <= now => {
                    e.free(&mut self.counters, DropReason::ArpTimeout)
                }
                State::Pending { sent, next_ms } if next_ms <= now => {
                    if sent < ARP_MAX_REQUESTS {
                        e.state = State::Pending {
                            sent: sent + 1,
                            next_ms: now + ARP_RETRY_MS,
                        };
                        let (iface, ip) = (e.iface, e.ip);
                        self.arp_request(env, iface, ip);
                    } else {
                        // Tell the senders before their packets go: our
                        // sockets, or a forwarded datagram's sender, which
                        // gets a host unreachable made of it.
                        let mut waiting =
                            core::mem::replace(&mut e.queue, [const { None }; ARP_QUEUE]);
                        for slot in waiting.iter_mut() {
                            let Some(mut m) = slot.take() else { continue };
                            if self.nat_revert(env, &mut m) || self.is_forwarded(m.data()) {
                                self.counters.drop(DropReason::ArpTimeout);
                                m.set_state(MbufState::InStack);
                                self.forward_unreachable(env, m);
                            } else {
                                self.host_unreachable(env, m.data());
                                *slot = Some(m);
                            }
                        }
                        let e = &mut self.arp.entries[i];
                        e.queue = waiting;
                        e.free(&mut self.counters, DropReason::ArpTimeout);
                    }
                }
                _ => {}
            }
        }
    }
}
