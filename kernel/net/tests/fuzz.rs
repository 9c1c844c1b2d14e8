//! Fuzzing the whole receive path, on stable with proptest.
//!
//! Each case builds a stack with a bound UDP socket, a connected one, an
//! echo socket, an address waiting for ARP and live TCP connections (a
//! listener, a connection it accepted, one we opened, each holding data
//! both ways), then feeds it a sequence of frames — arbitrary bytes, valid
//! seed frames (ARP, ping, UDP, unreachable, echo reply, IPv4 options, TCP
//! segments of every kind to each connection) with random mutations, their checksums
//! optionally repaired so the mutation reaches the deeper layers, or a
//! datagram behind arbitrary IPv4 option bytes — with clock ticks in
//! between. It checks that nothing panics, that every frame
//! the stack sends is well-formed, and that once the sockets are closed,
//! TCP has finished and ARP has given up every mbuf is back in the pool.
//!
//! `cargo test -p net --test fuzz` runs 64 cases; a long run:
//! `PROPTEST_CASES=200000 cargo test -p net --release --test fuzz`.
//! Failing inputs are saved under `proptest-regressions/` and replayed first.

mod common;

/// Frames captured from a real Linux stack (kept by spec-tests).
#[allow(dead_code)]
#[path = "../../../spec-tests/src/captures.rs"]
mod captures;

use abi::net::SockAddrIn;
use common::*;
use net::{Buf, Pool, SocketKind};
use proptest::prelude::*;
use wire::arp::ArpOperation;
use wire::dispatch::{ethernet_next, ipv4_next, EthernetNext, Ipv4Next};
use wire::ethernet::{EtherType, EthernetHeader, BROADCAST};
use wire::icmpv4::{Icmpv4DestUnreachable, Icmpv4Header, Icmpv4Type, Icmpv4UnreachableCode};
use wire::ipv4::{IpProtocol, Ipv4Header, Ipv4OptionKind};
use wire::udp::UdpHeader;
use zerocopy::FromBytes;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
}

/// One pool per test thread, reused by its cases (which run one after
/// another), so a leak in one case shows in the next.
fn pool() -> &'static Pool {
    thread_local! {
        static POOL: &'static Pool = Box::leak(Box::new(Pool::<[Buf; 512]>::new()));
    }
    POOL.with(|p| *p)
}

/// The capture's two hosts (10.9.0.1 and .2, MACs 02:..:01 and 02:..:02).
const CAP_MAC: [[u8; 6]; 2] = [[2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]];
const CAP_IP: [[u8; 4]; 2] = [[10, 9, 0, 1], [10, 9, 0, 2]];
/// The port the capture's UDP listener used.
const CAP_LISTENER: u16 = 7777;

/// Rewrites a captured frame so its receiver is us and its sender the
/// gateway (addresses in the Ethernet, ARP, IPv4 and quoted IPv4 headers),
/// then repairs the checksums.
fn translate(captured: &[u8]) -> Vec<u8> {
    let mut f = captured.to_vec();
    let Ok((e, _)) = EthernetHeader::mut_from_prefix(&mut f) else {
        return f;
    };
    let me = if e.dst() == CAP_MAC[0] { 0 } else { 1 };
    let mac = |m: [u8; 6]| match CAP_MAC.iter().position(|&c| c == m) {
        Some(i) if i == me => OUR_MAC,
        Some(_) => GW_MAC,
        None => m,
    };
    let ip = |a: [u8; 4]| match CAP_IP.iter().position(|&c| c == a) {
        Some(i) if i == me => OUR_IP,
        Some(_) => GW_IP,
        None => a,
    };
    e.set_dst(mac(e.dst()));
    e.set_src(mac(e.src()));
    let ethertype = e.ethertype();
    let body = &mut f[EthernetHeader::LEN..];
    match ethernet_next(ethertype) {
        EthernetNext::Arp => {
            if let Ok((a, _)) = wire::arp::ArpPacket::mut_from_prefix(body) {
                a.set_sha(mac(a.sha()));
                a.set_tha(mac(a.tha()));
                a.set_spa(ip(a.spa()));
                a.set_tpa(ip(a.tpa()));
            }
        }
        EthernetNext::Ipv4 => {
            if let Ok((h, rest)) = Ipv4Header::mut_from_prefix(body) {
                h.set_src(ip(h.src()));
                h.set_dst(ip(h.dst()));
                // An ICMP error quotes a header with the same addresses.
                let quoted = Icmpv4Header::LEN + Icmpv4DestUnreachable::LEN;
                if matches!(ipv4_next(h.protocol()), Ipv4Next::Icmpv4) && rest.len() > quoted {
                    if let Ok((q, _)) = Ipv4Header::mut_from_prefix(&mut rest[quoted..]) {
                        q.set_src(ip(q.src()));
                        q.set_dst(ip(q.dst()));
                        let hl = q.ihl_bytes().min(rest.len() - quoted);
                        wire::ipv4::fill_checksum(&mut rest[quoted..quoted + hl]);
                    }
                }
            }
        }
        EthernetNext::Unknown(_) => {}
    }
    repair(&mut f);
    f
}

