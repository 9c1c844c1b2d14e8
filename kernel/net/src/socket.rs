//! Datagram sockets: the socket table, port binding, the connect filter and
//! the bounded receive queues.
//!
//! Receive queues are bounded in bytes (`SO_RCVBUF`, per socket): each
//! queued datagram is charged the whole buffer it holds ([`MBUF_SIZE`]), as
//! Linux charges an skb's truesize, because that buffer is what the RX ring
//! is refilled from, however small the payload. The queued datagrams of
//! all sockets share one table of [`QUEUE_SLOTS`] entries, each socket's
//! linked in arrival order: never more than the pool has buffers, and one
//! socket may take many while the others hold none.
//!
//! A socket is a slot in a fixed table, named by [`SocketId`]. UDP sockets
//! own a port; ICMP echo sockets ("ping sockets") own an echo identifier the
//! same way, so replies are matched to the socket that sent the request.
//! A received packet stays in the mbuf the device wrote: the queue holds the
//! mbuf with its window on the payload (UDP) or on the ICMP message, plus
//! the sender's address, and [`Stack::recvfrom`] hands both back. The
//! kernel copies the payload to user space and drops the mbuf.
//!
//! Errors are `abi::Errno` values, as Linux returns them.

use abi::net::{SockAddrIn, SockInfo, AF_INET, SOCK_DGRAM, SOCK_ICMP, SOCK_STREAM};
use abi::Errno;

use crate::counters::{DropReason, Stat};
use crate::mbuf::{Mbuf, MbufState, RxStamp, MBUF_SIZE};
use crate::{ipv4, Ipv4Addr, NetEnv, Stack};

/// Sockets in the table.
pub const MAX_SOCKETS: usize = 64;
// `SocketTable::find` compares the ports eight at a time.
const _: () = assert!(MAX_SOCKETS.is_multiple_of(8));
/// What a queued datagram is charged against its socket's `SO_RCVBUF`.
pub const RX_CHARGE: usize = MBUF_SIZE;
/// Datagrams queued on all sockets together: each holds one of the
/// pool's mbufs, so the slots never run out before the pool does.
pub const QUEUE_SLOTS: usize = crate::mbuf::MAX_MBUFS;
// The smallest receive buffer still takes a datagram, and the largest
// could hold every slot.
const _: () = assert!(
    abi::net::RCVBUF_MIN as usize >= RX_CHARGE
        && abi::net::RCVBUF_MAX as usize == QUEUE_SLOTS * RX_CHARGE
);
/// Ephemeral ports (and echo identifiers): the IANA dynamic range.
pub const EPHEMERAL_FIRST: u16 = 49152;
pub const EPHEMERAL_LAST: u16 = 65535;

/// Index of a socket in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SocketId(pub u16);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketKind {
    /// SOCK_DGRAM: UDP.
    Udp,
    /// SOCK_ICMP: ICMP echo.
    Icmp,
    /// SOCK_STREAM: TCP (see [`crate::tcp`]).
    Tcp,
}

impl SocketKind {
    /// From the `type` argument of `socket()`.
    pub fn from_abi(ty: usize) -> Option<SocketKind> {
        match ty {
            SOCK_DGRAM => Some(SocketKind::Udp),
            SOCK_ICMP => Some(SocketKind::Icmp),
            SOCK_STREAM => Some(SocketKind::Tcp),
            _ => None,
        }
    }

    pub fn to_abi(self) -> usize {
        match self {
            SocketKind::Udp => SOCK_DGRAM,
            SocketKind::Icmp => SOCK_ICMP,
            SocketKind::Tcp => SOCK_STREAM,
        }
    }
}

/// Per-socket options set with `setsockopt`, kept here for the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockOpts {
    /// Receive timeout in ms; 0 = none.
    pub rcvtimeo_ms: u64,
    pub nonblock: bool,
    /// `TCP_NODELAY`: Nagle's algorithm off.
    pub nodelay: bool,
    /// `SO_REUSEADDR`.
    pub reuseaddr: bool,
}

struct Received {
    m: Mbuf,
    from: (Ipv4Addr, u16),
}

/// No slot (the end of a list).
const NIL: u16 = u16::MAX;

/// One entry of the shared queue table: a datagram, or free.
struct Slot {
    r: Option<Received>,
    /// The next slot of the same socket's queue, or of the free list.
    next: u16,
}

