//! Traps: system calls, exceptions and interrupts, from user space (via
//! the trampoline's uservec) and from the kernel (via kernelvec).
//!
//! Timer: every hart programs its own `stimecmp` (Sstc) for TICK_HZ ticks;
//! the [`TIMEKEEPER`] counts `TICKS` and wakes sleepers. The others tick
//! only while they run processes (see `sched::scheduler`). Device interrupts come through
//! the PLIC. A user process's floating-point registers are saved lazily:
//! only when the hardware says they are dirty, and the kernel itself runs
//! with the FPU off so a stray kernel FP instruction traps loudly.

use core::arch::{asm, global_asm};

use abi::syscall::TICK_HZ;

use crate::memlayout::*;
use crate::param::KSTACK_PAGES;
use crate::proc::{self, cpuid, myproc, try_myproc, TrapFrame};
use crate::riscv::*;
use crate::spinlock::Spinlock;
use crate::trampoline::{userret, uservec};

/// The clock: timer ticks since boot, and the earliest tick a `sleep`
/// call waits for. `sleep` waits on its address.
pub static TICKS: Spinlock<Clock> = Spinlock::new(
    "time",
    Clock {
        now: 0,
        next_wake: u64::MAX,
    },
);

pub struct Clock {
    /// Ticks since boot. Counted from the `time` CSR, not by adding one
    /// per interrupt: when the host is busy a hart's timer interrupts
    /// arrive late and some periods get one interrupt between them, and a
    /// counter would fall behind the clock that socket timeouts and the
    /// network stack read.
    pub now: u64,
    /// The earliest deadline of the processes sleeping on [`TICKS`]. The
    /// timekeeper wakes them only when it has passed, not every tick: a
    /// `sleep 100000` then costs nothing while it waits, and `ps` shows it
    /// sleeping rather than caught between two ticks.
    next_wake: u64,
}

impl Clock {
    /// Asks to be woken at tick `deadline` (or earlier: a sleeper woken
    /// with others checks its own deadline and asks again).
    pub fn wake_at(&mut self, deadline: u64) {
        self.next_wake = self.next_wake.min(deadline);
    }
}

/// The hart whose ticks count `TICKS` and run the network stack's timers;
/// it ticks even when idle.
pub const TIMEKEEPER: usize = 0;

/// `time` counts at 10 MHz on QEMU virt.
const TIMEBASE_HZ: u64 = 10_000_000;
const TICK_INTERVAL: usize = (TIMEBASE_HZ / TICK_HZ) as usize;

global_asm!(
    r#"
    .section .text
    .globl kernelvec
    .align 4
kernelvec:
        # Interrupts and exceptions while in supervisor mode come here.
        # Push the caller-saved registers; kerneltrap (a Rust function)
        # preserves the callee-saved ones.
        addi sp, sp, -256
        sd ra, 0(sp)
        sd gp, 16(sp)
        sd t0, 32(sp)
        sd t1, 40(sp)
        sd t2, 48(sp)
        sd a0, 72(sp)
        sd a1, 80(sp)
        sd a2, 88(sp)
        sd a3, 96(sp)
        sd a4, 104(sp)
        sd a5, 112(sp)
        sd a6, 120(sp)
        sd a7, 128(sp)
        sd t3, 216(sp)
        sd t4, 224(sp)
        sd t5, 232(sp)
        sd t6, 240(sp)

        call kerneltrap

        ld ra, 0(sp)
        ld gp, 16(sp)
        ld t0, 32(sp)
        ld t1, 40(sp)
        ld t2, 48(sp)
        ld a0, 72(sp)
        ld a1, 80(sp)
        ld a2, 88(sp)
        ld a3, 96(sp)
        ld a4, 104(sp)
        ld a5, 112(sp)
        ld a6, 120(sp)
        ld a7, 128(sp)
        ld t3, 216(sp)
        ld t4, 224(sp)
        ld t5, 232(sp)
        ld t6, 240(sp)
        addi sp, sp, 256

        # return to whatever we were doing in the kernel.
        sret
    "#
);

extern "C" {
    fn kernelvec();
    #[link_name = "_trampoline"]
    static TRAMPOLINE_CODE: u8;
}

/// Set up to take exceptions and traps while in the kernel, and arm this
/// hart's first timer tick.
pub fn trapinithart() {
    // SAFETY: kernelvec is a valid, 4-byte aligned trap entry.
    unsafe {
        w_stvec(kernelvec as *const () as usize);
        w_stimecmp(r_time() + TICK_INTERVAL);
        w_sie(r_sie() | SIE_SEIE | SIE_STIE);
        // The kernel runs with the FPU off (see the module doc).
        w_sstatus(r_sstatus() & !SSTATUS_FS_MASK);
    }
}

