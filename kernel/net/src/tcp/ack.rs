//! What an acknowledgment does (RFC 9293 3.10.7.4, fifth): new data
//! acknowledged frees the send buffer, times the round trip (RFC 6298,
//! RFC 7323 4.1) and feeds congestion control (RFC 5681, RFC 6582);
//! duplicates count towards fast retransmit, and in recovery resend the
//! holes the SACK scoreboard shows; the handshake's ACK makes the
//! connection established; doubtful segments draw a rate-limited challenge
//! ACK (RFC 5961).

use super::congestion::{Reno, DUP_ACK_THRESHOLD};
use super::input::Seg;
use super::{TcpState, ACK_THROTTLE_PER_SEC, MSL_MS};
use crate::counters::Stat;
use crate::{NetEnv, Stack};

impl Stack {
    /// SND.UNA moves forward: free what is acknowledged, time the round
    /// trip, grow the congestion window, rearm the timer.
    pub(crate) fn tcp_new_ack(&mut self, env: &mut dyn NetEnv, c: usize, seg: &Seg) {
        let now = env.now_ms();
        let mss = self.tcp_payload_max(c);
        let t = &mut self.tcp.conns[c];
        let acked = seg.ack.diff(t.snd_una);
        let end = t.sndbuf.end();
        t.sndbuf.acked(if seg.ack.gt(end) { end } else { seg.ack });
        t.snd_una = seg.ack;
        t.sacked.acked(seg.ack);
        if t.snd_nxt.lt(t.snd_una) {
            t.snd_nxt = t.snd_una;
        }
        // RTT (RFC 7323 4.1 with timestamps, else one timed segment,
        // never a retransmitted one: Karn).
        let sample = match (t.agreed.ts, seg.opts.ts, t.rtt_probe) {
            (true, Some((_, ecr)), _) if ecr != 0 => Some((now as u32).wrapping_sub(ecr)),
            (_, _, Some((end, sent))) if seg.ack.ge(end) => {
                t.rtt_probe = None;
                Some((now - sent) as u32)
            }
            _ => None,
        };
        if let Some(ms) = sample {
            t.rtt.sample(ms);
        }
        t.rtt.reset_backoff();
        t.retries = 0;
        t.dupacks = 0;
        let flight = t.flight();
        let partial = match t.cc.as_mut() {
            Some(cc) => cc.on_ack(acked, seg.ack, mss),
            None => false,
        };
        t.timers.rto = if flight > 0 {
            now + t.rtt.rto_ms() as u64
        } else {
            0
        };
        self.tcp_tlp_acked(c, seg.ack);
        self.tcp_arm_tlp(now, c);
        if partial {
            self.tcp_retransmit_next(env, c);
            // The new SND.UNA was sent again by now (here, or earlier as
            // a hole): anything past what is out now left after it.
            let t = &mut self.tcp.conns[c];
            t.rxt_mark = Some(t.snd_max);
        } else {
            self.tcp.conns[c].rxt_mark = None;
        }
        self.tcp_wake(env, c);
    }

    /// A duplicate ACK (RFC 5681 2): the third starts fast retransmit.
    pub(crate) fn tcp_dup_ack(&mut self, env: &mut dyn NetEnv, c: usize) {
        let mss = self.tcp_payload_max(c);
        self.counters.bump(Stat::TcpDupAcksIn);
        let t = &mut self.tcp.conns[c];
        t.dupacks += 1;
        let (flight, nxt) = (t.flight(), t.snd_max);
        let lost = t.sacked.first_is_lost(DUP_ACK_THRESHOLD, mss);
        let fast =
            t.cc.as_mut()
                .is_some_and(|cc| cc.on_dup_ack(flight, nxt, mss, lost));
        if fast {
            self.counters.bump(Stat::TcpFastRetransmits);
            self.tcp_retransmit_first(env, c);
        } else if t.cc.as_ref().is_some_and(|cc| cc.in_recovery()) && !t.sacked.is_empty() {
            let lost_again = match (t.rxt_mark, t.sacked.highest()) {
                (Some(mark), Some(high)) => high.gt(mark),
                _ => false,
            };
            if lost_again {
                // Data sent after our retransmission of SND.UNA arrived
                // and it did not: that retransmission was lost too, and
                // only the timer would find it (Linux's lost-retransmit
                // detection; RFC 8985's RACK in its simplest case).
                self.counters.bump(Stat::TcpLostRetransmits);
                self.tcp_retransmit_first(env, c);
            } else {
                // Each further duplicate: a segment left the network, and
                // the SACK blocks may show the next hole to fill.
                self.tcp_retransmit_next(env, c);
            }
        }
    }