/// A socket's receive queue: a list through the shared slots.
#[derive(Clone, Copy)]
struct RxQueue {
    head: u16,
    tail: u16,
    len: usize,
    /// Charged bytes (`len * RX_CHARGE`), held against `limit`.
    bytes: usize,
    /// `SO_RCVBUF`.
    limit: usize,
}

impl RxQueue {
    const fn new() -> RxQueue {
        RxQueue {
            head: NIL,
            tail: NIL,
            len: 0,
            bytes: 0,
            limit: abi::net::RCVBUF_DEFAULT as usize,
        }
    }
}

/// The slots every socket's queue is made of.
struct Slots {
    slots: [Slot; QUEUE_SLOTS],
    /// Slots given back, linked through `next`.
    free: u16,
    /// Slots from here on were never used.
    fresh: usize,
}

impl Slots {
    const fn new() -> Slots {
        Slots {
            slots: [const { Slot { r: None, next: NIL } }; QUEUE_SLOTS],
            free: NIL,
            fresh: 0,
        }
    }

    /// Appends `r` to `q`; gives it back when `q` is at its limit or no
    /// slot is left.
    fn push(&mut self, q: &mut RxQueue, r: Received) -> Result<(), Received> {
        if q.bytes + RX_CHARGE > q.limit {
            return Err(r);
        }
        let i = if self.free != NIL {
            let i = self.free;
            self.free = self.slots[i as usize].next;
            i
        } else if self.fresh < QUEUE_SLOTS {
            self.fresh += 1;
            (self.fresh - 1) as u16
        } else {
            // Every slot holds an mbuf of the pool, which has no more.
            return Err(r);
        };
        self.slots[i as usize] = Slot {
            r: Some(r),
            next: NIL,
        };
        if q.tail == NIL {
            q.head = i;
        } else {
            self.slots[q.tail as usize].next = i;
        }
        q.tail = i;
        q.len += 1;
        q.bytes += RX_CHARGE;
        Ok(())
    }

    /// Takes the oldest datagram off `q`.
    fn pop(&mut self, q: &mut RxQueue) -> Option<Received> {
        if q.head == NIL {
            return None;
        }
        let i = q.head;
        let slot = &mut self.slots[i as usize];
        let r = slot.r.take();
        q.head = slot.next;
        if q.head == NIL {
            q.tail = NIL;
        }
        slot.next = self.free;
        self.free = i;
        q.len -= 1;
        q.bytes -= RX_CHARGE;
        r
    }
}

pub(crate) struct Socket {
    pub(crate) kind: SocketKind,
    /// Local address (0.0.0.0 = any) and port; port 0 = unbound.
    pub(crate) local: (Ipv4Addr, u16),
    /// Set by connect: send there by default, receive only from there.
    pub(crate) remote: Option<(Ipv4Addr, u16)>,
    rxq: RxQueue,
    dropped: u64,
    /// An error to report on the next call (ECONNREFUSED after an ICMP
    /// port unreachable, as Linux does for connected sockets).
    pub(crate) error: Option<Errno>,
    pub(crate) opts: SockOpts,
    /// Processes sleeping on the socket: it is woken only when some are.
    waiters: u32,
    /// Those of them with a timeout, woken every tick to check it.
    timed_waiters: u32,
}

impl Socket {
    fn new(kind: SocketKind) -> Socket {
        Socket {
            kind,
            local: ([0; 4], 0),
            remote: None,
            rxq: RxQueue::new(),
            dropped: 0,
            error: None,
            opts: SockOpts::default(),
            waiters: 0,
            timed_waiters: 0,
        }
    }

    fn info(&self) -> SockInfo {
        let (ra, rp) = self.remote.unwrap_or(([0; 4], 0));
        SockInfo {
            kind: self.kind.to_abi() as u32,
            local: SockAddrIn::new(self.local.0, self.local.1),
            remote: SockAddrIn::new(ra, rp),
            rx_queued: self.rxq.len as u32,
            rx_dropped: self.dropped,
            ..SockInfo::default()
        }
    }
}

pub(crate) struct SocketTable {
    slots: [Option<Socket>; MAX_SOCKETS],
    /// Each slot's local port (0: free or unbound), kept beside the slots
    /// so the lookup for every received datagram scans 128 dense bytes
    /// instead of touching every socket (each holds its receive queue).
    /// Written only by `set_local` and `remove`.
    ports: [u16; MAX_SOCKETS],
    queued: Slots,
    next_ephemeral: u16,
}

