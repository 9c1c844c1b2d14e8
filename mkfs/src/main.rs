//! mkfs: builds an xv6 file-system image.
//!
//! Usage: `mkfs fs.img file1 file2 ...` stores each file under its base name
//! in the root directory (a leading `_` is dropped, as xv6's Makefile names
//! user programs `_cat`); `dir/name=file` stores it at `/dir/name`, making
//! the directory (tests give a guest its `/etc/resolv.conf` so). Devices such as /console are not made here: init
//! creates them with mknod, as in xv6.
//!
//! `mkfs --check fs.img` checks an image the kernel has written instead
//! (see fsck.rs); it exits non-zero if the image is inconsistent.
//!
//! The layout comes from `abi::fs`, the same definitions the kernel's fs.rs
//! reads, so the two cannot disagree:
//! `[ boot | super | log | inode blocks | free bitmap | data blocks ]`.
//! The image is built in memory ([`Image`]) and written out in one go, which
//! also lets the tests below inspect it.

mod fsck;

use std::path::Path;
use std::process::ExitCode;

use abi::fs::{
    DInode, Dirent, IndirectBlock, SuperBlock, BPB, BSIZE, DIRSIZ, FSSIZE, MAXFILE, NDIRECT,
    NINDIRECT, ROOTINO, T_DIR, T_FILE,
};
use zerocopy::{FromBytes, IntoBytes};

const DINODE_SIZE: usize = std::mem::size_of::<DInode>();
const DIRENT_SIZE: usize = std::mem::size_of::<Dirent>();

/// A file-system image under construction.
pub struct Image {
    pub data: Vec<u8>,
    pub sb: SuperBlock,
    /// Next free inode number.
    freeinode: u32,
    /// Next free data block (blocks are handed out in order).
    freeblock: u32,
}

impl Image {
    /// An empty file system: superblock, zeroed log/inodes/bitmap, and a
    /// root directory holding "." and "..".
    pub fn new() -> Image {
        let sb = SuperBlock::standard();
        let nmeta = sb.size - sb.nblocks;
        let mut img = Image {
            data: vec![0; FSSIZE as usize * BSIZE],
            sb,
            freeinode: 1,
            freeblock: nmeta,
        };
        sb.write_to_prefix(img.block_mut(1)).unwrap();
        let rootino = img.ialloc(T_DIR);
        assert_eq!(rootino, ROOTINO);
        img.add_dirent(rootino, b".", rootino).unwrap();
        img.add_dirent(rootino, b"..", rootino).unwrap();
        img
    }

    pub fn block(&self, b: u32) -> &[u8] {
        &self.data[b as usize * BSIZE..(b as usize + 1) * BSIZE]
    }

    fn block_mut(&mut self, b: u32) -> &mut [u8] {
        &mut self.data[b as usize * BSIZE..(b as usize + 1) * BSIZE]
    }

    pub fn rinode(&self, inum: u32) -> DInode {
        let off = (inum % abi::fs::IPB) as usize * DINODE_SIZE;
        DInode::read_from_bytes(&self.block(self.sb.iblock(inum))[off..off + DINODE_SIZE]).unwrap()
    }

    /// Block `b` read as an inode's indirect block.
    pub fn rindirect(&self, b: u32) -> IndirectBlock {
        IndirectBlock::read_from_bytes(self.block(b)).unwrap()
    }

    fn windirect(&mut self, b: u32, ind: &IndirectBlock) {
        ind.write_to(self.block_mut(b)).unwrap();
    }

    fn winode(&mut self, inum: u32, din: &DInode) {
        let off = (inum % abi::fs::IPB) as usize * DINODE_SIZE;
        let b = self.sb.iblock(inum);
        din.write_to(&mut self.block_mut(b)[off..off + DINODE_SIZE])
            .unwrap();
    }

    fn ialloc(&mut self, typ: u16) -> u32 {
        let inum = self.freeinode;
        assert!(inum < self.sb.ninodes, "mkfs: out of inodes");
        self.freeinode += 1;
        self.winode(
            inum,
            &DInode {
                typ,
                nlink: 1,
                ..DInode::default()
            },
        );
        inum
    }

