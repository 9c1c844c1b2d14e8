//! `cargo xtask qemu` tested as a person uses it: typed at through a
//! pseudo-terminal of its own (script(1) makes one), keys and all.
//!
//! - [`console_keys`]: an 8 KiB paste arrives byte for byte; Ctrl-C
//!   interrupts `ping` and a blocked `nc` and gives the prompt back;
//!   `kill 1` is refused and the shell lives; `nettests` passes against the
//!   echo server `cargo xtask qemu` runs; Ctrl-A X ends QEMU with status 0.
//! - [`disk_and_loopback`]: the file written above is read in a second
//!   session on the same image; a third start on that image is refused in
//!   one line naming the holder; `ping 127.0.0.1`, UDP over 127.0.0.1
//!   and `nc` typing a request to `httpd` over 127.0.0.1 (poll on the
//!   console and a socket) are answered with nothing on the NIC's capture,
//!   nor on the bridge's; after `halt` the image checks clean.
//!
//! - the README's "Containers" walkthrough (`walkthrough.rs`), then its
//!   "Try it" (`try_it.rs`).
//!
//! Every session boots an image of its own under build/ (`XV6NET_FS`, the
//! environment form of `--fs`): a user's build/fs.img is never touched.
use anyhow::{ensure, Context, Result};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::terminal::{fresh_image, shell_quote, Session};
use crate::{build, guest, paths, qemu, tshark};

const SHORT: Duration = Duration::from_secs(30);

pub fn run() -> Result<()> {
    expected_errors()?;
    let image = fresh_image("console-fs.img");
    console_keys(&image)?;
    disk_and_loopback(&image)?;
    crate::walkthrough::run()?;
    crate::try_it::run()
}

/// An expected error is one line and a non-zero status, even with
/// RUST_BACKTRACE set: here, `--no-build` with nothing built at that path.
fn expected_errors() -> Result<()> {
    eprintln!("\n== expected errors: one line, no backtrace");
    let missing = fresh_image("never-built.img");
    let out = paths::cargo()
        .args(["xtask", "qemu", "--no-build", "--fs"])
        .arg(&missing)
        .env("RUST_BACKTRACE", "full")
        .stdin(Stdio::null())
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && err.trim().lines().count() == 1 && err.contains("--no-build"),
        "`cargo xtask qemu --no-build` on a missing image should fail in one line ({}):\n{err}",
        out.status
    );
    eprintln!("{}", err.trim());
    Ok(())
}

/// 8 KiB of lines from 1 to 300 characters, no two alike.
fn paste_text() -> String {
    const SIZE: usize = 8192;
    let mut text = String::new();
    let mut i = 0usize;
    while text.len() < SIZE {
        let len = if i == 3 { 300 } else { 1 + (i * 37) % 120 };
        let mut line = format!("{i:04}:");
        line.extend((0..len).map(|j| (b'a' + ((i + j) % 26) as u8) as char));
        text += &line;
        text.push('\n');
        i += 1;
    }
    text.truncate(SIZE - 1);
    text.push('\n');
    text
}

