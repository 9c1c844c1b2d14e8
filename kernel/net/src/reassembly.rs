//! IPv4 reassembly (RFC 791 section 3.2, with RFC 815's hole bookkeeping
//! reduced to a sorted list): fragments wait, each in the mbuf the device
//! wrote, until their datagram is whole, and then go up as one chain of
//! those mbufs ([`Mbuf::chain`]), in order, nothing copied.
//!
//! A datagram is named by source, destination, protocol and
//! identification. Its fragments are kept sorted by offset; it is whole
//! when the last fragment (MF clear) has come and the pieces leave no gap
//! from 0 to its end.
//!
//! Everything is bounded, so a flood of fragments cannot take the pool:
//! - [`REASM_DATAGRAMS`] datagrams at once; a new one takes the slot of the
//!   oldest (its fragments counted `drop_ipv4_frag_evicted`);
//! - [`REASM_MBUFS`] fragments held in all (the oldest other datagrams give
//!   way), and [`REASM_FRAGMENTS`] per datagram (`drop_ipv4_frag_too_many`);
//! - [`REASM_TIMEOUT_MS`] from a datagram's first fragment to its last:
//!   then it is dropped (`drop_ipv4_frag_timeout`, each fragment) and, if
//!   its first fragment had come, the sender gets an ICMP time exceeded,
//!   fragment reassembly (RFC 792 code 1; RFC 1122 3.3.2).
//!
//! Refused on arrival (the rules of the fragment fields are the spec's:
//! `fragment_offset` in units of `FRAGMENT_UNIT`, `MAX_DATAGRAM`):
//! - a fragment reaching past 65,535 bytes (the "ping of death"):
//!   `drop_ipv4_frag_too_long`;
//! - a fragment with MF set whose length is not a whole number of units:
//!   `drop_ipv4_frag_bad_length`;
//! - a first fragment too short to hold its transport header, or a TCP
//!   fragment at offset 8 (RFC 1858's tiny-fragment and overlapping
//!   attacks): `drop_ipv4_frag_tiny`;
//! - a fragment that overlaps another of its datagram, or says the datagram
//!   ends elsewhere than another did: the whole datagram is dropped and its
//!   later fragments too until its timer runs out (as RFC 5722 asks for
//!   IPv6; the teardrop attack): `drop_ipv4_frag_overlap`. An exact copy of
//!   a fragment already held is only a duplicate the network made:
//!   `drop_ipv4_frag_duplicate`, the datagram is kept.
//!
//! Every protocol is reassembled but TCP: UDP and ICMP (a big echo
//! request is answered in the same chain, see `icmp.rs`), and a protocol
//! we do not speak, so that its protocol unreachable quotes the datagram's
//! start. TCP's input and its queues take a segment in one mbuf (a
//! contiguous header and payload, `tcp/input.rs`); joining the pieces
//! would be a copy on the receive path, and a TCP sender has no reason to
//! fragment: our MSS keeps each segment within a frame and hosts set DF on
//! TCP (path MTU discovery, RFC 1191). A TCP fragment that passes the
//! checks above is dropped (`drop_ipv4_frag_tcp`) before it holds a
//! buffer.

use wire::dispatch::{ipv4_next, Ipv4Next};
use wire::icmpv4::Icmpv4Header;
use wire::ipv4::{self as wip, IpProtocol};
use wire::tcp::TcpHeader;
use wire::udp::UdpHeader;

use crate::counters::{DropReason, Stat};
use crate::ipv4::IpMeta;
use crate::mbuf::{Mbuf, MbufState};
use crate::{Ipv4Addr, NetEnv, Stack};

/// Datagrams reassembled at once. A few senders' large datagrams in
/// flight together; more only lets a flood hold more of the pool.
pub const REASM_DATAGRAMS: usize = 8;
/// Fragments one datagram may have: the largest UDP datagram over
/// Ethernet takes 45 (65,535 bytes in 1,480-byte pieces), with room left
/// for a smaller path MTU on the way.
pub const REASM_FRAGMENTS: usize = 64;
/// Fragments held in all: a quarter of the largest pool, two largest
/// datagrams at once, so the receive ring and the sockets keep the rest.
pub const REASM_MBUFS: usize = 2 * REASM_FRAGMENTS;
/// How long a datagram may take from its first fragment to its last.
/// RFC 791 starts the timer at 15 s; Linux waits 30 s. Ours is shorter:
/// over a LAN the fragments of one datagram arrive within milliseconds,
/// and what waits holds buffers an attacker would like to exhaust.
pub const REASM_TIMEOUT_MS: u64 = 10_000;

const _: () = assert!(REASM_MBUFS >= 2 * REASM_FRAGMENTS && REASM_FRAGMENTS <= u8::MAX as usize);

/// The bytes of `fragment_offset`'s unit (8).
const UNIT: usize = wip::FRAGMENT_UNIT as usize;

