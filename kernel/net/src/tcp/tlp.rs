//! Tail loss probes (RFC 8985 section 7). When the last segments of a
//! flight are lost, or the ACKs they drew, nothing comes back to count as
//! a duplicate and only the retransmission timer would find the loss,
//! collapsing the window to one segment. Two round trips of silence
//! after the last transmission send one probe instead: new data if there
//! is some (the window allowing), else the last segment again. Its ACK,
//! with the SACK blocks it carries, lets fast recovery repair the tail.
//!
//! One probe at a time, only with SACK and outside recovery, fast or
//! after a timeout (7.2). A
//! probe that sent old data again and is acknowledged may have repaired
//! a loss that no duplicate ACK announced: the window is reduced as for
//! a fast retransmit (7.4, without the DSACK that would show the original
//! arrived too).

use super::seq::Seq;
use crate::counters::Stat;
use crate::{NetEnv, Stack};

/// RFC 8985 7.2 `WCDelAckT`: the longest a peer may hold the ACK of a
/// single segment.
const WORST_CASE_DELACK_MS: u64 = 200;
/// The probe timeout before a round trip was measured.
const PTO_NO_RTT_MS: u64 = 1000;
/// The shortest probe timeout (Linux's too): on a path of a millisecond
/// or less, two round trips are no sign of a loss yet.
const PTO_MIN_MS: u64 = 10;

impl Stack {
    /// Arms the probe timeout (RFC 8985 7.2) after new data went out or
    /// an ACK moved SND.UNA: two smoothed round trips (plus a delayed
    /// ACK's worst case when one segment is out, else 2 ms), at least
    /// [`PTO_MIN_MS`]; not when the retransmission timer comes first.
    pub(crate) fn tcp_arm_tlp(&mut self, now: u64, c: usize) {
        let mss = self.tcp_payload_max(c);
        let t = &mut self.tcp.conns[c];
        // Not in recovery, fast (cc) or after a timeout (backed off
        // until an ACK of new data): those resend on their own.
        let recovering = t.cc.as_ref().is_none_or(|cc| cc.in_recovery()) || t.rtt.backoffs() > 0;
        if !t.agreed.sack || recovering || t.tlp.is_some() || t.flight() == 0 {
            t.timers.pto = 0;
            return;
        }
        let pto = match t.rtt.srtt_ms() {
            Some(srtt) if t.flight() <= mss => 2 * srtt as u64 + WORST_CASE_DELACK_MS,
            Some(srtt) => 2 * srtt as u64 + 2,
            None => PTO_NO_RTT_MS,
        };
        let at = now + pto.max(PTO_MIN_MS);
        t.timers.pto = if t.timers.rto != 0 && t.timers.rto <= at {
            0
        } else {
            at
        };
    }

    /// The probe timeout expired (RFC 8985 7.3): one segment goes out,
    /// and the retransmission timer starts again from now.
    pub(crate) fn tcp_tail_probe(&mut self, env: &mut dyn NetEnv, c: usize) {
        let now = env.now_ms();
        let mss = self.tcp_payload_max(c);
        let t = &mut self.tcp.conns[c];
        t.timers.pto = 0;
        let recovering = t.cc.as_ref().is_none_or(|cc| cc.in_recovery());
        if recovering || t.flight() == 0 || t.tlp.is_some() {
            return;
        }
        if let Some(cc) = t.cc.as_mut() {
            cc.allow_probe();
        }
        let sent_before = t.snd_max;
        self.tcp_output(env, c);
        let t = &mut self.tcp.conns[c];
        let new_data = t.snd_max.gt(sent_before);
        if !new_data {
            // Nothing new to send: the last segment again.
            let from = if t.flight() > mss {
                t.snd_max - mss
            } else {
                t.snd_una
            };
            self.tcp_retransmit_at(env, c, from, mss);
        }
        self.counters.bump(Stat::TcpTailLossProbes);
        let t = &mut self.tcp.conns[c];
        if let Some(cc) = t.cc.as_mut() {
            cc.probe_done();
        }
        t.tlp = Some((t.snd_max, !new_data));
        t.timers.pto = 0;
        t.timers.rto = now + t.rtt.rto_ms() as u64;
    }

    /// An ACK up to `ack` arrived: the probe it covers is over (RFC 8985
    /// 7.4), and if it sent old data again, that may have been the
    /// repair of a loss, which the congestion window answers for.
    pub(crate) fn tcp_tlp_acked(&mut self, c: usize, ack: Seq) {
        let mss = self.tcp_payload_max(c);
        let t = &mut self.tcp.conns[c];
        let Some((end, resent)) = t.tlp else {
            return;
        };
        if ack.lt(end) {
            return;
        }
        t.tlp = None;
        if resent {
            if let Some(cc) = t.cc.as_mut() {
                cc.on_probe_repair(mss);
            }
        }
    }
}
