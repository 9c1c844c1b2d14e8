//! The in-kernel virtual Ethernet bridge that joins the namespaces'
//! stacks: the `net` crate's switch ([`net::bridge::Bridge`]: a fixed MAC
//! per port, forged sources dropped, group frames to every other port)
//! with one port per namespace slot. Port N is namespace N's; port 0,
//! [`ROOT_PORT`], is the root namespace's.
//!
//! A port is attached with the function that delivers frames to it
//! ([`Deliver`]): `netglue` attaches each container's stack as it comes
//! up; the root stack attaches its bridge interface to [`ROOT_PORT`] with
//! its MAC and its own input function (until then frames to 10.0.3.1 find
//! no port, `drop_bridge_unknown_dst`). A stack sends with [`transmit`]
//! (from its `NetEnv::transmit`, its lock held): that only queues.
//! [`flush`] delivers, with no stack locked: after each system call that
//! left frames queued (`syscall.rs`), before a socket call sleeps
//! (`sysnet::block`), after the NIC's receive interrupt, and every tick.
//! So no stack's code ever runs inside another stack's lock.
//!
//! A group frame goes to each port as a shared handle on the one buffer
//! (`Mbuf::share`): nothing is copied.
//!
//! The mirror port (`mirror.rs`) gets a copy of every frame a port sends,
//! as it arrives in [`transmit`]: what the bridge then delivers, and what
//! it refuses (a forged source, a full queue, no such port), so a capture
//! shows an attack as well as the traffic. Copying at arrival keeps the
//! order frames were sent in, and the frame is still its sender's there,
//! unchanged by any receiver.
//!
//! Locking: `DRAIN` serialises deliveries (frames arrive in the order they
//! were sent) and is held while a receiving stack runs on a frame, so it
//! is taken before any stack's lock, never while holding one. `BRIDGE` is
//! a leaf, taken under a stack's lock by [`transmit`] and briefly by
//! [`flush`] to take each frame off. [`detach`] takes `DRAIN`, so once it
//! returns no delivery to the port is under way. The mirror's lock is a
//! leaf too, taken by [`transmit`] before `BRIDGE`, never with it.

use core::sync::atomic::{AtomicUsize, Ordering};

use abi::net::Counter;
use net::bridge::Bridge;
use net::{MacAddr, Mbuf};

use crate::ns::{NNS, ROOT_NS};
use crate::spinlock::{Spinlock, SpinlockGuard};

/// The root namespace's port.
pub const ROOT_PORT: usize = ROOT_NS;

/// What receives a port's frames: `deliver(port, frame)`, called holding
/// only the bridge's `DRAIN`.
pub type Deliver = fn(usize, Mbuf);

static BRIDGE: Spinlock<Bridge<Deliver, NNS>> = Spinlock::new("bridge", Bridge::new());

static DRAIN: Spinlock<()> = Spinlock::new("bridge_drain", ());

/// Frames on the queue, readable without the lock ([`pending`]).
static QUEUED: AtomicUsize = AtomicUsize::new(0);

/// Frames one [`flush`] delivers at most, so two stacks answering each
/// other without end cannot hold the caller; the rest wait for the next.
const BUDGET: usize = 4 * net::bridge::QUEUE;

/// Joins `port`: frames to `mac` (and group frames) are handed to
/// `deliver`; frames it sends must come from `mac`.
pub fn attach(port: usize, mac: MacAddr, deliver: Deliver) {
    BRIDGE.lock().attach(port, mac, deliver);
}

/// Leaves `port`. Returns holding `DRAIN`: no delivery to the port is
/// under way, and none starts until the guard is dropped.
pub fn detach(port: usize) -> SpinlockGuard<'static, ()> {
    let d = DRAIN.lock();
    BRIDGE.lock().detach(port);
    d
}

/// The stack on `port` sends a frame (its window is the Ethernet frame):
/// copied to the mirror, then queued for [`flush`], or counted and dropped.
pub fn transmit(port: usize, m: Mbuf) {
    crate::mirror::frame(&m);
    let mut b = BRIDGE.lock();
    b.transmit(port, m);
    QUEUED.store(b.len(), Ordering::Release);
}

/// Are frames waiting? (A look without the lock, to decide to [`flush`].)
pub fn pending() -> bool {
    QUEUED.load(Ordering::Acquire) > 0
}

/// Delivers the queued frames, up to a budget (the next call or tick does
/// the rest). Call with no stack locked.
pub fn flush() {
    if !pending() {
        return;
    }
    let _d = DRAIN.lock();
    for _ in 0..BUDGET {
        let next = {
            let mut b = BRIDGE.lock();
            let d = b.pop();
            QUEUED.store(b.len(), Ordering::Release);
            d
        };
        let Some(net::bridge::Delivery { m, to }) = next else {
            break;
        };
        // Each port but the last gets a share of the buffer, the last the
        // frame itself.
        let mut last: Option<(usize, Deliver)> = None;
        for (port, deliver) in to.iter().enumerate() {
            if let Some(deliver) = *deliver {
                if let Some((p, earlier)) = last.replace((port, deliver)) {
                    earlier(p, m.share());
                }
            }
        }
        if let Some((p, deliver)) = last {
            deliver(p, m);
        }
    }
}

/// Appends the bridge's counters to `netstat`'s; returns how many.
pub fn export(out: &mut [Counter]) -> usize {
    BRIDGE.lock().export(out)
}

// The stack's counters, the receive, send and per-hart profiles', the
// boot's times, these, the mirror's and the NIC's fit in one `netstat` call.
const _: () = assert!(
    net::Stat::COUNT
        + net::DropReason::COUNT
        + net::counters::EXTRA_COUNTERS
        + crate::rxprof::COUNTERS
        + crate::txprof::COUNTERS
        + crate::boottime::COUNTERS
        + crate::hartprof::COUNTERS
        + net::bridge::BridgeStat::COUNT
        + net::mirror::MirrorStat::COUNT
        + crate::virtio_net::COUNTERS
        <= abi::net::MAX_COUNTERS
);
