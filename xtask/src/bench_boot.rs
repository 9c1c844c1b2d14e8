//! Where the time from QEMU's start to the first echo goes. Three clocks
//! see the boot, and each event is taken from the one that sees it best:
//! - the host's: QEMU started, the shell's prompt seen and the command
//!   typed, `udpecho: listening` seen, the first echo back;
//! - the guest's `time` CSR (`boot_*_us`, which `netstat -a` exports from
//!   `kernel/src/boottime.rs`): kernel entry, memory, disk, NIC, first
//!   process, each hart, file system, each program's first `exec`;
//! - the capture's (`filter-dump`), read by tshark: the DHCP exchange, the
//!   ARP probes and announcement, the guest's first ARP request, its first
//!   echo.
//!
//! QEMU's virtual clock drives both the guest's `time` and the capture's
//! stamps (which add the whole second of the wall clock at which the
//! capture began), and starts when the machine starts running. So the
//! guest's and the capture's events share one time line; it is placed on
//! the host's by the first echo, which both the capture and the host see:
//! what the host clock had run before the virtual one started is QEMU's
//! own start-up.
use anyhow::{bail, ensure, Context, Result};
use serde::Serialize;
use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wire::arp::ArpOperation;
use wire::dhcp::DhcpMessageType;

use crate::console::Console;
use crate::guestnet::{self, Counters};

/// The guest's UDP echo port, whose first reply ends the boot.
pub const ECHO_PORT: u16 = 7;

/// What the host saw, each since QEMU was started.
pub struct HostTimes {
    /// The wall clock (whole seconds since the epoch) when QEMU was
    /// started and when the first echo came back: the capture's base
    /// second lies between them.
    pub wall_secs: (u64, u64),
    pub prompt: Duration,
    pub typed: Duration,
    pub listening: Duration,
    pub first_echo: Duration,
}

/// One step of the boot.
#[derive(Serialize, Clone)]
pub struct Event {
    pub what: String,
    /// Seconds since QEMU was started (host clock).
    pub at_s: f64,
    /// Seconds since the event before it.
    pub after_previous_s: f64,
    /// Whose clock saw it: "host", "guest" or "capture".
    pub seen_by: &'static str,
}

#[derive(Serialize)]
pub struct Timeline {
    /// QEMU's own start-up: the host clock's lead on the virtual one.
    pub qemu_startup_s: f64,
    pub events: Vec<Event>,
}

impl Timeline {
    /// When the first echo was back at the host.
    pub fn first_echo_s(&self) -> f64 {
        self.events
            .iter()
            .rev()
            .find(|e| e.what == FIRST_ECHO)
            .map_or(f64::NAN, |e| e.at_s)
    }
}

const FIRST_ECHO: &str = "first echo back at the host";

impl std::fmt::Display for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{:>8} {:>8}  {:<8} event", "at_ms", "+ms", "clock")?;
        for e in &self.events {
            writeln!(
                f,
                "{:>8.1} {:>8.1}  {:<8} {}",
                e.at_s * 1e3,
                e.after_previous_s * 1e3,
                e.seen_by,
                e.what
            )?;
        }
        Ok(())
    }
}

/// A frame of the capture, as tshark reads it.
struct Frame {
    /// Virtual-clock stamp plus the capture's base second, in µs.
    stamp_us: i64,
    src_mac: String,
    arp: Option<(ArpOperation, String, String)>,
    dhcp: Option<DhcpMessageType>,
    udp_src_port: Option<u16>,
}

/// The boot's time line from the host's times, the guest's `netstat -a`
/// counters and the capture `pcap`.
pub fn timeline(host: &HostTimes, guest: &Counters, pcap: &Path) -> Result<Timeline> {
    timeline_of(host, guest, &read_capture(pcap)?)
}

