//! The out-of-order queue: segments that arrived ahead of RCV.NXT, kept in
//! the mbufs the device wrote them into until the gap before them fills
//! (RFC 9293, section 3.10.7.4, "segment text": segments past RCV.NXT
//! within the window may be held for later processing; section 3.4 trims
//! each to the window).
//!
//! Nothing is copied: a queued segment is its mbuf, its window moved to the
//! bytes not already queued. Queued segments never overlap: a new one is
//! trimmed against those it overlaps (the bytes that came first are kept,
//! the way BSD and Linux do, since the data must be the same anyway), and
//! replaces those it covers entirely. What the peer can make us hold is
//! bounded twice: by the receive window (nothing outside it is kept) and
//! by [`REASM_CAPACITY`] segments, so tiny segments scattered over a large
//! window cannot take the pool.
//!
//! [`Reassembly::sack_blocks`] reports what is queued as RFC 2018 SACK
//! blocks, the one holding the latest segment first (section 4).

use super::seq::Seq;
use crate::mbuf::{Mbuf, MbufState};

/// The most segments one connection holds out of order.
pub const REASM_CAPACITY: usize = 32;

/// A queued segment: the bytes from `seq`, its window.
struct Segment {
    seq: Seq,
    m: Mbuf,
}

impl Segment {
    fn end(&self) -> Seq {
        self.seq + self.m.len() as u32
    }
}

/// The segments received beyond RCV.NXT, in sequence order.
pub struct Reassembly {
    /// `q[..n]`, sorted by `seq`, none overlapping another.
    q: [Option<Segment>; REASM_CAPACITY],
    n: usize,
    /// Where the latest segment queued starts (its SACK block goes first).
    latest: Option<Seq>,
}

impl Reassembly {
    pub const fn new() -> Reassembly {
        Reassembly {
            q: [const { None }; REASM_CAPACITY],
            n: 0,
            latest: None,
        }
    }

    /// Queues the segment whose bytes (the window of `m`) start at `seq`,
    /// keeping only what lies in the receive window (`rcv_nxt`, `rcv_wnd`
    /// bytes) and is not queued already. Gives `m` back when nothing of it
    /// is kept: empty, all received or queued before (a duplicate), outside
    /// the window, or the queue is full.
    pub fn insert(
        &mut self,
        seq: Seq,
        mut m: Mbuf,
        rcv_nxt: Seq,
        rcv_wnd: u32,
    ) -> Result<(), Mbuf> {
        self.drop_stale(rcv_nxt);
        // The part in the window, as offsets from rcv_nxt (sequence numbers
        // compared as distances, so the wrap at 2^32 changes nothing).
        let len = m.len() as u32;
        let (mut start, mut end);
        if seq.lt(rcv_nxt) {
            let old = rcv_nxt.diff(seq);
            if old >= len {
                return Err(m); // all received already
            }
            (start, end) = (0, len - old);
        } else {
            start = seq.diff(rcv_nxt);
            end = start.saturating_add(len);
        }
        end = end.min(rcv_wnd);
        if start >= end {
            return Err(m); // empty, or beyond the window
        }
        // Against the queue: the last segment starting at or before us may
        // hold our front (or all of us); those starting inside us are
        // covered (replaced) or hold our tail.
        let at = |s: Seq| s.diff(rcv_nxt);
        let mut i = 0;
        while self.span(i).is_some_and(|(s, _)| at(s) <= start) {
            i += 1;
        }
        if let Some((_, before_end)) = i.checked_sub(1).and_then(|k| self.span(k)) {
            if at(before_end) >= end {
                return Err(m); // queued already
            }
            start = start.max(at(before_end));
        }
        let mut covered = i;
        while self.span(covered).is_some_and(|(_, e)| at(e) <= end) {
            covered += 1;
        }
        if let Some((next, _)) = self.span(covered).filter(|&(s, _)| at(s) < end) {
            end = at(next);
        }
        if start >= end {
            return Err(m); // the gap it would fill is queued already
        }
        if self.n - (covered - i) == REASM_CAPACITY {
            return Err(m);
        }
        // Keep bytes start..end of the window (offsets from rcv_nxt).
        let first = rcv_nxt + start;
        let _ = m.pull(first.diff(seq) as usize);
        m.trim((end - start) as usize);
        m.set_state(MbufState::Socket);
        // Replace the covered ones (dropped back to the pool) by it.
        for k in i..covered {
            self.q[k] = None;
        }
        let removed = covered - i;
        if removed == 0 {
            self.q[i..=self.n].rotate_right(1);
        } else {
            self.q[i + 1..self.n].rotate_left(removed - 1);
        }
        self.q[i] = Some(Segment { seq: first, m });
        self.n = self.n + 1 - removed;
        self.latest = Some(first);
        Ok(())
    }

