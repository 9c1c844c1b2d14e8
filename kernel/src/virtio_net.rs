//! Driver for the virtio network card (virtio spec 1.2, §5.1), on the
//! modern virtio-mmio transport at slot 1 (0x10002000, IRQ 2).
//!
//! Two split virtqueues of [`QSIZE`] entries: receive (queue 0) and
//! transmit (queue 1). Every buffer is an mbuf:
//! - RX: the ring is kept full of fresh mbufs, each posted as one
//!   device-writable descriptor at its headroom (so a reply can later be
//!   built in front of the frame). The device writes the 12-byte
//!   `VirtioNetHdr` and the frame; the interrupt handler pulls the header
//!   and hands the same mbuf to the stack, posting a fresh one in its
//!   place. With no fresh mbuf the frame is dropped (`drop_rx_no_mbuf`) and
//!   its buffer reposted, so the ring never runs dry. A used length shorter
//!   than the header is counted as `drop_rx_runt`.
//! - TX: the stack's frame gets a `VirtioNetHdr` pushed in front by its
//!   generated builder (no offloads negotiated: all defaults) and is posted as one device-readable
//!   descriptor; the mbuf is kept by descriptor index and freed when the
//!   device returns it. TX completions raise no interrupt (we ask the
//!   device not to): sent frames are reclaimed on the next transmit, RX
//!   interrupt or timer tick. A full ring refuses the frame (the stack
//!   counts `drop_tx_ring_full`).
//! - Each hand-over is recorded in the mbuf pool (`MbufState::RxPosted`,
//!   `TxInflight`, back `InStack`), which is what `netstat`'s
//!   `mbufs_rx_posted` and `mbufs_tx_inflight` count.
//!
//! Features: VERSION_1, MAC (read from config space) and EVENT_IDX. Each
//! notification is a VM exit into the hypervisor, so they go out only when
//! the device asks for them: with event index, a transmit notifies only
//! when the device has sent everything before it and stopped reading the
//! ring (while it is still sending, it finds the new frame by itself), and
//! the RX interrupt stays off while the handler drains the ring. A
//! [`TxBatch`] (`sendmmsg`) defers the transmit notification to its end,
//! so many frames cost one. `netstat` shows the notifications sent and the
//! buffers posted without one of their own (`virtio_net_*`, [`export`]).

use core::sync::atomic::{AtomicUsize, Ordering};

use abi::net::Counter;
use net::{DropReason, Mbuf, MbufState, RxStamp};
use wire::virtio_mmio::{DeviceId, Features};
use wire::virtio_net::{
    VirtioNetConfig, VirtioNetFeatures, VirtioNetHdr, VirtioNetHdrRepr, RECEIVEQ, TRANSMITQ,
};

use crate::memlayout::VIRTIO1;
use crate::netglue::{pool, root, KernelEnv};
use crate::spinlock::Spinlock;
use crate::virtio::VirtioMmio;
use crate::virtqueue::{Segment, Virtqueue};

/// Entries per queue (≤ 128 keeps each queue in one page).
pub const QSIZE: usize = 128;
/// Frames handed to the stack per lock round trip.
const RX_BATCH: usize = 16;
/// While a [`TxBatch`] is open, the device is still notified every this
/// many frames, so it starts sending before the ring fills.
const TX_BATCH: u16 = 32;

/// How many [`TxBatch`]es are open.
static TX_HELD: AtomicUsize = AtomicUsize::new(0);

/// While one lives, `transmit` posts frames without notifying the device
/// (but every [`TX_BATCH`]); the last one dropped notifies it for all of
/// them. Hold it only across work that does not sleep (a `sendmmsg`).
pub struct TxBatch(());

impl TxBatch {
    pub fn begin() -> TxBatch {
        TX_HELD.fetch_add(1, Ordering::SeqCst);
        TxBatch(())
    }
}

