//! Physical memory allocator, for user processes, kernel stacks,
//! page-table pages and pipe buffers, plus the kernel heap behind
//! `alloc` (Box, Vec, Arc).
//!
//! Pages are 4096 bytes on a free list, as in xv6. The heap lives in a
//! separate contiguous region managed by a bitmap of pages: objects up to
//! 2048 bytes come from per-size-class free lists carved out of its pages,
//! bigger ones take whole runs of pages. Keeping the heap apart means user
//! memory pressure cannot starve kernel objects, and the free-page count
//! that `sysinfo` reports (and usertests checks for leaks) moves only with
//! user pages, page tables, stacks and pipes.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

use crate::memlayout::PHYSTOP;
use crate::riscv::{pg_round_up, PGSIZE};
use crate::spinlock::Spinlock;

extern "C" {
    /// First address after the kernel, from kernel.ld.
    static end: u8;
}

struct Run {
    next: *mut Run,
}

struct Kmem {
    /// Pages given back by `kfree`.
    freelist: *mut Run,
    /// Pages never handed out: `[fresh, PHYSTOP)`, taken from the bottom
    /// once the free list is empty. Boot touches none of them (see
    /// `kinit`).
    fresh: usize,
    /// Pages on the free list and fresh ones.
    nfree: usize,
    total: usize,
}

// SAFETY: the raw pointers are only followed under KMEM's lock.
unsafe impl Send for Kmem {}

static KMEM: Spinlock<Kmem> = Spinlock::new(
    "kmem",
    Kmem {
        freelist: ptr::null_mut(),
        fresh: PHYSTOP,
        nfree: 0,
        total: 0,
    },
);

/// Pages in the kernel heap region (8 MiB).
const BIG_PAGES: usize = 2048;

fn kernel_end() -> usize {
    // Only the symbol's address is taken, never its contents.
    ptr::addr_of!(end) as usize
}

pub fn kinit() {
    let start = pg_round_up(kernel_end());
    let big_start = start;
    let pages_start = start + BIG_PAGES * PGSIZE;
    BIG.lock().base = big_start;
    // The pages are not threaded onto the free list here: writing a link
    // into each of 30,000 pages took 20 to 460 ms under QEMU (every page
    // of the guest's RAM touched before anything runs; the busier the
    // host, the longer). kalloc takes them from `fresh` as it needs them
    // (and fills each with junk then).
    let mut k = KMEM.lock();
    k.fresh = pages_start;
    k.total = (PHYSTOP - pages_start) / PGSIZE;
    k.nfree = k.total;
}

/// Puts page `r` on the free list.
///
/// # Safety
/// `r` is a whole page no one uses.
unsafe fn push_free(k: &mut Kmem, r: *mut Run) {
    // SAFETY: r is a whole free page we own (the caller's promise).
    unsafe { (*r).next = k.freelist };
    k.freelist = r;
    k.nfree += 1;
}

/// Free the page of physical memory pointed at by pa, which normally
/// should have been returned by a call to kalloc().
///
/// # Safety
/// `pa` must be a page no one uses any more (no mapping, pointer or
/// device still refers to it).
pub unsafe fn kfree(pa: *mut u8) {
    let a = pa as usize;
    if !a.is_multiple_of(PGSIZE) || a < kernel_end() || a >= PHYSTOP {
        panic!("kfree {:#x}", a);
    }
    // SAFETY: the page is ours now (the caller gives it up); fill it with
    // junk to catch dangling refs.
    unsafe { ptr::write_bytes(pa, 1, PGSIZE) };
    // SAFETY: the page is a whole free page we own.
    unsafe { push_free(&mut KMEM.lock(), pa as *mut Run) };
}

/// Allocate one 4096-byte page of physical memory (not zeroed). Returns
/// None if the memory cannot be allocated.
pub fn kalloc() -> Option<*mut u8> {
    let mut k = KMEM.lock();
    let r = if !k.freelist.is_null() {
        let r = k.freelist;
        // SAFETY: r is the head of the free list, a free page.
        k.freelist = unsafe { (*r).next };
        r
    } else if k.fresh + PGSIZE <= PHYSTOP {
        let r = k.fresh as *mut Run;
        k.fresh += PGSIZE;
        r
    } else {
        return None;
    };
    k.nfree -= 1;
    drop(k);
    // SAFETY: the page is now exclusively ours; fill with junk.
    unsafe { ptr::write_bytes(r as *mut u8, 5, PGSIZE) };
    Some(r as *mut u8)
}

