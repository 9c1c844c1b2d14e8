//! The wire between the guest and Linux in the TCP tests: QEMU's `dgram`
//! netdev on a namespace's loopback on one side, the namespace's TAP
//! device on the other, and `xtask/peer/netem.py` in between, which does
//! netem's impairments in user space (the kernels these tests run on may
//! lack `sch_netem`) and can cut the link.
use anyhow::{ensure, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::paths;
use crate::tap::{Netns, TAP};

/// The loopback UDP ports of the wire inside the namespace: QEMU's and
/// netem.py's.
pub const GUEST_WIRE: u16 = 7001;
pub const RELAY_WIRE: u16 = 7002;
/// How long netem.py may take to answer a command.
const ANSWER: Duration = Duration::from_secs(30);

/// `xtask/peer/netem.py` in the namespace: the wire between QEMU and the
/// TAP device, told by [`Wire::set`] what to do to frames.
pub struct Wire {
    child: Child,
    commands: ChildStdin,
    answers: mpsc::Receiver<String>,
}

impl Wire {
    pub fn start(ns: &Netns) -> Result<Wire> {
        let script = paths::root().join("xtask/peer/netem.py");
        let ports = (GUEST_WIRE.to_string(), RELAY_WIRE.to_string());
        let mut child = ns
            .command(&[
                "python3",
                "-u",
                script.to_str().context("script path")?,
                TAP,
                &ports.0,
                &ports.1,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting netem.py")?;
        let commands = child.stdin.take().context("netem.py stdin")?;
        let out = BufReader::new(child.stdout.take().context("netem.py stdout")?);
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let wire = Wire {
            child,
            commands,
            answers,
        };
        wire.answer("starting")?;
        Ok(wire)
    }

    fn answer(&self, what: &str) -> Result<()> {
        let line = self
            .answers
            .recv_timeout(ANSWER)
            .with_context(|| format!("netem.py did not answer ({what})"))?;
        ensure!(line == "ok" || line == "ready", "netem.py, {what}: {line}");
        Ok(())
    }

    /// `clean`, `cut`, or `netem ...` (see the script).
    pub fn set(&self, command: &str) -> Result<()> {
        (&self.commands).write_all(format!("{command}\n").as_bytes())?;
        self.answer(command)?;
        eprintln!("  wire: {command}");
        Ok(())
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
