//! Kernel limits, as in xv6's param.h.

/// Maximum number of processes.
pub const NPROC: usize = 64;
/// Maximum number of harts (QEMU runs 3).
pub const NCPU: usize = 8;
/// Open files per process: enough for a server holding a few dozen
/// connections (tcpecho's tests hold 32), and fewer than the stack's
/// datagram sockets, so one process runs out of descriptors (EMFILE)
/// before the kernel runs out of sockets (ENFILE).
pub const NOFILE: usize = 48;
/// Open files per system.
pub const NFILE: usize = 200;
/// Maximum number of active in-memory inodes.
pub const NINODE: usize = 50;
/// Maximum major device number.
pub const NDEV: usize = 10;
/// Device number of the file-system root disk.
pub const ROOTDEV: u32 = 1;
/// Max exec arguments.
pub const MAXARG: usize = 32;
/// Max # of blocks any FS op writes.
pub const MAXOPBLOCKS: usize = 10;
/// Max data blocks in the on-disk log.
pub const LOGSIZE: usize = MAXOPBLOCKS * 3;
/// Size of the disk block cache. The log can pin up to LOGSIZE (= MAXOPBLOCKS * 3) buffers while it
/// commits; the extra ten keep bget from running dry (a panic, as in xv6)
/// while other processes read blocks at the same time.
pub const NBUF: usize = MAXOPBLOCKS * 3 + 10;
/// Maximum file path name.
pub const MAXPATH: usize = 128;
/// User stack pages (plus one guard page below).
pub const USERSTACK: usize = 4;
/// Pages per kernel stack: Rust frames are larger than C's, so more than
/// xv6's one page.
pub const KSTACK_PAGES: usize = 4;
/// Boot (and scheduler) stack per hart, bytes.
pub const BOOT_STACK: usize = 16 * 4096;
