//! The connection block (RFC 9293, section 3.3.1): one connection's
//! state, its send and receive sequence variables, the options both ends
//! agreed on, its queues and its timers.
//!
//! Blocks live in a fixed table (`table.rs`) and are reset in place, never
//! built on the (small) kernel stack and moved.

use abi::Errno;

use super::congestion::Reno;
use super::rcvq::RecvQueue;
use super::reasm::Reassembly;
use super::rtt::Rtt;
use super::scoreboard::Scoreboard;
use super::seq::Seq;
use super::sndbuf::SendBuffer;
use super::TcpState;
use crate::socket::{SockOpts, SocketId};
use crate::Ipv4Addr;

/// Our window scale shift (RFC 7323): enough for [`super::rcvq::RCV_BUF`].
pub const RCV_SHIFT: u8 = 2;
/// The send buffer's size in bytes.
pub const SND_BUF: usize = 64 * 1024;
/// Data segments acknowledged without delay at the start of a connection.
pub const QUICKACKS: u32 = 16;
/// The smallest MSS we use whatever the peer announces (as Linux): a
/// peer asking for tiny segments would have us send a header per byte.
pub const MIN_MSS: u16 = 88;
/// The MSS assumed when the peer sends none (RFC 9293, 3.7.1).
pub const DEFAULT_MSS: u16 = 536;

/// What the two ends agreed on in the handshake.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Agreed {
    /// The most we put in one segment: the peer's MSS, capped by our MTU.
    pub mss: u16,
    /// Window scaling on both sides: the peer's shift (0 without).
    pub snd_shift: u8,
    /// Ours (0 when the peer did not scale).
    pub rcv_shift: u8,
    /// Timestamps on both sides (RFC 7323).
    pub ts: bool,
    /// SACK permitted by the peer (RFC 2018): we send SACK blocks.
    pub sack: bool,
}

/// Timer deadlines, in the stack's milliseconds; 0 = not running.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Timers {
    /// Retransmission (RFC 6298), also of the SYN and of the FIN.
    pub rto: u64,
    /// Tail loss probe (RFC 8985 7), earlier than `rto`.
    pub pto: u64,
    /// The ACK we delay (RFC 1122 4.2.3.2).
    pub delack: u64,
    /// Zero-window probe (RFC 9293 3.8.6.1).
    pub persist: u64,
    /// TIME-WAIT's 2 MSL, and the end of an orphaned FIN-WAIT-2.
    pub linger: u64,
}

/// A connection: its variables, reached through `Deref`, and its queues.
pub(crate) struct Tcb {
    pub v: Vars,
    pub sndbuf: SendBuffer,
    pub rcvq: RecvQueue,
    pub reasm: Reassembly,
}

/// The variables of a connection: small, reset by assignment.
pub(crate) struct Vars {
    pub state: TcpState,
    /// The socket that owns the connection; `None` once closed by the
    /// user (it then lives on until the protocol is done) or before
    /// `accept` took it.
    pub sock: Option<SocketId>,
    pub local: (Ipv4Addr, u16),
    pub remote: (Ipv4Addr, u16),
    pub opts: SockOpts,
    /// Listener: how many connections may wait for `accept`.
    pub backlog: usize,
    /// A connection made by a listener: the listener's slot, until
    /// accepted.
    pub parent: Option<usize>,
    /// When it became established, for `accept`'s order.
    pub established_order: u64,
    /// When a listener made it (ms), for giving way to newer SYNs.
    pub opened_ms: u64,