impl Drop for TxBatch {
    fn drop(&mut self) {
        // A transmit that saw the batch open posted under the NIC lock,
        // which this waits for: no frame is left unannounced.
        if TX_HELD.fetch_sub(1, Ordering::SeqCst) == 1 {
            if let Some(nic) = NIC.lock().as_mut() {
                nic.kick(TRANSMITQ, TX_NOTIFIES);
            }
        }
    }
}

struct Nic {
    dev: VirtioMmio,
    rx: Virtqueue<QSIZE>,
    tx: Virtqueue<QSIZE>,
    /// The mbuf posted at each RX descriptor.
    rx_bufs: [Option<Mbuf>; QSIZE],
    /// The mbuf being sent by each TX descriptor.
    tx_bufs: [Option<Mbuf>; QSIZE],
    /// The counters, in the order of [`STATS`].
    stats: [u64; STATS.len()],
}

/// The driver's counters, as `netstat` names them.
const STATS: [&str; 6] = [
    // 1 when VIRTIO_F_EVENT_IDX was negotiated.
    "virtio_net_event_idx",
    // Notifications of the TX queue (each a VM exit), and frames posted
    // without one of their own (the device was still reading the ring, or
    // one notification covered several).
    "virtio_net_tx_notifies",
    "virtio_net_tx_notifies_saved",
    // The same for RX buffers reposted.
    "virtio_net_rx_notifies",
    "virtio_net_rx_notifies_saved",
    // Times the interrupt handler ran.
    "virtio_net_interrupts",
];
const EVENT_IDX: usize = 0;
const TX_NOTIFIES: usize = 1;
const RX_NOTIFIES: usize = 3;
const INTERRUPTS: usize = 5;
/// How many counters [`export`] writes.
pub const COUNTERS: usize = STATS.len();

static NIC: Spinlock<Option<Nic>> = Spinlock::new("virtio_net", None);

impl Nic {
    /// Posts `m`'s tailroom for the device to write a frame into.
    fn post_rx(&mut self, mut m: Mbuf) -> Result<(), Mbuf> {
        let seg = Segment {
            addr: m.tail_ptr() as u64,
            len: m.tailroom() as u32,
            device_writes: true,
        };
        match self.rx.alloc_chain(&[seg]) {
            Some(head) => {
                m.set_state(MbufState::RxPosted);
                self.rx_bufs[head as usize] = Some(m);
                self.rx.submit(head);
                Ok(())
            }
            None => Err(m),
        }
    }

    /// Notifies queue `q` if the device wants it for the buffers posted
    /// since the last kick; counts the notification and the buffers that
    /// went without one of their own (`kind` is `TX_NOTIFIES` or
    /// `RX_NOTIFIES`, the saved count follows it).
    fn kick(&mut self, q: u32, kind: usize) {
        let vq = if q == TRANSMITQ {
            &mut self.tx
        } else {
            &mut self.rx
        };
        let posted = u64::from(vq.unjudged());
        if posted == 0 {
            return;
        }
        let wanted = vq.should_notify();
        if wanted {
            self.dev.notify(q);
            self.stats[kind] += 1;
        }
        self.stats[kind + 1] += posted - u64::from(wanted);
    }

    /// Frees the mbufs of frames the device has sent.
    fn reclaim_tx(&mut self) {
        while let Some(u) = self.tx.pop_used() {
            self.tx.free_chain(u.id);
            // Dropping the mbuf gives it back to the pool.
            self.tx_bufs[u.id as usize % QSIZE] = None;
        }
    }
}

