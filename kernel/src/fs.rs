//! File system implementation. Five layers:
//!   + Blocks: allocator for raw disk blocks.
//!   + Log: crash recovery for multi-step updates.
//!   + Files: inode allocator, reading, writing, metadata.
//!   + Directories: inode with special contents (list of other inodes!)
//!   + Names: paths like /usr/rtm/xv6/fs.c for convenient naming.
//!
//! This file contains the low-level file system manipulation routines
//! (blocks, inodes, file content); directories and path names are in
//! dir.rs (re-exported here), and the (higher-level) system call
//! implementations are in sysfile.rs. The
//! on-disk layout (superblock, `DInode`, `Dirent`) is `abi::fs`, shared with
//! mkfs.
//!
//! Inodes. An inode describes a single unnamed file. The on-disk inode
//! holds metadata: the file's type, its size, the number of links referring
//! to it, and the list of blocks holding the file's content.
//!
//! The kernel keeps a table of in-use inodes in memory to provide a place
//! for synchronizing access to inodes used by multiple processes. The
//! in-memory inodes include book-keeping information that is not stored on
//! disk: the reference count and whether the copy is valid.
//!
//! * Allocation: an inode is allocated if its on-disk type is non-zero.
//!   [`ialloc`] allocates, and dropping the last [`Inode`] (iput) frees it
//!   if its link count has fallen to zero.
//! * Referencing in table: an [`Inode`] value is one reference (`refcnt`):
//!   [`iget`] makes one, `clone` is idup, and `drop` is iput. Because iput
//!   may free the inode on disk, **an Inode may only be dropped inside a
//!   log operation** (`log::begin_op`/`end_op`), as in xv6.
//! * Valid: the in-memory copy of the disk inode is only correct when
//!   `valid` is set; [`Inode::lock`] (ilock) reads it from disk if needed.
//! * Locked: file system code may only examine and modify the information
//!   in an inode and its content while holding its sleep lock, i.e. through
//!   an [`InodeGuard`]; dropping the guard is iunlock.
//!
//! `ITABLE` (a spin lock) protects which inode each slot holds, the
//! reference counts and `valid`; each slot's sleep lock protects the
//! rest. A slot with refcnt 0 is unlocked and may be recycled.

use core::ops::{Deref, DerefMut};

use abi::fs::{
    DInode, IndirectBlock, SuperBlock, BPB, BSIZE, FSMAGIC, MAXFILE, NDINDIRECT, NDIRECT,
    NINDIRECT, ROOTINO,
};
use abi::stat::Stat;
use abi::Errno;
use zerocopy::{FromBytes, IntoBytes};

use crate::bio;
use crate::log;
use crate::param::{NINODE, ROOTDEV};
use crate::proc;
use crate::sleeplock::{Sleeplock, SleeplockGuard};
use crate::spinlock::Spinlock;

pub use crate::dir::{name_str, namecmp, namei, namei_host_program, nameiparent, DIRENT_SIZE};

/// There should be one superblock per disk device, but we run with only
/// one device. Written once by `fsinit`.
static SB: Spinlock<SuperBlock> = Spinlock::new(
    "sb",
    SuperBlock {
        magic: 0,
        size: 0,
        nblocks: 0,
        ninodes: 0,
        nlog: 0,
        logstart: 0,
        inodestart: 0,
        bmapstart: 0,
    },
);

fn sb() -> SuperBlock {
    *SB.lock()
}

/// Reads the super block.
fn readsb(dev: u32) -> SuperBlock {
    let bp = bio::bread(dev, 1);
    SuperBlock::read_from_prefix(bp.data()).expect("readsb").0
}

/// Init fs: read the superblock, replay the log. Called from the first
/// process (it sleeps on the disk).
pub fn fsinit(dev: u32) {
    let sb = readsb(dev);
    if sb.magic != FSMAGIC {
        panic!("invalid file system");
    }
    *SB.lock() = sb;
    log::initlog(dev, &sb);
}

/// The root directory.
pub fn root() -> Inode {
    iget(ROOTDEV, ROOTINO).expect("root inode")
}

// ---- Blocks ----

