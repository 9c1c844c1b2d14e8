//! mbufs: fixed-size packet buffers from a bounded, lock-free pool.
//!
//! Every frame the stack sees lives in one [`Mbuf`]: a 2048-byte buffer
//! taken from a [`Pool`] plus a window (`head`, `len`) onto the bytes that
//! are the current packet. Layers strip their header on receive by moving
//! the window forward ([`Mbuf::pull`]) and add one on transmit by moving it
//! back into the headroom ([`Mbuf::push`]); the bytes never move. An `Mbuf`
//! is an owned value: dropping it gives the buffer back to its pool, so a
//! leak shows in [`Pool::free`] and a double free cannot be written.
//!
//! The pool is an atomic bitmap (one bit per buffer, set = in use), so the
//! RX interrupt handler, the timer and system calls on any hart can allocate
//! and free without a platform lock.
//!
//! DMA: kernel memory is identity-mapped, so [`Mbuf::tail_ptr`] is the
//! address a device may write the next bytes to. The virtio driver posts
//! `tail_ptr()`/`tailroom()` of a fresh mbuf, and after the device reports
//! `n` bytes calls [`Mbuf::extend`]`(n)`. Fresh mbufs start with
//! [`HEADROOM`] bytes in front, so a received packet can be turned into a
//! reply (ICMP echo, port unreachable) in place, with room for the longer
//! headers.

use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use wire::dispatch::ETHERNET_MAX_HEADERS;
use wire::ethernet::EthernetHeader;
use wire::icmpv4::{Icmpv4DestUnreachable, Icmpv4Header};
use wire::ipv4::Ipv4Header;
use wire::virtio_net::VirtioNetHdr;
use wire::Emit;

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
/// The most buffers a pool can have (the size of the bitmap).
pub const MAX_MBUFS: usize = 512;
const WORDS: usize = MAX_MBUFS / 64;

/// One packet buffer. Cache-line aligned so DMA and CPU writes to
/// neighbouring buffers never share a line.
#[repr(C, align(64))]
pub struct Buf(UnsafeCell<[u8; MBUF_SIZE]>);

impl Buf {
    pub const fn new() -> Self {
        Buf(UnsafeCell::new([0; MBUF_SIZE]))
    }
}

impl Default for Buf {
    fn default() -> Self {
        Self::new()
    }
}

/// A bounded pool of buffers. Declare one with a fixed size, e.g.
/// `static POOL: Pool<[Buf; 512]> = Pool::new();`, and use it as
/// `&'static Pool` (the unsized form every `Mbuf` points to).
pub struct Pool<B: ?Sized = [Buf]> {
    /// Bit i of word w set = buffer 64*w+i is owned by an `Mbuf`.
    used: [AtomicU64; WORDS],
    /// Buffers owned by an `Mbuf` (counted rather than the free ones so an
    /// empty pool is all zeros and a `static` pool lands in .bss).
    nused: AtomicUsize,
    /// Allocations that failed because the pool was empty.
    exhausted: AtomicU64,
    bufs: B,
}

// SAFETY: the bitmap hands each buffer to at most one `Mbuf` at a time
// (compare-exchange on its bit), and only that `Mbuf` touches the bytes, so
// sharing the pool between harts and interrupt handlers is sound.
unsafe impl<B: ?Sized> Sync for Pool<B> {}

impl<const N: usize> Pool<[Buf; N]> {
    /// A pool of `N` free buffers (`N` at most [`MAX_MBUFS`]).
    pub const fn new() -> Self {
        assert!(N > 0 && N <= MAX_MBUFS);
        Pool {
            used: [const { AtomicU64::new(0) }; WORDS],
            nused: AtomicUsize::new(0),
            exhausted: AtomicU64::new(0),
            bufs: [const { Buf::new() }; N],
        }
    }
}

impl<const N: usize> Default for Pool<[Buf; N]> {
    fn default() -> Self {
        Self::new()
    }
}

