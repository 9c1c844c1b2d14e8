//! Directories and path names: the top two layers of the file system
//! (see fs.rs for the lower ones).
//!
//! A directory is an inode of type `T_DIR` whose content is a sequence of
//! [`Dirent`]s (`abi::fs`); an entry with inum 0 is free. Path lookup walks
//! one element at a time from the root or the current directory, locking
//! each directory only while looking in it, so a lookup never holds two
//! inode locks at once (no deadlock with a concurrent lookup of "..").
//!
//! In a container (`ns.rs`) `/` is the container's root directory, and
//! `dirlookup` answers ".." of that directory with the directory itself,
//! as the disk's own root does: every lookup, create, link or unlink goes
//! through `dirlookup`, so no path climbs out.

use abi::fs::{Dirent, DIRSIZ, T_DIR};
use abi::Errno;
use zerocopy::IntoBytes;

use crate::fs::{iget, root, Inode, InodeGuard};
use crate::proc;

impl InodeGuard<'_> {
    /// Look for a directory entry in a directory. If found, return the
    /// inode (unlocked) and the byte offset of the entry.
    pub fn dirlookup(&mut self, name: &[u8]) -> Result<(Inode, u32), Errno> {
        if self.typ != T_DIR {
            panic!("dirlookup not DIR");
        }
        if name == b".." && self.is_my_root() {
            // The namespace's root is its own parent. Its own ".." entry
            // is the second one (mkdir writes "." then "..").
            return Ok((self.inode().clone(), DIRENT_SIZE as u32));
        }
        let mut off = 0;
        while off < self.size {
            let de = self.read_dirent(off);
            if de.inum != 0 && namecmp(name, &de.name) {
                return Ok((iget(self.inode().dev(), de.inum as u32)?, off));
            }
            off += DIRENT_SIZE as u32;
        }
        Err(Errno::ENOENT)
    }

    /// Is this directory the root of the caller's namespace (a container's)?
    fn is_my_root(&self) -> bool {
        let ip = self.inode();
        crate::ns::is_root(proc::my_ns(), ip.dev(), ip.inum())
    }

    /// Reads the directory entry at byte offset `off`.
    pub fn read_dirent(&mut self, off: u32) -> Dirent {
        let mut de = Dirent::default();
        if self.read_bytes(off, de.as_mut_bytes()) != Ok(DIRENT_SIZE) {
            panic!("dirent read");
        }
        de
    }

    /// Write a new directory entry (name, inum) into the directory.
    /// EEXIST if the name is already there.
    pub fn dirlink(&mut self, name: &[u8], inum: u32) -> Result<(), Errno> {
        // Check that name is not present.
        if let Ok((ip, _)) = self.dirlookup(name) {
            drop(ip);
            return Err(Errno::EEXIST);
        }
        // Look for an empty dirent.
        let mut off = 0;
        while off < self.size {
            if self.read_dirent(off).inum == 0 {
                break;
            }
            off += DIRENT_SIZE as u32;
        }
        let mut de = Dirent {
            inum: inum as u16,
            name: [0; DIRSIZ],
        };
        let len = name.len().min(DIRSIZ);
        de.name[..len].copy_from_slice(&name[..len]);
        if self.write_bytes(off, de.as_bytes())? != DIRENT_SIZE {
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }
}

pub const DIRENT_SIZE: usize = core::mem::size_of::<Dirent>();

/// Compares a path element with a NUL-padded directory-entry name.
pub fn namecmp(name: &[u8], de_name: &[u8; DIRSIZ]) -> bool {
    let len = de_name.iter().position(|&c| c == 0).unwrap_or(DIRSIZ);
    let name = &name[..name.len().min(DIRSIZ)];
    name == &de_name[..len]
}

// ---- Paths ----