    fn balloc(&mut self) -> Result<u32, String> {
        if self.freeblock >= self.sb.size {
            return Err("file system image full".into());
        }
        let b = self.freeblock;
        self.freeblock += 1;
        Ok(b)
    }

    /// The block `*addr` names, allocated first if `*addr` is 0.
    fn balloc_if_none(&mut self, addr: &mut u32) -> Result<u32, String> {
        if *addr == 0 {
            *addr = self.balloc()?;
        }
        Ok(*addr)
    }

    /// The block entry `i` of indirect block `ind` names, allocated first
    /// (and recorded in `ind`) if there is none yet.
    fn indirect_entry(&mut self, ind: u32, i: usize) -> Result<u32, String> {
        let mut blk = self.rindirect(ind);
        if blk.addrs[i] == 0 {
            blk.addrs[i] = self.balloc()?;
            self.windirect(ind, &blk);
        }
        Ok(blk.addrs[i])
    }

    /// Block `fbn` of `din`, allocated (with the indirect blocks on the
    /// way) if it has none yet, as the kernel's `bmap` does.
    fn bmap(&mut self, din: &mut DInode, fbn: usize) -> Result<u32, String> {
        if fbn < NDIRECT {
            return self.balloc_if_none(&mut din.addrs[fbn]);
        }
        let fbn = fbn - NDIRECT;
        if fbn < NINDIRECT {
            let ind = self.balloc_if_none(&mut din.indirect)?;
            return self.indirect_entry(ind, fbn);
        }
        let fbn = fbn - NINDIRECT;
        let dind = self.balloc_if_none(&mut din.dindirect)?;
        let ind = self.indirect_entry(dind, fbn / NINDIRECT)?;
        self.indirect_entry(ind, fbn % NINDIRECT)
    }

    /// Appends `bytes` to inode `inum`, allocating data (and indirect)
    /// blocks in order.
    fn iappend(&mut self, inum: u32, bytes: &[u8]) -> Result<(), String> {
        let mut din = self.rinode(inum);
        let mut off = din.size as usize;
        if off + bytes.len() > MAXFILE * BSIZE {
            return Err(format!("file too big (max {} bytes)", MAXFILE * BSIZE));
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let x = self.bmap(&mut din, off / BSIZE)?;
            let n = rest.len().min(BSIZE - off % BSIZE);
            let start = off % BSIZE;
            self.block_mut(x)[start..start + n].copy_from_slice(&rest[..n]);
            off += n;
            rest = &rest[n..];
        }
        din.size = off as u32;
        self.winode(inum, &din);
        Ok(())
    }

    fn add_dirent(&mut self, dir: u32, name: &[u8], inum: u32) -> Result<(), String> {
        if name.is_empty() || name.len() > DIRSIZ || name.contains(&b'/') || name.contains(&0) {
            return Err(format!("bad file name {:?}", String::from_utf8_lossy(name)));
        }
        let mut de = Dirent {
            inum: inum as u16,
            name: [0; DIRSIZ],
        };
        de.name[..name.len()].copy_from_slice(name);
        self.iappend(dir, de.as_bytes())
    }

    /// Adds a regular file named `name` to the root directory.
    pub fn add_file(&mut self, name: &[u8], contents: &[u8]) -> Result<u32, String> {
        if self.lookup(ROOTINO, name).is_some() {
            return Err(format!(
                "duplicate file name {:?}",
                String::from_utf8_lossy(name)
            ));
        }
        let inum = self.ialloc(T_FILE);
        self.add_dirent(ROOTINO, name, inum)?;
        self.iappend(inum, contents)?;
        Ok(inum)
    }

