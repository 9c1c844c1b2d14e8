//! mbufs: fixed-size packet buffers from a bounded, lock-free pool
//! (`pool.rs`), each with a window onto the packet it holds.
//!
//! Every frame the stack sees lives in one [`Mbuf`]: a 2048-byte buffer
//! taken from a [`Pool`] plus a window (`head`, `len`) onto the bytes that
//! are the current packet. Layers strip their header on receive by moving
//! the window forward ([`Mbuf::pull`]) and add one on transmit by moving it
//! back into the headroom ([`Mbuf::push`]); the bytes never move. An `Mbuf`
//! is an owned value: dropping it gives the buffer back to its pool, so a
//! leak shows in [`Pool::free`] and a double free cannot be written.
//!
//! Sharing: TCP keeps the bytes it sent until they are acknowledged and
//! hands the device a second handle on the same buffer rather than a copy
//! ([`Mbuf::share`]). The pool counts each buffer's handles; the buffer
//! goes back when the last one drops. Shared bytes are frozen: each handle
//! writes only in front of the window it was given (its headers), so the
//! handles' windows never see each other's writes.
//!
//! Chains: a datagram longer than one buffer (reassembled from IPv4
//! fragments, or to be sent as fragments) is a chain of mbufs, each in the
//! buffer its bytes came in or were copied to. The pool keeps, per buffer,
//! the packed window of the mbuf after it ([`Mbuf::chain`]), so the head
//! stays two words and owns the rest: dropping it frees them all, handing
//! it on hands them all on. [`Mbuf::pieces`] reads the windows in order.
//! Chained buffers are never shared.
//!
//! Copies: the receive path hands the device's buffer itself from layer to
//! layer up to the socket, so received bytes are copied once, by `recvfrom`
//! to user space. [`Mbuf::copy_out`] is the one function that copies bytes
//! out of an mbuf, and it counts: received bytes that `recvfrom` delivered
//! under `rx_bytes_to_user`, any other received bytes (a copy made on the
//! way up: in the driver, the stack, loopback) under `rx_bytes_copied`,
//! which must stay 0. Protocol code reads headers in place through
//! [`Mbuf::data`] and never copies a payload.
//!
//! DMA: kernel memory is identity-mapped, so [`Mbuf::tail_ptr`] is the
//! address a device may write the next bytes to. The virtio driver posts
//! `tail_ptr()`/`tailroom()` of a fresh mbuf, and after the device reports
//! `n` bytes calls [`Mbuf::extend`]`(n)`. Fresh mbufs start with
//! [`HEADROOM`] bytes in front, so a received packet can be turned into a
//! reply (ICMP echo, port unreachable) in place, with room for the longer
//! headers.

use core::fmt;
use core::sync::atomic::Ordering;

use wire::dispatch::ETHERNET_MAX_HEADERS;
use wire::ethernet::EthernetHeader;
use wire::icmpv4::{Icmpv4DestUnreachable, Icmpv4Header};
use wire::ipv4::Ipv4Header;
use wire::virtio_net::VirtioNetHdr;
use wire::{Emit, EmitOptions};

use crate::counters::DropReason;
use crate::pool::PoolRef;
// The pool's types, also under their former path `net::mbuf::...`.
pub use crate::pool::{Buf, Census, MbufState, Pool, MAX_MBUFS, POOL_COUNTERS};

/// Bytes in one buffer.
pub const MBUF_SIZE: usize = 2048;
/// What a driver pushes in front of the Ethernet frame: the virtio-net
/// header (the only NIC so far).
pub const DRIVER_HEADER: usize = VirtioNetHdr::LEN;
/// Where the window of a fresh mbuf starts: room for the longest run of
/// headers the specs let the stack push in front of a payload (Ethernet, the
/// longest IPv4 header, the longest ICMP or UDP header; generated from the
/// `next_layer` declarations) and the driver's header in front of that.
pub const HEADROOM: usize = DRIVER_HEADER + ETHERNET_MAX_HEADERS;

// An ICMP error is built in the received buffer: the quoted datagram starts
// where the device wrote its IP header (HEADROOM + driver and Ethernet
// headers in), and the ICMP header and body, a fresh IPv4 header, Ethernet
// and the driver's header go in front of it.
const _: () = assert!(
    HEADROOM + DRIVER_HEADER + EthernetHeader::LEN
        >= DRIVER_HEADER
            + EthernetHeader::LEN
            + Ipv4Header::LEN
            + Icmpv4Header::LEN
            + Icmpv4DestUnreachable::LEN
);
// Every length field the stack fills (IPv4 total length, UDP length) can
// hold a whole buffer, so a builder never refuses a window for its length.
const _: () = assert!(MBUF_SIZE <= u16::MAX as usize);

// Small enough to travel in two registers from layer to layer.
const _: () = assert!(core::mem::size_of::<Mbuf>() <= 16);

/// The window was asked to move past either end of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoRoom;

