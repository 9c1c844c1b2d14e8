//! The SACK scoreboard (RFC 6675, a simple form): what the peer's SACK
//! blocks (RFC 2018) say it holds beyond SND.UNA, so that recovery resends
//! the holes between them, the first of each loss first, instead of one
//! lost segment per round trip as NewReno alone would.
//!
//! Only blocks inside what we sent and not yet acknowledged are taken
//! (a peer cannot make us believe it holds what we never sent); they are
//! kept merged and sorted, in a fixed number of ranges: when more
//! disjoint ranges arrive than it holds, the highest go, which only makes
//! us resend more than needed. A hole counts as lost (RFC 6675 `IsLost`,
//! simplified) once the peer holds something past it.

use super::seq::Seq;

/// Disjoint SACKed ranges kept at most.
pub const SCOREBOARD_RANGES: usize = 8;

/// The ranges the peer said it holds, sorted, none touching another.
#[derive(Clone, Copy, Debug)]
pub struct Scoreboard {
    r: [(Seq, Seq); SCOREBOARD_RANGES],
    n: usize,
}

impl Scoreboard {
    pub const fn new() -> Scoreboard {
        Scoreboard {
            r: [(Seq(0), Seq(0)); SCOREBOARD_RANGES],
            n: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn clear(&mut self) {
        self.n = 0;
    }

    /// The ranges held (left edge, right edge).
    pub fn ranges(&self) -> &[(Seq, Seq)] {
        &self.r[..self.n]
    }

    /// Takes the SACK blocks of an ACK: those within (`snd_una`,
    /// `snd_max`] are merged in; the rest are ignored. Returns how many
    /// bytes the peer said it holds that it had not said before: an ACK
    /// that SACKs new data is what RFC 6675 counts as a duplicate.
    pub fn update(&mut self, blocks: &[(Seq, Seq)], snd_una: Seq, snd_max: Seq) -> u32 {
        self.acked(snd_una);
        let before = self.held();
        for &(left, right) in blocks {
            if left.lt(right) && snd_una.le(left) && right.le(snd_max) {
                self.insert(left, right);
            }
        }
        self.held().saturating_sub(before)
    }

    /// The end of the highest range the peer holds.
    pub fn highest(&self) -> Option<Seq> {
        self.ranges().last().map(|&(_, right)| right)
    }

    /// The bytes the peer holds beyond SND.UNA, by its SACK blocks.
    pub fn held(&self) -> u32 {
        self.ranges()
            .iter()
            .map(|&(left, right)| right.diff(left))
            .sum()
    }

    /// RFC 6675 `IsLost(SND.UNA)`: the first unacknowledged segment is
    /// taken as lost once more than `(DupThresh - 1) * SMSS` bytes past
    /// it are SACKed (or that many separate ranges are), even if the
    /// duplicate ACKs that said so did not all arrive.
    pub fn first_is_lost(&self, dup_thresh: u32, mss: u32) -> bool {
        self.n >= dup_thresh as usize || self.held() > (dup_thresh - 1) * mss
    }

    /// SND.UNA moved to `una`: what lies before it is forgotten.
    pub fn acked(&mut self, una: Seq) {
        let mut k = 0;
        for i in 0..self.n {
            let (left, right) = self.r[i];
            if right.le(una) {
                continue;
            }
            self.r[k] = (if left.lt(una) { una } else { left }, right);
            k += 1;
        }
        self.n = k;
    }

    /// The first hole at or after `from` that the peer holds data beyond:
    /// its start and its length (up to the next SACKed range).
    pub fn next_hole(&self, from: Seq) -> Option<(Seq, u32)> {
        let mut at = from;
        for &(left, right) in self.ranges() {
            if at.lt(left) {
                return Some((at, left.diff(at)));
            }
            if at.lt(right) {
                at = right;
            }
        }
        None
    }

    /// Merges `[left, right)` into the sorted ranges.
    fn insert(&mut self, mut left: Seq, mut right: Seq) {
        let mut out = [(Seq(0), Seq(0)); SCOREBOARD_RANGES + 1];
        let mut k = 0;
        let mut placed = false;
        for &(l, r) in self.ranges() {
            if r.lt(left) {
                out[k] = (l, r);
                k += 1;
            } else if right.lt(l) {
                if !placed {
                    out[k] = (left, right);
                    k += 1;
                    placed = true;
                }
                out[k] = (l, r);
                k += 1;
            } else {
                // Overlapping or touching: one range.
                if l.lt(left) {
                    left = l;
                }
                if right.lt(r) {
                    right = r;
                }
            }
        }
        if !placed {
            out[k] = (left, right);
            k += 1;
        }
        self.n = k.min(SCOREBOARD_RANGES);
        self.r.copy_from_slice(&out[..SCOREBOARD_RANGES]);
    }
}

impl Default for Scoreboard {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: u32) -> Seq {
        Seq(v)
    }

    #[test]
    fn update_tells_what_is_newly_held_and_when_the_first_is_lost() {
        let mss = 100;
        let mut b = Scoreboard::new();
        assert_eq!(b.update(&[(s(100), s(200))], s(0), s(1000)), 100);
        assert_eq!(
            b.update(&[(s(100), s(200))], s(0), s(1000)),
            0,
            "said before"
        );
        assert!(!b.first_is_lost(3, mss));
        assert_eq!(b.update(&[(s(150), s(300))], s(0), s(1000)), 100);
        assert_eq!(b.held(), 200);
        assert!(
            !b.first_is_lost(3, mss),
            "exactly 2 SMSS is not more than 2"
        );
        assert_eq!(b.update(&[(s(400), s(401))], s(0), s(1000)), 1);
        assert!(b.first_is_lost(3, mss));
        assert_eq!(
            b.update(&[(s(900), s(2000))], s(0), s(1000)),
            0,
            "never sent"
        );
    }

    #[test]
    fn blocks_merge_and_holes_are_found_between_them() {
        let mut b = Scoreboard::new();
        b.update(&[(s(300), s(400)), (s(100), s(200))], s(0), s(1000));
        assert_eq!(b.ranges(), [(s(100), s(200)), (s(300), s(400))]);
        b.update(&[(s(200), s(300))], s(0), s(1000));
        assert_eq!(b.ranges(), [(s(100), s(400))]);
        assert_eq!(b.next_hole(s(0)), Some((s(0), 100)));
        assert_eq!(b.next_hole(s(150)), None, "nothing held beyond 400");
        b.update(&[(s(600), s(700))], s(0), s(1000));
        assert_eq!(b.next_hole(s(100)), Some((s(400), 200)));
    }

    #[test]
    fn blocks_outside_what_was_sent_are_ignored() {
        let mut b = Scoreboard::new();
        b.update(
            &[(s(50), s(150)), (s(900), s(1100)), (s(300), s(200))],
            s(100),
            s(1000),
        );
        assert!(b.is_empty());
    }

    #[test]
    fn an_ack_trims_the_ranges_and_sequence_numbers_wrap() {
        let mut b = Scoreboard::new();
        let base = s(u32::MAX - 50);
        b.update(&[(base + 10, base + 100)], base, base + 200);
        assert_eq!(b.next_hole(base), Some((base, 10)));
        b.acked(base + 60);
        assert_eq!(b.ranges(), [(base + 60, base + 100)]);
        b.acked(base + 100);
        assert!(b.is_empty());
    }

    #[test]
    fn more_ranges_than_it_holds_drop_the_highest() {
        let mut b = Scoreboard::new();
        for i in 0..SCOREBOARD_RANGES as u32 + 2 {
            b.update(&[(s(100 * i + 50), s(100 * i + 60))], s(0), s(10_000));
        }
        assert_eq!(b.ranges().len(), SCOREBOARD_RANGES);
        assert_eq!(b.ranges()[0], (s(50), s(60)));
    }
}
