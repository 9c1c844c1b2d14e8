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
    /// `snd_max`] are merged in; the rest are ignored.
    pub fn update(&mut self, blocks: &[(Seq, Seq)], snd_una: Seq, snd_max: Seq) {
        self.acked(snd_una);
        for &(left, right) in blocks {
            if left.lt(right) && snd_una.le(left) && right.le(snd_max) {
                self.insert(left, right);
            }
        }
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