fn trampoline_addr(f: unsafe extern "C" fn()) -> usize {
    let base = core::ptr::addr_of!(TRAMPOLINE_CODE) as usize;
    TRAMPOLINE + (f as usize - base)
}

/// Handle an interrupt, exception, or system call from user space.
/// Called from trampoline.rs (uservec).
extern "C" fn usertrap() -> ! {
    if r_sstatus() & SSTATUS_SPP != 0 {
        panic!("usertrap: not from user mode");
    }
    // Send interrupts and exceptions to kerneltrap(), since we're now in the kernel.
    // SAFETY: kernelvec is a valid trap entry.
    unsafe { w_stvec(kernelvec as *const () as usize) };

    let p = myproc();
    let tf = p.trapframe();
    // Save user program counter.
    tf.epc = r_sepc();
    save_fp(tf);

    let scause = r_scause();
    let mut which_dev = 0;
    if scause == 8 {
        // System call.
        if proc::killed() {
            proc::exit(-1);
        }
        // sepc points to the ecall instruction, but we want to return to
        // the next instruction.
        tf.epc += 4;
        // An interrupt will change sepc, scause, and sstatus, so enable
        // only now that we're done with those registers.
        intr_on();
        crate::syscall::syscall();
    } else {
        which_dev = devintr();
        if which_dev == 0 {
            crate::println!(
                "usertrap(): unexpected scause {:#x} pid={} {}\n            sepc={:#x} stval={:#x}",
                scause,
                p.pid(),
                p.name(),
                r_sepc(),
                r_stval()
            );
            p.set_killed();
        }
    }

    if proc::killed() {
        proc::exit(-1);
    }
    // Give up the CPU if this is a timer interrupt, or a device interrupt
    // woke a process (so it runs now rather than at the next tick).
    if which_dev == 2 || (which_dev == 1 && proc::take_resched()) {
        proc::yield_();
    }
    usertrapret();
}

/// Save the user's FP registers if it changed them since we last looked.
fn save_fp(tf: &mut TrapFrame) {
    let s = r_sstatus();
    if s & SSTATUS_FS_MASK == SSTATUS_FS_DIRTY {
        // SAFETY: FS is on (dirty), so FP instructions are legal; the
        // stores go to this process's trapframe.
        unsafe {
            let base = tf.fregs.as_mut_ptr();
            macro_rules! sv { ($($i:literal)*) => { $(asm!(concat!("fsd f", $i, ", ", $i, "*8({0})"), in(reg) base);)* } }
            sv!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
            let fcsr: usize;
            asm!("frcsr {}", out(reg) fcsr);
            tf.fcsr = fcsr;
        }
        tf.fp_used = 1;
    }
    // SAFETY: turning the FPU off in the kernel only makes stray FP use trap.
    unsafe { w_sstatus(r_sstatus() & !SSTATUS_FS_MASK) };
}

/// Return to user space.
pub fn usertrapret() -> ! {
    let p = myproc();
    // We're about to switch the destination of traps from kerneltrap() to
    // usertrap(), so turn off interrupts until we're back in user space,
    // where usertrap() is correct.
    intr_off();
    // SAFETY: the trampoline's uservec is mapped at this address in every
    // user page table and the kernel's.
    unsafe { w_stvec(trampoline_addr(uservec)) };

    // Set up trapframe values that uservec will need when the process
    // next traps into the kernel.
    let tf = p.trapframe();
    tf.kernel_satp = r_satp();
    tf.kernel_sp = p.data().kstack + KSTACK_PAGES * PGSIZE;
    tf.kernel_trap = usertrap as *const () as usize;
    tf.kernel_hartid = r_tp();

    // Set up the registers that trampoline.rs's sret will use to get to
    // user space: Previous Privilege = user, interrupts enabled in user mode.
    let mut x = r_sstatus();
    x &= !(SSTATUS_SPP | SSTATUS_FS_MASK);
    x |= SSTATUS_SPIE;
    if tf.fp_used != 0 {
        // SAFETY: FS on (clean) so the loads are legal; they read this
        // process's own saved registers.
        unsafe {
            w_sstatus(x | SSTATUS_FS_CLEAN);
            let base = tf.fregs.as_ptr();
            macro_rules! ld { ($($i:literal)*) => { $(asm!(concat!("fld f", $i, ", ", $i, "*8({0})"), in(reg) base);)* } }
            ld!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
            asm!("fscsr {}", in(reg) tf.fcsr);
        }
        x |= SSTATUS_FS_CLEAN;
    } else {
        x |= SSTATUS_FS_INITIAL;
    }
    // SAFETY: SPP=user and SPIE set as explained; sepc is the user pc.
    unsafe {
        w_sstatus(x);
        w_sepc(tf.epc);
    }

    // Tell trampoline.rs the user page table to switch to.
    let satp = make_satp(p.data().pagetable.0);
    // Jump to userret in trampoline.rs at the top of memory, which
    // switches to the user page table, restores user registers, and
    // switches to user mode with sret.
    let f: extern "C" fn(usize) -> ! =
        // SAFETY: userret is mapped at this address and takes satp in a0.
        unsafe { core::mem::transmute(trampoline_addr(userret)) };
    f(satp)
}

