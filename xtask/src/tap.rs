//! With root: the Linux kernel as a real peer, over a TAP device.
//!
//! A network namespace of our own holds the TAP device (10.0.9.254/24) and
//! QEMU runs inside it (`ip netns exec`), so the host's own interfaces,
//! routes and neighbours are never touched; deleting the namespace on exit
//! removes the TAP with it. The guest is 10.0.9.1/24 (gateway: the Linux
//! side). No Docker.
//!
//! - `cargo xtask qemu --tap`: the guest on this terminal; the Linux side is
//!   reachable with `ip netns exec xv6net-PID ...` from another terminal
//!   (the namespace is named after the xtask process, so runs never meet).
//! - [`test`]: Linux pings the guest (also with 8,000- to 65,507-byte
//!   echoes, in IPv4 fragments both ways), `ip neigh` learns its MAC, UDP
//!   with `udpecho` and `nc` both ways, `chat` both ways, the guest pings
//!   Linux (big too) and resolves its MAC. Without root (or without `ip netns`) it prints
//!   `SKIPPED: linux-peer tests (need root and ip netns)`.
use anyhow::{bail, ensure, Context, Result};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::build::{self, Images};
use crate::console::Console;
use crate::guest::{Guest, Mac, Net};
use crate::guestnet::{
    self, arp_resolves, big_echoes, configure, end_input, nc_echo, pings, NETMASK,
};
use crate::{paths, relay, setup, tshark};

const BOOT: Duration = Duration::from_secs(120);
const SHORT: Duration = Duration::from_secs(30);
pub(crate) const TAP: &str = "xv6tap0";
pub(crate) const LINUX_IP: &str = "10.0.9.254";
pub(crate) const GUEST_IP: &str = "10.0.9.1";
pub(crate) const GUEST_MAC: Mac = Mac::numbered(0x0a01);

pub(crate) fn ip_netns_works() -> bool {
    Command::new("ip")
        .args(["netns", "list"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A network namespace holding a TAP device with the Linux peer's address.
/// Dropping it deletes both.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn create(name: &str) -> Result<Netns> {
        if Command::new("ip")
            .args(["netns", "pids", name])
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success())
        {
            run("ip", &["netns", "del", name])?; // left over from a run that crashed
        }
        run("ip", &["netns", "add", name])?;
        let ns = Netns {
            name: name.to_string(),
        };
        ns.exec_ok(&["ip", "link", "set", "lo", "up"])?;
        ns.exec_ok(&["ip", "tuntap", "add", "dev", TAP, "mode", "tap"])?;
        ns.exec_ok(&["ip", "addr", "add", &format!("{LINUX_IP}/24"), "dev", TAP])?;
        ns.exec_ok(&["ip", "link", "set", TAP, "up"])?;
        Ok(ns)
    }

    /// `ip netns exec <ns> <args...>` as a command to adjust and run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).args(args);
        cmd
    }

    pub fn exec_ok(&self, args: &[&str]) -> Result<String> {
        let out = self
            .command(args)
            .output()
            .with_context(|| format!("running {}", args.join(" ")))?;
        ensure!(
            out.status.success(),
            "ip netns exec {} {} failed: {}{}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs QEMU's command line inside the namespace.
    pub fn wrap(&self, qemu: Command) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name])
            .arg(qemu.get_program())
            .args(qemu.get_args());
        cmd
    }

    fn tap_mac(&self) -> Result<String> {
        Ok(self
            .exec_ok(&["cat", &format!("/sys/class/net/{TAP}/address")])?
            .trim()
            .to_string())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        Command::new("ip")
            .args(["netns", "del", &self.name])
            .status()
            .ok();
    }
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program).args(args).output()?;
    ensure!(
        out.status.success(),
        "{program} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn guest(images: Images, pcap: &str) -> Guest {
    Guest {
        images,
        net: Net::Tap {
            ifname: TAP.into(),
            mac: GUEST_MAC,
        },
        pcap: guestnet::artifact(pcap),
        gdb: None,
    }
}

/// A helper process in the namespace whose stdout lines we can wait for.
struct Helper {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Helper {
    fn spawn(ns: &Netns, args: &[&str]) -> Result<Helper> {
        let script = paths::root().join("xtask/peer/udp.py");
        let mut full = vec!["python3", script.to_str().unwrap()];
        full.extend_from_slice(args);
        let mut child = ns.command(&full).stdout(Stdio::piped()).spawn()?;
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Helper { child, lines })
    }

