//! The command line of `cargo xtask`.
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, run and test xv6net")]
pub struct Xtask {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Build the kernel, the user programs and build/fs.img (kept when the
    /// programs did not change).
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
    /// Install every host tool the tests and the README use.
    Setup,
    /// Send one UDP datagram to the running guest's `udpecho` (port 7,
    /// through the port `cargo xtask qemu` forwards) and print the reply.
    Send {
        /// The guest's disk, naming which running `cargo xtask qemu`.
        #[arg(long, value_name = "PATH", env = "XV6NET_FS")]
        fs: Option<PathBuf>,
        /// What to send.
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// Only the network interop stages of `test` (LAN, TAP and hostile
    /// without flags).
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
        /// TCP with real peers: the host's curl and http.server over the
        /// user network, and (root) the Linux peer over TAP.
        #[arg(long)]
        tcp: bool,
    },
}

#[derive(clap::Args, Default)]
pub struct QemuArgs {
    /// Wait for a debugger on a free localhost port (printed) before starting.
    #[arg(long)]
    pub gdb: bool,
    /// The guest's disk, kept between runs (default build/fs.img). Each
    /// running guest needs its own.
    #[arg(long, value_name = "PATH", env = "XV6NET_FS")]
    pub fs: Option<PathBuf>,
    /// Start from a new disk image: files written in the guest are lost.
    #[arg(long)]
    pub fresh_fs: bool,
    /// Boot what the last build left: no cargo build, no mkfs.
    #[arg(long)]
    pub no_build: bool,
    /// Host UDP port forwarded to the guest's port 7 (default: a free one).
    #[arg(long, value_name = "PORT")]
    pub udp_port: Option<u16>,
    /// Port of the host echo server for `nettests PORT` (default: a free one).
    #[arg(long, value_name = "PORT")]
    pub echo_port: Option<u16>,
    /// Host TCP port forwarded to the guest's port 80, `httpd`'s (default:
    /// a free one).
    #[arg(long, value_name = "PORT")]
    pub http_port: Option<u16>,
    /// Two guests on one virtual LAN (10.0.9.1 and 10.0.9.2), no root:
    /// both consoles side by side in tmux.
    #[arg(long, conflicts_with_all = ["tap", "lan_peer", "fs", "fresh_fs"])]
    pub lan: bool,
    /// One half of the LAN on this terminal (a = 10.0.9.1, b = 10.0.9.2).
    #[arg(long, value_name = "a|b", conflicts_with_all = ["fs", "fresh_fs"])]
    pub lan_peer: Option<String>,
    /// The LAN's two loopback UDP ports, a's then b's (default: two free
    /// ones, and the command for the other half is printed).
    #[arg(
        long,
        value_name = "PA,PB",
        value_delimiter = ',',
        requires = "lan_peer"
    )]
    pub lan_ports: Option<Vec<u16>>,
    /// Root: a TAP device in a new network namespace as the guest's link,
    /// Linux at 10.0.9.254, the guest 10.0.9.1; removed on exit.
    #[arg(long, conflicts_with_all = ["lan_peer", "fs", "fresh_fs"])]
    pub tap: bool,
}

#[derive(clap::Args, Default)]
pub struct TestArgs {
    /// Skip the host tests (cargo test) and only boot the guest.
    #[arg(long)]
    pub guest_only: bool,
    /// Only the tests of `cargo xtask qemu` at a terminal and the README's
    /// "Try it".
    #[arg(long, conflicts_with = "guest_only")]
    pub console_only: bool,
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Only the receive benchmark on the host (the kernel's receive path
    /// against smoltcp and etherparse), with criterion's statistics.
    #[arg(long, conflicts_with_all = ["smp", "quick"])]
    pub parse: bool,
    /// Harts the guest runs on (the kernel supports up to 8).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=8))]
    pub smp: u64,
    /// About a minute: fewer round trips, shorter paced runs and stream,
    /// smaller TCP transfers and fewer connections.
    #[arg(long)]
    pub quick: bool,
    /// Only the boot: N boots to the first echo, each with where its time
    /// went, and their median.
    #[arg(long, value_name = "N", conflicts_with_all = ["parse", "quick"],
          value_parser = clap::value_parser!(u32).range(1..))]
    pub boots: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command lines xtask prints for the user to run parse.
    #[test]
    fn printed_command_lines_parse() {
        let qemu = |args: &[&str]| {
            let argv = ["cargo xtask", "qemu"].iter().chain(args).copied();
            match Xtask::try_parse_from(argv).map(|x| x.cmd) {
                Ok(Cmd::Qemu(q)) => q,
                Ok(_) => panic!("not qemu"),
                Err(e) => panic!("{args:?}: {e}"),
            }
        };
        let half = qemu(&["--lan-peer", "b", "--lan-ports", "4000,4001", "--no-build"]);
        assert_eq!(half.lan_ports, Some(vec![4000, 4001]));
        assert_eq!(half.lan_peer.as_deref(), Some("b"));
        let second = qemu(&["--fs", "build/fs2.img"]);
        assert_eq!(second.fs, Some(PathBuf::from("build/fs2.img")));
        assert!(Xtask::try_parse_from(["cargo xtask", "qemu", "--lan", "--fs", "x"]).is_err());
    }

    /// The bench command lines the README gives.
    #[test]
    fn bench_flags() {
        let parse = |args: &[&str]| match Xtask::try_parse_from(args).map(|x| x.cmd) {
            Ok(Cmd::Bench(b)) => Ok((b.parse, b.smp, b.quick)),
            Ok(_) => panic!("not bench"),
            Err(e) => Err(e.kind()),
        };
        assert_eq!(parse(&["xtask", "bench"]), Ok((false, 3, false)));
        assert_eq!(
            parse(&["xtask", "bench", "--smp", "1", "--quick"]),
            Ok((false, 1, true))
        );
        assert_eq!(parse(&["xtask", "bench", "--parse"]), Ok((true, 3, false)));
        let boots = |args: &[&str]| match Xtask::try_parse_from(args).map(|x| x.cmd) {
            Ok(Cmd::Bench(b)) => Ok((b.boots, b.smp)),
            Ok(_) => panic!("not bench"),
            Err(e) => Err(e.kind()),
        };
        assert_eq!(boots(&["xtask", "bench", "--boots", "5"]), Ok((Some(5), 3)));
        assert_eq!(
            boots(&["xtask", "bench", "--boots", "2", "--smp", "1"]),
            Ok((Some(2), 1))
        );
        assert!(boots(&["xtask", "bench", "--boots", "0"]).is_err());
        assert!(boots(&["xtask", "bench", "--boots", "2", "--quick"]).is_err());
        assert!(parse(&["xtask", "bench", "--parse", "--quick"]).is_err());
        assert!(parse(&["xtask", "bench", "--smp", "0"]).is_err());
        assert!(parse(&["xtask", "bench", "--smp", "9"]).is_err());
    }
}
