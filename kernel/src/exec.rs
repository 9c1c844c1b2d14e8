//! exec: replace the current process's memory with an ELF program from
//! the file system, with arguments on a fresh user stack.
//!
//! Everything is built in a new page table first; the old one is freed
//! only once nothing can fail any more, so a bad ELF leaves the caller
//! intact and gets an error back. User programs are linked at 0x1000
//! (`proc::USER_TEXT`) and page 0 stays unmapped so null pointers fault.

use alloc::vec::Vec;
use core::mem::size_of;

use abi::Errno;
use zerocopy::{FromZeros, IntoBytes};

use crate::elf::*;
use crate::fs;
use crate::log;
use crate::param::{MAXARG, MAXPATH, USERSTACK};
use crate::proc::{self, myproc, USER_TEXT};
use crate::riscv::*;
use crate::syscall::{argaddr, argstr, fetchaddr, fetchstr};
use crate::vm::{self, PageTable};

fn flags2perm(flags: u32) -> usize {
    let mut perm = 0;
    if flags & ELF_PROG_FLAG_EXEC != 0 {
        perm |= PTE_X;
    }
    if flags & ELF_PROG_FLAG_WRITE != 0 {
        perm |= PTE_W;
    }
    perm
}

/// The new image, until it replaces the old one; freed if exec fails.
struct NewImage {
    pagetable: PageTable,
    sz: usize,
}

impl Drop for NewImage {
    fn drop(&mut self) {
        if !self.pagetable.is_null() {
            proc::proc_freepagetable(self.pagetable, self.sz);
        }
    }
}

pub fn exec(path: &[u8], argv: &[&[u8]]) -> Result<usize, Errno> {
    let p = myproc();
    let _op = log::Op::begin();
    // A container runs the host's programs, read-only, if it has no
    // program of that name itself (see `ns.rs`).
    let ip = match fs::namei(path) {
        Err(Errno::ENOENT) if proc::my_ns() != crate::ns::ROOT_NS => fs::namei_host_program(path)?,
        r => r?,
    };
    let mut g = ip.lock();

    // Check ELF header.
    let mut elf = ElfHdr::new_zeroed();
    let n = size_of::<ElfHdr>();
    if g.readi(false, elf.as_mut_bytes().as_mut_ptr() as usize, 0, n)? != n
        || elf.magic != ELF_MAGIC
        || elf.elf[0] != ELFCLASS64
        || elf.machine != EM_RISCV
    {
        return Err(Errno::ENOEXEC);
    }

    let mut img = NewImage {
        pagetable: proc::proc_pagetable(p).ok_or(Errno::ENOMEM)?,
        // Page 0 is never mapped.
        sz: USER_TEXT,
    };

    // Load program into memory.
    for i in 0..elf.phnum as u64 {
        let off = elf
            .phoff
            .checked_add(i * size_of::<ProgHdr>() as u64)
            .filter(|&o| o <= u32::MAX as u64)
            .ok_or(Errno::ENOEXEC)?;
        let mut ph = ProgHdr::new_zeroed();
        let n = size_of::<ProgHdr>();
        if g.readi(
            false,
            ph.as_mut_bytes().as_mut_ptr() as usize,
            off as u32,
            n,
        )? != n
        {
            return Err(Errno::ENOEXEC);
        }
        if ph.typ != ELF_PROG_LOAD {
            continue;
        }
        let end = ph.vaddr.checked_add(ph.memsz).ok_or(Errno::ENOEXEC)?;
        if ph.memsz < ph.filesz
            || (ph.vaddr as usize) < USER_TEXT
            || end as usize > crate::memlayout::TRAPFRAME
            || ph
                .off
                .checked_add(ph.filesz)
                .is_none_or(|e| e > u32::MAX as u64)
        {
            return Err(Errno::ENOEXEC);
        }
        let perm = flags2perm(ph.flags);
        img.sz = vm::uvmalloc(img.pagetable, img.sz, end as usize, perm)?;
        // Segments may share a page (unaligned vaddr): give every page of
        // this segment at least this segment's permissions.
        grant(img.pagetable, ph.vaddr as usize, end as usize, perm);
        loadseg(
            img.pagetable,
            ph.vaddr as usize,
            &mut g,
            ph.off as u32,
            ph.filesz as usize,
        )?;
    }
    drop(g);
    drop(ip);
    drop(_op);

    // Allocate USERSTACK pages at the next page boundary, plus an
    // inaccessible guard page below them.
    let sz = pg_round_up(img.sz);
    img.sz = vm::uvmalloc(img.pagetable, sz, sz + (USERSTACK + 1) * PGSIZE, PTE_W)?;
    vm::uvmclear(img.pagetable, sz);
    let mut sp = img.sz;
    let stackbase = sp - USERSTACK * PGSIZE;

    // Push argument strings, prepare rest of stack in ustack.
    let mut ustack = [0usize; MAXARG + 1];
    for (i, arg) in argv.iter().enumerate() {
        sp -= arg.len() + 1;
        sp -= sp % 16; // riscv sp must be 16-byte aligned
        if sp < stackbase {
            return Err(Errno::E2BIG);
        }
        vm::copyout(img.pagetable, sp, arg)?;
        vm::copyout(img.pagetable, sp + arg.len(), &[0])?;
        ustack[i] = sp;
    }
    let argc = argv.len();
    ustack[argc] = 0;
    // Push the array of argv[] pointers.
    sp -= (argc + 1) * size_of::<usize>();
    sp -= sp % 16;
    if sp < stackbase {
        return Err(Errno::E2BIG);
    }
    vm::copyout(img.pagetable, sp, ustack[..=argc].as_bytes())?;

    // Save program name for debugging.
    let d = p.data();
    let last = path.split(|&c| c == b'/').next_back().unwrap_or(path);
    d.name = [0; 16];
    let len = last.len().min(15);
    d.name[..len].copy_from_slice(&last[..len]);

    // Commit to the user image.
    let old = NewImage {
        pagetable: d.pagetable,
        sz: d.sz,
    };
    d.pagetable = img.pagetable;
    d.sz = img.sz;
    img.pagetable = PageTable::NULL;
    let tf = p.trapframe();
    tf.epc = elf.entry as usize; // initial program counter = main
    tf.sp = sp; // initial stack pointer
                // arguments to user main(argc, argv): argc is returned via the system
                // call return value, which goes in a0.
    tf.a1 = sp;
    // Start with fresh FP state.
    tf.fp_used = 0;
    drop(old); // frees the old image
    crate::boottime::exec(path);
    Ok(argc)
}

