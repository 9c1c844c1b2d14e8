//! The socket calls datagram and stream sockets share (`bind`,
//! `getsockname`, options, `socklist`, waiting), as they apply to a TCP
//! socket; `socket.rs` routes a TCP id here at the top of each.

use abi::net::{SockAddrIn, SockInfo, AF_INET, SOCK_STREAM};
use abi::Errno;

use super::TcpState;
use crate::socket::{SockOpts, SocketId};
use crate::Stack;

impl Stack {
    /// `bind`: address 0.0.0.0, ours or the loopback one; port 0 picks
    /// an ephemeral port. `SO_REUSEADDR` (set before) lets it share a
    /// port with connections that are not listening.
    pub(crate) fn tcp_bind(&mut self, id: SocketId, a: &SockAddrIn) -> Result<(), Errno> {
        let c = self.tcp.conn_of(id)?;
        if a.family != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        let t = &self.tcp.conns[c];
        if t.local.1 != 0 || t.state != TcpState::Closed {
            return Err(Errno::EINVAL);
        }
        let addr = a.addr_be;
        if addr != [0; 4] && !self.is_local_addr(addr) && addr != crate::ipv4::LOOPBACK_ADDR {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let port = match a.port() {
            0 => self.tcp.ephemeral()?,
            p if self.tcp.port_in_use(c, addr, p, t.opts.reuseaddr) => {
                return Err(Errno::EADDRINUSE)
            }
            p => p,
        };
        self.tcp.conns[c].local = (addr, port);
        Ok(())
    }

    pub(crate) fn tcp_getsockname(&mut self, id: SocketId) -> Result<SockAddrIn, Errno> {
        let t = &self.tcp.conns[self.tcp.conn_of(id)?];
        Ok(SockAddrIn::new(t.local.0, t.local.1))
    }

    pub(crate) fn tcp_options(&mut self, id: SocketId) -> Result<SockOpts, Errno> {
        Ok(self.tcp.conns[self.tcp.conn_of(id)?].opts)
    }

    pub(crate) fn tcp_set_options(&mut self, id: SocketId, o: SockOpts) -> Result<(), Errno> {
        let c = self.tcp.conn_of(id)?;
        self.tcp.conns[c].opts = o;
        Ok(())
    }

    /// Would `recv` (or `accept`) return at once?
    pub(crate) fn tcp_readable(&mut self, id: SocketId) -> bool {
        self.tcp_poll(id).is_ok_and(|p| p.readable)
    }

    pub(crate) fn tcp_wait(&mut self, id: SocketId, timed: bool, begin: bool) {
        if let Ok(c) = self.tcp.conn_of(id) {
            let t = &mut self.tcp.conns[c];
            if begin {
                t.waiters += 1;
                t.timed_waiters += timed as u32;
            } else {
                t.waiters = t.waiters.saturating_sub(1);
                t.timed_waiters = t.timed_waiters.saturating_sub(timed as u32);
            }
        }
    }

    /// `socklist`'s TCP entries, after the datagram sockets'.
    pub(crate) fn tcp_socklist(&self, out: &mut [SockInfo]) -> usize {
        let mut n = 0;
        for (slot, t) in out.iter_mut().zip(self.tcp.in_use()) {
            *slot = SockInfo {
                kind: SOCK_STREAM as u32,
                local: SockAddrIn::new(t.local.0, t.local.1),
                remote: SockAddrIn::new(t.remote.0, t.remote.1),
                rx_queued: t.rcvq.bytes() as u32,
                state: t.state as u32,
                tx_queued: t.sndbuf.len() as u32,
                ..SockInfo::default()
            };
            n += 1;
        }
        n
    }
}
