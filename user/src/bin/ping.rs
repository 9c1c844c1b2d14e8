//! ping: ICMP echo through a SOCK_ICMP socket, like ping(8).
//! `ping [-c count] [-i interval_ms] [-s size] <host>` (count 4, 1000 ms, 56
//! bytes by default); the host is an address or a name (`ulib::dns`). Per reply: size, sequence and round-trip time in
//! milliseconds (from the `time` counter, to the microsecond); then a
//! summary. Every reply is reported: one that comes after its successor
//! was sent is marked `(late)`, a second one `(DUP!)`, one with a sequence
//! number never sent says so. When the next hop does not answer ARP the
//! kernel reports EHOSTUNREACH and ping prints "Destination Host
//! Unreachable", as Linux does. A size past one frame (up to 65,507 bytes,
//! as on Linux) goes out in IPv4 fragments; a reply whose data differs from
//! what was sent is reported `wrong data` and not counted. Exit status 0
//! if any reply came back. The
//! echo request is built with the generated `wire::icmpv4` structs; the
//! kernel sets the identifier to the socket's and fills the checksum.
#![no_std]
#![no_main]

extern crate alloc;
use abi::syscall::TICK_HZ;
use abi::Errno;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ulib::echo;
use ulib::inet::Ip;
use ulib::socket::Socket;
use ulib::time::{now_us, Millis};
use ulib::{args, netinfo, sys};

ulib::entry!(main);

const MS_PER_TICK: u64 = 1000 / TICK_HZ;
const USAGE: &str = "ping [-c count] [-i interval_ms] [-s size] <host>";
/// The largest echo data: what an IPv4 datagram holds after its header and
/// the echo header (65,507 bytes; sent in fragments past one frame).
const MAX_SIZE: u64 = (wire::ipv4::MAX_DATAGRAM as usize
    - wire::ipv4::Ipv4Header::LEN
    - echo::ECHO_HEADER_LEN) as u64;

struct Opts<'a> {
    count: u32,
    interval: u64,
    size: usize,
    /// An address or a name.
    dest: &'a str,
}

fn parse<'a>(argv: &[&'a str]) -> Result<Opts<'a>, String> {
    let (mut count, mut interval, mut size, mut dest) = (4u32, 1000u64, 56usize, None);
    let mut it = argv.iter().skip(1).copied();
    while let Some(a) = it.next() {
        match a {
            "-c" => count = args::number(a, it.next(), 1..=1_000_000)? as u32,
            "-i" => interval = args::number(a, it.next(), 0..=60_000)?,
            "-s" => size = args::number(a, it.next(), 0..=MAX_SIZE)? as usize,
            _ if a.starts_with('-') => return Err(alloc::format!("unknown option {a}")),
            _ => {
                if let Some(first) = dest {
                    return Err(alloc::format!(
                        "{a}: one destination only ({first} came first)"
                    ));
                }
                dest = Some(a);
            }
        }
    }
    let dest = dest.ok_or_else(|| String::from("no destination address"))?;
    Ok(Opts {
        count,
        interval,
        size,
        dest,
    })
}

/// What came back for each sequence number sent so far.
struct Replies {
    /// When each was sent (µs), by sequence number - 1.
    sent_us: Vec<u64>,
    answered: Vec<bool>,
    received: u32,
    duplicates: u32,
    min: u64,
    max: u64,
    sum: u64,
}

impl Replies {
    /// Reports the echo reply `msg` from `from` to a request that carried
    /// `data`; true if it answers `waiting`.
    fn report(&mut self, msg: &[u8], from: [u8; 4], data: &[u8], waiting: u16) -> bool {
        let (n, from) = (msg.len(), Ip(from));
        let Some((seq, echoed)) = echo::parse_reply(msg) else {
            ulib::println!("{} bytes from {}: not an echo reply", n, from);
            return false;
        };
        if echoed != data {
            ulib::println!("{} bytes from {}: icmp_seq={} wrong data", n, from, seq);
            return false;
        }
        let i = seq as usize;
        if i == 0 || i > self.sent_us.len() {
            ulib::println!("{} bytes from {}: icmp_seq={} was never sent", n, from, seq);
            return false;
        }
        let rtt = now_us() - self.sent_us[i - 1];
        let note = if self.answered[i - 1] {
            self.duplicates += 1;
            " (DUP!)"
        } else {
            self.answered[i - 1] = true;
            self.received += 1;
            (self.min, self.max, self.sum) = (self.min.min(rtt), self.max.max(rtt), self.sum + rtt);
            if seq == waiting {
                ""
            } else {
                " (late)"
            }
        };
        ulib::println!(
            "{} bytes from {}: icmp_seq={} time={} ms{}",
            n,
            from,
            seq,
            Millis(rtt),
            note
        );
        seq == waiting && note.is_empty()
    }
}