/// What `ipv4_input` read from a fragment's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    pub identification: u16,
    /// Where its payload goes in the datagram, in bytes.
    pub offset: usize,
    /// MF: more fragments follow this one.
    pub more: bool,
}

/// The fields that name a datagram (RFC 791: "source, destination,
/// protocol, and identifier").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: IpProtocol,
    identification: u16,
}

/// One datagram being put together, or a free slot (no key). Slots are
/// reused in place, never built on the stack (each is over a kilobyte,
/// and fragments arrive in the RX interrupt).
struct Slot {
    key: Option<Key>,
    /// When its first fragment came (the timer, and the age for eviction).
    since_ms: u64,
    /// Its fragments sorted by offset, each with its window on the
    /// payload; `[..count]` are held.
    frags: [Option<Mbuf>; REASM_FRAGMENTS],
    offsets: [u16; REASM_FRAGMENTS],
    count: u8,
    /// Where the datagram ends, once its last fragment came.
    end: Option<usize>,
    /// Its header, from the fragment at offset 0, once it came.
    first: Option<IpMeta>,
    /// It overlapped: its fragments are dropped until the timer runs out.
    dead: bool,
}

impl Slot {
    const FREE: Slot = Slot {
        key: None,
        since_ms: 0,
        frags: [const { None }; REASM_FRAGMENTS],
        offsets: [0; REASM_FRAGMENTS],
        count: 0,
        end: None,
        first: None,
        dead: false,
    };

    /// Starts datagram `key` here (the slot is free).
    fn start(&mut self, key: Key, now_ms: u64) {
        (self.key, self.since_ms, self.count) = (Some(key), now_ms, 0);
        (self.end, self.first, self.dead) = (None, None, false);
    }
}

/// The datagrams being reassembled; part of the [`Stack`].
pub(crate) struct Reassembly {
    slots: [Slot; REASM_DATAGRAMS],
    /// Fragments held in all the slots.
    held: usize,
}

impl Reassembly {
    pub(crate) const fn new() -> Self {
        Reassembly {
            slots: [const { Slot::FREE }; REASM_DATAGRAMS],
            held: 0,
        }
    }

    /// Empties slot `i`, counting each fragment it held under `why`.
    /// Returns its first fragment (offset 0) and that one's header, if it
    /// had come: what an ICMP error is built from.
    fn free(
        &mut self,
        i: usize,
        why: DropReason,
        counters: &mut crate::Counters,
    ) -> Option<(Mbuf, IpMeta)> {
        let s = &mut self.slots[i];
        s.key?;
        let n = s.count as usize;
        for _ in 0..n {
            counters.drop(why);
        }
        self.held -= n;
        let first = match (s.first, n > 0 && s.offsets[0] == 0) {
            (Some(ip), true) => s.frags[0].take().map(|m| (m, ip)),
            _ => None,
        };
        for f in &mut s.frags[..n] {
            *f = None;
        }
        (s.key, s.count) = (None, 0);
        first
    }

    /// The oldest slot other than `keep` (the one a fragment is going to).
    fn oldest(&self, keep: Option<usize>) -> Option<usize> {
        (0..REASM_DATAGRAMS)
            .filter(|&i| Some(i) != keep)
            .filter(|&i| self.slots[i].key.is_some())
            .map(|i| (self.slots[i].since_ms, i))
            .min()
            .map(|(_, i)| i)
    }
}

/// The shortest first fragment that holds the header of `protocol`
/// (RFC 1858 3.1): the fixed part, options may follow in the next.
fn transport_header_len(protocol: IpProtocol) -> usize {
    match ipv4_next(protocol) {
        Ipv4Next::Tcp => TcpHeader::LEN,
        Ipv4Next::Udp => UdpHeader::LEN,
        Ipv4Next::Icmpv4 => Icmpv4Header::LEN,
        Ipv4Next::Unknown(_) => 0,
    }
}

