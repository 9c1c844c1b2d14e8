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
    Bench(BenchArgs),
    /// Only the network interop stages of `test` (all three without flags).
    Interop {
        /// Two guests on one virtual LAN (no root).
        #[arg(long)]
        lan: bool,
        /// A real Linux peer over TAP (root; skipped otherwise).
        #[arg(long)]
        tap: bool,
        /// Malformed frames and the flood (needs python3 with scapy).
        #[arg(long)]
        hostile: bool,
    },
}

#[derive(clap::Args, Default)]
pub struct QemuArgs {
    /// Wait for a debugger on localhost:1234 before starting.
    #[arg(long)]
    pub gdb: bool,
    /// Host UDP port forwarded to the guest's udpecho (port 7).
    #[arg(long, default_value_t = 5555)]
    pub udp_port: u16,
    /// Two guests on one virtual LAN (10.0.9.1 and 10.0.9.2), no root:
    /// both consoles side by side in tmux.
    #[arg(long, conflicts_with_all = ["tap", "lan_peer"])]
    pub lan: bool,
    /// One half of the LAN on this terminal (a = 10.0.9.1, b = 10.0.9.2).
    #[arg(long, value_name = "a|b")]
    pub lan_peer: Option<String>,
    /// Use what the last build left (for --lan / --lan-peer).
    #[arg(long)]
    pub no_build: bool,
    /// Root: a TAP device in a new network namespace as the guest's link,
    /// Linux at 10.0.9.254, the guest 10.0.9.1; removed on exit.
    #[arg(long, conflicts_with = "lan_peer")]
    pub tap: bool,
}

#[derive(clap::Args, Default)]
pub struct TestArgs {
    /// Skip the host tests (cargo test) and only boot the guest.
    #[arg(long)]
    pub guest_only: bool,
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Harts the guest runs on (the kernel supports up to 8).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=8))]
    pub smp: u64,
    /// About a minute: fewer round trips, shorter paced runs and stream.
    #[arg(long)]
    pub quick: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bench command lines the README gives.
    #[test]
    fn bench_flags() {
        let parse = |args: &[&str]| match Xtask::try_parse_from(args).map(|x| x.cmd) {
            Ok(Cmd::Bench(b)) => Ok((b.smp, b.quick)),
            Ok(_) => panic!("not bench"),
            Err(e) => Err(e.kind()),
        };
        assert_eq!(parse(&["xtask", "bench"]), Ok((3, false)));
        assert_eq!(
            parse(&["xtask", "bench", "--smp", "1", "--quick"]),
            Ok((1, true))
        );
        assert!(parse(&["xtask", "bench", "--smp", "0"]).is_err());
        assert!(parse(&["xtask", "bench", "--smp", "9"]).is_err());
    }
}
