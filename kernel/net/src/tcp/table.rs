//! The TCP table: connection blocks, the socket ids that name some of
//! them, local ports and the demultiplexing of received segments.
//!
//! A socket id (`MAX_SOCKETS..MAX_SOCKETS + MAX_TCP`) names a block while a
//! descriptor holds it; a connection closed by the user lives on without an
//! id until the protocol is done (FIN-WAIT, TIME-WAIT, LAST-ACK), and one a
//! listener accepted gets an id only at `accept`. So there are more blocks
//! ([`MAX_CONNS`]) than ids. When every block is taken, the oldest
//! connection in TIME-WAIT gives its block up (as Linux caps its
//! TIME-WAIT buckets): a new connection matters more than the
//! tail of a finished one.

use abi::Errno;

use super::ack::AckBudget;
use super::isn::IsnGen;
use super::tcb::Tcb;
use super::{TcpState, MAX_TCP};
use crate::socket::{SocketId, EPHEMERAL_FIRST, EPHEMERAL_LAST, MAX_SOCKETS};
use crate::Ipv4Addr;

/// Connection blocks: the sockets, and as many again for connections
/// finishing without one or waiting for `accept`.
pub const MAX_CONNS: usize = 2 * MAX_TCP;

pub(crate) struct TcpTable {
    pub conns: [Tcb; MAX_CONNS],
    /// The block each TCP socket id names.
    ids: [Option<u16>; MAX_TCP],
    next_ephemeral: u16,
    pub isn: IsnGen,
    /// Counts connections as they become established (accept's order).
    pub established: u64,
    /// Challenge ACKs (RFC 5961 7), and ACKs of segments outside the
    /// window: what each may still send this second.
    pub challenge_budget: AckBudget,
    pub oow_budget: AckBudget,
}

impl TcpTable {
    pub(crate) const fn new() -> TcpTable {
        TcpTable {
            conns: [const { Tcb::new() }; MAX_CONNS],
            ids: [None; MAX_TCP],
            next_ephemeral: EPHEMERAL_FIRST,
            isn: IsnGen::new(),
            established: 0,
            challenge_budget: AckBudget::new(),
            oow_budget: AckBudget::new(),
        }
    }

    /// The block `id` names; `EBADF` for an id that names none.
    pub(crate) fn conn_of(&self, id: SocketId) -> Result<usize, Errno> {
        let k = (id.0 as usize)
            .checked_sub(MAX_SOCKETS)
            .ok_or(Errno::EBADF)?;
        self.ids
            .get(k)
            .copied()
            .flatten()
            .map(usize::from)
            .ok_or(Errno::EBADF)
    }

    /// A free block (reset), taking over the oldest TIME-WAIT one when
    /// none is free.
    pub(crate) fn alloc(&mut self) -> Option<usize> {
        let i = match self.conns.iter().position(|t| !t.in_use()) {
            Some(i) => i,
            None => {
                let tw = self
                    .conns
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.state == TcpState::TimeWait && t.sock.is_none());
                tw.min_by_key(|(_, t)| t.timers.linger).map(|(i, _)| i)?
            }
        };
        self.conns[i].reset();
        Some(i)
    }

    /// Names block `c` with a fresh socket id.
    pub(crate) fn give_id(&mut self, c: usize) -> Result<SocketId, Errno> {
        let k = self
            .ids
            .iter()
            .position(Option::is_none)
            .ok_or(Errno::ENFILE)?;
        self.ids[k] = Some(c as u16);
        let id = SocketId((MAX_SOCKETS + k) as u16);
        self.conns[c].sock = Some(id);
        Ok(id)
    }

    /// The id no longer names its block.
    pub(crate) fn drop_id(&mut self, id: SocketId) {
        if let Ok(c) = self.conn_of(id) {
            self.ids[id.0 as usize - MAX_SOCKETS] = None;
            self.conns[c].sock = None;
        }
    }

    /// Frees block `c` (it keeps no id).
    pub(crate) fn free(&mut self, c: usize) {
        if let Some(id) = self.conns[c].sock {
            self.drop_id(id);
        }
        self.conns[c].reset();
    }

    /// The block a segment from `remote` to `local` belongs to: the
    /// connection with exactly that pair, else a listener on the port
    /// (bound to that address or to any).
    pub(crate) fn find(&self, local: (Ipv4Addr, u16), remote: (Ipv4Addr, u16)) -> Option<usize> {
        let mut listener = None;
        for (i, t) in self.conns.iter().enumerate() {
            if t.local.1 != local.1 || !t.in_use() {
                continue;
            }
            match t.state {
                TcpState::Listen if t.local.0 == [0; 4] || t.local.0 == local.0 => {
                    listener = Some(i)
                }
                TcpState::Listen | TcpState::Closed => {}
                _ if t.local.0 == local.0 && t.remote == remote => return Some(i),
                _ => {}
            }
        }
        listener
    }

    /// Whether binding `addr:port` would clash with a block holding that
    /// port. `SO_REUSEADDR` on the new socket lets it share the port with
    /// anything but a listener (a restarted server over its old
    /// connections in TIME-WAIT).
    pub(crate) fn port_in_use(&self, me: usize, addr: Ipv4Addr, port: u16, reuse: bool) -> bool {
        self.conns.iter().enumerate().any(|(i, t)| {
            i != me
                && t.in_use()
                && t.local.1 == port
                && (t.local.0 == [0; 4] || addr == [0; 4] || t.local.0 == addr)
                && !(reuse && t.state != TcpState::Listen)
        })
    }

    /// A local port no block uses.
    pub(crate) fn ephemeral(&mut self) -> Result<u16, Errno> {
        let span = (EPHEMERAL_LAST - EPHEMERAL_FIRST) as u32 + 1;
        for _ in 0..span {
            let p = self.next_ephemeral;
            self.next_ephemeral = if p == EPHEMERAL_LAST {
                EPHEMERAL_FIRST
            } else {
                p + 1
            };
            if !self.conns.iter().any(|t| t.in_use() && t.local.1 == p) {
                return Ok(p);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    /// Connections of listener `l` not yet accepted (half-open ones too).
    pub(crate) fn backlog_of(&self, l: usize) -> usize {
        self.conns
            .iter()
            .filter(|t| t.parent == Some(l) && t.in_use())
            .count()
    }

    /// Listener `l`'s oldest connection still in SYN-RECEIVED.
    pub(crate) fn oldest_half_open(&self, l: usize) -> Option<usize> {
        self.conns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.parent == Some(l) && t.state == TcpState::SynReceived)
            .min_by_key(|(_, t)| t.opened_ms)
            .map(|(i, _)| i)
    }

    /// The longest-established connection waiting on listener `l`.
    pub(crate) fn ready_child(&self, l: usize) -> Option<usize> {
        self.conns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.parent == Some(l) && t.in_use() && t.state != TcpState::SynReceived)
            .min_by_key(|(_, t)| t.established_order)
            .map(|(i, _)| i)
    }

    /// Received mbufs the connections hold, in order and out of order.
    pub(crate) fn rx_mbufs(&self) -> usize {
        self.conns
            .iter()
            .map(|t| t.rcvq.segs() + t.reasm.len())
            .sum()
    }

    /// Every block in use (for `socklist`).
    pub(crate) fn in_use(&self) -> impl Iterator<Item = &Tcb> {
        self.conns.iter().filter(|t| t.in_use())
    }
}
