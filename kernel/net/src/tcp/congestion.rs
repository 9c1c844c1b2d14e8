//! Congestion control: NewReno, RFC 5681 (slow start, congestion
//! avoidance, fast retransmit and fast recovery) with RFC 6582's answer to
//! several losses in one window (partial acknowledgments).
//!
//! [`Reno`] keeps the congestion window (cwnd) and the slow-start
//! threshold (ssthresh) of one connection and is told what the ACKs say;
//! the caller keeps the rest: it counts as duplicate only the ACKs RFC 5681
//! section 2 calls so (no data, same ACK number, same window, data
//! outstanding), retransmits when told to, and sends while the flight is
//! under `cwnd` (and the peer's window).
//!
//! Growth is per ACK: `cwnd += min(N, SMSS)` in slow start (RFC 5681
//! equation 2, N the bytes newly acknowledged, so an ACK-splitting peer
//! gains nothing) and `cwnd += SMSS*SMSS/cwnd` in congestion avoidance
//! (equation 3, about one SMSS per round trip).

use super::seq::Seq;

/// RFC 5681 section 3.1, equation 1: the initial window is 4, 3 or 2
/// segments depending on the SMSS, these being the bounds.
const IW_FOUR_SEGMENTS_UP_TO: u32 = 1095;
const IW_THREE_SEGMENTS_UP_TO: u32 = 2190;
/// Duplicate ACKs that signal a loss (RFC 5681 section 3.2).
pub const DUP_ACK_THRESHOLD: u32 = 3;

/// NewReno's state for one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reno {
    cwnd: u32,
    ssthresh: u32,
    /// Duplicate ACKs in a row (outside recovery).
    dup_acks: u32,
    /// In fast recovery (from the third duplicate ACK to the full ACK).
    recovering: bool,
    /// RFC 6582 "recover": the highest sequence number sent when the last
    /// fast retransmit or timeout happened; `None` before either (the RFC
    /// starts it at the ISS, which no ACK can fail to cover).
    recover: Option<Seq>,
    /// The last ACK number that acknowledged new data.
    last_ack: Option<Seq>,
    /// The timer expired and no new data was acknowledged since: a second
    /// expiry keeps ssthresh (RFC 5681 section 3.1, after equation 4).
    timed_out: bool,
    /// A tail loss probe may exceed cwnd by one segment.
    probe: bool,
}

impl Reno {
    /// A connection's start, its SMSS being `mss`: cwnd is the initial
    /// window (RFC 5681 3.1), ssthresh "arbitrarily high".
    pub fn new(mss: u32) -> Reno {
        let mss = mss.max(1);
        let segments = if mss > IW_THREE_SEGMENTS_UP_TO {
            2
        } else if mss > IW_FOUR_SEGMENTS_UP_TO {
            3
        } else {
            4
        };
        Reno {
            cwnd: segments * mss,
            ssthresh: u32::MAX,
            dup_acks: 0,
            recovering: false,
            recover: None,
            last_ack: None,
            timed_out: false,
            probe: false,
        }
    }

    /// The congestion window in bytes.
    pub fn cwnd(&self) -> u32 {
        self.cwnd
    }

    pub fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    /// Duplicate ACKs counted since the last new one.
    pub fn dup_acks(&self) -> u32 {
        self.dup_acks
    }

    /// In fast recovery: the caller retransmitted and is sending new data
    /// only as the inflated window allows.
    pub fn in_recovery(&self) -> bool {
        self.recovering
    }

