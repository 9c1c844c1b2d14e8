//! The retransmission timeout of a connection: RFC 6298 ("Computing TCP's
//! Retransmission Timer").
//!
//! Round-trip samples feed a smoothed RTT (SRTT) and its variation
//! (RTTVAR); the timeout is `SRTT + max(G, 4 * RTTVAR)` (section 2), `G`
//! being the clock's granularity: the stack's timers run on the kernel's
//! tick, so that is one tick. Each expiry doubles it (section 5.5, "back
//! off the timer") up to the maximum.
//!
//! Which samples are taken is the caller's part: Karn's algorithm (section
//! 3) forbids timing a segment that was retransmitted, since its ACK may
//! answer either copy. A fresh sample also ends the backoff: the timeout is
//! computed from it again (section 5, the note after 5.7).
//!
//! Bounds: 1 s before any sample (2.1), at most 60 s (2.5 allows a maximum
//! of at least 60 s). The minimum is 200 ms, as Linux has it, not the 1 s
//! of rule 2.4: the RFC's 1 s was chosen for coarse clocks, and on a LAN or
//! loopback, where RTTs are well under a millisecond, it would stall a lost
//! segment for a second; 200 ms still covers a delayed ACK (RFC 9293 caps
//! the delay at 500 ms but common stacks use 200 ms or less, ours too).
//!
//! SRTT and RTTVAR are kept in microseconds, so the RFC's 1/8 and 1/4 gains
//! lose nothing at millisecond samples; the timeout is rounded up to the
//! next millisecond (a timer that fires early is the costlier mistake).

use abi::syscall::TICK_HZ;

/// The timeout before the first sample (RFC 6298 2.1).
pub const INITIAL_RTO_MS: u32 = 1000;
/// The timeout before the first sample once a SYN was retransmitted
/// (RFC 6298 5.7).
pub const SYN_LOST_RTO_MS: u32 = 3000;
/// The smallest timeout (see the module doc for why not 1 s).
pub const MIN_RTO_MS: u32 = 200;
/// The largest timeout, backoff included (RFC 6298 2.5).
pub const MAX_RTO_MS: u32 = 60_000;
/// G: how finely the timers can measure time, one tick of the kernel.
pub const CLOCK_GRANULARITY_MS: u32 = (1000 / TICK_HZ) as u32;

const US_PER_MS: u64 = 1000;

/// The round-trip estimate and retransmission timeout of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rtt {
    /// SRTT and RTTVAR in microseconds; `None` before the first sample.
    smoothed: Option<(u64, u64)>,
    /// Expiries since the last sample or reset: the timeout is doubled
    /// this many times.
    backoffs: u32,
    /// The SYN was retransmitted: with no sample yet, start at 3 s.
    syn_lost: bool,
}

impl Rtt {
    pub const fn new() -> Rtt {
        Rtt {
            smoothed: None,
            backoffs: 0,
            syn_lost: false,
        }
    }

    /// A round-trip measurement `rtt_ms` (from a segment sent once, Karn):
    /// rules 2.2 (the first) and 2.3 (the next ones, RTTVAR before SRTT,
    /// since its rule uses the old SRTT). Ends the backoff.
    pub fn sample(&mut self, rtt_ms: u32) {
        let r = rtt_ms as u64 * US_PER_MS;
        self.smoothed = Some(match self.smoothed {
            None => (r, r / 2),
            Some((srtt, rttvar)) => {
                // RTTVAR <- (1 - 1/4) * RTTVAR + 1/4 * |SRTT - R'|
                let rttvar = (3 * rttvar + srtt.abs_diff(r)) / 4;
                // SRTT <- (1 - 1/8) * SRTT + 1/8 * R'
                let srtt = (7 * srtt + r) / 8;
                (srtt, rttvar)
            }
        });
        self.backoffs = 0;
    }

    /// The retransmission timeout now, in milliseconds, backoff applied
    /// and clamped to [`MIN_RTO_MS`]..=[`MAX_RTO_MS`].
    pub fn rto_ms(&self) -> u32 {
        let base = match self.smoothed {
            None if self.syn_lost => SYN_LOST_RTO_MS as u64,
            None => INITIAL_RTO_MS as u64,
            Some((srtt, rttvar)) => {
                let g = CLOCK_GRANULARITY_MS as u64 * US_PER_MS;
                (srtt + g.max(4 * rttvar)).div_ceil(US_PER_MS)
            }
        };
        // Rule 2.4's floor comes before the doubling, so a backed-off
        // timer doubles what was in force; the shift cannot overflow a
        // u64 once capped at 32 doublings of a 32-bit value.
        let rto = base.clamp(MIN_RTO_MS as u64, MAX_RTO_MS as u64) << self.backoffs.min(32);
        rto.min(MAX_RTO_MS as u64) as u32
    }

    /// The timer expired: double the timeout (rule 5.5).
    pub fn backoff(&mut self) {
        self.backoffs = self.backoffs.saturating_add(1);
    }