fn timeline_of(host: &HostTimes, guest: &Counters, frames: &[Frame]) -> Result<Timeline> {
    // The guest is who asks for an address.
    let guest_mac = frames
        .iter()
        .find(|f| f.dhcp == Some(DhcpMessageType::DISCOVER))
        .map(|f| f.src_mac.clone())
        .context("the capture holds no DHCP DISCOVER from the guest")?;
    let from_guest = |f: &&Frame| f.src_mac == guest_mac;
    let echo = frames
        .iter()
        .filter(from_guest)
        .find(|f| f.udp_src_port == Some(ECHO_PORT))
        .context("the capture holds no echo from the guest")?;
    let base_us = capture_base_us(echo.stamp_us, host)?;
    let virtual_s = |stamp_us: i64| (stamp_us - base_us) as f64 / 1e6;
    // The host clock's lead on the virtual one.
    let lead = host.first_echo.as_secs_f64() - virtual_s(echo.stamp_us);

    let mut events: Vec<(f64, String, &'static str)> = Vec::new();
    let mut capture = |stamp_us: i64, what: String| {
        events.push((virtual_s(stamp_us) + lead, what, "capture"));
    };
    for kind in [
        DhcpMessageType::DISCOVER,
        DhcpMessageType::OFFER,
        DhcpMessageType::REQUEST,
        DhcpMessageType::ACK,
    ] {
        if let Some(f) = frames.iter().find(|f| f.dhcp == Some(kind)) {
            capture(f.stamp_us, format!("DHCP {kind:?}"));
        }
    }
    let requests =
        |f: &&Frame| from_guest(f) && f.arp.as_ref().is_some_and(|a| a.0 == ArpOperation::REQUEST);
    let unspecified = std::net::Ipv4Addr::UNSPECIFIED.to_string();
    let mut probes = 0;
    let mut asked = false;
    for f in frames.iter().filter(requests) {
        let (_, spa, tpa) = f.arp.as_ref().unwrap();
        if *spa == unspecified {
            probes += 1;
            capture(f.stamp_us, format!("ARP probe {probes} for {tpa}"));
        } else if spa == tpa {
            capture(
                f.stamp_us,
                format!("ARP announcement of {spa} (lease bound)"),
            );
        } else if !asked {
            asked = true;
            capture(
                f.stamp_us,
                format!("first ARP request of the guest, for {tpa}"),
            );
            let reply = frames.iter().find(|r| {
                r.stamp_us >= f.stamp_us
                    && r.arp
                        .as_ref()
                        .is_some_and(|a| a.0 == ArpOperation::REPLY && a.1 == *tpa)
            });
            if let Some(r) = reply {
                capture(r.stamp_us, format!("ARP reply from {tpa}"));
            }
        }
    }
    capture(echo.stamp_us, "first echo leaves the guest".into());

    for (name, us) in guest.iter().filter(|(n, _)| n.starts_with("boot_")) {
        let what = guest_step(name);
        events.push((*us as f64 / 1e6 + lead, what, "guest"));
    }
    for (what, at) in [
        ("the shell's prompt seen", host.prompt),
        ("`udpecho 7 &` typed", host.typed),
        ("`udpecho: listening` seen", host.listening),
        (FIRST_ECHO, host.first_echo),
    ] {
        events.push((at.as_secs_f64(), what.into(), "host"));
    }
    events.push((0.0, "QEMU started".into(), "host"));
    events.push((lead, "the guest's clock starts".into(), "host"));
    // What ran after the echo (the programs the benchmark runs next) is
    // not the boot's.
    let end = host.first_echo.as_secs_f64();
    events.retain(|e| e.0 <= end);
    events.sort_by(|a, b| a.0.total_cmp(&b.0));

    let mut previous = 0.0;
    let events = events
        .into_iter()
        .map(|(at_s, what, seen_by)| {
            let e = Event {
                what,
                at_s,
                after_previous_s: at_s - previous,
                seen_by,
            };
            previous = at_s;
            e
        })
        .collect();
    Ok(Timeline {
        qemu_startup_s: lead,
        events,
    })
}

/// A guest booted to its first echo.
pub struct Booted {
    pub con: Console,
    /// When the console said udpecho listens.
    pub listening_s: f64,
    pub first_echo_s: f64,
    pub timeline: Timeline,
}

/// Starts QEMU (`cmd`, whose user network forwards the host's
/// `echo_port` to the guest's [`ECHO_PORT`] and captures to `pcap`),
/// types `udpecho 7 &` when the shell prompts, and sends a probe every
/// 2 ms from QEMU's start until one comes back. Returns the running
/// guest at its prompt and where the time went.
pub fn boot(cmd: Command, echo_port: u16, pcap: &Path, log: &Path) -> Result<Booted> {
    let wall = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let wall_start = wall();
    let start = Instant::now();
    let mut con = Console::spawn("bench", cmd, log)?;
    let probe = std::thread::spawn(move || first_echo(echo_port, start));
    // The command is typed when the shell prompts: bytes typed before the
    // guest sets up its UART are lost (on a busy host, all of them).
    con.expect("$ ", Duration::from_secs(120))?;
    let prompt = start.elapsed();
    con.send_line(&format!("udpecho {ECHO_PORT} &"))?;
    let typed = start.elapsed();
    con.expect("udpecho: listening", Duration::from_secs(120))?;
    let listening = start.elapsed();
    let first_echo = probe.join().expect("first echo probe")?;
    let host = HostTimes {
        wall_secs: (wall_start, wall()),
        prompt,
        typed,
        listening,
        first_echo,
    };
    con.send_line("echo bench ready")?;
    con.expect("\nbench ready", Duration::from_secs(30))?;
    con.expect("$ ", Duration::from_secs(10))?;
    let counters = guestnet::netstat(&mut con)?;
    let timeline = timeline(&host, &counters, pcap)?;
    Ok(Booted {
        con,
        listening_s: listening.as_secs_f64(),
        first_echo_s: first_echo.as_secs_f64(),
        timeline,
    })
}

/// Sends a probe every 2 ms until one comes back; the time since `start`.
fn first_echo(port: u16, start: Instant) -> Result<Duration> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.connect(("127.0.0.1", port))?;
    sock.set_read_timeout(Some(Duration::from_millis(2)))?;
    let mut buf = [0u8; 64];
    while start.elapsed() < Duration::from_secs(120) {
        // Refused while nothing listens yet (ICMP port unreachable).
        let _ = sock.send(b"first");
        if let Ok(n) = sock.recv(&mut buf) {
            if &buf[..n] == b"first" {
                return Ok(start.elapsed());
            }
        }
    }
    bail!("the guest's udpecho never answered")
}

