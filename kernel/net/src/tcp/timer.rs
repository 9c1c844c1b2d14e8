//! The timers of every connection, run from [`Stack::tick`]: the
//! retransmission timeout (RFC 6298: back off, then give up), the delayed
//! ACK, the zero-window probe (RFC 9293 3.8.6.1: a segment one byte
//! before SND.UNA, which the peer must answer with its window), and the
//! end of TIME-WAIT or of an orphaned FIN-WAIT-2.

use abi::Errno;

use super::seq::Seq;
use super::table::MAX_CONNS;
use super::{TcpState, DATA_RETRIES, PERSIST_MAX_MS, SYNACK_RETRIES, SYN_RETRIES};
use crate::counters::Stat;
use crate::{NetEnv, Stack};

impl Stack {
    /// Runs the timers that are due.
    pub(crate) fn tcp_tick(&mut self, env: &mut dyn NetEnv) {
        let now = env.now_ms();
        for c in 0..MAX_CONNS {
            let t = &self.tcp.conns[c];
            if !t.in_use() {
                continue;
            }
            let due = |at: u64| at != 0 && now >= at;
            if due(t.timers.linger) {
                self.tcp_done(env, c);
                continue;
            }
            if due(t.timers.rto) {
                self.tcp_rto_expired(env, c);
            }
            if due(self.tcp.conns[c].timers.pto) {
                self.tcp_tail_probe(env, c);
            }
            let t = &self.tcp.conns[c];
            if due(t.timers.persist) {
                self.tcp_probe_window(env, c);
            }
            let t = &self.tcp.conns[c];
            if due(t.timers.delack) {
                self.counters.bump(Stat::TcpDelayedAcks);
                self.tcp_send_ack(env, c);
            }
            if self.tcp.conns[c].opts.keepalive.on {
                self.tcp_keepalive(env, c);
            }
            let t = &self.tcp.conns[c];
            if let (Some(id), true) = (t.sock, t.timed_waiters > 0) {
                env.wakeup(id);
            }
        }
    }

    /// RFC 6298 5.4-5.7: send the oldest unacknowledged segment again,
    /// back off the timer, shrink the congestion window; after too many
    /// tries, the connection fails with `ETIMEDOUT`.
    fn tcp_rto_expired(&mut self, env: &mut dyn NetEnv, c: usize) {
        let now = env.now_ms();
        let mss = self.tcp_payload_max(c);
        let t = &mut self.tcp.conns[c];
        let handshake = matches!(t.state, TcpState::SynSent | TcpState::SynReceived);
        let limit = match t.state {
            TcpState::SynReceived if t.parent.is_some() => SYNACK_RETRIES,
            _ if handshake => SYN_RETRIES,
            _ => DATA_RETRIES,
        };
        if t.retries >= limit {
            self.counters.bump(Stat::TcpConnTimeouts);
            if t.state == TcpState::SynReceived && t.parent.is_some() {
                self.tcp.free(c);
            } else {
                self.tcp_fail(env, c, Errno::ETIMEDOUT);
            }
            return;
        }
        self.counters.bump(Stat::TcpRtoTimeouts);
        t.retries += 1;
        t.rtt.backoff();
        t.rtt_probe = None;
        t.dupacks = 0;
        t.tlp = None;
        t.timers.pto = 0;
        t.rxt_mark = None;
        // Go-back-N from SND.UNA: SACK information is not relied on after
        // a timeout (RFC 2018 8: the peer may have discarded what it held).
        t.sacked.clear();
        let flight = t.flight();
        if let Some(cc) = t.cc.as_mut() {
            cc.on_timeout(flight, mss);
        }
        t.timers.rto = now + t.rtt.rto_ms() as u64;
        if handshake {
            // The timeout the data starts with, once established (RFC
            // 6298 5.7); the handshake itself backs off from 1 s.
            t.syn_retransmitted = true;
            self.counters.bump(Stat::TcpRetransmits);
            self.tcp_send_syn(env, c);
        } else {
            // Go back to SND.UNA: what follows is sent again as the
            // congestion window reopens.
            t.snd_nxt = t.snd_una;
            self.tcp_output(env, c);
        }
    }