/// An owned packet buffer; returns to its pool when dropped.
///
/// INVARIANT: the pool's bit for `idx` is set while this value (or another
/// handle [`Mbuf::share`] made on the same buffer) exists, and
/// `head + len <= MBUF_SIZE`.
pub struct Mbuf {
    pool: PoolRef,
    f: Fields,
}

/// The buffer index, the window and the flags of an [`Mbuf`], packed in
/// one word. Every change rewrites the whole word, so when a layer hands
/// the mbuf on right after moving its window, the move reads back exactly
/// what was stored (narrow fields stored and then copied with a wider load
/// stall the CPU: the store cannot be forwarded).
#[derive(Clone, Copy)]
struct Fields(u64);

impl Fields {
    /// A handle made by [`Mbuf::share`] (the highest flag bit, leaving the
    /// low ones to the other flags); the state the buffer had then is
    /// kept in the top byte (`SHARED_STATE`), to give back when it drops.
    const SHARE_COPY: u64 = 1 << 55;
    const SHARED_STATE: u32 = 56;
    /// The bytes came in from outside: a device wrote them, or the stack
    /// looped back a packet to itself.
    const RECEIVED: u64 = 1 << 48;
    /// `recvfrom` took it off a socket: its one copy, to user space, is due.
    const DELIVERED: u64 = 1 << 49;
    /// The driver stamped the frame's arrival ([`RxStamp::Interrupt`]):
    /// the times in the pool are this frame's, and later points record
    /// theirs.
    const PROFILED: u64 = 1 << 50;
    /// Set in every link the pool stores ([`Mbuf::chain`]), so a link to
    /// buffer 0 with an empty window is not read as no link.
    const LINKED: u64 = 1 << 51;

    const fn new(idx: u16, head: u16, len: u16) -> Fields {
        Fields(idx as u64 | (head as u64) << 16 | (len as u64) << 32)
    }
    fn idx(self) -> u16 {
        self.0 as u16
    }
    fn head(self) -> u16 {
        (self.0 >> 16) as u16
    }
    fn len(self) -> u16 {
        (self.0 >> 32) as u16
    }
    fn has(self, flag: u64) -> bool {
        self.0 & flag != 0
    }
    /// What a copy remembers: its flag and the state it was made in.
    fn share_bits(self) -> u64 {
        self.0 & (Fields::SHARE_COPY | (u8::MAX as u64) << Fields::SHARED_STATE)
    }
    /// The same buffer and flags with the window at `head`, `len` bytes.
    fn window(self, head: u16, len: u16) -> Fields {
        let window = Fields::new(0, u16::MAX, u16::MAX).0;
        Fields(self.0 & !window | Fields::new(0, head, len).0)
    }
}

/// The points of the receive path a frame's mbuf records the time of.
/// Only frames from the device are profiled: the driver's `Interrupt`
/// stamp starts the record, and an mbuf without it (built by the stack,
/// looped back, reused) records and reports nothing, so the rest of the
/// stack pays nothing for the profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxStamp {
    /// The driver's interrupt handler started.
    Interrupt,
    /// The driver handed the frame to the stack.
    Stack,
    /// The stack queued it on a socket.
    Queued,
}
pub const RX_STAMPS: usize = 3;

impl Mbuf {
    /// Buffer `idx`, just taken from `pool` (by [`Pool::alloc`]): an empty
    /// window at [`HEADROOM`].
    pub(crate) fn fresh(pool: PoolRef, idx: u16) -> Mbuf {
        Mbuf {
            pool,
            f: Fields::new(idx, HEADROOM as u16, 0),
        }
    }

    /// Moves the window (callers keep it inside the buffer, so the
    /// values fit in a `u16`).
    fn set_window(&mut self, head: usize, len: usize) {
        self.f = self.f.window(head as u16, len as u16);
    }

    fn buf(&self) -> &[u8; MBUF_SIZE] {
        // SAFETY: this Mbuf owns buffer `idx` (its bit is set), so no one
        // else reads or writes it while we hold `&self`; or it shares it
        // with handles `share` made, which only write in front of the
        // windows they share and never while another handle's bytes are
        // borrowed (the rule `share` states).
        unsafe { &*self.pool().buf_ptr(self.f.idx()).cast::<[u8; MBUF_SIZE]>() }
    }

    fn buf_mut(&mut self) -> &mut [u8; MBUF_SIZE] {
        // SAFETY: as in `buf`: `&mut self` makes the access exclusive among
        // this handle's uses, and the rule of `share` keeps other handles
        // on the buffer from holding a borrow of its bytes meanwhile.
        unsafe { &mut *self.pool().buf_ptr(self.f.idx()).cast::<[u8; MBUF_SIZE]>() }
    }

