//! `cargo xtask`: the project's build and test driver (see README).
//! One module per subcommand; `flags` declares the command line, `guest`
//! makes every QEMU command line.

mod bench;
mod bench_boot;
mod bench_plot;
mod bench_tcp;
mod bench_udp;
mod bridge_capture;
mod build;
mod codegen;
mod console;
mod disk;
mod dns_user;
mod flags;
mod guest;
mod guestnet;
mod hostile;
mod interactive_test;
mod interop;
mod lan;
mod netem;
mod netns;
mod parse_bench;
mod paths;
mod qemu;
mod relay;
mod send_path;
mod setup;
mod tap;
mod tcp_tap;
mod tcp_user;
mod terminal;
mod test;
mod transfer;
mod try_it;
mod tshark;
mod walkthrough;

use clap::Parser;

fn run(flags: flags::Xtask) -> anyhow::Result<()> {
    match flags.cmd {
        flags::Cmd::Build => disk::build_default(),
        flags::Cmd::Qemu(args) => qemu::run(&args),
        flags::Cmd::Test(args) => test::run(&args),
        flags::Cmd::Codegen { check } => codegen::run(check),
        flags::Cmd::Bench(args) if args.parse => parse_bench::run(true),
        flags::Cmd::Bench(args) if args.boots.is_some() => bench::boots(&args),
        flags::Cmd::Bench(args) => bench::run(&args),
        flags::Cmd::Setup => setup::everything(),
        flags::Cmd::Send { fs, text } => qemu::send(fs.as_deref(), &text.join(" ")),
        flags::Cmd::Interop {
            lan,
            tap,
            hostile,
            tcp,
        } => interop::run(lan, tap, hostile, tcp),
    }
}

/// Errors are expected outcomes here (a stale file, a held image, a tool
/// missing): one line naming what failed, and a non-zero status. No
/// backtrace, whatever RUST_BACKTRACE says: it shows xtask's insides, not
/// the problem.
fn main() {
    let flags = flags::Xtask::parse();
    if let Err(e) = run(flags) {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}
