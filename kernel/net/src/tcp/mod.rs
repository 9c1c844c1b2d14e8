//! TCP (RFC 9293): stream sockets on the stack.
//!
//! This file holds the socket calls the kernel makes; the machinery is in
//! small files: the connection block (`tcb.rs`), the table of blocks and
//! the demultiplexing of segments (`table.rs`), segment arrival
//! (`input.rs`, its payload in `data.rs`, its acknowledgment in
//! `ack.rs`), sending (`output.rs`), options (`options.rs`), timers
//! (`timer.rs`), the in-order receive queue (`rcvq.rs`) and the shared
//! socket calls on TCP ids (`sockcalls.rs`); the building blocks are
//! sequence numbers (`seq.rs`), the send buffer (`sndbuf.rs`), the
//! reassembly queue (`reasm.rs`), RTT estimation (`rtt.rs`), NewReno
//! (`congestion.rs`), the SACK scoreboard (`scoreboard.rs`) and ISNs
//! (`isn.rs`).
//!
//! Timers (RFC 9293 3.8 and what it cites): retransmission per RFC 6298
//! (Karn's rule, exponential backoff, [`SYN_RETRIES`] for a handshake,
//! [`SYNACK_RETRIES`] for a listener's, [`DATA_RETRIES`] afterwards, then
//! `ETIMEDOUT`); delayed ACKs
//! ([`DELACK_MS`], at least every second full segment); the persist timer
//! probing a zero window (for ever while the peer answers, `ETIMEDOUT`
//! after [`DATA_RETRIES`] probes it leaves unanswered); TIME-WAIT for 2 × [`MSL_MS`], a short MSL as
//! RFC 9293 3.4.2 allows for a host that picks ISNs by RFC 6528 (a
//! connection in TIME-WAIT also gives its block up when the table is
//! full). All run from [`Stack::tick`].
//!
//! Bounded against any peer: a listener's backlog ([`BACKLOG_MAX`], its
//! oldest half-open connection giving way to a new SYN), the table
//! ([`table::MAX_CONNS`]), each connection's in-order and out-of-order
//! queues, and all of them together (half the mbuf pool); challenge ACKs
//! and the ACKs that answer segments outside the window are rate-limited,
//! each kind to [`ACK_THROTTLE_PER_SEC`] for the whole stack.
//!
//! A RST never ends TIME-WAIT early (RFC 1337). A FIN that arrives after
//! a hole is remembered and taken when the hole fills.
//!
//! Keep-alive is there when asked for ([`Keepalive`]).
//!
//! Loss recovery is NewReno, helped by the SACK blocks the peer sends:
//! in fast recovery each further duplicate ACK resends the next hole the
//! scoreboard shows, so several losses in one window are repaired in one
//! round trip (RFC 6675 in a simple form: no pipe estimate, one segment
//! per duplicate ACK).
//!
//! Not done (deviations a reader may look for): no urgent data.
//!
//! A TCP socket is named by a [`SocketId`] like a datagram socket, from its
//! own range (`MAX_SOCKETS..MAX_SOCKETS + MAX_TCP`), so the kernel's socket
//! files, sleep channels and [`NetEnv::wakeup`] work unchanged for both.
//! Bytes cross between user space and the stack through closures the
//! kernel passes in (`copyin`/`copyout`): received segments stay in the
//! mbufs the device wrote until [`Stack::tcp_recv`] copies them out
//! (through `Mbuf::copy_out`, which counts them), and [`Stack::tcp_send`]
//! copies user bytes once into the mbufs kept for retransmission.

pub mod congestion;
pub mod isn;
pub mod reasm;
pub mod rtt;
pub mod seq;
pub mod sndbuf;

pub(crate) mod ack;
mod data;
mod input;
mod options;
mod output;
pub mod rcvq;
pub mod scoreboard;
mod sockcalls;
pub mod table;
pub mod tcb;
mod timer;
mod tlp;

use abi::net::{SockAddrIn, AF_INET, SHUT_RD, SHUT_RDWR, SHUT_WR};
use abi::Errno;

use crate::counters::Stat;
use crate::socket::{SocketId, MAX_SOCKETS};
use crate::{NetEnv, Stack};

pub use output::OUR_MSS;

/// TCP sockets (listeners and connections together).
pub const MAX_TCP: usize = 128;

