//! The on-disk layout of the xv6 file system, shared by the kernel's `fs`
//! and the host's `mkfs` so the two can never disagree.
//!
//! Disk layout, in blocks of [`BSIZE`] bytes:
//! `[ boot | super | log | inode blocks | free bitmap | data blocks ]`.
//! The structures (superblock, inode, directory entry, log header,
//! indirect block) and their numbers are declared in
//! `proto-defs/fs_layout.toml` and generated into [`crate::fs_layout`];
//! this module re-exports them with the file system's parameters and the
//! sizes derived from both.

pub use crate::fs_layout::{
    DInode, Dirent, IndirectBlock, LogHeader, SuperBlock, FSMAGIC, ROOTINO, T_DEVICE, T_DIR, T_FILE,
};

/// Block size in bytes.
pub const BSIZE: usize = 1024;
/// Size of the file system image in blocks: 32 MiB, room for several files
/// of a few MiB each (`httpd` serves 1 MiB and 4 MiB ones).
pub const FSSIZE: u32 = 32 * 1024;
/// Most blocks one file-system operation may write. xv6 has 10; with the
/// doubly-indirect block that would leave `filewrite` one data block per
/// transaction, and 20 lets it write six.
pub const MAXOPBLOCKS: usize = 20;
/// Blocks in the on-disk log: as many as its header can name.
pub const LOGSIZE: u32 = LogHeader::BLOCK_LEN as u32;
/// Number of inodes.
pub const NINODES: u32 = 200;

/// Direct block addresses in an inode (`DInode::addrs`); `DInode::indirect`
/// and `DInode::dindirect` name the singly- and doubly-indirect blocks.
pub const NDIRECT: usize = DInode::ADDRS_LEN;
/// Block addresses in an indirect block.
pub const NINDIRECT: usize = IndirectBlock::ADDRS_LEN;
/// Blocks the doubly-indirect block reaches: `NINDIRECT` singly-indirect
/// blocks of `NINDIRECT` each.
pub const NDINDIRECT: usize = NINDIRECT * NINDIRECT;
/// Most blocks in a file: 11 + 256 + 65536, a little over 64 MiB.
pub const MAXFILE: usize = NDIRECT + NINDIRECT + NDINDIRECT;
/// Longest name in a directory entry.
pub const DIRSIZ: usize = Dirent::NAME_LEN;

/// Inodes per block.
pub const IPB: u32 = (BSIZE / core::mem::size_of::<DInode>()) as u32;
/// Bitmap bits per block.
pub const BPB: u32 = (BSIZE * 8) as u32;
/// Free-bitmap blocks of an image of [`FSSIZE`] blocks (as xv6's mkfs
/// counts them, one more than a whole number needs).
pub const NBITMAP: u32 = FSSIZE / BPB + 1;

impl SuperBlock {
    /// The layout mkfs uses for an image of [`FSSIZE`] blocks.
    pub const fn standard() -> SuperBlock {
        let ninodeblocks = NINODES / IPB + 1;
        let nmeta = 2 + LOGSIZE + ninodeblocks + NBITMAP;
        SuperBlock {
            magic: FSMAGIC,
            size: FSSIZE,
            nblocks: FSSIZE - nmeta,
            ninodes: NINODES,
            nlog: LOGSIZE,
            logstart: 2,
            inodestart: 2 + LOGSIZE,
            bmapstart: 2 + LOGSIZE + ninodeblocks,
        }
    }
    /// Block holding inode `inum`.
    pub const fn iblock(&self, inum: u32) -> u32 {
        inum / IPB + self.inodestart
    }
    /// Bitmap block holding the bit for block `b`.
    pub const fn bblock(&self, b: u32) -> u32 {
        b / BPB + self.bmapstart
    }
}

// The declared layout fits the parameters: the indirect block and the log
// header fill (at most) one block, inodes tile a block, and the log holds
// three operations' worth of blocks.
const _: () = assert!(IndirectBlock::LEN == BSIZE);
const _: () = assert!(LogHeader::LEN <= BSIZE);
const _: () = assert!(BSIZE.is_multiple_of(DInode::LEN));
const _: () = assert!(LOGSIZE as usize == MAXOPBLOCKS * 3);
// A file's size is a `u32`: the largest file must fit.
const _: () = assert!(MAXFILE * BSIZE <= u32::MAX as usize);
// Unlinking a file frees all its blocks in one operation, which writes the
// directory block, the parent's and the file's inode blocks and, at worst,
// every bitmap block: a bigger disk needs a bigger MAXOPBLOCKS.
const _: () = assert!(3 + NBITMAP as usize <= MAXOPBLOCKS);
