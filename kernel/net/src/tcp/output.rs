//! Sending segments: the header written by the generated `TcpHeaderRepr`
//! (its checksum over the IPv4 pseudo-header) behind our options, then
//! handed to IPv4; what the windows, congestion control and Nagle allow
//! of the send buffer (RFC 9293 3.8.6, RFC 5681, RFC 896); ACKs, SYNs,
//! FINs, RSTs.

use wire::dispatch::Ipv4Next;
use wire::emit::Ipv4PseudoHeader;
use wire::tcp::{TcpHeader, TcpHeaderRepr};

use super::options::{TxOptions, MAX_SACK_BLOCKS};
use super::seq::Seq;
use super::tcb::RCV_SHIFT;
use super::TcpState;
use crate::counters::{DropReason, Stat};
use crate::ipv4::{IpMeta, MTU};
use crate::mbuf::Mbuf;
use crate::{Ipv4Addr, NetEnv, Stack};

/// The control bits of a segment we send.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
}

impl Flags {
    pub(crate) const ACK: Flags = Flags {
        syn: false,
        ack: true,
        fin: false,
        rst: false,
        psh: false,
    };
}

/// The MSS we announce for a route of `mtu` bytes: what is left after
/// the fixed IPv4 and TCP headers (RFC 9293 3.7.1).
pub(crate) const fn mss_for_mtu(mtu: usize) -> u16 {
    (mtu - crate::ipv4::HEADER_LEN - TcpHeader::LEN) as u16
}

/// Our MSS: the link MTU's (loopback uses the same).
pub const OUR_MSS: u16 = mss_for_mtu(MTU);

/// The segment a [`Stack::tcp_emit`] writes, besides its payload.
pub(crate) struct Segment<'a> {
    pub local: (Ipv4Addr, u16),
    pub remote: (Ipv4Addr, u16),
    pub seq: Seq,
    pub ack: Seq,
    pub flags: Flags,
    pub window: u16,
    pub options: &'a TxOptions,
}

impl Stack {
    /// Writes the options and the header of `s` in front of the payload
    /// in `m` and sends it. Failures are counted, not returned.
    pub(crate) fn tcp_emit(&mut self, env: &mut dyn NetEnv, mut m: Mbuf, s: &Segment) {
        let header = TcpHeaderRepr {
            src_port: s.local.1,
            dst_port: s.remote.1,
            seq: s.seq.0,
            ack: if s.flags.ack { s.ack.0 } else { 0 },
            ack_flag: s.flags.ack,
            psh: s.flags.psh,
            rst: s.flags.rst,
            syn: s.flags.syn,
            fin: s.flags.fin,
            window: s.window,
            ..TcpHeaderRepr::default()
        };
        let pseudo = Ipv4PseudoHeader::new(s.local.0, s.remote.0);
        if m.push_emit_options(&header, s.options.bytes(), pseudo)
            .is_err()
        {
            self.counters.drop(DropReason::TxNoMbuf);
            return;
        }
        self.counters.bump(Stat::TcpSegsOut);
        self.ipv4_output_from(env, m, Ipv4Next::Tcp, s.local.0, s.remote.0);
    }

