//! File-system tests: create/read/write/truncate, unlink of open files,
//! links, directories, many files, dup and the fd table, a shared offset,
//! concurrent use from several processes, and a file of MAXFILE blocks.

use crate::util::{read_file, wait_all, write_file};
use abi::fcntl::{O_CREATE, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY};
use abi::fs::{Dirent, BSIZE, MAXFILE, NDIRECT};
use abi::stat::{T_DIR, T_FILE};
use abi::Errno;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use ulib::ensure;
use ulib::sys;
use ulib::testing::{Check, TestResult};
use zerocopy::IntoBytes;

/// Create, write, read back, truncate, reopen; wrong modes fail.
pub fn files() -> TestResult {
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let fd = sys::open("f1", O_CREATE | O_RDWR).or_fail("create f1")?;
    for chunk in data.chunks(100) {
        ensure!(
            sys::write(fd, chunk).or_fail("write")? == chunk.len(),
            "short write"
        );
    }
    let st = sys::fstat(fd).or_fail("fstat")?;
    ensure!(
        st.typ == T_FILE && st.size == 3000 && st.nlink == 1,
        "fstat says {:?}",
        st
    );
    sys::close(fd).or_fail("close")?;
    ensure!(read_file("f1")? == data, "read back differs");

    let fd = sys::open("f1", O_RDONLY).or_fail("open f1")?;
    sys::write(fd, b"x").must_fail("write to O_RDONLY fd")?;
    sys::close(fd).or_fail("close")?;
    let fd = sys::open("f1", O_WRONLY).or_fail("open f1")?;
    let mut b = [0u8; 4];
    sys::read(fd, &mut b).must_fail("read from O_WRONLY fd")?;
    sys::write(fd, b"abcd").or_fail("overwrite")?;
    sys::close(fd).or_fail("close")?;
    ensure!(
        read_file("f1")?[..5] == *b"abcd\x04",
        "overwrite at offset 0 went wrong"
    );

    let fd = sys::open("f1", O_WRONLY | O_TRUNC).or_fail("truncate f1")?;
    ensure!(
        sys::fstat(fd).or_fail("fstat")?.size == 0,
        "O_TRUNC left data"
    );
    sys::close(fd).or_fail("close")?;
    sys::unlink("f1").or_fail("unlink")?;
    ensure!(
        sys::open("f1", O_RDONLY) == Err(Errno::ENOENT),
        "f1 still there"
    );
    sys::unlink("f1").must_fail("unlink of missing file")?;
    sys::open("no/such/dir/f", O_CREATE | O_RDWR).must_fail("create in missing dir")?;
    sys::open(".", O_RDWR).must_fail("open dir for writing")?;
    sys::open("", O_RDONLY).must_fail("open of empty path")?;
    Ok(())
}

/// An unlinked file stays readable through an open fd (xv6's unlinkread).
pub fn unlinkopen() -> TestResult {
    write_file("ul", b"hello")?;
    let fd = sys::open("ul", O_RDWR).or_fail("open")?;
    sys::unlink("ul").or_fail("unlink")?;
    write_file("ul", b"yyyyyyyy")?; // reuses the name, not the inode
    let mut b = [0u8; 5];
    ensure!(
        sys::read(fd, &mut b).or_fail("read")? == 5 && b == *b"hello",
        "read {:?}",
        b
    );
    sys::write(fd, b"!").or_fail("write")?;
    sys::close(fd).or_fail("close")?;
    ensure!(read_file("ul")? == b"yyyyyyyy", "new file changed");
    sys::unlink("ul").or_fail("unlink")?;
    Ok(())
}

/// Hard links share contents; nlink counts names.
pub fn links() -> TestResult {
    write_file("lf1", b"linked")?;
    sys::link("lf1", "lf2").or_fail("link")?;
    ensure!(sys::stat("lf2").or_fail("stat")?.nlink == 2, "nlink not 2");
    sys::unlink("lf1").or_fail("unlink lf1")?;
    ensure!(read_file("lf2")? == b"linked", "lf2 lost its contents");
    ensure!(sys::stat("lf2").or_fail("stat")?.nlink == 1, "nlink not 1");
    sys::link("lf2", "lf2").must_fail("link onto existing name")?;
    sys::link("nothere", "lf3").must_fail("link of missing file")?;
    sys::link(".", "dotlink").must_fail("link to a directory")?;
    sys::link("lf2", "no/such/lf").must_fail("link into missing dir")?;
    sys::unlink("lf2").or_fail("unlink lf2")?;
    Ok(())
}

