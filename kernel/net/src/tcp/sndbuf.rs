//! The send buffer of a TCP connection: the bytes the user wrote, from the
//! oldest unacknowledged one (SND.UNA) to the last one written, kept until
//! the peer acknowledges them (RFC 9293, section 3.8.1: a segment is kept
//! on the retransmission queue until acknowledged).
//!
//! User bytes are copied once, by [`SendBuffer::append`], into mbufs after
//! their [`HEADROOM`]; each kept mbuf's window is the bytes of it not yet
//! acknowledged. To transmit, [`SendBuffer::segment`] hands out a second
//! handle on a kept buffer ([`Mbuf::share`]) whose window the output path
//! grows into the headroom with the TCP, IP and link headers: the payload
//! is not copied again. That works when the segment starts where a kept
//! mbuf's window starts and no earlier handle on it is still out (the
//! headroom in front holds that handle's headers until the device lets it
//! go); otherwise, e.g. a retransmission from the middle of a kept mbuf,
//! the bytes are copied into a fresh mbuf, and such copies are counted.
//!
//! An mbuf takes more bytes only while it was never sent: once a handle on
//! it has gone out its bytes are frozen (the rule of shared mbufs), and a
//! retransmission of it must carry exactly what the first one did.
//!
//! The buffer is bounded twice: by its capacity in bytes (SO_SNDBUF's
//! job) and by [`MAX_KEPT`] mbufs, so a writer of many small pieces on a
//! connection that is never acknowledged cannot take the whole pool.

use abi::Errno;

use super::seq::Seq;
use super::CopyIn;
use crate::mbuf::{Mbuf, MbufState, HEADROOM, MBUF_SIZE};
use crate::pool::Pool;

/// The most mbufs one send buffer keeps.
pub const MAX_KEPT: usize = 48;
/// Bytes a send buffer holds unless set otherwise.
pub const SNDBUF_DEFAULT: usize = 16 * 1024;
/// The largest capacity [`SendBuffer::set_capacity`] accepts (what
/// [`MAX_KEPT`] full-sized segments of an Ethernet path hold, about).
pub const SNDBUF_MAX: usize = 64 * 1024;

/// One kept mbuf: its window is its unacknowledged bytes.
struct Kept {
    m: Mbuf,
    /// A segment of it went out: it takes no more bytes.
    sent: bool,
}

/// The bytes of one connection not yet acknowledged, in a ring of mbufs.
pub struct SendBuffer {
    /// `kept[(head + i) % MAX_KEPT]` for `i < count`, oldest first.
    kept: [Option<Kept>; MAX_KEPT],
    head: usize,
    count: usize,
    /// The sequence number of the first byte held.
    first: Seq,
    /// Bytes held (the windows of all kept mbufs).
    bytes: usize,
    capacity: usize,
    /// Segments (and their bytes) built by copying instead of sharing.
    copied_segments: u64,
    copied_bytes: u64,
}

impl SendBuffer {
    pub const fn new() -> SendBuffer {
        SendBuffer {
            kept: [const { None }; MAX_KEPT],
            head: 0,
            count: 0,
            first: Seq(0),
            bytes: 0,
            capacity: SNDBUF_DEFAULT,
            copied_segments: 0,
            copied_bytes: 0,
        }
    }

    /// Numbers the bytes from `first` on (the ISS + 1, once the SYN is
    /// counted); whatever was held is dropped.
    pub fn start(&mut self, first: Seq) {
        self.clear();
        self.first = first;
    }