    /// Adds a regular file at `path` ("etc/resolv.conf"), making the
    /// directories on the way that do not exist yet.
    pub fn add_file_at(&mut self, path: &[u8], contents: &[u8]) -> Result<u32, String> {
        let mut parts: Vec<&[u8]> = path.split(|&c| c == b'/').collect();
        let name = parts.pop().unwrap_or_default();
        let mut dir = ROOTINO;
        for part in parts {
            dir = match self.lookup(dir, part) {
                Some(inum) if self.rinode(inum).typ == T_DIR => inum,
                Some(_) => {
                    return Err(format!(
                        "{}: not a directory",
                        String::from_utf8_lossy(part)
                    ))
                }
                None => self.mkdir(dir, part)?,
            };
        }
        if self.lookup(dir, name).is_some() {
            return Err(format!(
                "duplicate file name {:?}",
                String::from_utf8_lossy(path)
            ));
        }
        let inum = self.ialloc(T_FILE);
        self.add_dirent(dir, name, inum)?;
        self.iappend(inum, contents)?;
        Ok(inum)
    }

    /// A new directory `name` in `parent`, as the kernel's mkdir makes it:
    /// "." and "..", and the parent's link count counts its "..".
    fn mkdir(&mut self, parent: u32, name: &[u8]) -> Result<u32, String> {
        let inum = self.ialloc(T_DIR);
        self.add_dirent(inum, b".", inum)?;
        self.add_dirent(inum, b"..", parent)?;
        self.add_dirent(parent, name, inum)?;
        let mut p = self.rinode(parent);
        p.nlink += 1;
        self.winode(parent, &p);
        Ok(inum)
    }

    /// Reads a whole file through its inode's block map.
    pub fn read_file(&self, inum: u32) -> Vec<u8> {
        let din = self.rinode(inum);
        let mut out = Vec::with_capacity(din.size as usize);
        let mut fbn = 0;
        while out.len() < din.size as usize {
            let b = fsck::file_block(&self.data, &din, fbn);
            let n = (din.size as usize - out.len()).min(BSIZE);
            out.extend_from_slice(&self.block(b)[..n]);
            fbn += 1;
        }
        out
    }

    /// The entries of directory `dir`: (name, inum).
    pub fn list_dir(&self, dir: u32) -> Vec<(Vec<u8>, u32)> {
        let bytes = self.read_file(dir);
        bytes
            .chunks_exact(DIRENT_SIZE)
            .map(|c| Dirent::read_from_bytes(c).unwrap())
            .filter(|de| de.inum != 0)
            .map(|de| {
                let len = de.name.iter().position(|&c| c == 0).unwrap_or(DIRSIZ);
                (de.name[..len].to_vec(), de.inum as u32)
            })
            .collect()
    }

    pub fn lookup(&self, dir: u32, name: &[u8]) -> Option<u32> {
        self.list_dir(dir)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, i)| i)
    }

    /// Finishes the image: rounds the root directory up to a whole block
    /// (as xv6's mkfs does) and marks every used block in the bitmap.
    pub fn finish(mut self) -> Vec<u8> {
        let mut root = self.rinode(ROOTINO);
        root.size = (root.size as usize).div_ceil(BSIZE).max(1) as u32 * BSIZE as u32;
        self.winode(ROOTINO, &root);

        for b in 0..self.freeblock {
            let bmap = self.sb.bblock(b);
            self.block_mut(bmap)[(b % BPB / 8) as usize] |= 1 << (b % 8);
        }
        self.data
    }
}

impl Default for Image {
    fn default() -> Self {
        Image::new()
    }
}

/// The name a host path gets in the image.
fn image_name(path: &Path) -> Result<Vec<u8>, String> {
    let base = path
        .file_name()
        .ok_or_else(|| format!("{}: no file name", path.display()))?;
    let base = base
        .to_str()
        .ok_or_else(|| format!("{}: name not UTF-8", path.display()))?;
    Ok(base.strip_prefix('_').unwrap_or(base).as_bytes().to_vec())
}

