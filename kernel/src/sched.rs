//! Per-hart state and scheduling: the `Cpu` table, the scheduler loop
//! each hart runs, the switch into it (`sched`, `yield_`), and
//! sleep/wakeup. Split from proc.rs, which owns the process table; see
//! proc.rs for the locking rules (p.lock is held across swtch).

use core::ptr;

use crate::param::NCPU;
use crate::proc::{myproc, try_myproc, Proc, ProcInner, ProcState, PROCS};
use crate::riscv::*;
use crate::spinlock::SpinlockGuard;
use crate::swtch::{swtch, Context};

/// Per-hart state.
pub struct Cpu {
    /// The process running on this hart, or null.
    pub proc: *const Proc,
    /// swtch() here to enter scheduler().
    pub context: Context,
    /// Depth of push_off() nesting.
    pub noff: i32,
    /// Were interrupts enabled before push_off()?
    pub intena: bool,
    /// An interrupt handler on this hart woke a process: give up the hart
    /// on the way out of the trap so it runs now, not at the next tick.
    pub need_resched: bool,
    /// A device or timer interrupt handler is running (see [`in_interrupt`]).
    pub in_interrupt: bool,
    /// This hart's timer ticks (see [`scheduler`]: an idle hart other
    /// than the timekeeper stops it).
    pub ticking: bool,
}

const CPU_INIT: Cpu = Cpu {
    proc: ptr::null(),
    context: Context {
        ra: 0,
        sp: 0,
        s: [0; 12],
    },
    noff: 0,
    intena: false,
    need_resched: false,
    in_interrupt: false,
    ticking: true,
};

static mut CPUS: [Cpu; NCPU] = [CPU_INIT; NCPU];

/// Must be called with interrupts disabled, to prevent a race with the
/// process being moved to a different hart.
#[inline(always)]
pub fn cpuid() -> usize {
    r_tp()
}

/// This hart's Cpu. Interrupts must be disabled while the pointer is used.
pub fn mycpu() -> *mut Cpu {
    // SAFETY: cpuid() < NCPU (QEMU harts 0..3); only the address is taken.
    unsafe { ptr::addr_of_mut!(CPUS[cpuid()]) }
}

/// Per-hart process scheduler. Each hart calls scheduler() after setting
/// itself up. It never returns: it loops, choosing a process to run,
/// swtch-ing to it, and getting control back when the process gives up
/// the hart (via swtch to this context).
///
/// An idle hart other than the timekeeper (trap.rs) stops its timer
/// before `wfi`: whoever makes a process runnable interrupts an idle
/// hart ([`make_runnable`]), so its ticks would only wake it to find
/// nothing, and under QEMU each such wake-up takes a host core from the
/// device's I/O thread. It starts ticking again when it runs a process,
/// which the tick preempts.
pub fn scheduler() -> ! {
    let c = mycpu();
    // SAFETY: interrupts are off here; this hart's Cpu is ours.
    unsafe { (*c).proc = ptr::null() };
    loop {
        // The most recent process to run may have had interrupts turned
        // off; enable them to avoid a deadlock if all processes are
        // waiting. Then turn them back off to avoid a race between an
        // interrupt and wfi.
        intr_on();
        intr_off();

        // Until we pick a process, a wakeup elsewhere must interrupt us.
        crate::ipi::set_idle(cpuid(), true);
        let mut found = false;
        for p in PROCS.iter() {
            let mut g = p.lock.lock();
            if g.state == ProcState::Runnable {
                // Switch to the chosen process. It is the process's job to
                // release its lock and then reacquire it before jumping back to us.
                g.state = ProcState::Running;
                crate::ipi::set_idle(cpuid(), false);
                // SAFETY: this hart's Cpu; p's context was saved by swtch
                // or built by allocproc, and we hold p.lock as sched expects.
                unsafe {
                    (*c).proc = p;
                    (*c).need_resched = false;
                    if !(*c).ticking {
                        crate::trap::tick_on();
                        (*c).ticking = true;
                    }
                    crate::hartprof::count(crate::hartprof::Event::Run);
                    swtch(ptr::addr_of_mut!((*c).context), &p.data().context);
                    // Process is done running for now.
                    (*c).proc = ptr::null();
                }
                found = true;
            }
            drop(g);
        }
        if !found {
            // Nothing to run; stop this hart until an interrupt.
            // SAFETY: interrupts are off, so this is our hart's Cpu.
            unsafe {
                if (*c).ticking && cpuid() != crate::trap::TIMEKEEPER {
                    crate::trap::tick_off();
                    (*c).ticking = false;
                }
            }
            crate::hartprof::idle(wfi);
        }
    }
}

