//! The bridge's mirror port: a second virtio network card, transmit only,
//! on virtio-mmio slot 2 (0x10003000), that gets a copy of every frame a
//! port of the containers' bridge sends (`bridge::transmit`), delivered or
//! not. Nothing is behind the card: QEMU records what it sends to a pcap
//! file (`cargo xtask qemu` names it), and the frames go nowhere else.
//!
//! The copy and the counters are the `net` crate's ([`net::mirror`]); here
//! is the device. One transmit queue of [`QSIZE`] entries, each a copy with
//! a `VirtioNetHdr` pushed in front by its generated builder, as on the
//! NIC. Completions raise no interrupt (we ask the device not to, and
//! enable no IRQ for the slot): sent copies are freed on the next frame or
//! timer tick. The receive queue is never set up: nothing is received.
//!
//! Without the card (QEMU started by hand, without the mirror device) there
//! is no mirror, and nothing is copied.
//!
//! Locking: `MIRROR` is a leaf, taken by `bridge::transmit` under the
//! sending stack's lock (as the NIC's is by the root stack).

use abi::net::Counter;
use net::mirror::{Mirror, MirrorStat};
use net::{Mbuf, MbufState};
use wire::virtio_mmio::DeviceId;
use wire::virtio_net::{VirtioNetHdrRepr, TRANSMITQ};

use crate::memlayout::VIRTIO2;
use crate::netglue::pool;
use crate::spinlock::Spinlock;
use crate::virtio::VirtioMmio;
use crate::virtqueue::{Segment, Virtqueue};

/// Entries in the transmit queue (≤ 128 keeps it in one page): a burst
/// of the bridge's queue, half of it, between two reclaims.
const QSIZE: usize = 128;

struct Card {
    dev: VirtioMmio,
    tx: Virtqueue<QSIZE>,
    /// The copy being sent by each descriptor.
    bufs: [Option<Mbuf>; QSIZE],
}

impl Card {
    /// Frees the copies the device has sent.
    fn reclaim(&mut self) {
        while let Some(u) = self.tx.pop_used() {
            self.tx.free_chain(u.id);
            self.bufs[u.id as usize % QSIZE] = None;
        }
    }
}

struct Port {
    card: Option<Card>,
    stats: Mirror,
}

static MIRROR: Spinlock<Port> = Spinlock::new(
    "mirror",
    Port {
        card: None,
        stats: Mirror::new(),
    },
);

/// Brings the mirror card up if there is one (hart 0, at boot).
pub fn init() {
    // Any other answer is an empty slot: no mirror, and nothing to say.
    let Ok(dev) = VirtioMmio::probe(VIRTIO2, DeviceId::NET) else {
        return;
    };
    dev.begin_init();
    // No feature but VERSION_1: no MAC is needed to send copies.
    if dev.negotiate(|_| 0).is_err() {
        crate::println!("mirror: feature negotiation failed");
        return;
    }
    let tx = Virtqueue::new();
    if dev.setup_queue(TRANSMITQ, &tx).is_err() {
        crate::println!("mirror: queue setup failed");
        return;
    }
    let mut g = MIRROR.lock();
    let card = g.card.insert(Card {
        dev,
        tx,
        bufs: [const { None }; QSIZE],
    });
    card.tx.suppress_interrupts(true);
    card.dev.driver_ok();
    drop(g);
    crate::println!("mirror: the bridge's frames are copied to the card at slot 2");
}

/// Sends a copy of `frame` (an Ethernet frame a bridge port sent) out of
/// the mirror card, if there is one; a copy that cannot go is counted.
pub fn frame(frame: &Mbuf) {
    let mut g = MIRROR.lock();
    let Port { card, stats } = &mut *g;
    let Some(card) = card.as_mut() else { return };
    card.reclaim();
    let Some(mut m) = stats.copy(pool(), frame) else {
        return;
    };
    // No offload negotiated: the header's builder writes all defaults.
    // The copy has the usual headroom, so this cannot fail.
    if m.push_emit(&VirtioNetHdrRepr::default(), ()).is_err() {
        return stats.bump(MirrorStat::DropTooLong);
    }
    let seg = Segment {
        addr: m.data_ptr() as u64,
        len: m.len() as u32,
        device_writes: false,
    };
    let Some(head) = card.tx.alloc_chain(&[seg]) else {
        return stats.bump(MirrorStat::DropRingFull);
    };
    m.set_state(MbufState::TxInflight);
    card.bufs[head as usize] = Some(m);
    card.tx.submit(head);
    if card.tx.should_notify() {
        card.dev.notify(TRANSMITQ);
    }
    stats.bump(MirrorStat::Frames);
}

/// Timer hook: frees the copies sent since the last reclaim.
pub fn tick() {
    if let Some(card) = MIRROR.lock().card.as_mut() {
        card.reclaim();
    }
}

/// Appends the mirror's counters to `netstat`'s; returns how many.
pub fn export(out: &mut [Counter]) -> usize {
    MIRROR.lock().stats.export(out)
}
