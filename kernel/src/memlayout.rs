//! Physical and virtual memory layout (QEMU `-machine virt`).
//!
//! Physical: 0x00100000 test device (power off), 0x02000000 CLINT,
//! 0x0c000000 PLIC, 0x10000000 UART0, 0x10001000.. virtio-mmio slots,
//! 0x80000000 RAM where QEMU loads the kernel. The kernel maps all of this
//! at the same virtual addresses (direct map), so a kernel pointer is also
//! the physical (DMA) address.
//!
//! Top of every address space: the trampoline page, then (user) the
//! trapframe, or (kernel) the per-process kernel stacks each below a guard page.

use crate::param::KSTACK_PAGES;
use crate::riscv::{MAXVA, PGSIZE};

/// SiFive test device: write 0x5555 to power off, `(code << 16) | 0x3333` to fail.
pub const TEST_DEV: usize = 0x0010_0000;
pub const UART0: usize = 0x1000_0000;
pub const UART0_IRQ: u32 = 10;
/// virtio-mmio slot 0 (disk) and slot 1 (NIC).
pub const VIRTIO0: usize = 0x1000_1000;
pub const VIRTIO0_IRQ: u32 = 1;
pub const VIRTIO1: usize = 0x1000_2000;
pub const VIRTIO1_IRQ: u32 = 2;
/// virtio-mmio slot 2: the bridge's mirror card (`mirror.rs`), when QEMU
/// has one there; transmit only, so its IRQ (3) is never enabled.
pub const VIRTIO2: usize = 0x1000_3000;

pub const PLIC: usize = 0x0c00_0000;

/// Core-local interruptor: one 32-bit `msip` register per hart at its
/// start, which raises that hart's machine software interrupt (ipi.rs).
pub const CLINT: usize = 0x0200_0000;

pub const fn clint_msip(hart: usize) -> usize {
    CLINT + 4 * hart
}
/// The hart's 64-bit machine timer compare register (MTIP while
/// `mtime` >= it).
pub const fn clint_mtimecmp(hart: usize) -> usize {
    CLINT + 0x4000 + 8 * hart
}
pub const PLIC_SIZE: usize = 0x40_0000;
pub const fn plic_senable(hart: usize) -> usize {
    PLIC + 0x2080 + hart * 0x100
}
pub const fn plic_spriority(hart: usize) -> usize {
    PLIC + 0x20_1000 + hart * 0x2000
}
pub const fn plic_sclaim(hart: usize) -> usize {
    PLIC + 0x20_1004 + hart * 0x2000
}

/// The kernel expects RAM from KERNBASE to PHYSTOP (QEMU `-m 128M`).
pub const KERNBASE: usize = 0x8000_0000;
pub const PHYSTOP: usize = KERNBASE + 128 * 1024 * 1024;

/// The trampoline page, mapped at the highest address in both user and kernel space.
pub const TRAMPOLINE: usize = MAXVA - PGSIZE;

/// Kernel stack of process slot `p`, below the trampoline, each with an
/// unmapped guard page beneath it so an overflow faults instead of
/// silently corrupting the neighbour.
pub const fn kstack(p: usize) -> usize {
    TRAMPOLINE - (p + 1) * (KSTACK_PAGES + 1) * PGSIZE
}

/// User memory layout: text at 0x1000 (page 0 unmapped), data, stack with
/// a guard page below it, heap growing up; at the top the trapframe and trampoline.
pub const TRAPFRAME: usize = TRAMPOLINE - PGSIZE;