impl SocketTable {
    pub(crate) const fn new() -> Self {
        SocketTable {
            slots: [const { None }; MAX_SOCKETS],
            ports: [0; MAX_SOCKETS],
            queued: Slots::new(),
            next_ephemeral: EPHEMERAL_FIRST,
        }
    }

    fn get(&mut self, id: SocketId) -> Result<&mut Socket, Errno> {
        self.slots
            .get_mut(id.0 as usize)
            .and_then(|s| s.as_mut())
            .ok_or(Errno::EBADF)
    }

    /// Sets the local address and port of `id`.
    fn set_local(&mut self, id: SocketId, local: (Ipv4Addr, u16)) -> Result<(), Errno> {
        self.get(id)?.local = local;
        self.ports[id.0 as usize] = local.1;
        Ok(())
    }

    /// Frees slot `id`: its queued datagrams go back to the pool.
    fn remove(&mut self, id: SocketId) -> Result<(), Errno> {
        let mut s = self
            .slots
            .get_mut(id.0 as usize)
            .and_then(Option::take)
            .ok_or(Errno::EBADF)?;
        while self.queued.pop(&mut s.rxq).is_some() {}
        self.ports[id.0 as usize] = 0;
        Ok(())
    }

    fn port_in_use(&self, kind: SocketKind, addr: Ipv4Addr, port: u16) -> bool {
        self.slots.iter().flatten().any(|s| {
            s.kind == kind
                && s.local.1 == port
                && (s.local.0 == [0; 4] || addr == [0; 4] || s.local.0 == addr)
        })
    }

