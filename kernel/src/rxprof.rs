//! The receive path's profile: where the time goes between the NIC's
//! interrupt and the receiving process holding the bytes. Each received
//! frame's mbuf carries the `time` CSR at three points (`net::RxStamp`:
//! the driver's interrupt handler starts, it hands the frame to the stack,
//! the stack queues it on a socket); `recvfrom` adds two more (the process
//! runs and takes it off the queue, the copy to user space is done) and
//! [`record`] adds up each stage. `netstat` exports the sums as counters
//! (`rxprof_<stage>_n`, `_us`, `_max_us`); `netstat -t` prints them as a
//! table.

use core::sync::atomic::{AtomicU64, Ordering};

use abi::net::Counter;
use net::{RxStamp, RX_STAMPS};

/// The `time` CSR ticks per µs (QEMU virt: 10 MHz).
const TICKS_PER_US: u64 = 10;

/// The stages, in the order a frame passes them, each with the names of
/// its three counters: datagrams, total µs, longest µs.
const STAGES: [[&str; 3]; 4] = [
    // interrupt handler started -> frame handed to the stack
    [
        "rxprof_irq_to_stack_n",
        "rxprof_irq_to_stack_us",
        "rxprof_irq_to_stack_max_us",
    ],
    // stack input -> queued on the socket
    [
        "rxprof_stack_to_queue_n",
        "rxprof_stack_to_queue_us",
        "rxprof_stack_to_queue_max_us",
    ],
    // queued -> the woken process takes it in recvfrom
    [
        "rxprof_queue_to_recv_n",
        "rxprof_queue_to_recv_us",
        "rxprof_queue_to_recv_max_us",
    ],
    // taken -> copied to user space
    [
        "rxprof_recv_to_user_n",
        "rxprof_recv_to_user_us",
        "rxprof_recv_to_user_max_us",
    ],
];

/// How many counters [`export`] writes.
pub const COUNTERS: usize = STAGES.len() * 3;

/// One stage's sums (also `txprof`'s).
#[derive(Default)]
pub struct Stage {
    n: AtomicU64,
    ticks: AtomicU64,
    max: AtomicU64,
}

impl Stage {
    pub const fn new() -> Stage {
        Stage {
            n: AtomicU64::new(0),
            ticks: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    /// Adds one pass of `ticks` of the `time` CSR.
    pub fn add(&self, ticks: u64) {
        self.n.fetch_add(1, Ordering::Relaxed);
        self.ticks.fetch_add(ticks, Ordering::Relaxed);
        self.max.fetch_max(ticks, Ordering::Relaxed);
    }
}

static PROFILE: [Stage; STAGES.len()] = [const { Stage::new() }; STAGES.len()];

/// Adds one datagram's stages: `stamps` from its mbuf, `taken` when
/// recvfrom took it off the socket, `copied` when its bytes were in user
/// space. Frames that did not come from the NIC (loopback) carry no
/// interrupt stamp and are not counted.
pub fn record(stamps: [u64; RX_STAMPS], taken: u64, copied: u64) {
    let irq = stamps[RxStamp::Interrupt as usize];
    let stack = stamps[RxStamp::Stack as usize];
    let queued = stamps[RxStamp::Queued as usize];
    if irq == 0 || stack == 0 || queued == 0 {
        return;
    }
    crate::hartprof::count(crate::hartprof::Event::Recv);
    let points = [irq, stack, queued, taken, copied];
    for (stage, w) in PROFILE.iter().zip(points.windows(2)) {
        stage.add(w[1].saturating_sub(w[0]));
    }
}

/// Appends the profile to `netstat`'s counters; returns how many it wrote.
pub fn export(out: &mut [Counter]) -> usize {
    export_stages(&PROFILE, &STAGES, out)
}

/// Writes each stage's three counters, named by `names`, to `out`;
/// returns how many it wrote.
pub fn export_stages(stages: &[Stage], names: &[[&str; 3]], out: &mut [Counter]) -> usize {
    let values = stages.iter().flat_map(|s| {
        [
            s.n.load(Ordering::Relaxed),
            s.ticks.load(Ordering::Relaxed) / TICKS_PER_US,
            s.max.load(Ordering::Relaxed) / TICKS_PER_US,
        ]
    });
    let names = names.iter().flatten();
    let mut n = 0;
    for (slot, (name, value)) in out.iter_mut().zip(names.zip(values)) {
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
    while i < COUNTERS {
        assert!(STAGES[i / 3][i % 3].len() < abi::net::COUNTER_NAME_LEN);
        i += 1;
    }
};

// The stack's counters and these fit in one `netstat` call.
const _: () = assert!(
    net::Stat::COUNT + net::DropReason::COUNT + net::counters::EXTRA_COUNTERS + COUNTERS
        <= abi::net::MAX_COUNTERS
);
