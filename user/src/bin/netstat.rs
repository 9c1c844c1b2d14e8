//! netstat: the network stack at a glance. By default: every open socket
//! (for TCP its state and the bytes queued each way),
//! the counters that are not zero, and the mbuf balance (every buffer of
//! the pool and where it is: free, posted in the RX ring, queued on a
//! socket, waiting for ARP, on TX). `netstat -a`: every counter, zero or
//! not, one `name value` line each after `Counters:` (what the host's
//! tests parse). `netstat -t`: the kernel's receive-path and send-path
//! profiles, stage by stage.
#![no_std]
#![no_main]

extern crate alloc;
use abi::net::{Counter, HART_COUNTERS, SOCK_DGRAM, SOCK_ICMP, SOCK_STREAM, TCP_STATES};
use alloc::format;
use alloc::string::String;
use ulib::inet::Addr;
use ulib::{args, netinfo};

ulib::entry!(main);

const USAGE: &str = "netstat [-a | -t]";

/// Where a pool's mbufs can be, each its own term of the balance (the
/// kernel exports those it tracks), after `mbufs_total`.
const MBUF_STATES: &[(&str, &str)] = &[
    ("mbufs_free", "free"),
    ("mbufs_rx_posted", "in the RX ring"),
    ("mbufs_socket", "queued on sockets"),
    ("mbufs_arp_wait", "waiting for ARP"),
    ("mbufs_tx_inflight", "on TX"),
    ("mbufs_reassembly", "fragments held for reassembly"),
];

fn sockets() -> i32 {
    let list = match netinfo::sockets() {
        Ok(l) => l,
        Err(e) => return ulib::fail("netstat", "socklist", e),
    };
    ulib::println!(
        "Proto {:<21} {:<21} {:>6} {:>8} {:>6} State",
        "Local",
        "Remote",
        "RecvQ",
        "Dropped",
        "SendQ"
    );
    for s in &list {
        let (proto, state) = match s.kind as usize {
            SOCK_DGRAM => ("udp", ""),
            SOCK_ICMP => ("icmp", ""),
            SOCK_STREAM => (
                "tcp",
                TCP_STATES.get(s.state as usize).copied().unwrap_or("?"),
            ),
            _ => ("?", ""),
        };
        ulib::println!(
            "{:<5} {:<21} {:<21} {:>6} {:>8} {:>6} {}",
            proto,
            Addr(s.local),
            Addr(s.remote),
            s.rx_queued,
            s.rx_dropped,
            s.tx_queued,
            state
        );
    }
    if list.is_empty() {
        ulib::println!("(no sockets open)");
    }
    0
}

/// "128 total = 90 free + 36 in the RX ring + 2 waiting for ARP", with the
/// states the kernel exports; what they leave out is shown as its own term.
fn balance(counters: &[Counter]) -> Option<String> {
    let get = |name: &str| counters.iter().find(|c| c.name() == name).map(|c| c.value);
    let total = get("mbufs_total")?;
    let mut line = format!("{total} total =");
    let (mut sum, mut tracked) = (0, 0);
    for (name, what) in MBUF_STATES {
        if let Some(v) = get(name) {
            line += &format!("{} {v} {what}", if tracked == 0 { "" } else { " +" });
            sum += v;
            tracked += 1;
        }
    }
    if sum != total {
        // With every state exported, a difference is a leak; an older
        // kernel exports fewer states, and the rest sits in the stack.
        let rest = if tracked == MBUF_STATES.len() {
            "unaccounted (leaked?)"
        } else {
            "held in the stack (sockets, ARP)"
        };
        line += &format!(" + {} {rest}", total as i64 - sum as i64);
    }
    Some(line)
}