/// Session 1: paste, Ctrl-C, `kill 1`, `nettests`, a file left for the
/// next session, Ctrl-A X.
fn console_keys(image: &Path) -> Result<()> {
    eprintln!("\n== cargo xtask qemu at a terminal: paste, Ctrl-C, kill 1, nettests, Ctrl-A X");
    let mut s = Session::start("console", image, None)?;

    let text = paste_text();
    s.con.send_line("cat > paste.txt")?;
    std::thread::sleep(Duration::from_millis(300));
    s.con.send(text.as_bytes())?;
    s.con.send(b"\x04")?;
    s.con
        .expect("$ ", SHORT)
        .context("cat did not end after the paste")?;
    let wc = s.con.run("wc paste.txt", SHORT)?;
    let lines = text.lines().count().to_string();
    ensure!(
        wc.split_whitespace().collect::<Vec<_>>()
            == [&lines, &lines, &text.len().to_string(), "paste.txt"],
        "wc of the pasted file: {wc:?}, expected {} lines of {} bytes",
        text.lines().count(),
        text.len()
    );
    let back = s.con.run("cat paste.txt", SHORT)?.replace("\r\n", "\n");
    ensure!(back == text, "the pasted file reads back changed");
    eprintln!(
        "paste: {} bytes in {} lines (up to 300 characters) arrived intact",
        text.len(),
        text.lines().count()
    );

    s.con.send_line("ping -c 1000 10.0.2.2")?;
    s.con.expect("bytes from 10.0.2.2", SHORT)?;
    let t = Instant::now();
    s.con.send(b"\x03")?;
    s.con
        .expect("$ ", Duration::from_secs(5))
        .context("Ctrl-C did not stop ping")?;
    s.check("echo after-ping", "after-ping")?;
    eprintln!(
        "Ctrl-C: ping stopped, prompt back after {:.0?}",
        t.elapsed()
    );

    s.con.send_line("nc -u 10.0.2.2 9")?;
    std::thread::sleep(Duration::from_secs(1));
    s.con.send(b"\x03")?;
    s.con
        .expect("$ ", Duration::from_secs(5))
        .context("Ctrl-C did not stop a blocked nc")?;
    s.check("echo after-nc", "after-nc")?;
    eprintln!("Ctrl-C: a blocked nc stopped, prompt back");

    s.check("kill 1", "kill: 1: operation not permitted")?;
    s.check("echo shell-alive", "shell-alive")?;
    eprintln!("kill 1: refused, the shell lives");

    let t = Instant::now();
    s.con.send_line(&format!("nettests {}", s.echo_port))?;
    let out = s.con.expect("$ ", Duration::from_secs(300))?;
    ensure!(
        out.contains("ALL NETTESTS PASSED"),
        "nettests from the interactive session failed:\n{out}"
    );
    eprintln!(
        "nettests {} against cargo xtask qemu's echo server: passed in {:.1?}",
        s.echo_port,
        t.elapsed()
    );

    s.check(
        "echo kept-across-runs > keep.txt; cat keep.txt",
        "kept-across-runs",
    )?;
    s.con.send(b"\x01h")?;
    s.con
        .expect("C-a x    exit emulator", SHORT)
        .context("Ctrl-A H did not list QEMU's keys")?;
    s.con.send(b"\x01c")?;
    s.con
        .expect("(qemu) ", SHORT)
        .context("Ctrl-A C did not open the monitor")?;
    s.con.send_line("info status")?;
    s.con.expect("VM status: running", SHORT)?;
    s.con.send(b"\x01c")?;
    s.check("echo back-from-monitor", "back-from-monitor")?;
    eprintln!(
        "Ctrl-A H listed the keys; Ctrl-A C opened the monitor (`info status`) and went back"
    );
    s.con.send(b"\x01x")?;
    s.ends_cleanly("Ctrl-A X")?;
    eprintln!("Ctrl-A X: QEMU and cargo xtask qemu ended with status 0");
    Ok(())
}