/// What a `boot_<step>_us` counter stands for.
fn guest_step(counter: &str) -> String {
    let step = counter
        .strip_prefix("boot_")
        .and_then(|s| s.strip_suffix("_us"))
        .unwrap_or(counter);
    if let Some(program) = step.strip_prefix("exec_") {
        return format!("{program} exec'd");
    }
    if let Some(hart) = step.strip_prefix("hart") {
        return format!("hart {hart} in its scheduler");
    }
    match step {
        "main" => "kernel entry (hart 0 in main)".into(),
        "memory" => "memory, page tables, traps, PLIC set up".into(),
        "disk" => "disk up (virtio-blk)".into(),
        "nic" => "NIC up, DHCP DISCOVER handed to it".into(),
        "first_process" => "first process made".into(),
        "fs" => "file system ready (log replayed)".into(),
        other => other.into(),
    }
}

/// The capture's base second, in µs: the one that puts the first echo's
/// virtual time within the second before the host saw it. The virtual
/// clock cannot be ahead of the host's, and QEMU starts in well under a
/// second, so exactly one whole second between the wall clock's at QEMU's
/// start and at the echo does.
fn capture_base_us(echo_stamp_us: i64, host: &HostTimes) -> Result<i64> {
    let echo_s = host.first_echo.as_secs_f64();
    let (from, to) = host.wall_secs;
    for base in from..=to {
        let base_us = base as i64 * 1_000_000;
        let v = (echo_stamp_us - base_us) as f64 / 1e6;
        if v >= 0.0 && v <= echo_s && v > echo_s - 1.0 {
            return Ok(base_us);
        }
    }
    bail!("no whole second between {from} and {to} puts the capture's echo before the host's")
}