    /// The queued segment that continues the stream at `rcv_nxt`, its
    /// window trimmed to start exactly there; segments wholly before
    /// `rcv_nxt` (their bytes came in another segment) are dropped.
    pub fn pop_ready(&mut self, rcv_nxt: Seq) -> Option<Mbuf> {
        self.drop_stale(rcv_nxt);
        if self.span(0).is_none_or(|(s, _)| s.gt(rcv_nxt)) {
            return None;
        }
        let mut s = self.remove(0)?;
        s.m.set_state(MbufState::InStack);
        Some(s.m)
    }

    /// Segments queued.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Bytes queued.
    pub fn bytes(&self) -> usize {
        self.q[..self.n].iter().flatten().map(|s| s.m.len()).sum()
    }

    /// Drops every queued segment (the connection is gone).
    pub fn clear(&mut self) {
        for s in &mut self.q {
            *s = None;
        }
        self.n = 0;
        self.latest = None;
    }

    /// Writes what is queued as SACK blocks (left edge, right edge: the
    /// first byte and the one after the last) into `out`, adjacent segments
    /// joined, and returns how many it wrote. RFC 2018 section 4: the block
    /// holding the latest segment queued comes first, the rest follow in
    /// sequence order, as many as `out` holds.
    pub fn sack_blocks(&self, out: &mut [(Seq, Seq)]) -> usize {
        let mut blocks = [(Seq(0), Seq(0)); REASM_CAPACITY];
        let mut count = 0;
        for s in self.q[..self.n].iter().flatten() {
            if count > 0 && blocks[count - 1].1 == s.seq {
                blocks[count - 1].1 = s.end();
            } else {
                blocks[count] = (s.seq, s.end());
                count += 1;
            }
        }
        let latest = self.latest.and_then(|l| {
            blocks[..count]
                .iter()
                .position(|&(left, right)| l.in_window(left, right.diff(left)))
        });
        if let Some(k) = latest {
            blocks[..=k].rotate_right(1);
        }
        let written = count.min(out.len());
        out[..written].copy_from_slice(&blocks[..written]);
        written
    }

    /// Where the `i`th queued segment starts and ends (`None` past the
    /// last: `q[n..]` are empty).
    fn span(&self, i: usize) -> Option<(Seq, Seq)> {
        let s = self.q.get(i)?.as_ref()?;
        Some((s.seq, s.end()))
    }

    fn remove(&mut self, i: usize) -> Option<Segment> {
        let s = self.q.get_mut(i)?.take()?;
        self.q[i..self.n].rotate_left(1);
        self.n -= 1;
        Some(s)
    }

    /// Forgets what is before `rcv_nxt` (those bytes came in another
    /// segment): drops the segments wholly before it and pulls the front of
    /// one that straddles it, so every queued segment starts at or after
    /// `rcv_nxt` and offsets from it order them.
    fn drop_stale(&mut self, rcv_nxt: Seq) {
        while self.span(0).is_some_and(|(_, end)| end.le(rcv_nxt)) {
            drop(self.remove(0));
        }
        if let Some(front) = self.q[0].as_mut().filter(|s| s.seq.lt(rcv_nxt)) {
            let _ = front.m.pull(rcv_nxt.diff(front.seq) as usize);
            front.seq = rcv_nxt;
        }
    }
}

