//! `cargo xtask qemu` on a pseudo-terminal of its own (script(1) makes
//! one), driven from a test as a person would type at it.
use anyhow::{ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::console::Console;
use crate::{guestnet, paths};

const BOOT: Duration = Duration::from_secs(300);
const SHORT: Duration = Duration::from_secs(30);
/// The environment variable `--fs` also reads.
pub const FS_VAR: &str = "XV6NET_FS";

pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A running `cargo xtask qemu` on a pty, at the guest's first prompt.
pub struct Session {
    pub con: Console,
    /// The port of the echo server it printed for `nettests`.
    pub echo_port: u16,
    /// The host port it printed as forwarded to the guest's `httpd`.
    pub http_port: u16,
}

impl Session {
    /// Starts `cargo xtask qemu` as typed at a terminal, on `image`; waits
    /// for `first` in what it prints before the banner (if given).
    pub fn start(name: &str, image: &Path, first: Option<&str>) -> Result<Session> {
        Session::start_with(name, image, "", first)
    }

    /// The same, with more arguments after `cargo xtask qemu`.
    pub fn start_with(
        name: &str,
        image: &Path,
        args: &str,
        first: Option<&str>,
    ) -> Result<Session> {
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
        con.expect(crate::qemu::HTTP_BANNER, SHORT)
            .context("the banner names no port forwarded to httpd")?;
        let port = con.expect("/", SHORT)?;
        let http_port = port
            .trim_end_matches('/')
            .parse()
            .with_context(|| format!("httpd port {port:?}"))?;
        con.expect("$ ", BOOT)
            .context("waiting for the shell prompt")?;
        Ok(Session {
            con,
            echo_port,
            http_port,
        })
    }

    /// Runs `line` at the guest's shell and requires `want` in what it printed.
    pub fn check(&mut self, line: &str, want: &str) -> Result<String> {
        let out = self.con.run(line, SHORT)?;
        ensure!(
            out.contains(want),
            "{}: `{line}` should print {want:?}, printed:\n{out}",
            self.con.name
        );
        Ok(out)
    }

    /// Waits for `cargo xtask qemu` to end and requires status 0.
    pub fn ends_cleanly(mut self, how: &str) -> Result<()> {
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
pub fn fresh_image(name: &str) -> PathBuf {
    let image = guestnet::artifact(name);
    std::fs::remove_file(&image).ok();
    image
}
