//! The payload of an acceptable segment (RFC 9293 3.10.7.4, seventh):
//! trimmed to what is new and what the window holds, queued in order on
//! the connection in the device's own mbuf (no copy), or kept in the
//! reassembly queue when it arrives early; and when to acknowledge it
//! (delayed ACKs, RFC 1122 4.2.3.2 and RFC 5681 4.2).

use super::input::Seg;
use super::DELACK_MS;
use crate::counters::{DropReason, Stat};
use crate::mbuf::Mbuf;
use crate::{NetEnv, Stack};

/// Below this many received mbufs, a connection queues without looking
/// at the others' (the whole table is summed only for busy ones).
const RX_MBUFS_FREE_CHECK: usize = 4;

impl Stack {
    /// The payload of an acceptable segment: queued in order, or kept
    /// for reassembly. `seg.fin` is cleared when the FIN is lost with the
    /// bytes before it (cut by the window, no room).
    pub(crate) fn tcp_data(
        &mut self,
        env: &mut dyn NetEnv,
        c: usize,
        seg: &mut Seg,
        mut m: Mbuf,
    ) -> Result<(), DropReason> {
        let now = env.now_ms();
        let full = self.tcp_payload_max(c) as usize;
        let t = &mut self.tcp.conns[c];
        // What we already have is cut off the front.
        if seg.seq.lt(t.rcv_nxt) {
            let dup = t.rcv_nxt.diff(seg.seq);
            let _ = m.pull(dup as usize);
            seg.seq = t.rcv_nxt;
            seg.len -= dup;
        }
        // And what lies past the window off the end (the FIN with it).
        let room = t.rcv_wnd().saturating_sub(seg.seq.diff(t.rcv_nxt));
        if seg.len > room {
            m.trim(room as usize);
            seg.len = room;
            seg.fin = false;
            // Say what the window is (this may be a probe of a closed one).
            t.ack_now = true;
        }
        if seg.len == 0 {
            return Ok(());
        }
        // All connections together keep at most half the pool's buffers
        // (the rest refill the device's receive ring and carry what we
        // send): checked once this one holds a few.
        if t.rcvq.segs() + t.reasm.len() >= RX_MBUFS_FREE_CHECK
            && self.tcp.rx_mbufs() >= self.pool.total() / 2
        {
            seg.fin = false;
            return Err(DropReason::TcpRxMemory);
        }
        let t = &mut self.tcp.conns[c];
        if seg.seq != t.rcv_nxt {
            self.counters.bump(Stat::TcpOutOfOrder);
            t.ack_now = true;
            let (nxt, wnd) = (t.rcv_nxt, t.rcv_wnd());
            // A FIN with it is remembered by its place (step 8 of
            // `tcp_conn_input`), whether the bytes before it were queued
            // now or earlier.
            let kept = t.reasm.insert(seg.seq, m, nxt, wnd);
            if kept.is_err() && !seg.fin {
                return Err(DropReason::TcpDuplicate);
            }
            return Ok(());
        }
        let filled_hole = !t.reasm.is_empty();
        let n = m.len();
        if t.shut_rd {
            t.rcv_nxt += n as u32;
        } else if t.rcvq.push(m).is_err() {
            seg.fin = false;
            t.ack_now = true;
            return Err(DropReason::TcpQueueFull);
        } else {
            t.rcv_nxt += n as u32;
        }
        while let Some(m) = t.reasm.pop_ready(t.rcv_nxt) {
            let n = m.len() as u32;
            if t.shut_rd || t.rcvq.push(m).is_ok() {
                t.rcv_nxt += n;
            } else {
                break;
            }
        }
        if !t.reasm.is_empty() && t.rcv_nxt.lt(seg.seq + seg.len) {
            seg.fin = false;
        }
        // Delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2): at least every
        // second full-sized segment, at once when a hole was filled. What
        // is full-sized is learned from the peer's segments (it may send
        // less than the MSS allows: QEMU's user network sends 1440 bytes
        // for our 1460). The first segments of a connection are
        // acknowledged at once, so the peer's slow start does not wait
        // for our timer (as Linux's quick ACKs).
        t.rcv_mss = t.rcv_mss.max(n.min(full));
        if n >= t.rcv_mss {
            t.unacked_segs += 1;
        }
        let quick = t.quickacks > 0;
        t.quickacks = t.quickacks.saturating_sub(1);
        if filled_hole || quick || t.unacked_segs >= 2 {
            t.ack_now = true;
        } else if t.timers.delack == 0 {
            t.timers.delack = now + DELACK_MS;
        }
        self.tcp_wake(env, c);
        Ok(())
    }
}
