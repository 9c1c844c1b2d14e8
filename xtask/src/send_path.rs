//! The guest's send path through the NIC, checked by its counters: a
//! burst of datagrams from `udpblast` to a host socket, after which
//! `netstat` must show that the driver negotiated the virtio event index,
//! judged every frame it posted (notified the device or found it still
//! reading the ring), that event index saved notifications, and that the
//! send-path profile (`txprof_*`) followed each datagram.
use anyhow::{ensure, Context, Result};
use std::net::UdpSocket;
use std::time::Duration;

use crate::bench_udp;
use crate::console::Console;
use crate::guestnet::{self, Counters};

/// Datagrams in the burst, and their size.
const BURST: u64 = 2000;
const SIZE: usize = 1024;

pub fn check(con: &mut Console) -> Result<()> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let port = sock.local_addr()?.port();
    let before = guestnet::netstat(con)?;
    con.send_line(&format!("udpblast 10.0.2.2 {port} {BURST} {SIZE}"))?;
    let received = bench_udp::receive_stream(&sock, BURST as usize);
    let out = con.expect("$ ", Duration::from_secs(60))?;
    ensure!(
        out.contains(&format!("sent {BURST}")),
        "udpblast did not send its burst:\n{out}"
    );
    let (per_sec, received) = received.context("udpblast's burst at the host")?;
    let after = guestnet::netstat(con)?;
    let moved = |name: &str| -> Result<u64> {
        let now = after
            .get(name)
            .with_context(|| format!("netstat has no {name}"))?;
        Ok(now - before.get(name).copied().unwrap_or(0))
    };
    eprintln!("{received} of {BURST} datagrams at the host, {per_sec:.0}/s");

    ensure!(
        after.get("virtio_net_event_idx") == Some(&1),
        "the NIC runs without event index (virtio_net_event_idx {:?})",
        after.get("virtio_net_event_idx")
    );
    let (notified, saved) = (
        moved("virtio_net_tx_notifies")?,
        moved("virtio_net_tx_notifies_saved")?,
    );
    eprintln!("TX notifications: {notified} sent, {saved} saved");
    ensure!(
        notified + saved >= BURST,
        "the driver judged {notified} + {saved} submits for {BURST} datagrams"
    );
    ensure!(notified > 0, "the device was never notified of a frame");
    ensure!(
        saved > 0,
        "every one of {notified} frames notified the device: event index saved nothing"
    );
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
    Ok(())
}

/// The RX side: every interrupt took at least one frame (or a sent one
/// back), and each RX buffer reposted was judged.
pub fn check_rx(before: &Counters, after: &Counters) -> Result<()> {
    let moved = |name: &str| -> Result<u64> {
        let now = after
            .get(name)
            .with_context(|| format!("netstat has no {name}"))?;
        Ok(now - before.get(name).copied().unwrap_or(0))
    };
    let (irqs, frames) = (moved("virtio_net_interrupts")?, moved("frames_in")?);
    let reposts = moved("virtio_net_rx_notifies")? + moved("virtio_net_rx_notifies_saved")?;
    eprintln!("RX: {frames} frames, {irqs} interrupts, {reposts} ring refills");
    ensure!(
        (1..=frames).contains(&irqs),
        "{irqs} interrupts for {frames} frames received"
    );
    ensure!(
        reposts >= 1 && reposts <= frames,
        "{reposts} ring refills for {frames} frames received"
    );
    Ok(())
}