/// Brings the card up (hart 0, at boot, after the heap). Without a card the
/// stack still works for loopback; transmit then drops.
pub fn init() {
    let dev = match VirtioMmio::probe(VIRTIO1, DeviceId::NET) {
        Ok(d) => d,
        Err(e) => {
            crate::println!("virtio_net: no network card ({:?})", e);
            return;
        }
    };
    dev.begin_init();
    let wanted = VirtioNetFeatures::MAC.0 | Features::EVENT_IDX.0;
    let features = match dev.negotiate(|offered| offered & wanted) {
        Ok(f) => f,
        Err(e) => {
            crate::println!("virtio_net: feature negotiation failed ({:?})", e);
            return;
        }
    };
    let event_idx = Features(features).contains(Features::EVENT_IDX);
    let mut rx = Virtqueue::new();
    let mut tx = Virtqueue::new();
    if event_idx {
        rx.use_event_idx();
        tx.use_event_idx();
    }
    if dev.setup_queue(RECEIVEQ, &rx).is_err() || dev.setup_queue(TRANSMITQ, &tx).is_err() {
        crate::println!("virtio_net: queue setup failed");
        return;
    }
    let mac = if VirtioNetFeatures(features).contains(VirtioNetFeatures::MAC) {
        dev.read_config_array(VirtioNetConfig::MAC)
    } else {
        net::Iface::UNCONFIGURED.mac
    };
    root().set_mac(mac);

    let mut g = NIC.lock();
    let nic = g.insert(Nic {
        dev,
        rx,
        tx,
        rx_bufs: [const { None }; QSIZE],
        tx_bufs: [const { None }; QSIZE],
        stats: [0; STATS.len()],
    });
    nic.stats[EVENT_IDX] = u64::from(event_idx);
    let mut posted = 0;
    while let Some(m) = pool().alloc() {
        if nic.post_rx(m).is_err() {
            break;
        }
        posted += 1;
    }
    nic.tx.suppress_interrupts(true);
    nic.dev.driver_ok();
    nic.kick(RECEIVEQ, RX_NOTIFIES);
    drop(g);
    crate::println!(
        "virtio_net: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, {} rx buffers",
        mac[0],
        mac[1],
        mac[2],
        mac[3],
        mac[4],
        mac[5],
        posted
    );
    // The link is up: ask for an address (no address is written in the
    // kernel; `ifconfig` can set one instead).
    root().dhcp_start(&mut KernelEnv::root());
}

/// Sends one frame (called by the root stack, its lock held).
pub fn transmit(mut m: Mbuf) -> Result<(), Mbuf> {
    // No offload negotiated: no flags, no segmentation (GSO_NONE), the
    // rest zero; the header's builder writes it.
    let entered = crate::riscv::r_time() as u64;
    if m.push_emit(&VirtioNetHdrRepr::default(), ()).is_err() {
        return Err(m);
    }
    let mut g = NIC.lock();
    let Some(nic) = g.as_mut() else { return Err(m) };
    nic.reclaim_tx();
    let seg = Segment {
        addr: m.data_ptr() as u64,
        len: m.len() as u32,
        device_writes: false,
    };
    let Some(head) = nic.tx.alloc_chain(&[seg]) else {
        return Err(m);
    };
    m.set_state(MbufState::TxInflight);
    nic.tx_bufs[head as usize] = Some(m);
    nic.tx.submit(head);
    if TX_HELD.load(Ordering::SeqCst) == 0 || nic.tx.unjudged() >= TX_BATCH {
        nic.kick(TRANSMITQ, TX_NOTIFIES);
    }
    drop(g);
    crate::txprof::record(crate::txprof::TxStage::Driver, entered);
    Ok(())
}

/// Could the TX ring take `frames` more now (after freeing those sent)?
/// Without a card, yes: transmit then drops and counts.
pub fn tx_room(frames: usize) -> bool {
    match NIC.lock().as_mut() {
        Some(nic) => {
            nic.reclaim_tx();
            nic.tx.num_free() >= frames
        }
        None => true,
    }
}

/// Timer hook: frees the mbufs of frames sent since the last reclaim.
pub fn tick() {
    if let Some(nic) = NIC.lock().as_mut() {
        nic.reclaim_tx();
    }
}

