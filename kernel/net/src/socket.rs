//! Datagram sockets: the socket table, port binding, the connect filter and
//! the bounded receive queues.
//!
//! Receive queues are bounded in bytes (`SO_RCVBUF`, per socket): each
//! queued datagram is charged the whole buffers it holds ([`MBUF_SIZE`]
//! each; one, or as many as a datagram reassembled from fragments has), as
//! Linux charges an skb's truesize, because that buffer is what the RX ring
//! is refilled from, however small the payload. Each socket's queue is a
//! ring whose storage comes in chunks of a few entries from one store
//! shared by all sockets, sized for [`QUEUE_SLOTS`] datagrams (never more
//! than the pool has buffers): one socket may take many while the others
//! hold none, and a datagram in or out touches one entry of its own
//! socket's chunk.
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
use crate::{ipv4, udp, Ipv4Addr, NetEnv, Stack};

/// Sockets in the table.
pub const MAX_SOCKETS: usize = 64;
// `SocketTable::find` compares the ports eight at a time, and knows which
// slots hold a bound port from the bits of a `u64`.
const _: () = assert!(MAX_SOCKETS.is_multiple_of(8) && MAX_SOCKETS <= 64);
/// What a queued datagram is charged against its socket's `SO_RCVBUF`.
pub const RX_CHARGE: usize = MBUF_SIZE;
/// Datagrams queued on all sockets together: each holds one of the
/// pool's mbufs, so the queues' storage never runs out before the pool
/// does.
pub const QUEUE_SLOTS: usize = crate::mbuf::MAX_MBUFS;
// The smallest receive buffer still takes a datagram, and the largest
// could hold every datagram queued; limits in datagrams fit a `u16`.
const _: () = assert!(
    abi::net::RCVBUF_MIN as usize >= RX_CHARGE
        && abi::net::RCVBUF_MAX as usize == QUEUE_SLOTS * RX_CHARGE
        && QUEUE_SLOTS < u16::MAX as usize
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
    /// `SO_KEEPALIVE` and its `TCP_KEEP*` settings (stream sockets).
    pub keepalive: crate::tcp::Keepalive,
}

/// A datagram taken off a queue, and its sender.
struct Received {
    m: Mbuf,
    from: Peer,
}

/// A sender's address and port, in one word: a queue entry is then
/// written and read back in whole words (narrow stores read back with a
/// wider load, as a 4-byte address and 2-byte port would be, stall the
/// CPU when a datagram is taken off soon after it came).
#[derive(Clone, Copy)]
struct Peer(u64);

impl Peer {
    fn new((addr, port): (Ipv4Addr, u16)) -> Peer {
        Peer(u32::from_ne_bytes(addr) as u64 | (port as u64) << 32)
    }

    fn sockaddr(self) -> SockAddrIn {
        SockAddrIn::new((self.0 as u32).to_ne_bytes(), (self.0 >> 32) as u16)
    }
}

/// No chunk (the end of a list).
const NIL: u16 = u16::MAX;
/// Datagrams one chunk of queue storage holds.
const CHUNK: usize = 8;
/// Chunks of queue storage for all sockets: enough for every buffer of
/// the pool queued at once, plus the two part-filled chunks (at the head
/// and at the tail) a socket's queue may have besides its full ones.
const CHUNKS: usize = QUEUE_SLOTS / CHUNK + 2 * MAX_SOCKETS;
const _: () = assert!(QUEUE_SLOTS.is_multiple_of(CHUNK) && CHUNKS < NIL as usize);

/// A queued datagram, or a free entry. Its parts are stored and taken
/// one by one, never built elsewhere and copied in as a block: a wide load
/// of narrower stores just made stalls the CPU.
struct Entry {
    m: Option<Mbuf>,
    from: Peer,
}

/// A run of queue entries, handed to one socket's queue at a time.
struct Chunk {
    entries: [Entry; CHUNK],
    /// The next chunk of the same queue, or of the free list.
    next: u16,
}

