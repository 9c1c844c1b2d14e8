//! xv6net kernel: an xv6-style kernel for RISC-V (QEMU virt) in Rust.
//!
//! Boot: every hart starts in `entry.rs` (`_entry`, M-mode), `start.rs`
//! drops to S-mode and jumps to `main` below. Hart 0 sets up memory,
//! devices and the first process; the other harts wait for it, then all
//! run `proc::scheduler`. One module per xv6 file; see each module's doc.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

#[macro_use]
pub mod printf;

// Processes, memory, traps, system calls, console.
pub mod boottime;
pub mod console;
pub mod elf;
pub mod entry;
pub mod exec;
pub mod hartprof;
pub mod ipi;
pub mod kalloc;
pub mod memlayout;
pub mod ns;
pub mod param;
pub mod plic;
pub mod proc;
pub mod riscv;
pub mod sched;
pub mod spinlock;
pub mod start;
pub mod swtch;
pub mod syscall;
pub mod sysproc;
pub mod trampoline;
pub mod trap;
pub mod uart;
pub mod vm;

// Disk, buffer cache, log, file system, files and pipes.
pub mod bio;
pub mod dir;
pub mod file;
pub mod fs;
pub mod log;
pub mod pipe;
pub mod sleeplock;
pub mod sysfile;
pub mod virtio;
pub mod virtio_blk;
pub mod virtqueue;

// The NIC, the bridge between the namespaces' stacks, and the glue to the
// network stack in the `net` crate.
pub mod bridge;
pub mod mirror;
pub mod netglue;
pub mod rxprof;
pub mod sysnet;
pub mod syspoll;
pub mod systcp;
pub mod txprof;
pub mod virtio_net;

/// Hart 0 has set up what every hart shares; the others wait for it.
static STARTED: spin::Once = spin::Once::new();

/// start() jumps here in supervisor mode on all harts.
pub extern "C" fn main() -> ! {
    hartprof::online(proc::cpuid());
    if proc::cpuid() == 0 {
        boottime::done(boottime::Step::Main);
        console::consoleinit();
        println!();
        println!("xv6net kernel is booting");
        println!();
        kalloc::kinit(); // physical page allocator
        vm::kvminit(); // create kernel page table
        vm::kvminithart(); // turn on paging
        proc::procinit(); // process table
        trap::trapinithart(); // install kernel trap vector
        plic::plicinit(); // set up interrupt controller
        plic::plicinithart(); // ask PLIC for device interrupts
        boottime::done(boottime::Step::Memory);
        bio::binit(); // buffer cache
        virtio_blk::init(); // emulated hard disk
        boottime::done(boottime::Step::Disk);
        virtio_net::init(); // network card
        boottime::done(boottime::Step::Nic);
        netglue::init(); // the root stack on the containers' bridge
        mirror::init(); // the bridge's mirror card, if QEMU has one
        proc::userinit(); // first user process
        boottime::done(boottime::Step::FirstProcess);
        STARTED.call_once(|| ());
        ipi::wake_idle_harts();
    } else {
        // Wait in wfi, woken by hart 0's IPI, not spinning: under QEMU a
        // spinning hart is a host thread taking a core from the one booting.
        ipi::set_idle(proc::cpuid(), true);
        while !STARTED.is_completed() {
            riscv::wfi();
        }
        println!("hart {} starting", proc::cpuid());
        vm::kvminithart(); // turn on paging
        trap::trapinithart(); // install kernel trap vector
        plic::plicinithart(); // ask PLIC for device interrupts
    }
    boottime::hart_up(proc::cpuid());
    proc::scheduler();
}