/// Copy the next path element from path into name: returns the element
/// and the rest of the path, both without leading slashes, or None if
/// there is no element. Elements longer than DIRSIZ are truncated (xv6).
///
/// Examples:
///   skipelem("a/bb/c") = Some(("a", "bb/c"))
///   skipelem("///a//bb") = Some(("a", "bb"))
///   skipelem("a") = Some(("a", ""))
///   skipelem("") = skipelem("////") = None
fn skipelem(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = path.iter().position(|&c| c != b'/')?;
    let path = &path[start..];
    let end = path.iter().position(|&c| c == b'/').unwrap_or(path.len());
    let name = &path[..end.min(DIRSIZ)];
    let rest = &path[end..];
    let rest_start = rest.iter().position(|&c| c != b'/').unwrap_or(rest.len());
    Some((name, &rest[rest_start..]))
}

/// Look up and return the inode for a path name. If `parent`, return the
/// inode for the parent and copy the final path element into `name`,
/// which must have room for DIRSIZ bytes. Must be called inside a log op,
/// since it drops inodes.
fn namex(path: &[u8], parent: bool, name: &mut [u8; DIRSIZ]) -> Result<Inode, Errno> {
    // Paths from user space arrive NUL-terminated.
    let path = &path[..path.iter().position(|&c| c == 0).unwrap_or(path.len())];
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let top = || crate::ns::root(proc::my_ns()).unwrap_or_else(root);
    let ip = if path[0] == b'/' {
        top()
    } else {
        match &proc::myproc().data().cwd {
            Some(cwd) => cwd.clone(),
            None => top(),
        }
    };
    walk(ip, path, parent, name)
}

/// namex from directory `ip` (the start, already chosen).
fn walk(mut ip: Inode, path: &[u8], parent: bool, name: &mut [u8; DIRSIZ]) -> Result<Inode, Errno> {
    let mut rest = path;
    while let Some((elem, next)) = skipelem(rest) {
        rest = next;
        name.fill(0);
        name[..elem.len()].copy_from_slice(elem);
        let mut g = ip.lock();
        if g.typ != T_DIR {
            return Err(Errno::ENOTDIR);
        }
        if parent && rest.is_empty() {
            // Stop one level early.
            drop(g);
            return Ok(ip);
        }
        let (next_ip, _) = g.dirlookup(elem)?;
        drop(g);
        ip = next_ip;
    }
    if parent {
        // The path was "/" (or only slashes): no final element.
        return Err(Errno::ENOENT);
    }
    Ok(ip)
}

/// The inode `path` names. Call inside a log op.
pub fn namei(path: &[u8]) -> Result<Inode, Errno> {
    let mut name = [0u8; DIRSIZ];
    namex(path, false, &mut name)
}

/// A program for `exec` in a container that has none of this name: the
/// bare name (one element, no "..") looked up in the disk's root. Only
/// exec calls it, and exec only reads. Call inside a log op.
pub fn namei_host_program(path: &[u8]) -> Result<Inode, Errno> {
    let path = &path[..path.iter().position(|&c| c == 0).unwrap_or(path.len())];
    let bare = path.strip_prefix(b"/").unwrap_or(path);
    if bare.is_empty() || bare.contains(&b'/') || bare == b"." || bare == b".." {
        return Err(Errno::ENOENT);
    }
    let mut name = [0u8; DIRSIZ];
    walk(root(), bare, false, &mut name)
}

/// The inode of `path`'s parent directory, and its final element
/// (NUL-padded). Call inside a log op.
pub fn nameiparent(path: &[u8]) -> Result<(Inode, [u8; DIRSIZ]), Errno> {
    let mut name = [0u8; DIRSIZ];
    let ip = namex(path, true, &mut name)?;
    Ok((ip, name))
}

/// A NUL-padded name as a slice, without the padding.
pub fn name_str(name: &[u8; DIRSIZ]) -> &[u8] {
    &name[..name.iter().position(|&c| c == 0).unwrap_or(DIRSIZ)]
}