    /// Sends a segment of connection `c` carrying `payload` (or nothing)
    /// at `seq`, with its ACK, window and options, and notes what it
    /// acknowledged and advertised.
    pub(crate) fn tcp_xmit(
        &mut self,
        env: &mut dyn NetEnv,
        c: usize,
        payload: Option<Mbuf>,
        seq: Seq,
        flags: Flags,
    ) {
        let now = env.now_ms();
        let m = match payload {
            Some(m) => m,
            None => match self.alloc() {
                Some(m) => m,
                None => return,
            },
        };
        let t = &mut self.tcp.conns[c];
        let ts = t.agreed.ts.then_some((now as u32, t.ts_recent));
        let options = if flags.syn {
            // On a SYN-ACK, only what the peer offered; on a SYN, all.
            let answer = t.state == TcpState::SynReceived;
            let sack = !answer || t.agreed.sack;
            let ts = if answer { ts } else { Some((now as u32, 0)) };
            let shift = (!answer || t.agreed.rcv_shift != 0).then_some(RCV_SHIFT);
            TxOptions::syn(OUR_MSS, sack, ts, shift)
        } else {
            let mut o = TxOptions::new();
            if let Some(ts) = ts {
                o.timestamps(ts);
            }
            if t.agreed.sack && !t.reasm.is_empty() && !flags.rst {
                let mut blocks = [(Seq(0), Seq(0)); MAX_SACK_BLOCKS];
                let n = t.reasm.sack_blocks(&mut blocks);
                o.sack(&blocks[..n]);
            }
            o
        };
        let space = t.wnd_to_advertise();
        let window = if flags.syn {
            space.min(u16::MAX as u32) as u16
        } else {
            (space >> t.agreed.rcv_shift).min(u16::MAX as u32) as u16
        };
        if flags.ack {
            let shift = if flags.syn { 0 } else { t.agreed.rcv_shift };
            let edge = t.rcv_nxt + ((window as u32) << shift);
            if edge.gt(t.rcv_adv) {
                t.rcv_adv = edge;
            }
            t.timers.delack = 0;
            t.ack_now = false;
            t.unacked_segs = 0;
        }
        let s = Segment {
            local: t.local,
            remote: t.remote,
            seq,
            ack: t.rcv_nxt,
            flags,
            window,
            options: &options,
        };
        self.tcp_emit(env, m, &s);
    }

    /// Sends our SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) again or for
    /// the first time, and runs the retransmission timer.
    pub(crate) fn tcp_send_syn(&mut self, env: &mut dyn NetEnv, c: usize) {
        let t = &mut self.tcp.conns[c];
        let flags = Flags {
            syn: true,
            ack: t.state == TcpState::SynReceived,
            ..Flags::default()
        };
        let iss = t.iss;
        t.snd_nxt = iss + 1;
        t.snd_max = iss + 1;
        if t.timers.rto == 0 {
            t.timers.rto = env.now_ms() + t.rtt.rto_ms() as u64;
        }
        self.tcp_xmit(env, c, None, iss, flags);
    }

    /// A bare ACK of what we received.
    pub(crate) fn tcp_send_ack(&mut self, env: &mut dyn NetEnv, c: usize) {
        let seq = self.tcp.conns[c].snd_nxt;
        self.tcp_xmit(env, c, None, seq, Flags::ACK);
    }

    /// Aborts connection `c` towards the peer: a RST at SND.NXT (RFC 9293
    /// 3.10.4 ABORT).
    pub(crate) fn tcp_send_rst(&mut self, env: &mut dyn NetEnv, c: usize) {
        let seq = self.tcp.conns[c].snd_nxt;
        self.counters.bump(Stat::TcpRstsOut);
        let flags = Flags {
            rst: true,
            ack: true,
            ..Flags::default()
        };
        self.tcp_xmit(env, c, None, seq, flags);
    }

    /// The RST that answers a segment no connection takes (RFC 9293
    /// 3.10.7.1): at its ACK when it had one, else acknowledging it.
    pub(crate) fn tcp_reply_rst(
        &mut self,
        env: &mut dyn NetEnv,
        ip: &IpMeta,
        h: &TcpHeader,
        seg_len: u32,
    ) {
        let Some(m) = self.alloc() else { return };
        let (seq, ack, flags) = if h.ack_flag() {
            (
                Seq(h.ack()),
                Seq(0),
                Flags {
                    rst: true,
                    ..Flags::default()
                },
            )
        } else {
            let flags = Flags {
                rst: true,
                ack: true,
                ..Flags::default()
            };
            (Seq(0), Seq(h.seq()) + seg_len, flags)
        };
        self.counters.bump(Stat::TcpRstsOut);
        let options = TxOptions::new();
        let s = Segment {
            local: (ip.dst, h.dst_port()),
            remote: (ip.src, h.src_port()),
            seq,
            ack,
            flags,
            window: 0,
            options: &options,
        };
        self.tcp_emit(env, m, &s);
    }

