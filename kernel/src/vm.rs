//! Sv39 page tables: the kernel's direct map and per-process user address
//! spaces, and the copyin/copyout functions that move bytes across the
//! user/kernel boundary by walking the user's page table (so a bad user
//! pointer yields EFAULT instead of a kernel fault).
//!
//! A page-table page is one physical page of 512 PTEs; since kernel RAM is
//! direct-mapped, its physical address is also a usable kernel pointer.

use core::ptr;

use abi::Errno;
use spin::Once;

use crate::kalloc::{kfree, kzalloc};
use crate::memlayout::*;
use crate::riscv::*;

/// The root page of a page table, by physical (== kernel virtual) address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageTable(pub usize);

impl PageTable {
    pub const NULL: PageTable = PageTable(0);

    pub fn is_null(self) -> bool {
        self.0 == 0
    }

    fn ptes(self) -> *mut usize {
        self.0 as *mut usize
    }
}

extern "C" {
    static etext: u8; // kernel.ld sets this to end of kernel code.
    static _trampoline: u8; // trampoline.rs
}

fn sym_addr(s: &u8) -> usize {
    s as *const u8 as usize
}

/// The kernel's page table, shared by all harts; made once by hart 0.
static KERNEL_PAGETABLE: Once<PageTable> = Once::new();

fn kvmmake() -> PageTable {
    let kpt = PageTable(kzalloc().expect("kvmmake") as usize);
    // SAFETY: linker symbols; only their addresses are used.
    let (etext_a, tramp_a) = unsafe { (sym_addr(&etext), sym_addr(&_trampoline)) };
    kvmmap(kpt, TEST_DEV, TEST_DEV, PGSIZE, PTE_R | PTE_W);
    kvmmap(kpt, UART0, UART0, PGSIZE, PTE_R | PTE_W);
    kvmmap(kpt, VIRTIO0, VIRTIO0, PGSIZE, PTE_R | PTE_W);
    kvmmap(kpt, VIRTIO1, VIRTIO1, PGSIZE, PTE_R | PTE_W);
    kvmmap(kpt, VIRTIO2, VIRTIO2, PGSIZE, PTE_R | PTE_W);
    kvmmap(kpt, PLIC, PLIC, PLIC_SIZE, PTE_R | PTE_W);
    // The CLINT's msip registers, to send inter-processor interrupts.
    kvmmap(kpt, CLINT, CLINT, PGSIZE, PTE_R | PTE_W);
    // Kernel text executable and read-only.
    kvmmap(kpt, KERNBASE, KERNBASE, etext_a - KERNBASE, PTE_R | PTE_X);
    // Kernel data and the physical RAM we'll make use of.
    kvmmap(kpt, etext_a, etext_a, PHYSTOP - etext_a, PTE_R | PTE_W);
    // The trampoline for trap entry/exit, at the highest virtual address.
    kvmmap(kpt, TRAMPOLINE, tramp_a, PGSIZE, PTE_R | PTE_X);
    // A kernel stack for each process slot.
    crate::proc::proc_mapstacks(kpt);
    kpt
}

/// Make the kernel page table (hart 0, once).
pub fn kvminit() {
    KERNEL_PAGETABLE.call_once(kvmmake);
}

pub fn kernel_pagetable() -> PageTable {
    *KERNEL_PAGETABLE
        .get()
        .expect("kernel_pagetable before kvminit")
}

/// Switch this hart to the kernel page table and enable paging.
pub fn kvminithart() {
    // Wait for any previous writes to page-table memory to finish.
    sfence_vma();
    // SAFETY: the kernel page table direct-maps everything the kernel
    // touches, including the code now running, so translation is seamless.
    unsafe { w_satp(make_satp(kernel_pagetable().0)) };
    sfence_vma();
}

/// Return the address of the PTE in page table `pt` for virtual address
/// `va`; if `alloc`, create any required page-table pages.
pub fn walk(pt: PageTable, va: usize, alloc: bool) -> Option<*mut usize> {
    if va >= MAXVA {
        panic!("walk");
    }
    let mut table = pt;
    for level in [2, 1] {
        // SAFETY: table is a page-table page (512 PTEs) we own.
        let pte = unsafe { table.ptes().add(px(level, va)) };
        // SAFETY: pte points into that page.
        let v = unsafe { *pte };
        if v & PTE_V != 0 {
            table = PageTable(pte2pa(v));
        } else {
            if !alloc {
                return None;
            }
            let page = kzalloc()? as usize;
            // SAFETY: as above; the new page is zeroed and ours.
            unsafe { *pte = pa2pte(page) | PTE_V };
            table = PageTable(page);
        }
    }
    // SAFETY: index < 512 within a page-table page.
    Some(unsafe { table.ptes().add(px(0, va)) })
}

/// Look up a user virtual address; return the physical address, or None
/// if not mapped or not user-accessible.
pub fn walkaddr(pt: PageTable, va: usize) -> Option<usize> {
    if va >= MAXVA {
        return None;
    }
    let pte = walk(pt, va, false)?;
    // SAFETY: walk returned a pointer into a live page-table page.
    let v = unsafe { *pte };
    if v & PTE_V == 0 || v & PTE_U == 0 {
        return None;
    }
    Some(pte2pa(v))
}

