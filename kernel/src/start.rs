//! Machine-mode set-up, run once per hart right after `_entry`: hand every
//! trap and interrupt to supervisor mode, open all of physical memory to
//! it, let it program its own timer (Sstc `stimecmp`), then `mret` into
//! `main` in supervisor mode. Nothing of the kernel runs in M-mode after this.

use crate::riscv::*;

/// # Safety
/// Called only from `_entry`, in machine mode, on the hart's boot stack.
pub unsafe extern "C" fn start() -> ! {
    // SAFETY: we are in M-mode with nothing else running on this hart;
    // each write below prepares the switch to S-mode as the comment says.
    unsafe {
        // Previous privilege = supervisor, so mret lands in S-mode at main.
        let mut x = r_mstatus();
        x &= !MSTATUS_MPP_MASK;
        x |= MSTATUS_MPP_S;
        w_mstatus(x);
        w_mepc(crate::main as *const () as usize);

        // Paging stays off until kvminithart.
        w_satp(0);

        // Every exception and interrupt goes to S-mode.
        w_medeleg(0xffff);
        w_mideleg(0xffff);
        w_sie(r_sie() | SIE_SEIE | SIE_STIE | SIE_SSIE);

        // PMP: give S-mode access to all of physical memory (TOR, RWX).
        w_pmpaddr0(0x3f_ffff_ffff_ffff);
        w_pmpcfg0(0xf);

        // Timer: S-mode writes stimecmp itself (Sstc) and may read `time`.
        w_mie(r_mie() | MIE_STIE);
        w_menvcfg(r_menvcfg() | MENVCFG_STCE);
        w_mcounteren(r_mcounteren() | MCOUNTEREN_TM);
        w_scounteren(SCOUNTEREN_TM);
        // No interrupt until trapinithart arms the first tick.
        w_stimecmp(usize::MAX);

        // The machine timer is never used (S-mode has Sstc): park its
        // compare register so MTIP is not left pending. QEMU 7.2 interrupts
        // a hart whose mip is non-zero on every change of its interrupt
        // lines, so with MTIP pending every PLIC claim and completion for
        // the NIC woke the idle harts' vCPU threads for nothing, taking a
        // host core from the one doing the work (a third of the 3-hart
        // round-trip rate).
        core::ptr::write_volatile(
            crate::memlayout::clint_mtimecmp(r_mhartid()) as *mut u64,
            u64::MAX,
        );

        // The one trap M-mode still takes: another hart's wake-up call.
        crate::ipi::init_machine_mode(r_mhartid());

        // cpuid() reads tp.
        w_tp(r_mhartid());

        core::arch::asm!("mret", options(noreturn));
    }
}
