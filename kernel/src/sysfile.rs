//! File-system system calls. Mostly argument checking, since we don't trust
//! user code, and calls into file.rs and fs.rs.
//!
//! Each `sys_*` returns `Result<usize, Errno>`; `syscall.rs` stores the
//! value or `-errno` in a0. User pointers are never dereferenced here: they
//! go to `copyin`/`copyout`/`copyinstr` (through `argstr`, `fileread`,
//! `filewrite`, `filestat`), which walk the page table and fail with
//! EFAULT. Bad descriptors fail with EBADF (`argfd`).
//!
//! Inodes are released inside the operation's log transaction: every
//! function that touches the file system declares `let _op = Op::begin();`
//! before any `Inode`, so Rust drops the inodes (iput) first and ends the
//! operation last. Files (`Arc<File>`) are dropped outside it.

use alloc::sync::Arc;

use abi::fcntl::{O_CREATE, O_RDWR, O_TRUNC, O_WRONLY};
use abi::fs::{DIRSIZ, T_DEVICE, T_DIR, T_FILE};
use abi::Errno;

use crate::file::{self, File, FileKind};
use crate::fs::{self, Inode, InodeGuard, DIRENT_SIZE};
use crate::log::Op;
use crate::param::{MAXPATH, NDEV, NOFILE};
use crate::pipe;
use crate::proc;
use crate::syscall::{argaddr, argfd, argint, argstr};

/// Reads syscall argument `n` as a path into `buf` (NUL excluded).
fn argpath(n: usize, buf: &mut [u8; MAXPATH]) -> Result<&[u8], Errno> {
    let len = argstr(n, buf)?;
    Ok(&buf[..len])
}

/// Argument `n` as a byte count. The whole register counts (a count of
/// 2^32 must not wrap to 0); negative counts are EINVAL.
fn argcount(n: usize) -> Result<usize, Errno> {
    let v = argaddr(n);
    if v as isize >= 0 {
        Ok(v)
    } else {
        Err(Errno::EINVAL)
    }
}

/// Finds a free descriptor slot without filling it.
fn fdfree() -> Result<usize, Errno> {
    proc::myproc()
        .data()
        .ofile
        .iter()
        .position(|f| f.is_none())
        .ok_or(Errno::EMFILE)
}

/// Allocate a file descriptor for the given file. Takes over the file
/// reference from the caller on success; on failure the file is dropped.
fn fdalloc(f: Arc<File>) -> Result<usize, Errno> {
    let fd = fdfree()?;
    proc::myproc().data().ofile[fd] = Some(f);
    Ok(fd)
}

pub fn sys_dup() -> Result<usize, Errno> {
    let (_, f) = argfd(0)?;
    fdalloc(f)
}

pub fn sys_read() -> Result<usize, Errno> {
    let (_, f) = argfd(0)?;
    let addr = argaddr(1);
    let n = argcount(2)?;
    file::fileread(&f, addr, n)
}

pub fn sys_write() -> Result<usize, Errno> {
    let (_, f) = argfd(0)?;
    let addr = argaddr(1);
    let n = argcount(2)?;
    file::filewrite(&f, addr, n)
}

pub fn sys_close() -> Result<usize, Errno> {
    let (fd, f) = argfd(0)?;
    proc::myproc().data().ofile[fd] = None;
    file::fileclose(f);
    Ok(0)
}

pub fn sys_fstat() -> Result<usize, Errno> {
    let (_, f) = argfd(0)?;
    let st = argaddr(1); // user pointer to struct stat
    file::filestat(&f, st)?;
    Ok(0)
}

/// Create the path `new` as a link to the same inode as `old`.
pub fn sys_link() -> Result<usize, Errno> {
    let mut oldbuf = [0u8; MAXPATH];
    let mut newbuf = [0u8; MAXPATH];
    let old = argpath(0, &mut oldbuf)?;
    let new = argpath(1, &mut newbuf)?;

    let _op = Op::begin();
    let ip = fs::namei(old)?;
    {
        let mut g = ip.lock();
        if g.typ == T_DIR {
            return Err(Errno::EPERM);
        }
        g.nlink += 1;
        g.update();
    }
    let linked = (|| {
        let (dp, name) = fs::nameiparent(new)?;
        let mut dg = dp.lock();
        if dp.dev() != ip.dev() {
            return Err(Errno::EXDEV);
        }
        dg.dirlink(fs::name_str(&name), ip.inum())
    })();
    if let Err(e) = linked {
        let mut g = ip.lock();
        g.nlink -= 1;
        g.update();
        return Err(e);
    }
    Ok(0)
}

/// Is the directory dp empty except for "." and ".." ?
fn isdirempty(dg: &mut InodeGuard<'_>) -> bool {
    let mut off = 2 * DIRENT_SIZE as u32;
    while off < dg.size {
        if dg.read_dirent(off).inum != 0 {
            return false;
        }
        off += DIRENT_SIZE as u32;
    }
    true
}

pub fn sys_unlink() -> Result<usize, Errno> {
    let mut pathbuf = [0u8; MAXPATH];
    let path = argpath(0, &mut pathbuf)?;

    let _op = Op::begin();
    let (dp, name) = fs::nameiparent(path)?;
    let name = fs::name_str(&name);
    let mut dg = dp.lock();

    // Cannot unlink "." or "..".
    if name == b"." || name == b".." {
        return Err(Errno::EINVAL);
    }
    let (ip, off) = dg.dirlookup(name)?;
    let mut g = ip.lock();
    if g.nlink < 1 {
        panic!("unlink: nlink < 1");
    }
    if g.typ == T_DIR && !isdirempty(&mut g) {
        return Err(Errno::ENOTEMPTY);
    }

    let empty = [0u8; DIRENT_SIZE];
    if dg.write_bytes(off, &empty) != Ok(DIRENT_SIZE) {
        panic!("unlink: writei");
    }
    if g.typ == T_DIR {
        dg.nlink -= 1; // the child's ".." no longer names dp
        dg.update();
    }
    drop(dg);

    g.nlink -= 1;
    g.update();
    Ok(0)
}