/// The most connections a listener lets wait for `accept`.
pub const BACKLOG_MAX: usize = 16;
/// Maximum segment lifetime: short, as RFC 9293 3.4.2 allows (TIME-WAIT
/// lasts twice this).
pub const MSL_MS: u64 = 2_000;
/// How long an ACK may wait for data to ride on (RFC 1122 4.2.3.2: less
/// than 500 ms; Linux waits at least 40).
pub const DELACK_MS: u64 = 40;
/// Retransmissions of a SYN before `connect` fails with `ETIMEDOUT`: the
/// timer doubling from 1 s, the attempt ends 63 s after the first SYN
/// (Linux tries once more, for 127 s).
pub const SYN_RETRIES: u32 = 5;
/// Retransmissions of a SYN-ACK before a half-open connection of a
/// listener is given up (Linux's `tcp_synack_retries`, there 5): 31 s
/// after the first. A peer that answers does so within a few round trips;
/// one that does not holds a place in the backlog until then.
pub const SYNACK_RETRIES: u32 = 4;
/// Retransmissions of data (or a FIN) before the connection fails.
pub const DATA_RETRIES: u32 = 8;
/// Challenge ACKs the stack sends per second at most (RFC 5961 7), and as
/// many ACKs of segments outside the window (Linux's
/// `tcp_challenge_ack_limit` and `tcp_invalid_ratelimit` do the same).
pub const ACK_THROTTLE_PER_SEC: u32 = 100;
/// The longest interval between zero-window probes.
pub const PERSIST_MAX_MS: u64 = 60_000;

/// `SO_KEEPALIVE` (RFC 1122 4.2.3.6) with its Linux-named settings: off
/// until asked for; then, after `idle_s` seconds without a segment from
/// the peer (and nothing of ours unacknowledged, which the retransmission
/// timer watches), a probe every `intvl_s` seconds; `cnt` unanswered
/// ones fail the connection with `ETIMEDOUT`. The defaults are Linux's
/// (two hours, 75 s, 9), as RFC 1122 asks for at least two hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    pub on: bool,
    pub idle_s: u32,
    pub intvl_s: u32,
    pub cnt: u32,
}

impl Keepalive {
    pub const DEFAULT: Keepalive = Keepalive {
        on: false,
        idle_s: 7200,
        intvl_s: 75,
        cnt: 9,
    };
}

impl Default for Keepalive {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Is `id` a TCP socket's?
pub fn is_tcp(id: SocketId) -> bool {
    (MAX_SOCKETS..MAX_SOCKETS + MAX_TCP).contains(&(id.0 as usize))
}

/// The connection states (RFC 9293, section 3.3.2), numbered as
/// `abi::net::TCP_STATES` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum TcpState {
    Closed = 0,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

/// What `poll` reports for one socket (any kind).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollState {
    /// A read would not block: data, end of file, a connection to accept,
    /// or an error to report.
    pub readable: bool,
    /// A write would not block: room in the send buffer (always, for a
    /// datagram socket).
    pub writable: bool,
    /// The peer finished sending or the connection is gone.
    pub hangup: bool,
    /// An error is pending (read it with the next call).
    pub error: bool,
}

/// Copies bytes between user space and the stack: called with a chunk
/// and the offset of that chunk from the start of the caller's buffer.
pub type CopyOut<'a> = dyn FnMut(&[u8], usize) -> Result<(), Errno> + 'a;
/// Fills a chunk of a send buffer from user space, at the given offset of
/// the caller's buffer.
pub type CopyIn<'a> = dyn FnMut(&mut [u8], usize) -> Result<(), Errno> + 'a;

/// The socket calls of TCP. Each takes the id of a socket made by
/// `Stack::socket(SocketKind::Tcp)`; `bind`, `getsockname`, `options` and
/// `set_options` are the shared ones of `socket.rs`.
impl Stack {
    /// `socket(AF_INET, SOCK_STREAM, 0)`.
    pub(crate) fn tcp_socket(&mut self) -> Result<SocketId, Errno> {
        let c = self.tcp.alloc().ok_or(Errno::ENFILE)?;
        match self.tcp.give_id(c) {
            Ok(id) => {
                self.tcp.conns[c].sndbuf.set_capacity(tcb::SND_BUF);
                Ok(id)
            }
            Err(e) => {
                self.tcp.free(c);
                Err(e)
            }
        }
    }