/// Nested directories, chdir, relative paths, . and .., and misuse.
pub fn dirs() -> TestResult {
    sys::mkdir("dd").or_fail("mkdir dd")?;
    sys::mkdir("dd").must_fail("mkdir of existing dir")?;
    sys::mkdir("dd/ee").or_fail("mkdir dd/ee")?;
    sys::mkdir("dd/ee/ff").or_fail("mkdir dd/ee/ff")?;
    ensure!(
        sys::stat("dd/ee").or_fail("stat")?.typ == T_DIR,
        "dd/ee not a dir"
    );
    sys::chdir("dd/ee").or_fail("chdir dd/ee")?;
    write_file("ff/file", b"deep")?;
    sys::chdir("..").or_fail("chdir ..")?;
    ensure!(
        read_file("ee/ff/file")? == b"deep",
        "relative path after .."
    );
    sys::chdir("./ee/ff/../../..").or_fail("chdir back up")?;
    ensure!(read_file("/dd/ee/ff/file")? == b"deep", "absolute path");
    ensure!(
        read_file("dd/./ee/../ee/ff/file")? == b"deep",
        "dots in path"
    );

    sys::chdir("dd/ee/ff/file").must_fail("chdir into a file")?;
    sys::chdir("nosuchdir").must_fail("chdir into missing dir")?;
    sys::mkdir("dd/ee/ff/file/x").must_fail("mkdir under a file")?;
    sys::open("dd/ee/ff/file/x", O_CREATE | O_RDWR).must_fail("create under a file")?;
    sys::unlink("dd/ee").must_fail("unlink of non-empty dir")?;
    sys::unlink("dd/.").must_fail("unlink of .")?;
    sys::unlink("dd/..").must_fail("unlink of ..")?;

    sys::unlink("dd/ee/ff/file").or_fail("unlink file")?;
    sys::unlink("dd/ee/ff").or_fail("unlink ff")?;
    sys::unlink("dd/ee").or_fail("unlink ee")?;
    sys::unlink("dd").or_fail("unlink dd")?;
    ensure!(sys::stat("dd").is_err(), "dd still there");
    Ok(())
}

/// Many files in one directory, listed by reading it, then removed.
pub fn manyfiles() -> TestResult {
    const N: usize = 60;
    sys::mkdir("mf").or_fail("mkdir")?;
    for i in 0..N {
        write_file(&format!("mf/f{i:02}"), format!("file {i}").as_bytes())?;
    }
    let fd = sys::open("mf", O_RDONLY).or_fail("open dir")?;
    let mut seen = [false; N];
    let mut de = Dirent::default();
    while sys::read_full(fd, de.as_mut_bytes()).or_fail("read dir")? == Dirent::LEN {
        if de.inum == 0 {
            continue;
        }
        let name = ulib::cstr::from_padded(&de.name);
        if let Some(i) = name.strip_prefix('f').and_then(|n| n.parse::<usize>().ok()) {
            ensure!(i < N && !seen[i], "odd entry {}", name);
            seen[i] = true;
        } else {
            ensure!(name == "." || name == "..", "odd entry {}", name);
        }
    }
    sys::close(fd).or_fail("close")?;
    ensure!(seen.iter().all(|&s| s), "missing entries");
    for i in (0..N).rev() {
        let p = format!("mf/f{i:02}");
        ensure!(
            read_file(&p)? == format!("file {i}").as_bytes(),
            "{} contents",
            p
        );
        sys::unlink(&p).or_fail("unlink")?;
    }
    sys::unlink("mf").or_fail("unlink mf")?;
    Ok(())
}

/// dup shares the offset; duplicates close independently.
pub fn dup() -> TestResult {
    let fd = sys::open("dupf", O_CREATE | O_RDWR).or_fail("create")?;
    let fd2 = sys::dup(fd).or_fail("dup")?;
    ensure!(fd2 != fd, "dup returned the same fd");
    sys::write(fd, b"ab").or_fail("write")?;
    sys::write(fd2, b"cd").or_fail("write dup")?;
    sys::close(fd).or_fail("close")?;
    sys::write(fd2, b"ef").or_fail("write after closing original")?;
    sys::close(fd2).or_fail("close dup")?;
    ensure!(read_file("dupf")? == b"abcdef", "shared offset broken");
    sys::unlink("dupf").or_fail("unlink")?;
    Ok(())
}