impl Stack {
    /// Takes a fragment (`m`'s window on its payload; `ip` its header,
    /// `f` its fragment fields). `Ok(Some)` when it completed its datagram:
    /// the chain of its fragments, in order, and the first one's header.
    pub(crate) fn reassemble(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        ip: IpMeta,
        f: Fragment,
    ) -> Result<Option<(Mbuf, IpMeta)>, DropReason> {
        let len = m.len();
        if ip.header_len + f.offset + len > wip::MAX_DATAGRAM as usize {
            return Err(DropReason::Ipv4FragTooLong);
        }
        if f.more && (len == 0 || !len.is_multiple_of(UNIT)) {
            return Err(DropReason::Ipv4FragBadLength);
        }
        let tcp = matches!(ipv4_next(ip.protocol), Ipv4Next::Tcp);
        if (f.offset == 0 && len < transport_header_len(ip.protocol)) || (tcp && f.offset == UNIT) {
            return Err(DropReason::Ipv4FragTiny);
        }
        if tcp {
            return Err(DropReason::Ipv4FragTcp);
        }
        self.counters.bump(Stat::Ipv4FragmentsIn);
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            protocol: ip.protocol,
            identification: f.identification,
        };
        let now = env.now_ms();
        let r = &mut self.reasm;
        let i = match (0..REASM_DATAGRAMS).find(|&i| r.slots[i].key == Some(key)) {
            Some(i) => i,
            None => {
                let i = match (0..REASM_DATAGRAMS).find(|&i| r.slots[i].key.is_none()) {
                    Some(i) => i,
                    None => {
                        let i = r.oldest(None).unwrap_or(0);
                        r.free(i, DropReason::Ipv4FragEvicted, &mut self.counters);
                        i
                    }
                };
                r.slots[i].start(key, now);
                i
            }
        };
        let slot = &mut r.slots[i];
        if slot.dead {
            return Err(DropReason::Ipv4FragOverlap);
        }
        // Where it goes, and whether it fits with what is there.
        let (start, stop) = (f.offset, f.offset + len);
        let n = slot.count as usize;
        let at = slot.offsets[..n].partition_point(|&o| (o as usize) < start);
        let span = |k: usize| {
            let o = slot.offsets[k] as usize;
            (o, o + slot.frags[k].as_ref().map_or(0, Mbuf::len))
        };
        if at < n && span(at) == (start, stop) && (f.more || slot.end == Some(stop)) {
            return Err(DropReason::Ipv4FragDuplicate);
        }
        let overlaps = (at > 0 && span(at - 1).1 > start) || (at < n && span(at).0 < stop);
        let ends_elsewhere = match (f.more, slot.end) {
            (false, Some(end)) => end != stop,
            (false, None) => n > 0 && span(n - 1).1 > stop,
            (true, Some(end)) => stop > end,
            (true, None) => false,
        };
        if overlaps || ends_elsewhere {
            let count = slot.count;
            for k in 0..n {
                slot.frags[k] = None;
            }
            (slot.count, slot.dead, slot.first) = (0, true, None);
            r.held -= count as usize;
            for _ in 0..count {
                self.counters.drop(DropReason::Ipv4FragOverlap);
            }
            return Err(DropReason::Ipv4FragOverlap);
        }
        if n == REASM_FRAGMENTS {
            r.free(i, DropReason::Ipv4FragTooMany, &mut self.counters);
            return Err(DropReason::Ipv4FragTooMany);
        }
        // Room in the pool's share: the oldest other datagrams give way.
        while r.held >= REASM_MBUFS {
            let Some(old) = r.oldest(Some(i)) else { break };
            r.free(old, DropReason::Ipv4FragEvicted, &mut self.counters);
        }
        let slot = &mut r.slots[i];
        slot.frags[at..=n].rotate_right(1);
        slot.offsets[at..=n].rotate_right(1);
        m.set_state(MbufState::Reassembly);
        slot.frags[at] = Some(m);
        slot.offsets[at] = start as u16;
        slot.count += 1;
        r.held += 1;
        if !f.more {
            slot.end = Some(stop);
        }
        if start == 0 {
            slot.first = Some(ip);
        }
        // Whole: no gap from 0 to the end.
        let n = slot.count as usize;
        let Some(end) = slot.end else { return Ok(None) };
        let mut reached = 0;
        for k in 0..n {
            if slot.offsets[k] as usize != reached {
                return Ok(None);
            }
            reached += slot.frags[k].as_ref().map_or(0, Mbuf::len);
        }
        if reached != end {
            return Ok(None);
        }
        // Whole from offset 0, so its first fragment's header is there.
        let Some(first) = slot.first else {
            return Ok(None);
        };
        r.held -= n;
        (slot.key, slot.count) = (None, 0);
        let mut pieces = slot.frags[..n].iter_mut().filter_map(Option::take);
        let Some(mut head) = pieces.next() else {
            return Ok(None);
        };
        head.set_state(MbufState::InStack);
        for mut piece in pieces {
            piece.set_state(MbufState::InStack);
            head.chain(piece);
        }
        self.counters.bump(Stat::Ipv4Reassembled);
        Ok(Some((head, first)))
    }

    /// Drops the datagrams whose time is up, each fragment counted, and
    /// tells the sender of each whose first fragment had come.
    pub(crate) fn reassembly_tick(&mut self, env: &mut dyn NetEnv) {
        let now = env.now_ms();
        for i in 0..REASM_DATAGRAMS {
            let s = &self.reasm.slots[i];
            if s.key.is_none() || now.saturating_sub(s.since_ms) < REASM_TIMEOUT_MS {
                continue;
            }
            if let Some((mut m, ip)) =
                self.reasm
                    .free(i, DropReason::Ipv4FragTimeout, &mut self.counters)
            {
                m.set_state(MbufState::InStack);
                self.icmp_reassembly_timeout(env, m, &ip);
            }
        }
    }
}