/// Add a mapping to the kernel page table (boot only; panics on failure).
pub fn kvmmap(kpt: PageTable, va: usize, pa: usize, sz: usize, perm: usize) {
    if mappages(kpt, va, sz, pa, perm).is_err() {
        panic!("kvmmap");
    }
}

/// Create PTEs for virtual addresses starting at va that refer to physical
/// addresses starting at pa. va and size need not be page-aligned.
pub fn mappages(
    pt: PageTable,
    va: usize,
    size: usize,
    pa: usize,
    perm: usize,
) -> Result<(), Errno> {
    if size == 0 {
        panic!("mappages: size");
    }
    let mut a = pg_round_down(va);
    let last = pg_round_down(va + size - 1);
    let mut pa = pg_round_down(pa);
    loop {
        let pte = walk(pt, a, true).ok_or(Errno::ENOMEM)?;
        // SAFETY: pte points into a live page-table page.
        unsafe {
            if *pte & PTE_V != 0 {
                panic!("mappages: remap {:#x}", a);
            }
            *pte = pa2pte(pa) | perm | PTE_V;
        }
        if a == last {
            return Ok(());
        }
        a += PGSIZE;
        pa += PGSIZE;
    }
}

/// Remove npages of mappings starting from va (page-aligned). Pages that
/// are not mapped (page 0, guard pages) are skipped. Optionally free the
/// physical memory.
pub fn uvmunmap(pt: PageTable, va: usize, npages: usize, do_free: bool) {
    if !va.is_multiple_of(PGSIZE) {
        panic!("uvmunmap: not aligned");
    }
    for a in (va..va + npages * PGSIZE).step_by(PGSIZE) {
        let Some(pte) = walk(pt, a, false) else {
            continue;
        };
        // SAFETY: pte points into a live page-table page.
        let v = unsafe { *pte };
        if v & PTE_V == 0 {
            continue;
        }
        if pte_flags(v) == PTE_V {
            panic!("uvmunmap: not a leaf");
        }
        if do_free {
            // SAFETY: the caller says the mapping owned this page, and we
            // are removing that mapping.
            unsafe { kfree(pte2pa(v) as *mut u8) };
        }
        // SAFETY: as above.
        unsafe { *pte = 0 };
    }
}

/// Create an empty user page table.
pub fn uvmcreate() -> Option<PageTable> {
    Some(PageTable(kzalloc()? as usize))
}

/// Allocate PTEs and zeroed physical memory to grow a process from oldsz
/// to newsz (need not be page aligned). Returns the new size.
pub fn uvmalloc(pt: PageTable, oldsz: usize, newsz: usize, xperm: usize) -> Result<usize, Errno> {
    if newsz < oldsz {
        return Ok(oldsz);
    }
    if newsz > TRAPFRAME {
        return Err(Errno::ENOMEM);
    }
    let start = pg_round_up(oldsz);
    for a in (start..newsz).step_by(PGSIZE) {
        let Some(mem) = kzalloc() else {
            uvmdealloc(pt, a, start);
            return Err(Errno::ENOMEM);
        };
        if mappages(pt, a, PGSIZE, mem as usize, PTE_R | PTE_U | xperm).is_err() {
            // SAFETY: mem was never mapped.
            unsafe { kfree(mem) };
            uvmdealloc(pt, a, start);
            return Err(Errno::ENOMEM);
        }
    }
    Ok(newsz)
}

/// Deallocate user pages to bring the process size from oldsz to newsz.
/// Returns the new process size.
pub fn uvmdealloc(pt: PageTable, oldsz: usize, newsz: usize) -> usize {
    if newsz >= oldsz {
        return oldsz;
    }
    if pg_round_up(newsz) < pg_round_up(oldsz) {
        let npages = (pg_round_up(oldsz) - pg_round_up(newsz)) / PGSIZE;
        uvmunmap(pt, pg_round_up(newsz), npages, true);
    }
    newsz
}

/// Recursively free page-table pages. All leaf mappings must already have
/// been removed.
fn freewalk(pt: PageTable) {
    for i in 0..512 {
        // SAFETY: i < 512 within a page-table page we own.
        let pte = unsafe { pt.ptes().add(i) };
        // SAFETY: as above.
        let v = unsafe { *pte };
        if v & PTE_V != 0 && v & (PTE_R | PTE_W | PTE_X) == 0 {
            // This PTE points to a lower-level page table.
            freewalk(PageTable(pte2pa(v)));
            // SAFETY: as above.
            unsafe { *pte = 0 };
        } else if v & PTE_V != 0 {
            panic!("freewalk: leaf");
        }
    }
    // SAFETY: no PTE points below this page-table page any more, and the
    // caller drops its last reference to the table.
    unsafe { kfree(pt.0 as *mut u8) };
}

