//! Loopback: what the stack sends to itself (127.0.0.0/8, or its own
//! address) waits in a bounded queue and is received when the call that
//! sent it returns to the top: [`Stack::input`], [`Stack::tick`] and each
//! socket call drain the queue with [`Stack::flush_loopback`]. Receiving
//! from inside the send would recurse once per packet (a TCP transfer
//! over 127.0.0.1 answers each segment with another) on the kernel's
//! small stack; the queue makes it a loop.

use crate::counters::DropReason;
use crate::mbuf::Mbuf;
use crate::{NetEnv, Stack};

/// Packets waiting to be looped back: a window's worth of TCP segments
/// and their ACKs.
pub const LOOP_QUEUE: usize = 128;

pub(crate) struct LoopQueue {
    q: [Option<Mbuf>; LOOP_QUEUE],
    head: usize,
    len: usize,
    /// A flush is running (further calls leave the queue to it).
    draining: bool,
}

impl LoopQueue {
    pub(crate) const fn new() -> LoopQueue {
        LoopQueue {
            q: [const { None }; LOOP_QUEUE],
            head: 0,
            len: 0,
            draining: false,
        }
    }

    pub(crate) fn push(&mut self, m: Mbuf) -> Result<(), DropReason> {
        if self.len == LOOP_QUEUE {
            return Err(DropReason::LoopbackQueueFull);
        }
        self.q[(self.head + self.len) % LOOP_QUEUE] = Some(m);
        self.len += 1;
        Ok(())
    }

    fn pop(&mut self) -> Option<Mbuf> {
        if self.len == 0 {
            return None;
        }
        let m = self.q[self.head].take();
        self.head = (self.head + 1) % LOOP_QUEUE;
        self.len -= 1;
        m
    }
}

impl Stack {
    /// Receives every looped-back packet, including those sent while
    /// receiving the earlier ones.
    pub(crate) fn flush_loopback(&mut self, env: &mut dyn NetEnv) {
        if self.loopq.draining {
            return;
        }
        self.loopq.draining = true;
        while let Some(m) = self.loopq.pop() {
            let outer = core::mem::replace(&mut self.looped, true);
            self.input_frame(env, m);
            self.looped = outer;
        }
        self.loopq.draining = false;
    }
}

#[cfg(test)]
mod tests {
    use wire::dispatch::Ipv4Next;

    use super::*;
    use crate::testutil::*;
    use crate::{Buf, Pool};

    #[test]
    fn more_than_the_queue_holds_is_dropped_and_counted() {
        let pool: &'static Pool = Box::leak(Box::new(Pool::<[Buf; 2 * LOOP_QUEUE]>::new()));
        let mut s = Box::new(Stack::new(pool));
        let mut env = TestEnv::at(1000);
        for _ in 0..LOOP_QUEUE + 2 {
            let m = s.pool().alloc().unwrap();
            s.ipv4_output(&mut env, m, Ipv4Next::Udp, [127, 0, 0, 1]);
        }
        assert_eq!(s.counters().drops(DropReason::LoopbackQueueFull), 2);
        // Received when the queue is flushed (and dropped: too short for
        // UDP), every buffer back.
        s.flush_loopback(&mut env);
        assert_eq!(
            s.counters().drops(DropReason::UdpTooShort),
            LOOP_QUEUE as u64
        );
        assert_eq!(s.pool().free(), s.pool().total());
    }
}
