//! Every host tool xtask and the README use, added on first use, in one
//! place: the Rust target and components, QEMU, tshark, python3 with pip and
//! scapy, ping, ip, nc, tmux and script. Debian packages are installed with
//! apt-get when we are root (or have password-less sudo), Python packages
//! with pip; otherwise xtask stops and prints the exact command to run.
use anyhow::{bail, Context, Result};
use std::process::{Command, Stdio};
use std::sync::Once;

use crate::paths::TARGET;

const TOOLCHAIN: &str = "1.95.0";
/// What `cargo xtask test` runs besides the build: `cargo fmt` and `cargo clippy`.
const COMPONENTS: &[&str] = &["rustfmt", "clippy"];
const SCAPY: &str = "scapy==2.8.0";

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn on_path(program: &str) -> bool {
    succeeds(Command::new("sh").args(["-c", &format!("command -v {program}")]))
}

fn rustup_lists(what: &str) -> Result<Vec<String>> {
    let out = Command::new("rustup")
        .args([what, "list", "--installed", "--toolchain", TOOLCHAIN])
        .output()
        .context("running rustup")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect())
}

/// `rustup target add` the kernel's target and `component add` what the
/// test command needs, unless they are installed already.
pub fn rust_target() -> Result<()> {
    if !rustup_lists("target")?.iter().any(|t| t == TARGET) {
        eprintln!("xtask: adding the {TARGET} target to Rust {TOOLCHAIN}");
        let ok = Command::new("rustup")
            .args(["target", "add", TARGET, "--toolchain", TOOLCHAIN])
            .status()?
            .success();
        if !ok {
            bail!(
                "could not add the target; run: rustup target add {TARGET} --toolchain {TOOLCHAIN}"
            );
        }
    }
    let installed = rustup_lists("component")?;
    let missing: Vec<&str> = COMPONENTS
        .iter()
        .copied()
        .filter(|c| !installed.iter().any(|i| i.starts_with(&format!("{c}-"))))
        .collect();
    if !missing.is_empty() {
        eprintln!("xtask: adding {} to Rust {TOOLCHAIN}", missing.join(", "));
        let ok = Command::new("rustup")
            .args(["component", "add"])
            .args(&missing)
            .args(["--toolchain", TOOLCHAIN])
            .status()?
            .success();
        if !ok {
            bail!(
                "could not add {0}; run: rustup component add {0} --toolchain {TOOLCHAIN}",
                missing.join(" ")
            );
        }
    }
    Ok(())
}

pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Makes sure each program is on PATH, installing the Debian packages of
/// those missing in one apt-get run if we can.
pub fn tools(wanted: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<(&str, &str)> = wanted
        .iter()
        .copied()
        .filter(|(program, _)| !on_path(program))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let programs: Vec<&str> = missing.iter().map(|m| m.0).collect();
    let packages: Vec<&str> = missing.iter().map(|m| m.1).collect();
    let (programs, packages) = (programs.join(", "), packages.join(" "));
    let command = format!("sudo apt-get install -y {packages}");
    let sudo = if running_as_root() {
        false
    } else if succeeds(Command::new("sudo").args(["-n", "true"])) {
        true
    } else {
        bail!("{programs} missing; install with: {command}");
    };
    if !on_path("apt-get") {
        bail!("{programs} missing and this is not a Debian/Ubuntu system: install {packages}");
    }
    eprintln!("xtask: installing {packages} (for {programs}) with apt-get");
    let apt = |args: &[&str]| -> Result<bool> {
        let mut cmd = if sudo {
            let mut c = Command::new("sudo");
            c.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            c
        } else {
            let mut c = Command::new("apt-get");
            c.env("DEBIAN_FRONTEND", "noninteractive");
            c
        };
        Ok(cmd.args(args).status()?.success())
    };
    static UPDATE: Once = Once::new();
    let mut updated = Ok(true);
    UPDATE.call_once(|| updated = apt(&["update", "-qq"]));
    updated?;
    let installed = apt(&["install", "-y", "-qq"]
        .into_iter()
        .chain(missing.iter().map(|m| m.1))
        .collect::<Vec<_>>())?;
    if let Some((program, _)) = missing.iter().find(|(p, _)| !on_path(p)) {
        bail!(
            "installing {packages} {} and {program} is still missing; run: {command}",
            if installed { "succeeded" } else { "failed" }
        );
    }
    Ok(())
}

/// One program from one Debian package.
pub fn tool(program: &str, package: &str) -> Result<()> {
    tools(&[(program, package)])
}

pub fn qemu() -> Result<()> {
    tool("qemu-system-riscv64", "qemu-system-misc")
}

pub fn tshark() -> Result<()> {
    tool("tshark", "tshark")
}

/// python3 and pip (the TAP test's Linux-side helpers, the hostile peer).
pub fn python() -> Result<()> {
    tool("python3", "python3")?;
    if !succeeds(Command::new("python3").args(["-m", "pip", "--version"])) {
        // pip is its own package on Debian; `python3 -m pip` is what we run.
        tools(&[("pip3", "python3-pip")])?;
    }
    Ok(())
}

/// python3 with scapy importable, installed with pip when missing.
pub fn scapy() -> Result<()> {
    python()?;
    let importable = || succeeds(Command::new("python3").args(["-c", "import scapy.all"]));
    if importable() {
        return Ok(());
    }
    eprintln!("xtask: installing {SCAPY} with pip");
    // Debian's own Python refuses plain pip installs (PEP 668).
    for extra in [&[][..], &["--break-system-packages"][..]] {
        let _ = Command::new("python3")
            .args(["-m", "pip", "install", "-q", SCAPY])
            .args(extra)
            .status();
        if importable() {
            return Ok(());
        }
    }
    bail!("scapy could not be installed; run: python3 -m pip install {SCAPY}")
}

/// Everything `cargo xtask test` runs on the host (`cargo xtask setup`).
/// `ip` and `ping` are for the Linux-peer stage, which runs as root only.
pub fn everything() -> Result<()> {
    rust_target()?;
    let mut wanted = vec![
        ("qemu-system-riscv64", "qemu-system-misc"),
        ("tshark", "tshark"),
        // The console tests type at `cargo xtask qemu` through a pty.
        ("script", "bsdutils"),
        ("python3", "python3"),
        // The TCP tests' host side, and the README's `curl` to httpd.
        ("curl", "curl"),
    ];
    if running_as_root() {
        wanted.extend([("ip", "iproute2"), ("ping", "iputils-ping")]);
    }
    tools(&wanted)?;
    scapy()
}