/// A socket's receive queue: a ring through chunks of the shared
/// storage. Its datagrams run from entry `head` of chunk `first` to the
/// one before entry `tail` of chunk `last`; a chunk goes back when its
/// last entry has been taken, except the only one, which the queue keeps
/// (empty, both ends at its start) so a socket taking datagrams one at a
/// time touches one entry and never the free list.
#[derive(Clone, Copy)]
struct RxQueue {
    first: u16,
    last: u16,
    head: u16,
    tail: u16,
    len: u16,
    /// Mbufs the queued datagrams hold (more than `len` when some were
    /// reassembled from fragments), charged against `limit`.
    charge: u16,
    /// `SO_RCVBUF` in mbufs: bytes / [`RX_CHARGE`].
    limit: u16,
}

impl RxQueue {
    const fn new() -> RxQueue {
        RxQueue {
            first: NIL,
            last: NIL,
            head: 0,
            tail: 0,
            len: 0,
            charge: 0,
            limit: (abi::net::RCVBUF_DEFAULT as usize / RX_CHARGE) as u16,
        }
    }
}

/// The storage every socket's queue is made of.
struct QueueStore {
    chunks: [Chunk; CHUNKS],
    /// Chunks no queue holds, linked through `next`.
    free: u16,
}

impl QueueStore {
    const fn new() -> QueueStore {
        let mut chunks = [const {
            Chunk {
                entries: [const {
                    Entry {
                        m: None,
                        from: Peer(0),
                    }
                }; CHUNK],
                next: NIL,
            }
        }; CHUNKS];
        let mut i = 0;
        while i + 1 < CHUNKS {
            chunks[i].next = (i + 1) as u16;
            i += 1;
        }
        QueueStore { chunks, free: 0 }
    }

    /// Appends `m` from `from` to `q`; gives it back when `q` is at its
    /// limit or no storage is left.
    #[inline(always)]
    fn push(&mut self, q: &mut RxQueue, m: Mbuf, from: Peer) -> Result<(), Mbuf> {
        // A chain (a reassembled datagram) is charged every mbuf it holds.
        let charge = m.chain_count();
        if q.charge as usize + charge > q.limit as usize {
            return Err(m);
        }
        if q.last == NIL || q.tail as usize == CHUNK {
            let Some(c) = self.take_chunk() else {
                // Only past every buffer of a pool queued at once (the
                // store is sized for that): this mbuf is not the pool's.
                return Err(m);
            };
            if q.last == NIL {
                q.first = c;
            } else {
                self.chunks[q.last as usize].next = c;
            }
            q.last = c;
            q.tail = 0;
        }
        let entry = &mut self.chunks[q.last as usize].entries[q.tail as usize];
        // The entry past the tail is always empty: nothing to drop, and
        // no load of it to wait for before the store (measured: 1 ns).
        let old = entry.m.replace(m);
        debug_assert!(old.is_none(), "queue entry reused while full");
        core::mem::forget(old);
        entry.from = from;
        q.tail += 1;
        q.len += 1;
        q.charge += charge as u16;
        Ok(())
    }

    /// Takes the oldest datagram off `q`.
    // Inlined, as `push` is: a `Received` returned through memory in
    // narrow stores and read back wide by the caller stalls the CPU
    // (measured together with the like stall `Mbuf::chain_count` made
    // in `push`: 9 ns a datagram).
    #[inline(always)]
    fn pop(&mut self, q: &mut RxQueue) -> Option<Received> {
        if q.len == 0 {
            return None;
        }
        let chunk = &mut self.chunks[q.first as usize];
        let entry = &mut chunk.entries[q.head as usize];
        let (m, from) = (entry.m.take(), entry.from);
        let charge = m.as_ref().map_or(1, Mbuf::chain_count);
        q.len -= 1;
        q.charge -= charge as u16;
        q.head += 1;
        if q.len == 0 {
            // `first` is `last`: start it over.
            (q.head, q.tail) = (0, 0);
        } else if q.head as usize == CHUNK {
            let next = chunk.next;
            self.give_back(q.first);
            (q.first, q.head) = (next, 0);
        }
        Some(Received { m: m?, from })
    }

    /// Empties `q` and gives all its storage back.
    fn clear(&mut self, q: &mut RxQueue) {
        while self.pop(q).is_some() {}
        if q.last != NIL {
            self.give_back(q.last);
        }
        *q = RxQueue {
            limit: q.limit,
            ..RxQueue::new()
        };
    }

