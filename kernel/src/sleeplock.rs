//! Sleeping locks: long-term locks for processes.
//!
//! A [`Sleeplock`] protects data that is held across disk I/O (buffer-cache
//! blocks, inodes). A process that finds it taken sleeps instead of spinning,
//! so the holder may itself sleep (wait for the disk) while holding it. The
//! "locked" flag is guarded by a small spin lock, as in xv6's sleeplock.c.
//!
//! Sleep locks may not be taken in interrupt handlers, and a spin lock must
//! not be held while acquiring one (acquiring may sleep).

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

use crate::proc;
use crate::spinlock::Spinlock;

pub struct Sleeplock<T> {
    /// Is the lock held? Guarded by the inner spin lock.
    locked: Spinlock<bool>,
    #[allow(dead_code)]
    name: &'static str,
    data: UnsafeCell<T>,
}

// SAFETY: `data` is only reached through a `SleeplockGuard`, and at most one
// guard exists at a time (the `locked` flag, itself under a spin lock, says so).
unsafe impl<T: Send> Sync for Sleeplock<T> {}
// SAFETY: moving the lock moves the data; no thread-local state is involved.
unsafe impl<T: Send> Send for Sleeplock<T> {}

impl<T> Sleeplock<T> {
    pub const fn new(name: &'static str, data: T) -> Self {
        Sleeplock {
            locked: Spinlock::new("sleep lock", false),
            name,
            data: UnsafeCell::new(data),
        }
    }

    /// The sleep/wakeup channel: the lock's own address.
    fn chan(&self) -> usize {
        self as *const Self as usize
    }

    /// Acquires the lock, sleeping while another process holds it.
    pub fn lock(&self) -> SleeplockGuard<'_, T> {
        let mut locked = self.locked.lock();
        while *locked {
            locked = proc::sleep(self.chan(), locked);
        }
        *locked = true;
        SleeplockGuard { lock: self }
    }

    /// Acquires the lock if it is free, without sleeping. Usable while
    /// holding a spin lock.
    pub fn try_lock(&self) -> Option<SleeplockGuard<'_, T>> {
        let mut locked = self.locked.lock();
        if *locked {
            return None;
        }
        *locked = true;
        Some(SleeplockGuard { lock: self })
    }

    /// Is the lock held by anyone? (xv6's holdingsleep without the pid check.)
    pub fn is_locked(&self) -> bool {
        *self.locked.lock()
    }
}

/// Proof that the sleep lock is held; releases it when dropped.
pub struct SleeplockGuard<'a, T> {
    lock: &'a Sleeplock<T>,
}

impl<T> Deref for SleeplockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one, so no `&mut T` exists elsewhere.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SleeplockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard is the only one and we borrow it mutably.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SleeplockGuard<'_, T> {
    fn drop(&mut self) {
        let mut locked = self.lock.locked.lock();
        *locked = false;
        proc::wakeup(self.lock.chan());
    }
}