    fn ephemeral(&mut self, kind: SocketKind, addr: Ipv4Addr) -> Result<u16, Errno> {
        let span = (EPHEMERAL_LAST - EPHEMERAL_FIRST) as u32 + 1;
        for _ in 0..span {
            let p = self.next_ephemeral;
            self.next_ephemeral = if p == EPHEMERAL_LAST {
                EPHEMERAL_FIRST
            } else {
                p + 1
            };
            if !self.port_in_use(kind, addr, p) {
                return Ok(p);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    /// Binds an unbound socket to an ephemeral port.
    fn autobind(&mut self, id: SocketId) -> Result<(), Errno> {
        let s = self.get(id)?;
        if s.local.1 != 0 {
            return Ok(());
        }
        let (kind, addr) = (s.kind, s.local.0);
        let port = self.ephemeral(kind, addr)?;
        self.set_local(id, (addr, port))
    }

    /// The socket a UDP datagram from `src` to `dst` goes to: a socket
    /// connected to exactly that peer first, then an unconnected one bound
    /// to the port. A connected socket never sees other peers' datagrams.
    // Inlined into the receive path (measured: 3 ns a datagram).
    #[inline(always)]
    pub(crate) fn find(
        &mut self,
        kind: SocketKind,
        dst: (Ipv4Addr, u16),
        src: (Ipv4Addr, u16),
    ) -> Option<SocketId> {
        if dst.1 == 0 {
            return None;
        }
        let mut best = None;
        // Eight ports at a time, without branching inside a group (one
        // vector compare); only a group holding the port is looked into.
        for (g, group) in self.ports.chunks_exact(8).enumerate() {
            if !group.iter().fold(false, |any, &p| any | (p == dst.1)) {
                continue;
            }
            for (i, _) in (g * 8..).zip(group).filter(|(_, &p)| p == dst.1) {
                let Some(s) = &self.slots[i] else { continue };
                if s.kind != kind || (s.local.0 != [0; 4] && s.local.0 != dst.0) {
                    continue;
                }
                match s.remote {
                    // Connected to exactly this peer: nothing matches better.
                    Some(r) if r == src => return Some(SocketId(i as u16)),
                    Some(_) => {}
                    None => best = best.or(Some(i)),
                }
            }
        }
        best.map(|i| SocketId(i as u16))
    }

    /// The connected UDP socket that sent from local port `sport` to
    /// `remote` (for an ICMP error quoting that datagram).
    pub(crate) fn find_connected(
        &mut self,
        sport: u16,
        remote: (Ipv4Addr, u16),
    ) -> Option<SocketId> {
        self.slots
            .iter()
            .position(|s| {
                s.as_ref().is_some_and(|s| {
                    s.kind == SocketKind::Udp && s.local.1 == sport && s.remote == Some(remote)
                })
            })
            .map(|i| SocketId(i as u16))
    }

    /// Queues `m` on `id`; gives it back when the queue is full.
    pub(crate) fn deliver(
        &mut self,
        id: SocketId,
        mut m: Mbuf,
        from: (Ipv4Addr, u16),
    ) -> Result<(), Mbuf> {
        let Some(Some(s)) = self.slots.get_mut(id.0 as usize) else {
            return Err(m);
        };
        m.set_state(MbufState::Socket);
        match self.queued.push(&mut s.rxq, Received { m, from }) {
            Ok(()) => Ok(()),
            Err(mut r) => {
                s.dropped += 1;
                r.m.set_state(MbufState::InStack);
                Err(r.m)
            }
        }
    }

    /// Takes the oldest datagram off `id`'s queue.
    fn dequeue(&mut self, id: SocketId) -> Option<Received> {
        let s = self.slots.get_mut(id.0 as usize)?.as_mut()?;
        let mut r = self.queued.pop(&mut s.rxq)?;
        r.m.set_state(MbufState::InStack);
        Some(r)
    }

    pub(crate) fn set_error(&mut self, id: SocketId, e: Errno) {
        if let Ok(s) = self.get(id) {
            s.error = Some(e);
        }
    }

    /// Wakes sockets someone waits on with a timeout, so they can check it.
    pub(crate) fn tick(&mut self, env: &mut dyn NetEnv) {
        for (i, s) in self.slots.iter().enumerate() {
            if s.as_ref().is_some_and(|s| s.timed_waiters > 0) {
                env.wakeup(SocketId(i as u16));
            }
        }
    }
}

/// Checks a user-supplied address: AF_INET.
fn check_family(a: &SockAddrIn) -> Result<(), Errno> {
    if a.family != AF_INET {
        return Err(Errno::EAFNOSUPPORT);
    }
    Ok(())
}

/// The socket system calls, on the stack.
impl Stack {
    /// `socket(AF_INET, type, 0)`.
    pub fn socket(&mut self, kind: SocketKind) -> Result<SocketId, Errno> {
        if kind == SocketKind::Tcp {
            return self.tcp_socket();
        }
        let i = self
            .sockets
            .slots
            .iter()
            .position(|s| s.is_none())
            .ok_or(Errno::ENFILE)?;
        self.sockets.slots[i] = Some(Socket::new(kind));
        Ok(SocketId(i as u16))
    }

    /// `bind`: address 0.0.0.0 or ours; port 0 picks an ephemeral port.
    pub fn bind(&mut self, id: SocketId, a: &SockAddrIn) -> Result<(), Errno> {
        if crate::tcp::is_tcp(id) {
            return self.tcp_bind(id, a);
        }
        let ours = self.iface.addr;
        let s = self.sockets.get(id)?;
        check_family(a)?;
        if s.local.1 != 0 {
            return Err(Errno::EINVAL);
        }
        let addr = a.addr_be;
        if addr != [0; 4] && addr != ours {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let kind = s.kind;
        let port = match a.port() {
            0 => self.sockets.ephemeral(kind, addr)?,
            p if self.sockets.port_in_use(kind, addr, p) => return Err(Errno::EADDRINUSE),
            p => p,
        };
        self.sockets.set_local(id, (addr, port))
    }

    /// `connect`: sets the default destination and the receive filter;
    /// binds an ephemeral port if needed. Port 0 is refused for UDP.
    pub fn connect(&mut self, id: SocketId, a: &SockAddrIn) -> Result<(), Errno> {
        let s = self.sockets.get(id)?;
        check_family(a)?;
        if a.addr_be == [0; 4] || (s.kind == SocketKind::Udp && a.port() == 0) {
            return Err(Errno::EINVAL);
        }
        if self.route(a.addr_be).is_none() {
            return Err(Errno::ENETUNREACH);
        }
        self.sockets.autobind(id)?;
        let s = self.sockets.get(id)?;
        s.remote = Some((
            a.addr_be,
            if s.kind == SocketKind::Udp {
                a.port()
            } else {
                0
            },
        ));
        s.error = None;
        Ok(())
    }

    /// `sendto`: sends the payload in `m` (its window; built with
    /// [`HEADROOM`](crate::HEADROOM) in front) to `dst`, or to the connected
    /// peer when `dst` is `None`. For an ICMP socket the payload is an echo
    /// request (type, code, checksum, identifier, sequence, data); the
    /// stack sets the identifier to the socket's and fills the checksum.
    /// Returns the payload length. Resolution and transmit happen in the
    /// background: later failures are counted, not reported (UDP is
    /// unreliable).
    pub fn sendto(
        &mut self,
        env: &mut dyn NetEnv,
        id: SocketId,
        m: Mbuf,
        dst: Option<&SockAddrIn>,
    ) -> Result<usize, Errno> {
        let s = self.sockets.get(id)?;
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        let kind = s.kind;
        let to = match dst {
            Some(a) => {
                check_family(a)?;
                (a.addr_be, a.port())
            }
            None => s.remote.ok_or(Errno::EDESTADDRREQ)?,
        };
        if to.0 == [0; 4] || (kind == SocketKind::Udp && to.1 == 0) {
            return Err(Errno::EINVAL);
        }
        if self.route(to.0).is_none() {
            return Err(Errno::ENETUNREACH);
        }
        self.sockets.autobind(id)?;
        let port = self.sockets.get(id)?.local.1;
        let n = m.len();
        match kind {
            SocketKind::Udp => {
                if n > ipv4::MTU - ipv4::HEADER_LEN - crate::udp::HEADER_LEN {
                    return Err(Errno::EMSGSIZE);
                }
                self.udp_output(env, m, port, to);
            }
            SocketKind::Icmp => self.icmp_send_echo(env, m, port, to.0)?,
            // A stream has no datagrams: `tcp_send`.
            SocketKind::Tcp => return Err(Errno::EOPNOTSUPP),
        }
        self.flush_loopback(env);
        Ok(n)
    }

    /// `recvfrom`: the oldest queued packet and its sender, marked delivered
    /// (so the caller's copy to user space counts as the expected one, see
    /// [`Mbuf::copy_out`]). `EAGAIN` when the queue is empty (the kernel
    /// then sleeps on the socket, or returns it in non-blocking mode); a
    /// pending error comes first.
    pub fn recvfrom(&mut self, id: SocketId) -> Result<(Mbuf, SockAddrIn), Errno> {
        self.sockets.get(id)?;
        if let Some(mut r) = self.sockets.dequeue(id) {
            self.counters.bump(Stat::SocketRecvs);
            r.m.mark_delivered();
            return Ok((r.m, SockAddrIn::new(r.from.0, r.from.1)));
        }
        let s = self.sockets.get(id)?;
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        Err(Errno::EAGAIN)
    }

    /// Is a packet (or an error) waiting?
    pub fn readable(&mut self, id: SocketId) -> bool {
        if crate::tcp::is_tcp(id) {
            return self.tcp_readable(id);
        }
        self.sockets
            .get(id)
            .is_ok_and(|s| s.rxq.len > 0 || s.error.is_some())
    }

    /// `getsockname`: local address and port (0.0.0.0:0 before bind).
    pub fn getsockname(&mut self, id: SocketId) -> Result<SockAddrIn, Errno> {
        if crate::tcp::is_tcp(id) {
            return self.tcp_getsockname(id);
        }
        let s = self.sockets.get(id)?;
        Ok(SockAddrIn::new(s.local.0, s.local.1))
    }

    /// The peer set by `connect`.
    pub fn getpeername(&mut self, id: SocketId) -> Result<SockAddrIn, Errno> {
        if crate::tcp::is_tcp(id) {
            return self.tcp_peer(id);
        }
        let s = self.sockets.get(id)?;
        let (a, p) = s.remote.ok_or(Errno::ENOTCONN)?;
        Ok(SockAddrIn::new(a, p))
    }

    pub fn kind(&mut self, id: SocketId) -> Result<SocketKind, Errno> {
        if crate::tcp::is_tcp(id) {
            return self.tcp_options(id).map(|_| SocketKind::Tcp);
        }
        Ok(self.sockets.get(id)?.kind)
    }

    pub fn options(&mut self, id: SocketId) -> Result<SockOpts, Errno> {
        if crate::tcp::is_tcp(id) {
            return self.tcp_options(id);
        }
        Ok(self.sockets.get(id)?.opts)
    }

    pub fn set_options(&mut self, id: SocketId, o: SockOpts) -> Result<(), Errno> {
        if crate::tcp::is_tcp(id) {
            return self.tcp_set_options(id, o);
        }
        self.sockets.get(id)?.opts = o;
        Ok(())
    }

    /// `SO_RCVBUF`: how many bytes `id` queues (each datagram charged
    /// [`RX_CHARGE`]), `RCVBUF_MIN..=RCVBUF_MAX` or `EINVAL`. Datagrams
    /// already queued stay; new ones wait for the queue to shrink below it.
    pub fn set_rcvbuf(&mut self, id: SocketId, bytes: u64) -> Result<(), Errno> {
        let s = self.sockets.get(id)?;
        if !(abi::net::RCVBUF_MIN..=abi::net::RCVBUF_MAX).contains(&bytes) {
            return Err(Errno::EINVAL);
        }
        s.rxq.limit = bytes as usize;
        Ok(())
    }

    /// A process is about to sleep on `id` (with a timeout: `timed`). Call
    /// it with the lock held, just before sleeping, and [`Stack::wait_end`]
    /// after waking: the stack wakes a socket only while someone waits, and
    /// a timed waiter on every tick.
    pub fn wait_begin(&mut self, id: SocketId, timed: bool) {
        if crate::tcp::is_tcp(id) {
            return self.tcp_wait(id, timed, true);
        }
        if let Ok(s) = self.sockets.get(id) {
            s.waiters += 1;
            s.timed_waiters += timed as u32;
        }
    }

    pub fn wait_end(&mut self, id: SocketId, timed: bool) {
        if crate::tcp::is_tcp(id) {
            return self.tcp_wait(id, timed, false);
        }
        if let Ok(s) = self.sockets.get(id) {
            s.waiters = s.waiters.saturating_sub(1);
            s.timed_waiters = s.timed_waiters.saturating_sub(timed as u32);
        }
    }

    /// Wakes whoever sleeps on `id`, if anyone does.
    pub(crate) fn wake(&mut self, env: &mut dyn NetEnv, id: SocketId) {
        if self.sockets.get(id).is_ok_and(|s| s.waiters > 0) {
            env.wakeup(id);
        }
    }

    /// `close`: frees the port; queued packets go back to the pool.
    pub fn close(&mut self, id: SocketId) -> Result<(), Errno> {
        self.sockets.remove(id)
    }

    /// `socklist`: one entry per open socket, then one per TCP
    /// connection (those closed but not yet done included).
    pub fn socklist(&self, out: &mut [SockInfo]) -> usize {
        let all = self.sockets.slots.iter().flatten();
        let mut n = 0;
        for (slot, s) in out.iter_mut().zip(all) {
            *slot = s.info();
            n += 1;
        }
        n + self.tcp_socklist(&mut out[n..])
    }

    /// Queues `m` on socket `id` and wakes it, or drops and counts it.
    pub(crate) fn deliver(
        &mut self,
        env: &mut dyn NetEnv,
        id: SocketId,
        mut m: Mbuf,
        from: (Ipv4Addr, u16),
    ) -> Result<(), DropReason> {
        m.stamp(RxStamp::Queued, env.clock());
        match self.sockets.deliver(id, m, from) {
            Ok(()) => {
                self.counters.bump(Stat::SocketDelivered);
                self.wake(env, id);
                Ok(())
            }
            Err(_m) => Err(DropReason::SocketQueueFull),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::{Buf, Pool};

    fn any(port: u16) -> SockAddrIn {
        SockAddrIn::new([0; 4], port)
    }

    #[test]
    fn bind_ports() {
        let mut s = stack();
        let a = s.socket(SocketKind::Udp).unwrap();
        let b = s.socket(SocketKind::Udp).unwrap();
        let c = s.socket(SocketKind::Icmp).unwrap();
        s.bind(a, &any(7)).unwrap();
        assert_eq!(s.bind(b, &any(7)), Err(Errno::EADDRINUSE));
        assert_eq!(
            s.bind(b, &SockAddrIn::new([10, 0, 2, 15], 7)),
            Err(Errno::EADDRINUSE)
        );
        assert_eq!(
            s.bind(b, &SockAddrIn::new([1, 2, 3, 4], 8)),
            Err(Errno::EADDRNOTAVAIL)
        );
        let mut bad = any(8);
        bad.family = 10;
        assert_eq!(s.bind(b, &bad), Err(Errno::EAFNOSUPPORT));
        s.bind(c, &any(7)).unwrap(); // other namespace
        assert_eq!(s.bind(a, &any(9)), Err(Errno::EINVAL));
        s.bind(b, &any(0)).unwrap();
        let p = s.getsockname(b).unwrap().port();
        assert!(p >= EPHEMERAL_FIRST);
        s.close(a).unwrap();
        assert_eq!(s.close(a), Err(Errno::EBADF));
        let d = s.socket(SocketKind::Udp).unwrap();
        s.bind(d, &any(7)).unwrap();
        assert_eq!(s.getsockname(SocketId(999)), Err(Errno::EBADF));
    }

    #[test]
    fn table_exhaustion() {
        let mut s = stack();
        let ids: Vec<_> = (0..MAX_SOCKETS)
            .map(|_| s.socket(SocketKind::Udp).unwrap())
            .collect();
        assert_eq!(s.socket(SocketKind::Udp), Err(Errno::ENFILE));
        for id in ids {
            s.close(id).unwrap();
        }
        s.socket(SocketKind::Udp).unwrap();
    }

    #[test]
    fn find_prefers_connected() {
        let mut s = stack();
        let a = s.socket(SocketKind::Udp).unwrap();
        let b = s.socket(SocketKind::Udp).unwrap();
        s.bind(a, &any(5000)).unwrap();
        let ours = [10, 0, 2, 15];
        let peer = ([10, 0, 2, 2], 9);
        assert_eq!(s.sockets.find(SocketKind::Udp, (ours, 5000), peer), Some(a));
        s.bind(b, &SockAddrIn::new([0; 4], 6000)).unwrap();
        s.connect(b, &SockAddrIn::new(peer.0, peer.1)).unwrap();
        assert_eq!(s.sockets.find(SocketKind::Udp, (ours, 6000), peer), Some(b));
        assert_eq!(
            s.sockets
                .find(SocketKind::Udp, (ours, 6000), ([10, 0, 2, 3], 9)),
            None
        );
        assert_eq!(s.sockets.find(SocketKind::Icmp, (ours, 5000), peer), None);
    }

    #[test]
    fn find_follows_bind_and_close_in_every_slot() {
        let mut s = stack();
        let ids: Vec<_> = (0..MAX_SOCKETS)
            .map(|_| s.socket(SocketKind::Udp).unwrap())
            .collect();
        let (ours, peer) = ([10, 0, 2, 15], ([10, 0, 2, 2], 9));
        for (i, &id) in ids.iter().enumerate() {
            let port = 1000 + i as u16;
            assert_eq!(s.sockets.find(SocketKind::Udp, (ours, port), peer), None);
            s.bind(id, &any(port)).unwrap();
            assert_eq!(
                s.sockets.find(SocketKind::Udp, (ours, port), peer),
                Some(id)
            );
        }
        let last = ids[MAX_SOCKETS - 1];
        s.close(last).unwrap();
        let port = 1000 + MAX_SOCKETS as u16 - 1;
        assert_eq!(s.sockets.find(SocketKind::Udp, (ours, port), peer), None);
        // An unbound socket (port 0) is never found, even for port 0.
        let fresh = s.socket(SocketKind::Udp).unwrap();
        assert_eq!(fresh, last);
        assert_eq!(s.sockets.find(SocketKind::Udp, (ours, 0), peer), None);
        assert_eq!(s.sockets.find(SocketKind::Udp, (ours, port), peer), None);
        // connect binds an ephemeral port, found through the index too.
        s.connect(fresh, &SockAddrIn::new(peer.0, peer.1)).unwrap();
        let eph = s.getsockname(fresh).unwrap().port();
        assert_eq!(
            s.sockets.find(SocketKind::Udp, (ours, eph), peer),
            Some(fresh)
        );
    }

    #[test]
    fn recv_empty_and_error() {
        let mut s = stack();
        let a = s.socket(SocketKind::Udp).unwrap();
        assert_eq!(s.recvfrom(a).unwrap_err(), Errno::EAGAIN);
        s.sockets.set_error(a, Errno::ECONNREFUSED);
        assert!(s.readable(a));
        assert_eq!(s.recvfrom(a).unwrap_err(), Errno::ECONNREFUSED);
        assert_eq!(s.recvfrom(a).unwrap_err(), Errno::EAGAIN);
    }

    #[test]
    fn queue_bound_and_close_frees() {
        static POOL: Pool<[Buf; 256]> = Pool::new();
        let mut s = Box::new(Stack::new(&POOL));
        let mut env = TestEnv::at(1000);
        let a = s.socket(SocketKind::Udp).unwrap();
        s.bind(a, &any(1)).unwrap();
        let free = s.pool().free();
        let fits = abi::net::RCVBUF_DEFAULT as usize / RX_CHARGE;
        for i in 0..fits + 3 {
            let m = s.pool().alloc().unwrap();
            let r = s.deliver(&mut env, a, m, ([1, 1, 1, 1], i as u16));
            assert_eq!(r.is_err(), i >= fits);
        }
        assert_eq!(s.pool().free(), free - fits);
        let mut info = [SockInfo::default(); 4];
        assert_eq!(s.socklist(&mut info), 1);
        assert_eq!((info[0].rx_queued, info[0].rx_dropped), (fits as u32, 3));
        let (_m, from) = s.recvfrom(a).unwrap();
        assert_eq!(from.port(), 0);
        // Queuing stamped the time for the receive-path profile.
        assert_eq!(_m.stamps()[RxStamp::Queued as usize], 1000);
        s.close(a).unwrap();
        assert_eq!(s.pool().free(), free - 1); // _m is still held
    }

    #[test]
    fn rcvbuf_bounds_each_queue_in_bytes() {
        let mut s = stack();
        let mut env = TestEnv::at(1000);
        let a = s.socket(SocketKind::Udp).unwrap();
        let b = s.socket(SocketKind::Udp).unwrap();
        for bad in [0, abi::net::RCVBUF_MIN - 1, abi::net::RCVBUF_MAX + 1] {
            assert_eq!(s.set_rcvbuf(a, bad), Err(Errno::EINVAL), "{bad}");
        }
        assert_eq!(s.set_rcvbuf(SocketId(999), 4096), Err(Errno::EBADF));
        s.set_rcvbuf(a, 2 * RX_CHARGE as u64 + 1).unwrap();
        s.set_rcvbuf(b, abi::net::RCVBUF_MAX).unwrap();
        let mut send = |s: &mut Stack, id, port: u16| {
            let m = s.pool().alloc().unwrap();
            s.deliver(&mut env, id, m, ([1, 1, 1, 1], port)).is_ok()
        };
        // Two buffers fit in a; b, interleaved, takes what it is given.
        let got: Vec<bool> = (0..4).map(|i| send(&mut s, a, i)).collect();
        assert_eq!(got, [true, true, false, false]);
        for i in 0..10 {
            assert!(send(&mut s, b, 100 + i));
        }
        // Each queue gives back its own datagrams, in order.
        assert_eq!(s.recvfrom(a).unwrap().1.port(), 0);
        assert!(send(&mut s, a, 4));
        let ports: Vec<u16> = (0..2).map(|_| s.recvfrom(a).unwrap().1.port()).collect();
        assert_eq!(ports, [1, 4]);
        assert_eq!(s.recvfrom(a).unwrap_err(), Errno::EAGAIN);
        let ports: Vec<u16> = (0..10).map(|_| s.recvfrom(b).unwrap().1.port()).collect();
        assert_eq!(ports, (100..110).collect::<Vec<_>>());
    }

    #[test]
    fn the_slots_hold_the_largest_pool() {
        static POOL: Pool<[Buf; QUEUE_SLOTS]> = Pool::new();
        let mut s = Box::new(Stack::new(&POOL));
        let mut env = TestEnv::at(1000);
        let ids: Vec<SocketId> = (0..3).map(|_| s.socket(SocketKind::Udp).unwrap()).collect();
        for &id in &ids {
            s.set_rcvbuf(id, abi::net::RCVBUF_MAX).unwrap();
        }
        let mut queued = 0;
        for i in 0..QUEUE_SLOTS {
            let m = s.pool().alloc().unwrap();
            queued += s
                .deliver(&mut env, ids[i % 3], m, ([1, 1, 1, 1], 1))
                .is_ok() as usize;
        }
        assert_eq!((queued, s.pool().free()), (QUEUE_SLOTS, 0));
        // Closing a socket frees its slots for the others.
        let free = s.pool().free();
        s.close(ids[0]).unwrap();
        assert_eq!(s.pool().free(), free + QUEUE_SLOTS.div_ceil(3));
        let m = s.pool().alloc().unwrap();
        assert!(s.deliver(&mut env, ids[1], m, ([1, 1, 1, 1], 1)).is_ok());
    }
}