    fn take_chunk(&mut self) -> Option<u16> {
        let c = self.free;
        if c == NIL {
            return None;
        }
        self.free = core::mem::replace(&mut self.chunks[c as usize].next, NIL);
        Some(c)
    }

    fn give_back(&mut self, c: u16) {
        self.chunks[c as usize].next = self.free;
        self.free = c;
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
    /// Written only by `set_port`.
    ports: [u16; MAX_SOCKETS],
    /// Bit i set: slot i has a port. The lookup looks only at the groups
    /// of eight slots holding one (sockets take the lowest free slots, so
    /// usually one or two groups, not all), and in them only at those
    /// slots.
    bound: u64,
    queued: QueueStore,
    next_ephemeral: u16,
}

impl SocketTable {
    pub(crate) const fn new() -> Self {
        SocketTable {
            slots: [const { None }; MAX_SOCKETS],
            ports: [0; MAX_SOCKETS],
            bound: 0,
            queued: QueueStore::new(),
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
        self.set_port(id, local.1);
        Ok(())
    }

    /// Records `id`'s port (0: none) in the lookup's index.
    fn set_port(&mut self, id: SocketId, port: u16) {
        let i = id.0 as usize;
        self.ports[i] = port;
        self.bound = self.bound & !(1 << i) | u64::from(port != 0) << i;
    }

    /// Frees slot `id`: its queued datagrams go back to the pool.
    fn remove(&mut self, id: SocketId) -> Result<(), Errno> {
        let mut s = self
            .slots
            .get_mut(id.0 as usize)
            .and_then(Option::take)
            .ok_or(Errno::EBADF)?;
        self.queued.clear(&mut s.rxq);
        self.set_port(id, 0);
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
        // vector compare), in the groups holding a bound port; in a group
        // holding this port, each bound slot. Which slots those are does
        // not depend on the datagram, so the CPU reads them ahead while
        // the compares are still being made (a slot taken from the
        // compare's result would wait for it: measured, 2 ns).
        let mut groups = self.bound;
        while groups != 0 {
            let g = groups.trailing_zeros() as usize / 8;
            let mut slots = (groups >> (g * 8)) as u8;
            groups &= !(u64::from(u8::MAX) << (g * 8));
            let group = &self.ports[g * 8..g * 8 + 8];
            if !group.iter().fold(false, |any, &p| any | (p == dst.1)) {
                continue;
            }
            while slots != 0 {
                let i = g * 8 + slots.trailing_zeros() as usize;
                slots &= slots - 1;
                if self.ports[i] != dst.1 {
                    continue;
                }
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
    #[inline]
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
        match self.queued.push(&mut s.rxq, m, Peer::new(from)) {
            Ok(()) => Ok(()),
            Err(mut m) => {
                s.dropped += 1;
                m.set_state(MbufState::InStack);
                Err(m)
            }
        }
    }

    /// Takes the oldest datagram off `id`'s queue.
    // Inlined into `recvfrom`, so the datagram's words go from the queue
    // entry straight to the caller, not through a block copy.
    #[inline(always)]
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
        let ours = self.is_local_addr(a.addr_be);
        let s = self.sockets.get(id)?;
        check_family(a)?;
        if s.local.1 != 0 {
            return Err(Errno::EINVAL);
        }
        let addr = a.addr_be;
        if addr != [0; 4] && !ours {
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
    /// [`HEADROOM`](crate::HEADROOM) in front; longer than one frame, a
    /// chain cut as [`udp::cut_for_fragments`] says for a UDP datagram, as
    /// [`icmp::cut_for_fragments`](crate::icmp::cut_for_fragments) for an
    /// echo request) to `dst`, or to the connected peer when `dst` is `None`. For an ICMP socket the payload is an echo
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
        let n = m.chain_len();
        match kind {
            SocketKind::Udp => {
                if n > udp::MAX_PAYLOAD {
                    return Err(Errno::EMSGSIZE);
                }
                if !udp::cut_for_fragments(&m) {
                    return Err(Errno::EINVAL);
                }
                self.udp_output(env, m, port, to);
            }
            SocketKind::Icmp => {
                if n > ipv4::MAX_PAYLOAD {
                    return Err(Errno::EMSGSIZE);
                }
                self.icmp_send_echo(env, m, port, to.0)?
            }
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
            return Ok((r.m, r.from.sockaddr()));
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
        s.rxq.limit = (bytes as usize / RX_CHARGE) as u16;
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
        if m.profiled() {
            m.stamp(RxStamp::Queued, env.clock());
        }
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
    fn the_lookup_looks_only_at_slots_with_bound_ports() {
        let mut s = stack();
        let ids: Vec<_> = (0..MAX_SOCKETS)
            .map(|_| s.socket(SocketKind::Udp).unwrap())
            .collect();
        let (ours, peer) = ([10, 0, 2, 15], ([10, 0, 2, 2], 9));
        assert_eq!(s.sockets.bound, 0, "open but unbound");
        // Two in the first group, one in the last.
        s.bind(ids[1], &any(7)).unwrap();
        s.bind(ids[2], &any(8)).unwrap();
        s.bind(ids[MAX_SOCKETS - 1], &any(9)).unwrap();
        let bit = |i: usize| 1u64 << ids[i].0;
        assert_eq!(s.sockets.bound, bit(1) | bit(2) | bit(MAX_SOCKETS - 1));
        let found = |s: &mut Stack, port| s.sockets.find(SocketKind::Udp, (ours, port), peer);
        assert_eq!(found(&mut s, 9), Some(ids[MAX_SOCKETS - 1]));
        s.close(ids[1]).unwrap();
        assert_eq!(s.sockets.bound, bit(2) | bit(MAX_SOCKETS - 1));
        assert_eq!((found(&mut s, 7), found(&mut s, 8)), (None, Some(ids[2])));
        s.close(ids[2]).unwrap();
        s.close(ids[MAX_SOCKETS - 1]).unwrap();
        assert_eq!(s.sockets.bound, 0);
        assert_eq!(found(&mut s, 9), None);
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
            let mut m = s.pool().alloc().unwrap();
            m.stamp(RxStamp::Interrupt, 900);
            let r = s.deliver(&mut env, a, m, ([1, 1, 1, 1], i as u16));
            assert_eq!(r.is_err(), i >= fits);
        }
        assert_eq!(s.pool().free(), free - fits);
        let mut info = [SockInfo::default(); 4];
        assert_eq!(s.socklist(&mut info), 1);
        assert_eq!((info[0].rx_queued, info[0].rx_dropped), (fits as u32, 3));
        let (_m, from) = s.recvfrom(a).unwrap();
        assert_eq!(from.port(), 0);
        // Queuing stamped the time of a frame from the device for the
        // receive-path profile.
        assert_eq!(_m.stamps(), [900, 0, 1000]);
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
    fn the_queues_hold_the_largest_pool() {
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
        // Closing a socket frees its storage for the others.
        let free = s.pool().free();
        s.close(ids[0]).unwrap();
        assert_eq!(s.pool().free(), free + QUEUE_SLOTS.div_ceil(3));
        let m = s.pool().alloc().unwrap();
        assert!(s.deliver(&mut env, ids[1], m, ([1, 1, 1, 1], 1)).is_ok());
    }

    /// Chunks on the free list.
    fn free_chunks(q: &QueueStore) -> usize {
        let (mut n, mut c) = (0, q.free);
        while c != NIL {
            (n, c) = (n + 1, q.chunks[c as usize].next);
        }
        n
    }

    #[test]
    fn queues_cross_chunks_in_order_and_give_them_back() {
        let mut s = stack();
        let mut env = TestEnv::at(1000);
        let ids = [0, 1].map(|_| s.socket(SocketKind::Udp).unwrap());
        let mut send = |s: &mut Stack, id, port: u16| {
            let m = s.pool().alloc().unwrap();
            assert!(s.deliver(&mut env, id, m, ([1, 2, 3, 4], port)).is_ok());
        };
        let recv = |s: &mut Stack, id| {
            let (_m, from) = s.recvfrom(id).unwrap();
            assert_eq!(from.addr_be, [1, 2, 3, 4]);
            from.port()
        };
        // Interleaved, so each queue's chunks alternate in the store.
        let n = 3 * CHUNK as u16 + 3;
        for p in 0..n {
            send(&mut s, ids[0], p);
            send(&mut s, ids[1], 1000 + p);
        }
        let held = CHUNKS - free_chunks(&s.sockets.queued);
        assert_eq!(held, 2 * 4, "four chunks each");
        // Half of one queue taken, then more added behind the rest.
        for p in 0..n / 2 {
            assert_eq!(recv(&mut s, ids[0]), p);
        }
        for p in n..n + CHUNK as u16 {
            send(&mut s, ids[0], p);
        }
        for p in n / 2..n + CHUNK as u16 {
            assert_eq!(recv(&mut s, ids[0]), p);
        }
        assert_eq!(s.recvfrom(ids[0]).unwrap_err(), Errno::EAGAIN);
        for p in 0..n {
            assert_eq!(recv(&mut s, ids[1]), 1000 + p);
        }
        // Drained queues keep one chunk each; closing gives it back.
        assert_eq!(free_chunks(&s.sockets.queued), CHUNKS - 2);
        send(&mut s, ids[1], 7);
        s.close(ids[0]).unwrap();
        s.close(ids[1]).unwrap();
        assert_eq!(free_chunks(&s.sockets.queued), CHUNKS);
    }

    #[test]
    fn every_socket_part_filled_still_holds_the_largest_pool() {
        static POOL: Pool<[Buf; QUEUE_SLOTS]> = Pool::new();
        let mut s = Box::new(Stack::new(&POOL));
        let mut env = TestEnv::at(1000);
        let ids: Vec<SocketId> = (0..MAX_SOCKETS)
            .map(|_| s.socket(SocketKind::Udp).unwrap())
            .collect();
        let mut send = |s: &mut Stack, id| {
            let m = s.pool().alloc().unwrap();
            s.deliver(&mut env, id, m, ([1, 1, 1, 1], 1)).is_ok()
        };
        // The worst layout: every queue's oldest datagram at the end of
        // its first chunk, so each also holds a part-filled chunk at the
        // tail.
        for &id in &ids {
            s.set_rcvbuf(id, abi::net::RCVBUF_MAX).unwrap();
            for _ in 0..CHUNK {
                assert!(send(&mut s, id));
            }
            for _ in 0..CHUNK - 1 {
                s.recvfrom(id).unwrap();
            }
        }
        let mut i = 0;
        while s.pool().free() > 0 {
            assert!(send(&mut s, ids[i % MAX_SOCKETS]), "datagram {i}");
            i += 1;
        }
        let queued: u32 = {
            let mut info = [SockInfo::default(); MAX_SOCKETS];
            let n = s.socklist(&mut info);
            info[..n].iter().map(|i| i.rx_queued).sum()
        };
        assert_eq!(queued as usize, QUEUE_SLOTS);
    }

    #[test]
    fn a_full_store_refuses_instead_of_failing() {
        // More buffers than any one pool has, to reach the end of the
        // store: a push is refused and the mbuf handed back.
        let pools: Vec<&'static Pool> = (0..CHUNKS * CHUNK / QUEUE_SLOTS + 1)
            .map(|_| &*Box::leak(Box::new(Pool::<[Buf; QUEUE_SLOTS]>::new())) as &Pool)
            .collect();
        let mut store = Box::new(QueueStore::new());
        let mut q = RxQueue::new();
        q.limit = u16::MAX;
        let mut queued = 0;
        let refused = pools
            .iter()
            .flat_map(|p| core::iter::from_fn(|| p.alloc()))
            .find_map(|m| match store.push(&mut q, m, Peer::new(([0; 4], 0))) {
                Ok(()) => {
                    queued += 1;
                    None
                }
                Err(m) => Some(m),
            });
        assert!(refused.is_some());
        assert_eq!(queued, CHUNKS * CHUNK);
        store.clear(&mut q);
        assert_eq!(free_chunks(&store), CHUNKS);
        drop(refused);
        assert!(pools.iter().all(|p| p.free() == QUEUE_SLOTS));
    }
}