fn captured() -> Vec<Vec<u8>> {
    use captures::*;
    [
        &IPV6_MLD_REPORT[..],
        &ARP_REQUEST[..],
        &ARP_REPLY[..],
        &ICMP_ECHO_REQUEST[..],
        &ICMP_ECHO_REPLY[..],
        &UDP_TO_LISTENER[..],
        &UDP_TO_CLOSED_PORT[..],
        &ICMP_PORT_UNREACHABLE[..],
    ]
    .iter()
    .map(|f| translate(f))
    .collect()
}

/// Valid frames that reach every handler, the captured ones first;
/// mutations start from these.
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = captured();
    let ping = icmp_echo(Icmpv4Type::ECHO_REQUEST, 7, 1, b"0123456789abcdef");
    let reply = icmp_echo(Icmpv4Type::ECHO_REPLY, 49152, 1, b"ab");
    let sent = ipv4(
        OUR_IP,
        GW_IP,
        IpProtocol::UDP,
        &udp(OUR_IP, GW_IP, 49153, 7, b"out"),
    );
    let mut unreach = vec![0; Icmpv4Header::LEN + Icmpv4DestUnreachable::LEN];
    let (h, _) = Icmpv4Header::mut_from_prefix(&mut unreach).unwrap();
    h.set_msg_type(Icmpv4Type::DEST_UNREACHABLE);
    h.set_code(Icmpv4UnreachableCode::PORT_UNREACHABLE.0);
    unreach.extend_from_slice(&sent[..Ipv4Header::LEN + UdpHeader::LEN]);
    wire::icmpv4::fill_checksum(&mut unreach);
    seeds.extend([
        eth(
            BROADCAST,
            GW_MAC,
            EtherType::ARP,
            &arp(ArpOperation::REQUEST, GW_MAC, GW_IP, [0; 6], OUR_IP),
        ),
        eth(
            OUR_MAC,
            PEER_MAC,
            EtherType::ARP,
            &arp(ArpOperation::REPLY, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP),
        ),
        eth(
            OUR_MAC,
            GW_MAC,
            EtherType::IPV4,
            &ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &ping),
        ),
        eth(
            OUR_MAC,
            GW_MAC,
            EtherType::IPV4,
            &ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &reply),
        ),
        eth(
            OUR_MAC,
            GW_MAC,
            EtherType::IPV4,
            &ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &unreach),
        ),
        udp_frame(7, 7000, b"to the bound socket"),
        udp_frame(7, 7001, b"to the connected socket"),
        udp_frame(9, 9999, b"to a closed port"),
        pad60(udp_frame(7, 7000, b"")),
        options_frame(&[
            NOP,
            RA,
            4,
            0,
            0,
            RR,
            7,
            4,
            0,
            0,
            0,
            0,
            Ipv4OptionKind::END.0,
        ]),
        options_frame(&[TS, 12, 5, 0x10, 0, 0, 0, 1, 0, 0, 0, 2]),
    ]);
    seeds.extend(tcp_seeds());
    seeds
}

/// The gateway's end of the live TCP connections (`Live`).
const TCP_SERVER_PORT: u16 = 80;
const GW_CLIENT_PORT: u16 = 40000;
const GW_SERVER_PORT: u16 = 7;
/// The gateway's initial sequence numbers, its side of both connections.
const GW_ISS: u32 = 1_000_000;

