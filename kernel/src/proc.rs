//! Processes and harts: the process table, fork/exit/wait/kill,
//! sleep/wakeup, and the per-hart scheduler.
//!
//! Each process belongs to a namespace (`ns.rs`): `pid` is its global
//! number, the one the root namespace sees; `vpid` the one its own
//! namespace sees (equal in the root namespace). A process sees another
//! only in its own namespace, or all of them from the root one
//! (`seen_by`); every pid crossing the system-call boundary goes through
//! it. Process groups are numbered in their namespace.
//!
//! Locking (as in xv6):
//! - `p.lock` guards `ProcInner` (state, chan, killed, xstate, pids, pgid, ns). It is
//!   held across `swtch` between a process and its hart's scheduler: the
//!   side that acquired it is not the side that releases it.
//! - `WAIT_LOCK` guards every `p.parent` and must be acquired before any
//!   `p.lock`; it also keeps wakeups of a waiting parent from being lost.
//! - `ProcData` is private to the process: only the process itself (or
//!   whoever holds `p.lock` while the slot is Unused/Used, i.e. before it
//!   runs or after it is a Zombie) touches it.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use abi::syscall::{ProcInfo, PROC_RUNNABLE, PROC_RUNNING, PROC_SLEEPING, PROC_USED, PROC_ZOMBIE};
use abi::Errno;
use spin::Once;

use crate::file::File;
use crate::fs::Inode;
use crate::kalloc::{kalloc, kfree};
use crate::memlayout::{kstack, TRAMPOLINE, TRAPFRAME};
use crate::ns::{self, ROOT_NS};
use crate::param::*;
use crate::riscv::*;
pub use crate::sched::{
    cpuid, make_runnable, mycpu, sched, scheduler, sleep, take_resched, wakeup, yield_, Cpu,
};
use crate::spinlock::{Spinlock, SpinlockGuard};
pub use crate::swtch::Context;
pub use crate::trampoline::TrapFrame;
use crate::vm::{self, PageTable};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ProcState {
    Unused,
    Used,
    Sleeping,
    Runnable,
    Running,
    Zombie,
}

/// The part of a process guarded by `p.lock`.
pub struct ProcInner {
    pub state: ProcState,
    /// If non-zero, sleeping on chan.
    pub chan: usize,
    /// If true, have been killed.
    pub killed: bool,
    /// Exit status to be returned to parent's wait.
    pub xstate: i32,
    pub pid: i32,
    /// Process group: inherited on fork, changed by `setpgid`. The
    /// console's ^C kills every process of its foreground group.
    /// Numbered in the process's namespace.
    pub pgid: i32,
    /// The namespace the process lives in (`ns.rs`).
    pub ns: usize,
    /// The pid inside that namespace (== pid in the root namespace).
    pub vpid: i32,
}

impl ProcInner {
    /// This process's pid as a process of namespace `viewer` knows it;
    /// None if `viewer` cannot see it.
    pub fn seen_by(&self, viewer: usize) -> Option<i32> {
        if self.state == ProcState::Unused {
            None
        } else if viewer == ROOT_NS {
            Some(self.pid)
        } else if self.ns == viewer {
            Some(self.vpid)
        } else {
            None
        }
    }
}

/// The part of a process private to it (see the module doc).
pub struct ProcData {
    /// Bottom of the kernel stack (virtual address in the kernel page table).
    pub kstack: usize,
    /// Size of process memory (bytes).
    pub sz: usize,
    /// User page table.
    pub pagetable: PageTable,
    /// Data page for trampoline.rs (kernel direct-map address).
    pub trapframe: *mut TrapFrame,
    /// swtch() here to run process.
    pub context: Context,
    /// Open files.
    pub ofile: [Option<Arc<File>>; NOFILE],
    /// Current directory.
    pub cwd: Option<Inode>,
    /// Process name (debugging, ^P).
    pub name: [u8; 16],
}

pub struct Proc {
    pub lock: Spinlock<ProcInner>,
    /// Parent process slot; guarded by WAIT_LOCK.
    parent: UnsafeCell<*const Proc>,
    data: UnsafeCell<ProcData>,
}

// SAFETY: inner state is behind p.lock; `parent` behind WAIT_LOCK; `data`
// is only touched by the owning process or under p.lock while not running.
unsafe impl Sync for Proc {}

