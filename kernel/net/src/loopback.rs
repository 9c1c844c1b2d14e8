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
/// Looped packets one call receives at most.
pub const LOOP_BUDGET: usize = 8 * LOOP_QUEUE;

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
    /// Receives the looped-back packets, including those sent while
    /// receiving the earlier ones, up to [`LOOP_BUDGET`] of them: two
    /// ends answering each other forever (an ACK war) cannot hold the
    /// caller; what is left waits for the next call (at the latest the
    /// next tick).
    pub(crate) fn flush_loopback(&mut self, env: &mut dyn NetEnv) {
        if self.loopq.draining {
            return;
        }
        self.loopq.draining = true;
        for _ in 0..LOOP_BUDGET {
            let Some(m) = self.loopq.pop() else { break };
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
    use crate::counters::Stat;
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

    #[test]
    fn an_ack_war_does_not_hold_the_caller() {
        let pool: &'static Pool = Box::leak(Box::new(Pool::<[Buf; 256]>::new()));
        let mut s = Box::new(Stack::new(pool));
        let mut env = TestEnv::at(1000);
        let any = abi::net::SockAddrIn::new([0; 4], 80);
        let l = s.socket(crate::SocketKind::Tcp).unwrap();
        s.bind(l, &any).unwrap();
        s.tcp_listen(l, 1).unwrap();
        let c = s.socket(crate::SocketKind::Tcp).unwrap();
        let lo = abi::net::SockAddrIn::new([127, 0, 0, 1], 80);
        s.tcp_connect(&mut env, c, &lo).unwrap();
        assert_eq!(s.tcp_connected(c), Ok(true));
        // Both ends lose track of what the other sends: each answers the
        // other's (unacceptable) ACK with an ACK, forever.
        for t in s.tcp.conns.iter_mut().filter(|t| t.synchronized()) {
            t.rcv_nxt += 1 << 30;
            t.rcv_adv = t.rcv_nxt;
        }
        let conn = s.tcp.conn_of(c).unwrap();
        // The stack's budget of such ACKs would end the war soon (below):
        // lifted here, the loop's own budget is what stops the call.
        let budget = s.tcp.oow_budget;
        s.tcp.oow_budget = crate::tcp::ack::AckBudget::with_limit(u32::MAX);
        s.tcp_send_ack(&mut env, conn);
        let before = s.counters().stat(Stat::TcpSegsIn);
        s.flush_loopback(&mut env);
        let received = s.counters().stat(Stat::TcpSegsIn) - before;
        assert_eq!(received as usize, LOOP_BUDGET, "one call, its budget");
        assert_eq!(s.loopq.len, 1, "the war goes on at the next call");
        // With the budget: over once it is spent.
        s.tcp.oow_budget = budget;
        s.flush_loopback(&mut env);
        let received = s.counters().stat(Stat::TcpSegsIn) - before;
        let limit = crate::tcp::ACK_THROTTLE_PER_SEC as usize;
        assert_eq!(received as usize, LOOP_BUDGET + limit + 1);
        assert_eq!(s.loopq.len, 0, "the war is over");
        assert_eq!(s.counters().stat(Stat::TcpOowAcksLimited), 1);
    }
}
