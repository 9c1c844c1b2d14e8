//! Glue between the network stack library (`net`) and the kernel: the one
//! global [`Stack`] in a spin lock, the mbuf pool, and the [`NetEnv`] the
//! stack runs against (clock, the virtio-net transmit queue, wake-ups).
//!
//! Who calls the stack, always through `NET.lock()` (interrupts off):
//! - `virtio_net::intr()` with each received frame (`Stack::input`);
//! - the timer, every tick on hart 0: [`tick`] (ARP retries and expiry,
//!   receive timeouts);
//! - the socket system calls in `sysnet.rs`.
//!
//! Lock order: `NET` → `virtio_net`'s `NIC` (the stack transmits while
//! held) → `syspoll`'s `POLL` → a process's `p.lock` (wake-ups). Nothing
//! takes `NET` while holding the others.

use net::{Buf, IfId, Mbuf, NetEnv, Pool, SocketId, Stack};

use crate::proc;
use crate::spinlock::Spinlock;

/// Packet buffers: 512 × 2 KiB, in .bss.
pub const NMBUF: usize = 512;
static POOL: Pool<[Buf; NMBUF]> = Pool::new();

/// The pool every mbuf comes from.
pub fn pool() -> &'static Pool {
    &POOL
}

/// The network stack. Lock it for every call.
pub static NET: Spinlock<Stack> = Spinlock::new("net", Stack::new(&POOL));

/// The `mtime` timebase of QEMU's virt machine: 10 MHz.
const TIMEBASE_PER_MS: u64 = 10_000;

/// Milliseconds since boot, from the `time` CSR (no lock).
pub fn now_ms() -> u64 {
    crate::riscv::r_time() as u64 / TIMEBASE_PER_MS
}

/// The sleep channel of socket `id`.
pub fn chan(id: SocketId) -> usize {
    &NET as *const _ as usize + 1 + id.0 as usize
}

/// The kernel's side of the stack: no state, the devices are global.
pub struct KernelEnv;

impl NetEnv for KernelEnv {
    fn now_ms(&self) -> u64 {
        now_ms()
    }

    fn transmit(&mut self, _iface: IfId, frame: Mbuf) -> Result<(), Mbuf> {
        crate::virtio_net::transmit(frame)
    }

    fn wakeup(&mut self, sock: SocketId) {
        proc::wakeup(chan(sock));
        crate::syspoll::notify();
    }

    fn clock(&self) -> u64 {
        crate::riscv::r_time() as u64
    }
}

/// Timer hook (hart 0, every tick).
pub fn tick() {
    NET.lock().tick(&mut KernelEnv);
    crate::virtio_net::tick();
}
