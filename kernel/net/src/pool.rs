//! The mbuf pool: a bounded set of [`Buf`]s handed out as [`Mbuf`]s.
//!
//! It is an atomic bitmap (one bit per buffer, set = in use), so the
//! RX interrupt handler, the timer and system calls on any hart can allocate
//! and free without a platform lock.
//!
//! The pool also knows where each buffer is ([`MbufState`]: free, posted to
//! the device, on the way through the stack, queued on a socket, waiting for
//! ARP, in flight on TX): whoever hands an mbuf over records it with
//! [`Mbuf::set_state`], one relaxed store of a byte, and [`Pool::census`]
//! counts the states for `netstat`. Since every buffer is in exactly one
//! state, the census always adds up to the total; what it tells is *where*
//! buffers are, e.g. that none is left on a socket or in the ARP cache once
//! traffic has drained.

use core::cell::UnsafeCell;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use crate::mbuf::{Mbuf, MBUF_SIZE, RX_STAMPS};

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

/// Where a buffer is. Each hand-over of an [`Mbuf`] records the new place
/// with [`Mbuf::set_state`]; [`Pool::census`] counts them.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MbufState {
    /// In the pool, owned by no `Mbuf` (`mbufs_free`).
    Free = 0,
    /// Owned by code on its way through, in no queue: the stack while it
    /// handles a frame, a system call filling or copying one, the driver
    /// between ring and stack (`mbufs_in_stack`; transient).
    InStack,
    /// Posted to the device to receive a frame into (`mbufs_rx_posted`).
    RxPosted,
    /// Queued on a socket (`mbufs_socket`): a datagram for `recvfrom`,
    /// TCP bytes received (in order or not) until read, or TCP bytes kept
    /// for retransmission until acknowledged.
    Socket,
    /// Queued in the ARP cache until the next hop resolves
    /// (`mbufs_arp_wait`).
    ArpWait,
    /// Handed to the device to send, not yet given back
    /// (`mbufs_tx_inflight`).
    TxInflight,
    /// An IPv4 fragment held until its datagram is whole
    /// (`mbufs_reassembly`).
    Reassembly,
}

impl MbufState {
    /// A state as stored in the pool (only ever a valid one; anything else
    /// would be shown as held in the stack).
    pub(crate) fn from_raw(v: u8) -> MbufState {
        Self::ALL
            .get(v as usize)
            .copied()
            .unwrap_or(MbufState::InStack)
    }

    const ALL: [MbufState; 7] = [
        MbufState::Free,
        MbufState::InStack,
        MbufState::RxPosted,
        MbufState::Socket,
        MbufState::ArpWait,
        MbufState::TxInflight,
        MbufState::Reassembly,
    ];
}

/// How many buffers are in each [`MbufState`] (a snapshot taken without a
/// lock: buffers changing hands while it is taken may show in either
/// place, but each is counted once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Census([usize; MbufState::ALL.len()]);

impl Census {
    /// The number in state `s`.
    pub fn of(&self, s: MbufState) -> usize {
        self.0[s as usize]
    }
}

/// Counters [`Pool::counters`] exports.
pub const POOL_COUNTERS: usize = 11;

/// A bounded pool of buffers. Declare one with a fixed size, e.g.
/// `static POOL: Pool<[Buf; 512]> = Pool::new();`, and use it as
/// `&'static Pool` (the unsized form).
///
/// `repr(C)` puts the sized `PoolMeta` first, at the pool's address, so
/// an [`Mbuf`] keeps a thin pointer to it (16 bytes in all, two registers
/// when layers hand it on) and rebuilds `&Pool` from the count stored there.
#[repr(C)]
pub struct Pool<B: ?Sized = [Buf]> {
    pub(crate) meta: PoolMeta,
    bufs: B,
}

/// Everything of a pool but its buffers.
pub(crate) struct PoolMeta {
    /// Bit i of word w set = buffer 64*w+i is owned by an `Mbuf`.
    used: [AtomicU64; WORDS],
    /// The [`MbufState`] of each buffer, written only by its owner (`Free`
    /// is 0, so an idle pool is all zeros and a `static` one lands in .bss).
    pub(crate) state: [AtomicU8; MAX_MBUFS],
    /// When each buffer's current frame passed each
    /// [`RxStamp`](crate::mbuf::RxStamp) (0 = not passed), written only by
    /// its owner; the kernel's receive-path profile reads them.
    pub(crate) stamps: [[AtomicU64; RX_STAMPS]; MAX_MBUFS],
    /// How many handles each buffer has besides the first ([`Mbuf::share`]
    /// adds one, dropping a handle takes one off; the last one frees it).
    /// 0 for a buffer owned by one `Mbuf`, so allocating never writes it.
    /// 32 bits: a count that could wrap would free a buffer still in use,
    /// and 2^32 handles cannot exist (each is 16 bytes).
    shares: [AtomicU32; MAX_MBUFS],
    /// The mbuf that follows each buffer's in a chain ([`Mbuf::chain`]):
    /// its packed window and flags, marked linked; 0 for none. Written only
    /// by the chain's owner.
    pub(crate) next: [AtomicU64; MAX_MBUFS],
    /// Allocations that failed because the pool was empty.
    exhausted: AtomicU64,
    /// Received bytes copied out of an mbuf before `recvfrom` took it.
    pub(crate) rx_copied: AtomicU64,
    /// Received bytes `recvfrom` copied to user space.
    pub(crate) rx_to_user: AtomicU64,
    /// Number of buffers (`bufs.len()`), where a thin pointer can read it.
    pub(crate) total: usize,
}

