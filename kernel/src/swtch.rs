//! Context switch: `swtch(old, new)` saves the current callee-saved
//! registers in `old` and loads them from `new`, so `ret` continues the
//! other kernel thread where it last called swtch. Caller-saved registers
//! are already on the stack by the calling convention.

/// Saved registers for kernel context switches (swtch.rs).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Context {
    pub ra: usize,
    pub sp: usize,
    // callee-saved
    pub s: [usize; 12],
}

core::arch::global_asm!(
    r#"
    .section .text
    .globl swtch
    .align 2
swtch:
        sd ra, 0(a0)
        sd sp, 8(a0)
        sd s0, 16(a0)
        sd s1, 24(a0)
        sd s2, 32(a0)
        sd s3, 40(a0)
        sd s4, 48(a0)
        sd s5, 56(a0)
        sd s6, 64(a0)
        sd s7, 72(a0)
        sd s8, 80(a0)
        sd s9, 88(a0)
        sd s10, 96(a0)
        sd s11, 104(a0)

        ld ra, 0(a1)
        ld sp, 8(a1)
        ld s0, 16(a1)
        ld s1, 24(a1)
        ld s2, 32(a1)
        ld s3, 40(a1)
        ld s4, 48(a1)
        ld s5, 56(a1)
        ld s6, 64(a1)
        ld s7, 72(a1)
        ld s8, 80(a1)
        ld s9, 88(a1)
        ld s10, 96(a1)
        ld s11, 104(a1)

        ret
    "#
);

extern "C" {
    /// # Safety
    /// `new` must hold a context saved by swtch or built by allocproc, and
    /// the caller must hold the locks the scheduler hand-off expects.
    pub fn swtch(old: *mut Context, new: *const Context);
}