/// Appends the driver's counters to `netstat`'s; returns how many.
pub fn export(out: &mut [Counter]) -> usize {
    let stats = NIC
        .lock()
        .as_ref()
        .map_or([0; STATS.len()], |nic| nic.stats);
    let mut n = 0;
    for (slot, (name, value)) in out.iter_mut().zip(STATS.iter().zip(stats)) {
        *slot = Counter::default();
        slot.name[..name.len()].copy_from_slice(name.as_bytes());
        slot.value = value;
        n += 1;
    }
    n
}

// Every name fits in a counter's name field with its terminating zero.
const _: () = {
    let mut i = 0;
    while i < STATS.len() {
        assert!(STATS[i].len() < abi::net::COUNTER_NAME_LEN);
        i += 1;
    }
};

/// The interrupt handler (IRQ 2): reclaims sent frames, takes received
/// ones, refills the RX ring, and runs the frames through the stack (which
/// wakes the receiving processes). The device is asked not to interrupt
/// while the ring is drained, and to interrupt again once it is empty.
pub fn intr() {
    let entered = crate::riscv::r_time() as u64;
    let mut first = true;
    loop {
        let mut batch: [Option<Mbuf>; RX_BATCH] = [const { None }; RX_BATCH];
        let mut drops: [Option<DropReason>; RX_BATCH] = [None; RX_BATCH];
        let (mut n, mut ndrops) = (0, 0);
        let mut more = true;
        {
            let mut g = NIC.lock();
            let Some(nic) = g.as_mut() else { return };
            if first {
                nic.stats[INTERRUPTS] += 1;
                first = false;
            }
            nic.dev.ack_interrupt();
            nic.reclaim_tx();
            nic.rx.suppress_interrupts(true);
            let mut reposted = false;
            while n + ndrops < RX_BATCH {
                let Some(u) = nic.rx.pop_used() else { break };
                nic.rx.free_chain(u.id);
                let Some(mut m) = nic.rx_bufs[u.id as usize % QSIZE].take() else {
                    // Not ours (cannot happen): still keep the ring full.
                    if let Some(fresh) = pool().alloc() {
                        let _ = nic.post_rx(fresh);
                    }
                    continue;
                };
                let fresh = match pool().alloc() {
                    Some(fresh) => {
                        // The device wrote the header and the frame.
                        match m.rx_complete(u.len as usize, VirtioNetHdr::LEN) {
                            Ok(()) => {
                                batch[n] = Some(m);
                                n += 1;
                            }
                            Err(why) => {
                                drops[ndrops] = Some(why);
                                ndrops += 1;
                            }
                        }
                        fresh
                    }
                    None => {
                        // Keep the ring full: drop the frame, reuse its buffer.
                        drops[ndrops] = Some(DropReason::RxNoMbuf);
                        ndrops += 1;
                        m.reset();
                        m
                    }
                };
                // A descriptor was just freed, so this cannot fail; if it
                // did, the mbuf would simply go back to the pool.
                let _ = nic.post_rx(fresh);
                reposted = true;
            }
            if reposted {
                nic.kick(RECEIVEQ, RX_NOTIFIES);
            }
            if n + ndrops < RX_BATCH {
                // Drained: interrupts back on, then one more look for a
                // frame used before they were.
                nic.rx.suppress_interrupts(false);
                more = nic.rx.has_used();
            }
        }
        if n + ndrops == 0 && !more {
            return;
        }
        let mut net = root();
        for why in drops.iter().take(ndrops).flatten() {
            net.count_drop(*why);
        }
        for m in batch.iter_mut().take(n) {
            if let Some(mut m) = m.take() {
                m.stamp(RxStamp::Interrupt, entered);
                m.stamp(RxStamp::Stack, crate::riscv::r_time() as u64);
                net.input(&mut KernelEnv::root(), m);
            }
        }
        drop(net);
        // What the root stack sent on to the bridge goes now.
        crate::bridge::flush();
        if !more {
            return;
        }
    }
}