/// Makes a new inode of type `typ` named `path` and returns it unlocked.
/// Opening an existing file with O_CREATE returns the existing inode.
fn create(path: &[u8], typ: u16, major: u16, minor: u16) -> Result<Inode, Errno> {
    let (dp, name) = fs::nameiparent(path)?;
    let name = fs::name_str(&name);
    let mut dg = dp.lock();

    if let Ok((ip, _)) = dg.dirlookup(name) {
        drop(dg);
        let existing = ip.lock().typ;
        if typ == T_FILE && (existing == T_FILE || existing == T_DEVICE) {
            return Ok(ip);
        }
        return Err(Errno::EEXIST);
    }

    let ip = fs::ialloc(dp.dev(), typ)?;
    let mut g = ip.lock();
    g.major = major;
    g.minor = minor;
    g.nlink = 1;
    g.update();

    let linked = (|| {
        if typ == T_DIR {
            // Create . and .. entries. No nlink++ for ".": avoid cyclic
            // ref count.
            g.dirlink(b".", ip.inum())?;
            g.dirlink(b"..", dp.inum())?;
        }
        dg.dirlink(name, ip.inum())
    })();
    if let Err(e) = linked {
        // De-allocate ip: iput frees an inode with no links.
        g.nlink = 0;
        g.update();
        return Err(e);
    }
    if typ == T_DIR {
        // Now that success is guaranteed: the child's ".." names dp.
        dg.nlink += 1;
        dg.update();
    }
    drop(g);
    Ok(ip)
}

pub fn sys_open() -> Result<usize, Errno> {
    let mut pathbuf = [0u8; MAXPATH];
    let path = argpath(0, &mut pathbuf)?;
    let omode = argint(1) as usize;

    let fd = fdfree()?;
    let f = {
        let _op = Op::begin();
        let ip = if omode & O_CREATE != 0 {
            create(path, T_FILE, 0, 0)?
        } else {
            fs::namei(path)?
        };
        let (typ, major) = {
            let mut g = ip.lock();
            if g.typ == T_DIR && omode & (O_WRONLY | O_RDWR) != 0 {
                return Err(Errno::EISDIR);
            }
            if g.typ == T_DEVICE && g.major as usize >= NDEV {
                return Err(Errno::ENODEV);
            }
            if omode & O_TRUNC != 0 && g.typ == T_FILE {
                g.itrunc();
            }
            (g.typ, g.major)
        };
        let ip = core::mem::ManuallyDrop::new(ip);
        let kind = if typ == T_DEVICE {
            FileKind::Device { ip, major }
        } else {
            FileKind::Inode {
                ip,
                off: core::sync::atomic::AtomicU32::new(0),
            }
        };
        let readable = omode & O_WRONLY == 0;
        let writable = omode & (O_WRONLY | O_RDWR) != 0;
        File::new(kind, readable, writable)?
    };
    proc::myproc().data().ofile[fd] = Some(f);
    Ok(fd)
}

pub fn sys_mkdir() -> Result<usize, Errno> {
    let mut pathbuf = [0u8; MAXPATH];
    let path = argpath(0, &mut pathbuf)?;
    let _op = Op::begin();
    create(path, T_DIR, 0, 0)?;
    Ok(0)
}

pub fn sys_mknod() -> Result<usize, Errno> {
    let mut pathbuf = [0u8; MAXPATH];
    let path = argpath(0, &mut pathbuf)?;
    let major = argint(1);
    let minor = argint(2);
    if !(0..NDEV as i64).contains(&(major as i64))
        || !(0..=u16::MAX as i64).contains(&(minor as i64))
    {
        return Err(Errno::EINVAL);
    }
    let _op = Op::begin();
    create(path, T_DEVICE, major as u16, minor as u16)?;
    Ok(0)
}

pub fn sys_chdir() -> Result<usize, Errno> {
    let mut pathbuf = [0u8; MAXPATH];
    let path = argpath(0, &mut pathbuf)?;
    let _op = Op::begin();
    let ip = fs::namei(path)?;
    if ip.lock().typ != T_DIR {
        return Err(Errno::ENOTDIR);
    }
    // The old cwd is released here, inside the operation.
    let old = proc::myproc().data().cwd.replace(ip);
    drop(old);
    Ok(0)
}

pub fn sys_pipe() -> Result<usize, Errno> {
    let fdarray = argaddr(0); // user pointer to array of two integers
    let (rf, wf) = pipe::pipealloc()?;
    let fd0 = fdalloc(rf)?;
    let fd1 = match fdalloc(wf) {
        Ok(fd) => fd,
        Err(e) => {
            proc::myproc().data().ofile[fd0] = None;
            return Err(e);
        }
    };
    let mut fds = [0u8; 8];
    fds[..4].copy_from_slice(&(fd0 as i32).to_ne_bytes());
    fds[4..].copy_from_slice(&(fd1 as i32).to_ne_bytes());
    if let Err(e) = proc::either_copyout(true, fdarray, &fds) {
        let of = &mut proc::myproc().data().ofile;
        of[fd0] = None;
        of[fd1] = None;
        return Err(e);
    }
    Ok(0)
}

const _: () = assert!(DIRSIZ == 14);
const _: () = assert!(NOFILE > 2);
