//! Load: many round trips from one process, round trips from several
//! processes at once, a flood on one port while another keeps working, and
//! the resource check that every page and mbuf came back.

use crate::util::{echo_addr, echo_once, start_free_pages, start_mbufs_free, udp};
use abi::Errno;
use alloc::format;
use alloc::vec::Vec;
use ulib::ensure;
use ulib::testing::{Check, TestResult};
use ulib::{netinfo, sys};

/// 200 round trips, one after another, each with its own payload.
pub fn manyroundtrips() -> TestResult {
    const N: usize = 200;
    let s = udp(1000)?;
    let t0 = sys::uptime();
    for i in 0..N {
        echo_once(&s, format!("round trip {i}").as_bytes(), 1000)
            .map_err(|e| format!("#{i}: {e}"))?;
    }
    let ticks = (sys::uptime() - t0).max(1);
    ulib::println!(
        "  {} round trips in {} ms ({} per s)",
        N,
        ticks * 10,
        N as u64 * 100 / ticks
    );
    Ok(())
}

/// Four processes, each with its own socket, doing round trips at once.
pub fn concurrent() -> TestResult {
    const NPROC: usize = 4;
    const N: usize = 50;
    for p in 0..NPROC {
        if sys::fork().or_fail("fork")? == 0 {
            let r = (|| {
                let s = udp(2000)?;
                for i in 0..N {
                    echo_once(&s, format!("proc {p} trip {i}").as_bytes(), 2000)?;
                }
                Ok::<(), alloc::string::String>(())
            })();
            if let Err(e) = r {
                ulib::println!("  concurrent: process {}: {}", p, e);
                sys::exit(1);
            }
            sys::exit(0);
        }
    }
    let mut bad = 0;
    for _ in 0..NPROC {
        let (_, st) = sys::wait().or_fail("wait")?;
        if st != 0 {
            bad += 1;
        }
    }
    ensure!(bad == 0, "{} of {} processes failed", bad, NPROC);
    Ok(())
}

/// Sum of every counter whose name says it counts drops.
fn drops() -> u64 {
    netinfo::counters()
        .map(|cs| {
            cs.iter()
                .filter(|c| c.name().contains("drop"))
                .map(|c| c.value)
                .sum()
        })
        .unwrap_or(0)
}

/// Hundreds of datagrams echoed to a socket that does not read, while a
/// second socket keeps doing round trips; the flooded queue stays bounded
/// and what does not fit is dropped and counted.
pub fn flood() -> TestResult {
    const N: usize = 400;
    let f = udp(0)?;
    f.bind_port(0).or_fail("bind flooded socket")?;
    let fport = f.local_addr().or_fail("getsockname")?.port();
    let g = udp(2000)?;
    let drops_before = drops();
    let payload = [b'F'; 64];
    let mut sent = 0;
    for i in 0..N {
        match f.send_to(&payload, echo_addr()) {
            Ok(_) => sent += 1,
            Err(Errno::ENOBUFS) | Err(Errno::EAGAIN) => sys::sleep(1).or_fail("sleep")?,
            Err(e) => return Err(format!("flood sendto #{i}: {}", e.message())),
        }
        if i % 50 == 49 {
            echo_once(&g, format!("during flood {i}").as_bytes(), 2000)?;
        }
    }
    sys::sleep(50).or_fail("sleep")?; // let the echoes land
    echo_once(&g, b"after flood", 2000)?;
    let info = netinfo::sockets().or_fail("socklist")?;
    let fi = info.iter().find(|s| s.local.port() == fport);
    ensure!(
        fi.is_some(),
        "flooded socket (port {}) not in socklist",
        fport
    );
    let fi = fi.unwrap();
    f.set_nonblocking(true).or_fail("set_nonblocking")?;
    let mut got = 0;
    let mut buf = [0u8; 128];
    while let Ok(n) = f.recv(&mut buf) {
        ensure!(
            n == 64 && buf[..64] == payload,
            "flooded socket got a foreign datagram"
        );
        got += 1;
    }
    ulib::println!(
        "  flood: sent {}, queued {}, received {}, socket dropped {}",
        sent,
        fi.rx_queued,
        got,
        fi.rx_dropped
    );
    ensure!(got > 0, "the flooded socket received nothing");
    ensure!(
        got as u32 >= fi.rx_queued,
        "socklist said {} queued but {} came out",
        fi.rx_queued,
        got
    );
    if got < sent {
        ensure!(
            fi.rx_dropped > 0 || drops() > drops_before,
            "{} datagrams lost without a drop counted",
            sent - got
        );
    }
    Ok(())
}

/// Free pages and free mbufs are what they were before the first test.
pub fn resources() -> TestResult {
    sys::sleep(20).or_fail("sleep")?; // let transmissions complete
    let mut problems = Vec::new();
    let pages = sys::sysinfo().or_fail("sysinfo")?.free_pages;
    if pages < start_free_pages() {
        problems.push(format!(
            "{} pages lost ({} -> {})",
            start_free_pages() - pages,
            start_free_pages(),
            pages
        ));
    }
    match (
        start_mbufs_free(),
        netinfo::counter("mbufs_free").or_fail("netstat")?,
    ) {
        (Some(before), Some(now)) if now != before => {
            problems.push(format!("mbufs_free {} at start, {} now", before, now))
        }
        (None, _) | (_, None) => problems.push("no mbufs_free counter".into()),
        _ => {}
    }
    ensure!(problems.is_empty(), "{}", problems.join("; "));
    Ok(())
}
