//! The `#[global_allocator]`: K&R's free-list malloc (as xv6's umalloc.c)
//! over `sbrk`. Blocks are whole 16-byte units with a one-unit header; the
//! free list is circular and sorted by address so neighbours coalesce.
//! Alignments above 16 are not supported (allocation fails). A process is
//! single-threaded (fork copies the heap), so the `spin::Mutex` around the
//! list is never contended; it is what lets the allocator be a plain
//! `static` without a hand-written `Sync`.

use crate::syscall;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, null_mut};
use spin::Mutex;

const UNIT: usize = 16;
/// Least units asked of the kernel at once (64 KiB), as xv6.
const MIN_GROW: usize = 4096;

#[repr(C, align(16))]
struct Header {
    next: *mut Header,
    /// Size of this block in units, header included.
    units: usize,
}

struct State {
    base: Header,
    freep: *mut Header,
}

// SAFETY: the pointers lead only into this heap's own blocks (and to
// `base`, inside the state itself), which nothing but the state touches, so
// the state may move to another thread with them.
unsafe impl Send for State {}

pub struct Heap(Mutex<State>);

#[global_allocator]
static HEAP: Heap = Heap(Mutex::new(State {
    base: Header {
        next: null_mut(),
        units: 0,
    },
    freep: null_mut(),
}));

/// Bytes on the free list (for leak checks in tests).
pub fn free_bytes() -> usize {
    let st = HEAP.0.lock();
    // SAFETY: the lock is held; the list is well formed between calls.
    unsafe {
        if st.freep.is_null() {
            return 0;
        }
        let mut total = 0;
        let mut p = (*st.freep).next;
        loop {
            total += (*p).units * UNIT;
            if p == st.freep {
                break;
            }
            p = (*p).next;
        }
        total
    }
}

impl State {
    /// Puts block `bp` (a header) on the free list, merging with neighbours.
    ///
    /// # Safety
    /// `bp` heads a block from this heap that is not on the list.
    unsafe fn free_block(&mut self, bp: *mut Header) {
        // SAFETY: every pointer followed is a list node or `bp` (contract).
        unsafe {
            let mut p = self.freep;
            while !(bp > p && bp < (*p).next) {
                if p >= (*p).next && (bp > p || bp < (*p).next) {
                    break; // bp at one end of the arena
                }
                p = (*p).next;
            }
            if bp.add((*bp).units) == (*p).next {
                (*bp).units += (*(*p).next).units;
                (*bp).next = (*(*p).next).next;
            } else {
                (*bp).next = (*p).next;
            }
            if p.add((*p).units) == bp {
                (*p).units += (*bp).units;
                (*p).next = (*bp).next;
            } else {
                (*p).next = bp;
            }
            self.freep = p;
        }
    }

    /// Asks the kernel for at least `nu` more units and frees them onto the list.
    ///
    /// # Safety
    /// The list is initialised.
    unsafe fn morecore(&mut self, nu: usize) -> bool {
        // SAFETY: sbrk(0) only reads the break.
        let Ok(old) = (unsafe { syscall::sbrk(0) }) else {
            return false;
        };
        let pad = old.wrapping_neg() % UNIT;
        for units in [nu.max(MIN_GROW), nu] {
            let Some(bytes) = units.checked_mul(UNIT).and_then(|b| b.checked_add(pad)) else {
                continue;
            };
            let Ok(bytes) = isize::try_from(bytes) else {
                continue;
            };
            // SAFETY: growing hands this process new memory nobody uses yet.
            if let Ok(start) = unsafe { syscall::sbrk(bytes) } {
                let hp = (start + pad) as *mut Header;
                // SAFETY: hp is in the fresh, aligned, writable region.
                unsafe {
                    (*hp).units = units;
                    self.free_block(hp);
                }
                return true;
            }
        }
        false
    }
}

// SAFETY: blocks handed out are disjoint, 16-aligned and at least as big as
// asked; layouts needing more alignment get null.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > UNIT {
            return null_mut();
        }
        let Some(nunits) = layout.size().checked_add(UNIT - 1).map(|s| s / UNIT + 1) else {
            return null_mut();
        };
        let mut st = self.0.lock();
        // SAFETY: the lock is held; list nodes are valid headers.
        unsafe {
            if st.freep.is_null() {
                let base = ptr::addr_of_mut!(st.base);
                (*base).next = base;
                (*base).units = 0;
                st.freep = base;
            }
            let mut prevp = st.freep;
            let mut p = (*prevp).next;
            loop {
                if (*p).units >= nunits {
                    if (*p).units == nunits {
                        (*prevp).next = (*p).next;
                    } else {
                        (*p).units -= nunits;
                        p = p.add((*p).units);
                        (*p).units = nunits;
                    }
                    st.freep = prevp;
                    return p.add(1) as *mut u8;
                }
                if p == st.freep {
                    if !st.morecore(nunits) {
                        return null_mut();
                    }
                    p = st.freep;
                }
                prevp = p;
                p = (*p).next;
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        let mut st = self.0.lock();
        // SAFETY: ptr came from `alloc`, so a header sits one unit before it.
        unsafe { st.free_block((ptr as *mut Header).sub(1)) };
    }
}
