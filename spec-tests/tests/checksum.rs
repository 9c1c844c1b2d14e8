//! `wire::checksum` against a plain RFC 1071 sum over 16-bit words, on random
//! data added in random pieces.

use proptest::prelude::*;
use wire::checksum::{internet_checksum, Checksum};

/// RFC 1071 section 4.1, word by word, with the odd byte padded.
fn reference(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for w in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

proptest! {
    #[test]
    fn matches_the_reference(data in proptest::collection::vec(any::<u8>(), 0..300), cuts in proptest::collection::vec(0usize..300, 0..6)) {
        prop_assert_eq!(internet_checksum(&data), reference(&data));
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.sort_unstable();
        let mut sum = Checksum::new();
        let mut start = 0;
        for c in cuts.into_iter().chain([data.len()]) {
            sum.add(&data[start..c]);
            start = c;
        }
        prop_assert_eq!(sum.finish(), reference(&data));
    }
}