/// Zero a block.
fn bzero(dev: u32, bno: u32) {
    let mut bp = bio::bread(dev, bno);
    bp.data_mut().fill(0);
    log::log_write(&bp);
}

/// Allocate a zeroed disk block; ENOSPC when the disk is full.
fn balloc(dev: u32) -> Result<u32, Errno> {
    let sb = sb();
    for base in (0..sb.size).step_by(BPB as usize) {
        let mut bp = bio::bread(dev, sb.bblock(base));
        for bi in 0..BPB.min(sb.size - base) {
            let m = 1u8 << (bi % 8);
            let byte = &mut bp.data_mut()[(bi / 8) as usize];
            if *byte & m == 0 {
                // Is block free?
                *byte |= m; // Mark block in use.
                log::log_write(&bp);
                drop(bp);
                bzero(dev, base + bi);
                return Ok(base + bi);
            }
        }
    }
    Err(Errno::ENOSPC)
}

/// Free a disk block.
fn bfree(dev: u32, b: u32) {
    let sb = sb();
    let mut bp = bio::bread(dev, sb.bblock(b));
    let bi = b % BPB;
    let m = 1u8 << (bi % 8);
    let byte = &mut bp.data_mut()[(bi / 8) as usize];
    if *byte & m == 0 {
        panic!("freeing free block");
    }
    *byte &= !m;
    log::log_write(&bp);
}

/// The block `*addr` names, allocated first if `*addr` is 0.
fn balloc_if_none(dev: u32, addr: &mut u32) -> Result<u32, Errno> {
    if *addr == 0 {
        *addr = balloc(dev)?;
    }
    Ok(*addr)
}

/// The block entry `i` of indirect block `ind` names, allocated first (and
/// recorded in `ind`) if there is none yet.
fn indirect_entry(dev: u32, ind: u32, i: usize) -> Result<u32, Errno> {
    let mut bp = bio::bread(dev, ind);
    let mut addr = indirect(&bp).addrs[i];
    if addr == 0 {
        addr = balloc(dev)?;
        indirect_mut(&mut bp).addrs[i] = addr;
        log::log_write(&bp);
    }
    Ok(addr)
}

/// Free block `b` (nothing if 0) and, when it is an indirect block
/// `levels` deep (1: it names data blocks; 2: it names singly-indirect
/// blocks), every block below it.
fn bfree_tree(dev: u32, b: u32, levels: u32) {
    if b == 0 {
        return;
    }
    if levels > 0 {
        let bp = bio::bread(dev, b);
        for &a in indirect(&bp).addrs.iter() {
            bfree_tree(dev, a, levels - 1);
        }
    }
    bfree(dev, b);
}

/// In-memory inodes referenced (sysinfo: tests check that an ended
/// container leaves none behind).
pub fn inodes_in_use() -> usize {
    ITABLE.lock().iter().filter(|m| m.refcnt > 0).count()
}

/// Free blocks on `dev`, counted in the bitmap (for sysinfo: tests check
/// that deleting a file gives back every block it took).
pub fn free_blocks(dev: u32) -> u32 {
    let sb = sb();
    let mut free = 0;
    for base in (0..sb.size).step_by(BPB as usize) {
        let bp = bio::bread(dev, sb.bblock(base));
        for bi in 0..BPB.min(sb.size - base) {
            if bp.data()[(bi / 8) as usize] & (1 << (bi % 8)) == 0 {
                free += 1;
            }
        }
    }
    free
}

// ---- Inodes ----

/// Which inode a table slot holds. Guarded by `ITABLE`.
#[derive(Clone, Copy)]
struct IMeta {
    dev: u32,
    inum: u32,
    refcnt: u32,
    /// Inode has been read from disk?
    valid: bool,
}

static ITABLE: Spinlock<[IMeta; NINODE]> = Spinlock::new(
    "itable",
    [IMeta {
        dev: 0,
        inum: 0,
        refcnt: 0,
        valid: false,
    }; NINODE],
);

/// The in-memory copy of each cached inode is the on-disk `DInode` itself,
/// reached through an [`InodeGuard`]; `update` writes it back.
static INODES: [Sleeplock<DInode>; NINODE] = [const {
    Sleeplock::new(
        "inode",
        DInode {
            typ: 0,
            major: 0,
            minor: 0,
            nlink: 0,
            size: 0,
            addrs: [0; NDIRECT],
            indirect: 0,
            dindirect: 0,
        },
    )
}; NINODE];