    fn expect(&self, prefix: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return Ok(l),
                Ok(_) => {}
                Err(_) => bail!("Linux helper: no line starting {prefix:?} within {timeout:?}"),
            }
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The Linux-peer matrix (called from `cargo xtask test`).
pub fn test(images: &Images) -> Result<()> {
    eprintln!("\n== a real Linux peer over TAP in a network namespace (root)");
    if !setup::running_as_root() {
        eprintln!("SKIPPED: linux-peer tests (need root and ip netns)");
        return Ok(());
    }
    // The Linux side's own tools, on a machine that may lack them.
    setup::tool("ip", "iproute2")?;
    setup::tool("ping", "iputils-ping")?;
    setup::python()?;
    if !ip_netns_works() {
        eprintln!("SKIPPED: linux-peer tests (need root and ip netns)");
        return Ok(());
    }
    let started = Instant::now();
    let ns = match Netns::create(&format!("xv6net-test-{}", std::process::id())) {
        Ok(ns) => ns,
        Err(e) => {
            // Root, but no namespaces or TAP devices here (a container without
            // CAP_NET_ADMIN or /dev/net/tun): say so by name, do not pass.
            eprintln!("SKIPPED: linux-peer tests (need root and ip netns): {e:#}");
            return Ok(());
        }
    };
    let tap_mac = ns.tap_mac()?;
    let g = guest(guestnet::own_images(images, "tap")?, "tap.pcap");
    std::fs::remove_file(&g.pcap).ok();
    let pcap = g.pcap.clone();
    let log = guestnet::artifact("tap-console.log");
    eprintln!(
        "namespace {}: {TAP} {LINUX_IP} ({tap_mac}); guest {GUEST_IP} {GUEST_MAC} (console: {})",
        ns.name,
        log.display()
    );
    let mut con = Console::spawn("tap", ns.wrap(g.command()), &log)?;
    con.expect("$ ", BOOT)
        .context("waiting for the shell prompt")?;
    configure(&mut con, GUEST_IP, GUEST_MAC, NETMASK, LINUX_IP)?;
    let mut table = Vec::new();

    // Linux -> guest: ping, and ARP learns the guest's MAC.
    let out = ns
        .command(&["ping", "-c", "3", "-i", "0.2", "-W", "2", GUEST_IP])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success() && text.contains("3 received"),
        "Linux ping {GUEST_IP} failed ({}):\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    table.push("Linux ping -> guest: 3/3 replies".to_string());
    // Linux -> guest, big: requests and replies in IPv4 fragments, the
    // data checked by Linux's ping (it reports "wrong data byte").
    for n in guestnet::BIG_DATAGRAMS.map(|n| n.to_string()) {
        let out = ns
            .command(&[
                "ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", &n, GUEST_IP,
            ])
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        ensure!(
            out.status.success() && text.contains("3 received") && !text.contains("wrong data"),
            "Linux ping -s {n} {GUEST_IP} failed ({}):\n{text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    table.push("Linux ping -s 8000/30000/65507 -> guest (IPv4 fragments): 3/3 replies each".into());
    let neigh = ns.exec_ok(&["ip", "neigh", "show", GUEST_IP, "dev", TAP])?;
    ensure!(
        neigh.contains(&GUEST_MAC.to_string()),
        "ip neigh did not learn {GUEST_MAC}: {neigh:?}"
    );
    table.push(format!("Linux ip neigh: {}", neigh.trim()));

    // guest -> Linux: ARP and ping.
    arp_resolves(&mut con, LINUX_IP, Mac(parse_mac(&tap_mac)?))?;
    table.push(format!("guest arp {LINUX_IP} -> {tap_mac}"));
    pings(&mut con, LINUX_IP)?;
    table.push("guest ping -> Linux: 3/3 replies".into());
    guestnet::big_pings(&mut con, LINUX_IP)?;
    table.push("guest ping -s 8000/30000/65507 -> Linux (IPv4 fragments): 3/3 replies each".into());

    // UDP: Linux client -> guest udpecho, guest nc -> Linux echo server.
    con.run("udpecho 7 &", SHORT)?;
    std::thread::sleep(Duration::from_millis(200));
    let out = ns
        .command(&[
            "python3",
            paths::root().join("xtask/peer/udp.py").to_str().unwrap(),
            "send-expect",
            GUEST_IP,
            "7",
            "hello-from-linux",
        ])
        .output()?;
    ensure!(
        out.status.success(),
        "Linux -> guest udpecho failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    table.push("Linux UDP client -> guest udpecho: echoed".into());
    let sizes = guestnet::BIG_DATAGRAMS.map(|n| n.to_string());
    let script = paths::root().join("xtask/peer/udp.py");
    let mut args = vec!["python3", script.to_str().unwrap(), "sizes", GUEST_IP, "7"];
    args.extend(sizes.iter().map(String::as_str));
    let out = ns.command(&args).output()?;
    let said = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "Linux -> guest udpecho, datagrams in fragments: {said}"
    );
    table.push(format!(
        "Linux UDP client -> guest udpecho, {} bytes (IPv4 fragments): echoed",
        sizes.join("/")
    ));
    let server = Helper::spawn(&ns, &["echo-server", "7007"])?;
    server.expect("ready", SHORT)?;
    nc_echo(&mut con, LINUX_IP, 7007, "hello-from-xv6")?;
    big_echoes(&mut con, LINUX_IP, 7007)?;
    drop(server);
    table.push("guest nc -> Linux UDP echo server: echoed".into());
    table.push(format!(
        "guest udpcheck -> Linux UDP echo server, {} bytes: echoed",
        sizes.join("/")
    ));

    // chat both ways: the guest's chat against a Linux UDP peer on 5555.
    let peer = Helper::spawn(&ns, &["chat", "5555", GUEST_IP, "hi from linux"])?;
    peer.expect("ready", SHORT)?;
    con.send_line(&format!("chat {LINUX_IP}"))?;
    con.expect("chat with", SHORT)?;
    std::thread::sleep(Duration::from_millis(200));
    con.send_line("hello linux")?;
    let got = peer.expect("got: ", SHORT)?;
    ensure!(got == "got: hello linux", "Linux received {got:?}");
    con.expect(&format!("[{LINUX_IP}:5555] hi from linux"), SHORT)?;
    end_input(&mut con)?;
    drop(peer);
    table.push("chat guest <-> Linux: both directions".into());

    let c = guestnet::netstat(&mut con)?;
    eprintln!(
        "guest frames in {} out {}",
        c.get("frames_in").unwrap_or(&0),
        c.get("frames_out").unwrap_or(&0)
    );
    con.send_line("halt")?;
    con.wait_exit(SHORT)?;
    drop(con);
    drop(ns);
    for row in &table {
        eprintln!("  ok: {row}");
    }
    tshark::check(&pcap)?;
    eprintln!("Linux-peer tests passed in {:.0?}", started.elapsed());
    Ok(())
}

fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let v: Vec<u8> = s
        .split(':')
        .map(|x| u8::from_str_radix(x, 16))
        .collect::<Result<_, _>>()?;
    v.try_into().map_err(|_| anyhow::anyhow!("bad MAC {s}"))
}

/// `cargo xtask qemu --tap`: the guest on this terminal, the Linux side in
/// a namespace named after this process; everything is removed when QEMU
/// exits.
pub fn interactive(no_build: bool) -> Result<()> {
    ensure!(setup::running_as_root(), "--tap needs root (it creates a network namespace and a TAP device): sudo -E cargo xtask qemu --tap");
    setup::tool("ip", "iproute2")?;
    ensure!(
        ip_netns_works(),
        "--tap needs `ip netns` (iproute2) and the rights to use it"
    );
    setup::qemu()?;
    // What the banner suggests running on the Linux side.
    setup::tool("ping", "iputils-ping")?;
    setup::tool("nc", "netcat-openbsd")?;
    let image = guestnet::artifact("qemu-tap-fs.img");
    let kernel = if no_build {
        ensure!(
            image.exists() && build::kernel().exists(),
            "{} is missing: run without --no-build",
            image.display()
        );
        build::kernel()
    } else {
        build::images(&image)?.kernel
    };
    let name = format!("xv6net-{}", std::process::id());
    let ns = Netns::create(&name)?;
    let images = Images {
        kernel,
        fs_img: image,
    };
    let g = guest(images, "qemu-tap.pcap");
    eprintln!("xv6net: namespace {name}: {TAP} is {LINUX_IP}/24; the guest becomes {GUEST_IP} ({GUEST_MAC})");
    eprintln!("xv6net: from another terminal, e.g.:");
    eprintln!("  sudo ip netns exec {name} ping {GUEST_IP}");
    eprintln!("  sudo ip netns exec {name} ip neigh");
    eprintln!(
        "  sudo ip netns exec {name} nc -u {GUEST_IP} 7     (after `udpecho &` in the guest)"
    );
    eprintln!(
        "xv6net: capture: {}. Quit with Ctrl-A then X (the namespace and TAP are removed).",
        g.pcap.display()
    );
    let result = relay::run(
        ns.wrap(g.command()),
        &format!("ifconfig {GUEST_IP} {NETMASK} {LINUX_IP}"),
    );
    drop(ns);
    result
}
