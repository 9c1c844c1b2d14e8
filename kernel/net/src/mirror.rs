//! The bridge's mirror port, as on a switch (a SPAN port): a copy of every
//! frame a port of the bridge sends goes out of a device of its own, whose
//! far side only records it (QEMU writes it to a pcap file), so the traffic
//! between the namespaces can be read with tshark like the NIC's.
//!
//! This is the part that needs no device: the copy, and the counters. The
//! kernel's driver (`kernel/src/mirror.rs`) sends the copy and counts what
//! the device did with it.
//!
//! The frame is copied, not shared: the stack that receives it may build
//! its reply in place over the buffer (an echo reply over the request),
//! and the device reads the copy later, when it gets to it. The copy comes
//! from the stacks' pool, but never one of its last [`RESERVE`] free
//! buffers: a capture must not cost the stacks a received frame.

use abi::net::{Counter, COUNTER_NAME_LEN};

use crate::{Mbuf, Pool};

/// Free buffers the mirror leaves to the stacks: a full RX ring's refills
/// for a while, and a little more.
pub const RESERVE: usize = 64;

/// The mirror's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MirrorStat {
    /// Copies handed to the mirror device.
    Frames,
    /// No buffer to copy into (or only the stacks' reserve was left).
    DropNoMbuf,
    /// The frame does not fit a buffer behind the device's header.
    DropTooLong,
    /// The device's ring was full.
    DropRingFull,
}

impl MirrorStat {
    pub const ALL: &'static [MirrorStat] = &[
        MirrorStat::Frames,
        MirrorStat::DropNoMbuf,
        MirrorStat::DropTooLong,
        MirrorStat::DropRingFull,
    ];
    pub const COUNT: usize = Self::ALL.len();

    /// The counter's name as `netstat` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            MirrorStat::Frames => "mirror_frames",
            MirrorStat::DropNoMbuf => "drop_mirror_no_mbuf",
            MirrorStat::DropTooLong => "drop_mirror_too_long",
            MirrorStat::DropRingFull => "drop_mirror_ring_full",
        }
    }
}

// Every name fits in a counter's name field with its terminating zero.
const _: () = {
    let mut i = 0;
    while i < MirrorStat::COUNT {
        assert!(MirrorStat::ALL[i].name().len() < COUNTER_NAME_LEN);
        i += 1;
    }
};

/// The mirror's counters, and the copy that moves two of them.
#[derive(Debug, Default)]
pub struct Mirror {
    counts: [u64; MirrorStat::COUNT],
}

impl Mirror {
    pub const fn new() -> Self {
        Mirror {
            counts: [0; MirrorStat::COUNT],
        }
    }

    pub fn bump(&mut self, s: MirrorStat) {
        self.counts[s as usize] += 1;
    }

    pub fn stat(&self, s: MirrorStat) -> u64 {
        self.counts[s as usize]
    }

    /// A copy of `frame`'s window in a buffer of `pool`, with the usual
    /// headroom in front (room for the device's header); `None`, counted,
    /// when the pool is down to its [`RESERVE`] or the frame does not fit.
    pub fn copy(&mut self, pool: &'static Pool, frame: &Mbuf) -> Option<Mbuf> {
        if pool.free() <= RESERVE {
            self.bump(MirrorStat::DropNoMbuf);
            return None;
        }
        let Some(mut m) = pool.alloc() else {
            self.bump(MirrorStat::DropNoMbuf);
            return None;
        };
        match m.append(frame.len()) {
            Ok(bytes) => bytes.copy_from_slice(frame.data()),
            Err(_) => {
                self.bump(MirrorStat::DropTooLong);
                return None;
            }
        }
        Some(m)
    }

    /// Appends the counters to `netstat`'s; returns how many it wrote.
    pub fn export(&self, out: &mut [Counter]) -> usize {
        let mut n = 0;
        for (slot, s) in out.iter_mut().zip(MirrorStat::ALL) {
            *slot = Counter::default();
            let name = s.name().as_bytes();
            slot.name[..name.len()].copy_from_slice(name);
            slot.value = self.stat(*s);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Buf, MbufState, MBUF_SIZE};

    fn pool() -> &'static Pool {
        Box::leak(Box::new(Pool::<[Buf; 2 * RESERVE]>::new()))
    }

    fn frame(pool: &'static Pool, len: usize) -> Mbuf {
        let mut m = pool.alloc().unwrap();
        for (i, b) in m.append(len).unwrap().iter_mut().enumerate() {
            *b = i as u8;
        }
        m
    }

    #[test]
    fn the_copy_is_the_frame_in_a_buffer_of_its_own() {
        let p = pool();
        let mut mirror = Mirror::new();
        let mut original = frame(p, 1514);
        let sent = original.data().to_vec();
        let copy = mirror.copy(p, &original).unwrap();
        assert_eq!(copy.data(), &sent[..]);
        assert_ne!(copy.index(), original.index());
        assert!(!copy.is_shared() && !original.is_shared());
        // Room in front for the device's header, as for any frame sent.
        assert_eq!(copy.headroom(), crate::HEADROOM);
        assert_eq!(copy.state(), MbufState::InStack);
        // The receiver rewriting the frame in place leaves the copy alone.
        original.data_mut().fill(0);
        assert_eq!(copy.data(), &sent[..]);
        assert_eq!(
            MirrorStat::ALL.iter().map(|s| mirror.stat(*s)).sum::<u64>(),
            0
        );
        drop((copy, original));
        assert_eq!(p.free(), p.total());
    }

    #[test]
    fn the_stacks_reserve_is_never_taken() {
        let p = pool();
        let mut mirror = Mirror::new();
        let f = frame(p, 60);
        // Hold buffers until only the reserve is free.
        let held: Vec<Mbuf> = (0..p.free() - RESERVE)
            .map(|_| p.alloc().unwrap())
            .collect();
        assert_eq!(p.free(), RESERVE);
        assert!(mirror.copy(p, &f).is_none());
        assert_eq!(mirror.stat(MirrorStat::DropNoMbuf), 1);
        assert_eq!(p.free(), RESERVE);
        drop(held);
        assert!(mirror.copy(p, &f).is_some());
        assert_eq!(mirror.stat(MirrorStat::DropNoMbuf), 1);
    }

    #[test]
    fn a_frame_too_long_for_a_buffer_behind_the_header_is_refused() {
        let p = pool();
        let mut mirror = Mirror::new();
        // A window over the whole buffer: no room left in front of a copy.
        let mut whole = p.alloc().unwrap();
        let room = whole.headroom();
        whole.unpull(room).unwrap();
        whole.extend(MBUF_SIZE - room).unwrap();
        assert_eq!(whole.len(), MBUF_SIZE);
        let free = p.free();
        assert!(mirror.copy(p, &whole).is_none());
        assert_eq!(mirror.stat(MirrorStat::DropTooLong), 1);
        // The buffer it took went back.
        assert_eq!(p.free(), free);
    }

    #[test]
    fn every_counter_is_exported_by_name() {
        let mut mirror = Mirror::new();
        mirror.bump(MirrorStat::Frames);
        mirror.bump(MirrorStat::DropRingFull);
        let mut out = [Counter::default(); MirrorStat::COUNT + 1];
        assert_eq!(mirror.export(&mut out), MirrorStat::COUNT);
        assert!(out[0].name.starts_with(b"mirror_frames\0"));
        assert_eq!(out[0].value, 1);
        assert!(out[3].name.starts_with(b"drop_mirror_ring_full\0"));
        assert_eq!(out[3].value, 1);
    }
}
