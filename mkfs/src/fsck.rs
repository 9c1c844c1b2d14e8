//! A file-system checker for images the kernel has written (`mkfs --check
//! fs.img`), used to test crash safety: kill QEMU in the middle of
//! file-system work, then check the image.
//!
//! As the kernel's `initlog` would, it first replays a committed log
//! transaction (on a copy), then checks that:
//! - every block an inode uses is a data block, used once, and marked in
//!   the bitmap, and every marked data block is used by some inode;
//! - every directory entry names an allocated inode, and each inode's
//!   `nlink` equals the number of entries naming it ("." excluded);
//! - every allocated inode is reachable from the root.
//!
//! Inodes that are allocated but have no links are reported as warnings:
//! xv6 leaks a file that was unlinked while open when the system crashes.

use std::collections::HashMap;

use abi::fs::{
    DInode, Dirent, IndirectBlock, LogHeader, SuperBlock, BPB, BSIZE, DIRSIZ, FSMAGIC, IPB,
    NDINDIRECT, NDIRECT, NINDIRECT, ROOTINO, T_DIR,
};
use zerocopy::FromBytes;

/// What the check found: errors (corruption) and warnings (tolerated).
#[derive(Debug, Default)]
pub struct Report {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// Blocks the log replay installed.
    pub replayed: usize,
}

fn block(img: &[u8], b: u32) -> &[u8] {
    &img[b as usize * BSIZE..(b as usize + 1) * BSIZE]
}

fn indirect(img: &[u8], b: u32) -> IndirectBlock {
    IndirectBlock::read_from_bytes(block(img, b)).unwrap()
}

fn dinode(img: &[u8], sb: &SuperBlock, inum: u32) -> DInode {
    let off = (inum % IPB) as usize * std::mem::size_of::<DInode>();
    DInode::read_from_prefix(&block(img, sb.iblock(inum))[off..])
        .unwrap()
        .0
}

/// Whether block `b` lies inside the image.
fn in_image(img: &[u8], b: u32) -> bool {
    (b as usize + 1) * BSIZE <= img.len()
}

/// Entry `i` of indirect block `ind` (0 when there is no such block).
fn entry(img: &[u8], ind: u32, i: usize) -> u32 {
    if ind == 0 || !in_image(img, ind) {
        return 0;
    }
    indirect(img, ind).addrs[i]
}

/// The block holding block `fbn` of inode `din`'s content, through its
/// singly- or doubly-indirect block; 0 if it has none.
pub fn file_block(img: &[u8], din: &DInode, fbn: usize) -> u32 {
    if fbn < NDIRECT {
        return din.addrs[fbn];
    }
    let fbn = fbn - NDIRECT;
    if fbn < NINDIRECT {
        return entry(img, din.indirect, fbn);
    }
    let fbn = fbn - NINDIRECT;
    if fbn >= NDINDIRECT {
        return 0;
    }
    let ind = entry(img, din.dindirect, fbn / NINDIRECT);
    entry(img, ind, fbn % NINDIRECT)
}

/// Adds block `b` (if not 0) to `out` and, when it is an indirect block
/// `levels` deep, every block below it.
fn tree_blocks(img: &[u8], b: u32, levels: u32, out: &mut Vec<u32>) {
    if b == 0 {
        return;
    }
    out.push(b);
    if levels > 0 && in_image(img, b) {
        for &a in indirect(img, b).addrs.iter() {
            tree_blocks(img, a, levels - 1, out);
        }
    }
}

/// The block numbers of inode `din`'s content and of its indirect blocks.
fn inode_blocks(img: &[u8], din: &DInode) -> Vec<u32> {
    let mut v: Vec<u32> = din.addrs.iter().copied().filter(|&a| a != 0).collect();
    tree_blocks(img, din.indirect, 1, &mut v);
    tree_blocks(img, din.dindirect, 2, &mut v);
    v
}