/// A counted reference to an in-memory inode (not locked).
pub struct Inode {
    idx: usize,
    dev: u32,
    inum: u32,
}

/// A locked inode: its data may be read and changed. Dropping it unlocks.
pub struct InodeGuard<'a> {
    ip: &'a Inode,
    d: SleeplockGuard<'static, DInode>,
}

/// Find the inode with number `inum` on device `dev` and return the
/// in-memory copy. Does not lock the inode and does not read it from disk.
/// ENFILE when the table is full (xv6 panics).
pub fn iget(dev: u32, inum: u32) -> Result<Inode, Errno> {
    let mut it = ITABLE.lock();
    // Is the inode already in the table?
    if let Some(i) = it
        .iter()
        .position(|m| m.refcnt > 0 && m.dev == dev && m.inum == inum)
    {
        it[i].refcnt += 1;
        return Ok(Inode { idx: i, dev, inum });
    }
    // Recycle an unused slot.
    let i = it.iter().position(|m| m.refcnt == 0).ok_or(Errno::ENFILE)?;
    it[i] = IMeta {
        dev,
        inum,
        refcnt: 1,
        valid: false,
    };
    Ok(Inode { idx: i, dev, inum })
}

/// Allocate an inode on device `dev`, marked allocated by giving it type
/// `typ`. Returns an unlocked but allocated and referenced inode; ENOSPC
/// when there are no free inodes.
pub fn ialloc(dev: u32, typ: u16) -> Result<Inode, Errno> {
    let sb = sb();
    for inum in 1..sb.ninodes {
        let mut bp = bio::bread(dev, sb.iblock(inum));
        let off = dinode_offset(inum);
        let mut dip = DInode::read_from_bytes(&bp.data()[off..off + DINODE_SIZE]).unwrap();
        if dip.typ == 0 {
            // a free inode
            dip = DInode {
                typ,
                ..DInode::default()
            };
            dip.write_to(&mut bp.data_mut()[off..off + DINODE_SIZE])
                .unwrap();
            log::log_write(&bp); // mark it allocated on the disk
            drop(bp);
            return iget(dev, inum);
        }
    }
    Err(Errno::ENOSPC)
}

const DINODE_SIZE: usize = core::mem::size_of::<DInode>();

/// A buffer holding an indirect block, viewed in place.
fn indirect(bp: &bio::Buf) -> &IndirectBlock {
    // A block is exactly one IndirectBlock and buffers are 8-aligned.
    IndirectBlock::ref_from_bytes(bp.data()).expect("indirect block view")
}

fn indirect_mut(bp: &mut bio::Buf) -> &mut IndirectBlock {
    IndirectBlock::mut_from_bytes(bp.data_mut()).expect("indirect block view")
}

fn dinode_offset(inum: u32) -> usize {
    (inum as usize % (BSIZE / DINODE_SIZE)) * DINODE_SIZE
}

/// idup: another reference to the same inode (same as `clone`).
pub fn idup(ip: &Inode) -> Inode {
    ip.clone()
}

/// iput: drop a reference (same as `drop`). Must be inside a log op.
pub fn iput(ip: Inode) {
    drop(ip);
}

/// ilock: lock the inode (same as `ip.lock()`).
pub fn ilock(ip: &Inode) -> InodeGuard<'_> {
    ip.lock()
}

impl Inode {
    pub fn dev(&self) -> u32 {
        self.dev
    }
    pub fn inum(&self) -> u32 {
        self.inum
    }

    /// Lock the inode, reading it from disk if necessary.
    pub fn lock(&self) -> InodeGuard<'_> {
        let mut d = INODES[self.idx].lock();
        // Only the sleep-lock holder sets `valid`.
        if !ITABLE.lock()[self.idx].valid {
            let sb = sb();
            let bp = bio::bread(self.dev, sb.iblock(self.inum));
            let off = dinode_offset(self.inum);
            *d = DInode::read_from_bytes(&bp.data()[off..off + DINODE_SIZE]).unwrap();
            drop(bp);
            ITABLE.lock()[self.idx].valid = true;
            if d.typ == 0 {
                panic!("ilock: no type");
            }
        }
        InodeGuard { ip: self, d }
    }
}

