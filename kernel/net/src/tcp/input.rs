//! Segment arrival (RFC 9293, section 3.10.7): the header checked by the
//! generated `TcpHeader::parse` (lengths, checksum over the pseudo-header,
//! options), then the state machine. The checks run in the RFC's order —
//! sequence number, RST, SYN, ACK, data, FIN — with RFC 5961's answers
//! to blind attacks: a RST or SYN that is in the window but not exactly
//! at RCV.NXT draws a challenge ACK instead of ending the connection, and
//! an ACK for data never sent is answered and dropped. Timestamps follow
//! RFC 7323 (PAWS drops a segment older than the last one seen).
//!
//! Received payload is never copied: an in-order segment's mbuf goes on
//! the connection's receive queue with its window moved onto the new
//! bytes; one that arrives early waits in the reassembly queue, also as
//! the device's mbuf (`data.rs`). A FIN is taken only in order: one that
//! arrives after a hole is remembered by its place and taken when the
//! hole fills. What an ACK does is in `ack.rs`.

use abi::Errno;
use wire::tcp::TcpHeader;

use super::options::RxOptions;
use super::output::OUR_MSS;
use super::seq::Seq;
use super::tcb::{DEFAULT_MSS, MIN_MSS, RCV_SHIFT, SND_BUF};
use super::{TcpState, MSL_MS};
use crate::counters::{DropReason, Stat};
use crate::ipv4::IpMeta;
use crate::mbuf::Mbuf;
use crate::{NetEnv, Stack};

/// What the state machine reads of a received segment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seg {
    pub seq: Seq,
    pub ack: Seq,
    pub syn: bool,
    pub has_ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub wnd: u16,
    /// Payload bytes.
    pub len: u32,
    pub opts: RxOptions,
}

impl Seg {
    /// SEG.LEN: the payload, and the SYN and FIN, which count.
    fn seg_len(&self) -> u32 {
        self.len + self.syn as u32 + self.fin as u32
    }
}

impl Stack {
    /// A received segment (the window starts at the TCP header).
    pub(crate) fn tcp_input(
        &mut self,
        env: &mut dyn NetEnv,
        mut m: Mbuf,
        ip: &IpMeta,
    ) -> Result<(), DropReason> {
        let p = TcpHeader::parse(m.data(), ip.src, ip.dst)?;
        TcpHeader::options(&p).check()?;
        let opts = RxOptions::read(TcpHeader::options(&p));
        let h = *p.header;
        self.counters.bump(Stat::TcpSegsIn);
        m.pull(h.data_offset_bytes())
            .map_err(|_| DropReason::TcpBadDataOffset)?;
        let seg = Seg {
            seq: Seq(h.seq()),
            ack: Seq(h.ack()),
            syn: h.syn(),
            has_ack: h.ack_flag(),
            fin: h.fin(),
            rst: h.rst(),
            wnd: h.window(),
            len: m.len() as u32,
            opts,
        };
        if seg.rst {
            self.counters.bump(Stat::TcpRstsIn);
        }
        if !ip.unicast {
            return Err(DropReason::TcpNotUnicast);
        }
        let local = (ip.dst, h.dst_port());
        let remote = (ip.src, h.src_port());
        let mut found = self.tcp.find(local, remote);
        if let Some(c) = found {
            // A new SYN for a pair in TIME-WAIT, numbered past the old
            // connection (RFC 9293 3.6.1, RFC 6191): the old one makes way.
            let t = &self.tcp.conns[c];
            if t.state == TcpState::TimeWait
                && seg.syn
                && !seg.has_ack
                && !seg.rst
                && seg.seq.gt(t.rcv_nxt)
            {
                self.tcp.free(c);
                found = self.tcp.find(local, remote);
            }
        }
        let Some(c) = found else {
            // RFC 9293 3.10.7.1: a RST answers anything but a RST.
            if !seg.rst {
                self.tcp_reply_rst(env, ip, &h, seg.seg_len());
            }
            return Err(DropReason::TcpNoConnection);
        };
        match self.tcp.conns[c].state {
            TcpState::Listen => self.tcp_listen_input(env, c, ip, &h, &seg),
            TcpState::SynSent => self.tcp_syn_sent_input(env, c, ip, &h, &seg),
            _ => self.tcp_conn_input(env, c, ip, &h, seg, m),
        }
    }

