//! The RISC-V Platform Level Interrupt Controller: routes device
//! interrupts (UART, virtio disk, virtio NIC) to the harts' S-mode contexts.

use core::ptr::{read_volatile, write_volatile};

use crate::memlayout::*;
use crate::proc::cpuid;

fn write(addr: usize, v: u32) {
    // SAFETY: PLIC registers are direct-mapped device memory.
    unsafe { write_volatile(addr as *mut u32, v) }
}

fn read(addr: usize) -> u32 {
    // SAFETY: as in write.
    unsafe { read_volatile(addr as *const u32) }
}

/// Give each device interrupt a non-zero priority (zero means disabled).
pub fn plicinit() {
    for irq in [UART0_IRQ, VIRTIO0_IRQ, VIRTIO1_IRQ] {
        write(PLIC + irq as usize * 4, 1);
    }
}

/// The hart that takes the NIC's interrupts.
pub const NET_HART: usize = 0;

/// Enable the device interrupts for this hart's S-mode context. The NIC's
/// go to [`NET_HART`] alone: the PLIC raises an interrupt on every hart
/// that enables it, and only one can claim it, so each received frame
/// would wake every idle hart (under QEMU, every vCPU thread) for nothing.
pub fn plicinithart() {
    let hart = cpuid();
    let net = if hart == NET_HART {
        1 << VIRTIO1_IRQ
    } else {
        0
    };
    write(
        plic_senable(hart),
        (1 << UART0_IRQ) | (1 << VIRTIO0_IRQ) | net,
    );
    // Accept interrupts of any priority above 0.
    write(plic_spriority(hart), 0);
}

/// Ask the PLIC what interrupt we should serve (0 = none).
pub fn claim() -> u32 {
    read(plic_sclaim(cpuid()))
}

/// Tell the PLIC we've served this IRQ.
pub fn complete(irq: u32) {
    write(plic_sclaim(cpuid()), irq);
}