    // Send sequence variables (RFC 9293 3.3.1).
    pub iss: Seq,
    pub snd_una: Seq,
    pub snd_nxt: Seq,
    /// The highest sequence number sent (snd_nxt goes back on timeout).
    pub snd_max: Seq,
    pub snd_wnd: u32,
    pub max_snd_wnd: u32,
    pub snd_wl1: Seq,
    pub snd_wl2: Seq,
    // Receive sequence variables.
    pub irs: Seq,
    pub rcv_nxt: Seq,
    /// The right edge of the window we advertised last (never shrunk).
    pub rcv_adv: Seq,
    /// The most recent timestamp to echo (RFC 7323 TS.Recent).
    pub ts_recent: u32,
    pub agreed: Agreed,
    /// MSS the peer announced on its SYN (before the handshake ends).
    pub peer_mss: u16,
    pub rtt: Rtt,
    pub cc: Option<Reno>,
    pub timers: Timers,
    /// Retransmissions since the last new acknowledgment.
    pub retries: u32,
    /// Our SYN (or SYN-ACK) timed out and was sent again.
    pub syn_retransmitted: bool,
    /// Zero-window probes sent in a row (their backoff).
    pub probes: u32,
    /// Probes sent since the peer last said anything: a peer that
    /// answers may keep its window closed forever (RFC 1122 4.2.2.17), a
    /// peer that is gone fails the connection like unanswered data.
    pub probes_unanswered: u32,
    /// When the last acceptable segment arrived (ms): keep-alive counts
    /// the silence from there.
    pub last_rx_ms: u64,
    /// Keep-alive probes sent since, and when the last one went.
    pub ka_probes: u32,
    pub ka_sent_ms: u64,
    /// A segment being timed (Karn): its end and when it was sent.
    pub rtt_probe: Option<(Seq, u64)>,
    pub dupacks: u32,
    /// The probe in flight (RFC 8985 TLP.end_seq): what ACK ends it, and
    /// whether it sent old data again.
    pub tlp: Option<(Seq, bool)>,
    /// What the peer's SACK blocks say it holds beyond SND.UNA.
    pub sacked: Scoreboard,
    /// The end of the last hole resent in this recovery (RFC 6675
    /// HighRxt).
    pub high_rxt: Seq,
    /// SND.MAX when the segment at SND.UNA was last sent again in this
    /// recovery: data past it that the peer SACKs left after that
    /// retransmission, and arriving first shows the retransmission lost.
    pub rxt_mark: Option<Seq>,
    /// Full-sized segments received since our last ACK.
    pub unacked_segs: u32,
    /// The largest segment the peer sent so far (its full size, as far
    /// as delayed ACKs go).
    pub rcv_mss: usize,
    /// Data segments still acknowledged at once (the start of the
    /// connection).
    pub quickacks: u32,

    /// The user will send nothing more: a FIN follows the queued data.
    pub fin_queued: bool,
    /// The peer's FIN arrived (end of file once the queue is read).
    pub rx_fin: bool,
    /// Where the peer's FIN is, when it came after a hole: it takes
    /// effect once RCV.NXT reaches it.
    pub fin_at: Option<Seq>,
    /// `shutdown(SHUT_RD)`: what arrives is discarded.
    pub shut_rd: bool,
    /// An ACK is due now (not delayed).
    pub ack_now: bool,
    /// The connection failed: returned by the next call.
    pub error: Option<Errno>,
    /// Processes sleeping on the socket, and those with a timeout.
    pub waiters: u32,
    pub timed_waiters: u32,
}

impl core::ops::Deref for Tcb {
    type Target = Vars;
    fn deref(&self) -> &Vars {
        &self.v
    }
}

impl core::ops::DerefMut for Tcb {
    fn deref_mut(&mut self) -> &mut Vars {
        &mut self.v
    }
}