/// Opening until the fd table is full fails cleanly; closing frees slots.
/// Opening and closing many times leaks nothing.
pub fn fdtable() -> TestResult {
    write_file("fdt", b"x")?;
    let mut fds = Vec::new();
    while let Ok(fd) = sys::open("fdt", O_RDONLY) {
        fds.push(fd);
        ensure!(fds.len() < 1000, "open never fails");
    }
    ensure!(fds.len() >= 8, "only {} opens", fds.len());
    sys::dup(0).must_fail("dup with a full table")?;
    sys::pipe().must_fail("pipe with a full table")?;
    for fd in fds {
        sys::close(fd).or_fail("close")?;
    }
    for _ in 0..200 {
        let fd = sys::open("fdt", O_RDONLY).or_fail("reopen")?;
        sys::close(fd).or_fail("close")?;
    }
    for _ in 0..50 {
        let [r, w] = sys::pipe().or_fail("pipe")?;
        sys::close(r).or_fail("close")?;
        sys::close(w).or_fail("close")?;
    }
    sys::unlink("fdt").or_fail("unlink")?;
    Ok(())
}

/// Parent and child write through one fd: the offset is shared (xv6's sharedfd).
pub fn sharedfd() -> TestResult {
    const N: usize = 100;
    let fd = sys::open("sharedfd", O_CREATE | O_RDWR | O_TRUNC).or_fail("create")?;
    let pid = sys::fork().or_fail("fork")?;
    let c = if pid == 0 { b'c' } else { b'p' };
    for _ in 0..N {
        if sys::write(fd, &[c; 10]) != Ok(10) {
            if pid == 0 {
                sys::exit(1);
            }
            return Err("write".into());
        }
    }
    if pid == 0 {
        sys::exit(0);
    }
    ensure!(wait_all() == 0, "child failed");
    sys::close(fd).or_fail("close")?;
    let data = read_file("sharedfd")?;
    let (nc, np) = (
        data.iter().filter(|&&b| b == b'c').count(),
        data.iter().filter(|&&b| b == b'p').count(),
    );
    ensure!(
        nc == N * 10 && np == N * 10 && data.len() == N * 20,
        "c {} p {} len {}",
        nc,
        np,
        data.len()
    );
    sys::unlink("sharedfd").or_fail("unlink")?;
    Ok(())
}

/// Four processes write four files at once; each reads back whole (xv6's fourfiles).
pub fn concurrent() -> TestResult {
    const NCHILD: usize = 4;
    const SZ: usize = 500;
    const NW: usize = 24; // 12 KB each: past the direct blocks
    for i in 0..NCHILD {
        if sys::fork().or_fail("fork")? == 0 {
            let name = format!("cf{i}");
            let buf = vec![b'a' + i as u8; SZ];
            let ok = (|| {
                let fd = sys::open(&name, O_CREATE | O_RDWR | O_TRUNC).ok()?;
                for _ in 0..NW {
                    (sys::write(fd, &buf) == Ok(SZ)).then_some(())?;
                }
                sys::close(fd).ok()
            })();
            sys::exit(if ok.is_some() { 0 } else { 1 });
        }
    }
    ensure!(wait_all() == 0, "a writer failed");
    for i in 0..NCHILD {
        let name = format!("cf{i}");
        let data = read_file(&name)?;
        ensure!(data.len() == SZ * NW, "{} has {} bytes", name, data.len());
        ensure!(
            data.iter().all(|&b| b == b'a' + i as u8),
            "{} has foreign bytes",
            name
        );
        sys::unlink(&name).or_fail("unlink")?;
    }
    Ok(())
}

