//! Where each hart's time goes, for the receive profile of `netstat -t`:
//! how long it idled in the scheduler's `wfi` and how often it woke from
//! there, the interrupts it took (timer ticks, device interrupts, wake-up
//! IPIs), the datagrams processes received on it (`recvfrom`), and how
//! often it spun on a busy lock; and for the IPIs, how long one took from
//! [`ipi_sent`] to the woken hart's handler. Under QEMU each hart is a
//! host thread, so a hart that wakes often takes a host core from the
//! others and from the device's I/O thread. `netstat` exports the figures
//! as counters (`hart<N>_<what>`, `ipi_*`) for the harts that started.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use abi::net::Counter;

use crate::param::NCPU;
use crate::proc::cpuid;
use crate::riscv::r_time;
use crate::spinlock::IntrOff;

/// The `time` CSR ticks per µs (QEMU virt: 10 MHz).
const TICKS_PER_US: u64 = 10;

/// What a hart counts, in the order of [`NAMES`].
#[derive(Clone, Copy)]
pub enum Event {
    /// Left the scheduler's `wfi` (whatever woke it).
    Wakeup,
    /// The scheduler switched to a process.
    Run,
    /// A timer interrupt.
    Tick,
    /// A device interrupt through the PLIC.
    DeviceIrq,
    /// Another hart's wake-up call.
    Ipi,
    /// A process took a datagram from the NIC off a socket in `recvfrom`
    /// (one the receive profile counts).
    Recv,
    /// A failed attempt to take a busy spinlock.
    LockSpin,
}

const EVENTS: usize = 7;

/// The counter name of each [`Event`], then of the idle time, after `hart<N>_`.
const NAMES: [&str; EVENTS + 1] = abi::net::HART_COUNTERS;

/// The IPI counters: sent, and of those taken, how many were timed, their
/// total and longest latency.
const IPI_NAMES: [&str; 4] = [
    "ipi_sent",
    "ipi_latency_n",
    "ipi_latency_us",
    "ipi_latency_max_us",
];

/// Locks whose spins are counted by name (`spins_<lock>`); the spins on
/// others count only in their hart's `lock_spins`.
const LOCKS: usize = 8;

/// Counters [`export`] may write.
pub const COUNTERS: usize = NCPU * NAMES.len() + IPI_NAMES.len() + LOCKS;

struct Hart {
    events: [AtomicU64; EVENTS],
    idle_ticks: AtomicU64,
    /// `time` when an IPI was last sent to this hart and not yet taken
    /// (0: none outstanding).
    ipi_sent_at: AtomicU64,
}

static HARTS: [Hart; NCPU] = [const {
    Hart {
        events: [const { AtomicU64::new(0) }; EVENTS],
        idle_ticks: AtomicU64::new(0),
        ipi_sent_at: AtomicU64::new(0),
    }
}; NCPU];

/// How many harts have started (hart ids are 0..ONLINE).
static ONLINE: AtomicUsize = AtomicUsize::new(0);
static IPIS_SENT: AtomicU64 = AtomicU64::new(0);
static IPIS_TIMED: AtomicU64 = AtomicU64::new(0);
static IPI_TICKS: AtomicU64 = AtomicU64::new(0);
static IPI_MAX_TICKS: AtomicU64 = AtomicU64::new(0);