/// OR `perm` into the PTEs of every page in [va, end).
fn grant(pt: PageTable, va: usize, end: usize, perm: usize) {
    let mut a = pg_round_down(va);
    while a < end {
        if let Some(pte) = vm::walk(pt, a, false) {
            // SAFETY: pte points into a live page-table page of the new image.
            unsafe { *pte |= perm };
        }
        a += PGSIZE;
    }
}

/// Load a program segment into pagetable at virtual address va (the pages
/// are already mapped). va need not be page-aligned.
fn loadseg(
    pt: PageTable,
    mut va: usize,
    g: &mut fs::InodeGuard<'_>,
    mut off: u32,
    mut sz: usize,
) -> Result<(), Errno> {
    while sz > 0 {
        let pa = vm::walkaddr(pt, pg_round_down(va)).expect("loadseg: address should exist");
        let n = core::cmp::min(sz, PGSIZE - va % PGSIZE);
        let dst = pa + va % PGSIZE;
        if g.readi(false, dst, off, n)? != n {
            return Err(Errno::ENOEXEC);
        }
        sz -= n;
        va += n;
        off += n as u32;
    }
    Ok(())
}

/// exec(path, argv)
pub fn sys_exec() -> Result<usize, Errno> {
    let mut path = [0u8; MAXPATH];
    let plen = argstr(0, &mut path)?;
    let uargv = argaddr(1);
    let mut args: Vec<Vec<u8>> = Vec::new();
    loop {
        if args.len() >= MAXARG {
            return Err(Errno::E2BIG);
        }
        let uarg = fetchaddr(uargv + args.len() * size_of::<usize>())?;
        if uarg == 0 {
            break;
        }
        let mut buf = alloc::vec![0u8; PGSIZE];
        let n = fetchstr(uarg, &mut buf).map_err(|e| match e {
            Errno::ENAMETOOLONG => Errno::E2BIG,
            e => e,
        })?;
        buf.truncate(n);
        args.push(buf);
    }
    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    exec(&path[..plen], &argv)
}
