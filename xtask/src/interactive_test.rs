//! `cargo xtask qemu` tested as a person uses it: typed at through a
//! pseudo-terminal of its own (script(1) makes one), keys and all.
//!
//! - [`console_keys`]: an 8 KiB paste arrives byte for byte; Ctrl-C
//!   interrupts `ping` and a blocked `nc` and gives the prompt back;
//!   `kill 1` is refused and the shell lives; `nettests` passes against the
//!   echo server `cargo xtask qemu` runs; Ctrl-A X ends QEMU with status 0.
//! - [`disk_and_loopback`]: the file written above is read in a second
//!   session on the same image; a third start on that image is refused in
//!   one line naming the holder; `ping 127.0.0.1` and UDP over 127.0.0.1
//!   are answered with nothing on the NIC's capture; after `halt` the image
//!   checks clean.
//! - [`try_it`]: every line of the README's "Try it" block, run in order.
//!
//! Every session boots an image of its own under build/ (`XV6NET_FS`, the
//! environment form of `--fs`): a user's build/fs.img is never touched.
use anyhow::{bail, ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::console::Console;
use crate::{build, guestnet, paths, qemu, tshark};

const BOOT: Duration = Duration::from_secs(300);
const SHORT: Duration = Duration::from_secs(30);
/// The environment variable `--fs` also reads.
const FS_VAR: &str = "XV6NET_FS";

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A running `cargo xtask qemu` on a pty, at the guest's first prompt.
struct Session {
    con: Console,
    /// The port of the echo server it printed for `nettests`.
    echo_port: u16,
}

impl Session {
    /// Starts `cargo xtask qemu` as typed at a terminal, on `image`; waits
    /// for `first` in what it prints before the banner (if given).
    fn start(name: &str, image: &Path, first: Option<&str>) -> Result<Session> {
        Session::start_with(name, image, "", first)
    }

    /// The same, with more arguments after `cargo xtask qemu`.
    fn start_with(name: &str, image: &Path, args: &str, first: Option<&str>) -> Result<Session> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let line = format!("{} xtask qemu {args}", shell_quote(&cargo));
        let mut cmd = Command::new("script");
        cmd.args(["-qfec", &line, "/dev/null"])
            .current_dir(paths::root())
            .env(FS_VAR, image);
        let log = guestnet::artifact(&format!("{name}-console.log"));
        eprintln!(
            "`cargo xtask qemu` on a pty, {FS_VAR}={} (log: {})",
            paths::shown(image),
            paths::shown(&log)
        );
        let mut con = Console::spawn(name, cmd, &log)?;
        if let Some(first) = first {
            con.expect(first, BOOT)?;
        }
        con.expect("run `nettests ", BOOT)
            .context("the banner names no echo server")?;
        let port = con.expect("`", SHORT)?;
        let echo_port = port
            .trim_end_matches('`')
            .parse()
            .with_context(|| format!("echo port {port:?}"))?;
        con.expect("$ ", BOOT)
            .context("waiting for the shell prompt")?;
        Ok(Session { con, echo_port })
    }

    /// Runs `line` at the guest's shell and requires `want` in what it printed.
    fn check(&mut self, line: &str, want: &str) -> Result<String> {
        let out = self.con.run(line, SHORT)?;
        ensure!(
            out.contains(want),
            "{}: `{line}` should print {want:?}, printed:\n{out}",
            self.con.name
        );
        Ok(out)
    }

    /// Waits for `cargo xtask qemu` to end and requires status 0.
    fn ends_cleanly(mut self, how: &str) -> Result<()> {
        let status = self.con.wait_exit(SHORT)?;
        ensure!(
            status.success(),
            "{}: cargo xtask qemu exited with {status} after {how}",
            self.con.name
        );
        Ok(())
    }
}

/// A fresh image path under build/ (any earlier one removed).
fn fresh_image(name: &str) -> PathBuf {
    let image = guestnet::artifact(name);
    std::fs::remove_file(&image).ok();
    image
}

pub fn run() -> Result<()> {
    expected_errors()?;
    let image = fresh_image("console-fs.img");
    console_keys(&image)?;
    disk_and_loopback(&image)?;
    try_it()
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

    s.con.send_line("nc 10.0.2.2 9")?;
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
        "echo over-loopback | nc -w 500 127.0.0.1 7",
        "over-loopback",
    )?;
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
    let udp = tshark::count(&pcap, "udp")?;
    ensure!(
        on_loopback == 0 && udp == 0 && icmp == 4,
        "{}: expected only the 2 pings of 10.0.2.2 (4 ICMP frames) and nothing for 127.0.0.1; \
         found {on_loopback} frames to or from 127/8, {icmp} ICMP, {udp} UDP",
        pcap.display()
    );
    eprintln!("loopback: ping and UDP echo over 127.0.0.1 answered; the capture holds only the 4 ICMP frames of the control ping");
    Ok(())
}

/// One line of the README's "Try it" block.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// `host$ ...`: run on the host (the first one starts the guest).
    Host { line: String, want: Vec<String> },
    /// `xv6$ ...`: typed at the guest's shell.
    Guest { line: String, want: Vec<String> },
}

