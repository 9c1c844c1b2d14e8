//! Simple logging that allows concurrent FS system calls.
//!
//! A log transaction contains the updates of multiple FS system calls. The
//! logging system only commits when there are no FS system calls active.
//! Thus there is never any reasoning required about whether a commit might
//! write an uncommitted system call's updates to disk.
//!
//! A system call should call [`begin_op`]/[`end_op`] to mark its start and
//! end (or hold an [`Op`], which ends the operation when dropped). Usually
//! `begin_op` just increments the count of in-progress FS system calls and
//! returns. But if it thinks the log is close to running out, it sleeps
//! until the last outstanding `end_op` commits.
//!
//! The log is a physical re-do log containing disk blocks. The on-disk log
//! format:
//!   header block, containing block #s for block A, B, C, ...
//!   block A
//!   block B
//!   block C
//!   ...
//! Log appends are synchronous.
//!
//! Crash safety: a transaction's blocks first go to the log area; only once
//! they are all there is the header written with their count, which is the
//! commit point. Then they are copied home and the header's count is reset.
//! After a crash, [`initlog`] replays a committed header, or ignores blocks
//! whose header never made it.
//!
//! The header block is an `abi::fs::LogHeader` (declared in
//! `proto-defs/fs_layout.toml`), the same struct the log keeps in memory.

use abi::fs::{LogHeader, SuperBlock, LOGSIZE, MAXOPBLOCKS};
use zerocopy::{FromBytes, IntoBytes};

use crate::bio::{self, Buf};
use crate::proc;
use crate::spinlock::Spinlock;

const LOGN: usize = LOGSIZE as usize;

struct Log {
    start: u32,
    /// Blocks in the log area: the header, then up to `size - 1` blocks.
    size: u32,
    dev: u32,
    /// How many FS system calls are executing.
    outstanding: usize,
    /// In commit(), please wait.
    committing: bool,
    lh: LogHeader,
}

static LOG: Spinlock<Log> = Spinlock::new(
    "log",
    Log {
        start: 0,
        size: 0,
        dev: 0,
        outstanding: 0,
        committing: false,
        lh: LogHeader {
            n: 0,
            block: [0; LOGN],
        },
    },
);

/// How many blocks one transaction may log: the header block takes one
/// slot of the log area.
fn capacity(log: &Log) -> usize {
    LOGN.min(log.size as usize - 1)
}

fn chan() -> usize {
    &LOG as *const _ as usize
}

/// Sets the log up from the superblock and replays a committed
/// transaction left by a crash. Called once, by `fs::fsinit`.
pub fn initlog(dev: u32, sb: &SuperBlock) {
    {
        let mut log = LOG.lock();
        log.start = sb.logstart;
        log.size = sb.nlog;
        log.dev = dev;
    }
    assert!(
        sb.nlog as usize > MAXOPBLOCKS,
        "initlog: log area too small"
    );
    recover_from_log();
}

fn log_location() -> (u32, u32) {
    let log = LOG.lock();
    (log.dev, log.start)
}

/// Copies committed blocks from the log to their home location.
fn install_trans(lh: &LogHeader, recovering: bool) {
    let (dev, start) = log_location();
    for tail in 0..lh.n as usize {
        let lbuf = bio::bread(dev, start + tail as u32 + 1); // read log block
        let mut dbuf = bio::bread(dev, lh.block[tail]); // read dst
        dbuf.data_mut().copy_from_slice(lbuf.data()); // copy block to dst
        bio::bwrite(&mut dbuf); // write dst to disk
        if !recovering {
            bio::bunpin(&dbuf);
        }
    }
}

/// Reads the log header from disk.
fn read_head() -> LogHeader {
    let (dev, start) = log_location();
    let buf = bio::bread(dev, start);
    let (lh, _) = LogHeader::read_from_prefix(buf.data()).expect("a block holds a log header");
    assert!(lh.n as usize <= LOGN, "read_head: corrupt log header");
    lh
}

