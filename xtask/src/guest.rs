//! A guest: one QEMU `virt` machine, its disk, its NIC and how that NIC is
//! connected. Every command line that boots the kernel is made here.
//!
//! The serial line is multiplexed with the QEMU monitor (`-nographic` alone
//! gives `mon:stdio`), so on a terminal Ctrl-A X quits, Ctrl-A C opens the
//! monitor, Ctrl-A H lists the keys, and Ctrl-C reaches the guest instead of
//! killing QEMU.
//!
//! Every guest also has the containers' bridge's mirror card (the kernel's
//! `mirror.rs`): a second virtio-net device, on slot 2, whose frames QEMU
//! writes to [`Guest::bridge_pcap`] and sends nowhere else (see
//! [`Guest::command`]).
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::build;

/// How a guest's NIC is connected.
pub enum Net {
    /// QEMU user-mode networking: the host is 10.0.2.2, the guest 10.0.2.15.
    /// Each (host, guest) pair of `udp_forwards` forwards UDP
    /// 127.0.0.1:host to the guest's port, each of `tcp_forwards` TCP.
    User {
        udp_forwards: Vec<(u16, u16)>,
        tcp_forwards: Vec<(u16, u16)>,
    },
    /// A point-to-point Ethernet link carried in UDP over 127.0.0.1, no
    /// root needed: QEMU binds `local_port` and sends every frame the guest
    /// transmits as one datagram to `remote_port`, where another guest's
    /// QEMU (or a test script) listens; frames arriving on `local_port`
    /// are delivered to the guest. `mac` is the guest's MAC: guests sharing
    /// a link need different ones.
    Dgram {
        local_port: u16,
        remote_port: u16,
        mac: Mac,
    },
    /// A TAP device (root): QEMU must run in the network namespace that
    /// holds `ifname` (see `tap.rs`). No virtio header on the TAP
    /// (`vnet_hdr=off`), so captures hold plain Ethernet frames.
    Tap { ifname: String, mac: Mac },
}

/// An Ethernet address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// A locally administered unicast MAC in QEMU's 52:54:00 range whose
    /// last two bytes are `n`.
    pub const fn numbered(n: u16) -> Mac {
        let [hi, lo] = n.to_be_bytes();
        Mac([0x52, 0x54, 0x00, 0x0e, hi, lo])
    }
}

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl Net {
    /// The MAC given to the guest's NIC (`None`: QEMU's default).
    pub fn mac(&self) -> Option<Mac> {
        match self {
            Net::User { .. } => None,
            Net::Dgram { mac, .. } | Net::Tap { mac, .. } => Some(*mac),
        }
    }
}

pub struct Guest {
    pub images: build::Images,
    pub net: Net,
    /// Every frame on the NIC is written here, every frame on the
    /// containers' bridge beside it ([`Guest::bridge_pcap`]).
    pub pcap: PathBuf,
    /// Wait for gdb on this localhost port before the first instruction.
    pub gdb: Option<u16>,
}

/// Mirror cards made by this process: each gets its own socket name.
static MIRRORS: AtomicU32 = AtomicU32::new(0);

/// The capture of the containers' bridge beside the NIC's `pcap`:
/// `build/test.pcap` → `build/test-bridge.pcap`.
pub fn bridge_capture_for(pcap: &Path) -> PathBuf {
    let stem = pcap.file_stem().unwrap_or_default().to_string_lossy();
    pcap.with_file_name(format!("{stem}-bridge.pcap"))
}