    /// An ACK acknowledged `acked` new bytes, up to `ack`. Returns true on
    /// a partial ACK in fast recovery (RFC 6582 3.2 step 3): the caller
    /// retransmits the first unacknowledged segment at once (and restarts
    /// the retransmission timer for the first partial ACK only).
    pub fn on_ack(&mut self, acked: u32, ack: Seq, mss: u32) -> bool {
        if acked == 0 {
            return false;
        }
        let mss = mss.max(1);
        self.dup_acks = 0;
        self.last_ack = Some(ack);
        self.timed_out = false;
        if self.recovering {
            if self.recover.is_none_or(|r| ack.gt(r)) {
                // Full acknowledgment: everything sent before the loss is
                // in. Deflate the window to ssthresh, RFC 6582 3.2 step 3
                // option 2 (option 1 needs the flight, which ssthresh
                // already bounds after a loss).
                self.recovering = false;
                self.cwnd = self.ssthresh;
                return false;
            }
            // Partial acknowledgment: another segment of that window was
            // lost. Deflate by what was acknowledged, add back one SMSS if
            // at least that much was, so about ssthresh stays in flight.
            self.cwnd = self.cwnd.saturating_sub(acked);
            if acked >= mss {
                self.cwnd += mss;
            }
            self.cwnd = self.cwnd.max(mss);
            return true;
        }
        let growth = if self.cwnd < self.ssthresh {
            acked.min(mss) // slow start, equation 2
        } else {
            (mss * mss / self.cwnd.max(1)).max(1) // congestion avoidance, equation 3
        };
        self.cwnd = self.cwnd.saturating_add(growth);
        false
    }

    /// A tail loss probe is due: one segment may go out beyond cwnd
    /// (RFC 8985 7.3), until [`Reno::probe_done`].
    pub fn allow_probe(&mut self) {
        self.probe = true;
    }

    pub fn probe_done(&mut self) {
        self.probe = false;
    }

    /// A probe that sent old data again was acknowledged: a loss may
    /// have been repaired without any duplicate ACK, so the window is
    /// halved as for a fast retransmit (RFC 8985 7.4.2), without the
    /// recovery a retransmission already ended.
    pub fn on_probe_repair(&mut self, mss: u32) {
        let mss = mss.max(1);
        self.ssthresh = (self.cwnd / 2).max(2 * mss);
        self.cwnd = self.ssthresh;
    }

    /// What may be in flight: cwnd, and while the first two duplicate
    /// ACKs come in, one more segment for each (RFC 3042, limited
    /// transmit: new data keeps the ACKs coming, so a window too small
    /// for three duplicates can still fast-retransmit instead of waiting
    /// for the timer). cwnd itself does not change.
    pub fn send_window(&self, mss: u32) -> u32 {
        let limited = if self.recovering {
            0
        } else {
            self.dup_acks.min(DUP_ACK_THRESHOLD - 1)
        };
        let probe = self.probe as u32;
        self.cwnd.saturating_add((limited + probe) * mss.max(1))
    }

    /// A duplicate ACK, with `flight` bytes outstanding and `snd_nxt` the
    /// next sequence number to send; `lost` when the SACK scoreboard
    /// already shows the first segment lost (RFC 6675 `IsLost`), which
    /// starts recovery before the third duplicate. Returns true on the
    /// third in a row (or `lost`):
    /// fast retransmit now (RFC 5681 3.2 steps 2-3): ssthresh = max(flight
    /// / 2, 2 SMSS) (equation 4), cwnd = ssthresh + 3 SMSS, recovery
    /// starts. Not when the ACK does not cover the `recover` of the last
    /// loss (RFC 6582 3.2 step 2: those duplicates answer retransmissions
    /// the peer already had). In recovery each one inflates cwnd by one
    /// SMSS (step 4: a segment has left the network).
    pub fn on_dup_ack(&mut self, flight: u32, snd_nxt: Seq, mss: u32, lost: bool) -> bool {
        let mss = mss.max(1);
        if self.recovering {
            self.cwnd = self.cwnd.saturating_add(mss);
            return false;
        }
        self.dup_acks = self.dup_acks.saturating_add(1);
        let third = self.dup_acks == DUP_ACK_THRESHOLD;
        if !(third || lost && self.dup_acks < DUP_ACK_THRESHOLD) {
            return false;
        }
        let covers_recover = match (self.recover, self.last_ack) {
            (Some(recover), Some(ack)) => ack.gt(recover),
            (Some(_), None) => false,
            (None, _) => true,
        };
        if !covers_recover {
            return false;
        }
        self.ssthresh = (flight / 2).max(2 * mss);
        self.cwnd = self.ssthresh.saturating_add(DUP_ACK_THRESHOLD * mss);
        self.recover = Some(snd_nxt - 1);
        self.recovering = true;
        true
    }

