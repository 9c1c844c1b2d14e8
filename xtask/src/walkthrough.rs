//! The README's "Containers" walkthrough, typed at `cargo xtask qemu` on a
//! pty as a person would, so the README cannot drift from what works.
//!
//! `xv6$` lines are typed at the host's shell, `c1$` lines at a
//! container's shell (both prompt `$ `); the lines under one must appear
//! in what it printed. Two keys stand alone: `c1$ ^]` (Ctrl-], the console
//! goes back to the host) and `c1$ ^P` (Ctrl-P, the kernel's process list,
//! which in a container must not show the host's init; an empty line
//! after it brings the prompt that ends it). `attach N` waits
//! for its banner, not a prompt (the container's shell printed its prompt
//! before). `PID` stands for the pid the first `spawn` printed.
//!
//! Then tshark reads the session's bridge capture, as the README says a
//! person can: the neighbours' echo is there, between their addresses,
//! every checksum right, and it never reached the NIC's capture.
use anyhow::{bail, ensure, Context, Result};
use std::time::Duration;

use crate::terminal::{fresh_image, Session};
use crate::{guest, paths, qemu, tshark};

const SHORT: Duration = Duration::from_secs(30);

/// One line of the walkthrough: what to type and what must show.
#[derive(Debug, PartialEq)]
pub struct Step {
    pub line: String,
    pub want: Vec<String>,
}

/// The commands of the first code block under "## Containers".
pub fn steps(readme: &str) -> Result<Vec<Step>> {
    let section = readme
        .split("\n## Containers")
        .nth(1)
        .context("README has no \"## Containers\" section")?;
    let block = section
        .split("```")
        .nth(1)
        .context("no code block under \"## Containers\"")?;
    let mut steps: Vec<Step> = Vec::new();
    for raw in block.lines().skip(1) {
        let typed = raw.strip_prefix("xv6$ ").or(raw.strip_prefix("c1$ "));
        // What follows `#` is a comment for the reader.
        if let Some(line) = typed {
            let line = line.split(" #").next().unwrap_or(line).trim();
            steps.push(Step {
                line: line.into(),
                want: Vec::new(),
            });
        } else if !raw.trim().is_empty() {
            match steps.last_mut() {
                Some(step) => step.want.push(raw.trim().into()),
                None => bail!("\"Containers\" starts with output, not a command: {raw:?}"),
            }
        }
    }
    ensure!(
        !steps.is_empty(),
        "the \"Containers\" block has no commands"
    );
    Ok(steps)
}

/// Whitespace-insensitive: does `out` show `want`?
fn shows(out: &str, want: &str) -> bool {
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    squash(out).contains(&squash(want))
}

/// The pid in spawn's `container N pid P`.
fn spawned_pid(out: &str) -> Option<String> {
    let rest = out.split("container ").nth(1)?;
    let pid = rest.split(" pid ").nth(1)?;
    Some(pid.chars().take_while(|c| c.is_ascii_digit()).collect())
}

pub fn run() -> Result<()> {
    eprintln!("\n== the README's \"Containers\", typed at the console");
    let readme = std::fs::read_to_string(paths::root().join("README.md"))?;
    let steps = steps(&readme)?;
    let image = fresh_image("containers-fs.img");
    let mut s = Session::start("containers", &image, None)?;
    let mut first_pid: Option<String> = None;
    for step in steps {
        let typed = step
            .line
            .replace("PID", first_pid.as_deref().unwrap_or("PID"));
        let out = match typed.as_str() {
            "^]" => {
                s.con.send(b"\x1d")?;
                s.con.expect("$ ", SHORT)?
            }
            "^P" => {
                // As a person would: not within a millisecond of the
                // prompt, when the shell that printed it may not yet be
                // back in its `read` (and ^P would show it running).
                std::thread::sleep(Duration::from_millis(200));
                s.con.send(b"\x10")?;
                std::thread::sleep(Duration::from_millis(500));
                // An empty line: the shell's next prompt ends the listing.
                s.con.send(b"\n")?;
                let out = s.con.expect("$ ", SHORT)?;
                ensure!(
                    !out.contains("init"),
                    "^P in a container listed the host's init:\n{out}"
                );
                out
            }
            t if t.starts_with("attach ") && !step.want.iter().any(|w| w.contains("attach:")) => {
                s.con.send_line(t)?;
                s.con.expect("^] detaches", SHORT)?
            }
            t => s.con.run(t, Duration::from_secs(60))?,
        };
        if first_pid.is_none() {
            first_pid = spawned_pid(&out);
        }
        for w in &step.want {
            // A container's prompt may come before its parent's line.
            if !shows(&out, w) {
                s.con.expect(w, Duration::from_secs(10)).with_context(|| {
                    format!(
                        "README \"Containers\": `{typed}` should print {w:?}; it printed:\n{out}"
                    )
                })?;
            }
        }
        eprintln!("  ok: {typed}");
    }
    s.con.send_line("halt")?;
    s.ends_cleanly("halt")?;

    let nic = qemu::capture_for(&image);
    let bridge = guest::bridge_capture_for(&nic);
    tshark::check_tcp(&bridge, &guest_mac())?;
    let echo = "ip.src == 10.0.3.0/24 && ip.dst == 10.0.3.0/24 && udp.port == 7";
    let (on_bridge, on_nic) = (tshark::count(&bridge, echo)?, tshark::count(&nic, echo)?);
    ensure!(
        on_bridge >= 2 && on_nic == 0,
        "the echo between containers: {on_bridge} frames in {}, {on_nic} in {}",
        bridge.display(),
        nic.display()
    );
    eprintln!(
        "  ok: the neighbours' echo is on the bridge's capture ({on_bridge} frames), not the NIC's"
    );
    Ok(())
}

/// The MAC QEMU gives the guest's NIC by default, which the kernel uses.
fn guest_mac() -> String {
    net::Iface::UNCONFIGURED
        .mac
        .map(|b| format!("{b:02x}"))
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_walkthrough_parses() {
        let readme = std::fs::read_to_string(paths::root().join("README.md")).unwrap();
        let steps = steps(&readme).unwrap();
        assert!(steps.iter().any(|s| s.line.starts_with("spawn ")));
        assert!(steps.iter().any(|s| s.line == "^]"));
        assert!(steps.iter().any(|s| s.line.starts_with("attach ")));
        assert!(steps.iter().any(|s| s.line == "ps"));
    }

    #[test]
    fn comments_and_output_are_apart() {
        let md =
            "x\n## Containers\n```text\nxv6$ spawn c1 sh   # one\ncontainer 1 pid\nc1$ ^]\n```\n";
        let steps = steps(md).unwrap();
        assert_eq!(
            steps[0],
            Step {
                line: "spawn c1 sh".into(),
                want: vec!["container 1 pid".into()]
            }
        );
        assert_eq!(steps[1].line, "^]");
    }

    #[test]
    fn the_spawned_pid_is_read() {
        assert_eq!(
            spawned_pid("x\ncontainer 2 pid 17\r\n$ ").as_deref(),
            Some("17")
        );
        assert_eq!(spawned_pid("no container here"), None);
    }
}
