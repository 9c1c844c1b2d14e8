//! A virtual Ethernet switch between stacks (the kernel joins its
//! namespaces' stacks with one): `N` ports, each attached with the MAC of
//! the interface behind it and a tag of the attacher's choice (the kernel
//! keeps there the function that delivers to the port), and one queue of
//! frames waiting to be delivered.
//!
//! [`Bridge::transmit`] only queues a frame, so a sender's code never runs
//! a receiver's; the owner takes frames off with [`Bridge::pop`], which
//! says which ports get each one, and delivers them itself.
//!
//! The switch's table is the attached ports' MACs, fixed at
//! [`Bridge::attach`], not learned from traffic: a learning switch takes a
//! frame's source MAC as where that MAC lives, so a port forging a
//! neighbour's MAC would then be sent the neighbour's traffic. Here a frame
//! whose source is not its port's MAC is dropped, so a frame is delivered
//! only to the owner of its destination MAC, whatever its source says; a
//! group (broadcast, multicast) frame goes to every other port, as on a
//! switch. Every frame refused is counted under a named [`BridgeStat`].

use abi::net::{Counter, COUNTER_NAME_LEN};
use wire::ethernet::EthernetHeader;

use crate::eth::is_group;
use crate::{MacAddr, Mbuf, MbufState};

/// Frames waiting to be delivered: a TCP window's worth from each of
/// several senders.
pub const QUEUE: usize = 256;