/// The live TCP connections of a case: a listener, the connection it
/// accepted from the gateway, one we opened to the gateway; each has
/// received data nobody read and has sent data not yet acknowledged.
struct Live {
    ids: Vec<net::SocketId>,
    /// Our port of the connection we opened, and each connection's next
    /// sequence number from us (what the gateway acknowledges).
    client_port: u16,
    server_nxt: u32,
    client_nxt: u32,
}

fn gw_tcp(from_port: u16, to_port: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let seg = common::tcp::tcp(
        (GW_IP, from_port),
        (OUR_IP, to_port),
        seq,
        ack,
        flags,
        8192,
        &[],
        payload,
    );
    eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, OUR_IP, IpProtocol::TCP, &seg),
    )
}

/// Opens the live connections on `t` (at its fixed clock, so the ISNs, and
/// so the seeds built from them, are the same in every case).
fn live(t: &mut T) -> Live {
    use common::tcp::*;
    t.learn_gateway();
    let l = t.listener(TCP_SERVER_PORT, 4);
    t.input(&gw_tcp(
        GW_CLIENT_PORT,
        TCP_SERVER_PORT,
        GW_ISS,
        0,
        SYN,
        &[],
    ));
    let synack = t.seg();
    let server_iss = synack.seq;
    t.input(&gw_tcp(
        GW_CLIENT_PORT,
        TCP_SERVER_PORT,
        GW_ISS + 1,
        server_iss + 1,
        ACK,
        b"request",
    ));
    let (srv, _) = t.s.tcp_accept(l).unwrap();
    t.send(srv, b"response").unwrap();
    let c = t.tcp_socket();
    t.s.tcp_connect(&mut t.env, c, &SockAddrIn::new(GW_IP, GW_SERVER_PORT))
        .unwrap();
    let syn = t.segs().pop().unwrap();
    let client_port = syn.src.1;
    let seg = common::tcp::tcp(
        (GW_IP, GW_SERVER_PORT),
        (OUR_IP, client_port),
        GW_ISS,
        syn.seq + 1,
        SYN | ACK,
        8192,
        &[],
        &[],
    );
    t.input(&eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, OUR_IP, IpProtocol::TCP, &seg),
    ));
    t.input(&gw_tcp(
        GW_SERVER_PORT,
        client_port,
        GW_ISS + 1,
        syn.seq + 1,
        ACK | PSH,
        b"banner",
    ));
    t.send(c, b"hello").unwrap();
    t.sent();
    Live {
        ids: vec![l, srv, c],
        client_port,
        server_nxt: server_iss + 1,
        client_nxt: syn.seq + 1,
    }
}

/// TCP segments to the live connections: data in order and out of order,
/// ACKs, FINs, RSTs at and off RCV.NXT, SYNs, and to a closed port. Built
/// once (each build opens the connections on a stack of its own).
fn tcp_seeds() -> Vec<Vec<u8>> {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(build_tcp_seeds).clone()
}

fn build_tcp_seeds() -> Vec<Vec<u8>> {
    use common::tcp::*;
    let mut t = T::new();
    let lv = live(&mut t);
    let srv = |seq: u32, ack: u32, flags, data: &[u8]| {
        gw_tcp(
            GW_CLIENT_PORT,
            TCP_SERVER_PORT,
            GW_ISS + 1 + 7 + seq,
            lv.server_nxt + ack,
            flags,
            data,
        )
    };
    let cli = |seq: u32, ack: u32, flags, data: &[u8]| {
        gw_tcp(
            GW_SERVER_PORT,
            lv.client_port,
            GW_ISS + 1 + 6 + seq,
            lv.client_nxt + ack,
            flags,
            data,
        )
    };
    vec![
        srv(0, 8, ACK | PSH, b"more"),
        srv(100, 0, ACK, b"later"),
        srv(0, 8, FIN | ACK, &[]),
        srv(0, 0, RST, &[]),
        srv(50, 0, RST, &[]),
        srv(0, 0, SYN, &[]),
        srv(0, 0, ACK, &[]),
        cli(0, 5, ACK | PSH, b"data"),
        cli(0, 5, FIN | ACK, &[]),
        cli(0, 0, ACK, &[]),
        cli(7, 0, ACK, b"gap"),
        cli(0, 0, RST | ACK, &[]),
        gw_tcp(41000, TCP_SERVER_PORT, 5, 0, SYN, &[]),
        gw_tcp(41001, 81, 5, 0, SYN, &[]),
    ]
}