    /// The most payload one segment of `c` carries: the agreed MSS less
    /// the options every segment repeats (RFC 9293 3.7.1).
    pub(crate) fn tcp_payload_max(&self, c: usize) -> u32 {
        let t = &self.tcp.conns[c];
        let ts = if t.agreed.ts {
            TxOptions::timestamps_len()
        } else {
            0
        };
        (t.agreed.mss as u32).saturating_sub(ts as u32).max(1)
    }

    /// Sends what connection `c` may send now: new data (or data again
    /// after a timeout moved SND.NXT back) within the peer's window and
    /// the congestion window, Nagle permitting; then the FIN once the
    /// data is out; then an ACK if one is due and nothing carried it.
    pub(crate) fn tcp_output(&mut self, env: &mut dyn NetEnv, c: usize) {
        let now = env.now_ms();
        let mss = self.tcp_payload_max(c);
        {
            let t = &mut self.tcp.conns[c];
            // A FIN asked for before the handshake ended goes now.
            match t.state {
                TcpState::Established if t.fin_queued => t.state = TcpState::FinWait1,
                TcpState::CloseWait if t.fin_queued => t.state = TcpState::LastAck,
                _ => {}
            }
        }
        let mut sent_any = false;
        loop {
            let t = &self.tcp.conns[c];
            if !matches!(
                t.state,
                TcpState::Established
                    | TcpState::CloseWait
                    | TcpState::FinWait1
                    | TcpState::Closing
                    | TcpState::LastAck
            ) {
                break;
            }
            let end = t.sndbuf.end();
            let avail = if end.gt(t.snd_nxt) {
                end.diff(t.snd_nxt)
            } else {
                0
            };
            let cwnd = t.cc.as_ref().map_or(u32::MAX, |cc| cc.send_window(mss));
            let wnd = t.snd_wnd.min(cwnd);
            let in_flight = t.snd_nxt.diff(t.snd_una);
            let usable = wnd.saturating_sub(in_flight);
            let want = avail.min(usable).min(mss);
            let fin_due = t.fin_seq().is_some_and(|f| t.snd_nxt + want == f);
            if want > 0 {
                let len = want;
                let all = len == avail;
                // Nagle (RFC 896): a small segment waits while data is
                // unacknowledged; and (RFC 9293 3.8.6.2.1) a small one the
                // window cut waits for the window to open, while an ACK to
                // open it is still to come.
                let small = len < mss;
                let nagle = small && all && !t.opts.nodelay && in_flight > 0 && !fin_due;
                let sws = small && !all && len < t.max_snd_wnd / 2 && in_flight > 0;
                if nagle || sws {
                    break;
                }
                let seq = t.snd_nxt;
                let timed = t.snd_nxt == t.snd_max && t.rtt_probe.is_none() && !t.agreed.ts;
                let Some(m) = self.tcp.conns[c].sndbuf.segment(seq, len as usize) else {
                    break;
                };
                // A segment ends where its kept mbuf does.
                let len = m.len() as u32;
                let fin_due = fin_due && len == want;
                let flags = Flags {
                    ack: true,
                    psh: all && len == want,
                    fin: fin_due,
                    ..Flags::default()
                };
                if seq.lt(self.tcp.conns[c].snd_max) {
                    self.counters.bump(Stat::TcpRetransmits);
                }
                self.tcp_xmit(env, c, Some(m), seq, flags);
                let t = &mut self.tcp.conns[c];
                if timed {
                    t.rtt_probe = Some((seq + len, now));
                }
                t.snd_nxt = seq + len + fin_due as u32;
            } else if fin_due {
                let seq = t.snd_nxt;
                if seq.lt(t.snd_max) {
                    self.counters.bump(Stat::TcpRetransmits);
                }
                let flags = Flags {
                    ack: true,
                    fin: true,
                    ..Flags::default()
                };
                self.tcp_xmit(env, c, None, seq, flags);
                self.tcp.conns[c].snd_nxt = seq + 1;
            } else {
                break;
            }
            sent_any = true;
            let t = &mut self.tcp.conns[c];
            if t.snd_nxt.gt(t.snd_max) {
                t.snd_max = t.snd_nxt;
            }
            if t.timers.rto == 0 {
                t.timers.rto = now + t.rtt.rto_ms() as u64;
            }
            t.timers.persist = 0;
        }
        if sent_any {
            self.tcp_arm_tlp(now, c);
        }
        let t = &mut self.tcp.conns[c];
        if !sent_any && t.ack_now {
            self.tcp_send_ack(env, c);
        }
        let t = &mut self.tcp.conns[c];
        // Data waits with nothing in flight to bring an ACK: on a closed
        // window (RFC 9293 3.8.6.1), or because no buffer could be had to
        // send it in. Probe: the peer's answer brings us back here.
        let waiting = t.sndbuf.end().gt(t.snd_nxt) || (t.fin_queued && t.snd_max == t.sndbuf.end());
        if t.synchronized()
            && waiting
            && t.flight() == 0
            && t.timers.persist == 0
            && t.timers.rto == 0
        {
            t.timers.persist = now + t.rtt.rto_ms() as u64;
        }
    }