macro_rules! stats {
    ($($(#[$d:meta])* $name:ident = $s:literal,)*) => {
        /// The bridge's counters.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum BridgeStat { $($(#[$d])* $name,)* }

        impl BridgeStat {
            pub const ALL: &'static [BridgeStat] = &[$(BridgeStat::$name,)*];
            pub const COUNT: usize = Self::ALL.len();
            /// The counter's name as `netstat` prints it.
            pub const fn name(self) -> &'static str {
                match self { $(BridgeStat::$name => $s,)* }
            }
        }
    };
}

stats! {
    /// Frames a port sent that were queued.
    FramesIn = "bridge_frames_in",
    /// Frames handed to a port (a flooded frame counts once per port).
    FramesDelivered = "bridge_frames_delivered",
    /// Group frames sent to every other port.
    Flooded = "bridge_flooded",
    /// The queue was full.
    DropQueueFull = "drop_bridge_queue_full",
    /// Sent from a port with nothing attached.
    DropNoPort = "drop_bridge_no_port",
    /// No attached port has the destination MAC (or it is the sender's).
    DropUnknownDst = "drop_bridge_unknown_dst",
    /// The source MAC is not the sending port's.
    DropForgedSrc = "drop_bridge_forged_src",
    /// Shorter than an Ethernet header, or longer than a frame.
    DropBadFrame = "drop_bridge_bad_frame",
}

/// A frame taken off the queue and the ports it goes to: the tag of each
/// (one for a unicast frame, every other attached port for a group frame).
pub struct Delivery<T, const N: usize> {
    pub m: Mbuf,
    pub to: [Option<T>; N],
}

/// The switch. `T` is what the owner keeps per port (copied out with
/// each [`Delivery`]).
pub struct Bridge<T: Copy, const N: usize> {
    ports: [Option<(MacAddr, T)>; N],
    /// (ingress port, frame), oldest at `head`.
    q: [Option<(usize, Mbuf)>; QUEUE],
    head: usize,
    len: usize,
    counts: [u64; BridgeStat::COUNT],
}

impl<T: Copy, const N: usize> Bridge<T, N> {
    pub const fn new() -> Self {
        Bridge {
            ports: [None; N],
            q: [const { None }; QUEUE],
            head: 0,
            len: 0,
            counts: [0; BridgeStat::COUNT],
        }
    }

    /// Joins `port`: frames to `mac`, and group frames from other ports,
    /// are delivered to it; frames it sends must come from `mac`.
    pub fn attach(&mut self, port: usize, mac: MacAddr, tag: T) {
        if let Some(p) = self.ports.get_mut(port) {
            *p = Some((mac, tag));
        }
    }

    /// Leaves `port`: frames still queued for it find no port.
    pub fn detach(&mut self, port: usize) {
        if let Some(p) = self.ports.get_mut(port) {
            *p = None;
        }
    }

    fn bump(&mut self, s: BridgeStat) {
        self.counts[s as usize] += 1;
    }

    pub fn stat(&self, s: BridgeStat) -> u64 {
        self.counts[s as usize]
    }

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `port` sends the Ethernet frame in `m`'s window: queued, or
    /// counted and dropped.
    pub fn transmit(&mut self, port: usize, mut m: Mbuf) {
        let Ok(h) = EthernetHeader::parse(m.data()) else {
            return self.bump(BridgeStat::DropBadFrame);
        };
        let src = h.header.src();
        match self.ports.get(port).copied().flatten() {
            None => return self.bump(BridgeStat::DropNoPort),
            Some((mac, _)) if mac != src => return self.bump(BridgeStat::DropForgedSrc),
            Some(_) => {}
        }
        if self.len == QUEUE {
            return self.bump(BridgeStat::DropQueueFull);
        }
        // On its way, as a frame on a device's TX ring is.
        m.set_state(MbufState::TxInflight);
        self.q[(self.head + self.len) % QUEUE] = Some((port, m));
        self.len += 1;
        self.bump(BridgeStat::FramesIn);
    }

    /// The oldest queued frame that goes somewhere, with its ports (those
    /// that go nowhere are counted and dropped on the way).
    pub fn pop(&mut self) -> Option<Delivery<T, N>> {
        while self.len > 0 {
            let slot = self.q[self.head].take();
            self.head = (self.head + 1) % QUEUE;
            self.len -= 1;
            let Some((from, mut m)) = slot else { continue };
            m.set_state(MbufState::InStack);
            let to = self.ports_for(from, &m);
            let n = to.iter().flatten().count() as u64;
            if n > 0 {
                self.counts[BridgeStat::FramesDelivered as usize] += n;
                return Some(Delivery { m, to });
            }
        }
        None
    }

    /// Where a frame from `from` goes (counting a group frame, or a frame
    /// that goes nowhere).
    fn ports_for(&mut self, from: usize, m: &Mbuf) -> [Option<T>; N] {
        let mut to = [None; N];
        // Checked when queued; the buffer may be shared, never rewritten.
        let Ok(h) = EthernetHeader::parse(m.data()) else {
            self.bump(BridgeStat::DropBadFrame);
            return to;
        };
        let dst = h.header.dst();
        let others = self.ports.iter().enumerate().filter(|&(i, _)| i != from);
        if is_group(&dst) {
            for (i, p) in others {
                to[i] = p.map(|(_, tag)| tag);
            }
            self.bump(BridgeStat::Flooded);
            return to;
        }
        let owner = others
            .filter_map(|(i, p)| Some((i, (*p)?)))
            .find(|(_, (mac, _))| *mac == dst);
        match owner {
            Some((i, (_, tag))) => to[i] = Some(tag),
            None => self.bump(BridgeStat::DropUnknownDst),
        }
        to
    }

    /// Appends the counters to `netstat`'s; returns how many it wrote.
    pub fn export(&self, out: &mut [Counter]) -> usize {
        let mut n = 0;
        for (slot, s) in out.iter_mut().zip(BridgeStat::ALL) {
            *slot = Counter::default();
            let name = s.name().as_bytes();
            slot.name[..name.len()].copy_from_slice(name);
            slot.value = self.stat(*s);
            n += 1;
        }
        n
    }
}

impl<T: Copy, const N: usize> Default for Bridge<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

// Every name fits in a counter's name field with its terminating zero.
const _: () = {
    let mut i = 0;
    while i < BridgeStat::COUNT {
        assert!(BridgeStat::ALL[i].name().len() < COUNTER_NAME_LEN);
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use wire::ethernet::{EtherType, EthernetHeaderRepr, BROADCAST};

    use super::*;
    use crate::{Buf, Pool};

    const A: MacAddr = [2, 0, 0, 0, 0, 1];
    const B: MacAddr = [2, 0, 0, 0, 0, 2];
    const C: MacAddr = [2, 0, 0, 0, 0, 3];

    fn pool() -> &'static Pool {
        Box::leak(Box::new(Pool::<[Buf; 2 * QUEUE]>::new()))
    }

    fn frame(pool: &'static Pool, src: MacAddr, dst: MacAddr) -> Mbuf {
        let mut m = pool.alloc().unwrap();
        m.append(46).unwrap();
        let h = EthernetHeaderRepr {
            dst,
            src,
            ethertype: EtherType::IPV4,
        };
        m.push_emit(&h, ()).unwrap();
        m
    }

    fn bridge() -> Bridge<char, 4> {
        let mut b = Bridge::new();
        b.attach(0, A, 'a');
        b.attach(1, B, 'b');
        b.attach(2, C, 'c');
        b
    }

    #[test]
    fn unicast_goes_to_the_owner_of_the_destination_only() {
        let (p, mut b) = (pool(), bridge());
        b.transmit(0, frame(p, A, C));
        let d = b.pop().unwrap();
        assert_eq!(d.to, [None, None, Some('c'), None]);
        assert_eq!(b.stat(BridgeStat::FramesIn), 1);
        assert_eq!(b.stat(BridgeStat::FramesDelivered), 1);
        assert_eq!(d.m.state(), MbufState::InStack);
        assert!(b.pop().is_none());
    }

    #[test]
    fn a_group_frame_goes_to_every_other_port() {
        let (p, mut b) = (pool(), bridge());
        b.transmit(1, frame(p, B, BROADCAST));
        let d = b.pop().unwrap();
        assert_eq!(d.to, [Some('a'), None, Some('c'), None]);
        assert_eq!(b.stat(BridgeStat::Flooded), 1);
        assert_eq!(b.stat(BridgeStat::FramesDelivered), 2);
    }

    #[test]
    fn a_forged_source_is_dropped_and_never_learned() {
        let (p, mut b) = (pool(), bridge());
        // Port 2 claims to be port 1, then asks for port 1's traffic.
        b.transmit(2, frame(p, B, A));
        assert_eq!(b.stat(BridgeStat::DropForgedSrc), 1);
        assert!(b.is_empty());
        b.transmit(0, frame(p, A, B));
        assert_eq!(b.pop().unwrap().to, [None, Some('b'), None, None]);
        assert_eq!(p.free(), p.total());
    }

    #[test]
    fn frames_that_go_nowhere_are_counted() {
        let (p, mut b) = (pool(), bridge());
        // From a port nothing is attached to.
        b.transmit(3, frame(p, [2, 0, 0, 0, 0, 4], A));
        assert_eq!(b.stat(BridgeStat::DropNoPort), 1);
        // To a MAC no port has, to the sender itself, and to a port that
        // left while the frame waited.
        b.transmit(0, frame(p, A, [2, 0, 0, 0, 0, 9]));
        b.transmit(0, frame(p, A, A));
        b.transmit(0, frame(p, A, C));
        b.detach(2);
        assert!(b.pop().is_none());
        assert_eq!(b.stat(BridgeStat::DropUnknownDst), 3);
        // Too short for an Ethernet header.
        let mut runt = p.alloc().unwrap();
        runt.append(10).unwrap();
        b.transmit(0, runt);
        assert_eq!(b.stat(BridgeStat::DropBadFrame), 1);
        assert_eq!(b.stat(BridgeStat::FramesDelivered), 0);
        assert_eq!(p.free(), p.total());
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let (p, mut b) = (pool(), bridge());
        for _ in 0..QUEUE + 3 {
            b.transmit(0, frame(p, A, B));
        }
        assert_eq!(b.len(), QUEUE);
        assert_eq!(b.stat(BridgeStat::DropQueueFull), 3);
        let mut n = 0;
        while b.pop().is_some() {
            n += 1;
        }
        assert_eq!(n, QUEUE);
        assert_eq!(p.free(), p.total());
    }

    #[test]
    fn every_counter_is_exported_by_name() {
        let b = bridge();
        let mut out = [Counter::default(); BridgeStat::COUNT + 1];
        assert_eq!(b.export(&mut out), BridgeStat::COUNT);
        assert!(out[0].name.starts_with(b"bridge_frames_in\0"));
    }
}