/// The names of the locks spun on, each slot taken once, and their spins.
static LOCK_NAMES: [spin::Once<&'static str>; LOCKS] = [const { spin::Once::new() }; LOCKS];
static LOCK_SPINS: [AtomicU64; LOCKS] = [const { AtomicU64::new(0) }; LOCKS];

/// This hart has started: its counters are exported from now on.
pub fn online(hart: usize) {
    ONLINE.fetch_max(hart + 1, Ordering::Relaxed);
}

/// Counts `e` on this hart.
pub fn count(e: Event) {
    let _off = IntrOff::new();
    HARTS[cpuid()].events[e as usize].fetch_add(1, Ordering::Relaxed);
}

/// Counts `n` failed attempts to take the lock `name` on this hart
/// (interrupts are off: the spinlock turned them off before trying).
pub fn lock_spins(name: &'static str, n: u64) {
    HARTS[cpuid()].events[Event::LockSpin as usize].fetch_add(n, Ordering::Relaxed);
    for (slot, spins) in LOCK_NAMES.iter().zip(&LOCK_SPINS) {
        // A free slot becomes this name's, unless another hart took it first.
        let owner = slot.call_once(|| name);
        if *owner == name {
            spins.fetch_add(n, Ordering::Relaxed);
            return;
        }
    }
}

/// Runs the scheduler's `wait` (its `wfi`, interrupts off) and adds the
/// time to this hart's idle time.
pub fn idle(wait: impl FnOnce()) {
    let hart = &HARTS[cpuid()];
    let t = r_time() as u64;
    wait();
    hart.idle_ticks
        .fetch_add((r_time() as u64).saturating_sub(t), Ordering::Relaxed);
    hart.events[Event::Wakeup as usize].fetch_add(1, Ordering::Relaxed);
}

/// An IPI is on its way to `hart`.
pub fn ipi_sent(hart: usize) {
    IPIS_SENT.fetch_add(1, Ordering::Relaxed);
    // An earlier one still outstanding keeps its (earlier) time.
    let _ = HARTS[hart].ipi_sent_at.compare_exchange(
        0,
        r_time() as u64,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
}

/// This hart took an IPI (interrupts off, in its handler).
pub fn ipi_taken() {
    let hart = &HARTS[cpuid()];
    hart.events[Event::Ipi as usize].fetch_add(1, Ordering::Relaxed);
    let sent = hart.ipi_sent_at.swap(0, Ordering::Relaxed);
    if sent != 0 {
        let d = (r_time() as u64).saturating_sub(sent);
        IPIS_TIMED.fetch_add(1, Ordering::Relaxed);
        IPI_TICKS.fetch_add(d, Ordering::Relaxed);
        IPI_MAX_TICKS.fetch_max(d, Ordering::Relaxed);
    }
}

/// Appends the counters of the harts that started and the IPI latency
/// to `netstat`'s; returns how many it wrote.
pub fn export(out: &mut [Counter]) -> usize {
    let mut n = 0;
    let mut put = |name: &[&str], value: u64| {
        let Some(slot) = out.get_mut(n) else { return };
        *slot = Counter::default();
        // Cut to fit with the terminating zero (a long lock name).
        let bytes = name.iter().flat_map(|part| part.bytes());
        for (to, b) in slot.name[..abi::net::COUNTER_NAME_LEN - 1]
            .iter_mut()
            .zip(bytes)
        {
            *to = b;
        }
        slot.value = value;
        n += 1;
    };
    let digits = ["0", "1", "2", "3", "4", "5", "6", "7"];
    for (id, hart) in HARTS
        .iter()
        .enumerate()
        .take(ONLINE.load(Ordering::Relaxed))
    {
        for (e, name) in NAMES.iter().take(EVENTS).enumerate() {
            put(
                &["hart", digits[id], "_", name],
                hart.events[e].load(Ordering::Relaxed),
            );
        }
        put(
            &["hart", digits[id], "_", NAMES[EVENTS]],
            hart.idle_ticks.load(Ordering::Relaxed) / TICKS_PER_US,
        );
    }
    put(&[IPI_NAMES[0]], IPIS_SENT.load(Ordering::Relaxed));
    put(&[IPI_NAMES[1]], IPIS_TIMED.load(Ordering::Relaxed));
    put(
        &[IPI_NAMES[2]],
        IPI_TICKS.load(Ordering::Relaxed) / TICKS_PER_US,
    );
    put(
        &[IPI_NAMES[3]],
        IPI_MAX_TICKS.load(Ordering::Relaxed) / TICKS_PER_US,
    );
    for (slot, spins) in LOCK_NAMES.iter().zip(&LOCK_SPINS) {
        if let Some(name) = slot.get() {
            put(&["spins_", name], spins.load(Ordering::Relaxed));
        }
    }
    n
}

// A hart's number is one digit, and every name fits in a counter's name
// field with its terminating zero.
const _: () = assert!(NCPU <= 8);
const _: () = {
    let mut i = 0;
    while i < NAMES.len() {
        assert!("hart0_".len() + NAMES[i].len() < abi::net::COUNTER_NAME_LEN);
        i += 1;
    }
    let mut i = 0;
    while i < IPI_NAMES.len() {
        assert!(IPI_NAMES[i].len() < abi::net::COUNTER_NAME_LEN);
        i += 1;
    }
};
