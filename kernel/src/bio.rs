//! Buffer cache.
//!
//! The buffer cache holds cached copies of disk block contents in a fixed
//! set of `NBUF` buffers. Caching disk blocks in memory reduces the number
//! of disk reads and also provides a synchronization point for disk blocks
//! used by multiple processes.
//!
//! Interface:
//! * To get a buffer for a particular disk block, call [`bread`].
//! * After changing buffer data, call [`bwrite`] to write it to disk.
//! * When done with the buffer, drop it (or call [`brelse`]).
//! * Do not use the buffer after dropping it.
//! * Only one process at a time can use a buffer, so do not keep them
//!   longer than necessary.
//!
//! Each buffer's bytes sit behind its own sleep lock (held for as long as a
//! [`Buf`] exists, across disk I/O); which block a buffer caches, how many
//! references it has and its age for LRU replacement sit under the
//! `BCACHE` spin lock. A buffer with `refcnt == 0` is not sleep-locked by
//! anyone, so it may be recycled for another block.

use core::mem::ManuallyDrop;

use abi::fs::BSIZE;

use crate::param::NBUF;
use crate::sleeplock::{Sleeplock, SleeplockGuard};
use crate::spinlock::Spinlock;
use crate::virtio_blk;

/// What the cache knows about each buffer. Guarded by `BCACHE`.
#[derive(Clone, Copy)]
struct BufMeta {
    dev: u32,
    blockno: u32,
    /// Holders of a `Buf` for this slot, plus pins from the log.
    refcnt: u32,
    /// Has the data been read from disk? Cleared when the slot is
    /// recycled (refcnt 0), set by the sleep-lock holder after reading.
    valid: bool,
    /// When the buffer was last released: the least recently used free
    /// buffer is recycled first.
    lastuse: u64,
}

struct Bcache {
    meta: [BufMeta; NBUF],
    /// Release counter for LRU order.
    clock: u64,
}

static BCACHE: Spinlock<Bcache> = Spinlock::new(
    "bcache",
    Bcache {
        meta: [BufMeta {
            dev: 0,
            blockno: 0,
            refcnt: 0,
            valid: false,
            lastuse: 0,
        }; NBUF],
        clock: 0,
    },
);

/// The block contents. Kernel RAM is direct-mapped, so this array's address
/// is also the physical address the disk DMAs to. Aligned so a block can be
/// viewed in place as an on-disk structure of `u32`s (`IndirectBlock`).
#[repr(C, align(8))]
pub struct BufData {
    pub data: [u8; BSIZE],
}

static BUFS: [Sleeplock<BufData>; NBUF] =
    [const { Sleeplock::new("buffer", BufData { data: [0; BSIZE] }) }; NBUF];

/// A locked buffer holding one disk block. Dropping it is `brelse`.
pub struct Buf {
    idx: usize,
    dev: u32,
    blockno: u32,
    guard: ManuallyDrop<SleeplockGuard<'static, BufData>>,
}

impl Buf {
    pub fn dev(&self) -> u32 {
        self.dev
    }
    pub fn blockno(&self) -> u32 {
        self.blockno
    }
    pub fn data(&self) -> &[u8; BSIZE] {
        &self.guard.data
    }
    pub fn data_mut(&mut self) -> &mut [u8; BSIZE] {
        &mut self.guard.data
    }
}

/// The statics are const-initialised; kept for xv6's boot sequence.
pub fn binit() {}

/// Looks through the cache for block `blockno` on device `dev`; if not
/// found, recycles the least recently used free buffer. Either way returns
/// the buffer sleep-locked. Panics if every buffer is in use, as xv6 does
/// (the log bounds how many one operation may hold).
fn bget(dev: u32, blockno: u32) -> Buf {
    let idx = {
        let mut bc = BCACHE.lock();
        // Is the block already cached? (A slot with refcnt 0 that is not
        // valid holds nothing.)
        let cached =
            |m: &BufMeta| m.dev == dev && m.blockno == blockno && (m.refcnt > 0 || m.valid);
        if let Some(i) = bc.meta.iter().position(cached) {
            bc.meta[i].refcnt += 1;
            i
        } else {
            // Not cached: recycle the least recently used unused buffer.
            let i = (0..NBUF)
                .filter(|&i| bc.meta[i].refcnt == 0)
                .min_by_key(|&i| bc.meta[i].lastuse)
                .unwrap_or_else(|| panic!("bget: no buffers"));
            bc.meta[i] = BufMeta {
                dev,
                blockno,
                refcnt: 1,
                valid: false,
                lastuse: bc.meta[i].lastuse,
            };
            i
        }
    };
    // The spin lock is released: taking the sleep lock may sleep.
    let guard = BUFS[idx].lock();
    Buf {
        idx,
        dev,
        blockno,
        guard: ManuallyDrop::new(guard),
    }
}

/// Returns a locked buffer with the contents of the indicated block.
pub fn bread(dev: u32, blockno: u32) -> Buf {
    let mut b = bget(dev, blockno);
    // Only the sleep-lock holder sets `valid`, so reading it, doing the I/O
    // and setting it cannot race with another reader of this block.
    let valid = BCACHE.lock().meta[b.idx].valid;
    if !valid {
        virtio_blk::rw(blockno, &mut b.guard.data, false);
        BCACHE.lock().meta[b.idx].valid = true;
    }
    b
}

/// Writes b's contents to disk. Must hold the buffer (we do: `&mut Buf`).
pub fn bwrite(b: &mut Buf) {
    let blockno = b.blockno;
    virtio_blk::rw(blockno, &mut b.guard.data, true);
}

/// Releases a locked buffer (same as dropping it).
pub fn brelse(b: Buf) {
    drop(b);
}

impl Drop for Buf {
    fn drop(&mut self) {
        // Release the sleep lock first: refcnt 0 must imply "unlocked".
        // SAFETY: the guard is dropped exactly once, here, and not used after.
        unsafe { ManuallyDrop::drop(&mut self.guard) };
        let mut bc = BCACHE.lock();
        bc.clock += 1;
        let clock = bc.clock;
        let m = &mut bc.meta[self.idx];
        m.refcnt -= 1;
        if m.refcnt == 0 {
            // No one is waiting for it: it is now the most recently used.
            m.lastuse = clock;
        }
    }
}

/// Keeps the block in the cache after its `Buf` is dropped (the log pins
/// blocks it must write back at commit).
pub fn bpin(b: &Buf) {
    BCACHE.lock().meta[b.idx].refcnt += 1;
}

/// Undoes a `bpin`.
pub fn bunpin(b: &Buf) {
    BCACHE.lock().meta[b.idx].refcnt -= 1;
}
