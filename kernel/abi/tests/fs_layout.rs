//! The generated on-disk structures against xv6's C layout (kernel/fs.h,
//! kernel/log.c): sizes, field offsets and little-endian bytes, so an image
//! mkfs writes is the one xv6 would.

use core::mem::{offset_of, size_of};

use abi::fs::{
    DInode, Dirent, IndirectBlock, LogHeader, SuperBlock, BSIZE, DIRSIZ, LOGSIZE, MAXFILE, NDIRECT,
    NINDIRECT,
};
use zerocopy::IntoBytes;

#[test]
fn superblock_is_eight_words() {
    // struct superblock { uint magic, size, nblocks, ninodes, nlog, logstart,
    //   inodestart, bmapstart; };
    assert_eq!(size_of::<SuperBlock>(), 32);
    let offsets = [
        offset_of!(SuperBlock, magic),
        offset_of!(SuperBlock, size),
        offset_of!(SuperBlock, nblocks),
        offset_of!(SuperBlock, ninodes),
        offset_of!(SuperBlock, nlog),
        offset_of!(SuperBlock, logstart),
        offset_of!(SuperBlock, inodestart),
        offset_of!(SuperBlock, bmapstart),
    ];
    assert_eq!(offsets, [0, 4, 8, 12, 16, 20, 24, 28]);
    let sb = SuperBlock::standard();
    assert_eq!(&sb.as_bytes()[..4], &[0x40, 0x30, 0x20, 0x10]);
}

#[test]
fn dinode_is_64_bytes() {
    // struct dinode { short type, major, minor, nlink; uint size;
    //   uint addrs[NDIRECT+2]; };  (the "large files" lab: NDIRECT 11,
    //   then the singly- and the doubly-indirect block)
    assert_eq!(size_of::<DInode>(), 64);
    assert_eq!(
        [
            offset_of!(DInode, typ),
            offset_of!(DInode, major),
            offset_of!(DInode, minor),
            offset_of!(DInode, nlink),
            offset_of!(DInode, size),
            offset_of!(DInode, addrs),
            offset_of!(DInode, indirect),
            offset_of!(DInode, dindirect),
        ],
        [0, 2, 4, 6, 8, 12, 56, 60]
    );
    assert_eq!((NDIRECT, DInode::ADDRS_LEN), (11, 11));
    // #define MAXFILE (NDIRECT + NINDIRECT + NINDIRECT * NINDIRECT)
    assert_eq!(MAXFILE, 11 + 256 + 256 * 256);
    // Its size in bytes still fits the inode's 32-bit size.
    assert!(u32::try_from(MAXFILE * BSIZE).is_ok());
    let d = DInode {
        typ: 2,
        size: 0x0102_0304,
        ..DInode::default()
    };
    assert_eq!(&d.as_bytes()[..12], &[2, 0, 0, 0, 0, 0, 0, 0, 4, 3, 2, 1]);
}

#[test]
fn dirent_is_16_bytes() {
    // struct dirent { ushort inum; char name[DIRSIZ]; };
    assert_eq!((size_of::<Dirent>(), DIRSIZ), (16, 14));
    assert_eq!((offset_of!(Dirent, inum), offset_of!(Dirent, name)), (0, 2));
    let mut de = Dirent {
        inum: 0x0201,
        name: [0; DIRSIZ],
    };
    de.name[0] = b'a';
    assert_eq!(&de.as_bytes()[..4], &[1, 2, b'a', 0]);
}

#[test]
fn log_header_and_indirect_block() {
    // struct logheader { int n; int block[LOGSIZE]; };
    assert_eq!(size_of::<LogHeader>(), 4 + 4 * LOGSIZE as usize);
    assert_eq!(offset_of!(LogHeader, block), 4);
    let mut block = [0; LOGSIZE as usize];
    block[0] = 0x0a0b_0c0d;
    let lh = LogHeader { n: 1, block };
    assert_eq!(&lh.as_bytes()[..8], &[1, 0, 0, 0, 0x0d, 0x0c, 0x0b, 0x0a]);
    // An indirect block is BSIZE / 4 block numbers.
    assert_eq!((size_of::<IndirectBlock>(), NINDIRECT), (BSIZE, BSIZE / 4));
}