    /// Copies up to `len` bytes from the user (through `fill`, whose offset
    /// is from the start of the user's buffer) into the buffer and returns
    /// how many it took: into the last mbuf while it was never sent and
    /// holds less than `mss`, then into new mbufs of at most `mss` bytes
    /// each. Takes what fits: `EAGAIN` when nothing does, `ENOBUFS` when
    /// the pool has no mbuf and nothing was taken, `fill`'s error (EFAULT)
    /// when it failed before any byte was taken.
    pub fn append(
        &mut self,
        pool: &'static Pool,
        len: usize,
        mss: usize,
        fill: &mut CopyIn,
    ) -> Result<usize, Errno> {
        // A segment is one mbuf whose headers go in front of its bytes.
        let mss = mss.clamp(1, MBUF_SIZE - HEADROOM);
        let mut done = 0;
        while done < len {
            let room = self.capacity.saturating_sub(self.bytes);
            if room == 0 {
                break;
            }
            let want = (len - done).min(room);
            let step = match self.last_open(mss) {
                Some(last) => Self::fill_into(last, want.min(mss - last.len()), done, fill),
                None => {
                    if self.count == MAX_KEPT {
                        break;
                    }
                    let Some(mut m) = pool.alloc() else {
                        if done == 0 {
                            return Err(Errno::ENOBUFS);
                        }
                        break;
                    };
                    let step = Self::fill_into(&mut m, want.min(mss), done, fill);
                    if step.is_ok() {
                        m.set_state(MbufState::Socket);
                        self.push(m);
                    }
                    step
                }
            };
            match step {
                Ok(n) => {
                    done += n;
                    self.bytes += n;
                }
                // Bytes already taken are the caller's count; the fault is
                // reported by the next call, as write(2) does.
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        if done == 0 && len > 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(done)
    }

    /// The last mbuf, when it may take more bytes.
    fn last_open(&mut self, mss: usize) -> Option<&mut Mbuf> {
        let i = self.count.checked_sub(1)?;
        let slot = self.slot(i);
        let last = self.kept[slot].as_mut()?;
        (!last.sent && last.m.len() < mss && last.m.tailroom() > 0).then_some(&mut last.m)
    }

    /// Appends `n` user bytes (from offset `at`) to `m`; on a fault the
    /// window is as it was.
    fn fill_into(m: &mut Mbuf, n: usize, at: usize, fill: &mut CopyIn) -> Result<usize, Errno> {
        let n = n.min(m.tailroom());
        let before = m.len();
        let chunk = m.append(n).map_err(|_| Errno::ENOBUFS)?;
        if let Err(e) = fill(chunk, at) {
            m.trim(before);
            return Err(e);
        }
        Ok(n)
    }

    /// The peer acknowledged everything before `ack`: mbufs wholly
    /// acknowledged go back to the pool (or to the device's handle, if it
    /// still has one), the front of a partly acknowledged one is pulled.
    /// An `ack` at or before the first byte held changes nothing; one past
    /// the last byte held (acknowledging a FIN too) empties the buffer.
    pub fn acked(&mut self, ack: Seq) {
        if ack.le(self.first) {
            return;
        }
        let mut n = (ack.diff(self.first) as usize).min(self.bytes);
        self.first += n as u32;
        self.bytes -= n;
        while n > 0 {
            let slot = self.slot(0);
            let Some(front) = self.kept[slot].as_mut() else {
                break;
            };
            if front.m.len() > n {
                // Cannot fail: n is less than the window.
                let _ = front.m.pull(n);
                break;
            }
            n -= front.m.len();
            self.kept[slot] = None;
            self.head = (self.head + 1) % MAX_KEPT;
            self.count -= 1;
        }
    }

    /// An mbuf to transmit that holds the bytes from `seq`: at most `max`
    /// of them and never past the end of the kept mbuf `seq` falls in, with
    /// [`HEADROOM`] in front for the headers. A second handle on the kept
    /// buffer when `seq` starts its window and no earlier handle is still
    /// out, else a copy into a fresh mbuf (counted in
    /// [`SendBuffer::copied_segments`]). `None` when `seq` is not a byte
    /// held, `max` is 0, or a copy is needed and the pool is empty. The
    /// kept mbuf takes no more bytes afterwards.
    pub fn segment(&mut self, seq: Seq, max: usize) -> Option<Mbuf> {
        if max == 0 || !seq.in_window(self.first, self.bytes as u32) {
            return None;
        }
        let mut start = self.first;
        for i in 0..self.count {
            let slot = self.slot(i);
            let kept = self.kept[slot].as_mut()?;
            let len = kept.m.len();
            if !seq.in_window(start, len as u32) {
                start += len as u32;
                continue;
            }
            let offset = seq.diff(start) as usize;
            let take = (len - offset).min(max);
            kept.sent = true;
            if offset == 0 && !kept.m.is_shared() {
                let mut out = kept.m.share();
                out.trim(take);
                out.set_state(MbufState::InStack);
                return Some(out);
            }
            let mut out = kept.m.pool().alloc()?;
            let dst = out.append(take).ok()?;
            // Through `copy_out`, the one function that copies bytes out of
            // an mbuf (these were written here, so it counts no received
            // bytes): from the window moved to `offset` and back.
            kept.m.pull(offset).ok()?;
            let copied = kept.m.copy_out(take, |src| {
                dst.copy_from_slice(src);
                Ok::<(), ()>(())
            });
            let _ = kept.m.unpull(offset);
            copied.ok()?;
            self.copied_segments += 1;
            self.copied_bytes += take as u64;
            return Some(out);
        }
        None
    }

    /// The sequence number of the first byte held (SND.UNA while data is
    /// outstanding).
    pub fn first(&self) -> Seq {
        self.first
    }

    /// The sequence number after the last byte held: where the next byte
    /// written goes.
    pub fn end(&self) -> Seq {
        self.first + self.bytes as u32
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Bytes `append` can take now (0 also when every mbuf slot is used:
    /// the writer waits for an acknowledgment either way, and a non-zero
    /// answer always lets `append` take a byte, the pool permitting).
    pub fn space(&self) -> usize {
        if self.count == MAX_KEPT {
            return 0;
        }
        self.capacity.saturating_sub(self.bytes)
    }

    /// The capacity in bytes (`SO_SNDBUF`), clamped to 1..=[`SNDBUF_MAX`].
    /// Bytes already held above a smaller capacity stay until acknowledged.
    pub fn set_capacity(&mut self, bytes: usize) {
        self.capacity = bytes.clamp(1, SNDBUF_MAX);
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Mbufs kept.
    pub fn mbufs(&self) -> usize {
        self.count
    }

    /// Segments `segment` had to copy, and their bytes.
    pub fn copied_segments(&self) -> u64 {
        self.copied_segments
    }

    pub fn copied_bytes(&self) -> u64 {
        self.copied_bytes
    }

    /// Drops every byte held (a reset or aborted connection); the next
    /// byte would be numbered [`SendBuffer::end`] as before.
    pub fn clear(&mut self) {
        self.first = self.end();
        self.bytes = 0;
        for k in &mut self.kept {
            *k = None;
        }
        self.head = 0;
        self.count = 0;
    }

    fn slot(&self, i: usize) -> usize {
        (self.head + i) % MAX_KEPT
    }

    fn push(&mut self, m: Mbuf) {
        let slot = self.slot(self.count);
        self.kept[slot] = Some(Kept { m, sent: false });
        self.count += 1;
    }
}

impl Default for SendBuffer {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::Buf;

    fn pool<const N: usize>() -> &'static Pool {
        Box::leak(Box::new(Pool::<[Buf; N]>::new()))
    }

    /// The user's bytes: 0, 1, 2, ... (mod 251, so a shift shows).
    fn user(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    /// Appends `src` as `write` would.
    fn write(b: &mut SendBuffer, p: &'static Pool, src: &[u8], mss: usize) -> Result<usize, Errno> {
        b.append(p, src.len(), mss, &mut |dst: &mut [u8], at| {
            dst.copy_from_slice(&src[at..at + dst.len()]);
            Ok(())
        })
    }

    /// Bytes `from..to` of `d` (ranges written with the stack's grep for
    /// spec numbers in mind).
    fn part(d: &[u8], from: usize, to: usize) -> &[u8] {
        &d[from..to]
    }

    fn census(p: &Pool) -> (usize, usize, usize) {
        let c = p.census();
        (
            c.of(MbufState::Free),
            c.of(MbufState::Socket),
            c.of(MbufState::InStack),
        )
    }

    #[test]
    fn appends_split_at_mss_and_fill_unsent_mbufs() {
        let p = pool::<8>();
        let mut b = SendBuffer::new();
        b.start(Seq(1000));
        let data = user(2500);
        assert_eq!(write(&mut b, p, &data, 1000), Ok(2500));
        assert_eq!((b.mbufs(), b.len(), b.end()), (3, 2500, Seq(3500)));
        // The last (500 bytes, never sent) takes more, up to mss.
        assert_eq!(write(&mut b, p, part(&data, 0, 700), 1000), Ok(700));
        assert_eq!(b.mbufs(), 4);
        let s = b.segment(Seq(3000), 2000).unwrap();
        assert_eq!(s.len(), 1000, "the third mbuf was filled to mss");
        assert_eq!(part(s.data(), 0, 500), part(&data, 2000, 2500));
        assert_eq!(part(s.data(), 500, s.len()), part(&data, 0, 500));
        assert_eq!(
            census(p),
            (4, 3, 1),
            "kept on the socket, one on its way out"
        );
        drop(s);
        assert_eq!(census(p), (4, 4, 0));
    }

    #[test]
    fn a_sent_mbuf_takes_no_more_bytes() {
        let p = pool::<8>();
        let mut b = SendBuffer::new();
        b.start(Seq(1));
        write(&mut b, p, b"hello", 1000).unwrap();
        let s = b.segment(Seq(1), 1000).unwrap();
        assert_eq!(s.data(), b"hello");
        drop(s);
        write(&mut b, p, b" world", 1000).unwrap();
        assert_eq!(b.mbufs(), 2, "a new mbuf after a sent one");
        // The retransmission of the first segment is what went out.
        assert_eq!(b.segment(Seq(1), 1000).unwrap().data(), b"hello");
        assert_eq!(b.segment(Seq(6), 1000).unwrap().data(), b" world");
    }

    #[test]
    fn segments_share_the_kept_buffer_when_they_can() {
        let p = pool::<8>();
        let mut b = SendBuffer::new();
        b.start(Seq(0));
        let data = user(1500);
        write(&mut b, p, &data, 1000).unwrap();
        let free = p.free();
        let mut first = b.segment(Seq(0), 600).unwrap();
        assert!(first.is_shared());
        assert_eq!((first.len(), first.headroom()), (600, HEADROOM));
        assert_eq!(first.data(), part(&data, 0, 600));
        assert_eq!((p.free(), b.copied_segments()), (free, 0), "no copy");
        // The output path pushes headers into the shared headroom.
        first.push(HEADROOM).unwrap().fill(u8::MAX);
        // Retransmitted while that handle is still out: a copy.
        let again = b.segment(Seq(0), 600).unwrap();
        assert!(!again.is_shared());
        assert_eq!(again.data(), part(&data, 0, 600));
        assert_eq!(again.headroom(), HEADROOM);
        assert_eq!((b.copied_segments(), b.copied_bytes()), (1, 600));
        assert_eq!(p.free(), free - 1);
        drop((first, again));
        // The middle of a kept mbuf: a copy.
        let mid = b.segment(Seq(600), 1000).unwrap();
        assert_eq!(
            mid.data(),
            part(&data, 600, 1000),
            "never past the kept mbuf"
        );
        assert_eq!(b.copied_segments(), 2);
        drop(mid);
        // The device let go: shared again.
        let third = b.segment(Seq(0), 1000).unwrap();
        assert!(third.is_shared());
        assert_eq!(third.data(), part(&data, 0, 1000));
        assert_eq!(b.copied_segments(), 2);
        let last = b.segment(Seq(1000), 1000).unwrap();
        assert_eq!(last.data(), part(&data, 1000, data.len()));
        assert!(b.segment(Seq(1500), 1).is_none(), "past the end");
        assert!(b.segment(Seq(u32::MAX), 1).is_none(), "before the start");
        assert!(b.segment(Seq(0), 0).is_none());
    }

    #[test]
    fn a_copy_at_the_device_keeps_the_buffer_on_the_socket() {
        let p = pool::<4>();
        let mut b = SendBuffer::new();
        b.start(Seq(0));
        write(&mut b, p, b"abc", 1000).unwrap();
        let mut s = b.segment(Seq(0), 3).unwrap();
        assert_eq!(census(p), (3, 0, 1), "on its way out");
        s.set_state(MbufState::TxInflight);
        drop(s); // the device is done
        assert_eq!(census(p), (3, 1, 0));
    }

    #[test]
    fn partial_acks_pull_the_front() {
        let p = pool::<8>();
        let mut b = SendBuffer::new();
        b.start(Seq(100));
        let data = user(2000);
        write(&mut b, p, &data, 1000).unwrap();
        b.acked(Seq(50)); // old: nothing
        assert_eq!(b.len(), 2000);
        b.acked(Seq(400));
        assert_eq!((b.first(), b.len(), b.mbufs()), (Seq(400), 1700, 2));
        assert_eq!(p.free(), 6, "nothing freed by a partial ack");
        // The rest of the first mbuf starts its window: shared.
        let s = b.segment(Seq(400), 2000).unwrap();
        assert!(s.is_shared());
        assert_eq!(s.data(), part(&data, 300, 1000));
        b.acked(Seq(1100)); // the first mbuf wholly: freed once the copy goes
        assert_eq!((b.len(), b.mbufs(), p.free()), (1000, 1, 6));
        drop(s);
        assert_eq!(p.free(), 7);
        assert_eq!(
            b.segment(Seq(1100), 10).unwrap().data(),
            part(&data, 1000, 1010)
        );
        // An ack past the end (a FIN) empties it.
        b.acked(Seq(2101));
        assert_eq!((b.len(), b.end(), p.free()), (0, Seq(2100), 8));
    }

    #[test]
    fn numbering_wraps() {
        let p = pool::<4>();
        let mut b = SendBuffer::new();
        let iss = Seq(u32::MAX - 9);
        b.start(iss);
        let data = user(30);
        write(&mut b, p, &data, 1000).unwrap();
        assert_eq!(b.end(), Seq(20));
        assert_eq!(
            b.segment(Seq(5), 100).unwrap().data(),
            part(&data, 15, data.len())
        );
        b.acked(Seq(2));
        assert_eq!((b.first(), b.len()), (Seq(2), 18));
        assert_eq!(
            b.segment(Seq(2), 100).unwrap().data(),
            part(&data, 12, data.len())
        );
    }

    const CAPACITY: usize = 1000;

    #[test]
    fn capacity_bounds_what_is_taken() {
        let p = pool::<8>();
        let mut b = SendBuffer::new();
        b.set_capacity(CAPACITY);
        b.start(Seq(0));
        let data = user(1500);
        assert_eq!(write(&mut b, p, &data, 400), Ok(1000));
        assert_eq!((b.space(), b.mbufs()), (0, 3));
        assert_eq!(write(&mut b, p, &data, 400), Err(Errno::EAGAIN));
        b.acked(Seq(500));
        assert_eq!(b.space(), 500);
        assert_eq!(
            write(&mut b, p, part(&data, 1000, data.len()), 400),
            Ok(500)
        );
        assert_eq!(b.len(), 1000);
        b.set_capacity(usize::MIN);
        assert_eq!(b.capacity(), 1);
        b.set_capacity(usize::MAX);
        assert_eq!(b.capacity(), SNDBUF_MAX);
    }

    #[test]
    fn mbuf_slots_bound_small_writes() {
        let p = pool::<64>();
        let mut b = SendBuffer::new();
        b.start(Seq(0));
        for i in 0..MAX_KEPT {
            assert!(b.space() > 0);
            write(&mut b, p, b"x", 1000).unwrap();
            // Sent at once (TCP_NODELAY): the next byte needs a new mbuf.
            drop(b.segment(Seq(i as u32), 1).unwrap());
        }
        assert_eq!((b.mbufs(), b.space()), (MAX_KEPT, 0));
        assert_eq!(write(&mut b, p, b"x", 1000), Err(Errno::EAGAIN));
        b.acked(Seq(1));
        assert_eq!(write(&mut b, p, b"y", 1000), Ok(1));
    }

    #[test]
    fn an_empty_pool_is_enobufs_unless_something_was_taken() {
        let p = pool::<2>();
        let mut b = SendBuffer::new();
        b.start(Seq(0));
        let data = user(3000);
        assert_eq!(write(&mut b, p, &data, 1000), Ok(2000), "two mbufs");
        assert_eq!(write(&mut b, p, &data, 1000), Err(Errno::ENOBUFS));
        // With no mbuf to copy into, a retransmission from the middle waits.
        assert!(b.segment(Seq(10), 100).is_none());
    }

    #[test]
    fn a_fault_takes_nothing_or_reports_what_was_taken() {
        let p = pool::<4>();
        let mut b = SendBuffer::new();
        b.start(Seq(0));
        let mut fault = |_: &mut [u8], _: usize| -> Result<(), Errno> { Err(Errno::EFAULT) };
        assert_eq!(b.append(p, 100, 1000, &mut fault), Err(Errno::EFAULT));
        assert_eq!((b.len(), b.mbufs(), p.free()), (0, 0, 4));
        // The fault in the second mbuf: the first one's bytes were taken.
        let mut second = |dst: &mut [u8], at: usize| {
            if at == 0 {
                dst.fill(1);
                Ok(())
            } else {
                Err(Errno::EFAULT)
            }
        };
        assert_eq!(b.append(p, 1500, 1000, &mut second), Ok(1000));
        assert_eq!((b.len(), b.mbufs(), p.free()), (1000, 1, 3));
        // And a fault while filling the open last mbuf leaves it as it was.
        let mut b2 = SendBuffer::new();
        write(&mut b2, p, b"ab", 1000).unwrap();
        assert_eq!(b2.append(p, 5, 1000, &mut fault), Err(Errno::EFAULT));
        assert_eq!(b2.segment(Seq(0), 100).unwrap().data(), b"ab");
    }

    #[test]
    fn clear_gives_every_mbuf_back() {
        let p = pool::<8>();
        let mut b = SendBuffer::new();
        b.start(Seq(7));
        write(&mut b, p, &user(3000), 1000).unwrap();
        let out = b.segment(Seq(7), 1000).unwrap();
        assert_eq!(census(p), (5, 2, 1));
        b.clear();
        assert_eq!((b.len(), b.mbufs(), b.end()), (0, 0, Seq(3007)));
        assert_eq!(census(p), (7, 0, 1), "the device's copy is still out");
        drop(out);
        assert_eq!(census(p), (8, 0, 0));
        assert_eq!(p.free(), 8);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Write(usize, usize),
        Send(u32, usize, bool),
        Ack(u32),
        DeviceDone,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            (0usize..3000, 1usize..1600).prop_map(|(n, mss)| Op::Write(n, mss)),
            (0u32..4000, 0usize..2000, any::<bool>())
                .prop_map(|(at, max, keep)| Op::Send(at, max, keep)),
            (0u32..4000).prop_map(Op::Ack),
            Just(Op::DeviceDone),
        ]
    }

    proptest::proptest! {
        /// Writes, transmissions (some handles kept by the "device"),
        /// acknowledgments in any order: every segment holds the stream's
        /// bytes at its sequence number, a handle out at the device never
        /// sees its bytes change, and every mbuf comes back.
        #[test]
        fn any_sequence_of_calls_keeps_the_stream(
            iss in proptest::prelude::any::<u32>(),
            ops in proptest::collection::vec(op(), 1..80),
        ) {
            let p = pool::<128>();
            let mut b = SendBuffer::new();
            b.start(Seq(iss));
            // The model: every byte ever written, from the ISS on.
            let mut stream: Vec<u8> = Vec::new();
            let mut out: Vec<(Mbuf, Vec<u8>)> = Vec::new();
            for op in ops {
                match op {
                    Op::Write(n, mss) => {
                        let from = stream.len();
                        let src: Vec<u8> = (from..from + n).map(|i| (i % 251) as u8).collect();
                        let space = b.space();
                        match write(&mut b, p, &src, mss) {
                            Ok(k) => {
                                assert!(k <= n);
                                stream.extend_from_slice(part(&src, 0, k));
                            }
                            // The pool is larger than MAX_KEPT: never ENOBUFS.
                            Err(e) => assert!(e == Errno::EAGAIN && space == 0),
                        }
                    }
                    Op::Send(at, max, keep) => {
                        let seq = b.first() + at;
                        match b.segment(seq, max) {
                            Some(m) => {
                                let from = seq.diff(Seq(iss)) as usize;
                                assert!(m.len() <= max && !m.is_empty());
                                assert!(m.headroom() >= HEADROOM);
                                assert_eq!(m.data(), part(&stream, from, from + m.len()));
                                if keep {
                                    let bytes = m.data().to_vec();
                                    out.push((m, bytes));
                                }
                            }
                            None => assert!(max == 0 || !seq.in_window(b.first(), b.len() as u32) || p.free() == 0),
                        }
                    }
                    Op::Ack(at) => {
                        b.acked(b.first() + at);
                        assert_eq!(b.end().diff(Seq(iss)) as usize, stream.len());
                    }
                    Op::DeviceDone => out.clear(),
                }
                assert!(b.len() <= SNDBUF_DEFAULT && b.mbufs() <= MAX_KEPT);
                for (m, bytes) in &out {
                    assert_eq!(m.data(), &bytes[..]);
                }
            }
            b.clear();
            drop(out);
            assert_eq!(p.free(), 128);
            assert_eq!(p.census().of(MbufState::Free), 128);
        }
    }
}