/// The capture's frames, with the fields the time line needs.
fn read_capture(pcap: &Path) -> Result<Vec<Frame>> {
    let fields = [
        "frame.time_epoch",
        "eth.src",
        "arp.opcode",
        "arp.src.proto_ipv4",
        "arp.dst.proto_ipv4",
        "dhcp.option.dhcp",
        "udp.srcport",
    ];
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(pcap)
        .args(["-T", "fields", "-E", "separator=/t"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().context("running tshark")?;
    ensure!(
        out.status.success(),
        "tshark -r {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(parse_frame)
        .collect()
}

fn parse_frame(line: &str) -> Result<Frame> {
    let cols: Vec<&str> = line.split('\t').collect();
    let col = |i: usize| cols.get(i).copied().unwrap_or("").trim();
    let stamp_us = epoch_us(col(0)).with_context(|| format!("tshark line {line:?}"))?;
    let arp = col(2)
        .parse::<u16>()
        .ok()
        .map(|op| (ArpOperation(op), col(3).to_string(), col(4).to_string()));
    Ok(Frame {
        stamp_us,
        src_mac: col(1).to_string(),
        arp,
        dhcp: col(5).parse::<u8>().ok().map(DhcpMessageType),
        udp_src_port: col(6).parse().ok(),
    })
}

/// "1796071904.054242000" as µs, without a float's rounding.
fn epoch_us(s: &str) -> Result<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    let micros: String = frac.chars().chain("000000".chars()).take(6).collect();
    Ok(secs.parse::<i64>()? * 1_000_000 + micros.parse::<i64>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(first_echo_ms: u64, wall_secs: (u64, u64)) -> HostTimes {
        let ms = Duration::from_millis;
        HostTimes {
            wall_secs,
            prompt: ms(first_echo_ms / 2),
            typed: ms(first_echo_ms / 2),
            listening: ms(first_echo_ms - 1),
            first_echo: ms(first_echo_ms),
        }
    }

    #[test]
    fn epoch_stamps_keep_every_microsecond() {
        assert_eq!(
            epoch_us("1796071904.054242000").unwrap(),
            1_796_071_904_054_242
        );
        assert_eq!(epoch_us("12.5").unwrap(), 12_500_000);
        assert!(epoch_us("x.1").is_err());
    }

    #[test]
    fn the_base_second_puts_the_echo_just_before_the_host_saw_it() {
        // QEMU started at wall second 100 and took 50 ms to start the
        // machine; the echo left 250 ms of virtual time later and reached
        // the host at 300 ms. The capture's base is 100.
        let stamp = 100_250_000;
        assert_eq!(
            capture_base_us(stamp, &host(300, (100, 100))).unwrap(),
            100_000_000
        );
        // Started at 99.9: the capture's base second may be 100, read
        // from the wall clock after QEMU's start.
        assert_eq!(
            capture_base_us(stamp, &host(300, (99, 100))).unwrap(),
            100_000_000
        );
        // No second fits: the echo would be ahead of the host's clock.
        assert!(capture_base_us(stamp, &host(100, (101, 101))).is_err());
    }

    #[test]
    fn frames_parse_from_tshark_fields() {
        let f = parse_frame("100.001000000\t52:54:00:12:34:56\t1\t0.0.0.0\t10.0.2.15\t\t").unwrap();
        assert_eq!(f.stamp_us, 100_001_000);
        let (op, spa, tpa) = f.arp.unwrap();
        assert_eq!(
            (op, spa.as_str(), tpa.as_str()),
            (ArpOperation::REQUEST, "0.0.0.0", "10.0.2.15")
        );
        assert_eq!(f.dhcp, None);
        let d = parse_frame("100.2\t52:55:0a:00:02:02\t\t\t\t5\t67").unwrap();
        assert_eq!(
            (d.dhcp, d.udp_src_port),
            (Some(DhcpMessageType::ACK), Some(67))
        );
    }

    #[test]
    fn a_boot_reads_as_one_time_line() {
        // Wall second 100; the echo leaves at 250 ms of virtual time and
        // is back at the host at 300 ms: QEMU took 50 ms to start.
        let guest_mac = "52:54:00:12:34:56\t";
        let host_mac = "52:55:0a:00:02:02\t";
        let lines = [
            format!("100.011\t{guest_mac}\t\t\t1\t68"),
            format!("100.012\t{host_mac}\t\t\t2\t67"),
            format!("100.020\t{guest_mac}\t\t\t3\t68"),
            format!("100.021\t{host_mac}\t\t\t5\t67"),
            format!("100.022\t{guest_mac}1\t0.0.0.0\t10.0.2.15\t\t"),
            format!("100.070\t{guest_mac}1\t10.0.2.15\t10.0.2.15\t\t"),
            format!("100.071\t{guest_mac}1\t10.0.2.15\t10.0.2.2\t\t"),
            format!("100.072\t{host_mac}2\t10.0.2.2\t10.0.2.15\t\t"),
            format!("100.250\t{guest_mac}\t\t\t\t{ECHO_PORT}"),
        ];
        let frames: Vec<Frame> = lines.iter().map(|l| parse_frame(l).unwrap()).collect();
        let guest: Counters = [
            ("boot_main_us", 2_000),
            ("boot_exec_sh_us", 150_000),
            // After the echo: not the boot's.
            ("boot_exec_netstat_us", 400_000),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
        let t = timeline_of(&host(300, (100, 100)), &guest, &frames).unwrap();
        assert!((t.qemu_startup_s - 0.05).abs() < 1e-9);
        let whats: Vec<&str> = t.events.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(
            whats,
            [
                "QEMU started",
                "the guest's clock starts",
                "kernel entry (hart 0 in main)",
                "DHCP DISCOVER",
                "DHCP OFFER",
                "DHCP REQUEST",
                "DHCP ACK",
                "ARP probe 1 for 10.0.2.15",
                "ARP announcement of 10.0.2.15 (lease bound)",
                "first ARP request of the guest, for 10.0.2.2",
                "ARP reply from 10.0.2.2",
                "the shell's prompt seen",
                "`udpecho 7 &` typed",
                "sh exec'd",
                "`udpecho: listening` seen",
                "first echo leaves the guest",
                "first echo back at the host",
            ]
        );
        let probe = &t.events[7];
        assert!((probe.at_s - 0.072).abs() < 1e-9 && (probe.after_previous_s - 0.001).abs() < 1e-9);
        assert!((t.first_echo_s() - 0.3).abs() < 1e-9);
    }

    #[test]
    fn guest_steps_read_as_words() {
        assert_eq!(guest_step("boot_exec_udpecho_us"), "udpecho exec'd");
        assert_eq!(guest_step("boot_hart2_us"), "hart 2 in its scheduler");
        assert_eq!(guest_step("boot_fs_us"), "file system ready (log replayed)");
    }
}