impl Vars {
    pub(crate) const fn new() -> Vars {
        Vars {
            state: TcpState::Closed,
            sock: None,
            local: ([0; 4], 0),
            remote: ([0; 4], 0),
            opts: SockOpts {
                rcvtimeo_ms: 0,
                nonblock: false,
                nodelay: false,
                reuseaddr: false,
                keepalive: super::Keepalive::DEFAULT,
            },
            backlog: 0,
            parent: None,
            established_order: 0,
            opened_ms: 0,
            iss: Seq(0),
            snd_una: Seq(0),
            snd_nxt: Seq(0),
            snd_max: Seq(0),
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: Seq(0),
            snd_wl2: Seq(0),
            irs: Seq(0),
            rcv_nxt: Seq(0),
            rcv_adv: Seq(0),
            ts_recent: 0,
            agreed: Agreed {
                mss: DEFAULT_MSS,
                snd_shift: 0,
                rcv_shift: 0,
                ts: false,
                sack: false,
            },
            peer_mss: DEFAULT_MSS,
            rtt: Rtt::new(),
            cc: None,
            timers: Timers {
                rto: 0,
                pto: 0,
                delack: 0,
                persist: 0,
                linger: 0,
            },
            retries: 0,
            syn_retransmitted: false,
            probes: 0,
            probes_unanswered: 0,
            last_rx_ms: 0,
            ka_probes: 0,
            ka_sent_ms: 0,
            rtt_probe: None,
            dupacks: 0,
            tlp: None,
            sacked: Scoreboard::new(),
            high_rxt: Seq(0),
            rxt_mark: None,
            unacked_segs: 0,
            rcv_mss: 0,
            quickacks: QUICKACKS,
            fin_queued: false,
            rx_fin: false,
            fin_at: None,
            shut_rd: false,
            ack_now: false,
            error: None,
            waiters: 0,
            timed_waiters: 0,
        }
    }
}

impl Tcb {
    pub(crate) const fn new() -> Tcb {
        Tcb {
            v: Vars::new(),
            sndbuf: SendBuffer::new(),
            rcvq: RecvQueue::new(),
            reasm: Reassembly::new(),
        }
    }

    /// Back to a fresh block, in place: queued mbufs go back to the pool.
    pub(crate) fn reset(&mut self) {
        self.sndbuf.clear();
        self.rcvq.clear();
        self.reasm.clear();
        self.v = Vars::new();
    }

    /// Is this slot a connection or socket at all?
    pub(crate) fn in_use(&self) -> bool {
        self.sock.is_some() || self.state != TcpState::Closed
    }

    /// The sequence number of our FIN (after all queued data), once the
    /// user asked for it.
    pub(crate) fn fin_seq(&self) -> Option<Seq> {
        self.fin_queued.then(|| self.sndbuf.end())
    }

    /// Our FIN was sent and acknowledged.
    pub(crate) fn fin_acked(&self) -> bool {
        self.fin_seq().is_some_and(|f| self.snd_una.gt(f))
    }

    /// The receive window we can offer now, in bytes.
    pub(crate) fn rcv_space(&self) -> u32 {
        let max = (u16::MAX as u32) << self.agreed.rcv_shift;
        (self.rcvq.space(self.agreed.mss as usize) as u32).min(max)
    }

    /// RCV.WND: what we advertised and have not yet received, never less
    /// than what we offer now.
    pub(crate) fn rcv_wnd(&self) -> u32 {
        let adv = self.rcv_adv.diff(self.rcv_nxt);
        let adv = if self.rcv_adv.gt(self.rcv_nxt) {
            adv
        } else {
            0
        };
        adv.max(self.rcv_space())
    }

    /// The window to advertise: the right edge moves only by a full
    /// segment (or half the buffer) at a time, so a reader taking a few
    /// bytes does not invite a segment of a few bytes (receiver-side
    /// silly window avoidance, RFC 9293 3.8.6.2.2); it never moves back.
    pub(crate) fn wnd_to_advertise(&self) -> u32 {
        let offered = if self.rcv_adv.gt(self.rcv_nxt) {
            self.rcv_adv.diff(self.rcv_nxt)
        } else {
            0
        };
        let space = self.rcv_space();
        let step = (self.agreed.mss as u32).min(super::rcvq::RCV_BUF as u32 / 2);
        if space >= offered.saturating_add(step) {
            space
        } else {
            offered
        }
    }

    /// Bytes (and SYN/FIN) sent and not yet acknowledged.
    pub(crate) fn flight(&self) -> u32 {
        self.snd_max.diff(self.snd_una)
    }

    /// The state is one of the synchronized ones (RFC 9293 3.5).
    pub(crate) fn synchronized(&self) -> bool {
        !matches!(
            self.state,
            TcpState::Closed | TcpState::Listen | TcpState::SynSent | TcpState::SynReceived
        )
    }
}