impl Clone for Inode {
    /// idup: increment the reference count.
    fn clone(&self) -> Inode {
        ITABLE.lock()[self.idx].refcnt += 1;
        Inode {
            idx: self.idx,
            dev: self.dev,
            inum: self.inum,
        }
    }
}

impl Drop for Inode {
    /// iput: drop a reference to an in-memory inode. If that was the last
    /// reference, the table slot can be recycled. If that was the last
    /// reference and the inode has no links to it, free the inode (and its
    /// content) on disk. Must be inside a transaction in case it has to
    /// free the inode.
    fn drop(&mut self) {
        let mut it = ITABLE.lock();
        if it[self.idx].refcnt == 1 && it[self.idx].valid {
            // refcnt == 1 means no other process can have the inode locked,
            // so this try_lock succeeds without waiting.
            let d = INODES[self.idx].try_lock().expect("iput: locked");
            if d.nlink == 0 {
                // Inode has no links and no other references: truncate and
                // free.
                drop(it);
                let mut g = InodeGuard { ip: self, d };
                g.itrunc();
                g.typ = 0;
                g.update();
                // Invalidate before unlocking: ialloc may hand this inum out
                // again at once, and the next ilock must reread the disk.
                ITABLE.lock()[self.idx].valid = false;
                drop(g);
                it = ITABLE.lock();
            }
        }
        it[self.idx].refcnt -= 1;
    }
}

impl Deref for InodeGuard<'_> {
    type Target = DInode;
    fn deref(&self) -> &DInode {
        &self.d
    }
}

impl DerefMut for InodeGuard<'_> {
    fn deref_mut(&mut self) -> &mut DInode {
        &mut self.d
    }
}

