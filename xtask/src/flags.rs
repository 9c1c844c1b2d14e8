//! The command line of `cargo xtask`.
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, run and test xv6net")]
pub struct Xtask {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Build the kernel, the user programs and fs.img.
    Build,
    /// Boot the kernel in QEMU on this terminal (user-mode networking).
    Qemu(QemuArgs),
    /// Run every test: codegen check, host tests, then the booted guest.
    Test(TestArgs),
    /// Regenerate kernel/wire from proto-defs/ (or only check it is current).
    Codegen {
        /// Fail, naming each stale file, instead of rewriting.
        #[arg(long)]
        check: bool,
    },
    /// Measure UDP round trips and streams between host and guest.
    Bench,
}

#[derive(clap::Args, Default)]
pub struct QemuArgs {
    /// Wait for a debugger on localhost:1234 before starting.
    #[arg(long)]
    pub gdb: bool,
    /// Host UDP port forwarded to the guest's udpecho (port 7).
    #[arg(long, default_value_t = 5555)]
    pub udp_port: u16,
}

#[derive(clap::Args, Default)]
pub struct TestArgs {
    /// Skip the host tests (cargo test) and only boot the guest.
    #[arg(long)]
    pub guest_only: bool,
}