impl Proc {
    const fn new() -> Proc {
        Proc {
            lock: Spinlock::new(
                "proc",
                ProcInner {
                    state: ProcState::Unused,
                    chan: 0,
                    killed: false,
                    xstate: 0,
                    pid: 0,
                    pgid: 0,
                    ns: ROOT_NS,
                    vpid: 0,
                },
            ),
            parent: UnsafeCell::new(ptr::null()),
            data: UnsafeCell::new(ProcData {
                kstack: 0,
                sz: 0,
                pagetable: PageTable::NULL,
                trapframe: ptr::null_mut(),
                context: Context {
                    ra: 0,
                    sp: 0,
                    s: [0; 12],
                },
                ofile: [const { None }; NOFILE],
                cwd: None,
                name: [0; 16],
            }),
        }
    }

    /// The process's private data. Only the process itself may call this
    /// on itself (via `myproc().data()`), or code holding `p.lock` on a
    /// process that is not running (allocproc, fork's child, freeproc).
    #[allow(clippy::mut_from_ref)]
    pub fn data(&self) -> &mut ProcData {
        // SAFETY: see the doc comment: exclusive by convention, as in xv6.
        unsafe { &mut *self.data.get() }
    }

    #[allow(clippy::mut_from_ref)]
    pub fn trapframe(&self) -> &mut TrapFrame {
        // SAFETY: the trapframe page lives as long as the process, and
        // only the process (or its creator) touches it.
        unsafe { &mut *self.data().trapframe }
    }

    pub fn pid(&self) -> i32 {
        self.lock.lock().pid
    }

    pub fn name(&self) -> &str {
        let n = &self.data().name;
        let len = n.iter().position(|&c| c == 0).unwrap_or(n.len());
        core::str::from_utf8(&n[..len]).unwrap_or("?")
    }

    pub fn set_killed(&self) {
        self.lock.lock().killed = true;
    }
}

pub static PROCS: [Proc; NPROC] = [const { Proc::new() }; NPROC];

static NEXTPID: AtomicI32 = AtomicI32::new(1);

/// Helps ensure that wakeups of wait()ing parents are not lost, and
/// guards every `parent` field.
static WAIT_LOCK: Spinlock<()> = Spinlock::new("wait_lock", ());

/// The pid of the first user process, init: `userinit` allocates the
/// first pid. Nobody may kill it (EPERM), since the machine needs it.
pub const INIT_PID: i32 = 1;

/// The first user process (its children are re-parented here); set once
/// by `userinit`.
static INITPROC: Once<&'static Proc> = Once::new();

fn initproc() -> &'static Proc {
    INITPROC.get().expect("no init process")
}

/// Map a kernel stack (plus an unmapped guard page below it) for each process slot.
pub fn proc_mapstacks(kpt: PageTable) {
    for i in 0..NPROC {
        for pg in 0..KSTACK_PAGES {
            let pa = kalloc().expect("proc_mapstacks") as usize;
            vm::kvmmap(kpt, kstack(i) + pg * PGSIZE, pa, PGSIZE, PTE_R | PTE_W);
        }
    }
}

/// Initialize the proc table.
pub fn procinit() {
    for (i, p) in PROCS.iter().enumerate() {
        let mut g = p.lock.lock();
        p.data().kstack = kstack(i);
        g.state = ProcState::Unused;
    }
}

/// The current process, if any.
pub fn try_myproc() -> Option<&'static Proc> {
    let _off = crate::spinlock::IntrOff::new();
    // SAFETY: interrupts are off, so we stay on this hart while reading.
    let p = unsafe { (*mycpu()).proc };
    // SAFETY: c.proc is null or a slot of the static PROCS table.
    unsafe { p.as_ref() }
}

/// The current process; panics when called from a scheduler context.
pub fn myproc() -> &'static Proc {
    try_myproc().expect("myproc: no process")
}

fn allocpid() -> i32 {
    NEXTPID.fetch_add(1, Ordering::Relaxed)
}