    /// RFC 9293 3.10.7.2: a SYN makes a connection in SYN-RECEIVED, if
    /// the listener's backlog has room.
    fn tcp_listen_input(
        &mut self,
        env: &mut dyn NetEnv,
        l: usize,
        ip: &IpMeta,
        h: &TcpHeader,
        seg: &Seg,
    ) -> Result<(), DropReason> {
        if seg.rst {
            return Err(DropReason::TcpUnexpected);
        }
        if seg.has_ack {
            self.tcp_reply_rst(env, ip, h, seg.seg_len());
            return Err(DropReason::TcpBadAck);
        }
        if !seg.syn {
            return Err(DropReason::TcpUnexpected);
        }
        if self.tcp.backlog_of(l) >= self.tcp.conns[l].backlog {
            // Full: the oldest half-open connection makes way, so a flood
            // of SYNs that never complete cannot keep real clients out
            // (a client answers within a round trip; a flood's SYNs wait
            // for nothing). Connections waiting for `accept` stay.
            let Some(old) = self.tcp.oldest_half_open(l) else {
                return Err(DropReason::TcpBacklogFull);
            };
            self.tcp.free(old);
            self.counters.bump(Stat::TcpHalfOpenDropped);
        }
        let Some(c) = self.tcp.alloc() else {
            return Err(DropReason::TcpTableFull);
        };
        let now = env.now_ms();
        let local = (ip.dst, h.dst_port());
        let remote = (ip.src, h.src_port());
        let iss = self.tcp_isn(env, local, remote);
        let opts = self.tcp.conns[l].opts;
        let t = &mut self.tcp.conns[c];
        t.state = TcpState::SynReceived;
        t.parent = Some(l);
        t.local = local;
        t.remote = remote;
        // Socket options carry over from the listener (TCP_NODELAY,
        // SO_RCVTIMEO), its file's non-blocking mode does not (as on
        // Linux: O_NONBLOCK is the descriptor's, not the connection's).
        t.opts = opts;
        t.opts.reuseaddr = false;
        t.opts.nonblock = false;
        t.iss = iss;
        t.snd_una = iss;
        t.sndbuf.start(iss + 1);
        t.sndbuf.set_capacity(SND_BUF);
        t.rtt_probe = Some((iss + 1, now));
        t.opened_ms = now;
        synchronize(t, seg);
        self.counters.bump(Stat::TcpPassiveOpens);
        self.tcp_send_syn(env, c);
        Ok(())
    }

    /// RFC 9293 3.10.7.3: the answer to our SYN.
    fn tcp_syn_sent_input(
        &mut self,
        env: &mut dyn NetEnv,
        c: usize,
        ip: &IpMeta,
        h: &TcpHeader,
        seg: &Seg,
    ) -> Result<(), DropReason> {
        let t = &self.tcp.conns[c];
        if seg.has_ack && (seg.ack.le(t.iss) || seg.ack.gt(t.snd_max)) {
            if !seg.rst {
                self.tcp_reply_rst(env, ip, h, seg.seg_len());
            }
            return Err(DropReason::TcpBadAck);
        }
        if seg.rst {
            // Acceptable only when it acknowledges our SYN (RFC 5961 3.2).
            if !seg.has_ack {
                return Err(DropReason::TcpUnexpected);
            }
            self.tcp_fail(env, c, Errno::ECONNREFUSED);
            return Ok(());
        }
        if !seg.syn {
            return Err(DropReason::TcpUnexpected);
        }
        let now = env.now_ms();
        let t = &mut self.tcp.conns[c];
        synchronize(t, seg);
        if seg.has_ack {
            self.tcp_new_ack(env, c, seg);
            self.tcp_established(env, c, seg);
            let t = &mut self.tcp.conns[c];
            t.ack_now = true;
            self.tcp_output(env, c);
        } else {
            // Simultaneous open (RFC 9293 figure 8): our SYN again, with
            // the ACK of theirs.
            t.state = TcpState::SynReceived;
            t.timers.rto = now + t.rtt.rto_ms() as u64;
            self.tcp_send_syn(env, c);
        }
        Ok(())
    }