fn run_check(path: &str) -> Result<(), String> {
    let image = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let r = fsck::check(&image);
    for w in &r.warnings {
        eprintln!("mkfs --check: warning: {w}");
    }
    for e in &r.errors {
        eprintln!("mkfs --check: error: {e}");
    }
    if !r.errors.is_empty() {
        return Err(format!("{path}: {} errors", r.errors.len()));
    }
    eprintln!(
        "mkfs --check: {path}: clean ({} log blocks replayed)",
        r.replayed
    );
    Ok(())
}

fn run(args: &[String]) -> Result<(), String> {
    if let [flag, path] = args {
        if flag == "--check" {
            return run_check(path);
        }
    }
    let (out, files) = match args {
        [out, files @ ..] => (out, files),
        _ => return Err("usage: mkfs fs.img [file | dest/path=file]...".into()),
    };
    let mut img = Image::new();
    for f in files {
        // `DEST=SRC` puts host file SRC at DEST ("etc/resolv.conf=...").
        if let Some((dest, src)) = f.split_once('=') {
            let contents = std::fs::read(src).map_err(|e| format!("{src}: {e}"))?;
            img.add_file_at(dest.as_bytes(), &contents)
                .map_err(|e| format!("{f}: {e}"))?;
            continue;
        }
        let path = Path::new(f);
        let contents = std::fs::read(path).map_err(|e| format!("{f}: {e}"))?;
        let name = image_name(path)?;
        img.add_file(&name, &contents)
            .map_err(|e| format!("{f}: {e}"))?;
    }
    let used = img.freeblock;
    let bytes = img.finish();
    std::fs::write(out, bytes).map_err(|e| format!("{out}: {e}"))?;
    let sb = SuperBlock::standard();
    eprintln!(
        "mkfs: {out}: {} files, {} of {} blocks used (meta {}, log {}, inodes from {}, bitmap at {})",
        files.len(),
        used,
        sb.size,
        sb.size - sb.nblocks,
        sb.nlog,
        sb.inodestart,
        sb.bmapstart
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mkfs: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::fs::{LogHeader, FSMAGIC, LOGSIZE};

    fn built(files: &[(&[u8], Vec<u8>)]) -> Image {
        let mut img = Image::new();
        for (name, data) in files {
            img.add_file(name, data).unwrap();
        }
        let data = img.finish();
        // Re-read the finished bytes, as the kernel would.
        let sb = SuperBlock::read_from_prefix(&data[BSIZE..]).unwrap().0;
        Image {
            data,
            sb,
            freeinode: 0,
            freeblock: 0,
        }
    }

    #[test]
    fn superblock_is_valid() {
        let img = built(&[]);
        let sb = img.sb;
        assert_eq!(sb.magic, FSMAGIC);
        assert_eq!(sb.size, FSSIZE);
        assert_eq!(img.data.len(), FSSIZE as usize * BSIZE);
        assert_eq!(sb.logstart, 2);
        assert!(sb.inodestart > sb.logstart + sb.nlog - 1);
        assert!(sb.bmapstart > sb.inodestart);
        let nbitmap = sb.size / BPB + 1;
        assert_eq!(sb.size - sb.nblocks, sb.bmapstart + nbitmap);
        // The log header is empty: nothing to replay at boot.
        assert!(img.block(sb.logstart).iter().all(|&b| b == 0));
    }

    #[test]
    fn root_lists_files() {
        let img = built(&[(b"README", b"hello\n".to_vec()), (b"cat", vec![7; 3000])]);
        let root = img.rinode(ROOTINO);
        assert_eq!(root.typ, T_DIR);
        assert_eq!(root.size as usize % BSIZE, 0);
        let names: Vec<Vec<u8>> = img.list_dir(ROOTINO).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            vec![
                b".".to_vec(),
                b"..".to_vec(),
                b"README".to_vec(),
                b"cat".to_vec()
            ]
        );
        assert_eq!(img.lookup(ROOTINO, b".."), Some(ROOTINO));
        let cat = img.lookup(ROOTINO, b"cat").unwrap();
        assert_eq!(img.rinode(cat).typ, T_FILE);
        assert_eq!(img.rinode(cat).nlink, 1);
    }

    #[test]
    fn file_bytes_read_back_through_indirect_block() {
        let big: Vec<u8> = (0..(NDIRECT + 5) * BSIZE + 123)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let img = built(&[(b"small", b"abc".to_vec()), (b"big", big.clone())]);
        let inum = img.lookup(ROOTINO, b"big").unwrap();
        let din = img.rinode(inum);
        assert_ne!(din.indirect, 0, "uses the indirect block");
        assert_eq!(din.dindirect, 0, "not the doubly-indirect one");
        assert_eq!(img.read_file(inum), big);
        assert_eq!(
            img.read_file(img.lookup(ROOTINO, b"small").unwrap()),
            b"abc"
        );
    }

    /// A file `n` blocks and `extra` bytes long, each block distinct.
    fn pattern(n: usize, extra: usize) -> Vec<u8> {
        (0..n * BSIZE + extra)
            .map(|i| (i / BSIZE * 7 + i % 251) as u8)
            .collect()
    }

    #[test]
    fn file_bytes_read_back_through_doubly_indirect_block() {
        // Past the singly-indirect range, into the third singly-indirect
        // block the doubly-indirect one names.
        let nblocks = NDIRECT + NINDIRECT + 2 * NINDIRECT + 5;
        let big = pattern(nblocks, 77);
        let img = built(&[(b"big", big.clone())]);
        let inum = img.lookup(ROOTINO, b"big").unwrap();
        let din = img.rinode(inum);
        assert_ne!(din.indirect, 0);
        assert_ne!(din.dindirect, 0, "uses the doubly-indirect block");
        let second: Vec<u32> = img
            .rindirect(din.dindirect)
            .addrs
            .into_iter()
            .filter(|&a| a != 0)
            .collect();
        assert_eq!(second.len(), 3, "three singly-indirect blocks below it");
        assert_eq!(img.read_file(inum), big);
        // Every block is accounted for: the data, the singly-indirect
        // block, the doubly-indirect block and the three below it.
        let data = nblocks + 1;
        let used = img.sb.size - img.sb.nblocks + 1 + (data + 1 + 1 + 3) as u32;
        let used_in_bitmap = (0..img.sb.size).filter(|&b| marked(&img, b)).count() as u32;
        assert_eq!(used_in_bitmap, used);
        assert_eq!(
            (abi::fs::MAXFILE, abi::fs::NDINDIRECT),
            (
                NDIRECT + NINDIRECT + NINDIRECT * NINDIRECT,
                NINDIRECT * NINDIRECT
            )
        );
    }

    /// Whether block `b` is marked in use in the image's bitmap.
    fn marked(img: &Image, b: u32) -> bool {
        img.block(img.sb.bblock(b))[(b % BPB / 8) as usize] & (1 << (b % 8)) != 0
    }

    #[test]
    fn bitmap_marks_exactly_the_used_blocks() {
        let img = built(&[(b"f", vec![1; 5 * BSIZE])]);
        let nmeta = img.sb.size - img.sb.nblocks;
        // metadata + root dir block + 5 data blocks
        let nused = nmeta + 1 + 5;
        assert!((0..nused).all(|b| marked(&img, b)));
        assert!(!(nused..img.sb.size).any(|b| marked(&img, b)));
    }

    #[test]
    fn bitmap_spans_several_blocks() {
        // More used blocks than one bitmap block has bits.
        let n = BPB as usize;
        let img = built(&[(b"f", vec![1; n * BSIZE])]);
        let nmeta = img.sb.size - img.sb.nblocks;
        // metadata + root dir block + data + singly-indirect block +
        // doubly-indirect block and the singly-indirect blocks below it
        let below = (n - NDIRECT - NINDIRECT).div_ceil(NINDIRECT);
        let nused = nmeta + 1 + (n + 1 + 1 + below) as u32;
        assert!(nused > BPB);
        assert!((0..nused).all(|b| marked(&img, b)));
        assert!(!(nused..img.sb.size).any(|b| marked(&img, b)));
        assert!(fsck::check(&img.data).errors.is_empty());
    }

    #[test]
    fn fsck_accepts_fresh_images_and_finds_damage() {
        let big = vec![3u8; (NDIRECT + NINDIRECT + 2) * BSIZE];
        let img = built(&[(b"a", b"x".to_vec()), (b"big", big)]);
        let r = fsck::check(&img.data);
        assert!(r.errors.is_empty() && r.warnings.is_empty(), "{r:?}");

        // A block freed in the bitmap while still in use: a direct one, and
        // one the doubly-indirect block reaches.
        let din = img.rinode(img.lookup(ROOTINO, b"big").unwrap());
        let below = img.rindirect(din.dindirect).addrs[0];
        let deep = img.rindirect(below).addrs[1];
        for b in [din.addrs[0], din.dindirect, below, deep] {
            let mut bad = img.data.clone();
            bad[img.sb.bblock(b) as usize * BSIZE + (b % BPB / 8) as usize] &= !(1 << (b % 8));
            let errors = fsck::check(&bad).errors;
            assert!(
                errors
                    .iter()
                    .any(|e| e.contains(&format!("block {b} free in the bitmap"))),
                "block {b}: {errors:?}"
            );
        }

        // A committed log transaction is replayed first: log a copy of the
        // root directory's block in which "a" is renamed, and commit.
        let mut logged = img.data.clone();
        let rootblk = img.rinode(ROOTINO).addrs[0];
        let mut blk = img.block(rootblk).to_vec();
        let pos = blk.windows(2).position(|w| w == b"a\0").unwrap();
        blk[pos] = b'b';
        let l = img.sb.logstart as usize;
        logged[(l + 1) * BSIZE..(l + 2) * BSIZE].copy_from_slice(&blk);
        let mut block = [0; LOGSIZE as usize];
        block[0] = rootblk;
        let head = LogHeader { n: 1, block };
        head.write_to_prefix(&mut logged[l * BSIZE..]).unwrap();
        let r = fsck::check(&logged);
        assert_eq!(r.replayed, 1);
        assert!(r.errors.is_empty(), "{r:?}");
    }

    #[test]
    fn rejects_bad_names_and_huge_files() {
        let mut img = Image::new();
        assert!(img.add_file(b"a-name-longer-than-14", b"").is_err());
        img.add_file(b"x", b"").unwrap();
        assert!(img.add_file(b"x", b"").is_err());
        let used = img.freeblock;
        let err = img
            .add_file(b"huge", &vec![0; MAXFILE * BSIZE + 1])
            .unwrap_err();
        assert!(err.contains("file too big"), "{err}");
        assert_eq!(img.freeblock, used, "refused before taking blocks");
        assert_eq!(image_name(Path::new("/tmp/out/_sh")).unwrap(), b"sh");
        assert_eq!(abi::fs::NINDIRECT, BSIZE / 4);
    }

    #[test]
    fn files_in_directories_check_clean() {
        let mut img = Image::new();
        img.add_file(b"README.md", b"hi").unwrap();
        img.add_file_at(b"etc/resolv.conf", b"nameserver 10.0.2.2:5353\n")
            .unwrap();
        img.add_file_at(b"etc/hosts", b"").unwrap();
        assert!(img.add_file_at(b"etc/hosts", b"").is_err());
        assert!(img.add_file_at(b"README.md/x", b"").is_err());
        let etc = img.lookup(ROOTINO, b"etc").unwrap();
        assert_eq!(img.rinode(etc).typ, T_DIR);
        assert_eq!(img.lookup(etc, b"..").unwrap(), ROOTINO);
        let conf = img.lookup(etc, b"resolv.conf").unwrap();
        assert_eq!(img.read_file(conf), b"nameserver 10.0.2.2:5353\n");
        let r = fsck::check(&img.finish());
        assert!(r.errors.is_empty(), "{r:?}");
    }
}