    /// A zero-window probe, and the next one later (backed off like the
    /// retransmission timer). A peer that answers may keep its window
    /// closed for ever (RFC 1122 4.2.2.17); one that stays silent for
    /// [`DATA_RETRIES`] probes is gone, and the connection fails with
    /// `ETIMEDOUT` as for unacknowledged data.
    fn tcp_probe_window(&mut self, env: &mut dyn NetEnv, c: usize) {
        let now = env.now_ms();
        let t = &mut self.tcp.conns[c];
        if t.probes_unanswered >= DATA_RETRIES {
            self.counters.bump(Stat::TcpConnTimeouts);
            self.tcp_fail(env, c, Errno::ETIMEDOUT);
            return;
        }
        t.probes_unanswered += 1;
        t.probes = t.probes.saturating_add(1);
        let wait = (t.rtt.rto_ms() as u64)
            .saturating_mul(1 << t.probes.min(10))
            .min(PERSIST_MAX_MS);
        t.timers.persist = now + wait;
        let seq = Seq(t.snd_una.0.wrapping_sub(1));
        self.counters.bump(Stat::TcpWindowProbes);
        self.tcp_xmit(env, c, None, seq, super::output::Flags::ACK);
    }

    /// Keep-alive (RFC 1122 4.2.3.6): a connection whose peer has said
    /// nothing for the idle time, with nothing of ours waiting for an
    /// ACK, is probed with a segment one byte before SND.UNA, which the
    /// peer must answer with an ACK; probes unanswered for too long reset
    /// the connection and fail it with `ETIMEDOUT` (as Linux).
    fn tcp_keepalive(&mut self, env: &mut dyn NetEnv, c: usize) {
        let now = env.now_ms();
        let t = &mut self.tcp.conns[c];
        let k = t.opts.keepalive;
        let idle = matches!(
            t.state,
            TcpState::Established | TcpState::CloseWait | TcpState::FinWait2
        ) && t.flight() == 0
            && !t.sndbuf.end().gt(t.snd_nxt);
        if !idle {
            return;
        }
        let due = if t.ka_probes == 0 {
            t.last_rx_ms + k.idle_s as u64 * 1000
        } else {
            t.ka_sent_ms + k.intvl_s as u64 * 1000
        };
        if now < due {
            return;
        }
        if t.ka_probes >= k.cnt {
            self.counters.bump(Stat::TcpKeepaliveTimeouts);
            self.tcp_send_rst(env, c);
            self.tcp_fail(env, c, Errno::ETIMEDOUT);
            return;
        }
        t.ka_probes += 1;
        t.ka_sent_ms = now;
        let seq = Seq(t.snd_una.0.wrapping_sub(1));
        self.counters.bump(Stat::TcpKeepaliveProbes);
        self.tcp_xmit(env, c, None, seq, super::output::Flags::ACK);
    }

    /// Wakes whoever sleeps on connection `c`'s socket.
    pub(crate) fn tcp_wake(&mut self, env: &mut dyn NetEnv, c: usize) {
        let t = &self.tcp.conns[c];
        if let (Some(id), true) = (t.sock, t.waiters > 0) {
            env.wakeup(id);
        }
    }

    /// The connection failed (a RST, a timeout): its queues go, its socket
    /// reports `e` next; without a socket the block is freed.
    pub(crate) fn tcp_fail(&mut self, env: &mut dyn NetEnv, c: usize, e: Errno) {
        let t = &mut self.tcp.conns[c];
        if t.sock.is_none() {
            self.tcp.free(c);
            return;
        }
        t.error = Some(e);
        self.tcp_wake(env, c);
        self.tcp_close_block(c);
    }

    /// The connection ended normally (LAST-ACK acknowledged, TIME-WAIT
    /// over, a RST in a closing state).
    pub(crate) fn tcp_done(&mut self, env: &mut dyn NetEnv, c: usize) {
        if self.tcp.conns[c].sock.is_none() {
            self.tcp.free(c);
            return;
        }
        self.tcp_wake(env, c);
        self.tcp_close_block(c);
    }

    /// CLOSED, with the socket still holding the block: timers stopped,
    /// what was queued to send dropped; what was received stays readable.
    fn tcp_close_block(&mut self, c: usize) {
        let t = &mut self.tcp.conns[c];
        t.state = TcpState::Closed;
        t.timers = Default::default();
        t.sndbuf.clear();
        t.reasm.clear();
        if t.error.is_some() {
            t.rcvq.clear();
        }
    }
}
