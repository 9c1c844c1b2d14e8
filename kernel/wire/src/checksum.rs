//! The Internet checksum (RFC 1071), hand-written: the generated modules'
//! `checksum_ok` / `fill_checksum` helpers are built on it.
//!
//! The sum is taken over 16-bit big-endian words; an odd byte at the end
//! counts as the high byte of a word padded with zero. Data may be added in
//! pieces of any length: a piece that ends in the middle of a word is
//! continued by the next one.

/// A running one's complement sum. What checking a message takes is
/// `#[inline]`: the stack checks two checksums of every frame it
/// receives, from another crate, over a few dozen bytes, where a call
/// costs as much as the sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checksum {
    /// Sum of whole 16- or 32-bit big-endian words, folded in `finish`.
    sum: u64,
    /// The high byte of a word whose low byte has not been added yet.
    pending: Option<u8>,
}

impl Checksum {
    pub const fn new() -> Self {
        Self {
            sum: 0,
            pending: None,
        }
    }

    /// Adds the first `len` bytes of a message held in `pieces`, in
    /// order (a datagram reassembled from fragments). False when the
    /// pieces hold fewer.
    pub fn add_pieces<'r>(
        &mut self,
        pieces: impl IntoIterator<Item = &'r [u8]>,
        len: usize,
    ) -> bool {
        let mut left = len;
        for piece in pieces {
            let take = piece.len().min(left);
            self.add(&piece[..take]);
            left -= take;
        }
        left == 0
    }

    /// Adds bytes as big-endian 16-bit words.
    #[inline]
    pub fn add(&mut self, mut bytes: &[u8]) {
        if let Some(hi) = self.pending.take() {
            match bytes.split_first() {
                Some((&lo, rest)) => {
                    self.sum += u64::from(u16::from_be_bytes([hi, lo]));
                    bytes = rest;
                }
                None => {
                    self.pending = Some(hi);
                    return;
                }
            }
        }
        // Summing 32-bit words and folding later gives the same one's
        // complement sum as 16-bit words (2^16 = 1 mod 0xffff), in half the steps.
        let mut quads = bytes.chunks_exact(4);
        for q in &mut quads {
            self.sum += u64::from(u32::from_be_bytes([q[0], q[1], q[2], q[3]]));
        }
        match *quads.remainder() {
            [] => {}
            [a] => self.pending = Some(a),
            [a, b] => self.sum += u64::from(u16::from_be_bytes([a, b])),
            [a, b, c] => {
                self.sum += u64::from(u16::from_be_bytes([a, b]));
                self.pending = Some(c);
            }
            _ => unreachable!("chunks_exact(4) leaves at most 3 bytes"),
        }
    }

    /// The sum of the IPv4 pseudo-header (RFC 768, RFC 9293 section
    /// 3.1): source, destination, zero, `protocol`, and the length of what
    /// follows (`len`, saturated at 65535: a message that long cannot be
    /// sent anyway, and its check must not wrap).
    #[inline]
    pub fn ipv4_pseudo_header(src: [u8; 4], dst: [u8; 4], protocol: u8, len: usize) -> Self {
        // The words summed as `add` sums them (addresses as 32-bit words),
        // without its steps for bytes in pieces.
        let words = [
            u32::from_be_bytes(src),
            u32::from_be_bytes(dst),
            u32::from(protocol),
            u32::from(u16::try_from(len).unwrap_or(u16::MAX)),
        ];
        Self {
            sum: words.iter().copied().map(u64::from).sum(),
            pending: None,
        }
    }

    /// Adds `bytes` with the 16-bit word at `offset` counted as zero: the
    /// sum a checksum field is computed from, the field itself left out.
    pub fn add_without_word(&mut self, bytes: &[u8], offset: usize) {
        let (head, rest) = bytes.split_at(offset.min(bytes.len()));
        self.add(head);
        self.add(rest.get(2..).unwrap_or(&[]));
    }

    /// Adds one 16-bit word (as if its big-endian bytes were added).
    #[inline]
    pub fn add_u16(&mut self, word: u16) {
        self.add(&word.to_be_bytes());
    }

    /// Adds the bytes `tail` summed (from their first byte on) as if they
    /// followed those added so far: the sum of a message held in pieces.
    /// After an odd number of bytes each of the tail's bytes sits in the
    /// other half of its word, which multiplies its sum by 256 modulo
    /// 0xffff: the folded sum with its bytes swapped (RFC 1071, 2.(B)).
    /// The tail must come last: nothing may be added after it.
    pub fn append(&mut self, tail: Checksum) {
        let folded = !tail.finish();
        match self.pending.take() {
            None => {
                self.sum += u64::from(folded);
            }
            Some(hi) => {
                self.sum += u64::from(u16::from_be_bytes([hi, 0]));
                self.sum += u64::from(folded.swap_bytes());
            }
        }
    }

    /// The one's complement of the folded sum: the value to store in a
    /// checksum field, or 0 when checking data that includes its checksum.
    #[inline]
    pub fn finish(self) -> u16 {
        let mut sum = self.sum;
        if let Some(hi) = self.pending {
            sum += u64::from(u16::from_be_bytes([hi, 0]));
        }
        // Folded without a loop, each carry added back in (RFC 1071): the
        // two 32-bit halves, then the two 16-bit halves, which the word
        // plus itself rotated by 16 holds in its upper half.
        let (half, carry) = (sum as u32).overflowing_add((sum >> 32) as u32);
        let half = half + u32::from(carry);
        !((half.wrapping_add(half.rotate_left(16)) >> 16) as u16)
    }
}

