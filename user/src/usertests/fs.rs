//! File-system tests: create/read/write/truncate, unlink of open files,
//! links, directories, many files, dup and the fd table, a shared offset,
//! concurrent use from several processes, and big files through the
//! singly- and doubly-indirect blocks.

use crate::util::{read_file, wait_all, write_file};
use abi::fcntl::{O_CREATE, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY};
use abi::fs::{Dirent, BSIZE, NDIRECT, NINDIRECT};
use abi::stat::{T_DIR, T_FILE};
use abi::Errno;
use alloc::format;
use alloc::string::String;
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

/// Free blocks on the disk.
fn free_blocks() -> Result<i64, String> {
    Ok(sys::sysinfo().or_fail("sysinfo")?.free_blocks as i64)
}

/// Byte `i` of the big test files: it differs between blocks, so a block
/// read from the wrong place shows.
fn pattern(i: usize) -> u8 {
    ((i / BSIZE) as u32 * 7 + (i % 251) as u32) as u8
}

/// Appends bytes `off..end` of [`pattern`] to `fd`, in writes of the sizes
/// `sizes` cycles through (the last one shorter).
fn append(fd: ulib::sys::Fd, off: usize, end: usize, sizes: &[usize]) -> TestResult {
    let mut buf = vec![0u8; sizes.iter().copied().max().unwrap_or(BSIZE)];
    let mut pos = off;
    for &size in sizes.iter().cycle() {
        if pos == end {
            break;
        }
        let n = size.min(end - pos);
        for (j, b) in buf[..n].iter_mut().enumerate() {
            *b = pattern(pos + j);
        }
        let wrote = sys::write(fd, &buf[..n]).or_fail(&format!("write at {pos}"))?;
        ensure!(wrote == n, "short write at {}: {} of {}", pos, wrote, n);
        pos += n;
    }
    Ok(())
}

/// Reads `path` back to its end and checks every byte against
/// [`pattern`] and its length against `len`.
fn check_pattern(path: &str, len: usize) -> TestResult {
    ensure!(
        sys::stat(path).or_fail("stat")?.size as usize == len,
        "{} size wrong",
        path
    );
    let fd = sys::open(path, O_RDONLY).or_fail("open")?;
    let mut buf = vec![0u8; 4 * BSIZE];
    let mut pos = 0;
    loop {
        let n = sys::read_full(fd, &mut buf).or_fail("read")?;
        if n == 0 {
            break;
        }
        if let Some(j) = (0..n).find(|&j| buf[j] != pattern(pos + j)) {
            let _ = sys::close(fd);
            return Err(format!(
                "{path}: byte {} (block {}) differs",
                pos + j,
                (pos + j) / BSIZE
            ));
        }
        pos += n;
    }
    sys::close(fd).or_fail("close")?;
    ensure!(pos == len, "{} read {} bytes of {}", path, pos, len);
    Ok(())
}

/// A file across each step of the block map, counting the blocks each
/// step takes: a direct block; then the singly-indirect block with its
/// first entry; then the doubly-indirect block with its first
/// singly-indirect block and entry; then a second singly-indirect block
/// under it. Truncating it gives every block back. (MAXFILE itself,
/// 64 MiB, is more than the disk holds: abi's tests check it.)
pub fn bigfile() -> TestResult {
    let free = free_blocks()?;
    let fd = sys::open("big", O_CREATE | O_RDWR | O_TRUNC).or_fail("create")?;
    // (blocks in the file, blocks the disk has given it, counting the
    // indirect ones)
    let steps = [
        (NDIRECT, NDIRECT),
        (NDIRECT + 1, NDIRECT + 2),
        (NDIRECT + NINDIRECT, NDIRECT + NINDIRECT + 1),
        (NDIRECT + NINDIRECT + 1, NDIRECT + NINDIRECT + 4),
        (NDIRECT + 2 * NINDIRECT, NDIRECT + 2 * NINDIRECT + 3),
        (NDIRECT + 2 * NINDIRECT + 1, NDIRECT + 2 * NINDIRECT + 5),
    ];
    let mut len = 0;
    for (blocks, taken) in steps {
        append(fd, len, blocks * BSIZE, &[8 * BSIZE])?;
        len = blocks * BSIZE;
        let took = free - free_blocks()?;
        ensure!(
            took == taken as i64,
            "a file of {} blocks took {} blocks, not {}",
            blocks,
            took,
            taken
        );
    }
    sys::close(fd).or_fail("close")?;
    check_pattern("big", len)?;

    let fd = sys::open("big", O_WRONLY | O_TRUNC).or_fail("truncate")?;
    ensure!(
        sys::fstat(fd).or_fail("fstat")?.size == 0,
        "O_TRUNC left data"
    );
    sys::close(fd).or_fail("close")?;
    let lost = free - free_blocks()?;
    ensure!(lost == 0, "truncating left {} blocks taken", lost);
    sys::unlink("big").or_fail("unlink")?;
    Ok(())
}

/// A 4 MiB file (as `httpd` serves), far into the doubly-indirect range,
/// written in unaligned pieces of many sizes (each write is split into
/// several log transactions), read back, and unlinked, which gives every
/// block back.
pub fn hugefile() -> TestResult {
    const LEN: usize = 4 << 20;
    let free = free_blocks()?;
    let fd = sys::open("huge", O_CREATE | O_RDWR | O_TRUNC).or_fail("create")?;
    append(
        fd,
        0,
        LEN,
        &[1, 3 * BSIZE + 17, 64 * 1024, 1000, 9 * BSIZE - 1],
    )?;
    sys::close(fd).or_fail("close")?;
    // The data, the singly-indirect block, the doubly-indirect block and
    // the singly-indirect blocks under it.
    let data = LEN / BSIZE;
    let taken = data + 1 + 1 + (data - NDIRECT - NINDIRECT).div_ceil(NINDIRECT);
    let took = free - free_blocks()?;
    ensure!(
        took == taken as i64,
        "4 MiB took {} blocks, not {}",
        took,
        taken
    );
    check_pattern("huge", LEN)?;
    sys::unlink("huge").or_fail("unlink")?;
    let lost = free - free_blocks()?;
    ensure!(lost == 0, "unlink left {} blocks taken", lost);
    Ok(())
}