impl Pool {
    /// Number of buffers in the pool.
    pub fn total(&self) -> usize {
        self.bufs.len()
    }

    /// Buffers not owned by any `Mbuf` right now.
    pub fn free(&self) -> usize {
        self.total() - self.nused.load(Ordering::Relaxed)
    }

    /// Allocations refused because the pool was empty.
    pub fn exhausted(&self) -> u64 {
        self.exhausted.load(Ordering::Relaxed)
    }

    /// Takes a free buffer, its window empty at [`HEADROOM`]; `None` when
    /// every buffer is in use.
    pub fn alloc(&'static self) -> Option<Mbuf> {
        let n = self.bufs.len();
        for (w, word) in self.used.iter().enumerate() {
            let base = w * 64;
            if base >= n {
                break;
            }
            // Bits past the end of the pool count as used.
            let valid = if n - base >= 64 {
                u64::MAX
            } else {
                (1u64 << (n - base)) - 1
            };
            let mut cur = word.load(Ordering::Relaxed);
            loop {
                let free = !cur & valid;
                if free == 0 {
                    break;
                }
                let bit = free.trailing_zeros();
                match word.compare_exchange_weak(
                    cur,
                    cur | (1 << bit),
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        self.nused.fetch_add(1, Ordering::Relaxed);
                        return Some(Mbuf {
                            pool: self,
                            idx: (base + bit as usize) as u16,
                            head: HEADROOM as u16,
                            len: 0,
                        });
                    }
                    Err(now) => cur = now,
                }
            }
        }
        self.exhausted.fetch_add(1, Ordering::Relaxed);
        None
    }

    fn release(&self, idx: u16) {
        let (w, bit) = (idx as usize / 64, idx as usize % 64);
        let old = self.used[w].fetch_and(!(1 << bit), Ordering::Release);
        debug_assert!(old & (1 << bit) != 0, "mbuf {idx} freed twice");
        self.nused.fetch_sub(1, Ordering::Relaxed);
    }

    fn buf_ptr(&self, idx: u16) -> *mut u8 {
        self.bufs[idx as usize].0.get().cast()
    }
}

/// The window was asked to move past either end of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoRoom;

/// An owned packet buffer; returns to its pool when dropped.
///
/// INVARIANT: the pool's bit for `idx` is set while this value exists and
/// `head + len <= MBUF_SIZE`.
pub struct Mbuf {
    pool: &'static Pool,
    idx: u16,
    head: u16,
    len: u16,
}

impl Mbuf {
    fn buf(&self) -> &[u8; MBUF_SIZE] {
        // SAFETY: this Mbuf owns buffer `idx` (its bit is set), so no one
        // else reads or writes it while we hold `&self`.
        unsafe { &*self.pool.buf_ptr(self.idx).cast::<[u8; MBUF_SIZE]>() }
    }

    fn buf_mut(&mut self) -> &mut [u8; MBUF_SIZE] {
        // SAFETY: as in `buf`, and `&mut self` makes the access exclusive.
        unsafe { &mut *self.pool.buf_ptr(self.idx).cast::<[u8; MBUF_SIZE]>() }
    }