/// Look in the process table for an Unused proc. If found, initialize
/// state required to run in the kernel and return with p.lock held. If
/// there are no free procs, or a memory allocation fails, return None.
fn allocproc() -> Option<(&'static Proc, SpinlockGuard<'static, ProcInner>)> {
    for p in PROCS.iter() {
        let mut g = p.lock.lock();
        if g.state != ProcState::Unused {
            continue;
        }
        g.pid = allocpid();
        g.vpid = g.pid;
        g.ns = ROOT_NS;
        g.state = ProcState::Used;
        g.killed = false;
        g.xstate = 0;
        let d = p.data();
        // Allocate a trapframe page.
        let Some(tf) = kalloc() else {
            freeproc(p, &mut g);
            return None;
        };
        // SAFETY: fresh page; zero it so fp_used starts false.
        unsafe { ptr::write_bytes(tf, 0, PGSIZE) };
        d.trapframe = tf as *mut TrapFrame;
        // An empty user page table.
        let Some(pt) = proc_pagetable(p) else {
            freeproc(p, &mut g);
            return None;
        };
        d.pagetable = pt;
        // Set up new context to start executing at forkret, which returns
        // to user space.
        d.context = Context::default();
        d.context.ra = forkret as *const () as usize;
        d.context.sp = d.kstack + KSTACK_PAGES * PGSIZE;
        return Some((p, g));
    }
    None
}

/// Free a proc structure and the data hanging from it, including user
/// pages. p.lock must be held.
fn freeproc(p: &Proc, g: &mut ProcInner) {
    let d = p.data();
    if !d.trapframe.is_null() {
        // SAFETY: the process is not running and its page table (the
        // only mapping of the trapframe) is freed just below.
        unsafe { kfree(d.trapframe as *mut u8) };
    }
    d.trapframe = ptr::null_mut();
    if !d.pagetable.is_null() {
        proc_freepagetable(d.pagetable, d.sz);
    }
    d.pagetable = PageTable::NULL;
    d.sz = 0;
    d.name = [0; 16];
    // SAFETY: the slot is not running and we hold its lock; WAIT_LOCK
    // holders only compare parent pointers of live children.
    unsafe { *p.parent.get() = ptr::null() };
    g.pid = 0;
    g.chan = 0;
    g.killed = false;
    g.xstate = 0;
    g.pgid = 0;
    g.ns = ROOT_NS;
    g.vpid = 0;
    g.state = ProcState::Unused;
}

/// Create a user page table for a given process, with no user memory,
/// but with the trampoline and trapframe pages.
pub fn proc_pagetable(p: &Proc) -> Option<PageTable> {
    let pt = vm::uvmcreate()?;
    let tramp = ptr::addr_of!(TRAMPOLINE_CODE) as usize;
    // The trampoline at the highest user virtual address; only the
    // supervisor uses it on the way to/from user space, so not PTE_U.
    if vm::mappages(pt, TRAMPOLINE, PGSIZE, tramp, PTE_R | PTE_X).is_err() {
        vm::uvmfree(pt, 0);
        return None;
    }
    // The trapframe page just below the trampoline page.
    let tf = p.data().trapframe as usize;
    if vm::mappages(pt, TRAPFRAME, PGSIZE, tf, PTE_R | PTE_W).is_err() {
        vm::uvmunmap(pt, TRAMPOLINE, 1, false);
        vm::uvmfree(pt, 0);
        return None;
    }
    Some(pt)
}

extern "C" {
    #[link_name = "_trampoline"]
    static TRAMPOLINE_CODE: u8;
}

/// Free a process's page table, and free the physical memory it refers to.
pub fn proc_freepagetable(pt: PageTable, sz: usize) {
    vm::uvmunmap(pt, TRAMPOLINE, 1, false);
    vm::uvmunmap(pt, TRAPFRAME, 1, false);
    vm::uvmfree(pt, sz);
}

// initcode: the first user program, position independent, run at 0x1000:
// exec("/init", ["init"]); if that fails, exit(1) (and the kernel panics
// "init exiting").
core::arch::global_asm!(
    r#"
    .section .rodata.initcode,"a",@progbits
    .globl initcode_start
    .globl initcode_end
    .p2align 3
initcode_start:
    la a0, 2f
    la a1, 3f
    li a7, {sys_exec}
    ecall
1:
    li a0, 1
    li a7, {sys_exit}
    ecall
    j 1b
2:
    .string "/init"
    .p2align 3
3:
    .dword 0x1000 + (2b - initcode_start)
    .dword 0
initcode_end:
    "#,
    sys_exec = const abi::syscall::Sys::Exec as usize,
    sys_exit = const abi::syscall::Sys::Exit as usize,
);

extern "C" {
    static initcode_start: u8;
    static initcode_end: u8;
}