    /// The packet bytes (the window).
    #[inline]
    pub fn data(&self) -> &[u8] {
        let (h, l) = (self.head(), self.len());
        &self.buf()[h..h + l]
    }

    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let (h, l) = (self.head(), self.len());
        &mut self.buf_mut()[h..h + l]
    }

    pub fn len(&self) -> usize {
        self.f.len() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.f.len() == 0
    }

    /// Offset of the window in the buffer.
    pub fn head(&self) -> usize {
        self.f.head() as usize
    }

    /// Free bytes in front of the window.
    pub fn headroom(&self) -> usize {
        self.head()
    }

    /// Free bytes after the window.
    pub fn tailroom(&self) -> usize {
        MBUF_SIZE - self.head() - self.len()
    }

    /// Grows the window `n` bytes to the front (adding a header) and returns
    /// those bytes, zeroed.
    pub fn push(&mut self, n: usize) -> Result<&mut [u8], NoRoom> {
        if n > self.headroom() {
            return Err(NoRoom);
        }
        self.set_window(self.head() - n, self.len() + n);
        let h = self.head();
        let front = &mut self.buf_mut()[h..h + n];
        front.fill(0);
        Ok(front)
    }

    /// Pushes the header `header` describes in front of the window and has
    /// the generated builder write it complete over the grown window (its
    /// lengths, checksum and fixed values filled as the spec says): how
    /// every protocol's `output` prepends its header. `cx` is what the
    /// checksum needs besides the message (UDP: the IPv4 pseudo-header).
    /// On failure the window is as it was.
    pub fn push_emit<E: Emit>(&mut self, header: &E, cx: E::Context) -> Result<(), NoRoom> {
        self.push(E::LEN)?;
        if header.emit(self.data_mut(), cx).is_err() {
            // Only a window too long for a length field, which the asserts
            // above rule out; leave the mbuf as it came.
            let _ = self.pull(E::LEN);
            return Err(NoRoom);
        }
        Ok(())
    }

    /// [`Mbuf::push_emit`] for a header with `options` after its fixed
    /// part (already encoded, each by its own builder): the options are
    /// placed, then the builder writes the fixed part in front, its
    /// header-length field and checksum covering them.
    pub fn push_emit_options<E: EmitOptions>(
        &mut self,
        header: &E,
        options: &[u8],
        cx: E::Context,
    ) -> Result<(), NoRoom> {
        self.push(options.len())?.copy_from_slice(options);
        self.push(E::LEN)?;
        if header
            .emit_with_options(self.data_mut(), options.len(), cx)
            .is_err()
        {
            // Options too long for the header-length field: as it came.
            let _ = self.pull(E::LEN + options.len());
            return Err(NoRoom);
        }
        Ok(())
    }

    /// Grows the window `n` bytes to the front keeping what is there (the
    /// header a previous `pull` stripped).
    pub fn unpull(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.headroom() {
            return Err(NoRoom);
        }
        self.set_window(self.head() - n, self.len() + n);
        Ok(())
    }

    /// Empties the window and puts it back at [`HEADROOM`], as a fresh
    /// mbuf (a driver reusing a buffer it could not replace); a profile
    /// it carried is forgotten.
    pub fn reset(&mut self) {
        self.f = Fields(Fields::new(self.f.idx(), HEADROOM as u16, 0).0 | self.f.share_bits());
    }

    /// Records that the frame passed `at` at time `t`. `Interrupt` (the
    /// driver, for each frame from the device) starts the profile and
    /// forgets the times of the buffer's previous frame; any later point
    /// is recorded only on a profiled frame. The times live in the pool
    /// beside the buffer's state, so the `Mbuf` stays two words.
    pub fn stamp(&mut self, at: RxStamp, t: u64) {
        let times = &self.pool().meta.stamps[self.f.idx() as usize];
        if at == RxStamp::Interrupt {
            for s in times {
                s.store(0, Ordering::Relaxed);
            }
            self.f.0 |= Fields::PROFILED;
        } else if !self.profiled() {
            return;
        }
        times[at as usize].store(t, Ordering::Relaxed);
    }

    /// The driver stamped this frame's arrival: its later points are worth
    /// a clock read.
    pub fn profiled(&self) -> bool {
        self.f.has(Fields::PROFILED)
    }

    /// When the frame passed each [`RxStamp`] (0 = not passed; all 0 for
    /// a frame not profiled).
    pub fn stamps(&self) -> [u64; RX_STAMPS] {
        if !self.profiled() {
            return [0; RX_STAMPS];
        }
        let s = &self.pool().meta.stamps[self.f.idx() as usize];
        core::array::from_fn(|i| s[i].load(Ordering::Relaxed))
    }

    /// Where the buffer is now.
    pub fn state(&self) -> MbufState {
        MbufState::from_raw(self.pool().meta.state[self.f.idx() as usize].load(Ordering::Relaxed))
    }

    /// Records a hand-over: the driver posting it (`RxPosted`) or sending
    /// it (`TxInflight`), a socket or the ARP cache queueing it, and
    /// `InStack` when it is taken out again. `Free` is the pool's own
    /// (dropping the mbuf), so it is refused here.
    /// The whole chain moves together.
    pub fn set_state(&mut self, s: MbufState) {
        if s == MbufState::Free {
            return;
        }
        let meta = &self.pool().meta;
        let mut idx = self.f.idx();
        loop {
            meta.state[idx as usize].store(s as u8, Ordering::Relaxed);
            match meta.next[idx as usize].load(Ordering::Relaxed) {
                0 => break,
                link => idx = Fields(link).idx(),
            }
        }
    }

    /// Appends `tail` (and what is chained to it) after the last mbuf of
    /// this one's chain: the head now owns it. Neither may be shared
    /// ([`Mbuf::share`]).
    pub fn chain(&mut self, tail: Mbuf) {
        debug_assert!(
            !self.is_shared() && !tail.is_shared(),
            "shared mbufs chained"
        );
        let next = &self.pool().meta.next;
        let mut last = self.f.idx();
        loop {
            match next[last as usize].load(Ordering::Relaxed) {
                0 => break,
                link => last = Fields(link).idx(),
            }
        }
        next[last as usize].store(tail.f.0 | Fields::LINKED, Ordering::Relaxed);
        core::mem::forget(tail);
    }

    /// Unlinks the rest of the chain after this mbuf and hands it back
    /// (`None` when nothing is chained).
    pub fn take_next(&mut self) -> Option<Mbuf> {
        let link = &self.pool().meta.next[self.f.idx() as usize];
        if link.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let f = Fields(link.swap(0, Ordering::Relaxed) & !Fields::LINKED);
        Some(Mbuf { pool: self.pool, f })
    }

    /// Is another mbuf chained after this one?
    pub fn is_chained(&self) -> bool {
        self.pool().meta.next[self.f.idx() as usize].load(Ordering::Relaxed) != 0
    }

    /// The windows of the chain, in order: this mbuf's, then each
    /// chained one's.
    pub fn pieces(&self) -> Pieces<'_> {
        Pieces {
            head: self,
            started: false,
            link: self.pool().meta.next[self.f.idx() as usize].load(Ordering::Relaxed),
        }
    }

    /// Bytes in the whole chain.
    pub fn chain_len(&self) -> usize {
        self.pieces().map(<[u8]>::len).sum()
    }

    /// Mbufs in the chain (1 for one alone).
    // Inline, and the walk takes the link by value: a socket queue asks
    // this of every datagram it takes, and a reference to the mbuf
    // passed out of line would keep it in memory, to be moved into the
    // queue by a wide load of narrow stores, which stalls.
    #[inline(always)]
    pub fn chain_count(&self) -> usize {
        match self.pool().meta.next[self.f.idx() as usize].load(Ordering::Relaxed) {
            0 => 1,
            link => 1 + chained_count(self.pool(), link),
        }
    }

    /// The device returned this buffer from the RX ring having written `n`
    /// bytes at [`Mbuf::tail_ptr`], its own `hdr_len`-byte header first:
    /// the window becomes the frame after that header, the mbuf is marked
    /// received and is back in the stack's hands. A length shorter than the
    /// device's header is a runt (`RxRunt`); one past the room we posted
    /// cannot be a frame we accept (`EthOversized`).
    pub fn rx_complete(&mut self, n: usize, hdr_len: usize) -> Result<(), DropReason> {
        self.set_state(MbufState::InStack);
        self.mark_received();
        if n < hdr_len {
            return Err(DropReason::RxRunt);
        }
        self.extend(n).map_err(|_| DropReason::EthOversized)?;
        self.pull(hdr_len).map_err(|_| DropReason::RxRunt)
    }

    /// The window holds bytes that came in from outside (set by
    /// [`Mbuf::rx_complete`] and when the stack loops a packet back):
    /// copying them is counted by [`Mbuf::copy_out`].
    pub fn mark_received(&mut self) {
        self.f.0 |= Fields::RECEIVED;
    }

    /// `recvfrom` has taken this mbuf off its socket for the caller: the
    /// copy [`Mbuf::copy_out`] makes next is the expected one to user
    /// space.
    pub fn mark_delivered(&mut self) {
        self.f.0 |= Fields::DELIVERED;
    }

    /// Copies the first `n` bytes of the window (all of it if shorter) by
    /// handing them to `copy` (a `copy_from_slice`, or the kernel's
    /// `copyout` to user space) and returns how many. The one way bytes
    /// leave an mbuf, and it counts them: received bytes of a delivered
    /// mbuf as `rx_bytes_to_user`, received bytes of any other as
    /// `rx_bytes_copied` (a copy on the way up, which the zero-copy
    /// receive path never makes); bytes built here to be sent are not
    /// counted. When `copy` fails nothing is counted.
    ///
    /// A chain is copied piece by piece, in order: `copy` is called once
    /// per window (once for an mbuf alone), each piece following the last.
    pub fn copy_out<E>(
        &self,
        n: usize,
        mut copy: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut done = 0;
        for piece in self.pieces() {
            let bytes = &piece[..piece.len().min(n - done)];
            if bytes.is_empty() {
                break;
            }
            copy(bytes)?;
            done += bytes.len();
        }
        if self.f.has(Fields::RECEIVED) {
            let counter = if self.f.has(Fields::DELIVERED) {
                &self.pool().meta.rx_to_user
            } else {
                &self.pool().meta.rx_copied
            };
            counter.fetch_add(done as u64, Ordering::Relaxed);
        }
        Ok(done)
    }

    /// Drops `n` bytes from the front of the window (stripping a header).
    pub fn pull(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.len() {
            return Err(NoRoom);
        }
        self.set_window(self.head() + n, self.len() - n);
        Ok(())
    }

    /// Shortens the window to `len` bytes (removing link padding); a no-op
    /// when it is already that short. A chain is cut after its first `len`
    /// bytes, the mbufs past them freed.
    // Inline, the chain's part out of line with no reference to `self`
    // (every received packet is trimmed twice; see `chain_count`).
    #[inline(always)]
    pub fn trim(&mut self, len: usize) {
        if len < self.len() {
            self.set_window(self.head(), len);
        }
        if self.is_chained() {
            trim_chain(self.pool, self.f.idx(), len.saturating_sub(self.len()));
        }
    }

    /// Grows the window `n` bytes at the end and returns them (for copying a
    /// payload in). Their contents are whatever the buffer held.
    pub fn append(&mut self, n: usize) -> Result<&mut [u8], NoRoom> {
        let end = self.head() + self.len();
        self.extend(n)?;
        Ok(&mut self.buf_mut()[end..end + n])
    }

    /// Grows the window `n` bytes at the end, e.g. after a device wrote
    /// them at [`Mbuf::tail_ptr`].
    pub fn extend(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.tailroom() {
            return Err(NoRoom);
        }
        self.set_window(self.head(), self.len() + n);
        Ok(())
    }

    /// Address of the first byte after the window, for a device to write to
    /// (at most `tailroom()` bytes). Kernel memory is identity-mapped, so
    /// this is also the DMA address.
    pub fn tail_ptr(&mut self) -> *mut u8 {
        let end = self.head() + self.len();
        self.buf_mut()[end..].as_mut_ptr()
    }

    /// Address of the first byte of the window (for posting a frame).
    pub fn data_ptr(&self) -> *const u8 {
        self.data().as_ptr()
    }

    /// Address of the whole buffer and its size.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.buf_mut().as_mut_ptr()
    }

    pub const fn capacity(&self) -> usize {
        MBUF_SIZE
    }

    /// Index of the buffer in its pool (stable while owned; a token for
    /// drivers).
    pub fn index(&self) -> usize {
        self.f.idx() as usize
    }

    /// The pool this buffer came from.
    pub fn pool(&self) -> &'static Pool {
        self.pool.get()
    }

    /// A second handle on this buffer, with its own window (the same one to
    /// start with) and the same flags: how TCP sends the bytes it keeps for
    /// retransmission without copying them. The buffer returns to the pool
    /// when the last handle drops.
    ///
    /// The rule for shared bytes, which every holder keeps: while a buffer
    /// has several handles, the bytes their windows cover are only read; a
    /// handle writes only in front of its window (pushing its headers into
    /// the headroom), and only one handle at a time does so (TCP shares a
    /// kept buffer again only when no earlier copy is left, see
    /// [`Mbuf::is_shared`]). A frame about to be rewritten in place (a
    /// reply built in the received buffer) checks `is_shared` first.
    ///
    /// The census counts the buffer once, in the state last recorded by
    /// any handle; when a copy drops and others remain, the buffer gets
    /// back the state it had when the copy was made (a kept segment the
    /// device has sent is on its socket again).
    pub fn share(&self) -> Mbuf {
        self.pool().add_handle(self.f.idx());
        let copy = Fields::SHARE_COPY | (self.state() as u64) << Fields::SHARED_STATE;
        Mbuf {
            pool: self.pool,
            f: Fields(self.f.0 & !self.f.share_bits() | copy),
        }
    }

    /// Does another handle ([`Mbuf::share`]) on this buffer exist?
    pub fn is_shared(&self) -> bool {
        self.pool().is_shared(self.f.idx())
    }
}