/// IPv4 option kinds (RFC 791, RFC 2113), from the spec.
const NOP: u8 = Ipv4OptionKind::NOP.0;
const RR: u8 = Ipv4OptionKind::RECORD_ROUTE.0;
const TS: u8 = Ipv4OptionKind::TIMESTAMP.0;
const RA: u8 = Ipv4OptionKind::ROUTER_ALERT.0;

/// A datagram to the bound socket behind `options` (padded to whole words
/// with END, at most the 40 bytes IHL can cover).
fn options_frame(options: &[u8]) -> Vec<u8> {
    let mut o = options[..options.len().min(40)].to_vec();
    o.resize(o.len().div_ceil(4) * 4, Ipv4OptionKind::END.0);
    let u = udp(GW_IP, OUR_IP, 7000, 7, b"with options");
    eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &with_options(&ipv4(GW_IP, OUR_IP, IpProtocol::UDP, &u), &o),
    )
}

/// Recomputes the IPv4, UDP and ICMP checksums of a frame where it can.
fn repair(f: &mut [u8]) {
    let Some(ip) = f.get_mut(EthernetHeader::LEN..) else {
        return;
    };
    let Ok((h, _)) = Ipv4Header::ref_from_prefix(ip) else {
        return;
    };
    let (hl, total, proto, src, dst) = (
        h.ihl_bytes(),
        h.total_length() as usize,
        h.protocol(),
        h.src(),
        h.dst(),
    );
    if hl < Ipv4Header::LEN || hl > ip.len() {
        return;
    }
    wire::ipv4::fill_checksum(&mut ip[..hl]);
    let end = total.clamp(hl, ip.len());
    let body = &mut ip[hl..end];
    match ipv4_next(proto) {
        Ipv4Next::Udp => {
            let len = UdpHeader::ref_from_prefix(body)
                .map(|(u, _)| u.length() as usize)
                .unwrap_or(0);
            if len >= UdpHeader::LEN && len <= body.len() {
                wire::udp::fill_checksum(src, dst, &mut body[..len]);
            }
        }
        Ipv4Next::Icmpv4 => wire::icmpv4::fill_checksum(body),
        Ipv4Next::Tcp => wire::tcp::fill_checksum(src, dst, body),
        Ipv4Next::Unknown(_) => {}
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Xor(usize, u8),
    Truncate(usize),
    Extend(Vec<u8>),
}

#[derive(Debug, Clone)]
enum Input {
    Raw(Vec<u8>),
    /// Our MAC and an EtherType in front of random bytes.
    Typed(bool, Vec<u8>),
    Mutated {
        seed: usize,
        muts: Vec<Mutation>,
        repair: bool,
        pad: bool,
    },
    /// A good datagram behind these IPv4 option bytes (checksum right).
    Options(Vec<u8>),
}

/// Option bytes: mostly the kinds the spec knows, lengths near the truth.
fn option_bytes() -> impl Strategy<Value = Vec<u8>> {
    let kind = prop_oneof![
        Just(NOP),
        Just(RR),
        Just(TS),
        Just(RA),
        Just(Ipv4OptionKind::END.0),
        any::<u8>()
    ];
    proptest::collection::vec((kind, 0..14u8, any::<u8>()), 0..6).prop_map(|opts| {
        let mut b = Vec::new();
        for (kind, len, fill) in opts {
            b.push(kind);
            b.push(len);
            b.extend(std::iter::repeat_n(
                fill,
                usize::from(len.saturating_sub(2)),
            ));
        }
        b
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (0..80usize, any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        4 => (0..80usize, any::<u8>()).prop_map(|(i, b)| Mutation::Xor(i, b)),
        1 => (0..80usize).prop_map(Mutation::Truncate),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Mutation::Extend),
    ]
}

fn input(nseeds: usize) -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..1600).prop_map(Input::Raw),
        2 => (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..200))
            .prop_map(|(arp, b)| Input::Typed(arp, b)),
        6 => (0..nseeds, proptest::collection::vec(mutation(), 1..4), any::<bool>(), any::<bool>())
            .prop_map(|(seed, muts, repair, pad)| Input::Mutated { seed, muts, repair, pad }),
        1 => option_bytes().prop_map(Input::Options),
    ]
}