/// Processes create and delete files in one directory at once (xv6's createdelete).
pub fn createdelete() -> TestResult {
    const NCHILD: usize = 4;
    const N: usize = 16;
    sys::mkdir("cd").or_fail("mkdir")?;
    for i in 0..NCHILD {
        if sys::fork().or_fail("fork")? == 0 {
            for j in 0..N {
                let name = format!("cd/{i}_{j}");
                let Ok(fd) = sys::open(&name, O_CREATE | O_RDWR) else {
                    sys::exit(1)
                };
                let _ = sys::close(fd);
                if j % 2 == 1 && sys::unlink(&name).is_err() {
                    sys::exit(2);
                }
            }
            sys::exit(0);
        }
    }
    ensure!(wait_all() == 0, "a child failed");
    for i in 0..NCHILD {
        for j in 0..N {
            let name = format!("cd/{i}_{j}");
            let exists = sys::stat(&name).is_ok();
            ensure!(exists == (j % 2 == 0), "{} exists: {}", name, exists);
            if exists {
                sys::unlink(&name).or_fail("unlink")?;
            }
        }
    }
    sys::unlink("cd").or_fail("unlink cd")?;
    Ok(())
}

/// Processes race to create, link and unlink the same names (xv6's concreate).
pub fn concreate() -> TestResult {
    const NCHILD: usize = 3;
    const N: usize = 12;
    sys::mkdir("cc").or_fail("mkdir")?;
    for i in 0..NCHILD {
        if sys::fork().or_fail("fork")? == 0 {
            for j in 0..N {
                let name = format!("cc/n{j}");
                match (i + j) % 3 {
                    0 => {
                        let _ = sys::unlink(&name);
                    }
                    1 => {
                        let _ = sys::link("cc/n0", &name);
                    }
                    _ => {
                        if let Ok(fd) = sys::open(&name, O_CREATE | O_RDWR) {
                            let _ = sys::close(fd);
                        }
                    }
                }
            }
            sys::exit(0);
        }
    }
    ensure!(wait_all() == 0, "a child failed");
    for j in 0..N {
        let name = format!("cc/n{j}");
        match sys::open(&name, O_RDONLY) {
            Ok(fd) => {
                let st = sys::fstat(fd).or_fail("fstat")?;
                ensure!(st.typ == T_FILE, "{} type {}", name, st.typ);
                sys::close(fd).or_fail("close")?;
                sys::unlink(&name).or_fail("unlink")?;
            }
            Err(e) => ensure!(e == Errno::ENOENT, "{}: {}", name, e.message()),
        }
    }
    sys::unlink("cc").or_fail("unlink cc (entries left?)")?;
    Ok(())
}

/// A file of MAXFILE blocks, through the indirect block; one byte more fails.
pub fn bigfile() -> TestResult {
    let mut buf = vec![0u8; BSIZE];
    let fd = sys::open("big", O_CREATE | O_RDWR | O_TRUNC).or_fail("create")?;
    for blk in 0..MAXFILE {
        buf[..4].copy_from_slice(&(blk as u32).to_le_bytes());
        buf[BSIZE - 1] = blk as u8;
        let n = sys::write(fd, &buf).or_fail(&format!("write block {blk}"))?;
        ensure!(n == BSIZE, "block {} short write {}", blk, n);
    }
    let extra = sys::write(fd, b"x");
    ensure!(
        extra.is_err() || extra == Ok(0),
        "write past MAXFILE gave {:?}",
        extra
    );
    sys::close(fd).or_fail("close")?;
    ensure!(
        sys::stat("big").or_fail("stat")?.size as usize == MAXFILE * BSIZE,
        "size wrong"
    );

    let fd = sys::open("big", O_RDONLY).or_fail("open")?;
    for blk in 0..MAXFILE {
        let n = sys::read_full(fd, &mut buf).or_fail("read")?;
        ensure!(n == BSIZE, "block {} short read {}", blk, n);
        let got = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        ensure!(
            got == blk as u32 && buf[BSIZE - 1] == blk as u8,
            "block {} holds {}",
            blk,
            got
        );
    }
    ensure!(
        sys::read(fd, &mut buf).or_fail("read at end")? == 0,
        "data past the end"
    );
    sys::close(fd).or_fail("close")?;
    sys::unlink("big").or_fail("unlink")?;
    // The blocks are free again: a file crossing into the indirect block fits.
    let fd = sys::open("big2", O_CREATE | O_RDWR).or_fail("create big2")?;
    for _ in 0..NDIRECT + 4 {
        ensure!(sys::write(fd, &buf) == Ok(BSIZE), "write big2");
    }
    sys::close(fd).or_fail("close")?;
    sys::unlink("big2").or_fail("unlink big2")?;
    Ok(())
}