/// Reads an inode's content (for directories); a missing block reads as
/// zeros.
fn content(img: &[u8], din: &DInode) -> Vec<u8> {
    let mut out = Vec::new();
    let mut fbn = 0;
    while out.len() < din.size as usize {
        let b = file_block(img, din, fbn);
        let n = (din.size as usize - out.len()).min(BSIZE);
        if b == 0 || !in_image(img, b) {
            out.extend(std::iter::repeat_n(0, n));
        } else {
            out.extend_from_slice(&block(img, b)[..n]);
        }
        fbn += 1;
    }
    out
}

/// Checks `image` (not modified: the log is replayed on a copy).
pub fn check(image: &[u8]) -> Report {
    let mut r = Report::default();
    let mut img = image.to_vec();
    let sb = SuperBlock::read_from_prefix(&img[BSIZE..]).unwrap().0;
    if sb.magic != FSMAGIC || sb.size as usize * BSIZE > img.len() {
        r.errors.push(format!("bad superblock {sb:?}"));
        return r;
    }
    // Replay a committed transaction, as initlog does.
    let (head, _) = LogHeader::read_from_prefix(block(&img, sb.logstart)).unwrap();
    let n = head.n as usize;
    if n >= sb.nlog as usize || n > head.block.len() {
        r.errors.push(format!("log header counts {n} blocks"));
        return r;
    }
    for i in 0..n {
        let (from, to) = (
            (sb.logstart + 1 + i as u32) as usize,
            head.block[i] as usize,
        );
        let data = img[from * BSIZE..(from + 1) * BSIZE].to_vec();
        img[to * BSIZE..(to + 1) * BSIZE].copy_from_slice(&data);
    }
    r.replayed = n;

    let datastart = sb.size - sb.nblocks;
    let mut owner: HashMap<u32, u32> = HashMap::new();
    let mut links: HashMap<u32, u32> = HashMap::new();
    let bitmap = |b: u32| block(&img, sb.bblock(b))[(b % BPB / 8) as usize] & (1 << (b % 8)) != 0;

    for inum in 1..sb.ninodes {
        let din = dinode(&img, &sb, inum);
        if din.typ == 0 {
            continue;
        }
        for b in inode_blocks(&img, &din) {
            if b < datastart || b >= sb.size {
                r.errors
                    .push(format!("inode {inum}: block {b} outside the data area"));
            } else if let Some(o) = owner.insert(b, inum) {
                r.errors
                    .push(format!("block {b} used by inodes {o} and {inum}"));
            } else if !bitmap(b) {
                r.errors
                    .push(format!("inode {inum}: block {b} free in the bitmap"));
            }
        }
        // An unlinked directory still open at the crash no longer counts
        // as its parent's link.
        if din.typ == T_DIR && din.nlink > 0 {
            let bytes = content(&img, &din);
            for de in bytes.chunks_exact(std::mem::size_of::<Dirent>()) {
                let de = Dirent::read_from_bytes(de).unwrap();
                let len = de.name.iter().position(|&c| c == 0).unwrap_or(DIRSIZ);
                if de.inum == 0 || &de.name[..len] == b"." {
                    continue;
                }
                *links.entry(de.inum as u32).or_default() += 1;
                let target = de.inum as u32;
                if target >= sb.ninodes || dinode(&img, &sb, target).typ == 0 {
                    let name = String::from_utf8_lossy(&de.name[..len]);
                    r.errors.push(format!(
                        "dir {inum}: entry {name:?} names free inode {target}"
                    ));
                }
            }
        }
    }
    for b in datastart..sb.size {
        if bitmap(b) && !owner.contains_key(&b) {
            r.errors
                .push(format!("block {b} marked in use but not used"));
        }
    }
    for inum in 1..sb.ninodes {
        let din = dinode(&img, &sb, inum);
        if din.typ == 0 {
            continue;
        }
        let want = links.get(&inum).copied().unwrap_or(0);
        if want == 0 && inum != ROOTINO {
            r.warnings.push(format!(
                "inode {inum} (type {}) allocated but unreachable",
                din.typ
            ));
        } else if din.nlink as u32 != want {
            r.errors.push(format!(
                "inode {inum}: nlink {} but {} entries",
                din.nlink, want
            ));
        }
    }
    r
}
