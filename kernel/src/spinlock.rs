//! Spin locks that keep interrupts off while held.
//!
//! A hart holding a lock must not take an interrupt whose handler wants the
//! same lock (it would spin forever), so `lock()` disables interrupts first
//! (`push_off`) and the guard's `Drop` re-enables them when the outermost
//! lock is released (`pop_off`), as in xv6. The protected data is reached
//! only through the guard.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::proc::{cpuid, mycpu};
use crate::riscv::{intr_get, intr_off, intr_on};

pub struct Spinlock<T: ?Sized> {
    name: &'static str,
    locked: AtomicBool,
    /// cpuid + 1 of the holder, 0 when free; for `holding()` and debugging.
    cpu: AtomicUsize,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `data` to one holder at a time.
unsafe impl<T: ?Sized + Send> Sync for Spinlock<T> {}
// SAFETY: moving the lock moves the data, which is Send.
unsafe impl<T: ?Sized + Send> Send for Spinlock<T> {}

pub struct SpinlockGuard<'a, T: ?Sized> {
    lock: &'a Spinlock<T>,
}

impl<T> Spinlock<T> {
    pub const fn new(name: &'static str, data: T) -> Self {
        Spinlock {
            name,
            locked: AtomicBool::new(false),
            cpu: AtomicUsize::new(0),
            data: UnsafeCell::new(data),
        }
    }
}

impl<T: ?Sized> Spinlock<T> {
    /// Acquire the lock, spinning until it is free.
    pub fn lock(&self) -> SpinlockGuard<'_, T> {
        push_off(); // disable interrupts to avoid deadlock.
        if self.holding() {
            panic!("acquire {}", self.name);
        }
        let mut spins = 0;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spins += 1;
            core::hint::spin_loop();
        }
        if spins != 0 {
            crate::hartprof::lock_spins(self.name, spins);
        }
        self.cpu.store(cpuid() + 1, Ordering::Relaxed);
        SpinlockGuard { lock: self }
    }

    /// Is this hart holding the lock? Interrupts must be off.
    pub fn holding(&self) -> bool {
        self.locked.load(Ordering::Relaxed) && self.cpu.load(Ordering::Relaxed) == cpuid() + 1
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Release a lock whose guard lives on another stack (the scheduler /
    /// forkret hand-off of `p.lock`, as in xv6).
    ///
    /// # Safety
    /// This hart must hold the lock and the guard that acquired it must
    /// never be dropped (it was forgotten or belongs to a finished context).
    pub unsafe fn force_unlock(&self) {
        self.release();
    }

    /// Access the data without locking.
    ///
    /// # Safety
    /// The caller must ensure no one else touches the data concurrently
    /// (e.g. the object is not yet shared).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get_mut_unchecked(&self) -> &mut T {
        // SAFETY: exclusivity is the caller's promise.
        unsafe { &mut *self.data.get() }
    }

    fn release(&self) {
        if !self.holding() {
            panic!("release {}", self.name);
        }
        self.cpu.store(0, Ordering::Relaxed);
        self.locked.store(false, Ordering::Release);
        pop_off();
    }
}

impl<'a, T: ?Sized> SpinlockGuard<'a, T> {
    /// The lock this guard holds (proc::sleep re-acquires it).
    pub fn spinlock(&self) -> &'a Spinlock<T> {
        self.lock
    }
}

impl<T: ?Sized> Deref for SpinlockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves we hold the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for SpinlockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves we hold the lock exclusively.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for SpinlockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.release();
    }
}

/// push_off/pop_off are like intr_off()/intr_on() except that they are
/// matched: it takes two pop_off()s to undo two push_off()s. If interrupts
/// were off to begin with, push_off, pop_off leaves them off.
pub fn push_off() {
    let old = intr_get();
    intr_off();
    // SAFETY: interrupts are off, so this hart's Cpu cannot be touched by
    // anything else (other harts use their own entry).
    let c = unsafe { &mut *mycpu() };
    if c.noff == 0 {
        c.intena = old;
    }
    c.noff += 1;
}

pub fn pop_off() {
    if intr_get() {
        panic!("pop_off - interruptible");
    }
    // SAFETY: as in push_off, interrupts are off.
    let c = unsafe { &mut *mycpu() };
    if c.noff < 1 {
        panic!("pop_off");
    }
    c.noff -= 1;
    if c.noff == 0 && c.intena {
        intr_on();
    }
}

/// RAII push_off: interrupts stay off while the value lives.
pub struct IntrOff(());

impl IntrOff {
    pub fn new() -> Self {
        push_off();
        IntrOff(())
    }
}

impl Default for IntrOff {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for IntrOff {
    fn drop(&mut self) {
        pop_off();
    }
}