    /// The retransmission timer expired with `flight` bytes outstanding:
    /// ssthresh = max(flight / 2, 2 SMSS) (equation 4; held as it was when
    /// the timer expires again before new data is acknowledged), cwnd =
    /// one SMSS, the loss window (RFC 5681 3.1); recovery ends and
    /// `recover` becomes the highest sequence number sent (RFC 6582 3.2
    /// step 6), so duplicates from the go-back-N that follows do not
    /// trigger a fast retransmit.
    pub fn on_timeout(&mut self, flight: u32, mss: u32) {
        let mss = mss.max(1);
        if !self.timed_out {
            self.ssthresh = (flight / 2).max(2 * mss);
        }
        self.timed_out = true;
        self.cwnd = mss;
        self.recovering = false;
        self.dup_acks = 0;
        if let Some(ack) = self.last_ack {
            // The caller's flight is SND.NXT - SND.UNA, and SND.UNA is the
            // last ACK that acknowledged new data.
            self.recover = Some(ack + flight - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1460;

    #[test]
    fn the_initial_window_follows_equation_1() {
        assert_eq!(Reno::new(1460).cwnd(), 3 * 1460);
        assert_eq!(Reno::new(536).cwnd(), 4 * 536);
        assert_eq!(Reno::new(1095).cwnd(), 4 * 1095);
        assert_eq!(Reno::new(1096).cwnd(), 3 * 1096);
        assert_eq!(Reno::new(2190).cwnd(), 3 * 2190);
        assert_eq!(Reno::new(2191).cwnd(), 2 * 2191);
        assert_eq!(Reno::new(9000).cwnd(), 2 * 9000);
        assert_eq!(Reno::new(MSS).ssthresh(), u32::MAX);
    }

    #[test]
    fn slow_start_grows_by_what_was_acked_at_most_one_mss() {
        let mut r = Reno::new(MSS);
        let mut ack = Seq(1);
        ack += MSS;
        assert!(!r.on_ack(MSS, ack, MSS));
        assert_eq!(r.cwnd(), 4 * MSS);
        ack += 100;
        r.on_ack(100, ack, MSS);
        assert_eq!(r.cwnd(), 4 * MSS + 100);
        // A stretch ACK of three segments still counts one SMSS.
        ack += 3 * MSS;
        r.on_ack(3 * MSS, ack, MSS);
        assert_eq!(r.cwnd(), 5 * MSS + 100);
        // Not new data (a window update): nothing.
        r.on_ack(0, ack, MSS);
        assert_eq!(r.cwnd(), 5 * MSS + 100);
    }

    /// Drives `r` to congestion avoidance at ssthresh = `ssthresh`.
    fn in_congestion_avoidance(ssthresh: u32) -> (Reno, Seq) {
        let mut r = Reno::new(MSS);
        let mut ack = Seq(1000);
        r.on_ack(1, ack, MSS);
        r.on_timeout(2 * ssthresh, MSS);
        assert_eq!((r.cwnd(), r.ssthresh()), (MSS, ssthresh));
        while r.cwnd() < r.ssthresh() {
            ack += MSS;
            r.on_ack(MSS, ack, MSS);
        }
        (r, ack)
    }

    #[test]
    fn congestion_avoidance_grows_about_one_mss_per_window() {
        let (mut r, mut ack) = in_congestion_avoidance(10 * MSS);
        let start = r.cwnd();
        assert_eq!(start, 10 * MSS, "slow start stopped at ssthresh");
        // One window's worth of ACKs, one per segment.
        for _ in 0..10 {
            ack += MSS;
            r.on_ack(MSS, ack, MSS);
        }
        let grown = r.cwnd() - start;
        assert!((MSS * 9 / 10..=MSS).contains(&grown), "grew {grown}");
        // Each step is SMSS*SMSS/cwnd (equation 3).
        let before = r.cwnd();
        ack += MSS;
        r.on_ack(MSS, ack, MSS);
        assert_eq!(r.cwnd() - before, MSS * MSS / before);
    }

    #[test]
    fn the_third_dup_ack_starts_fast_retransmit() {
        let mut r = Reno::new(MSS);
        r.on_ack(MSS, Seq(1 + MSS), MSS);
        let flight = 20 * MSS;
        let snd_nxt = Seq(1 + MSS + flight);
        assert!(!r.on_dup_ack(flight, snd_nxt, MSS, false));
        assert!(!r.on_dup_ack(flight, snd_nxt, MSS, false));
        assert_eq!(r.dup_acks(), 2);
        assert!(r.on_dup_ack(flight, snd_nxt, MSS, false), "the third");
        assert!(r.in_recovery());
        assert_eq!(r.ssthresh(), flight / 2);
        assert_eq!(r.cwnd(), flight / 2 + 3 * MSS);
        // Further duplicates inflate the window, no new retransmission.
        assert!(!r.on_dup_ack(flight, snd_nxt, MSS, false));
        assert_eq!(r.cwnd(), flight / 2 + 4 * MSS);
    }

    #[test]
    fn limited_transmit_lets_one_more_segment_out_per_early_duplicate() {
        let mut r = Reno::new(MSS);
        let (flight, snd_nxt) = (3 * MSS, Seq(1 + 3 * MSS));
        assert_eq!(r.send_window(MSS), r.cwnd());
        r.on_dup_ack(flight, snd_nxt, MSS, false);
        assert_eq!(r.send_window(MSS), r.cwnd() + MSS);
        r.on_dup_ack(flight, snd_nxt, MSS, false);
        assert_eq!(r.send_window(MSS), r.cwnd() + 2 * MSS);
        assert!(r.on_dup_ack(flight, snd_nxt, MSS, false));
        assert_eq!(r.send_window(MSS), r.cwnd(), "none in recovery");
    }

    #[test]
    fn the_scoreboard_showing_a_loss_starts_recovery_before_the_third() {
        let mut r = Reno::new(MSS);
        let (flight, snd_nxt) = (10 * MSS, Seq(1 + 10 * MSS));
        assert!(!r.on_dup_ack(flight, snd_nxt, MSS, false));
        assert!(
            r.on_dup_ack(flight, snd_nxt, MSS, true),
            "IsLost on the second"
        );
        assert!(r.in_recovery());
        assert!(!r.on_dup_ack(flight, snd_nxt, MSS, true), "once per loss");
    }

    #[test]
    fn ssthresh_is_at_least_two_segments() {
        let mut r = Reno::new(MSS);
        for _ in 0..3 {
            r.on_dup_ack(MSS, Seq(1 + MSS), MSS, false);
        }
        assert!(r.in_recovery());
        assert_eq!(r.ssthresh(), 2 * MSS);
        assert_eq!(r.cwnd(), 5 * MSS);
    }

    #[test]
    fn a_new_ack_resets_the_dup_count() {
        let mut r = Reno::new(MSS);
        let snd_nxt = Seq(100_000);
        r.on_dup_ack(10 * MSS, snd_nxt, MSS, false);
        r.on_dup_ack(10 * MSS, snd_nxt, MSS, false);
        r.on_ack(MSS, Seq(1 + MSS), MSS);
        assert_eq!(r.dup_acks(), 0);
        assert!(!r.on_dup_ack(10 * MSS, snd_nxt, MSS, false));
        assert!(!r.on_dup_ack(10 * MSS, snd_nxt, MSS, false));
        assert!(r.on_dup_ack(10 * MSS, snd_nxt, MSS, false));
    }

    #[test]
    fn partial_acks_retransmit_and_a_full_ack_ends_recovery() {
        // RFC 6582 3.2 step 3, with segments 0..10 sent and 2 and 5 lost.
        let mut r = Reno::new(MSS);
        let una = Seq(1);
        r.on_ack(MSS, una + 2 * MSS, MSS); // 0 and 1 acknowledged
        let snd_nxt = una + 10 * MSS;
        let flight = 8 * MSS;
        for _ in 0..3 {
            r.on_dup_ack(flight, snd_nxt, MSS, false);
        }
        let after_entry = r.cwnd();
        assert_eq!(after_entry, 4 * MSS + 3 * MSS);
        // The retransmitted 2 fills up to 5: a partial ACK of 3 segments.
        assert!(r.on_ack(3 * MSS, una + 5 * MSS, MSS), "retransmit 5");
        assert!(r.in_recovery());
        assert_eq!(r.cwnd(), after_entry - 3 * MSS + MSS);
        // A partial ACK of less than one SMSS adds nothing back.
        let before = r.cwnd();
        assert!(r.on_ack(100, una + 5 * MSS + 100, MSS));
        assert_eq!(r.cwnd(), before - 100);
        // Everything up to snd_nxt: full ACK, deflated to ssthresh.
        assert!(!r.on_ack(5 * MSS - 100, snd_nxt, MSS));
        assert!(!r.in_recovery());
        assert_eq!(r.cwnd(), r.ssthresh());
        assert_eq!(r.ssthresh(), 4 * MSS);
    }

    #[test]
    fn the_timeout_falls_back_to_one_segment() {
        let mut r = Reno::new(MSS);
        r.on_ack(MSS, Seq(1 + MSS), MSS);
        r.on_timeout(30 * MSS, MSS);
        assert_eq!((r.cwnd(), r.ssthresh()), (MSS, 15 * MSS));
        // The retransmission times out too: ssthresh held, not halved
        // again from what is now a smaller flight.
        r.on_timeout(MSS, MSS);
        assert_eq!((r.cwnd(), r.ssthresh()), (MSS, 15 * MSS));
        // After progress, a new timeout computes it afresh.
        r.on_ack(MSS, Seq(1 + 2 * MSS), MSS);
        r.on_timeout(4 * MSS, MSS);
        assert_eq!((r.cwnd(), r.ssthresh()), (MSS, 2 * MSS));
    }

    #[test]
    fn a_timeout_ends_recovery() {
        let mut r = Reno::new(MSS);
        r.on_ack(MSS, Seq(1 + MSS), MSS);
        for _ in 0..3 {
            r.on_dup_ack(10 * MSS, Seq(1 + 11 * MSS), MSS, false);
        }
        assert!(r.in_recovery());
        r.on_timeout(10 * MSS, MSS);
        assert!(!r.in_recovery());
        assert_eq!(r.cwnd(), MSS);
    }

    #[test]
    fn duplicates_below_recover_do_not_retransmit_again() {
        // RFC 6582 3.2 step 2: after a timeout at snd_nxt = una + 10 MSS,
        // the go-back-N retransmissions draw duplicate ACKs the peer sends
        // for segments it already had; they must not start a fast
        // retransmit until an ACK covers recover.
        let mut r = Reno::new(MSS);
        let una = Seq(1 + MSS);
        r.on_ack(MSS, una, MSS);
        r.on_timeout(10 * MSS, MSS);
        r.on_ack(MSS, una + MSS, MSS);
        for _ in 0..3 {
            assert!(!r.on_dup_ack(9 * MSS, una + 10 * MSS, MSS, false));
        }
        assert!(!r.in_recovery());
        // An ACK beyond recover: the next three duplicates are a new loss.
        r.on_ack(9 * MSS, una + 10 * MSS, MSS);
        let snd_nxt = una + 20 * MSS;
        assert!(!r.on_dup_ack(10 * MSS, snd_nxt, MSS, false));
        assert!(!r.on_dup_ack(10 * MSS, snd_nxt, MSS, false));
        assert!(r.on_dup_ack(10 * MSS, snd_nxt, MSS, false));
    }

    #[test]
    fn sequence_numbers_wrap_in_recovery() {
        let mut r = Reno::new(MSS);
        let una = Seq(u32::MAX - MSS);
        r.on_ack(MSS, una, MSS);
        let snd_nxt = una + 6 * MSS; // past 2^32
        for _ in 0..3 {
            r.on_dup_ack(6 * MSS, snd_nxt, MSS, false);
        }
        assert!(r.on_ack(MSS, una + MSS, MSS), "partial across the wrap");
        assert!(!r.on_ack(5 * MSS, snd_nxt, MSS), "full across the wrap");
        assert!(!r.in_recovery());
    }
}