/// A zeroed page.
pub fn kzalloc() -> Option<*mut u8> {
    let p = kalloc()?;
    // SAFETY: p is a fresh page we own.
    unsafe { ptr::write_bytes(p, 0, PGSIZE) };
    Some(p)
}

/// (free pages, total pages) for sysinfo.
pub fn stats() -> (usize, usize) {
    let k = KMEM.lock();
    (k.nfree, k.total)
}

// ---- the kernel heap ----

/// Size classes 16, 32, ..., 2048 bytes.
const NCLASS: usize = 8;
const MIN_CLASS_SHIFT: usize = 4;

struct Heap {
    free: [*mut Run; NCLASS],
}

// SAFETY: pointers followed only under the HEAP lock.
unsafe impl Send for Heap {}

static HEAP: Spinlock<Heap> = Spinlock::new(
    "heap",
    Heap {
        free: [ptr::null_mut(); NCLASS],
    },
);

struct Big {
    base: usize,
    used: [u64; BIG_PAGES / 64],
}

static BIG: Spinlock<Big> = Spinlock::new(
    "bigheap",
    Big {
        base: 0,
        used: [0; BIG_PAGES / 64],
    },
);

impl Big {
    fn is_used(&self, i: usize) -> bool {
        self.used[i / 64] & (1 << (i % 64)) != 0
    }
    fn set(&mut self, i: usize, v: bool) {
        if v {
            self.used[i / 64] |= 1 << (i % 64);
        } else {
            self.used[i / 64] &= !(1 << (i % 64));
        }
    }
    /// First fit: n free pages in a row.
    fn alloc(&mut self, n: usize) -> *mut u8 {
        let mut i = 0;
        while i + n <= BIG_PAGES {
            match (i..i + n).find(|&j| self.is_used(j)) {
                Some(j) => i = j + 1,
                None => {
                    (i..i + n).for_each(|j| self.set(j, true));
                    return (self.base + i * PGSIZE) as *mut u8;
                }
            }
        }
        ptr::null_mut()
    }
    fn free(&mut self, p: *mut u8, n: usize) {
        let i = (p as usize - self.base) / PGSIZE;
        (i..i + n).for_each(|j| self.set(j, false));
    }
}

fn class_of(layout: &Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(1 << MIN_CLASS_SHIFT);
    let c = size.next_power_of_two().trailing_zeros() as usize - MIN_CLASS_SHIFT;
    (c < NCLASS).then_some(c)
}

struct KernelHeap;

// SAFETY: every block handed out is exclusively the caller's until
// dealloc, is at least `size` bytes and aligned to `align` (classes are
// powers of two at least as large as align; big blocks are page-aligned).
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class_of(&layout) {
            Some(c) => {
                let mut h = HEAP.lock();
                if h.free[c].is_null() {
                    // Carve a fresh heap page into blocks of this class.
                    let page = BIG.lock().alloc(1);
                    if page.is_null() {
                        return ptr::null_mut();
                    }
                    let bsize = 1 << (c + MIN_CLASS_SHIFT);
                    for off in (0..PGSIZE).step_by(bsize) {
                        let r = (page as usize + off) as *mut Run;
                        // SAFETY: r is inside the fresh page we own.
                        unsafe { (*r).next = h.free[c] };
                        h.free[c] = r;
                    }
                }
                let r = h.free[c];
                // SAFETY: r is a free block of class c.
                h.free[c] = unsafe { (*r).next };
                r as *mut u8
            }
            None => {
                if layout.align() > PGSIZE {
                    return ptr::null_mut();
                }
                BIG.lock().alloc(layout.size().div_ceil(PGSIZE))
            }
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        match class_of(&layout) {
            Some(c) => {
                let mut h = HEAP.lock();
                let r = p as *mut Run;
                // SAFETY: the caller returns a block of this class it owned.
                unsafe { (*r).next = h.free[c] };
                h.free[c] = r;
            }
            None => BIG.lock().free(p, layout.size().div_ceil(PGSIZE)),
        }
    }
}

#[global_allocator]
static ALLOCATOR: KernelHeap = KernelHeap;