/// The mbufs chained after the one whose link is `link` (not 0).
#[cold]
fn chained_count(pool: &Pool, mut link: u64) -> usize {
    let mut n = 0;
    while link != 0 {
        n += 1;
        link = pool.meta.next[Fields(link).idx() as usize].load(Ordering::Relaxed);
    }
    n
}

/// [`Mbuf::trim`] of the mbufs chained after buffer `at`: `left` of
/// their bytes stay, the mbufs past them are freed.
#[cold]
fn trim_chain(pool: PoolRef, mut at: u16, mut left: usize) {
    let next = &pool.get().meta.next;
    loop {
        let link = next[at as usize].load(Ordering::Relaxed);
        if link == 0 {
            return;
        }
        let f = Fields(link & !Fields::LINKED);
        if left == 0 {
            // The rest of the chain goes.
            next[at as usize].store(0, Ordering::Relaxed);
            drop(Mbuf { pool, f });
            return;
        }
        if f.len() as usize > left {
            let cut = f.window(f.head(), left as u16);
            next[at as usize].store(cut.0 | Fields::LINKED, Ordering::Relaxed);
        }
        left -= left.min(f.len() as usize);
        at = f.idx();
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // A chain goes with its head, one mbuf at a time (no recursion:
        // each is unlinked before it drops).
        let mut rest = self.take_next();
        let (f, pool) = (self.f, self.pool());
        pool.drop_handle(f.idx(), || {
            if f.has(Fields::SHARE_COPY) {
                let state = (f.0 >> Fields::SHARED_STATE) as u8;
                pool.meta.state[f.idx() as usize].store(state, Ordering::Relaxed);
            }
        });
        while let Some(mut m) = rest {
            rest = m.take_next();
        }
    }
}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Mbuf#{}[{}..+{}] {:?}",
            self.f.idx(),
            self.head(),
            self.len(),
            self.state()
        )
    }
}