fn frame_of(i: &Input, seeds: &[Vec<u8>]) -> Vec<u8> {
    match i {
        Input::Raw(b) => b.clone(),
        Input::Options(o) => options_frame(o),
        Input::Typed(arp, b) => eth(
            OUR_MAC,
            GW_MAC,
            if *arp {
                EtherType::ARP
            } else {
                EtherType::IPV4
            },
            b,
        ),
        Input::Mutated {
            seed,
            muts,
            repair: fix,
            pad,
        } => {
            let mut f = seeds[*seed].clone();
            for m in muts {
                match m {
                    Mutation::Set(i, b) if !f.is_empty() => {
                        let n = f.len();
                        f[i % n] = *b
                    }
                    Mutation::Xor(i, b) if !f.is_empty() => {
                        let n = f.len();
                        f[i % n] ^= *b
                    }
                    Mutation::Truncate(n) => f.truncate(*n),
                    Mutation::Extend(b) => f.extend_from_slice(b),
                    _ => {}
                }
            }
            if *fix {
                repair(&mut f);
            }
            if *pad {
                f = pad60(f);
            }
            f
        }
    }
}

/// Everything the stack sends must be well-formed.
fn check_sent(f: &[u8]) {
    let p = parse_eth(f);
    assert_eq!(p.eth.src(), OUR_MAC);
    match ethernet_next(p.eth.ethertype()) {
        EthernetNext::Arp => assert!(parse_arp(p.payload).fixed_values_ok()),
        EthernetNext::Ipv4 => {
            let (ip, body) = parse_ipv4(p.payload);
            assert_eq!(ip.src(), OUR_IP);
            match ipv4_next(ip.protocol()) {
                Ipv4Next::Icmpv4 => assert!(wire::icmpv4::checksum_ok(body)),
                Ipv4Next::Udp => {
                    assert!(wire::udp::checksum_ok(ip.src(), ip.dst(), body));
                    assert_eq!(
                        UdpHeader::ref_from_prefix(body).unwrap().0.length() as usize,
                        body.len()
                    );
                }
                Ipv4Next::Tcp => {
                    assert!(wire::tcp::checksum_ok(ip.src(), ip.dst(), body));
                    let p = wire::tcp::TcpHeader::parse(body, ip.src(), ip.dst()).unwrap();
                    wire::tcp::TcpHeader::options(&p).check().unwrap();
                }
                Ipv4Next::Unknown(p) => panic!("sent protocol {p:?}"),
            }
        }
        EthernetNext::Unknown(t) => panic!("sent ethertype {t:?}"),
    }
}

/// Runs one case; returns the counters as they were before cleaning up.
fn run(inputs: &[(Input, u16)]) -> Vec<(String, u64)> {
    let seeds = seeds();
    let pool = pool();
    assert_eq!(pool.free(), pool.total(), "a previous case leaked");
    let counters;
    {
        let mut t = T::with_pool(pool);
        let bound = t.udp_socket(7000);
        let conn = t.udp_socket(7001);
        t.s.connect(conn, &SockAddrIn::new(GW_IP, 7)).unwrap();
        let listener = t.udp_socket(CAP_LISTENER);
        let echo = t.s.socket(SocketKind::Icmp).unwrap();
        t.s.bind(echo, &SockAddrIn::new([0; 4], 49152)).unwrap();
        // A datagram waiting for the peer's MAC.
        t.send_udp(bound, (PEER_IP, 7), b"waiting").unwrap();
        let lv = live(&mut t);
        for (i, advance) in inputs {
            t.input(&frame_of(i, &seeds));
            if *advance > 0 {
                t.tick(*advance as u64);
            }
            for m in t.sent() {
                check_sent(m.data());
            }
            // Read some of what arrived, as a program would.
            let _ = t.s.recvfrom(bound);
        }
        for id in lv.ids {
            t.s.tcp_close(&mut t.env, id).unwrap();
        }
        // TCP finishes (retries, TIME-WAIT) and ARP gives up on whatever
        // is still unresolved.
        for _ in 0..2000 {
            t.tick(1000);
            for m in t.sent() {
                check_sent(m.data());
            }
        }
        for id in [bound, conn, echo, listener] {
            t.s.close(id).unwrap();
        }
        assert_eq!(t.counter("rx_bytes_copied"), 0);
        let mut out = [abi::net::Counter::default(); abi::net::MAX_COUNTERS];
        let n = t.s.export_counters(&mut out);
        counters = out[..n]
            .iter()
            .map(|c| (c.name().to_string(), c.value))
            .collect();
    }
    assert_eq!(pool.free(), pool.total(), "mbufs leaked");
    counters
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn rx_path_survives_anything(inputs in proptest::collection::vec((input(seeds().len()), prop_oneof![3 => Just(0u16), 1 => 0..3000u16]), 1..12)) {
        run(&inputs);
    }
}