// SAFETY: the bitmap hands each buffer to at most one owner at a time
// (compare-exchange on its bit): one `Mbuf`, or the handles `Mbuf::share`
// made from it, which keep to the rule `share` states (the shared bytes are
// only read); only they touch the bytes, so sharing the pool between harts
// and interrupt handlers is sound.
unsafe impl<B: ?Sized> Sync for Pool<B> {}

impl<const N: usize> Pool<[Buf; N]> {
    /// A pool of `N` free buffers (`N` at most [`MAX_MBUFS`]).
    pub const fn new() -> Self {
        assert!(N > 0 && N <= MAX_MBUFS);
        Pool {
            meta: PoolMeta {
                used: [const { AtomicU64::new(0) }; WORDS],
                state: [const { AtomicU8::new(MbufState::Free as u8) }; MAX_MBUFS],
                stamps: [const { [const { AtomicU64::new(0) }; RX_STAMPS] }; MAX_MBUFS],
                shares: [const { AtomicU32::new(0) }; MAX_MBUFS],
                next: [const { AtomicU64::new(0) }; MAX_MBUFS],
                exhausted: AtomicU64::new(0),
                rx_copied: AtomicU64::new(0),
                rx_to_user: AtomicU64::new(0),
                total: N,
            },
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
        self.meta.total
    }

    /// Buffers not owned by any `Mbuf` right now.
    pub fn free(&self) -> usize {
        let used: u32 = self
            .meta
            .used
            .iter()
            .map(|w| w.load(Ordering::Relaxed).count_ones())
            .sum();
        self.total() - used as usize
    }

    /// Allocations refused because the pool was empty.
    pub fn exhausted(&self) -> u64 {
        self.meta.exhausted.load(Ordering::Relaxed)
    }

    /// Received bytes copied before `recvfrom` (see [`Mbuf::copy_out`]).
    pub fn rx_bytes_copied(&self) -> u64 {
        self.meta.rx_copied.load(Ordering::Relaxed)
    }

    /// Received bytes `recvfrom` copied to user space.
    pub fn rx_bytes_to_user(&self) -> u64 {
        self.meta.rx_to_user.load(Ordering::Relaxed)
    }

    /// How many buffers are in each state.
    pub fn census(&self) -> Census {
        let mut c = Census::default();
        for st in &self.meta.state[..self.total()] {
            c.0[MbufState::from_raw(st.load(Ordering::Relaxed)) as usize] += 1;
        }
        c
    }

    /// The pool's counters for `netstat`, by name: the size, the census,
    /// refused allocations and the copy counters.
    pub fn counters(&self) -> [(&'static str, u64); POOL_COUNTERS] {
        let c = self.census();
        let n = |s| c.of(s) as u64;
        [
            ("mbufs_total", self.total() as u64),
            ("mbufs_free", n(MbufState::Free)),
            ("mbufs_rx_posted", n(MbufState::RxPosted)),
            ("mbufs_in_stack", n(MbufState::InStack)),
            ("mbufs_socket", n(MbufState::Socket)),
            ("mbufs_arp_wait", n(MbufState::ArpWait)),
            ("mbufs_tx_inflight", n(MbufState::TxInflight)),
            ("mbufs_reassembly", n(MbufState::Reassembly)),
            ("mbufs_exhausted", self.exhausted()),
            ("rx_bytes_copied", self.rx_bytes_copied()),
            ("rx_bytes_to_user", self.rx_bytes_to_user()),
        ]
    }

    /// Takes a free buffer, its window empty at [`HEADROOM`](crate::HEADROOM); `None` when
    /// every buffer is in use.
    pub fn alloc(&'static self) -> Option<Mbuf> {
        let n = self.bufs.len();
        for (w, word) in self.meta.used.iter().enumerate() {
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
                        let idx = base + bit as usize;
                        self.meta.state[idx].store(MbufState::InStack as u8, Ordering::Relaxed);
                        return Some(Mbuf::fresh(PoolRef::new(self), idx as u16));
                    }
                    Err(now) => cur = now,
                }
            }
        }
        self.meta.exhausted.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// One more handle on buffer `idx` (made by [`Mbuf::share`] from one
    /// that exists, so the count cannot be falling to "free" meanwhile).
    pub(crate) fn add_handle(&self, idx: u16) {
        // Relaxed as in `Arc::clone`: the new handle is made from an
        // existing one, which already orders the accesses before it.
        self.meta.shares[idx as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Does buffer `idx` have more than one handle?
    pub(crate) fn is_shared(&self, idx: u16) -> bool {
        self.meta.shares[idx as usize].load(Ordering::Relaxed) != 0
    }

    /// A handle on buffer `idx` is dropped: the buffer goes back to the pool
    /// when it was the last one (returns true). `before_last` runs first
    /// when other handles remain, while the buffer is certainly still
    /// theirs (a dropping copy gives the census back their state).
    pub(crate) fn drop_handle(&self, idx: u16, before_last: impl FnOnce()) -> bool {
        let shares = &self.meta.shares[idx as usize];
        // Acquire: when it reads 0 after another handle's decrement, that
        // handle's last accesses to the bytes come before the buffer is
        // handed to its next owner.
        let mut n = shares.load(Ordering::Acquire);
        if n != 0 {
            before_last();
        }
        while n != 0 {
            // Release: this handle's accesses come before whoever frees it.
            match shares.compare_exchange_weak(n, n - 1, Ordering::Release, Ordering::Acquire) {
                Ok(_) => return false,
                Err(now) => n = now,
            }
        }
        self.release(idx);
        true
    }

    pub(crate) fn release(&self, idx: u16) {
        // The state is written before the bit is cleared (Release), so the
        // next owner's `InStack` (after its Acquire) cannot be overwritten.
        self.meta.state[idx as usize].store(MbufState::Free as u8, Ordering::Relaxed);
        let (w, bit) = (idx as usize / 64, idx as usize % 64);
        let old = self.meta.used[w].fetch_and(!(1 << bit), Ordering::Release);
        debug_assert!(old & (1 << bit) != 0, "mbuf {idx} freed twice");
    }

    pub(crate) fn buf_ptr(&self, idx: u16) -> *mut u8 {
        self.bufs[idx as usize].0.get().cast()
    }
}

/// A `&'static Pool` in thin form (8 bytes, not 16): what an [`Mbuf`]
/// keeps.
#[derive(Clone, Copy)]
pub(crate) struct PoolRef(NonNull<PoolMeta>);

// SAFETY: a `PoolRef` is only ever a `&'static Pool` (`new`), which is
// `Send` and `Sync` because `Pool` is `Sync`.
unsafe impl Send for PoolRef {}
// SAFETY: as for `Send`.
unsafe impl Sync for PoolRef {}

impl PoolRef {
    pub(crate) fn new(pool: &'static Pool) -> PoolRef {
        PoolRef(NonNull::from(pool).cast())
    }

    /// The pool again.
    #[inline(always)]
    pub(crate) fn get(self) -> &'static Pool {
        let meta = self.0.as_ptr();
        // SAFETY: `meta` was made from a `&'static Pool` (`new`), keeping
        // its provenance, and `repr(C)` puts `PoolMeta` at the pool's
        // address; its `total` is the length of `bufs`, so the fat pointer
        // rebuilt with it is the reference `new` took.
        unsafe {
            let total = (*meta).total;
            &*(ptr::slice_from_raw_parts(meta.cast::<Buf>(), total) as *const Pool)
        }
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
        assert_eq!(p.census().of(MbufState::Free), 512);
    }

    #[test]
    fn census_follows_hand_overs() {
        let p = pool::<8>();
        let census = |p: &Pool| {
            let c = p.census();
            MbufState::ALL.map(|s| c.of(s))
        };
        assert_eq!(census(p), [8, 0, 0, 0, 0, 0, 0]);
        let mut v: Vec<Mbuf> = (0..6).map(|_| p.alloc().unwrap()).collect();
        assert_eq!(census(p), [2, 6, 0, 0, 0, 0, 0]);
        let order = [
            MbufState::RxPosted,
            MbufState::RxPosted,
            MbufState::Socket,
            MbufState::ArpWait,
            MbufState::TxInflight,
        ];
        for (m, s) in v.iter_mut().zip(order) {
            m.set_state(s);
            assert_eq!(m.state(), s);
        }
        // free, in stack, RX posted, socket, ARP, TX
        assert_eq!(census(p), [2, 1, 2, 1, 1, 1, 0]);
        v[0].set_state(MbufState::Free); // refused: only dropping frees
        assert_eq!(v[0].state(), MbufState::RxPosted);
        v[2].set_state(MbufState::InStack);
        assert_eq!(census(p), [2, 2, 2, 0, 1, 1, 0]);
        v.truncate(2);
        assert_eq!(census(p), [6, 0, 2, 0, 0, 0, 0]);
        drop(v);
        assert_eq!(census(p), [8, 0, 0, 0, 0, 0, 0]);
        let names: Vec<_> = p.counters().iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&"mbufs_socket") && names.contains(&"mbufs_arp_wait"));
        assert_eq!(p.counters()[0], ("mbufs_total", 8));
    }
}
