//! QEMU command lines for the `virt` machine, and `cargo xtask qemu`.
use anyhow::Result;
use std::path::PathBuf;
use std::process::Command;

use crate::{build, flags::QemuArgs, paths};

/// How a guest's NIC is connected.
pub enum Net {
    /// QEMU user-mode networking: the host is 10.0.2.2, the guest 10.0.2.15.
    /// Each (host, guest) pair forwards UDP 127.0.0.1:host to the guest.
    User { udp_forwards: Vec<(u16, u16)> },
}

pub struct Guest {
    pub images: build::Images,
    pub net: Net,
    /// Every frame on the NIC is written here.
    pub pcap: PathBuf,
    pub gdb: bool,
}

impl Guest {
    pub fn command(&self) -> Command {
        let mut cmd = Command::new("qemu-system-riscv64");
        cmd.args([
            "-machine", "virt", "-bios", "none", "-m", "128M", "-smp", "3",
        ]);
        cmd.args(["-nographic", "-monitor", "none", "-serial", "stdio"]);
        cmd.args(["-global", "virtio-mmio.force-legacy=false"]);
        cmd.arg("-kernel").arg(&self.images.kernel);
        cmd.arg("-drive").arg(format!(
            "file={},if=none,format=raw,id=x0",
            self.images.fs_img.display()
        ));
        cmd.args([
            "-device",
            "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0",
        ]);
        match &self.net {
            Net::User { udp_forwards } => {
                let mut netdev = String::from("user,id=n0,net=10.0.2.0/24");
                for (host, guest) in udp_forwards {
                    netdev += &format!(",hostfwd=udp:127.0.0.1:{host}-:{guest}");
                }
                cmd.arg("-netdev").arg(netdev);
            }
        }
        cmd.arg("-object").arg(format!(
            "filter-dump,id=f0,netdev=n0,file={}",
            self.pcap.display()
        ));
        cmd.args([
            "-device",
            "virtio-net-device,netdev=n0,bus=virtio-mmio-bus.1",
        ]);
        if self.gdb {
            cmd.args(["-S", "-gdb", "tcp::1234"]);
        }
        cmd
    }
}

/// `cargo xtask qemu`: build, then boot on this terminal.
pub fn interactive(args: &QemuArgs) -> Result<()> {
    crate::setup::qemu()?;
    let images = build::all()?;
    let pcap = paths::build_dir().join("qemu.pcap");
    let guest = Guest {
        images,
        net: Net::User {
            udp_forwards: vec![(args.udp_port, 7)],
        },
        pcap: pcap.clone(),
        gdb: args.gdb,
    };
    eprintln!("xv6net: booting QEMU (3 harts). Quit with Ctrl-A then X.");
    eprintln!(
        "xv6net: run `udpecho` in the guest, then from the host: nc -u 127.0.0.1 {}",
        args.udp_port
    );
    eprintln!("xv6net: the guest reaches the host as 10.0.2.2 (try `ping 10.0.2.2`)");
    eprintln!(
        "xv6net: every frame is captured to {} (open it with wireshark)",
        pcap.display()
    );
    if args.gdb {
        eprintln!(
            "xv6net: waiting for gdb: gdb-multiarch -ex 'target remote :1234' {}",
            guest.images.kernel.display()
        );
    }
    let status = guest.command().status()?;
    anyhow::ensure!(status.success(), "qemu exited with {status}");
    Ok(())
}