/// Writes the in-memory log header to disk. This is the true point at
/// which the current transaction commits.
fn write_head(lh: &LogHeader) {
    let (dev, start) = log_location();
    let mut buf = bio::bread(dev, start);
    lh.write_to_prefix(buf.data_mut())
        .expect("a block holds a log header");
    bio::bwrite(&mut buf);
}

fn recover_from_log() {
    let mut lh = read_head();
    install_trans(&lh, true); // if committed, copy from log to disk
    lh.n = 0;
    write_head(&lh); // clear the log
    LOG.lock().lh = lh;
}

/// Called at the start of each FS system call.
pub fn begin_op() {
    let mut log = LOG.lock();
    loop {
        if log.committing {
            log = proc::sleep(chan(), log);
        } else if log.lh.n as usize + (log.outstanding + 1) * MAXOPBLOCKS > capacity(&log) {
            // This op might exhaust log space; wait for commit.
            log = proc::sleep(chan(), log);
        } else {
            log.outstanding += 1;
            break;
        }
    }
}

/// Called at the end of each FS system call. Commits if this was the last
/// outstanding operation.
pub fn end_op() {
    let do_commit = {
        let mut log = LOG.lock();
        assert!(log.outstanding > 0, "end_op: no operation");
        log.outstanding -= 1;
        assert!(!log.committing, "log.committing");
        if log.outstanding == 0 {
            log.committing = true;
            true
        } else {
            // begin_op() may be waiting for log space, and decrementing
            // log.outstanding has decreased the amount of reserved space.
            proc::wakeup(chan());
            false
        }
    };
    if do_commit {
        // Call commit without holding locks, since not allowed to sleep
        // with locks.
        commit();
        let mut log = LOG.lock();
        log.committing = false;
        proc::wakeup(chan());
    }
}

/// An FS operation in progress: `begin_op` now, `end_op` when dropped.
/// Declare it before any `Inode` of the operation so the inodes are
/// released (possibly freed on disk) first.
#[must_use]
pub struct Op(());

impl Op {
    pub fn begin() -> Op {
        begin_op();
        Op(())
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        end_op();
    }
}

/// Copies modified blocks from the cache to the log.
fn write_log(lh: &LogHeader) {
    let (dev, start) = log_location();
    for tail in 0..lh.n as usize {
        let mut to = bio::bread(dev, start + tail as u32 + 1); // log block
        let from = bio::bread(dev, lh.block[tail]); // cache block
        to.data_mut().copy_from_slice(from.data());
        bio::bwrite(&mut to); // write the log
    }
}

fn commit() {
    // committing is set and nothing is outstanding, so no one else
    // touches the header until we clear `committing`.
    let mut lh = LOG.lock().lh;
    if lh.n > 0 {
        write_log(&lh); // Write modified blocks from cache to log
        write_head(&lh); // Write header to disk -- the real commit
        install_trans(&lh, false); // Now install writes to home locations
        lh.n = 0;
        write_head(&lh); // Erase the transaction from the log
        LOG.lock().lh.n = 0;
    }
}

/// Caller has modified b's data and is done with the buffer. Record the
/// block number and pin it in the cache by increasing refcnt; commit() /
/// write_log() will do the disk write.
///
/// log_write() replaces bwrite(); a typical use is:
/// ```ignore
///   let mut bp = bio::bread(...);
///   modify bp.data_mut()
///   log_write(&bp);
///   drop(bp);
/// ```
pub fn log_write(b: &Buf) {
    let mut log = LOG.lock();
    if log.lh.n as usize >= capacity(&log) {
        panic!("too big a transaction");
    }
    if log.outstanding < 1 {
        panic!("log_write outside of trans");
    }
    let n = log.lh.n as usize;
    // Log absorption: a block written twice in one transaction takes one
    // slot.
    if log.lh.block[..n].contains(&b.blockno()) {
        return;
    }
    log.lh.block[n] = b.blockno();
    bio::bpin(b);
    log.lh.n += 1;
}