/// The windows of a chain ([`Mbuf::pieces`]).
#[derive(Clone)]
pub struct Pieces<'a> {
    head: &'a Mbuf,
    /// The head's own window has been given.
    started: bool,
    /// The next chained mbuf's packed window (0: the end).
    link: u64,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if !self.started {
            self.started = true;
            return Some(self.head.data());
        }
        if self.link == 0 {
            return None;
        }
        let f = Fields(self.link & !Fields::LINKED);
        let pool = self.head.pool();
        self.link = pool.meta.next[f.idx() as usize].load(Ordering::Relaxed);
        // SAFETY: buffer `f.idx()` is chained after `head`, which owns it
        // (chained buffers are never shared); `head` is borrowed for 'a, so
        // nothing unlinks or writes it meanwhile.
        let buf = unsafe { &*pool.buf_ptr(f.idx()).cast::<[u8; MBUF_SIZE]>() };
        let (h, l) = (f.head() as usize, f.len() as usize);
        Some(&buf[h..h + l])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool<const N: usize>() -> &'static Pool {
        Box::leak(Box::new(Pool::<[Buf; N]>::new()))
    }

    #[test]
    fn window_moves() {
        let p = pool::<2>();
        let mut m = p.alloc().unwrap();
        assert_eq!((m.head(), m.len(), m.headroom()), (HEADROOM, 0, HEADROOM));
        m.append(4).unwrap().copy_from_slice(b"data");
        m.push(2).unwrap().copy_from_slice(b"hh");
        assert_eq!(m.data(), b"hhdata");
        m.pull(2).unwrap();
        assert_eq!(m.data(), b"data");
        m.unpull(2).unwrap();
        assert_eq!(m.data(), b"hhdata");
        m.trim(3);
        assert_eq!(m.data(), b"hhd");
        m.trim(100);
        assert_eq!(m.len(), 3);
        assert_eq!(m.pull(4), Err(NoRoom));
        assert_eq!(m.push(HEADROOM), Err(NoRoom));
        assert_eq!(m.tailroom(), MBUF_SIZE - HEADROOM + 2 - 3);
        assert_eq!(m.extend(m.tailroom() + 1), Err(NoRoom));
        m.extend(m.tailroom()).unwrap();
        assert_eq!(m.head() + m.len(), MBUF_SIZE);
    }

    #[test]
    fn only_frames_from_the_device_are_profiled() {
        let p = pool::<1>();
        let mut m = p.alloc().unwrap();
        m.stamp(RxStamp::Queued, 5);
        assert!(!m.profiled());
        assert_eq!(m.stamps(), [0; RX_STAMPS], "no arrival, no profile");
        m.stamp(RxStamp::Interrupt, 10);
        m.stamp(RxStamp::Stack, 11);
        m.stamp(RxStamp::Queued, 12);
        assert!(m.profiled());
        assert_eq!(m.stamps(), [10, 11, 12]);
        // The next frame in the buffer starts over: nothing of the last.
        m.reset();
        assert_eq!(m.stamps(), [0; RX_STAMPS]);
        m.stamp(RxStamp::Interrupt, 20);
        assert_eq!(m.stamps(), [20, 0, 0]);
        drop(m);
        let m = p.alloc().unwrap();
        assert_eq!(m.stamps(), [0; RX_STAMPS], "a fresh mbuf is not profiled");
    }

    #[test]
    fn push_emit_writes_a_whole_header_or_nothing() {
        use wire::udp::{UdpHeader, UdpHeaderRepr};
        let p = pool::<1>();
        let mut m = p.alloc().unwrap();
        let payload = b"abc";
        m.append(payload.len()).unwrap().copy_from_slice(payload);
        let header = UdpHeaderRepr {
            src_port: 1,
            dst_port: 2,
        };
        let pseudo = wire::emit::Ipv4PseudoHeader::new([10, 0, 0, 1], [10, 0, 0, 2]);
        m.push_emit(&header, pseudo).unwrap();
        assert_eq!(m.len(), UdpHeader::LEN + payload.len());
        // `parse` also checks the checksum `push_emit` filled in.
        let parsed = UdpHeader::parse(m.data(), pseudo.src, pseudo.dst).unwrap();
        assert_eq!(
            (parsed.header.repr(), parsed.payload),
            (header, &b"abc"[..])
        );
        assert!(wire::udp::checksum_ok(pseudo.src, pseudo.dst, m.data()));
        // No room left in front: refused, the window untouched.
        m.push(m.headroom()).unwrap();
        let before = (m.head(), m.len());
        assert_eq!(m.push_emit(&header, pseudo), Err(NoRoom));
        assert_eq!((m.head(), m.len()), before);
    }

    /// Copies the window of `m` with `copy_out`, as a driver or the stack
    /// would into kernel memory.
    fn copy(m: &Mbuf, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let k = m
            .copy_out(n, |b| {
                out.extend_from_slice(b);
                Ok::<(), ()>(())
            })
            .unwrap();
        assert_eq!(k, out.len());
        out
    }

    #[test]
    fn copy_out_counts_received_bytes() {
        let p = pool::<2>();
        let mut m = p.alloc().unwrap();
        m.append(5).unwrap().copy_from_slice(b"hello");
        // Built here to be sent: not a received byte.
        assert_eq!(copy(&m, 100), b"hello");
        assert_eq!((p.rx_bytes_copied(), p.rx_bytes_to_user()), (0, 0));
        // Received and copied before recvfrom: the copy the counter catches.
        m.mark_received();
        assert_eq!(copy(&m, 3), b"hel");
        assert_eq!((p.rx_bytes_copied(), p.rx_bytes_to_user()), (3, 0));
        // A failed copy (EFAULT) counts nothing.
        assert_eq!(m.copy_out(5, |_| Err("fault")), Err("fault"));
        assert_eq!(p.rx_bytes_copied(), 3);
        // Delivered by recvfrom: the expected copy to user space.
        m.mark_delivered();
        assert_eq!(copy(&m, 100), b"hello");
        assert_eq!((p.rx_bytes_copied(), p.rx_bytes_to_user()), (3, 5));
        let get = |name| p.counters().iter().find(|c| c.0 == name).unwrap().1;
        assert_eq!((get("rx_bytes_copied"), get("rx_bytes_to_user")), (3, 5));
        // A reset buffer holds nothing received any more.
        m.reset();
        m.append(2).unwrap();
        copy(&m, 2);
        assert_eq!((p.rx_bytes_copied(), p.rx_bytes_to_user()), (3, 5));
    }

    #[test]
    fn rx_complete_takes_the_frame_or_names_the_drop() {
        const HDR: usize = 12;
        let p = pool::<1>();
        let mut m = p.alloc().unwrap();
        m.set_state(MbufState::RxPosted);
        assert_eq!(m.rx_complete(HDR - 1, HDR), Err(DropReason::RxRunt));
        assert_eq!(m.state(), MbufState::InStack);
        m.reset();
        let room = m.tailroom();
        assert_eq!(m.rx_complete(room + 1, HDR), Err(DropReason::EthOversized));
        m.reset();
        m.set_state(MbufState::RxPosted);
        m.rx_complete(HDR + 60, HDR).unwrap();
        assert_eq!((m.len(), m.head()), (60, HEADROOM + HDR));
        assert_eq!(m.state(), MbufState::InStack);
        copy(&m, 60);
        assert_eq!(p.rx_bytes_copied(), 60, "marked received");
    }

    #[test]
    fn a_shared_buffer_returns_when_the_last_handle_drops() {
        let p = pool::<4>();
        let mut kept = p.alloc().unwrap();
        kept.append(5).unwrap().copy_from_slice(b"bytes");
        assert!(!kept.is_shared());
        let copy = kept.share();
        assert!(kept.is_shared() && copy.is_shared());
        assert_eq!((copy.index(), copy.data()), (kept.index(), &b"bytes"[..]));
        // One buffer taken, counted once.
        assert_eq!(p.free(), 3);
        assert_eq!(p.census().of(MbufState::Free), 3);
        drop(kept);
        assert_eq!(p.free(), 3, "the copy still holds it");
        assert!(!copy.is_shared());
        drop(copy);
        assert_eq!(p.free(), 4);
        assert_eq!(p.census().of(MbufState::Free), 4);
        // The count went back to 0: the next owner of the buffer is alone.
        let again: Vec<Mbuf> = (0..4).map(|_| p.alloc().unwrap()).collect();
        assert!(again.iter().all(|m| !m.is_shared()));
    }

    #[test]
    fn each_handle_has_its_own_window() {
        let p = pool::<2>();
        let mut kept = p.alloc().unwrap();
        kept.append(4).unwrap().copy_from_slice(b"data");
        let mut copy = kept.share();
        copy.push(2).unwrap().copy_from_slice(b"hh");
        assert_eq!(copy.data(), b"hhdata");
        assert_eq!(kept.data(), b"data");
        kept.pull(1).unwrap();
        assert_eq!((kept.data(), copy.data()), (&b"ata"[..], &b"hhdata"[..]));
        // A copy of a copy: three handles, one buffer.
        let third = copy.share();
        drop(copy);
        drop(kept);
        assert_eq!((p.free(), third.data()), (1, &b"hhdata"[..]));
        drop(third);
        assert_eq!(p.free(), 2);
    }

    #[test]
    fn a_dropped_copy_gives_the_buffer_its_state_back() {
        let p = pool::<2>();
        use MbufState::*;
        let census = |p: &Pool| {
            let c = p.census();
            [Free, InStack, RxPosted, Socket, ArpWait, TxInflight].map(|s| c.of(s))
        };
        let mut kept = p.alloc().unwrap();
        kept.set_state(Socket); // kept for retransmission
        let mut copy = kept.share();
        copy.set_state(TxInflight); // with the device
        assert_eq!(census(p), [1, 0, 0, 0, 0, 1]);
        drop(copy); // the device is done with it
        assert_eq!(census(p), [1, 0, 0, 1, 0, 0]);
        // Acknowledged while the device still has a copy: in flight until
        // the device gives it back.
        let mut copy = kept.share();
        copy.set_state(MbufState::TxInflight);
        drop(kept);
        assert_eq!(census(p), [1, 0, 0, 0, 0, 1]);
        drop(copy);
        assert_eq!(census(p), [2, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn a_chain_is_read_copied_moved_and_freed_whole() {
        let p = pool::<4>();
        let mut parts: Vec<Mbuf> = [&b"hello "[..], b"chained ", b"world"]
            .iter()
            .map(|b| {
                let mut m = p.alloc().unwrap();
                m.append(b.len()).unwrap().copy_from_slice(b);
                m
            })
            .collect();
        let mut head = parts.remove(0);
        for m in parts {
            head.chain(m);
        }
        assert!(head.is_chained());
        assert_eq!((head.chain_len(), head.chain_count(), p.free()), (19, 3, 1));
        let joined: Vec<u8> = head.pieces().flatten().copied().collect();
        assert_eq!(joined, b"hello chained world");
        // Copied out piece by piece, received bytes counted once each.
        head.mark_received();
        head.mark_delivered();
        let mut out = Vec::new();
        let n = head
            .copy_out(10, |b| {
                out.extend_from_slice(b);
                Ok::<(), ()>(())
            })
            .unwrap();
        assert_eq!((n, &out[..]), (10, &b"hello chai"[..]));
        assert_eq!(p.rx_bytes_to_user(), 10);
        // The state moves with the head.
        head.set_state(MbufState::Socket);
        assert_eq!(p.census().of(MbufState::Socket), 3);
        // Unlinked, the rest is its own chain.
        let rest = head.take_next().unwrap();
        assert!(!head.is_chained());
        assert_eq!((head.chain_len(), rest.chain_len()), (6, 13));
        head.chain(rest);
        // Cut inside the second piece: the third goes back to the pool.
        head.trim(10);
        let joined: Vec<u8> = head.pieces().flatten().copied().collect();
        assert_eq!(
            (&joined[..], head.chain_count(), p.free()),
            (&b"hello chai"[..], 2, 2)
        );
        head.trim(3);
        assert_eq!(
            (head.data(), head.is_chained(), p.free()),
            (&b"hel"[..], false, 3)
        );
        let mut again = p.alloc().unwrap();
        again.append(1).unwrap();
        head.chain(again);
        drop(head);
        assert_eq!(p.free(), 4, "the head frees the whole chain");
        assert!(p.alloc().is_some_and(|m| !m.is_chained()));
    }

    #[test]
    fn reset_keeps_a_copy_a_copy() {
        let p = pool::<1>();
        let mut kept = p.alloc().unwrap();
        kept.set_state(MbufState::Socket);
        let mut copy = kept.share();
        copy.set_state(MbufState::InStack);
        copy.reset();
        drop(copy);
        assert_eq!(kept.state(), MbufState::Socket);
    }

    #[test]
    fn handles_dropped_on_many_threads() {
        let p = pool::<64>();
        let hs: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        let Some(m) = p.alloc() else { continue };
                        let copies: Vec<Mbuf> = (0..3).map(|_| m.share()).collect();
                        let t = std::thread::spawn(move || drop(copies));
                        drop(m);
                        t.join().unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(p.free(), 64);
        assert_eq!(p.census().of(MbufState::Free), 64);
    }
}