/// Where user programs (and initcode) start: page 0 stays unmapped.
pub const USER_TEXT: usize = 0x1000;

/// Set up the first user process.
pub fn userinit() {
    let (p, mut g) = allocproc().expect("userinit");
    assert_eq!(g.pid, INIT_PID, "userinit: init is not the first process");
    g.pgid = g.pid;
    INITPROC.call_once(|| p);
    let d = p.data();
    // SAFETY: linker-placed symbols bracketing the initcode bytes.
    let code = unsafe {
        let s = ptr::addr_of!(initcode_start);
        let e = ptr::addr_of!(initcode_end);
        core::slice::from_raw_parts(s, e as usize - s as usize)
    };
    // One page of code+stack at USER_TEXT; page 0 stays unmapped.
    let mem = crate::kalloc::kzalloc().expect("userinit");
    // SAFETY: fresh zeroed page; initcode is far smaller than a page.
    unsafe { ptr::copy_nonoverlapping(code.as_ptr(), mem, code.len()) };
    vm::mappages(
        d.pagetable,
        USER_TEXT,
        PGSIZE,
        mem as usize,
        PTE_R | PTE_W | PTE_X | PTE_U,
    )
    .expect("userinit map");
    d.sz = USER_TEXT + PGSIZE;
    // Prepare for the very first "return" from kernel to user.
    let tf = p.trapframe();
    tf.epc = USER_TEXT;
    tf.sp = USER_TEXT + PGSIZE;
    d.name[..8].copy_from_slice(b"initcode");
    g.state = ProcState::Runnable;
}

/// Grow or shrink user memory by n bytes; returns the old size.
pub fn growproc(n: isize) -> Result<usize, Errno> {
    let d = myproc().data();
    let sz = d.sz;
    if n > 0 {
        let newsz = sz.checked_add(n as usize).ok_or(Errno::ENOMEM)?;
        d.sz = vm::uvmalloc(d.pagetable, sz, newsz, PTE_W)?;
    } else if n < 0 {
        let newsz = sz
            .checked_sub(n.unsigned_abs())
            .filter(|&s| s >= USER_TEXT)
            .ok_or(Errno::EINVAL)?;
        d.sz = vm::uvmdealloc(d.pagetable, sz, newsz);
    }
    Ok(sz)
}

/// Create a new process, copying the parent. Sets up the child kernel
/// stack to return as if from the fork() system call.
pub fn fork() -> Result<usize, Errno> {
    fork_into(None, 0)
}

/// spawn: fork into namespace `ns`, fresh from `ns::alloc`: the child is
/// its pid 1, in a group of its own, with the container's root as cwd and
/// without the descriptors whose bits are set in `drop_fds` (directories,
/// which would otherwise reach outside). Returns the child's global pid.
pub fn spawn(ns: usize, drop_fds: u64) -> Result<usize, Errno> {
    fork_into(Some(ns), drop_fds)
}

fn fork_into(new_ns: Option<usize>, drop_fds: u64) -> Result<usize, Errno> {
    let p = myproc();
    let pd = p.data();
    let (pgid, parent_ns) = {
        let g = p.lock.lock();
        (g.pgid, g.ns)
    };
    let (np, mut ng) = allocproc().ok_or(Errno::EAGAIN)?;
    let nd = np.data();
    // Copy user memory from parent to child.
    if let Err(e) = vm::uvmcopy(pd.pagetable, nd.pagetable, pd.sz) {
        freeproc(np, &mut ng);
        return Err(e);
    }
    nd.sz = pd.sz;
    // Copy saved user registers; fork returns 0 in the child.
    // SAFETY: both trapframe pages are valid and distinct.
    unsafe { ptr::copy_nonoverlapping(pd.trapframe, nd.trapframe, 1) };
    np.trapframe().a0 = 0;
    // Increment reference counts on open file descriptors.
    for (i, f) in pd.ofile.iter().enumerate() {
        if drop_fds & (1 << i) == 0 {
            nd.ofile[i] = f.clone();
        }
    }
    nd.name = pd.name;
    // Nothing can fail from here on: join the namespace.
    let ns = new_ns.unwrap_or(parent_ns);
    ng.ns = ns;
    ng.vpid = ns::enter(ns, ng.pid);
    // Forked while its container ends: kill_namespace may have passed it.
    ng.killed = ns::dying(ns);
    if new_ns.is_some() {
        nd.cwd = ns::root(ns);
        ng.pgid = ng.vpid;
    } else {
        nd.cwd = pd.cwd.clone();
        ng.pgid = pgid;
    }
    // The parent sees the child by this number.
    let pid = ng.seen_by(parent_ns).expect("fork: child out of sight");
    drop(ng);

    let w = WAIT_LOCK.lock();
    // SAFETY: parent pointers are guarded by WAIT_LOCK, which we hold.
    unsafe { *np.parent.get() = p };
    drop(w);

    make_runnable(&mut np.lock.lock());
    Ok(pid as usize)
}

