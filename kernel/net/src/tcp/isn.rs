//! Initial sequence numbers, RFC 6528 ("Defending against Sequence Number
//! Attacks"), section 3:
//!
//! ```text
//! ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//! ```
//!
//! `M` is a timer that ticks every 4 microseconds, so successive
//! connections between the same two sockets get increasing ISNs (old
//! duplicates of a previous incarnation fall outside the new one's window,
//! RFC 9293 section 3.4.1); `F` is a keyed hash of the connection's
//! 4-tuple, so an off-path attacker who sees the ISNs of its own
//! connections learns nothing about those of others. `F` is SipHash-2-4
//! (the `siphasher` crate) keyed with 128 secret bits, as Linux does; its
//! low 32 bits are added to `M`.
//!
//! The key must be secret and random: the kernel sets one at boot
//! ([`IsnGen::set_key`]). Before that the key is all zeros, which still
//! gives each 4-tuple its own numbers, but predictable ones.

use core::hash::Hasher;

use siphasher::sip::SipHasher24;

use super::seq::Seq;
use crate::Ipv4Addr;

/// Microseconds per tick of `M` (RFC 6528 section 3).
pub const ISN_CLOCK_US: u64 = 4;

/// Makes the ISNs of new connections.
#[derive(Clone)]
pub struct IsnGen {
    key: [u8; 16],
    keyed: bool,
}

impl IsnGen {
    pub const fn new() -> IsnGen {
        IsnGen {
            key: [0; 16],
            keyed: false,
        }
    }

    /// Sets the secret key (random bits, from the kernel at boot).
    pub fn set_key(&mut self, key: [u8; 16]) {
        self.key = key;
        self.keyed = true;
    }

    /// Has a key been set?
    pub fn is_keyed(&self) -> bool {
        self.keyed
    }

    /// The ISN of a connection from `local` to `remote` (address, port)
    /// opened at `now_us` microseconds.
    pub fn isn(&self, now_us: u64, local: (Ipv4Addr, u16), remote: (Ipv4Addr, u16)) -> Seq {
        // M wraps with the sequence space: only its low 32 bits matter.
        let m = (now_us / ISN_CLOCK_US) as u32;
        let mut f = SipHasher24::new_with_key(&self.key);
        f.write(&local.0);
        f.write(&local.1.to_be_bytes());
        f.write(&remote.0);
        f.write(&remote.1.to_be_bytes());
        Seq(m.wrapping_add(f.finish() as u32))
    }
}

impl Default for IsnGen {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key of the SipHash paper's test vectors: bytes 0, 1, ..., 15.
    fn paper_key() -> [u8; 16] {
        core::array::from_fn(|i| i as u8)
    }

    #[test]
    fn f_is_siphash_2_4_of_the_four_tuple() {
        // With the tuple laid out as bytes 0..12, F is the paper's vector
        // for a 12-byte message (Aumasson and Bernstein, "SipHash",
        // appendix A; vectors.h, entry 12).
        let mut g = IsnGen::new();
        g.set_key(paper_key());
        let vector = u64::from_le_bytes([0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75]);
        let local = ([0, 1, 2, 3], u16::from_be_bytes([4, 5]));
        let remote = ([6, 7, 8, 9], u16::from_be_bytes([10, 11]));
        assert_eq!(g.isn(0, local, remote), Seq(vector as u32));
    }

    #[test]
    fn m_ticks_every_four_microseconds_and_wraps() {
        let mut g = IsnGen::new();
        g.set_key(paper_key());
        let (a, b) = (([10, 0, 2, 15], 40000), ([10, 0, 2, 2], 80));
        let base = g.isn(0, a, b);
        assert_eq!(g.isn(3, a, b), base);
        assert_eq!(g.isn(4, a, b), base + 1);
        assert_eq!(g.isn(4_000_000, a, b), base + 1_000_000);
        // After 2^32 ticks (about 4.8 hours) M is back where it started.
        assert_eq!(g.isn(ISN_CLOCK_US << 32, a, b), base);
    }

    #[test]
    fn each_connection_and_key_has_its_own_numbers() {
        let mut g = IsnGen::new();
        assert!(!g.is_keyed());
        let (a, b) = (([10, 0, 2, 15], 40000), ([10, 0, 2, 2], 80));
        let unkeyed = g.isn(1000, a, b);
        g.set_key(paper_key());
        assert!(g.is_keyed());
        let keyed = g.isn(1000, a, b);
        assert_ne!(unkeyed, keyed, "the key changes F");
        // Another port, the other direction, another address.
        assert_ne!(g.isn(1000, (a.0, 40001), b), keyed);
        assert_ne!(g.isn(1000, b, a), keyed);
        assert_ne!(g.isn(1000, ([10, 0, 2, 16], a.1), b), keyed);
        // The same tuple at the same time: the same number.
        assert_eq!(g.isn(1000, a, b), keyed);
    }
}