/// The checksum field of a message once the bytes `old` in it became
/// `new` (as long, from an even offset), without the rest of the message:
/// RFC 1624's `HC' = ~(~HC + ~m + m')`. A translator rewrites an address
/// or a port so in a header whose message it does not hold whole.
pub fn adjust(checksum: u16, old: &[u8], new: &[u8]) -> u16 {
    let mut sum = Checksum::new();
    sum.add_u16(!checksum);
    for word in old.chunks(2) {
        let low = word.get(1).copied().unwrap_or(0);
        sum.add_u16(!u16::from_be_bytes([word[0], low]));
    }
    sum.add(new);
    sum.finish()
}

/// The Internet checksum of `bytes`.
#[inline]
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum = Checksum::new();
    sum.add(bytes);
    sum.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fold_adds_every_carry_back() {
        // RFC 1071's fold, 16 bits at a time, against `finish`'s.
        let by_loop = |mut sum: u64| {
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            !(sum as u16)
        };
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let edges = [
            0,
            1,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            1 << 32,
            u64::MAX - 1,
            u64::MAX,
        ];
        let randoms = (0..10_000).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x >> (x % 40)
        });
        for sum in edges.into_iter().chain(randoms) {
            let c = Checksum { sum, pending: None };
            assert_eq!(c.finish(), by_loop(sum), "sum {sum:#x}");
        }
    }

    #[test]
    fn an_adjusted_checksum_is_the_one_computed_again() {
        let mut bytes: [u8; 20] = core::array::from_fn(|i| (i as u8).wrapping_mul(91) ^ 0x3c);
        for (at, new) in [
            (0, [0u8, 0]),
            (6, [0xff, 0xff]),
            (12, [0x80, 0x01]),
            (18, [1, 2]),
        ] {
            let before = internet_checksum(&bytes);
            let old = [bytes[at], bytes[at + 1]];
            bytes[at..at + 2].copy_from_slice(&new);
            assert_eq!(
                adjust(before, &old, &new),
                internet_checksum(&bytes),
                "at {at}"
            );
        }
        let before = internet_checksum(&bytes);
        let old: [u8; 4] = bytes[4..8].try_into().unwrap();
        bytes[4..8].copy_from_slice(&[10, 0, 3, 2]);
        assert_eq!(
            adjust(before, &old, &[10, 0, 3, 2]),
            internet_checksum(&bytes)
        );
    }

    #[test]
    fn a_message_summed_in_pieces_sums_as_a_whole() {
        let bytes: [u8; 23] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xa5);
        for split in 0..bytes.len() {
            let (head, tail) = bytes.split_at(split);
            let mut sum = Checksum::new();
            sum.add(head);
            let mut rest = Checksum::new();
            rest.add(tail);
            sum.append(rest);
            assert_eq!(sum.finish(), internet_checksum(&bytes), "split at {split}");
        }
    }
}