fn counters(all: bool) -> i32 {
    let list = match netinfo::counters() {
        Ok(l) => l,
        Err(e) => return ulib::fail("netstat", "netstat", e),
    };
    if all {
        ulib::println!("Counters:");
        for c in &list {
            ulib::println!("  {:<32} {}", c.name(), c.value);
        }
        return 0;
    }
    let pool_state =
        |c: &&Counter| c.name() == "mbufs_total" || MBUF_STATES.iter().any(|(n, _)| *n == c.name());
    let moved: alloc::vec::Vec<&Counter> = list
        .iter()
        .filter(|c| c.value != 0)
        .filter(|c| !pool_state(c))
        .collect();
    ulib::println!(
        "Counters not zero ({} of {}; netstat -a shows all):",
        moved.len(),
        list.len()
    );
    for c in moved {
        ulib::println!("  {:<32} {}", c.name(), c.value);
    }
    if let Some(line) = balance(&list) {
        ulib::println!("Mbufs: {}", line);
    }
    0
}

fn main(argv: &[&str]) -> i32 {
    let all = match &argv[1..] {
        [] => false,
        ["-a"] => true,
        ["-t"] => return profile(),
        [a, ..] if a.starts_with('-') && !matches!(*a, "-a" | "-t") => {
            return args::bad("netstat", &format!("unknown option {a}"), USAGE)
        }
        [_, extra, ..] | [extra] => {
            return args::bad("netstat", &format!("{extra}: unexpected argument"), USAGE)
        }
    };
    sockets().max(counters(all))
}

/// The `rxprof_<stage>_{n,us,max_us}` counters as one line per stage, then
/// the send path's `txprof_<stage>_*` (as `tx_<stage>`).
fn profile() -> i32 {
    let list = match netinfo::counters() {
        Ok(l) => l,
        Err(e) => return ulib::fail("netstat", "netstat", e),
    };
    let get = |name: &str| list.iter().find(|c| c.name() == name).map(|c| c.value);
    ulib::println!(
        "{:<16} {:>10} {:>10} {:>10}",
        "stage",
        "datagrams",
        "mean_us",
        "max_us"
    );
    let rx = [
        "irq_to_stack",
        "stack_to_queue",
        "queue_to_recv",
        "recv_to_user",
    ]
    .map(|stage| ("rxprof", "", stage));
    let tx = ["copyin", "stack", "driver"].map(|stage| ("txprof", "tx_", stage));
    for (counters, shown, stage) in rx.into_iter().chain(tx) {
        let field = |suffix: &str| get(&format!("{counters}_{stage}_{suffix}")).unwrap_or(0);
        let n = field("n");
        ulib::println!(
            "{:<16} {:>10} {:>10} {:>10}",
            format!("{shown}{stage}"),
            n,
            field("us") / n.max(1),
            field("max_us")
        );
    }
    harts(&list, &get);
    0
}

/// What each hart did (`hart<N>_*`): the wake-ups from `wfi`, the
/// interrupts it took, the datagrams processes received on it, its spins
/// on busy locks, its idle time; then the wake-up IPIs' latency and the
/// spins on each lock (`spins_<lock>`).
fn harts(list: &[Counter], get: &dyn Fn(&str) -> Option<u64>) {
    let mut head = String::from("hart");
    for f in HART_COUNTERS {
        head += &format!(" {f:>10}");
    }
    ulib::println!("{}", head);
    for hart in 0.. {
        if get(&format!("hart{hart}_idle_us")).is_none() {
            break;
        }
        let mut line = format!("{hart:<4}");
        for f in HART_COUNTERS {
            let v = get(&format!("hart{hart}_{f}")).unwrap_or(0);
            line += &format!(" {v:>10}");
        }
        ulib::println!("{}", line);
    }
    let timed = get("ipi_latency_n").unwrap_or(0);
    ulib::println!(
        "ipis sent {}, latency mean_us {} max_us {}",
        get("ipi_sent").unwrap_or(0),
        get("ipi_latency_us").unwrap_or(0) / timed.max(1),
        get("ipi_latency_max_us").unwrap_or(0)
    );
    let mut spins = String::from("lock spins:");
    for c in list.iter().filter(|c| c.name().starts_with("spins_")) {
        spins += &format!(" {} {}", &c.name()["spins_".len()..], c.value);
    }
    ulib::println!("{}", spins);
}
