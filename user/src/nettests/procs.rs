//! Helpers for tests that run the programs: starting one (with its stdin
//! and stdout on pipes, if wanted), waiting for it, waiting until a server
//! listens, and writing and checking files of known bytes.

use crate::tcp::at;
use abi::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ulib::ensure;
use ulib::sys;
use ulib::tcp::TcpStream;
use ulib::testing::{Check, TestResult};

/// Starts `argv[0]` (a program in /) in a child; returns its pid.
pub fn spawn(argv: &[&str]) -> Result<usize, String> {
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        let e = sys::exec(&format!("/{}", argv[0]), argv);
        ulib::println!("  exec {}: {}", argv[0], e.message());
        sys::exit(127);
    }
    Ok(pid)
}

/// Waits for child `pid`; its exit status (other children that exit
/// meanwhile are reaped and forgotten).
pub fn wait_for(pid: usize) -> Result<i32, String> {
    loop {
        let (w, st) = sys::wait().or_fail("wait")?;
        if w == pid {
            return Ok(st);
        }
    }
}

pub fn stop(pid: usize) {
    let _ = sys::kill(pid);
    let _ = wait_for(pid);
}

/// Connects to `port` once something listens there (within 3 s).
pub fn connect_when_up(port: u16) -> Result<TcpStream, String> {
    let deadline = sys::uptime() + 300;
    loop {
        match TcpStream::connect(at(port)) {
            Ok(s) => return Ok(s),
            Err(Errno::ECONNREFUSED) if sys::uptime() < deadline => {
                sys::sleep(5).or_fail("sleep")?;
            }
            Err(e) => return Err(format!("connect to port {port}: {}", e.message())),
        }
    }
}

pub fn write_file(path: &str, len: usize, byte: impl Fn(usize) -> u8) -> TestResult {
    let fd = sys::open(
        path,
        abi::fcntl::O_CREATE | abi::fcntl::O_WRONLY | abi::fcntl::O_TRUNC,
    )
    .or_fail(path)?;
    let mut buf = vec![0u8; 4096];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(buf.len());
        for (k, b) in buf[..n].iter_mut().enumerate() {
            *b = byte(done + k);
        }
        sys::write_all(fd, &buf[..n]).or_fail("write")?;
        done += n;
    }
    sys::close(fd).or_fail("close")
}

/// Checks the file at `path` is `len` bytes of `byte`.
pub fn check_file(path: &str, len: usize, byte: impl Fn(usize) -> u8) -> TestResult {
    let fd = sys::open(path, abi::fcntl::O_RDONLY).or_fail(path)?;
    let mut buf = vec![0u8; 4096];
    let mut got = 0;
    loop {
        let n = sys::read(fd, &mut buf).or_fail("read")?;
        if n == 0 {
            break;
        }
        if let Some(k) = (0..n).find(|&k| got + k >= len || buf[k] != byte(got + k)) {
            let _ = sys::close(fd);
            return Err(format!("{path}: byte {} differs", got + k));
        }
        got += n;
    }
    let _ = sys::close(fd);
    ensure!(got == len, "{path}: {got} bytes, want {len}");
    Ok(())
}

/// Starts `argv` with stdin and stdout on pipes; returns its pid, the
/// descriptor writing its stdin and the one reading its stdout.
pub fn spawn_piped(argv: &[&str]) -> Result<(usize, usize, usize), String> {
    let [in_r, in_w] = sys::pipe().or_fail("pipe")?;
    let [out_r, out_w] = sys::pipe().or_fail("pipe")?;
    let pid = sys::fork().or_fail("fork")?;
    if pid == 0 {
        // dup takes the lowest free descriptor: the one just closed.
        let _ = (
            sys::close(0),
            sys::dup(in_r),
            sys::close(1),
            sys::dup(out_w),
        );
        let _ = (
            sys::close(in_r),
            sys::close(in_w),
            sys::close(out_r),
            sys::close(out_w),
        );
        let e = sys::exec(&format!("/{}", argv[0]), argv);
        ulib::eprintln!("  exec {}: {}", argv[0], e.message());
        sys::exit(127);
    }
    let _ = (sys::close(in_r), sys::close(out_w));
    Ok((pid, in_w, out_r))
}

/// Everything a descriptor gives until end of file.
pub fn read_all(fd: usize) -> Result<Vec<u8>, String> {
    let mut all = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match sys::read(fd, &mut buf).or_fail("read")? {
            0 => return Ok(all),
            n => all.extend_from_slice(&buf[..n]),
        }
    }
}