/// Pass p's abandoned children to init. Caller must hold WAIT_LOCK.
fn reparent(p: &Proc) {
    let init: *const Proc = initproc();
    for pp in PROCS.iter() {
        // SAFETY: WAIT_LOCK is held by the caller.
        unsafe {
            if ptr::eq(*pp.parent.get(), p) {
                *pp.parent.get() = init;
                wakeup(init as usize);
            }
        }
    }
}

/// Exit the current process. Does not return. An exited process remains
/// in the zombie state until its parent calls wait().
pub fn exit(status: i32) -> ! {
    let p = myproc();
    if ptr::eq(p, initproc()) {
        panic!("init exiting");
    }
    let (my_ns, vpid) = {
        let g = p.lock.lock();
        (g.ns, g.vpid)
    };
    if my_ns != ROOT_NS && vpid == 1 {
        // A container ends with its first process, as on Linux.
        kill_namespace(my_ns, p);
    }
    let d = p.data();
    // Close all open files (File's Drop does the closing).
    for f in d.ofile.iter_mut() {
        drop(f.take());
    }
    // Dropping the cwd inode is an iput, which must be inside a log op;
    // so may be the namespace's root, if this is its last process.
    crate::log::begin_op();
    d.cwd = None;
    ns::exit(my_ns);
    crate::log::end_op();

    let w = WAIT_LOCK.lock();
    // Give any children to init.
    reparent(p);
    // Parent might be sleeping in wait().
    // SAFETY: WAIT_LOCK is held.
    wakeup(unsafe { *p.parent.get() } as usize);
    let mut g = p.lock.lock();
    g.xstate = status;
    g.state = ProcState::Zombie;
    drop(w);
    // Jump into the scheduler, never to return.
    sched(g);
    panic!("zombie exit");
}

/// Wait for a child process to exit and return its pid; copy its exit
/// status to user address `addr` unless it is 0.
pub fn wait(addr: usize) -> Result<usize, Errno> {
    let p = myproc();
    let my_ns = p.lock.lock().ns;
    let mut w = WAIT_LOCK.lock();
    loop {
        // Scan through the table looking for exited children.
        let mut havekids = false;
        for pp in PROCS.iter() {
            // SAFETY: WAIT_LOCK is held.
            if !ptr::eq(unsafe { *pp.parent.get() }, p) {
                continue;
            }
            // Make sure the child isn't still in exit() or swtch().
            let mut g = pp.lock.lock();
            havekids = true;
            if g.state == ProcState::Zombie {
                // A child is in our namespace, or spawned from the root.
                let pid = g.seen_by(my_ns).unwrap_or(0);
                if addr != 0 {
                    let xs = g.xstate.to_le_bytes();
                    vm::copyout(p.data().pagetable, addr, &xs)?;
                }
                let child_ns = g.ns;
                freeproc(pp, &mut g);
                drop(g);
                drop(w);
                ns::reaped(child_ns);
                return Ok(pid as usize);
            }
        }
        // No point waiting if we don't have any children.
        if !havekids {
            return Err(Errno::ECHILD);
        }
        if killed() {
            return Err(Errno::EINTR);
        }
        // Wait for a child to exit.
        w = sleep(p as *const Proc as usize, w);
    }
}

/// A fork child's very first scheduling by scheduler() will swtch to forkret.
extern "C" fn forkret() -> ! {
    static FIRST: AtomicBool = AtomicBool::new(true);
    let p = myproc();
    // Still holding p.lock from scheduler; its guard lives on the
    // scheduler's stack and is dropped there only after we switch back.
    // SAFETY: this hart holds p.lock (taken by scheduler for us).
    unsafe { p.lock.force_unlock() };

    if FIRST.swap(false, Ordering::SeqCst) {
        // File system initialization must be run in the context of a
        // regular process (e.g., because it calls sleep), and thus cannot
        // be run from main().
        crate::fs::fsinit(ROOTDEV);
        p.data().cwd = crate::fs::namei(b"/").ok();
        crate::boottime::done(crate::boottime::Step::FileSystem);
    }
    crate::trap::usertrapret();
}