/// The commands of the first code block under "## Try it", each with the
/// lines shown after it (each must appear in its output).
pub fn try_it_steps(readme: &str) -> Result<Vec<Step>> {
    let section = readme
        .split("\n## Try it")
        .nth(1)
        .context("README has no \"## Try it\" section")?;
    let section = section.split("\n## ").next().unwrap_or(section);
    let block = section
        .split("```")
        .nth(1)
        .context("no code block under \"## Try it\"")?;
    let mut steps: Vec<Step> = Vec::new();
    for raw in block.lines().skip(1) {
        if let Some(line) = raw.strip_prefix("host$ ") {
            steps.push(Step::Host {
                line: line.trim().into(),
                want: Vec::new(),
            });
        } else if let Some(line) = raw.strip_prefix("xv6$ ") {
            steps.push(Step::Guest {
                line: line.trim().into(),
                want: Vec::new(),
            });
        } else if !raw.trim().is_empty() {
            match steps.last_mut() {
                Some(Step::Host { want, .. } | Step::Guest { want, .. }) => {
                    want.push(raw.trim().into())
                }
                None => bail!("\"Try it\" starts with output, not a command: {raw:?}"),
            }
        }
    }
    match steps.first() {
        Some(Step::Host { line, .. }) if line.starts_with("cargo xtask qemu") => Ok(steps),
        _ => bail!("\"Try it\" must start with `host$ cargo xtask qemu`"),
    }
}

/// Whitespace-insensitive: does `out` show `want`?
fn shows(out: &str, want: &str) -> bool {
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    squash(out).contains(&squash(want))
}

/// The README's "Try it", line by line. `PORT` stands for the echo port
/// the banner printed.
fn try_it() -> Result<()> {
    eprintln!("\n== the README's \"Try it\", line by line");
    let readme = std::fs::read_to_string(paths::root().join("README.md"))?;
    let steps = try_it_steps(&readme)?;
    let image = fresh_image("tryit-fs.img");
    let mut steps = steps.into_iter();
    let Some(Step::Host { line, want }) = steps.next() else {
        unreachable!("try_it_steps checks the first step");
    };
    let mut s = Session::start("tryit", &image, None)?;
    for w in &want {
        ensure!(
            shows(&s.con.seen_text(), w),
            "after `{line}` the README shows {w:?}; it printed:\n{}",
            s.con.seen_text()
        );
    }
    eprintln!("  ok: host$ {line}");
    let port = s.echo_port.to_string();
    for step in steps {
        match step {
            Step::Guest { line, want } => {
                let typed = line.replace("PORT", &port);
                if typed.starts_with("halt") {
                    s.con.send_line(&typed)?;
                    s.ends_cleanly("halt")?;
                    eprintln!("  ok: xv6$ {typed} (QEMU exited with status 0)");
                    return Ok(());
                }
                let out = s.con.run(&typed, Duration::from_secs(300))?;
                for w in &want {
                    ensure!(
                        shows(&out, w),
                        "README \"Try it\": `{typed}` should print {w:?}; it printed:\n{out}"
                    );
                }
                eprintln!("  ok: xv6$ {typed}");
            }
            Step::Host { line, want } => {
                let out = Command::new("sh")
                    .args(["-c", &line])
                    .current_dir(paths::root())
                    .env(FS_VAR, &image)
                    .stdin(Stdio::null())
                    .output()?;
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                ensure!(
                    out.status.success(),
                    "README \"Try it\": `{line}` failed ({}):\n{text}",
                    out.status
                );
                for w in &want {
                    ensure!(
                        shows(&text, w),
                        "README \"Try it\": `{line}` should print {w:?}; it printed:\n{text}"
                    );
                }
                eprintln!("  ok: host$ {line}");
            }
        }
    }
    bail!("README \"Try it\" does not end with `xv6$ halt`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_try_it_parses() {
        let readme = std::fs::read_to_string(paths::root().join("README.md")).unwrap();
        let steps = try_it_steps(&readme).unwrap();
        assert!(steps.len() > 5, "{steps:?}");
        assert!(matches!(steps.last(), Some(Step::Guest { line, .. }) if line.starts_with("halt")));
    }

    #[test]
    fn steps_carry_their_output() {
        let md = "x\n## Try it\n\n```text\nhost$ cargo xtask qemu\nbanner\nxv6$ echo hi | wc\n1 1 3\nhost$ cargo xtask send hi\nxv6$ halt\n```\n## Next\n";
        let steps = try_it_steps(md).unwrap();
        assert_eq!(
            steps[1],
            Step::Guest {
                line: "echo hi | wc".into(),
                want: vec!["1 1 3".into()]
            }
        );
        assert_eq!(steps.len(), 4);
        assert!(try_it_steps("## Try it\n```\nxv6$ ls\n```\n").is_err());
    }

    #[test]
    fn shows_ignores_spacing() {
        assert!(shows("     1      1      3\r\n", "1 1 3"));
        assert!(!shows("1 1 4", "1 1 3"));
    }

    #[test]
    fn the_paste_is_8_kib_of_distinct_lines() {
        let t = paste_text();
        assert_eq!(t.len(), 8192);
        assert!(t.ends_with('\n'));
        assert!(t.lines().any(|l| l.len() > 300));
        assert!(!t.contains("$ "));
    }
}