/// Switch to the scheduler. Must hold only p.lock and have changed
/// p.state. Saves and restores intena because intena is a property of this
/// kernel thread, not this hart.
pub fn sched(g: SpinlockGuard<'static, ProcInner>) -> SpinlockGuard<'static, ProcInner> {
    let p = myproc();
    let c = mycpu();
    if !p.lock.holding() {
        panic!("sched p->lock");
    }
    // SAFETY: interrupts are off (we hold a spinlock), so c is this hart's.
    unsafe {
        if (*c).noff != 1 {
            panic!("sched locks");
        }
        if g.state == ProcState::Running {
            panic!("sched running");
        }
        if intr_get() {
            panic!("sched interruptible");
        }
        let intena = (*c).intena;
        swtch(&mut p.data().context, ptr::addr_of!((*c).context));
        // We may be on another hart now.
        (*mycpu()).intena = intena;
    }
    g
}

/// Give up the hart for one scheduling round.
pub fn yield_() {
    let p = myproc();
    let mut g = p.lock.lock();
    g.state = ProcState::Runnable;
    let g = sched(g);
    drop(g);
}

/// Atomically release lock and sleep on chan. Reacquires lock when awakened.
pub fn sleep<'a, T: ?Sized>(chan: usize, guard: SpinlockGuard<'a, T>) -> SpinlockGuard<'a, T> {
    let p = myproc();
    let lk = guard.spinlock();
    // Must acquire p.lock in order to change p.state and then call
    // sched. Once we hold p.lock, we can be guaranteed that we won't miss
    // any wakeup (wakeup locks p.lock), so it's okay to release lk.
    let mut g = p.lock.lock();
    drop(guard);
    g.chan = chan;
    g.state = ProcState::Sleeping;
    let mut g = sched(g);
    // Tidy up.
    g.chan = 0;
    drop(g);
    // Reacquire original lock.
    lk.lock()
}

/// Wake up all processes sleeping on chan. Must be called without any p.lock.
pub fn wakeup(chan: usize) {
    let me = try_myproc().map_or(ptr::null(), |p| p as *const Proc);
    for p in PROCS.iter() {
        if ptr::eq(p, me) {
            continue;
        }
        let mut g = p.lock.lock();
        if g.state == ProcState::Sleeping && g.chan == chan {
            make_runnable(&mut g);
        }
    }
}

/// Makes the process whose p.lock `g` is runnable, and sees that a hart
/// runs it now: an interrupt handler on an idle hart runs it itself as
/// soon as it returns; otherwise an idle hart is interrupted for it
/// (idle harts may not be ticking, see [`scheduler`]).
pub fn make_runnable(g: &mut ProcInner) {
    g.state = ProcState::Runnable;
    // SAFETY: interrupts are off while p.lock is held, so this is our hart's Cpu.
    let c = unsafe { &mut *mycpu() };
    c.need_resched = true;
    if !(c.in_interrupt && c.proc.is_null()) {
        crate::ipi::kick_idle_hart(cpuid());
    }
}

/// Runs a device or timer interrupt handler (interrupts off). A process it
/// wakes while this hart idles runs here when the handler returns, and no
/// other hart is interrupted for it: waking a second hart costs an IPI and,
/// under QEMU, a second host thread competing with the device's.
pub fn in_interrupt<R>(handler: impl FnOnce() -> R) -> R {
    // SAFETY: interrupts are off in a trap handler, so this is our hart's
    // Cpu and nothing else touches it until we return.
    unsafe { (*mycpu()).in_interrupt = true };
    let r = handler();
    // SAFETY: as above.
    unsafe { (*mycpu()).in_interrupt = false };
    r
}

/// Did an interrupt on this hart wake a process since we last switched?
/// Clears the flag.
pub fn take_resched() -> bool {
    let _off = crate::spinlock::IntrOff::new();
    // SAFETY: interrupts are off, so this is our hart's Cpu.
    unsafe { core::mem::replace(&mut (*mycpu()).need_resched, false) }
}
