//! Inter-processor interrupts: how one hart wakes another that idles in
//! `wfi`, so a process made runnable by a system call on one hart runs at
//! once on an idle one instead of waiting up to a tick.
//!
//! RISC-V lets only machine mode raise another hart's software interrupt
//! (the CLINT's per-hart `msip` register). Without an SBI firmware
//! (`-bios none`) we supply the one M-mode piece ourselves: `ipivec`, the
//! machine trap vector, acknowledges the `msip` write and raises the
//! hart's *supervisor* software interrupt (sip.SSIP). The kernel, in
//! S-mode, sends with [`send`] and takes SSIP in `trap::devintr`, which
//! only has to clear it: the scheduler loop then finds the runnable process.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::memlayout::clint_msip;
use crate::param::NCPU;
use crate::riscv::{r_sip, w_sip, SIP_SSIP};

/// Harts currently in (or about to enter) the scheduler's idle `wfi`.
static IDLE: [AtomicBool; NCPU] = [const { AtomicBool::new(false) }; NCPU];

/// Scratch space for `ipivec` (two registers per hart), found through
/// `mscratch`.
#[no_mangle]
static mut IPI_SCRATCH: [[usize; 2]; NCPU] = [[0; 2]; NCPU];

/// The scheduler on `hart` may miss a process made runnable from now on;
/// wake it if so. Set before scanning the process table, so a wakeup that
/// races with the scan still sends an interrupt.
pub fn set_idle(hart: usize, idle: bool) {
    IDLE[hart].store(idle, Ordering::SeqCst);
}

/// A process became runnable: interrupt one idle hart other than `me`.
pub fn kick_idle_hart(me: usize) {
    for (hart, idle) in IDLE.iter().enumerate() {
        if hart != me && idle.swap(false, Ordering::SeqCst) {
            send(hart);
            return;
        }
    }
}

/// Interrupts every idle hart (at boot: those waiting for hart 0).
pub fn wake_idle_harts() {
    for (hart, idle) in IDLE.iter().enumerate() {
        if idle.swap(false, Ordering::SeqCst) {
            send(hart);
        }
    }
}

/// Raises `hart`'s machine software interrupt; `ipivec` forwards it.
fn send(hart: usize) {
    crate::hartprof::ipi_sent(hart);
    // SAFETY: clint_msip(hart) is the hart's 32-bit MSIP register, mapped
    // in the kernel page table; writing 1 only requests an interrupt.
    unsafe { core::ptr::write_volatile(clint_msip(hart) as *mut u32, 1) };
}

/// The supervisor half: acknowledge the forwarded interrupt.
pub fn intr() {
    crate::hartprof::ipi_taken();
    // SAFETY: clearing our own pending software interrupt has no other effect.
    unsafe { w_sip(r_sip() & !SIP_SSIP) };
}

/// M-mode set-up for this hart, from `start`: scratch space and the vector.
///
/// # Safety
/// Machine mode, once per hart, before `mret`.
pub unsafe fn init_machine_mode(hart: usize) {
    use crate::riscv::{r_mie, w_mie, w_mscratch, w_mtvec, MIE_MSIE};
    // SAFETY: each hart hands only its own row to its own ipivec, which
    // is the sole user of it; ipivec is a complete M-mode trap handler;
    // the caller guarantees M-mode before mret.
    unsafe {
        w_mscratch(core::ptr::addr_of_mut!(IPI_SCRATCH[hart]) as usize);
        w_mtvec(ipivec as *const () as usize);
        w_mie(r_mie() | MIE_MSIE);
    }
}

extern "C" {
    fn ipivec();
}

// The only trap that reaches machine mode: a software interrupt from
// another hart. Clear this hart's msip, raise SSIP, return.
core::arch::global_asm!(
    r#"
    .section .text
    .align 4
    .globl ipivec
ipivec:
    csrrw a0, mscratch, a0
    sd t0, 0(a0)
    sd t1, 8(a0)
    csrr t0, mhartid
    slli t0, t0, 2
    li t1, {clint}
    add t0, t0, t1
    sw zero, 0(t0)
    li t1, {ssip}
    csrs mip, t1
    ld t0, 0(a0)
    ld t1, 8(a0)
    csrrw a0, mscratch, a0
    mret
    "#,
    clint = const crate::memlayout::CLINT,
    ssip = const SIP_SSIP,
);