    /// Sends the first unacknowledged segment again (fast retransmit,
    /// and NewReno's partial ACKs), leaving SND.NXT where it is.
    pub(crate) fn tcp_retransmit_first(&mut self, env: &mut dyn NetEnv, c: usize) {
        let una = self.tcp.conns[c].snd_una;
        let len = self.tcp_retransmit_at(env, c, una, u32::MAX);
        let t = &mut self.tcp.conns[c];
        t.high_rxt = una + len;
        t.rxt_mark = Some(t.snd_max);
    }

    /// In recovery, the next segment to send again: the first hole the
    /// SACK scoreboard shows past what this recovery resent already; or,
    /// with no SACK information, the first unacknowledged segment (as
    /// NewReno). Nothing when every hole was resent.
    pub(crate) fn tcp_retransmit_next(&mut self, env: &mut dyn NetEnv, c: usize) {
        let t = &self.tcp.conns[c];
        if t.sacked.is_empty() {
            return self.tcp_retransmit_first(env, c);
        }
        let from = if t.high_rxt.gt(t.snd_una) {
            t.high_rxt
        } else {
            t.snd_una
        };
        let Some((seq, hole)) = t.sacked.next_hole(from) else {
            return;
        };
        self.counters.bump(Stat::TcpSackRetransmits);
        let len = self.tcp_retransmit_at(env, c, seq, hole);
        let t = &mut self.tcp.conns[c];
        t.high_rxt = seq + len;
    }

    /// Sends the data from `seq` again (at most `limit` bytes and one
    /// segment, and the FIN when it follows), leaving SND.NXT where it
    /// is; returns the sequence space sent.
    pub(crate) fn tcp_retransmit_at(
        &mut self,
        env: &mut dyn NetEnv,
        c: usize,
        seq: Seq,
        limit: u32,
    ) -> u32 {
        let mss = self.tcp_payload_max(c);
        let t = &self.tcp.conns[c];
        let end = t.sndbuf.end();
        let avail = if end.gt(seq) { end.diff(seq) } else { 0 };
        let len = avail.min(mss).min(limit);
        self.counters.bump(Stat::TcpRetransmits);
        let mut sent = 0;
        if len > 0 {
            let fin = t.fin_seq().is_some_and(|f| seq + len == f) && t.snd_max.gt(end);
            let Some(m) = self.tcp.conns[c].sndbuf.segment(seq, len as usize) else {
                return 0;
            };
            sent = m.len() as u32;
            let fin = fin && sent == len;
            let flags = Flags {
                ack: true,
                fin,
                ..Flags::default()
            };
            self.tcp_xmit(env, c, Some(m), seq, flags);
            sent += fin as u32;
        } else if t.fin_seq() == Some(seq) && t.snd_max.gt(seq) {
            let flags = Flags {
                ack: true,
                fin: true,
                ..Flags::default()
            };
            self.tcp_xmit(env, c, None, seq, flags);
            sent = 1;
        }
        let t = &mut self.tcp.conns[c];
        // Karn: a retransmitted segment is never timed.
        t.rtt_probe = None;
        sent
    }
}
