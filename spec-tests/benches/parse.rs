//! Parse benchmark: view + validate (lengths, IPv4 and UDP checksums) + demux
//! of a real Ethernet/IPv4/UDP frame, through the generated `parse` functions
//! the stack's receive path calls, and
//! the same work with etherparse and with smoltcp's `wire` module.
//!
//! `cargo bench -p spec-tests --features bench`. Criterion reports each;
//! afterwards a same-run comparison prints the ratios (theirs / ours).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use spec_tests::captures::UDP_TO_LISTENER;

/// Ours: the generated views and dispatch table.
fn wire(frame: &[u8]) -> Option<usize> {
    use wire::dispatch::{ethernet_next, ipv4_next, EthernetNext, Ipv4Next};
    use wire::{ethernet::EthernetHeader, ipv4::Ipv4Header, udp::UdpHeader};
    let eth = EthernetHeader::parse(frame).ok()?;
    if ethernet_next(eth.header.ethertype()) != EthernetNext::Ipv4 {
        return None;
    }
    let ip = Ipv4Header::parse(eth.payload).ok()?;
    Ipv4Header::options(&ip).check().ok()?;
    if ipv4_next(ip.header.protocol()) != Ipv4Next::Udp {
        return None;
    }
    let datagram = UdpHeader::parse(ip.payload, ip.header.src(), ip.header.dst()).ok()?;
    Some(datagram.payload.len())
}

fn etherparse(frame: &[u8]) -> Option<usize> {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    let p = SlicedPacket::from_ethernet(frame).ok()?;
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        return None;
    };
    let header = ip.header();
    if header.to_header().calc_header_checksum() != header.header_checksum() {
        return None;
    }
    let Some(TransportSlice::Udp(udp)) = &p.transport else {
        return None;
    };
    let sum = udp
        .to_header()
        .calc_checksum_ipv4_raw(header.source(), header.destination(), udp.payload())
        .ok()?;
    if udp.checksum() != 0 && sum != udp.checksum() {
        return None;
    }
    Some(udp.payload().len())
}

fn smoltcp(frame: &[u8]) -> Option<usize> {
    use smoltcp::wire::{
        EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, UdpPacket,
    };
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if !ip.verify_checksum() || ip.next_header() != IpProtocol::Udp {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    if !udp.verify_checksum(
        &IpAddress::Ipv4(ip.src_addr()),
        &IpAddress::Ipv4(ip.dst_addr()),
    ) {
        return None;
    }
    Some(udp.payload().len())
}

type Parser = fn(&[u8]) -> Option<usize>;
const PARSERS: [(&str, Parser); 3] = [
    ("wire (generated)", wire),
    ("etherparse", etherparse),
    ("smoltcp", smoltcp),
];

/// Best of 7 rounds of 200k parses, in ns per frame.
fn ns_per_frame(f: Parser) -> f64 {
    (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..200_000 {
                black_box(f(black_box(&UDP_TO_LISTENER)));
            }
            start.elapsed().as_secs_f64() * 1e9 / 200_000.0
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    for (name, f) in PARSERS {
        assert_eq!(
            f(&UDP_TO_LISTENER),
            Some(12),
            "{name} does not accept the frame"
        );
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut group = c.benchmark_group("eth-ipv4-udp parse+checksum+demux");
    for (name, f) in PARSERS {
        group.bench_function(name, |b| b.iter(|| f(black_box(&UDP_TO_LISTENER))));
    }
    group.finish();

    let ours = ns_per_frame(wire);
    println!("\nsame-run comparison (best of 7 x 200k frames):");
    for (name, f) in PARSERS {
        let ns = if name.starts_with("wire") {
            ours
        } else {
            ns_per_frame(f)
        };
        println!(
            "  {name:<18} {ns:>7.1} ns/frame   ratio to wire: {:.2}",
            ns / ours
        );
    }
}