/// Mark a process killed and wake it if it sleeps: every sleeping system
/// call checks `killed()` when it wakes, and the process exits on its way
/// back to user space (see usertrap() in trap.rs).
fn kill_locked(g: &mut ProcInner) {
    g.killed = true;
    if g.state == ProcState::Sleeping {
        // Wake process from sleep().
        make_runnable(g);
    }
}

/// Kill the process the caller knows as `pid`. Init refuses (EPERM), as
/// on Linux, and so does a container's pid 1 to its own processes (the
/// host may kill it, which ends the container). ESRCH for a pid the
/// caller cannot see.
pub fn kill(pid: i32) -> Result<usize, Errno> {
    if pid == INIT_PID {
        return Err(Errno::EPERM);
    }
    let viewer = my_ns();
    for p in PROCS.iter() {
        let mut g = p.lock.lock();
        if g.seen_by(viewer) == Some(pid) {
            kill_locked(&mut g);
            return Ok(0);
        }
    }
    Err(Errno::ESRCH)
}

/// Kill every process of group `pgid` of the caller's namespace
/// (`kill(-pgid)`).
pub fn kill_group(pgid: i32) -> Result<usize, Errno> {
    kill_group_in(my_ns(), pgid)
}

/// Kill every process of group `pgid` of namespace `ns` (^C too); its
/// pid 1 is spared even if it is a member. ESRCH when the group has no
/// one else.
pub fn kill_group_in(ns: usize, pgid: i32) -> Result<usize, Errno> {
    let mut n = 0;
    for p in PROCS.iter() {
        let mut g = p.lock.lock();
        if g.ns == ns && g.pgid == pgid && g.vpid != INIT_PID && g.state != ProcState::Unused {
            kill_locked(&mut g);
            n += 1;
        }
    }
    if n == 0 {
        return Err(Errno::ESRCH);
    }
    Ok(0)
}

/// Kill every process of namespace `ns` but `me` (its pid 1, exiting).
/// Marked dying first, so a fork racing with the scan is killed too.
fn kill_namespace(ns: usize, me: &Proc) {
    ns::set_dying(ns);
    for p in PROCS.iter().filter(|p| !ptr::eq(*p, me)) {
        let mut g = p.lock.lock();
        if g.ns == ns && g.state != ProcState::Unused {
            kill_locked(&mut g);
        }
    }
}

/// Does some process (living or not yet reaped) of namespace `ns` belong
/// to group `pgid`?
pub fn group_exists(ns: usize, pgid: i32) -> bool {
    PROCS.iter().any(|p| {
        let g = p.lock.lock();
        g.ns == ns && g.pgid == pgid && g.state != ProcState::Unused
    })
}

/// The caller's namespace (the root one for kernel threads of control
/// that have no process).
pub fn my_ns() -> usize {
    try_myproc().map_or(ROOT_NS, |p| p.lock.lock().ns)
}

/// The caller's pid as its namespace numbers it.
pub fn getpid() -> i32 {
    myproc().lock.lock().vpid
}

/// Move process `pid` (0: the caller), which must be the caller or one of
/// its children (ESRCH), into group `pgid` (0: a new group numbered
/// `pid`). Joining another group needs it to exist (EPERM), as in POSIX.
pub fn setpgid(pid: i32, pgid: i32) -> Result<usize, Errno> {
    if pid < 0 || pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = myproc();
    let ns = my_ns();
    let pid = if pid == 0 { getpid() } else { pid };
    let pgid = if pgid == 0 { pid } else { pgid };
    if pgid != pid && !group_exists(ns, pgid) {
        return Err(Errno::EPERM);
    }
    let w = WAIT_LOCK.lock();
    for p in PROCS.iter() {
        // SAFETY: parent pointers are guarded by WAIT_LOCK, which we hold.
        let ours = ptr::eq(p, me) || ptr::eq(unsafe { *p.parent.get() }, me);
        let mut g = p.lock.lock();
        // A spawned child lives in another namespace: not ours to move.
        if ours && g.ns == ns && g.vpid == pid && g.state != ProcState::Unused {
            g.pgid = pgid;
            drop(w);
            return Ok(0);
        }
    }
    Err(Errno::ESRCH)
}

