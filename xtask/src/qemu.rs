//! `cargo xtask qemu`: one guest on this terminal, as a person uses it.
//!
//! QEMU gets the terminal itself: its serial line is multiplexed with the
//! monitor (see `guest.rs`), so Ctrl-A X quits and Ctrl-C reaches the guest.
//! Around it, for as long as it runs, this process holds the disk (see
//! `disk.rs`) and serves the host side of the guest's network tests: a UDP
//! echo server for `nettests PORT`, a forwarded UDP port to the guest's
//! `udpecho` (`cargo xtask send`), and a forwarded TCP port to the guest's
//! port 80 (`httpd`). The ports are picked free unless given, and printed. `--lan` and `--tap` hand over to `lan.rs`
//! and `tap.rs`.
use anyhow::{bail, ensure, Context, Result};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::disk::{self, Claim, Session};
use crate::flags::QemuArgs;
use crate::guest::{Guest, Net};
use crate::{build, guestnet, paths, setup};

/// The guest port `udpecho` listens on by default.
const UDPECHO: u16 = 7;
/// The guest port `httpd` listens on by default.
const HTTPD: u16 = 80;
/// What the banner says before the forwarded HTTP port (the README's
/// "Try it" runner reads the port after it).
pub const HTTP_BANNER: &str = "httpd in the guest → http://127.0.0.1:";

pub fn run(args: &QemuArgs) -> Result<()> {
    if args.lan {
        return crate::lan::interactive(args.no_build);
    }
    if let Some(peer) = &args.lan_peer {
        let ports = match args.lan_ports.as_deref() {
            None => None,
            Some(&[a, b]) => Some([a, b]),
            Some(_) => bail!("--lan-ports takes two ports: PA,PB"),
        };
        return crate::lan::interactive_peer(peer, args.no_build, ports);
    }
    if args.tap {
        return crate::tap::interactive(args.no_build);
    }
    setup::qemu()?;
    let image = args.fs.clone().unwrap_or_else(disk::default_image);
    let image = absolute(&image)?;
    // Before anything touches the image: is another guest using it?
    let mut claim = Claim::take(&image)?;
    let kernel = if args.no_build {
        ensure!(
            !args.fresh_fs,
            "--fresh-fs makes a new image: it cannot be used with --no-build"
        );
        let kernel = build::kernel();
        for needed in [&kernel, &image] {
            ensure!(
                needed.exists(),
                "{} does not exist yet: run without --no-build",
                paths::shown(needed)
            );
        }
        kernel
    } else {
        let kernel = build::binaries()?;
        disk::prepare(&claim, &image, args.fresh_fs)?;
        kernel
    };
    let udp_port = match args.udp_port {
        Some(port) => guestnet::udp_port_free(port, "--udp-port")?,
        None => guestnet::two_free_udp_ports()?.0,
    };
    let echo_port = guestnet::loopback_echo_server(args.echo_port)?;
    let http_port = match args.http_port {
        Some(port) => guestnet::tcp_port_free(port, "--http-port")?,
        None => guestnet::free_tcp_port()?,
    };
    let pcap = capture_for(&image);
    claim.record(&Session {
        pid: std::process::id(),
        udp_port,
        echo_port,
        pcap: pcap.clone(),
    })?;
    let gdb_port = if args.gdb {
        // The banner tells the user to run it.
        setup::tool("gdb-multiarch", "gdb-multiarch")?;
        Some(guestnet::free_tcp_port()?)
    } else {
        None
    };
    let guest = Guest {
        images: build::Images {
            kernel,
            fs_img: image.clone(),
        },
        net: Net::User {
            udp_forwards: vec![(udp_port, UDPECHO)],
            tcp_forwards: vec![(http_port, HTTPD)],
        },
        pcap: pcap.clone(),
        gdb: gdb_port,
    };
    let fs_flag = match &args.fs {
        Some(_) => format!(" --fs {}", paths::shown(&image)),
        None => String::new(),
    };
    eprintln!(
        "xv6net: booting QEMU (3 harts) on {}. Quit with Ctrl-A then X (Ctrl-A H lists the keys); Ctrl-C goes to the guest.",
        paths::shown(&image)
    );
    eprintln!("xv6net: the host runs an echo server for the guest: run `nettests {echo_port}`");
    eprintln!(
        "xv6net: after `udpecho &` in the guest, from the host: cargo xtask send{fs_flag} hello   (UDP 127.0.0.1:{udp_port} -> guest port {UDPECHO})"
    );
    eprintln!(
        "xv6net: {HTTP_BANNER}{http_port}/   (after `httpd &` in the guest: TCP 127.0.0.1:{http_port} -> guest port {HTTPD})"
    );
    eprintln!("xv6net: the guest reaches the host as 10.0.2.2 (try `ping 10.0.2.2`)");
    eprintln!(
        "xv6net: every frame is captured to {} (read it with: tshark -r {})",
        paths::shown(&pcap),
        paths::shown(&pcap)
    );
    let bridge = guest.bridge_pcap();
    eprintln!(
        "xv6net: every frame on the containers' bridge is captured to {} (tshark -r {})",
        paths::shown(&bridge),
        paths::shown(&bridge)
    );
    if let Some(port) = gdb_port {
        eprintln!(
            "xv6net: waiting for gdb: gdb-multiarch -ex 'target remote :{port}' {}",
            guest.images.kernel.display()
        );
    }
    let status = guest
        .command()
        .status()
        .context("starting qemu-system-riscv64")?;
    ensure!(status.success(), "qemu exited with {status}");
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(std::path::absolute(path)?)
}

/// `build/qemu.pcap` for the default image, `<image>.pcap` for others, so
/// that two guests never write one capture.
pub fn capture_for(image: &Path) -> PathBuf {
    if image == disk::default_image() {
        paths::build_dir().join("qemu.pcap")
    } else {
        image.with_extension("pcap")
    }
}

/// `cargo xtask send`: one datagram to the running guest's udpecho, and
/// its echo printed.
pub fn send(fs: Option<&Path>, text: &str) -> Result<()> {
    let image = match fs {
        Some(p) => absolute(p)?,
        None => disk::default_image(),
    };
    let session = disk::running_session(&image)?;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut buf = [0u8; 2048];
    for _ in 0..6 {
        sock.send_to(text.as_bytes(), ("127.0.0.1", session.udp_port))?;
        if let Ok(n) = sock.recv(&mut buf) {
            println!("{}", String::from_utf8_lossy(&buf[..n]));
            return Ok(());
        }
    }
    bail!(
        "no reply from the guest on 127.0.0.1:{} (is `udpecho &` running in the guest?)",
        session.udp_port
    )
}