/// Interrupts and exceptions from kernel code go here via kernelvec, on
/// whatever the current kernel stack is.
#[no_mangle]
extern "C" fn kerneltrap() {
    let sepc = r_sepc();
    let sstatus = r_sstatus();
    let scause = r_scause();

    if sstatus & SSTATUS_SPP == 0 {
        panic!("kerneltrap: not from supervisor mode");
    }
    if intr_get() {
        panic!("kerneltrap: interrupts enabled");
    }
    let which_dev = devintr();
    if which_dev == 0 {
        // Interrupt or trap from an unknown source.
        panic!(
            "kerneltrap: scause={:#x} sepc={:#x} stval={:#x}",
            scause,
            sepc,
            r_stval()
        );
    }
    // Give up the CPU if this is a timer interrupt (or a device interrupt
    // woke a process) and a process is running.
    if (which_dev == 2 || (which_dev == 1 && proc::take_resched())) && try_myproc().is_some() {
        proc::yield_();
    }
    // The yield may have caused some traps to occur, so restore trap
    // registers for use by kernelvec's sret.
    // SAFETY: restoring the values this trap started with.
    unsafe {
        w_sepc(sepc);
        w_sstatus(sstatus);
    }
}

/// Starts this hart's ticks again (the next one a tick from now).
pub fn tick_on() {
    // SAFETY: programming our own timer (Sstc).
    unsafe { w_stimecmp(r_time() + TICK_INTERVAL) };
}

/// Stops this hart's ticks (and withdraws a pending one).
pub fn tick_off() {
    // SAFETY: programming our own timer; a compare value that `time`
    // never reaches raises no interrupt.
    unsafe { w_stimecmp(usize::MAX) };
}

fn clockintr() {
    if cpuid() == TIMEKEEPER {
        let mut t = TICKS.lock();
        t.now = t.now.max(r_time() as u64 / TICK_INTERVAL as u64);
        if t.now >= t.next_wake {
            // Every sleeper wakes; those whose time has not come ask again.
            t.next_wake = u64::MAX;
            proc::wakeup(&TICKS as *const _ as usize);
        }
        drop(t);
        crate::netglue::tick();
        crate::syspoll::tick();
    }
    // Ask for the next timer interrupt, one tick from now. This also
    // clears the interrupt request.
    // SAFETY: programming our own timer (Sstc).
    unsafe { w_stimecmp(r_time() + TICK_INTERVAL) };
}

/// Check if it's an external interrupt or timer interrupt and handle it.
/// Returns 2 if timer interrupt, 1 if other device, 0 if not recognized.
fn devintr() -> i32 {
    let scause = r_scause();
    if scause == 0x8000_0000_0000_0009 {
        // A supervisor external interrupt, via the PLIC. irq indicates
        // which device interrupted.
        let irq = crate::plic::claim();
        match irq {
            0 => {}
            UART0_IRQ => crate::uart::uartintr(),
            VIRTIO0_IRQ => crate::virtio_blk::intr(),
            VIRTIO1_IRQ => crate::sched::in_interrupt(crate::virtio_net::intr),
            _ => crate::println!("unexpected interrupt irq={}", irq),
        }
        // The PLIC allows each device to raise at most one interrupt at a
        // time; tell the PLIC the device is now allowed to interrupt again.
        if irq != 0 {
            crate::plic::complete(irq);
            crate::hartprof::count(crate::hartprof::Event::DeviceIrq);
        }
        1
    } else if scause == 0x8000_0000_0000_0005 {
        // Timer interrupt.
        crate::hartprof::count(crate::hartprof::Event::Tick);
        clockintr();
        2
    } else if scause == 0x8000_0000_0000_0001 {
        // Supervisor software interrupt: another hart woke a process for
        // this idle one (ipi.rs). The scheduler loop does the rest.
        crate::ipi::intr();
        3
    } else {
        0
    }
}

/// Ticks since boot.
pub fn ticks() -> u64 {
    TICKS.lock().now
}