/// Free user memory pages, then page-table pages.
pub fn uvmfree(pt: PageTable, sz: usize) {
    if sz > 0 {
        uvmunmap(pt, 0, pg_round_up(sz) / PGSIZE, true);
    }
    freewalk(pt);
}

/// Given a parent process's page table, copy its memory into a child's
/// page table: both the page table and the physical memory. Frees any
/// allocated pages on failure.
pub fn uvmcopy(old: PageTable, new: PageTable, sz: usize) -> Result<(), Errno> {
    for a in (0..sz).step_by(PGSIZE) {
        let Some(pte) = walk(old, a, false) else {
            continue;
        };
        // SAFETY: pte points into the parent's live page-table page.
        let v = unsafe { *pte };
        if v & PTE_V == 0 {
            continue; // page 0, guard page
        }
        let pa = pte2pa(v);
        let flags = pte_flags(v);
        let Some(mem) = kalloc_copy(pa) else {
            uvmunmap(new, 0, a / PGSIZE, true);
            return Err(Errno::ENOMEM);
        };
        if mappages(new, a, PGSIZE, mem as usize, flags).is_err() {
            // SAFETY: mem was never mapped.
            unsafe { kfree(mem) };
            uvmunmap(new, 0, a / PGSIZE, true);
            return Err(Errno::ENOMEM);
        }
    }
    Ok(())
}

fn kalloc_copy(pa: usize) -> Option<*mut u8> {
    let mem = crate::kalloc::kalloc()?;
    // SAFETY: pa is a mapped user page (direct-mapped), mem a fresh page.
    unsafe { ptr::copy_nonoverlapping(pa as *const u8, mem, PGSIZE) };
    Some(mem)
}

/// Mark a PTE invalid for user access. Used by exec for the user stack
/// guard page.
pub fn uvmclear(pt: PageTable, va: usize) {
    let pte = walk(pt, va, false).expect("uvmclear");
    // SAFETY: pte points into a live page-table page.
    unsafe { *pte &= !PTE_U };
}

/// Copy from kernel to user: `src` to virtual address dstva in page table
/// `pt`. Fails with EFAULT if any byte is not mapped writable for the user.
pub fn copyout(pt: PageTable, mut dstva: usize, mut src: &[u8]) -> Result<(), Errno> {
    while !src.is_empty() {
        let va0 = pg_round_down(dstva);
        if va0 >= MAXVA {
            return Err(Errno::EFAULT);
        }
        let pte = walk(pt, va0, false).ok_or(Errno::EFAULT)?;
        // SAFETY: pte points into a live page-table page.
        let v = unsafe { *pte };
        if v & PTE_V == 0 || v & PTE_U == 0 || v & PTE_W == 0 {
            return Err(Errno::EFAULT);
        }
        let pa0 = pte2pa(v);
        let n = core::cmp::min(PGSIZE - (dstva - va0), src.len());
        // SAFETY: [pa0 + off, +n) lies inside one mapped user page,
        // direct-mapped in the kernel; src is a kernel slice.
        unsafe { ptr::copy(src.as_ptr(), (pa0 + (dstva - va0)) as *mut u8, n) };
        src = &src[n..];
        dstva = va0 + PGSIZE;
    }
    Ok(())
}

/// Copy from user to kernel: fill `dst` from virtual address srcva in
/// page table `pt`. Fails with EFAULT on an unmapped byte.
pub fn copyin(pt: PageTable, dst: &mut [u8], mut srcva: usize) -> Result<(), Errno> {
    let mut off = 0;
    while off < dst.len() {
        let va0 = pg_round_down(srcva);
        let pa0 = walkaddr(pt, va0).ok_or(Errno::EFAULT)?;
        let n = core::cmp::min(PGSIZE - (srcva - va0), dst.len() - off);
        // SAFETY: as in copyout, the source lies within one mapped user page.
        unsafe {
            ptr::copy(
                (pa0 + (srcva - va0)) as *const u8,
                dst.as_mut_ptr().add(off),
                n,
            )
        };
        off += n;
        srcva = va0 + PGSIZE;
    }
    Ok(())
}

/// Copy a NUL-terminated string from user to kernel, into `dst` (with its
/// NUL). Returns the string length without the NUL. EFAULT on a bad
/// address, ENAMETOOLONG if no NUL within dst.len() bytes.
pub fn copyinstr(pt: PageTable, dst: &mut [u8], mut srcva: usize) -> Result<usize, Errno> {
    let mut off = 0;
    while off < dst.len() {
        let va0 = pg_round_down(srcva);
        let pa0 = walkaddr(pt, va0).ok_or(Errno::EFAULT)?;
        let n = core::cmp::min(PGSIZE - (srcva - va0), dst.len() - off);
        for i in 0..n {
            // SAFETY: within one mapped user page, direct-mapped.
            let c = unsafe { *((pa0 + (srcva - va0) + i) as *const u8) };
            dst[off] = c;
            if c == 0 {
                return Ok(off);
            }
            off += 1;
        }
        srcva = va0 + PGSIZE;
    }
    Err(Errno::ENAMETOOLONG)
}