    /// The handshake is done: ESTABLISHED, the window from the ACK, and
    /// the listener (or the connecting socket) told.
    pub(crate) fn tcp_established(&mut self, env: &mut dyn NetEnv, c: usize, seg: &Seg) {
        let mss = self.tcp_payload_max(c);
        self.tcp.established += 1;
        let order = self.tcp.established;
        let t = &mut self.tcp.conns[c];
        t.state = TcpState::Established;
        t.established_order = order;
        t.last_rx_ms = env.now_ms();
        t.snd_wnd = (seg.wnd as u32) << t.agreed.snd_shift;
        if seg.syn {
            // The window of a SYN is never scaled (RFC 7323 2.2).
            t.snd_wnd = seg.wnd as u32;
        }
        t.max_snd_wnd = t.snd_wnd;
        t.snd_wl1 = seg.seq;
        t.snd_wl2 = seg.ack;
        t.cc = Some(Reno::new(mss));
        if t.syn_retransmitted {
            t.rtt.syn_lost();
        }
        match t.parent {
            Some(l) => self.tcp_wake(env, l),
            None => self.tcp_wake(env, c),
        }
    }

    /// A challenge ACK (RFC 5961 3.2, 4.2), at most
    /// [`ACK_THROTTLE_PER_SEC`] a second for the whole stack (RFC 5961
    /// 7), so a flood of forged segments does not become a flood of ACKs.
    pub(crate) fn tcp_challenge_ack(&mut self, env: &mut dyn NetEnv, c: usize) {
        if !self.tcp.challenge_budget.take(env.now_ms()) {
            self.counters.bump(Stat::TcpChallengeAcksLimited);
            return;
        }
        self.counters.bump(Stat::TcpChallengeAcks);
        self.tcp_send_ack(env, c);
    }

    /// The ACK that answers a segment outside the window, a PAWS failure
    /// or an ACK of data never sent (RFC 9293 3.10.7.4, RFC 7323 5.3, RFC
    /// 5961 5.2): from a budget of its own, as large, so a flood of such
    /// segments is not answered one for one (as Linux limits them) and
    /// does not use up the challenge ACKs.
    pub(crate) fn tcp_oow_ack(&mut self, env: &mut dyn NetEnv, c: usize) {
        if !self.tcp.oow_budget.take(env.now_ms()) {
            self.counters.bump(Stat::TcpOowAcksLimited);
            return;
        }
        self.tcp_send_ack(env, c);
    }

    /// TIME-WAIT: 2 MSL, then the block is freed.
    pub(crate) fn tcp_time_wait(&mut self, c: usize, now: u64) {
        let t = &mut self.tcp.conns[c];
        t.state = TcpState::TimeWait;
        t.timers.linger = now + 2 * MSL_MS;
        t.timers.rto = 0;
        t.timers.pto = 0;
        t.timers.persist = 0;
    }
}

/// ACKs the whole stack may send of one kind in the current second.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AckBudget {
    /// When the current second began (ms), and the ACKs sent in it.
    start: u64,
    sent: u32,
    limit: u32,
}

impl AckBudget {
    pub(crate) const fn new() -> AckBudget {
        AckBudget::with_limit(ACK_THROTTLE_PER_SEC)
    }

    pub(crate) const fn with_limit(limit: u32) -> AckBudget {
        AckBudget {
            start: 0,
            sent: 0,
            limit,
        }
    }

    /// Takes one ACK from the budget; false when this second's is spent.
    fn take(&mut self, now: u64) -> bool {
        if now >= self.start + 1000 {
            (self.start, self.sent) = (now, 0);
        }
        if self.sent >= self.limit {
            return false;
        }
        self.sent += 1;
        true
    }
}
