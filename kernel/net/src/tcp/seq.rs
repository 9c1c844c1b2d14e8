//! TCP sequence numbers: 32-bit counters compared modulo 2^32.
//!
//! RFC 9293, section 3.4: "all arithmetic dealing with sequence numbers
//! must be performed modulo 2**32". A sequence number is a point on a
//! circle, so `a < b` means "b is less than half the circle ahead of a":
//! the signed difference `b - a` (as `i32`) is positive. Two numbers
//! exactly 2^31 apart are ordered by that sign too (the RFC leaves this
//! case open; a window never spans it, since RFC 7323 caps windows at
//! 2^30).
//!
//! The plain `u32` is kept out of the TCP code so that nobody compares
//! sequence numbers with `<` by mistake: the wrap at 2^32 would reverse
//! the answer once per 4 GiB sent.

use core::ops::{Add, AddAssign, Sub};

/// A TCP sequence (or acknowledgment) number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Seq(pub u32);

impl Seq {
    /// The signed distance from `other` to `self` (positive when `self`
    /// is ahead).
    const fn delta(self, other: Seq) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// `self` comes strictly before `other`.
    pub const fn lt(self, other: Seq) -> bool {
        self.delta(other) < 0
    }

    /// `self` comes before or is `other`.
    pub const fn le(self, other: Seq) -> bool {
        self.delta(other) <= 0
    }

    /// `self` comes strictly after `other`.
    pub const fn gt(self, other: Seq) -> bool {
        self.delta(other) > 0
    }

    /// `self` comes after or is `other`.
    pub const fn ge(self, other: Seq) -> bool {
        self.delta(other) >= 0
    }

    /// How many sequence numbers lie from `earlier` up to `self`
    /// (wrapping; meaningful when `earlier` is not after `self`).
    pub const fn diff(self, earlier: Seq) -> u32 {
        self.0.wrapping_sub(earlier.0)
    }

    /// `start <= self < start + len`, the window test of RFC 9293
    /// section 3.4 ("RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND"). An empty
    /// window holds nothing. Measured as a distance from `start`, so it
    /// holds across the wrap and for any `len` up to 2^32 - 1.
    pub const fn in_window(self, start: Seq, len: u32) -> bool {
        self.diff(start) < len
    }

    /// The later of two numbers.
    pub const fn max(self, other: Seq) -> Seq {
        if self.lt(other) {
            other
        } else {
            self
        }
    }

    /// The earlier of two numbers.
    pub const fn min(self, other: Seq) -> Seq {
        if self.gt(other) {
            other
        } else {
            self
        }
    }
}

impl Add<u32> for Seq {
    type Output = Seq;

    fn add(self, n: u32) -> Seq {
        Seq(self.0.wrapping_add(n))
    }
}

impl Sub<u32> for Seq {
    type Output = Seq;

    fn sub(self, n: u32) -> Seq {
        Seq(self.0.wrapping_sub(n))
    }
}

impl AddAssign<u32> for Seq {
    fn add_assign(&mut self, n: u32) {
        *self = *self + n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_without_wrap() {
        let (a, b) = (Seq(100), Seq(200));
        assert!(a.lt(b) && a.le(b) && !a.gt(b) && !a.ge(b));
        assert!(b.gt(a) && b.ge(a) && !b.lt(a) && !b.le(a));
        assert!(a.le(a) && a.ge(a) && !a.lt(a) && !a.gt(a));
    }

    #[test]
    fn order_across_the_wrap() {
        // 2^32 - 16 is 32 before 16 on the circle.
        let (before, after) = (Seq(u32::MAX - 15), Seq(16));
        assert!(before.lt(after));
        assert!(after.gt(before));
        assert_eq!(after.diff(before), 32);
        assert_eq!(before + 32, after);
        assert_eq!(before.max(after), after);
        assert_eq!(after.min(before), before);
    }

    #[test]
    fn half_the_circle_apart() {
        // Just under half the circle ahead is still "after".
        let a = Seq(7);
        assert!((a + u32::MAX / 2).gt(a));
        // Just over half is "before" (it went the other way round).
        assert!((a + (u32::MAX / 2 + 2)).lt(a));
    }

    #[test]
    fn addition_wraps() {
        let mut s = Seq(u32::MAX);
        s += 1;
        assert_eq!(s, Seq(0));
        assert_eq!(Seq(u32::MAX - 1) + 5, Seq(3));
        assert_eq!(Seq(3) - 5, Seq(u32::MAX - 1));
    }

    #[test]
    fn diff_wraps() {
        assert_eq!(Seq(5).diff(Seq(u32::MAX)), 6);
        assert_eq!(Seq(5).diff(Seq(5)), 0);
    }

    #[test]
    fn window_bounds() {
        let start = Seq(1000);
        assert!(Seq(1000).in_window(start, 10)); // start is inside
        assert!(Seq(1009).in_window(start, 10)); // last byte is inside
        assert!(!Seq(1010).in_window(start, 10)); // start + len is not
        assert!(!Seq(999).in_window(start, 10)); // before the start is not
        assert!(!Seq(1000).in_window(start, 0)); // an empty window holds nothing
    }

    #[test]
    fn window_across_the_wrap() {
        let start = Seq(u32::MAX - 2);
        assert!(Seq(u32::MAX).in_window(start, 8));
        assert!(Seq(4).in_window(start, 8));
        assert!(!Seq(5).in_window(start, 8));
        assert!(!Seq(u32::MAX - 3).in_window(start, 8));
    }
}