    /// Seeds the ISN generator (RFC 6528's secret key), for a platform
    /// with an entropy source (and for tests). Without it, the first
    /// connection keys it from the fine clock, the time and our MAC: what
    /// the kernel relies on, since the machine it runs on has no entropy
    /// device and the moment of the first connection, in 100 ns units, is
    /// less predictable than anything known at boot. Less secret than a
    /// random key, never constant.
    pub fn tcp_set_isn_key(&mut self, key: [u8; 16]) {
        self.tcp.isn.set_key(key);
    }

    /// The ISN of a new connection (RFC 6528).
    pub(crate) fn tcp_isn(
        &mut self,
        env: &mut dyn NetEnv,
        local: (crate::Ipv4Addr, u16),
        remote: (crate::Ipv4Addr, u16),
    ) -> seq::Seq {
        let now = env.now_ms();
        if !self.tcp.isn.is_keyed() {
            let mut key = [0; 16];
            let (a, b) = key.split_at_mut(8);
            a.copy_from_slice(&env.clock().to_le_bytes());
            b.copy_from_slice(&now.to_le_bytes());
            for (k, m) in key.iter_mut().zip(self.iface.mac) {
                *k ^= m;
            }
            self.tcp.isn.set_key(key);
        }
        self.tcp.isn.isn(now * 1000, local, remote)
    }

    /// `listen`: the bound (or autobound) socket accepts connections;
    /// at most `backlog` (clamped to a fixed maximum) wait for `accept`,
    /// half-open ones included.
    pub fn tcp_listen(&mut self, id: SocketId, backlog: usize) -> Result<(), Errno> {
        let c = self.tcp.conn_of(id)?;
        let t = &self.tcp.conns[c];
        match t.state {
            TcpState::Listen => {}
            TcpState::Closed if t.error.is_none() && t.remote.1 == 0 => {
                let (addr, port) = t.local;
                let port = if port == 0 {
                    self.tcp.ephemeral()?
                } else {
                    port
                };
                let reuse = self.tcp.conns[c].opts.reuseaddr;
                // Only one listener per port, whatever SO_REUSEADDR says.
                if self.tcp.port_in_use(c, addr, port, reuse)
                    || self
                        .tcp
                        .conns
                        .iter()
                        .enumerate()
                        .any(|(i, o)| i != c && o.state == TcpState::Listen && o.local.1 == port)
                {
                    return Err(Errno::EADDRINUSE);
                }
                self.tcp.conns[c].local = (addr, port);
                self.tcp.conns[c].state = TcpState::Listen;
            }
            _ => return Err(Errno::EINVAL),
        }
        self.tcp.conns[c].backlog = backlog.clamp(1, BACKLOG_MAX);
        Ok(())
    }

    /// `accept`: an established connection from the listener's queue and
    /// its peer's address; `EAGAIN` when none is ready.
    pub fn tcp_accept(&mut self, id: SocketId) -> Result<(SocketId, SockAddrIn), Errno> {
        let l = self.tcp.conn_of(id)?;
        if self.tcp.conns[l].state != TcpState::Listen {
            return Err(Errno::EINVAL);
        }
        let c = self.tcp.ready_child(l).ok_or(Errno::EAGAIN)?;
        let new = self.tcp.give_id(c)?;
        let t = &mut self.tcp.conns[c];
        t.parent = None;
        Ok((new, SockAddrIn::new(t.remote.0, t.remote.1)))
    }

    /// `connect`: sends the SYN and returns; the caller then waits until
    /// [`Stack::tcp_connected`] says the handshake finished or failed.
    pub fn tcp_connect(
        &mut self,
        env: &mut dyn NetEnv,
        id: SocketId,
        to: &SockAddrIn,
    ) -> Result<(), Errno> {
        let c = self.tcp.conn_of(id)?;
        if to.family != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        match self.tcp.conns[c].state {
            TcpState::Closed if self.tcp.conns[c].remote.1 == 0 => {}
            TcpState::SynSent | TcpState::SynReceived => return Err(Errno::EALREADY),
            TcpState::Listen => return Err(Errno::EINVAL),
            _ => return Err(Errno::EISCONN),
        }
        let remote = (to.addr_be, to.port());
        if remote.0 == [0; 4] || remote.1 == 0 || crate::ipv4::is_group(remote.0) {
            return Err(Errno::EINVAL);
        }
        if self.route(remote.0).is_none() {
            return Err(Errno::ENETUNREACH);
        }
        let (addr, port) = self.tcp.conns[c].local;
        let addr = if addr == [0; 4] {
            self.source_for(remote.0)
        } else {
            addr
        };
        let port = if port == 0 {
            self.tcp.ephemeral()?
        } else {
            port
        };
        if self
            .tcp
            .find((addr, port), remote)
            .is_some_and(|o| o != c && self.tcp.conns[o].state != TcpState::Listen)
        {
            return Err(Errno::EADDRINUSE);
        }
        let now = env.now_ms();
        let iss = self.tcp_isn(env, (addr, port), remote);
        let t = &mut self.tcp.conns[c];
        t.local = (addr, port);
        t.remote = remote;
        t.iss = iss;
        t.snd_una = iss;
        t.sndbuf.start(iss + 1);
        t.state = TcpState::SynSent;
        t.error = None;
        t.agreed.mss = OUR_MSS;
        t.rtt_probe = Some((iss + 1, now));
        self.counters.bump(Stat::TcpActiveOpens);
        self.tcp_send_syn(env, c);
        self.flush_loopback(env);
        Ok(())
    }

