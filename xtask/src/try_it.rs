//! The README's "Try it" block, run line by line, so the README cannot
//! drift from what works. `host$` lines run on the host (the first,
//! `cargo xtask qemu`, on a pty: see `terminal.rs`), `xv6$` lines are typed
//! at the guest's shell, and the lines under a command must appear in what
//! it printed. `PORT` stands for the echo server's port from the banner,
//! `HTTPPORT` for the host port it forwards to the guest's `httpd`.
use anyhow::{bail, ensure, Context, Result};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::paths;
use crate::terminal::{fresh_image, Session, FS_VAR};

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

/// `line` with `HTTPPORT` replaced by the port forwarded to the guest's
/// httpd and `PORT` by the echo server's: `(echo, http)`.
fn with_ports(line: &str, (echo, http): (u16, u16)) -> String {
    line.replace("HTTPPORT", &http.to_string())
        .replace("PORT", &echo.to_string())
}

/// Whether a shell line (its comment aside) starts a job in the background.
fn in_background(line: &str) -> bool {
    line.split('#')
        .next()
        .unwrap_or("")
        .trim_end()
        .ends_with('&')
}

/// Whitespace-insensitive: does `out` show `want`?
fn shows(out: &str, want: &str) -> bool {
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    squash(out).contains(&squash(want))
}

/// The README's "Try it", line by line, with the banner's ports put in
/// (see [`with_ports`]).
pub fn run() -> Result<()> {
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
    let ports = (s.echo_port, s.http_port);
    for step in steps {
        match step {
            Step::Guest { line, want } => {
                let typed = with_ports(&line, ports);
                if typed.starts_with("halt") {
                    s.con.send_line(&typed)?;
                    s.ends_cleanly("halt")?;
                    eprintln!("  ok: xv6$ {typed} (QEMU exited with status 0)");
                    return Ok(());
                }
                let out = s.con.run(&typed, Duration::from_secs(300))?;
                if in_background(&typed) {
                    // Its lines may come before the next prompt or after it.
                    for w in want.iter().filter(|w| !shows(&out, w)) {
                        s.con.expect(w, Duration::from_secs(30)).with_context(|| {
                            format!("README \"Try it\": `{typed}` should print {w:?}")
                        })?;
                    }
                    eprintln!("  ok: xv6$ {typed}");
                    continue;
                }
                for w in &want {
                    ensure!(
                        shows(&out, w),
                        "README \"Try it\": `{typed}` should print {w:?}; it printed:\n{out}"
                    );
                }
                eprintln!("  ok: xv6$ {typed}");
            }
            Step::Host { line, want } => {
                let line = with_ports(&line, ports);
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
    fn ports_are_put_in() {
        assert_eq!(with_ports("nettests PORT", (5000, 6000)), "nettests 5000");
        assert_eq!(
            with_ports("curl http://127.0.0.1:HTTPPORT/README.md", (5000, 6000)),
            "curl http://127.0.0.1:6000/README.md"
        );
    }

    #[test]
    fn background_jobs_are_seen() {
        assert!(in_background("httpd &                # a web server"));
        assert!(in_background("udpecho &"));
        assert!(!in_background("echo a & b | wc"));
        assert!(!in_background("ls # list &"));
    }

    #[test]
    fn shows_ignores_spacing() {
        assert!(shows("     1      1      3\r\n", "1 1 3"));
        assert!(!shows("1 1 4", "1 1 3"));
    }
}