    /// New data was acknowledged without a sample (the segment had been
    /// retransmitted): the timeout goes back to the estimate's.
    pub fn reset_backoff(&mut self) {
        self.backoffs = 0;
    }

    /// Expiries since the last sample or reset (the caller gives up on the
    /// connection after some number of them).
    pub fn backoffs(&self) -> u32 {
        self.backoffs
    }

    /// The SYN (or SYN-ACK) was retransmitted: if no sample comes with the
    /// handshake, data starts with a 3 s timeout (rule 5.7).
    pub fn syn_lost(&mut self) {
        self.syn_lost = true;
    }

    /// The smoothed round-trip time, rounded to a millisecond; `None`
    /// before the first sample.
    pub fn srtt_ms(&self) -> Option<u32> {
        self.smoothed
            .map(|(srtt, _)| ((srtt + US_PER_MS / 2) / US_PER_MS) as u32)
    }

    /// The round-trip variation (RTTVAR), rounded to a millisecond.
    pub fn rttvar_ms(&self) -> Option<u32> {
        self.smoothed
            .map(|(_, var)| ((var + US_PER_MS / 2) / US_PER_MS) as u32)
    }
}

impl Default for Rtt {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_second_before_any_sample() {
        let r = Rtt::new();
        assert_eq!((r.rto_ms(), r.srtt_ms(), r.rttvar_ms()), (1000, None, None));
    }

    #[test]
    fn the_first_sample_sets_srtt_and_half_of_it_as_rttvar() {
        // Rule 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 RTTVAR).
        let mut r = Rtt::new();
        r.sample(100);
        assert_eq!((r.srtt_ms(), r.rttvar_ms()), (Some(100), Some(50)));
        assert_eq!(r.rto_ms(), 100 + 4 * 50);
    }

    #[test]
    fn later_samples_follow_rule_2_3() {
        let mut r = Rtt::new();
        r.sample(100);
        r.sample(200);
        // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5
        // SRTT   = 7/8 * 100 + 1/8 * 200       = 112.5
        // RTO    = 112.5 + 4 * 62.5            = 362.5, rounded up
        assert_eq!(r.rto_ms(), 363);
        r.sample(40);
        // RTTVAR = 3/4 * 62.5 + 1/4 * |112.5 - 40| = 65
        // SRTT   = 7/8 * 112.5 + 1/8 * 40         = 103.4375
        // RTO    = 103.4375 + 260                 = 363.4375, rounded up
        assert_eq!((r.rttvar_ms(), r.srtt_ms()), (Some(65), Some(103)));
        assert_eq!(r.rto_ms(), 364);
    }

    #[test]
    fn a_steady_path_tends_to_srtt_plus_g() {
        let mut r = Rtt::new();
        for _ in 0..200 {
            r.sample(1000);
        }
        // RTTVAR decays towards 0, so max(G, 4 RTTVAR) becomes G.
        assert_eq!(r.srtt_ms(), Some(1000));
        assert_eq!(r.rto_ms(), 1000 + CLOCK_GRANULARITY_MS);
    }

    #[test]
    fn the_timeout_is_clamped() {
        let mut fast = Rtt::new();
        fast.sample(1);
        // 1 + max(G, 2) = 11 ms, raised to the minimum.
        assert_eq!(fast.rto_ms(), MIN_RTO_MS);
        let mut slow = Rtt::new();
        slow.sample(50_000);
        // 50 s + 4 * 25 s, cut to the maximum.
        assert_eq!(slow.rto_ms(), MAX_RTO_MS);
        let mut huge = Rtt::new();
        huge.sample(u32::MAX);
        huge.sample(u32::MAX);
        assert_eq!(huge.rto_ms(), MAX_RTO_MS);
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let mut r = Rtt::new();
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(r.rto_ms());
            r.backoff();
        }
        assert_eq!(seen, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
        for _ in 0..100 {
            r.backoff();
        }
        assert_eq!((r.rto_ms(), r.backoffs()), (MAX_RTO_MS, 108));
        r.reset_backoff();
        assert_eq!((r.rto_ms(), r.backoffs()), (1000, 0));
    }

    #[test]
    fn backoff_doubles_the_clamped_estimate() {
        let mut r = Rtt::new();
        r.sample(1); // RTO 200 ms (the floor)
        r.backoff();
        assert_eq!(r.rto_ms(), 400);
        // A new sample computes the timeout afresh (Karn).
        r.backoff();
        r.sample(1);
        assert_eq!((r.rto_ms(), r.backoffs()), (200, 0));
    }

    #[test]
    fn a_lost_syn_starts_data_at_three_seconds() {
        let mut r = Rtt::new();
        r.syn_lost();
        assert_eq!(r.rto_ms(), SYN_LOST_RTO_MS);
        r.backoff();
        assert_eq!(r.rto_ms(), 6000);
        r.sample(100);
        assert_eq!(r.rto_ms(), 300, "a sample replaces it");
    }
}
