//! Namespaces: what a container is to the kernel.
//!
//! A namespace gives the processes in it their own pid numbering (its
//! first process is pid 1), its own file-system root (a directory of the
//! one xv6 file system) and its own console foreground group. Slot 0 is
//! the root namespace, the host: its pids are the global ones and it sees
//! every process (`proc.rs` keeps both ids per process and translates at
//! the system-call boundary: `getpid`, `fork`, `wait`, `kill`, `setpgid`,
//! `procinfo` and the console's ^P all speak the caller's numbering).
//! `spawn` (proc.rs) forks into a fresh slot; `fork` inherits the
//! parent's. Containers do not nest: `spawn` from inside one is refused,
//! so a container only ever sees itself and the host sees all.
//!
//! File-system isolation is the root inode kept here: path lookup starts
//! at it for `/`, and the directory layer (`dir.rs`) answers `..` of it
//! with itself, as the on-disk `..` of `/` does on the host, so no path
//! (absolute, relative, `..` chains, the last element of a create) leaves
//! it. A process's cwd starts at the root and can only move by lookups.
//! No system call takes a directory descriptor as the base of a path, and
//! `spawn` does not carry directory descriptors into the container.
//! Programs: `exec` in a container that finds no such program under the
//! container's root looks the bare name up in the host's root, read-only
//! (exec only reads it); the container cannot open, write or unlink the
//! host's programs, because no path of its reaches them.
//!
//! Network: each slot has its own `net::Stack` (`netglue.rs`), brought up
//! on the bridge with the slot's address when `spawn` takes the slot.
//! `spawn` does not carry socket descriptors into the container either,
//! so a container's processes only hold sockets of its own stack.
//!
//! Life cycle: a slot is taken by `spawn` and counts its processes twice:
//! `live` (not yet exited) and `procs` (slots not yet reaped). When the
//! last live process exits, the resources the processes used are released
//! (`release`: the root inode, the console if attached, the container's
//! network stack, whose sockets its processes' exits have closed); when
//! the last one is reaped, the slot and its numbering are free for the
//! next `spawn`.
//!
//! Locking: `NSTABLE` is a leaf spinlock, taken after `p.lock` and the
//! console's lock, never held while taking another lock except `ITABLE`'s
//! (cloning an inode); the stack is brought up and down without it. Dropping an inode may sleep, so a root inode is
//! taken out under the lock and dropped after it, inside a log op.

use abi::Errno;

use crate::fs::Inode;
use crate::spinlock::Spinlock;

/// Namespaces at once, the root one included.
pub const NNS: usize = 8;
/// The root namespace (the host).
pub const ROOT_NS: usize = abi::syscall::ROOT_NS as usize;

struct Ns {
    /// Processes not yet exited.
    live: usize,
    /// Process slots not yet reaped (live ones included).
    procs: usize,
    /// The next pid handed out inside this namespace.
    nextpid: i32,
    /// Its pid 1 has exited: every process in it is being killed, and so
    /// is any process a fork adds meanwhile.
    dying: bool,
    /// The process group ^C kills while the console is attached here
    /// (0: none), numbered in this namespace.
    foreground: i32,
    /// The container's `/`; None for the root namespace (the disk's root),
    /// and for a container once its last process has exited.
    root: Option<Inode>,
    /// Where the root inode lives, kept for lock-free `..` checks.
    root_id: (u32, u32),
}

impl Ns {
    const fn empty() -> Ns {
        Ns {
            live: 0,
            procs: 0,
            nextpid: 1,
            dying: false,
            foreground: 0,
            root: None,
            root_id: (0, 0),
        }
    }

    fn in_use(&self) -> bool {
        self.procs > 0
    }
}

static NSTABLE: Spinlock<[Ns; NNS]> = Spinlock::new("ns", [const { Ns::empty() }; NNS]);

