//! `_entry`: the first instructions every hart runs, at 0x80000000 in
//! machine mode with paging off. Each hart gets its own slice of
//! `STACK0` (BOOT_STACK bytes, indexed by mhartid) and calls `start`.

use crate::param::{BOOT_STACK, NCPU};

const _: () = assert!(BOOT_STACK.is_power_of_two());

#[repr(C, align(16))]
pub struct BootStacks([u8; BOOT_STACK * NCPU]);

/// Per-hart boot stacks; each hart keeps running its scheduler on its own.
#[no_mangle]
pub static mut STACK0: BootStacks = BootStacks([0; BOOT_STACK * NCPU]);

core::arch::global_asm!(
    r#"
    .section .text.entry
    .globl _entry
_entry:
    # sp = STACK0 + (hartid + 1) * BOOT_STACK
    la sp, {stack0}
    csrr a1, mhartid
    addi a1, a1, 1
    slli a0, a1, {stack_shift}
    add sp, sp, a0
    call {start}
1:
    j 1b
    "#,
    stack0 = sym STACK0,
    stack_shift = const BOOT_STACK.trailing_zeros(),
    start = sym crate::start::start,
);