    /// RFC 9293 3.10.7.4: every state from SYN-RECEIVED on.
    fn tcp_conn_input(
        &mut self,
        env: &mut dyn NetEnv,
        c: usize,
        ip: &IpMeta,
        h: &TcpHeader,
        mut seg: Seg,
        m: Mbuf,
    ) -> Result<(), DropReason> {
        let now = env.now_ms();
        let t = &mut self.tcp.conns[c];
        // Our SYN-ACK was lost: the peer sends its SYN again.
        if t.state == TcpState::SynReceived && seg.syn && !seg.has_ack && seg.seq == t.irs {
            t.rtt_probe = None;
            self.counters.bump(Stat::TcpRetransmits);
            self.tcp_send_syn(env, c);
            return Err(DropReason::TcpDuplicate);
        }
        // PAWS (RFC 7323 5.3): older than the newest timestamp seen.
        if let (true, Some((val, _)), false) = (t.agreed.ts, seg.opts.ts, seg.rst) {
            if (val.wrapping_sub(t.ts_recent) as i32) < 0 {
                self.tcp_oow_ack(env, c);
                return Err(DropReason::TcpPaws);
            }
        }
        // 1. The sequence number (RFC 9293 3.10.7.4, first).
        let wnd = t.rcv_wnd();
        let seg_len = seg.seg_len();
        // Its first or its last sequence number in the window.
        let last = seg.seq + seg_len.saturating_sub(1);
        let acceptable = match (seg_len, wnd) {
            (0, 0) => seg.seq == t.rcv_nxt,
            (0, _) => seg.seq.in_window(t.rcv_nxt, wnd),
            (_, 0) => false,
            _ => seg.seq.in_window(t.rcv_nxt, wnd) || last.in_window(t.rcv_nxt, wnd),
        };
        // A closed window still takes ACKs and RSTs at RCV.NXT.
        let acceptable = acceptable || (wnd == 0 && seg.seq == t.rcv_nxt);
        if !acceptable {
            if t.state == TcpState::TimeWait && seg.fin {
                t.timers.linger = now + 2 * MSL_MS;
            }
            if !seg.rst {
                self.tcp_oow_ack(env, c);
            }
            return Err(DropReason::TcpOutOfWindow);
        }
        // The peer is there (keep-alive waits from here).
        t.last_rx_ms = now;
        t.ka_probes = 0;
        // Timestamps: the one to echo is from the segment at RCV.NXT
        // (RFC 7323 4.3).
        if let Some((val, _)) = seg.opts.ts {
            if t.agreed.ts && seg.seq.le(t.rcv_nxt) {
                t.ts_recent = val;
            }
        }
        // 2. RST (RFC 5961 3.2). In TIME-WAIT none ends it early (RFC
        // 1337): the wait is what keeps an old duplicate from the next
        // incarnation of the pair, and a RST (an old one, or forged) would
        // cut it short.
        if seg.rst && t.state == TcpState::TimeWait {
            return Err(DropReason::TcpTimeWaitRst);
        }
        if seg.rst {
            if seg.seq != t.rcv_nxt {
                self.tcp_challenge_ack(env, c);
                return Err(DropReason::TcpChallenged);
            }
            match t.state {
                // Back to LISTEN: the half-open connection goes.
                TcpState::SynReceived if t.parent.is_some() => self.tcp.free(c),
                TcpState::SynReceived => self.tcp_fail(env, c, Errno::ECONNREFUSED),
                TcpState::Established
                | TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::CloseWait => self.tcp_fail(env, c, Errno::ECONNRESET),
                _ => self.tcp_done(env, c),
            }
            return Ok(());
        }
        // 4. SYN in a synchronized state (RFC 5961 4.2).
        if seg.syn {
            if t.state == TcpState::SynReceived && t.parent.is_some() {
                self.tcp.free(c);
                return Err(DropReason::TcpUnexpected);
            }
            self.tcp_challenge_ack(env, c);
            return Err(DropReason::TcpChallenged);
        }
        // 5. ACK.
        if !seg.has_ack {
            return Err(DropReason::TcpNoAck);
        }
        if t.state == TcpState::SynReceived {
            if !(seg.ack.gt(t.snd_una) && seg.ack.le(t.snd_max)) {
                self.tcp_reply_rst(env, ip, h, seg.seg_len());
                return Err(DropReason::TcpBadAck);
            }
            self.tcp_established(env, c, &seg);
        }
        let t = &mut self.tcp.conns[c];
        // RFC 5961 5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT.
        let oldest = Seq(t.snd_una.0.wrapping_sub(t.max_snd_wnd));
        if seg.ack.gt(t.snd_max) || seg.ack.lt(oldest) {
            self.tcp_oow_ack(env, c);
            return Err(DropReason::TcpBadAck);
        }
        // What the peer's SACK blocks say it holds (RFC 2018, 6675).
        let mut newly_sacked = 0;
        if t.agreed.sack && seg.opts.sack_n > 0 {
            let (una, max) = (t.snd_una, t.snd_max);
            newly_sacked = t.sacked.update(&seg.opts.sack[..seg.opts.sack_n], una, max);
        }
        let t = &self.tcp.conns[c];
        // A duplicate: with SACK blocks, an ACK that SACKs new data (RFC
        // 6675 2, whatever its window: the reader may have taken data
        // since the last ACK, and a window that moved must not hide a
        // loss); without, RFC 5681 2's same ACK, no data, same window.
        let duplicate = seg.ack == t.snd_una
            && t.flight() > 0
            && if t.agreed.sack && seg.opts.sack_n > 0 {
                newly_sacked > 0
            } else {
                seg.len == 0 && !seg.fin && (seg.wnd as u32) << t.agreed.snd_shift == t.snd_wnd
            };
        if seg.ack.gt(t.snd_una) {
            self.tcp_new_ack(env, c, &seg);
        } else if duplicate {
            self.tcp_dup_ack(env, c);
        }
        let t = &mut self.tcp.conns[c];
        // The send window, from the newest segment (RFC 9293 3.10.7.4).
        if t.snd_wl1.lt(seg.seq) || (t.snd_wl1 == seg.seq && t.snd_wl2.le(seg.ack)) {
            t.snd_wnd = (seg.wnd as u32) << t.agreed.snd_shift;
            t.max_snd_wnd = t.max_snd_wnd.max(t.snd_wnd);
            t.snd_wl1 = seg.seq;
            t.snd_wl2 = seg.ack;
            t.probes_unanswered = 0;
            if t.snd_wnd > 0 {
                t.timers.persist = 0;
                t.probes = 0;
            }
        }
        // Our FIN acknowledged.
        if t.fin_acked() {
            match t.state {
                TcpState::FinWait1 => {
                    t.state = TcpState::FinWait2;
                    if t.sock.is_none() {
                        // Nobody will read: do not wait for the peer forever.
                        t.timers.linger = now + 2 * MSL_MS;
                    }
                }
                TcpState::Closing => self.tcp_time_wait(c, now),
                TcpState::LastAck => {
                    self.tcp_done(env, c);
                    return Ok(());
                }
                _ => {}
            }
        }
        // 7. The payload.
        let t = &mut self.tcp.conns[c];
        if seg.len > 0 {
            let takes = matches!(
                t.state,
                TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
            );
            if takes && t.sock.is_none() && t.parent.is_none() {
                // Closed by the user: nobody will read this (RFC 9293 3.10.4,
                // as Linux does): reset.
                self.tcp_send_rst(env, c);
                self.tcp.free(c);
                return Err(DropReason::TcpDataAfterClose);
            }
            if takes {
                if let Err(r) = self.tcp_data(env, c, &mut seg, m) {
                    self.counters.drop(r);
                }
            }
        }
        // 8. FIN, once everything before it arrived: with this segment,
        // or remembered from one that came after a hole, which the bytes
        // just queued filled.
        let t = &mut self.tcp.conns[c];
        let end = seg.seq + seg.len;
        if seg.fin && !t.rx_fin && end.gt(t.rcv_nxt) {
            t.fin_at = Some(end);
            t.ack_now = true;
        }
        if t.fin_at.is_some_and(|f| f.lt(t.rcv_nxt)) {
            // Bytes past it were taken: not a FIN we can believe.
            t.fin_at = None;
        }
        let fin_next = (seg.fin && end == t.rcv_nxt) || t.fin_at == Some(t.rcv_nxt);
        if fin_next && !t.rx_fin {
            t.rcv_nxt += 1;
            t.rx_fin = true;
            t.fin_at = None;
            t.ack_now = true;
            match t.state {
                TcpState::SynReceived | TcpState::Established => t.state = TcpState::CloseWait,
                TcpState::FinWait1 if t.fin_acked() => self.tcp_time_wait(c, now),
                TcpState::FinWait1 => t.state = TcpState::Closing,
                TcpState::FinWait2 => self.tcp_time_wait(c, now),
                _ => {}
            }
            self.tcp_wake(env, c);
        } else if seg.fin && t.state == TcpState::TimeWait {
            t.ack_now = true;
            t.timers.linger = now + 2 * MSL_MS;
        }
        self.tcp_output(env, c);
        Ok(())
    }
}

/// The peer's SYN: its sequence numbers and what its options offer,
/// agreed with ours (we offer every option, so theirs decide).
fn synchronize(t: &mut super::tcb::Tcb, seg: &Seg) {
    t.irs = seg.seq;
    t.rcv_nxt = seg.seq + 1;
    t.rcv_adv = t.rcv_nxt;
    t.peer_mss = seg.opts.mss.unwrap_or(DEFAULT_MSS);
    t.agreed.mss = t.peer_mss.clamp(MIN_MSS, OUR_MSS);
    t.agreed.sack = seg.opts.sack_permitted;
    if let Some((val, _)) = seg.opts.ts {
        t.agreed.ts = true;
        t.ts_recent = val;
    }
    if let Some(shift) = seg.opts.shift {
        t.agreed.snd_shift = shift;
        t.agreed.rcv_shift = RCV_SHIFT;
    }
    t.snd_wnd = seg.wnd as u32;
    t.max_snd_wnd = t.snd_wnd;
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = seg.ack;
}