impl Guest {
    /// Where every frame on the containers' bridge is written.
    pub fn bridge_pcap(&self) -> PathBuf {
        bridge_capture_for(&self.pcap)
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new("qemu-system-riscv64");
        cmd.args([
            "-machine", "virt", "-bios", "none", "-m", "128M", "-smp", "3",
        ]);
        cmd.arg("-nographic");
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
            Net::User {
                udp_forwards,
                tcp_forwards,
            } => {
                let mut netdev = String::from("user,id=n0,net=10.0.2.0/24");
                for (host, guest) in udp_forwards {
                    netdev += &format!(",hostfwd=udp:127.0.0.1:{host}-:{guest}");
                }
                for (host, guest) in tcp_forwards {
                    netdev += &format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}");
                }
                cmd.arg("-netdev").arg(netdev);
            }
            Net::Dgram {
                local_port,
                remote_port,
                ..
            } => {
                // Both ends on the loopback interface: nothing leaves the machine.
                cmd.arg("-netdev").arg(format!(
                    "dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port={local_port},\
                     remote.type=inet,remote.host=127.0.0.1,remote.port={remote_port}"
                ));
            }
            Net::Tap { ifname, .. } => {
                cmd.arg("-netdev").arg(format!(
                    "tap,id=n0,ifname={ifname},script=no,downscript=no,vnet_hdr=off"
                ));
            }
        }
        cmd.arg("-object").arg(format!(
            "filter-dump,id=f0,netdev=n0,file={}",
            self.pcap.display()
        ));
        let mut nic = String::from("virtio-net-device,netdev=n0,bus=virtio-mmio-bus.1");
        if let Some(mac) = self.net.mac() {
            nic += &format!(",mac={mac}");
        }
        cmd.args(["-device", &nic]);
        // The bridge's mirror card. Its netdev sends each frame as a
        // datagram from one abstract Unix socket (no file, gone with QEMU)
        // to another that nothing binds: the send fails, QEMU drops the
        // frame silently, and nothing reaches any network; the dump has
        // seen it first. (A hub port alone would refuse frames and stall
        // the card's queue, and QEMU warns about hubs with no host side.)
        let name = format!(
            "xv6net-mirror-{}-{}",
            std::process::id(),
            MIRRORS.fetch_add(1, Ordering::Relaxed)
        );
        cmd.arg("-netdev").arg(format!(
            "dgram,id=mirror,local.type=unix,local.path={name},local.abstract=on,\
             remote.type=unix,remote.path={name}-nowhere,remote.abstract=on"
        ));
        cmd.arg("-object").arg(format!(
            "filter-dump,id=fmirror,netdev=mirror,file={}",
            self.bridge_pcap().display()
        ));
        cmd.args([
            "-device",
            "virtio-net-device,netdev=mirror,bus=virtio-mmio-bus.2",
        ]);
        if let Some(port) = self.gdb {
            cmd.args(["-S", "-gdb", &format!("tcp:127.0.0.1:{port}")]);
        }
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest(pcap: &str) -> Guest {
        Guest {
            images: build::Images {
                kernel: "k".into(),
                fs_img: "fs.img".into(),
            },
            net: Net::User {
                udp_forwards: vec![],
                tcp_forwards: vec![],
            },
            pcap: pcap.into(),
            gdb: None,
        }
    }

    fn args(cmd: &Command) -> Vec<String> {
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_bridge_is_captured_beside_the_nic() {
        assert_eq!(
            bridge_capture_for(Path::new("build/test.pcap")),
            Path::new("build/test-bridge.pcap")
        );
        let g = guest("/b/qemu.pcap");
        let a = args(&g.command());
        assert!(a.contains(&"filter-dump,id=fmirror,netdev=mirror,file=/b/qemu-bridge.pcap".into()));
        assert!(a.contains(&"virtio-net-device,netdev=mirror,bus=virtio-mmio-bus.2".into()));
    }

    #[test]
    fn the_mirror_sends_nowhere_and_each_card_has_its_own_socket() {
        let g = guest("x.pcap");
        let netdev = |a: Vec<String>| {
            a.into_iter()
                .find(|s| s.starts_with("dgram,id=mirror"))
                .unwrap()
        };
        let (one, two) = (netdev(args(&g.command())), netdev(args(&g.command())));
        assert_ne!(one, two);
        // Abstract Unix sockets only: no address on any network, no file.
        assert!(!one.contains("inet") && one.matches("abstract=on").count() == 2);
    }
}