impl InodeGuard<'_> {
    pub fn inode(&self) -> &Inode {
        self.ip
    }
    pub fn typ(&self) -> u16 {
        self.d.typ
    }

    /// iupdate: copy a modified in-memory inode to disk. Must be called
    /// after every change to a field that lives on disk. Caller must be in
    /// a log op.
    pub fn update(&mut self) {
        let sb = sb();
        let mut bp = bio::bread(self.ip.dev, sb.iblock(self.ip.inum));
        let off = dinode_offset(self.ip.inum);
        self.d
            .write_to(&mut bp.data_mut()[off..off + DINODE_SIZE])
            .unwrap();
        log::log_write(&bp);
    }

    /// bmap: the disk block address of the `bn`th block of the inode,
    /// allocating it (and the indirect blocks on the way) if there is none
    /// yet.
    fn bmap(&mut self, bn: usize) -> Result<u32, Errno> {
        let dev = self.ip.dev;
        if bn < NDIRECT {
            return balloc_if_none(dev, &mut self.d.addrs[bn]);
        }
        let bn = bn - NDIRECT;
        if bn < NINDIRECT {
            let ind = balloc_if_none(dev, &mut self.d.indirect)?;
            return indirect_entry(dev, ind, bn);
        }
        let bn = bn - NINDIRECT;
        if bn >= NDINDIRECT {
            panic!("bmap: out of range");
        }
        // Entry bn / NINDIRECT of the doubly-indirect block names the
        // singly-indirect block that holds this one.
        let dind = balloc_if_none(dev, &mut self.d.dindirect)?;
        let ind = indirect_entry(dev, dind, bn / NINDIRECT)?;
        indirect_entry(dev, ind, bn % NINDIRECT)
    }

    /// itrunc: discard the inode's contents. Caller must be in a log op.
    pub fn itrunc(&mut self) {
        let dev = self.ip.dev;
        for a in self.d.addrs.iter_mut() {
            bfree_tree(dev, core::mem::take(a), 0);
        }
        bfree_tree(dev, core::mem::take(&mut self.d.indirect), 1);
        bfree_tree(dev, core::mem::take(&mut self.d.dindirect), 2);
        self.d.size = 0;
        self.update();
    }

    /// stati: copy stat information from the inode.
    pub fn stat(&self) -> Stat {
        Stat {
            dev: self.ip.dev,
            ino: self.ip.inum,
            typ: self.d.typ,
            nlink: self.d.nlink,
            _pad: 0,
            size: self.d.size as u64,
        }
    }

    /// readi: read up to `n` bytes at offset `off` to `dst`, a user virtual
    /// address if `user_dst`, else a kernel address. Returns the number of
    /// bytes read (short at end of file); EFAULT if `dst` is bad.
    pub fn readi(
        &mut self,
        user_dst: bool,
        dst: usize,
        off: u32,
        n: usize,
    ) -> Result<usize, Errno> {
        self.read_with(off, n, |tot, chunk| {
            proc::either_copyout(user_dst, dst + tot, chunk)
        })
    }

    /// readi into a kernel slice.
    pub fn read_bytes(&mut self, off: u32, buf: &mut [u8]) -> Result<usize, Errno> {
        let n = buf.len();
        self.read_with(off, n, |tot, chunk| {
            buf[tot..tot + chunk.len()].copy_from_slice(chunk);
            Ok(())
        })
    }

    fn read_with(
        &mut self,
        off: u32,
        n: usize,
        mut copy: impl FnMut(usize, &[u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        let size = self.d.size as usize;
        let off = off as usize;
        if off > size {
            return Ok(0);
        }
        let n = n.min(size - off);
        let mut tot = 0;
        while tot < n {
            let pos = off + tot;
            let addr = self.bmap(pos / BSIZE)?;
            let bp = bio::bread(self.ip.dev, addr);
            let m = (n - tot).min(BSIZE - pos % BSIZE);
            copy(tot, &bp.data()[pos % BSIZE..pos % BSIZE + m])?;
            tot += m;
        }
        Ok(tot)
    }

    /// writei: write `n` bytes from `src` (user address if `user_src`) at
    /// offset `off`, growing the file as needed. Returns the number of bytes
    /// written: less than `n` only if the disk filled up or `src` went bad
    /// part way (an error if nothing was written). Caller must be in a log op.
    pub fn writei(
        &mut self,
        user_src: bool,
        src: usize,
        off: u32,
        n: usize,
    ) -> Result<usize, Errno> {
        self.write_with(off, n, |tot, chunk| {
            proc::either_copyin(chunk, user_src, src + tot)
        })
    }

    /// writei from a kernel slice.
    pub fn write_bytes(&mut self, off: u32, buf: &[u8]) -> Result<usize, Errno> {
        self.write_with(off, buf.len(), |tot, chunk| {
            chunk.copy_from_slice(&buf[tot..tot + chunk.len()]);
            Ok(())
        })
    }

    fn write_with(
        &mut self,
        off: u32,
        n: usize,
        mut copy: impl FnMut(usize, &mut [u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        let off = off as usize;
        if off > self.d.size as usize {
            return Err(Errno::EINVAL);
        }
        match off.checked_add(n) {
            Some(end) if end <= MAXFILE * BSIZE => {}
            _ => return Err(Errno::EFBIG),
        }
        let mut tot = 0;
        let mut err = None;
        while tot < n {
            let pos = off + tot;
            let addr = match self.bmap(pos / BSIZE) {
                Ok(a) => a,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            };
            let mut bp = bio::bread(self.ip.dev, addr);
            let m = (n - tot).min(BSIZE - pos % BSIZE);
            if let Err(e) = copy(tot, &mut bp.data_mut()[pos % BSIZE..pos % BSIZE + m]) {
                err = Some(e);
                break;
            }
            log::log_write(&bp);
            tot += m;
        }
        if off + tot > self.d.size as usize {
            self.d.size = (off + tot) as u32;
        }
        // Write the i-node back to disk even if the size didn't change
        // because the loop above might have called bmap() and added a new
        // block to self.addrs[].
        self.update();
        match err {
            Some(e) if tot == 0 => Err(e),
            _ => Ok(tot),
        }
    }
}

/// readi as a free function, for callers written after xv6 (exec).
pub fn readi(
    g: &mut InodeGuard<'_>,
    user_dst: bool,
    dst: usize,
    off: u32,
    n: usize,
) -> Result<usize, Errno> {
    g.readi(user_dst, dst, off, n)
}