/// Session 2 on the same image: the file is there, a third start is
/// refused, loopback stays off the NIC, and the image checks clean.
fn disk_and_loopback(image: &Path) -> Result<()> {
    eprintln!("\n== the disk persists and is held; 127.0.0.1 stays inside the guest");
    let mut s = Session::start("console-again", image, Some("xv6net: keeping"))?;
    s.check("cat keep.txt", "kept-across-runs")?;
    eprintln!("keep.txt written in the previous session reads back");

    let t = Instant::now();
    let out = paths::cargo()
        .args(["xtask", "qemu", "--fs"])
        .arg(image)
        .env("RUST_BACKTRACE", "full")
        .stdin(Stdio::null())
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success()
            && err.contains("is in use by `cargo xtask qemu` (pid ")
            && err.contains("--fs"),
        "a second cargo xtask qemu on {} was not refused as it should be ({}):\n{err}",
        paths::shown(image),
        out.status
    );
    ensure!(
        err.trim().lines().count() == 1 && out.stdout.is_empty(),
        "the refusal should be one line, even with RUST_BACKTRACE set:\n{err}"
    );
    eprintln!(
        "second start refused in {:.1?}: {}",
        t.elapsed(),
        err.trim()
    );

    // What the refusal advises: a second guest on a disk of its own.
    let other = fresh_image("console2-fs.img");
    let mut second = Session::start_with(
        "console-second",
        &other,
        &format!("--fs {} --fresh-fs", shell_quote(&other.to_string_lossy())),
        None,
    )?;
    ensure!(
        second.echo_port != s.echo_port,
        "two guests were given one echo port"
    );
    second.check("cat keep.txt", "cat: ")?;
    let second_port = second.echo_port;
    second.con.send(b"\x01x")?;
    second.ends_cleanly("Ctrl-A X")?;
    eprintln!(
        "a second guest with --fs {} --fresh-fs ran beside the first (echo ports {} and {second_port})",
        paths::shown(&other),
        s.echo_port,
    );

    s.check("ping -c 3 -i 200 127.0.0.1", "3 received")?;
    s.con.run("udpecho 7 &", SHORT)?;
    std::thread::sleep(Duration::from_millis(300));
    s.check(
        "echo over-loopback | nc -u -w 500 127.0.0.1 7",
        "over-loopback",
    )?;
    // poll over the console and a socket at once, as a person types it:
    // nc sends the typed request to httpd over 127.0.0.1 and prints the
    // answer, then ends when httpd closes.
    s.con.run("httpd -p 8081 &", SHORT)?;
    s.con.expect("httpd: serving / on port 8081", SHORT)?;
    s.con.send_line("nc 127.0.0.1 8081")?;
    std::thread::sleep(Duration::from_millis(300));
    s.con.send_line("HEAD /README.md HTTP/1.0")?;
    s.con.send_line("")?;
    s.con
        .expect("HTTP/1.1 200 OK", SHORT)
        .context("nc did not send the typed request or print the answer")?;
    s.con
        .expect("$ ", SHORT)
        .context("nc did not end when httpd closed the connection")?;
    eprintln!(
        "nc: typed lines to httpd over 127.0.0.1, its answer printed (poll on console and socket)"
    );
    // The control: the same capture does see the gateway's ping.
    s.check("ping -c 2 -i 200 10.0.2.2", "2 received")?;
    s.con.send_line("halt")?;
    s.ends_cleanly("halt")?;

    build::check_fs(image)?;
    eprintln!(
        "mkfs --check: {} is consistent after halt",
        paths::shown(image)
    );

    let pcap = qemu::capture_for(image);
    let on_loopback = tshark::count(&pcap, "ip.addr == 127.0.0.0/8")?;
    let icmp = tshark::count(&pcap, "icmp")?;
    // The boot's DHCP exchange is UDP too, and no part of this check.
    let udp = tshark::count(&pcap, "udp && !dhcp")?;
    ensure!(
        on_loopback == 0 && udp == 0 && icmp == 4,
        "{}: expected only the 2 pings of 10.0.2.2 (4 ICMP frames) and nothing for 127.0.0.1; \
         found {on_loopback} frames to or from 127/8, {icmp} ICMP, {udp} UDP (besides DHCP)",
        pcap.display()
    );
    eprintln!("loopback: ping, UDP echo and TCP over 127.0.0.1 answered; the capture holds only the 4 ICMP frames of the control ping (and the boot's DHCP)");
    // No container ran: nothing was sent on the bridge either.
    let bridge = guest::bridge_capture_for(&pcap);
    let n = tshark::count(&bridge, "frame")?;
    ensure!(
        n == 0,
        "{}: {n} frames, and no container ran",
        bridge.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paste_is_8_kib_of_distinct_lines() {
        let t = paste_text();
        assert_eq!(t.len(), 8192);
        assert!(t.ends_with('\n'));
        assert!(t.lines().any(|l| l.len() > 300));
        assert!(!t.contains("$ "));
    }
}
