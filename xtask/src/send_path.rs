//! The guest's send path through the NIC, checked by its counters. Two
//! bursts of datagrams from `udpblast` to a host socket:
//! - one `sendto` each: `netstat` must show that the driver negotiated
//!   the virtio event index and judged every frame it posted (notified the
//!   device, or found it still reading the ring: how often depends on how
//!   busy the host keeps QEMU, so either may be all), and that the
//!   send-path profile (`txprof_*`) followed each datagram;
//! - 32 per `sendmmsg`: one notification covers many frames, and when the
//!   device falls behind the sender is told (ENOBUFS, and udpblast tries
//!   again) instead of the driver dropping frames (`drop_tx_ring_full`).
use anyhow::{ensure, Context, Result};
use std::net::UdpSocket;
use std::time::Duration;

use crate::bench_udp;
use crate::console::Console;
use crate::guestnet::{self, Counters};

/// Datagrams in each burst, and their size.
const BURST: u64 = 2000;
const SIZE: usize = 1024;

pub fn check(con: &mut Console) -> Result<()> {
    let (before, after) = burst(con, 1)?;
    let moved = |name: &str| growth(&before, &after, name);
    ensure!(
        after.get("virtio_net_event_idx") == Some(&1),
        "the NIC runs without event index (virtio_net_event_idx {:?})",
        after.get("virtio_net_event_idx")
    );
    let (notified, saved) = (
        moved("virtio_net_tx_notifies")?,
        moved("virtio_net_tx_notifies_saved")?,
    );
    eprintln!("one sendto each: {notified} TX notifications, {saved} frames without one");
    ensure!(
        notified + saved >= BURST,
        "the driver counted {notified} + {saved} frames for {BURST} datagrams"
    );
    ensure!(notified > 0, "the device was never notified of a frame");
    for stage in ["copyin", "stack", "driver"] {
        let n = moved(&format!("txprof_{stage}_n"))?;
        ensure!(
            n >= BURST,
            "txprof_{stage}_n moved {n} for {BURST} datagrams"
        );
        ensure!(
            moved(&format!("txprof_{stage}_us"))? > 0,
            "txprof_{stage}_us did not move"
        );
    }

    let (before, after) = burst(con, 32)?;
    let moved = |name: &str| growth(&before, &after, name);
    let (notified, saved) = (
        moved("virtio_net_tx_notifies")?,
        moved("virtio_net_tx_notifies_saved")?,
    );
    eprintln!("32 per sendmmsg: {notified} TX notifications, {saved} frames without one");
    ensure!(
        notified + saved >= BURST,
        "the driver counted {notified} + {saved} frames for {BURST} datagrams"
    );
    // At most about one per call of 32 (more when a call comes back short
    // and is made again).
    ensure!(
        (1..=BURST / 8).contains(&notified),
        "{notified} TX notifications for {BURST} datagrams in batches of 32"
    );
    let dropped = moved("drop_tx_ring_full")?;
    ensure!(
        dropped == 0,
        "the driver dropped {dropped} frames of the burst on a full ring"
    );
    Ok(())
}

/// Sends a burst in calls of `batch` datagrams; the counters before and after.
fn burst(con: &mut Console, batch: usize) -> Result<(Counters, Counters)> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let port = sock.local_addr()?.port();
    let before = guestnet::netstat(con)?;
    con.send_line(&format!("udpblast 10.0.2.2 {port} {BURST} {SIZE} {batch}"))?;
    let received = bench_udp::receive_stream(&sock, BURST as usize);
    let out = con.expect("$ ", Duration::from_secs(60))?;
    ensure!(
        out.contains(&format!("sent {BURST}")),
        "udpblast did not send its burst:\n{out}"
    );
    let (per_sec, received) = received.context("udpblast's burst at the host")?;
    eprintln!("{received} of {BURST} datagrams at the host, {per_sec:.0}/s");
    Ok((before, guestnet::netstat(con)?))
}

fn growth(before: &Counters, after: &Counters, name: &str) -> Result<u64> {
    let now = after
        .get(name)
        .with_context(|| format!("netstat has no {name}"))?;
    Ok(now - before.get(name).copied().unwrap_or(0))
}

/// The RX side: every interrupt took at least one frame (or a sent one
/// back), and each RX buffer reposted was counted.
pub fn check_rx(before: &Counters, after: &Counters) -> Result<()> {
    let moved = |name: &str| growth(before, after, name);
    let (irqs, frames) = (moved("virtio_net_interrupts")?, moved("frames_in")?);
    let reposts = moved("virtio_net_rx_notifies")? + moved("virtio_net_rx_notifies_saved")?;
    eprintln!("RX: {frames} frames, {irqs} interrupts, {reposts} buffers reposted");
    ensure!(
        (1..=frames).contains(&irqs),
        "{irqs} interrupts for {frames} frames received"
    );
    ensure!(
        (1..=frames).contains(&reposts),
        "{reposts} buffers reposted for {frames} frames received"
    );
    Ok(())
}
