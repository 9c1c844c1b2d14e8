//! A guest console on this terminal that types one line first: QEMU runs
//! with piped stdio, the first prompt is answered with `first_line` (the
//! LAN and TAP guests' `ifconfig`), then every key goes to QEMU unchanged.
//! The terminal is raw meanwhile, so Ctrl-C reaches the guest and QEMU's
//! own multiplexer sees Ctrl-A X (quit), Ctrl-A C (monitor), Ctrl-A H.
use anyhow::{Context, Result};
use std::io::{IsTerminal, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BOOT: Duration = Duration::from_secs(120);

/// Runs `cmd` (a QEMU command line) as described above until QEMU exits.
pub fn run(mut cmd: Command, first_line: &str) -> Result<()> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting qemu")?;
    let mut to_qemu = child.stdin.take().unwrap();
    let mut from_qemu = child.stdout.take().unwrap();
    let saved = if std::io::stdin().is_terminal() {
        let out = Command::new("stty")
            .arg("-g")
            .stdin(Stdio::inherit())
            .output()?;
        Command::new("stty")
            .args(["raw", "-echo", "opost", "onlcr"])
            .stdin(Stdio::inherit())
            .status()?;
        Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        None
    };
    let (prompt_tx, prompt_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        let mut told = false;
        let mut stdout = std::io::stdout();
        while let Ok(n) = from_qemu.read(&mut buf) {
            if n == 0 {
                break;
            }
            stdout.write_all(&buf[..n]).ok();
            stdout.flush().ok();
            if !told {
                seen.extend_from_slice(&buf[..n]);
                if seen.windows(2).any(|w| w == b"$ ") {
                    prompt_tx.send(()).ok();
                    told = true;
                }
            }
        }
    });
    if prompt_rx.recv_timeout(BOOT).is_ok() {
        writeln!(to_qemu, "{first_line}").ok();
        to_qemu.flush().ok();
    }
    // Keys are copied by a thread of their own: it blocks in read() and
    // ends with the process.
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin();
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 || to_qemu.write_all(&buf[..n]).is_err() {
                break;
            }
            to_qemu.flush().ok();
        }
    });
    let status = child.wait();
    if let Some(state) = saved {
        Command::new("stty")
            .arg(state)
            .stdin(Stdio::inherit())
            .status()
            .ok();
        eprintln!();
    }
    let status = status?;
    anyhow::ensure!(status.success(), "qemu exited with {status}");
    Ok(())
}