/// Has the current process been killed?
pub fn killed() -> bool {
    try_myproc().is_some_and(|p| p.lock.lock().killed)
}

/// Copy to either a user address, or kernel address, depending on
/// user_dst.
pub fn either_copyout(user_dst: bool, dst: usize, src: &[u8]) -> Result<(), Errno> {
    if user_dst {
        vm::copyout(myproc().data().pagetable, dst, src)
    } else {
        // SAFETY: kernel callers pass a kernel buffer of at least src.len() bytes.
        unsafe { ptr::copy(src.as_ptr(), dst as *mut u8, src.len()) };
        Ok(())
    }
}

/// Copy from either a user address, or kernel address, depending on
/// user_src.
pub fn either_copyin(dst: &mut [u8], user_src: bool, src: usize) -> Result<(), Errno> {
    if user_src {
        vm::copyin(myproc().data().pagetable, dst, src)
    } else {
        // SAFETY: kernel callers pass a kernel buffer of at least dst.len() bytes.
        unsafe { ptr::copy(src as *const u8, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }
}

/// Number of process slots in use (sysinfo).
pub fn nproc() -> usize {
    PROCS
        .iter()
        .filter(|p| p.lock.lock().state != ProcState::Unused)
        .count()
}

/// The processes namespace `viewer` sees, as `procinfo` reports them:
/// pids in the viewer's numbering, parents only if visible (a
/// container's pid 1 has parent 0, as on Linux).
pub fn procinfo(viewer: usize) -> Vec<ProcInfo> {
    // Snapshot each slot under its own lock (never two at once), with
    // parents as slot indexes under WAIT_LOCK, then translate.
    let w = WAIT_LOCK.lock();
    let mut snap: Vec<(Option<usize>, ProcInfo)> = Vec::new();
    for p in PROCS.iter() {
        // SAFETY: parent pointers are guarded by WAIT_LOCK, which we hold.
        let parent = unsafe { *p.parent.get() };
        let parent = PROCS.iter().position(|q| ptr::eq(q, parent));
        let g = p.lock.lock();
        let info = ProcInfo {
            pid: g.seen_by(viewer).unwrap_or(0),
            ppid: 0,
            ns: g.ns as u32,
            nspid: g.vpid,
            pgid: g.pgid,
            state: state_code(g.state),
            // A racy read of the name, as procdump's: only exec writes it.
            name: p.data().name,
        };
        snap.push((parent, info));
    }
    drop(w);
    let mut out = Vec::new();
    for (parent, info) in snap.iter() {
        if info.pid == 0 {
            continue;
        }
        let ppid = parent.map_or(0, |i| snap[i].1.pid);
        out.push(ProcInfo { ppid, ..*info });
    }
    out
}

fn state_code(s: ProcState) -> u32 {
    match s {
        ProcState::Unused => 0,
        ProcState::Used => PROC_USED,
        ProcState::Sleeping => PROC_SLEEPING,
        ProcState::Runnable => PROC_RUNNABLE,
        ProcState::Running => PROC_RUNNING,
        ProcState::Zombie => PROC_ZOMBIE,
    }
}

/// Print a process listing to the console, for debugging. Runs when the
/// user types ^P on the console, and lists what the namespace holding
/// the console sees (the root one: every process, with its namespace and
/// pid there). Takes no locks, to avoid wedging a stuck machine further.
pub fn procdump(viewer: usize) {
    crate::println!();
    for p in PROCS.iter() {
        // SAFETY: a racy read for debugging output only, as in xv6.
        let g = unsafe { p.lock.get_mut_unchecked() };
        let Some(pid) = g.seen_by(viewer) else {
            continue;
        };
        let state = match g.state {
            ProcState::Unused => "unused",
            ProcState::Used => "used",
            ProcState::Sleeping => "sleep ",
            ProcState::Runnable => "runble",
            ProcState::Running => "run   ",
            ProcState::Zombie => "zombie",
        };
        if viewer == ROOT_NS && g.ns != ROOT_NS {
            crate::println!(
                "{} {} {} {} ns {} pid {}",
                pid,
                g.pgid,
                state,
                p.name(),
                g.ns,
                g.vpid
            );
        } else {
            crate::println!("{} {} {} {}", pid, g.pgid, state, p.name());
        }
    }
}
