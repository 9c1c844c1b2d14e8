//! RISC-V control and status registers and page-table bits.
//!
//! Every CSR access in the kernel goes through these small wrappers so the
//! inline assembly lives in one place. Reading a CSR has no side effects we
//! care about; writing one can change how the hart behaves, so the writers
//! are `unsafe` and callers say why the new value is right.
#![allow(dead_code)]

use core::arch::asm;

macro_rules! csr_read {
    ($(#[$doc:meta])* $fn:ident, $csr:literal) => {
        $(#[$doc])*
        #[inline(always)]
        pub fn $fn() -> usize {
            let x: usize;
            // SAFETY: reading this CSR has no side effects.
            unsafe { asm!(concat!("csrr {}, ", $csr), out(reg) x) };
            x
        }
    };
}

macro_rules! csr_write {
    ($(#[$doc:meta])* $fn:ident, $csr:literal) => {
        $(#[$doc])*
        /// # Safety
        /// Changes how this hart traps, translates or runs; the caller
        /// must know the new value is consistent with the kernel's state.
        #[inline(always)]
        pub unsafe fn $fn(x: usize) {
            // SAFETY: the caller vouches for the value (see `# Safety`).
            unsafe { asm!(concat!("csrw ", $csr, ", {}"), in(reg) x) };
        }
    };
}

// Machine mode (used only by start.rs before mret).
csr_read!(r_mhartid, "mhartid");
csr_read!(r_mstatus, "mstatus");
csr_write!(w_mstatus, "mstatus");
csr_write!(w_mepc, "mepc");
csr_write!(w_medeleg, "medeleg");
csr_write!(w_mideleg, "mideleg");
csr_read!(r_mie, "mie");
csr_write!(w_mie, "mie");
csr_write!(w_mtvec, "mtvec");
csr_write!(w_mscratch, "mscratch");
csr_write!(w_pmpcfg0, "pmpcfg0");
csr_write!(w_pmpaddr0, "pmpaddr0");
// menvcfg (0x30a) and stimecmp (0x14d) by number: the assembler may not
// know their names without the Sstc extension enabled.
csr_read!(r_menvcfg, "0x30a");
csr_write!(w_menvcfg, "0x30a");
csr_read!(r_mcounteren, "mcounteren");
csr_write!(w_mcounteren, "mcounteren");
csr_write!(w_scounteren, "scounteren");

// Supervisor mode.
csr_read!(r_sstatus, "sstatus");
csr_write!(w_sstatus, "sstatus");
csr_read!(r_sip, "sip");
csr_write!(w_sip, "sip");
csr_read!(r_sie, "sie");
csr_write!(w_sie, "sie");
csr_read!(r_sepc, "sepc");
csr_write!(w_sepc, "sepc");
csr_read!(r_stvec, "stvec");
csr_write!(w_stvec, "stvec");
csr_read!(r_satp, "satp");
csr_write!(w_satp, "satp");
csr_read!(r_scause, "scause");
csr_read!(r_stval, "stval");
csr_write!(w_stimecmp, "0x14d");
csr_read!(
    /// The real-time counter (10 MHz on QEMU virt).
    r_time,
    "time"
);

pub const MSTATUS_MPP_MASK: usize = 3 << 11;
pub const MSTATUS_MPP_S: usize = 1 << 11;
pub const MIE_STIE: usize = 1 << 5;
/// mie.MSIE: machine software interrupts (inter-processor, see ipi.rs).
pub const MIE_MSIE: usize = 1 << 3;
/// sip.SSIP: supervisor software interrupt pending.
pub const SIP_SSIP: usize = 1 << 1;
/// menvcfg.STCE: lets S-mode use `stimecmp` (Sstc).
pub const MENVCFG_STCE: usize = 1 << 63;
/// mcounteren.TM: lets S-mode read `time`.
pub const MCOUNTEREN_TM: usize = 1 << 1;
/// scounteren.TM: lets user programs read `time` too (`rdtime`), so they
/// can time round trips finer than a tick without a system call, as a
/// Linux vDSO does.
pub const SCOUNTEREN_TM: usize = 1 << 1;

/// Previous mode: 1 = supervisor, 0 = user.
pub const SSTATUS_SPP: usize = 1 << 8;
/// Supervisor previous interrupt enable.
pub const SSTATUS_SPIE: usize = 1 << 5;
/// Supervisor interrupt enable.
pub const SSTATUS_SIE: usize = 1 << 1;
/// Floating-point unit state (Off/Initial/Clean/Dirty).
pub const SSTATUS_FS_MASK: usize = 3 << 13;
pub const SSTATUS_FS_INITIAL: usize = 1 << 13;
pub const SSTATUS_FS_CLEAN: usize = 2 << 13;
pub const SSTATUS_FS_DIRTY: usize = 3 << 13;

pub const SIE_SEIE: usize = 1 << 9;
pub const SIE_STIE: usize = 1 << 5;
pub const SIE_SSIE: usize = 1 << 1;

/// Enable device interrupts on this hart.
#[inline(always)]
pub fn intr_on() {
    // SAFETY: setting SIE only lets pending interrupts in; the trap
    // handlers are installed before any caller gets here.
    unsafe { w_sstatus(r_sstatus() | SSTATUS_SIE) };
}

/// Disable device interrupts on this hart.
#[inline(always)]
pub fn intr_off() {
    // SAFETY: masking interrupts is always safe.
    unsafe { w_sstatus(r_sstatus() & !SSTATUS_SIE) };
}

/// Are device interrupts enabled?
#[inline(always)]
pub fn intr_get() -> bool {
    r_sstatus() & SSTATUS_SIE != 0
}

/// The thread pointer holds this hart's id (cpuid) in the kernel.
#[inline(always)]
pub fn r_tp() -> usize {
    let x: usize;
    // SAFETY: reads a register.
    unsafe { asm!("mv {}, tp", out(reg) x) };
    x
}

/// # Safety
/// Only start() and the trap path may set tp: everything else relies on
/// it being this hart's id.
#[inline(always)]
pub unsafe fn w_tp(x: usize) {
    // SAFETY: see the function's contract.
    unsafe { asm!("mv tp, {}", in(reg) x) };
}

/// Flush the whole TLB.
#[inline(always)]
pub fn sfence_vma() {
    // SAFETY: a TLB flush never breaks anything; it only costs time.
    unsafe { asm!("sfence.vma zero, zero") };
}

/// Wait for an interrupt (idle hart).
#[inline(always)]
pub fn wfi() {
    // SAFETY: wfi only pauses the hart until an interrupt is pending.
    unsafe { asm!("wfi") };
}

// Sv39 paging.
pub const PGSIZE: usize = 4096;
pub const PGSHIFT: usize = 12;
pub const SATP_SV39: usize = 8 << 60;

pub const fn make_satp(pagetable_pa: usize) -> usize {
    SATP_SV39 | (pagetable_pa >> 12)
}

pub const fn pg_round_up(a: usize) -> usize {
    (a + PGSIZE - 1) & !(PGSIZE - 1)
}

pub const fn pg_round_down(a: usize) -> usize {
    a & !(PGSIZE - 1)
}

pub const PTE_V: usize = 1 << 0;
pub const PTE_R: usize = 1 << 1;
pub const PTE_W: usize = 1 << 2;
pub const PTE_X: usize = 1 << 3;
pub const PTE_U: usize = 1 << 4;

pub const fn pa2pte(pa: usize) -> usize {
    (pa >> 12) << 10
}

pub const fn pte2pa(pte: usize) -> usize {
    (pte >> 10) << 12
}

pub const fn pte_flags(pte: usize) -> usize {
    pte & 0x3ff
}

/// Index of `va` at page-table `level` (2 = root).
pub const fn px(level: usize, va: usize) -> usize {
    (va >> (PGSHIFT + 9 * level)) & 0x1ff
}

/// One beyond the highest possible virtual address. MAXVA is actually one
/// bit less than Sv39 allows, to avoid having to sign-extend addresses with
/// the high bit set (as in xv6).
pub const MAXVA: usize = 1 << (9 + 9 + 9 + 12 - 1);