fn main(argv: &[&str]) -> i32 {
    let o = match parse(argv) {
        Ok(o) => o,
        Err(problem) => return args::bad("ping", &problem, USAGE),
    };
    let sock = match Socket::icmp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("ping", "socket", e),
    };
    let me = netinfo::get_ifconfig().map(|c| c.addr).unwrap_or([0; 4]);
    let unreachable = || ulib::println!("From {}: Destination Host Unreachable", Ip(me));
    let dest = match ulib::dns::lookup_for("ping", o.dest) {
        Ok(ip) => ip,
        Err(status) => return status,
    };
    let to = abi::net::SockAddrIn::new(dest, 0);
    let data: Vec<u8> = (0..o.size).map(|i| i as u8).collect();
    let mut reply = vec![0u8; echo::ECHO_HEADER_LEN + o.size + 64];
    if ulib::inet::parse_ip(o.dest).is_some() {
        ulib::println!("PING {} {} data bytes", Ip(dest), o.size);
    } else {
        ulib::println!("PING {} ({}) {} data bytes", o.dest, Ip(dest), o.size);
    }

    let mut r = Replies {
        sent_us: Vec::new(),
        answered: Vec::new(),
        received: 0,
        duplicates: 0,
        min: u64::MAX,
        max: 0,
        sum: 0,
    };
    let (mut sent, mut errors) = (0u32, 0u32);
    let start = sys::uptime();
    for seq in 1..=o.count {
        let pkt = echo::request(seq as u16, &data);
        let t0 = sys::uptime();
        r.sent_us.push(now_us());
        r.answered.push(false);
        // An earlier packet's failure is reported on this call (and this
        // packet not sent): say so, and send it after all.
        let mut result = sock.send_to(&pkt, to);
        if result == Err(Errno::EHOSTUNREACH) {
            unreachable();
            errors += 1;
            result = sock.send_to(&pkt, to);
        }
        match result {
            Ok(_) => sent += 1,
            Err(e) => {
                ulib::fail("ping", "sendto", e);
                continue;
            }
        }
        // Wait for this reply until the interval (at least 1 s) is over.
        let wait_ms = o.interval.max(1000);
        loop {
            let waited = (sys::uptime() - t0) * MS_PER_TICK;
            if waited >= wait_ms {
                break;
            }
            let _ = sock.set_timeout(wait_ms - waited);
            match sock.recv_from(&mut reply) {
                Ok((n, from)) => {
                    if r.report(&reply[..n], from.addr_be, &data, seq as u16) {
                        break;
                    }
                }
                Err(Errno::EHOSTUNREACH) => {
                    unreachable();
                    errors += 1;
                }
                Err(Errno::ETIMEDOUT) | Err(Errno::EAGAIN) => break,
                Err(e) => {
                    ulib::fail("ping", "recvfrom", e);
                    break;
                }
            }
        }
        if seq < o.count {
            let elapsed = (sys::uptime() - t0) * MS_PER_TICK;
            if elapsed < o.interval {
                let _ = sys::sleep(((o.interval - elapsed) / MS_PER_TICK) as usize);
            }
        }
    }
    let total_ms = (sys::uptime() - start) * MS_PER_TICK;
    let loss = ((sent - r.received.min(sent)) * 100)
        .checked_div(sent)
        .unwrap_or(100);
    let mut extra = String::new();
    if r.duplicates > 0 {
        extra += &alloc::format!(", +{} duplicates", r.duplicates);
    }
    if errors > 0 {
        extra += &alloc::format!(", +{} errors", errors);
    }
    ulib::println!("--- {} ping statistics ---", o.dest);
    ulib::println!(
        "{} packets transmitted, {} received{}, {}% packet loss, time {}ms",
        sent,
        r.received,
        extra,
        loss,
        total_ms
    );
    if r.received > 0 {
        ulib::println!(
            "rtt min/avg/max = {}/{}/{} ms",
            Millis(r.min),
            Millis(r.sum / r.received as u64),
            Millis(r.max)
        );
        0
    } else {
        1
    }
}
