//! The in-order receive queue of one connection: the segments that
//! continue the byte stream, each still in the mbuf the device wrote (the
//! window on its payload), until `recv` copies them out.
//!
//! Bounded twice: in bytes (what the receive window offers) and in
//! segments ([`RCVQ_SEGS`]), since every queued segment holds a whole
//! buffer of the pool however few bytes it carries. The window the
//! connection advertises is what both bounds still allow
//! (`RecvQueue::space`), so a peer that respects it never finds the
//! queue full; one that does not has its segment dropped.

use abi::Errno;

use super::CopyOut;
use crate::mbuf::{Mbuf, MbufState};

/// Segments one connection queues in order.
pub const RCVQ_SEGS: usize = 48;
/// Bytes one connection queues in order: the most it advertises.
pub const RCV_BUF: usize = 64 * 1024;

pub(crate) struct RecvQueue {
    segs: [Option<Mbuf>; RCVQ_SEGS],
    /// Index of the oldest segment.
    head: usize,
    count: usize,
    bytes: usize,
}

impl RecvQueue {
    pub(crate) const fn new() -> RecvQueue {
        RecvQueue {
            segs: [const { None }; RCVQ_SEGS],
            head: 0,
            count: 0,
            bytes: 0,
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Segments (mbufs) held.
    pub(crate) fn segs(&self) -> usize {
        self.count
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The window to offer: bytes still free, and no more than the free
    /// segment slots can hold in segments of `mss` bytes, less one slot:
    /// a peer sends a window as full segments of its own size (a little
    /// less than `mss` with options) and a last, partial one, which needs
    /// a slot of its own.
    pub(crate) fn space(&self, mss: usize) -> usize {
        let by_bytes = RCV_BUF.saturating_sub(self.bytes);
        let free = RCVQ_SEGS - self.count;
        let by_slots = free.saturating_sub(1).saturating_mul(mss);
        by_bytes.min(by_slots)
    }

    /// Appends a segment's payload; gives it back when the queue is full.
    pub(crate) fn push(&mut self, mut m: Mbuf) -> Result<(), Mbuf> {
        if self.count == RCVQ_SEGS || self.bytes + m.len() > RCV_BUF {
            return Err(m);
        }
        m.set_state(MbufState::Socket);
        self.bytes += m.len();
        self.segs[(self.head + self.count) % RCVQ_SEGS] = Some(m);
        self.count += 1;
        Ok(())
    }

    /// Copies up to `len` bytes in order through `copy` (given each chunk
    /// and its offset in the caller's buffer) and frees the segments
    /// emptied. Returns the bytes copied; stops at the first failed copy
    /// (its error returned when nothing was copied before it).
    pub(crate) fn read(&mut self, len: usize, copy: &mut CopyOut) -> Result<usize, Errno> {
        let mut done = 0;
        while done < len && self.count > 0 {
            let m = self.segs[self.head].as_mut().expect("counted segment");
            // `recv` takes it for the caller: the copy to user space is due.
            m.mark_delivered();
            let n = match m.copy_out(len - done, |b| copy(b, done)) {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            done += n;
            self.bytes -= n;
            if n == m.len() {
                self.segs[self.head] = None;
                self.head = (self.head + 1) % RCVQ_SEGS;
                self.count -= 1;
            } else {
                let _ = m.pull(n);
            }
        }
        Ok(done)
    }

    /// Frees every queued segment.
    pub(crate) fn clear(&mut self) {
        for s in &mut self.segs {
            *s = None;
        }
        self.head = 0;
        self.count = 0;
        self.bytes = 0;
    }
}
