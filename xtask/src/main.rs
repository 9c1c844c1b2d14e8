//! `cargo xtask`: the project's build and test driver (see README).
//! One module per subcommand; `flags` declares the command line.

mod bench;
mod bench_plot;
mod bench_udp;
mod build;
mod codegen;
mod console;
mod flags;
mod guestnet;
mod hostile;
mod interop;
mod lan;
mod paths;
mod qemu;
mod setup;
mod tap;
mod test;
mod tshark;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let flags = flags::Xtask::parse();
    match flags.cmd {
        flags::Cmd::Build => build::all().map(|_| ()),
        flags::Cmd::Qemu(args) => qemu::interactive(&args),
        flags::Cmd::Test(args) => test::run(&args),
        flags::Cmd::Codegen { check } => codegen::run(check),
        flags::Cmd::Bench(args) => bench::run(&args),
        flags::Cmd::Interop { lan, tap, hostile } => interop::run(lan, tap, hostile),
    }
}
