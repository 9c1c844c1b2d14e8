//! The TCP tools end to end over loopback: `nc` as a client and with
//! `-l`, and `tcpbulk` sending to its sink.

use crate::procs::{connect_when_up, read_all, spawn, spawn_piped, stop, wait_for};
use crate::tcp::ECHO_PORT;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use ulib::ensure;
use ulib::sys;
use ulib::testing::{Check, TestResult};

/// nc as a TCP client of tcpecho: stdin goes out, the echo comes back,
/// and nc ends when the server closes after nc's end of input. Then
/// `nc -l`: what a client sends comes out on nc's stdout, and nc's stdin
/// reaches the client.
pub fn nctcp() -> TestResult {
    let echo = spawn(&["tcpecho", "7007"])?;
    let r = nc_client();
    stop(echo);
    r?;
    let (nc, to_nc, from_nc) = spawn_piped(&["nc", "-l", "7008"])?;
    let r = (|| {
        let s = connect_when_up(7008)?;
        s.set_timeout(5000).or_fail("set_timeout")?;
        s.write_all(b"to the listener\n").or_fail("write")?;
        sys::write_all(to_nc, b"from the listener\n").or_fail("write to nc")?;
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).or_fail("read")?;
        ensure!(
            &buf[..n] == b"from the listener\n",
            "client read {:?}",
            &buf[..n]
        );
        drop(s);
        let _ = sys::close(to_nc);
        let out = read_all(from_nc)?;
        ensure!(
            out == b"to the listener\n",
            "nc -l printed {:?}",
            String::from_utf8_lossy(&out)
        );
        ensure!(wait_for(nc)? == 0, "nc -l failed");
        Ok(())
    })();
    if r.is_err() {
        stop(nc);
    }
    let _ = sys::close(from_nc);
    r
}

fn nc_client() -> TestResult {
    drop(connect_when_up(ECHO_PORT)?);
    let (nc, to_nc, from_nc) = spawn_piped(&["nc", "127.0.0.1", "7007"])?;
    let msg = b"line one\nline two\n";
    sys::write_all(to_nc, msg).or_fail("write to nc")?;
    let _ = sys::close(to_nc);
    let out = read_all(from_nc)?;
    let _ = sys::close(from_nc);
    let st = wait_for(nc)?;
    ensure!(out == msg, "nc printed {:?}", String::from_utf8_lossy(&out));
    ensure!(st == 0, "nc exit status {}", st);
    Ok(())
}

/// tcpbulk sends 2 MB to its sink over loopback; the sink checks every
/// byte of the pattern and reports the count.
pub fn bulk() -> TestResult {
    const BYTES: usize = 2_000_000;
    let (sink, to_sink, from_sink) = spawn_piped(&["tcpbulk", "sink", "7400"])?;
    let _ = sys::close(to_sink);
    // Its first line says it listens.
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while !out.ends_with(b"\n") {
        ensure!(
            sys::read(from_sink, &mut b).or_fail("read")? == 1,
            "tcpbulk sink ended early"
        );
        out.push(b[0]);
    }
    ensure!(
        out.starts_with(b"tcpbulk: listening"),
        "sink said {:?}",
        String::from_utf8_lossy(&out)
    );
    let send = spawn(&["tcpbulk", "send", "127.0.0.1", "7400", "2000000"])?;
    let report = read_all(from_sink)?;
    let _ = sys::close(from_sink);
    // Both exit; either may be first.
    let (mut s1, mut s2) = (None, None);
    while s1.is_none() || s2.is_none() {
        let (pid, st) = sys::wait().or_fail("wait")?;
        if pid == send {
            s1 = Some(st);
        } else if pid == sink {
            s2 = Some(st);
        }
    }
    let (s1, s2) = (s1.unwrap_or(-1), s2.unwrap_or(-1));
    let report = String::from_utf8_lossy(&report);
    ensure!(
        s1 == 0 && s2 == 0,
        "tcpbulk send exit {}, sink exit {}: {}",
        s1,
        s2,
        report
    );
    ensure!(
        report.contains(&format!(" {BYTES} bytes in ")),
        "sink reported {:?}",
        report
    );
    ulib::print!("  sink: {}", report);
    Ok(())
}