    /// Whether an active open has finished: `Ok(true)` established,
    /// `Ok(false)` still in progress, or why it failed (`ECONNREFUSED` on
    /// a RST, `ETIMEDOUT` after the SYN's retries).
    pub fn tcp_connected(&mut self, id: SocketId) -> Result<bool, Errno> {
        let c = self.tcp.conn_of(id)?;
        let t = &mut self.tcp.conns[c];
        if let Some(e) = t.error.take() {
            return Err(e);
        }
        match t.state {
            TcpState::SynSent | TcpState::SynReceived => Ok(false),
            TcpState::Closed | TcpState::Listen => Err(Errno::ENOTCONN),
            _ => Ok(true),
        }
    }

    /// `send`/`write`: takes up to `len` bytes into the send buffer,
    /// calling `fill` for each chunk (the one copy from user space), and
    /// sends what the windows and Nagle allow. Returns the bytes taken:
    /// `EAGAIN` when the buffer is full (wait for `writable`), `EPIPE`
    /// after `shutdown(SHUT_WR)` or `close`, the connection's error
    /// (`ECONNRESET`, `ETIMEDOUT`) once it failed.
    pub fn tcp_send(
        &mut self,
        env: &mut dyn NetEnv,
        id: SocketId,
        len: usize,
        fill: &mut CopyIn,
    ) -> Result<usize, Errno> {
        let c = self.tcp.conn_of(id)?;
        let mss = self.tcp_payload_max(c) as usize;
        let pool = self.pool;
        let t = &mut self.tcp.conns[c];
        if let Some(e) = t.error.take() {
            return Err(e);
        }
        if t.fin_queued {
            return Err(Errno::EPIPE);
        }
        match t.state {
            TcpState::Established | TcpState::CloseWait => {}
            TcpState::SynSent | TcpState::SynReceived => return Err(Errno::EAGAIN),
            TcpState::Closed | TcpState::Listen => return Err(Errno::ENOTCONN),
            _ => return Err(Errno::EPIPE),
        }
        if len == 0 {
            return Ok(0);
        }
        let n = t.sndbuf.append(pool, len, mss, fill)?;
        self.tcp_output(env, c);
        self.flush_loopback(env);
        Ok(n)
    }

    /// `recv`/`read`: copies up to `len` received bytes in order through
    /// `copy`, frees the mbufs emptied and opens the window (sending a
    /// window update when it grew enough). `Ok(0)` is end of file (the
    /// peer's FIN); `EAGAIN` when nothing is there yet.
    pub fn tcp_recv(
        &mut self,
        env: &mut dyn NetEnv,
        id: SocketId,
        len: usize,
        copy: &mut CopyOut,
    ) -> Result<usize, Errno> {
        let c = self.tcp.conn_of(id)?;
        let t = &mut self.tcp.conns[c];
        if t.state == TcpState::Listen {
            return Err(Errno::ENOTCONN);
        }
        if len == 0 {
            return Ok(0);
        }
        if t.rcvq.is_empty() {
            if let Some(e) = t.error.take() {
                return Err(e);
            }
            return match t.state {
                _ if t.rx_fin || t.shut_rd => Ok(0),
                TcpState::Closed if t.remote.1 == 0 => Err(Errno::ENOTCONN),
                TcpState::Closed => Ok(0),
                _ => Err(Errno::EAGAIN),
            };
        }
        let n = t.rcvq.read(len, copy)?;
        // A window update once reading opened the window enough to
        // advertise (a segment's worth at least: silly window avoidance,
        // RFC 9293 3.8.6.2.2) and at least doubled it (as Linux), so a
        // peer waiting on a closed or nearly closed window hears of it.
        let t = &self.tcp.conns[c];
        let offered = if t.rcv_adv.gt(t.rcv_nxt) {
            t.rcv_adv.diff(t.rcv_nxt)
        } else {
            0
        };
        let new = t.wnd_to_advertise();
        if t.synchronized() && !t.rx_fin && new > offered && new >= offered.saturating_mul(2) {
            self.tcp_send_ack(env, c);
            self.flush_loopback(env);
        }
        Ok(n)
    }