impl Default for Reassembly {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{Buf, Pool};

    fn pool<const N: usize>() -> &'static Pool {
        Box::leak(Box::new(Pool::<[Buf; N]>::new()))
    }

    /// The byte the stream carries at sequence number `s`.
    fn byte(s: u32) -> u8 {
        (s % 251) as u8
    }

    /// A received segment: `len` bytes of the stream from `seq`.
    fn seg(p: &'static Pool, seq: u32, len: usize) -> Mbuf {
        let mut m = p.alloc().unwrap();
        for (i, b) in m.append(len).unwrap().iter_mut().enumerate() {
            *b = byte(seq.wrapping_add(i as u32));
        }
        m
    }

    /// Pops everything ready from `rcv_nxt` on, checks the bytes are the
    /// stream's, and returns the new rcv_nxt and the segment lengths.
    fn drain(r: &mut Reassembly, mut rcv_nxt: Seq) -> (Seq, Vec<usize>) {
        let mut lens = Vec::new();
        while let Some(m) = r.pop_ready(rcv_nxt) {
            for (i, &b) in m.data().iter().enumerate() {
                assert_eq!(b, byte(rcv_nxt.0.wrapping_add(i as u32)));
            }
            lens.push(m.len());
            rcv_nxt += m.len() as u32;
        }
        (rcv_nxt, lens)
    }

    const WND: u32 = 65535;

    #[test]
    fn out_of_order_segments_come_out_in_order() {
        let p = pool::<8>();
        let mut r = Reassembly::new();
        let nxt = Seq(1000);
        r.insert(Seq(1200), seg(p, 1200, 100), nxt, WND).unwrap();
        r.insert(Seq(1100), seg(p, 1100, 100), nxt, WND).unwrap();
        r.insert(Seq(1400), seg(p, 1400, 100), nxt, WND).unwrap();
        assert_eq!((r.len(), r.bytes()), (3, 300));
        assert_eq!(p.census().of(MbufState::Socket), 3);
        assert!(r.pop_ready(nxt).is_none(), "1000..1100 is missing");
        // The gap filled by an in-order segment the caller delivered.
        let (nxt, lens) = drain(&mut r, Seq(1100));
        assert_eq!((nxt, lens), (Seq(1300), vec![100, 100]));
        assert_eq!(r.len(), 1);
        r.clear();
        assert_eq!(p.free(), 8);
        assert_eq!(p.census().of(MbufState::Free), 8);
    }

    #[test]
    fn duplicates_are_given_back() {
        let p = pool::<8>();
        let mut r = Reassembly::new();
        let nxt = Seq(0);
        r.insert(Seq(100), seg(p, 100, 100), nxt, WND).unwrap();
        // The same again, and a part of it.
        assert!(r.insert(Seq(100), seg(p, 100, 100), nxt, WND).is_err());
        assert!(r.insert(Seq(120), seg(p, 120, 50), nxt, WND).is_err());
        // Already received (before rcv_nxt), and empty.
        assert!(r.insert(Seq(0), seg(p, 0, 10), Seq(10), WND).is_err());
        assert!(r.insert(Seq(300), seg(p, 300, 0), nxt, WND).is_err());
        assert_eq!((r.len(), p.free()), (1, 7), "the refused ones went back");
    }

    #[test]
    fn overlaps_keep_the_first_bytes_and_no_byte_twice() {
        let p = pool::<8>();
        let mut r = Reassembly::new();
        let nxt = Seq(0);
        r.insert(Seq(100), seg(p, 100, 100), nxt, WND).unwrap(); // 100..200
        r.insert(Seq(300), seg(p, 300, 100), nxt, WND).unwrap(); // 300..400
                                                                 // Overlaps the tail of the first and the head of the second.
        r.insert(Seq(150), seg(p, 150, 200), nxt, WND).unwrap(); // 200..300 kept
        assert_eq!((r.len(), r.bytes()), (3, 300));
        // Straddles the front of the first.
        r.insert(Seq(50), seg(p, 50, 100), nxt, WND).unwrap(); // 50..100 kept
        assert_eq!((r.len(), r.bytes()), (4, 350));
        let mut blocks = [(Seq(0), Seq(0)); 4];
        assert_eq!(r.sack_blocks(&mut blocks), 1);
        assert_eq!(blocks[0], (Seq(50), Seq(400)));
        let (end, lens) = drain(&mut r, Seq(50));
        assert_eq!((end, lens), (Seq(400), vec![50, 100, 100, 100]));
        assert_eq!(p.free(), 8);
    }

    #[test]
    fn a_segment_inside_two_queued_ones_is_a_duplicate() {
        // Its front is in one queued segment, its tail in the next (found
        // by the property test below).
        let p = pool::<8>();
        let mut r = Reassembly::new();
        let nxt = Seq(0);
        r.insert(Seq(100), seg(p, 100, 50), nxt, WND).unwrap();
        r.insert(Seq(140), seg(p, 140, 60), nxt, WND).unwrap(); // 150..200
        assert!(r.insert(Seq(100), seg(p, 100, 51), nxt, WND).is_err());
        assert!(r.insert(Seq(120), seg(p, 120, 60), nxt, WND).is_err());
        assert_eq!((r.len(), r.bytes(), p.free()), (2, 100, 6));
    }

    #[test]
    fn a_segment_covering_queued_ones_replaces_them() {
        let p = pool::<8>();
        let mut r = Reassembly::new();
        let nxt = Seq(0);
        r.insert(Seq(110), seg(p, 110, 10), nxt, WND).unwrap();
        r.insert(Seq(130), seg(p, 130, 10), nxt, WND).unwrap();
        r.insert(Seq(200), seg(p, 200, 50), nxt, WND).unwrap();
        // 100..210: covers the first two, holds the head of the third.
        r.insert(Seq(100), seg(p, 100, 110), nxt, WND).unwrap();
        assert_eq!((r.len(), r.bytes()), (2, 150));
        assert_eq!(p.free(), 6, "the covered two went back");
        let (end, lens) = drain(&mut r, Seq(100));
        assert_eq!((end, lens), (Seq(250), vec![100, 50]));
        // Covering everything queued, with the queue full.
        let mut r = Reassembly::new();
        for k in 0..4 {
            r.insert(Seq(10 + 10 * k), seg(p, 10 + 10 * k, 5), nxt, WND)
                .unwrap();
        }
        r.insert(Seq(5), seg(p, 5, 100), nxt, WND).unwrap();
        assert_eq!((r.len(), r.bytes()), (1, 100));
        assert_eq!(p.free(), 7);
    }

    #[test]
    fn only_the_window_is_kept() {
        let p = pool::<8>();
        let mut r = Reassembly::new();
        let (nxt, wnd) = (Seq(1000), 500);
        // Wholly beyond the window, and starting at its end.
        assert!(r.insert(Seq(2000), seg(p, 2000, 10), nxt, wnd).is_err());
        assert!(r.insert(Seq(1500), seg(p, 1500, 10), nxt, wnd).is_err());
        // Straddling its end: trimmed.
        r.insert(Seq(1450), seg(p, 1450, 100), nxt, wnd).unwrap();
        assert_eq!(r.bytes(), 50);
        // Straddling rcv_nxt: the old bytes pulled.
        r.insert(Seq(900), seg(p, 900, 150), nxt, wnd).unwrap();
        assert_eq!(r.bytes(), 100);
        let (end, lens) = drain(&mut r, nxt);
        assert_eq!((end, lens), (Seq(1050), vec![50]));
        // A zero window keeps nothing.
        assert!(r.insert(Seq(1050), seg(p, 1050, 1), Seq(1050), 0).is_err());
        // A segment from far behind (more than half the circle) is not
        // mistaken for one ahead.
        assert!(r
            .insert(Seq(1000) + (u32::MAX / 2 + 2), seg(p, 0, 10), nxt, wnd)
            .is_err());
        r.clear();
        assert_eq!(p.free(), 8);
    }

    #[test]
    fn the_queue_holds_a_bounded_number_of_segments() {
        let p = pool::<64>();
        let mut r = Reassembly::new();
        let nxt = Seq(0);
        for k in 0..REASM_CAPACITY as u32 {
            r.insert(Seq(10 + 10 * k), seg(p, 10 + 10 * k, 1), nxt, WND)
                .unwrap();
        }
        let refused = r.insert(Seq(5000), seg(p, 5000, 1), nxt, WND).unwrap_err();
        assert_eq!(refused.data(), &[byte(5000)]);
        drop(refused);
        assert_eq!(r.len(), REASM_CAPACITY);
        assert_eq!(p.census().of(MbufState::Socket), REASM_CAPACITY);
        // One delivered makes room.
        assert!(r.pop_ready(Seq(10)).is_some());
        r.insert(Seq(5000), seg(p, 5000, 1), nxt, WND).unwrap();
        r.clear();
        assert_eq!(p.census().of(MbufState::Free), 64);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let p = pool::<8>();
        let mut r = Reassembly::new();
        let nxt = Seq(u32::MAX - 99);
        // Segments on both sides of 2^32.
        r.insert(Seq(50), seg(p, 50, 50), nxt, WND).unwrap();
        r.insert(Seq(u32::MAX - 49), seg(p, u32::MAX - 49, 100), nxt, WND)
            .unwrap();
        // Inside those two: a duplicate across the wrap.
        assert!(r
            .insert(Seq(u32::MAX - 9), seg(p, u32::MAX - 9, 30), nxt, WND)
            .is_err());
        assert!(r.pop_ready(nxt).is_none());
        assert_eq!(r.bytes(), 150);
        let (end, lens) = drain(&mut r, Seq(u32::MAX - 49));
        assert_eq!((end, lens), (Seq(100), vec![100, 50]));
        assert_eq!(p.free(), 8);
    }

    #[test]
    fn pop_ready_trims_and_drops_what_came_another_way() {
        let p = pool::<8>();
        let mut r = Reassembly::new();
        let nxt = Seq(0);
        r.insert(Seq(100), seg(p, 100, 100), nxt, WND).unwrap();
        r.insert(Seq(300), seg(p, 300, 100), nxt, WND).unwrap();
        // A retransmission covered 0..350: the first is stale, the second
        // starts 50 bytes in.
        let m = r.pop_ready(Seq(350)).unwrap();
        assert_eq!(m.data(), &(350..400).map(byte).collect::<Vec<_>>()[..]);
        assert_eq!(m.state(), MbufState::InStack);
        drop(m);
        assert!(r.is_empty());
        assert_eq!(p.free(), 8);
    }

    #[test]
    fn a_segment_straddling_rcv_nxt_still_orders_the_queue() {
        let p = pool::<8>();
        let mut r = Reassembly::new();
        r.insert(Seq(100), seg(p, 100, 100), Seq(0), WND).unwrap();
        // rcv_nxt moved to 150 (a retransmission delivered 0..150); a new
        // segment 120..250 overlaps what is queued: only 200..250 is new.
        r.insert(Seq(120), seg(p, 120, 130), Seq(150), WND).unwrap();
        assert_eq!((r.len(), r.bytes()), (2, 100));
        let (end, lens) = drain(&mut r, Seq(150));
        assert_eq!((end, lens), (Seq(250), vec![50, 50]));
        assert_eq!(p.free(), 8);
    }

    #[test]
    fn sack_blocks_put_the_latest_first() {
        let p = pool::<8>();
        let mut r = Reassembly::new();
        let nxt = Seq(0);
        let mut out = [(Seq(0), Seq(0)); 3];
        assert_eq!(r.sack_blocks(&mut out), 0);
        r.insert(Seq(100), seg(p, 100, 10), nxt, WND).unwrap();
        r.insert(Seq(300), seg(p, 300, 10), nxt, WND).unwrap();
        r.insert(Seq(500), seg(p, 500, 10), nxt, WND).unwrap();
        r.insert(Seq(310), seg(p, 310, 10), nxt, WND).unwrap(); // joins 300..310
        assert_eq!(r.sack_blocks(&mut out), 3);
        assert_eq!(
            out,
            [
                (Seq(300), Seq(320)),
                (Seq(100), Seq(110)),
                (Seq(500), Seq(510))
            ]
        );
        // Room for fewer blocks than there are: the latest still first.
        let mut two = [(Seq(0), Seq(0)); 2];
        r.insert(Seq(700), seg(p, 700, 10), nxt, WND).unwrap();
        assert_eq!(r.sack_blocks(&mut two), 2);
        assert_eq!(two, [(Seq(700), Seq(710)), (Seq(100), Seq(110))]);
    }

    /// The bytes (as offsets from `rcv_nxt`) the queue holds, checking on
    /// the way that segments are in order, apart, non-empty, inside the
    /// window, and hold the stream's bytes.
    fn held(r: &Reassembly, rcv_nxt: Seq, wnd: u32) -> std::collections::BTreeSet<u32> {
        let mut held = std::collections::BTreeSet::new();
        let mut prev_end = 0;
        for s in r.q[..r.n].iter().map(|s| s.as_ref().unwrap()) {
            let (start, end) = (s.seq.diff(rcv_nxt), s.end().diff(rcv_nxt));
            assert!(start >= prev_end && start < end && end <= wnd);
            for (k, &b) in s.m.data().iter().enumerate() {
                assert_eq!(b, byte(s.seq.0.wrapping_add(k as u32)));
            }
            held.extend(start..end);
            prev_end = end;
        }
        assert!(r.q[r.n..].iter().all(Option::is_none));
        held
    }

    proptest::proptest! {
        /// Any segments in any order: the queue holds exactly the bytes of
        /// those it accepted, a refusal (when not full) means it had them
        /// all, and what comes out is the stream, once, in order.
        #[test]
        fn any_arrival_order_gives_the_stream_back(
            base in proptest::prelude::any::<u32>(),
            wnd in 1u32..4000,
            segs in proptest::collection::vec((0u32..5000, 0usize..700), 1..60),
        ) {
            let p = pool::<96>();
            let mut r = Reassembly::new();
            let nxt = Seq(base);
            let mut want = std::collections::BTreeSet::new();
            for &(off, len) in &segs {
                // Some start before rcv_nxt (offsets past the window come
                // back round as "before").
                let seq = nxt + off - 100;
                let was_full = r.len() == REASM_CAPACITY;
                let in_window: Vec<u32> = (0..len as u32)
                    .map(|k| (seq + k).diff(nxt))
                    .filter(|&o| o < wnd)
                    .collect();
                match r.insert(seq, seg(p, seq.0, len), nxt, wnd) {
                    Ok(()) => want.extend(in_window),
                    Err(_) if was_full => {}
                    Err(_) => assert!(in_window.iter().all(|o| want.contains(o))),
                }
                assert_eq!(held(&r, nxt, wnd), want);
            }
            // The run from rcv_nxt comes out, in order, nothing else.
            let run = (0..).take_while(|o| want.contains(o)).count() as u32;
            let (end, _) = drain(&mut r, nxt);
            assert_eq!(end, nxt + run);
            assert_eq!(r.bytes() as u32, want.len() as u32 - run);
            r.clear();
            assert_eq!(p.census().of(MbufState::Free), 96);
        }
    }
}
