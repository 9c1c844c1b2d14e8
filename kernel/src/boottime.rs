//! The boot timeline: when each step of start-up finished, read from the
//! `time` CSR. Under QEMU `time` counts from the moment the machine
//! starts running (its virtual clock, which also stamps the frames of a
//! `filter-dump` capture), so each stamp is "µs since QEMU started the
//! guest" and lines up with the capture's frames. `netstat` exports the
//! stamps as counters (`boot_<step>_us`, only the steps that happened);
//! `cargo xtask bench` reads them to say where the time to the first
//! echo goes.
//!
//! Steps: hart 0 enters `main`; memory (allocator, page tables, traps,
//! PLIC) is set up; the disk and the NIC are up (the NIC's DHCP DISCOVER
//! is out); the first process is made; each other hart reaches its
//! scheduler; the first process has the file system (log replayed); and
//! the first `exec` of each of the first [`PROGRAMS`] programs to run
//! (`init`, `sh`, ...).

use core::sync::atomic::{AtomicU64, Ordering};

use abi::net::{Counter, COUNTER_NAME_LEN};
use alloc::format;

use crate::param::NCPU;
use crate::spinlock::Spinlock;

/// The `time` CSR ticks per µs (QEMU virt: 10 MHz).
const TICKS_PER_US: u64 = 10;

/// The steps of hart 0 and of the first process, in the order they
/// happen.
#[derive(Clone, Copy)]
pub enum Step {
    Main,
    Memory,
    Disk,
    Nic,
    FirstProcess,
    FileSystem,
}

/// Each [`Step`]'s counter.
const STEPS: [&str; 6] = [
    "boot_main_us",
    "boot_memory_us",
    "boot_disk_us",
    "boot_nic_us",
    "boot_first_process_us",
    "boot_fs_us",
];

static AT: [AtomicU64; STEPS.len()] = [const { AtomicU64::new(0) }; STEPS.len()];

/// When each hart other than 0 reached its scheduler.
static HART_UP: [AtomicU64; NCPU] = [const { AtomicU64::new(0) }; NCPU];

/// How many programs' first `exec` is kept.
pub const PROGRAMS: usize = 6;
/// The longest program name kept: `boot_exec_` + name + `_us` fits a
/// counter's name with its terminating zero.
const NAME_MAX: usize = COUNTER_NAME_LEN - "boot_exec__us".len() - 1;

/// A program's name and when it was first exec'd.
#[derive(Clone, Copy)]
struct FirstExec {
    name: [u8; NAME_MAX],
    len: usize,
    at: u64,
}

static EXECS: Spinlock<[Option<FirstExec>; PROGRAMS]> = Spinlock::new("boottime", [None; PROGRAMS]);

/// How many counters [`export`] writes at most.
pub const COUNTERS: usize = STEPS.len() + NCPU + PROGRAMS;

fn now() -> u64 {
    crate::riscv::r_time() as u64
}

/// Step `s` is done now.
pub fn done(s: Step) {
    AT[s as usize].store(now(), Ordering::Relaxed);
}

/// Hart `id` has reached its scheduler.
pub fn hart_up(id: usize) {
    HART_UP[id].store(now(), Ordering::Relaxed);
}

/// `exec` of `path` succeeded: the first of each program (by its last
/// path element) is kept, until [`PROGRAMS`] are.
pub fn exec(path: &[u8]) {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let name = &name[..name.len().min(NAME_MAX)];
    let mut execs = EXECS.lock();
    if execs.iter().flatten().any(|e| &e.name[..e.len] == name) {
        return;
    }
    if let Some(slot) = execs.iter_mut().find(|e| e.is_none()) {
        let mut e = FirstExec {
            name: [0; NAME_MAX],
            len: name.len(),
            at: now(),
        };
        e.name[..name.len()].copy_from_slice(name);
        *slot = Some(e);
    }
}

/// Appends the timeline to `netstat`'s counters (the steps that
/// happened); returns how many it wrote.
pub fn export(out: &mut [Counter]) -> usize {
    let mut slots = out.iter_mut();
    let mut n = 0;
    let mut put = |name: &str, ticks: u64| {
        if ticks == 0 {
            return;
        }
        if let Some(slot) = slots.next() {
            *slot = Counter::default();
            let len = name.len().min(COUNTER_NAME_LEN - 1);
            slot.name[..len].copy_from_slice(&name.as_bytes()[..len]);
            slot.value = ticks / TICKS_PER_US;
            n += 1;
        }
    };
    for (name, at) in STEPS.iter().zip(&AT) {
        put(name, at.load(Ordering::Relaxed));
    }
    for (id, at) in HART_UP.iter().enumerate() {
        put(&format!("boot_hart{id}_us"), at.load(Ordering::Relaxed));
    }
    for e in EXECS.lock().iter().flatten() {
        let name = core::str::from_utf8(&e.name[..e.len]).unwrap_or("?");
        put(&format!("boot_exec_{name}_us"), e.at);
    }
    n
}

// Every fixed name fits in a counter's name field with its terminating zero.
const _: () = {
    let mut i = 0;
    while i < STEPS.len() {
        assert!(STEPS[i].len() < COUNTER_NAME_LEN);
        i += 1;
    }
};