    /// `shutdown`: `SHUT_WR` sends a FIN after the queued data; `SHUT_RD`
    /// discards what arrives from now on.
    pub fn tcp_shutdown(
        &mut self,
        env: &mut dyn NetEnv,
        id: SocketId,
        how: usize,
    ) -> Result<(), Errno> {
        let c = self.tcp.conn_of(id)?;
        if !matches!(how, SHUT_RD | SHUT_WR | SHUT_RDWR) {
            return Err(Errno::EINVAL);
        }
        let t = &mut self.tcp.conns[c];
        if matches!(t.state, TcpState::Closed | TcpState::Listen) {
            return Err(Errno::ENOTCONN);
        }
        if how != SHUT_WR {
            t.shut_rd = true;
            t.rcvq.clear();
        }
        if how != SHUT_RD && !t.fin_queued {
            t.fin_queued = true;
            self.tcp_output(env, c);
            self.flush_loopback(env);
        }
        Ok(())
    }

    /// The last descriptor closed: a FIN after the queued data (the
    /// connection lives on without its socket until it is done), or a
    /// RST when received data was never read (RFC 9293, 3.10.4). The id
    /// is free for reuse once this returns.
    pub fn tcp_close(&mut self, env: &mut dyn NetEnv, id: SocketId) -> Result<(), Errno> {
        let c = self.tcp.conn_of(id)?;
        let now = env.now_ms();
        let t = &self.tcp.conns[c];
        match t.state {
            TcpState::Closed | TcpState::SynSent => self.tcp.free(c),
            TcpState::Listen => {
                // Connections nobody accepted go with their listener.
                for k in 0..self.tcp.conns.len() {
                    if self.tcp.conns[k].parent == Some(c) && self.tcp.conns[k].in_use() {
                        self.tcp_send_rst(env, k);
                        self.tcp.free(k);
                    }
                }
                self.tcp.free(c);
            }
            _ if !t.rcvq.is_empty() || !t.reasm.is_empty() => {
                self.counters.bump(Stat::TcpUnreadResets);
                self.tcp_send_rst(env, c);
                self.tcp.free(c);
            }
            _ => {
                self.tcp.drop_id(id);
                let t = &mut self.tcp.conns[c];
                t.shut_rd = true;
                t.fin_queued = true;
                if t.state == TcpState::FinWait2 {
                    t.timers.linger = now + 2 * MSL_MS;
                }
                self.tcp_output(env, c);
            }
        }
        self.flush_loopback(env);
        Ok(())
    }

    /// `getpeername`: the connected peer; `ENOTCONN` otherwise.
    pub fn tcp_peer(&mut self, id: SocketId) -> Result<SockAddrIn, Errno> {
        let c = self.tcp.conn_of(id)?;
        let t = &self.tcp.conns[c];
        if !t.synchronized() && t.state != TcpState::SynReceived {
            return Err(Errno::ENOTCONN);
        }
        Ok(SockAddrIn::new(t.remote.0, t.remote.1))
    }

    /// `poll` on a TCP socket.
    pub fn tcp_poll(&mut self, id: SocketId) -> Result<PollState, Errno> {
        let c = self.tcp.conn_of(id)?;
        let t = &self.tcp.conns[c];
        let error = t.error.is_some();
        if t.state == TcpState::Listen {
            return Ok(PollState {
                readable: self.tcp.ready_child(c).is_some(),
                ..PollState::default()
            });
        }
        let gone = t.state == TcpState::Closed && t.remote.1 != 0;
        let sending = matches!(t.state, TcpState::Established | TcpState::CloseWait);
        Ok(PollState {
            readable: !t.rcvq.is_empty() || t.rx_fin || t.shut_rd || error || gone,
            writable: (sending && !t.fin_queued && t.sndbuf.space() > 0) || error || gone,
            hangup: gone || (t.rx_fin && t.fin_queued),
            error,
        })
    }
}
