//! What a fresh machine lacks, added on first use: the rustup target, QEMU
//! and tshark. Installs through apt when we are root (or have password-less
//! sudo); otherwise stops with the exact command to run.
use anyhow::{bail, Context, Result};
use std::process::{Command, Stdio};

use crate::paths::TARGET;

const TOOLCHAIN: &str = "1.95.0";

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn on_path(program: &str) -> bool {
    succeeds(Command::new("sh").args(["-c", &format!("command -v {program}")]))
}

/// `rustup target add` the kernel's target unless it is installed already.
pub fn rust_target() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed", "--toolchain", TOOLCHAIN])
        .output()
        .context("running rustup")?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    eprintln!("xtask: adding the {TARGET} target to Rust {TOOLCHAIN}");
    let ok = Command::new("rustup")
        .args(["target", "add", TARGET, "--toolchain", TOOLCHAIN])
        .status()?
        .success();
    if !ok {
        bail!("could not add the target; run: rustup target add {TARGET} --toolchain {TOOLCHAIN}");
    }
    Ok(())
}

/// Make sure `program` exists, installing Debian package `package` if we can.
pub fn tool(program: &str, package: &str) -> Result<()> {
    if on_path(program) {
        return Ok(());
    }
    let is_root = running_as_root();
    let sudo = if is_root {
        None
    } else if succeeds(Command::new("sudo").args(["-n", "true"])) {
        Some("sudo")
    } else {
        bail!("{program} is missing; install it with:\n  sudo apt-get install -y {package}");
    };
    if !on_path("apt-get") {
        bail!("{program} is missing and this is not a Debian/Ubuntu system: install {package}");
    }
    eprintln!("xtask: installing {package} (for {program}) with apt-get");
    let run = |args: &[&str]| -> Result<bool> {
        let mut cmd = match sudo {
            Some(s) => {
                let mut c = Command::new(s);
                c.args(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
                c
            }
            None => {
                let mut c = Command::new("apt-get");
                c.env("DEBIAN_FRONTEND", "noninteractive");
                c
            }
        };
        Ok(cmd.args(args).status()?.success())
    };
    run(&["update", "-qq"])?;
    if !run(&["install", "-y", "-qq", package])? || !on_path(program) {
        bail!("installing {package} failed; run: sudo apt-get install -y {package}");
    }
    Ok(())
}

pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

pub fn qemu() -> Result<()> {
    tool("qemu-system-riscv64", "qemu-system-misc")
}

pub fn tshark() -> Result<()> {
    tool("tshark", "tshark")
}