/// Take a free slot for a container rooted at `root` (a directory). It
/// counts no process yet: `enter` adds the first, or `abandon` gives the
/// slot back if the fork fails. EAGAIN when every slot is taken. Call
/// inside a log op (a refused `root` is dropped).
pub fn alloc(root: Inode) -> Result<usize, Errno> {
    let mut t = NSTABLE.lock();
    let i = (1..NNS).find(|&i| !t[i].in_use() && t[i].root.is_none());
    let Some(i) = i else {
        drop(t);
        drop(root);
        return Err(Errno::EAGAIN);
    };
    t[i] = Ns {
        root_id: (root.dev(), root.inum()),
        root: Some(root),
        ..Ns::empty()
    };
    // Hold the slot until `enter` or `abandon`.
    t[i].procs = 1;
    drop(t);
    crate::netglue::up(i);
    Ok(i)
}

/// Undo `alloc` when the spawn failed before any process entered. Call
/// inside a log op (the root inode is dropped).
pub fn abandon(ns: usize) {
    let root = {
        let mut t = NSTABLE.lock();
        t[ns].procs = 0;
        t[ns].root.take()
    };
    drop(root);
    crate::netglue::down(ns);
}

/// A new process with global pid `pid` joins `ns`: returns its pid there.
/// For a fresh slot from `alloc`, the first process takes over its hold.
pub fn enter(ns: usize, pid: i32) -> i32 {
    if ns == ROOT_NS {
        return pid;
    }
    let mut t = NSTABLE.lock();
    let n = &mut t[ns];
    if n.nextpid > 1 {
        n.procs += 1;
    }
    n.live += 1;
    let vpid = n.nextpid;
    n.nextpid += 1;
    vpid
}

/// A process of `ns` has exited (called from `exit`, inside a log op,
/// with no spinlock held). The last one out releases the container's
/// resources.
pub fn exit(ns: usize) {
    if ns == ROOT_NS {
        return;
    }
    let root = {
        let mut t = NSTABLE.lock();
        t[ns].live -= 1;
        if t[ns].live > 0 {
            return;
        }
        t[ns].foreground = 0;
        t[ns].root.take()
    };
    release(ns, root);
}

/// Free what a container's processes held, once none is left running.
fn release(ns: usize, root: Option<Inode>) {
    // Dropping the root is an iput: the caller is inside a log op.
    drop(root);
    // A console attached here goes back to the host.
    crate::console::detach(ns);
    // Its stack: off the bridge, every mbuf it held back in the pool.
    crate::netglue::down(ns);
}

/// A process slot of `ns` has been reaped; the last frees the slot.
pub fn reaped(ns: usize) {
    if ns == ROOT_NS {
        return;
    }
    let mut t = NSTABLE.lock();
    t[ns].procs -= 1;
    if t[ns].procs == 0 {
        t[ns] = Ns::empty();
    }
}

/// Pid 1 of container `ns` is exiting: the rest go with it (proc.rs).
pub fn set_dying(ns: usize) {
    NSTABLE.lock()[ns].dying = true;
}

/// Is container `ns` ending? A process forked into it now is killed at once.
pub fn dying(ns: usize) -> bool {
    ns != ROOT_NS && NSTABLE.lock()[ns].dying
}

/// Does `ns` name a container with a process still running?
pub fn alive(ns: usize) -> bool {
    ns != ROOT_NS && ns < NNS && NSTABLE.lock()[ns].live > 0
}

/// The root directory of `ns`: None means the disk's root.
pub fn root(ns: usize) -> Option<Inode> {
    if ns == ROOT_NS {
        return None;
    }
    NSTABLE.lock()[ns].root.clone()
}

/// Is inode (dev, inum) the root directory of `ns`? (`..` stays there.)
pub fn is_root(ns: usize, dev: u32, inum: u32) -> bool {
    ns != ROOT_NS && NSTABLE.lock()[ns].root_id == (dev, inum)
}

/// The group ^C kills in `ns` (0: none).
pub fn foreground(ns: usize) -> i32 {
    NSTABLE.lock()[ns].foreground
}

pub fn set_foreground(ns: usize, pgid: i32) {
    NSTABLE.lock()[ns].foreground = pgid;
}

/// Namespaces in use, the root one included (sysinfo).
pub fn count() -> usize {
    1 + NSTABLE.lock()[1..].iter().filter(|n| n.in_use()).count()
}