/// The generator reaches every layer: over a fixed set of generated cases,
/// deliveries, replies and the deep drop reasons all happen.
#[test]
fn generated_inputs_reach_every_layer() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = proptest::collection::vec((input(seeds().len()), Just(0u16)), 1..12);
    let mut total = std::collections::HashMap::<String, u64>::new();
    for _ in 0..300 {
        let inputs = strategy.new_tree(&mut runner).unwrap().current();
        for (name, v) in run(&inputs) {
            *total.entry(name).or_default() += v;
        }
    }
    for name in [
        "socket_delivered",
        "icmp_echo_replies_out",
        "arp_replies_out",
        "arp_queued_sent",
        "icmp_unreach_out",
        "icmp_unreach_in",
        "drop_eth_not_for_us",
        "drop_arp_bad_format",
        "drop_ipv4_bad_checksum",
        "drop_ipv4_bad_length",
        "drop_udp_bad_checksum",
        "drop_udp_bad_length",
        "drop_icmp_bad_checksum",
        "drop_ipv4_option_bad_length",
        "drop_ipv4_option_past_end",
        "drop_ipv4_option_bad_pointer",
        "tcp_segs_in",
        "tcp_segs_out",
        "tcp_out_of_order",
        "tcp_challenge_acks",
        "tcp_rsts_in",
        "drop_tcp_bad_checksum",
        "drop_tcp_no_connection",
        "drop_tcp_out_of_window",
    ] {
        assert!(total[name] > 0, "never reached: {name}");
    }
}

#[test]
fn every_seed_alone() {
    for i in 0..seeds().len() {
        run(&[(
            Input::Mutated {
                seed: i,
                muts: vec![],
                repair: false,
                pad: false,
            },
            0,
        )]);
    }
}

/// The real Linux frames, readdressed to us, do what they did there.
#[test]
fn captured_frames_are_understood() {
    let c = captured();
    let mut t = T::new();
    let listener = t.udp_socket(CAP_LISTENER);
    let expect: [(&str, usize, Option<&str>); 8] = [
        ("IPv6 MLD report", 0, Some("drop_eth_not_for_us")),
        ("ARP request", 1, None),
        ("ARP reply from the host just learned: a refresh", 0, None),
        ("echo request", 1, None),
        (
            "echo reply nobody waits for",
            0,
            Some("drop_icmp_no_socket"),
        ),
        ("UDP to the listener", 0, None),
        ("UDP to a closed port", 1, Some("drop_udp_no_socket")),
        ("port unreachable", 0, None),
    ];
    for (frame, (what, replies, drop)) in c.iter().zip(expect) {
        let before = t.drops();
        t.input(frame);
        let sent = t.sent();
        assert_eq!(sent.len(), replies, "{what}: replies");
        for m in &sent {
            check_sent(m.data());
        }
        let after = t.drops();
        let moved: Vec<&String> = after
            .iter()
            .filter(|d| !before.contains(d))
            .map(|(n, _)| n)
            .collect();
        match drop {
            Some(name) => assert_eq!(moved, vec![name], "{what}"),
            None => assert!(moved.is_empty(), "{what}: {moved:?}"),
        }
    }
    assert_eq!(t.s.recvfrom(listener).unwrap().0.data(), b"hello xv6net");
    assert_eq!(t.counter("icmp_unreach_in"), 1);
}