    /// The packet bytes (the window).
    pub fn data(&self) -> &[u8] {
        let (h, l) = (self.head as usize, self.len as usize);
        &self.buf()[h..h + l]
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        let (h, l) = (self.head as usize, self.len as usize);
        &mut self.buf_mut()[h..h + l]
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Offset of the window in the buffer.
    pub fn head(&self) -> usize {
        self.head as usize
    }

    /// Free bytes in front of the window.
    pub fn headroom(&self) -> usize {
        self.head as usize
    }

    /// Free bytes after the window.
    pub fn tailroom(&self) -> usize {
        MBUF_SIZE - self.head as usize - self.len as usize
    }

    /// Grows the window `n` bytes to the front (adding a header) and returns
    /// those bytes, zeroed.
    pub fn push(&mut self, n: usize) -> Result<&mut [u8], NoRoom> {
        if n > self.headroom() {
            return Err(NoRoom);
        }
        self.head -= n as u16;
        self.len += n as u16;
        let h = self.head as usize;
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

    /// Grows the window `n` bytes to the front keeping what is there (the
    /// header a previous `pull` stripped).
    pub fn unpull(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.headroom() {
            return Err(NoRoom);
        }
        self.head -= n as u16;
        self.len += n as u16;
        Ok(())
    }

    /// Empties the window and puts it back at [`HEADROOM`], as a fresh
    /// mbuf (a driver reusing a buffer it could not replace).
    pub fn reset(&mut self) {
        self.head = HEADROOM as u16;
        self.len = 0;
    }

    /// Drops `n` bytes from the front of the window (stripping a header).
    pub fn pull(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.len() {
            return Err(NoRoom);
        }
        self.head += n as u16;
        self.len -= n as u16;
        Ok(())
    }

    /// Shortens the window to `len` bytes (removing link padding); a no-op
    /// when it is already that short.
    pub fn trim(&mut self, len: usize) {
        if len < self.len() {
            self.len = len as u16;
        }
    }

    /// Grows the window `n` bytes at the end and returns them (for copying a
    /// payload in). Their contents are whatever the buffer held.
    pub fn append(&mut self, n: usize) -> Result<&mut [u8], NoRoom> {
        let end = self.head as usize + self.len as usize;
        self.extend(n)?;
        Ok(&mut self.buf_mut()[end..end + n])
    }

    /// Grows the window `n` bytes at the end, e.g. after a device wrote
    /// them at [`Mbuf::tail_ptr`].
    pub fn extend(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.tailroom() {
            return Err(NoRoom);
        }
        self.len += n as u16;
        Ok(())
    }

    /// Address of the first byte after the window, for a device to write to
    /// (at most `tailroom()` bytes). Kernel memory is identity-mapped, so
    /// this is also the DMA address.
    pub fn tail_ptr(&mut self) -> *mut u8 {
        let end = self.head as usize + self.len as usize;
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
        self.idx as usize
    }

    /// The pool this buffer came from.
    pub fn pool(&self) -> &'static Pool {
        self.pool
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        self.pool.release(self.idx);
    }
}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mbuf#{}[{}..+{}]", self.idx, self.head, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool<const N: usize>() -> &'static Pool {
        Box::leak(Box::new(Pool::<[Buf; N]>::new()))
    }

    #[test]
    fn alloc_until_empty_then_free() {
        let p = pool::<70>();
        assert_eq!((p.free(), p.total()), (70, 70));
        let mut v: Vec<Mbuf> = (0..70).map(|_| p.alloc().unwrap()).collect();
        assert_eq!(p.free(), 0);
        assert!(p.alloc().is_none());
        assert_eq!(p.exhausted(), 1);
        let mut idx: Vec<usize> = v.iter().map(|m| m.index()).collect();
        idx.sort();
        idx.dedup();
        assert_eq!(idx.len(), 70);
        v.truncate(10);
        assert_eq!(p.free(), 60);
        drop(v);
        assert_eq!(p.free(), 70);
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
        let pseudo = wire::emit::Ipv4PseudoHeader {
            src: [10, 0, 0, 1],
            dst: [10, 0, 0, 2],
        };
        m.push_emit(&header, pseudo).unwrap();
        assert_eq!(m.len(), UdpHeader::LEN + payload.len());
        let parsed = UdpHeader::parse(m.data()).unwrap();
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

    #[test]
    fn many_threads() {
        let p = pool::<512>();
        let hs: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    for _ in 0..2000 {
                        let a: Vec<Mbuf> = (0..100).filter_map(|_| p.alloc()).collect();
                        assert_eq!(a.len(), 100);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(p.free(), 512);
    }
}
