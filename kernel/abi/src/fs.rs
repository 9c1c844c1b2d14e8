//! The on-disk layout of the xv6 file system, shared by the kernel's `fs`
//! and the host's `mkfs` so the two can never disagree.
//!
//! Disk layout, in blocks of [`BSIZE`] bytes:
//! `[ boot | super | log | inode blocks | free bitmap | data blocks ]`.
//! All multi-byte fields are little-endian (the RISC-V byte order).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Block size in bytes.
pub const BSIZE: usize = 1024;
/// Size of the file system image in blocks.
pub const FSSIZE: u32 = 8192;
/// Most blocks one file-system operation may write.
pub const MAXOPBLOCKS: usize = 10;
/// Blocks in the on-disk log.
pub const LOGSIZE: u32 = (MAXOPBLOCKS * 3) as u32;
/// Number of inodes.
pub const NINODES: u32 = 200;
/// Magic number in the superblock.
pub const FSMAGIC: u32 = 0x1020_3040;
/// Inode number of the root directory.
pub const ROOTINO: u32 = 1;

pub const NDIRECT: usize = 12;
pub const NINDIRECT: usize = BSIZE / core::mem::size_of::<u32>();
pub const MAXFILE: usize = NDIRECT + NINDIRECT;
/// Longest name in a directory entry.
pub const DIRSIZ: usize = 14;

/// Inode types (same values as `stat::T_*`).
pub const T_DIR: u16 = 1;
pub const T_FILE: u16 = 2;
pub const T_DEVICE: u16 = 3;

/// Block 1 of the disk.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct SuperBlock {
    /// Must be [`FSMAGIC`].
    pub magic: u32,
    /// Size of the file system image in blocks.
    pub size: u32,
    /// Number of data blocks.
    pub nblocks: u32,
    /// Number of inodes.
    pub ninodes: u32,
    /// Number of log blocks.
    pub nlog: u32,
    /// Block number of the first log block.
    pub logstart: u32,
    /// Block number of the first inode block.
    pub inodestart: u32,
    /// Block number of the first free-map block.
    pub bmapstart: u32,
}

/// An inode on disk (64 bytes).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct DInode {
    /// 0 = free, else a `T_*` type.
    pub typ: u16,
    /// Major device number (T_DEVICE only).
    pub major: u16,
    /// Minor device number (T_DEVICE only).
    pub minor: u16,
    /// Number of directory entries that name this inode.
    pub nlink: u16,
    /// Size of the file in bytes.
    pub size: u32,
    /// Data block addresses: NDIRECT direct, then one indirect block.
    pub addrs: [u32; NDIRECT + 1],
}

/// A directory entry (16 bytes); `inum == 0` marks a free slot.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Dirent {
    pub inum: u16,
    pub name: [u8; DIRSIZ],
}

/// Inodes per block.
pub const IPB: u32 = (BSIZE / core::mem::size_of::<DInode>()) as u32;
/// Bitmap bits per block.
pub const BPB: u32 = (BSIZE * 8) as u32;

impl SuperBlock {
    /// The layout mkfs uses for an image of [`FSSIZE`] blocks.
    pub const fn standard() -> SuperBlock {
        let ninodeblocks = NINODES / IPB + 1;
        let nbitmap = FSSIZE / BPB + 1;
        let nmeta = 2 + LOGSIZE + ninodeblocks + nbitmap;
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

const _: () = assert!(core::mem::size_of::<DInode>() == 64);
const _: () = assert!(core::mem::size_of::<Dirent>() == 16);
const _: () = assert!(BSIZE.is_multiple_of(core::mem::size_of::<DInode>()));
