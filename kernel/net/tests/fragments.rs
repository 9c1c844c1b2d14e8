//! IPv4 fragments frame by frame: reassembly in any order, duplicates,
//! overlaps (teardrop), the bounds (flood, too many fragments), the
//! timeout and its ICMP time exceeded; fragmentation on output; the
//! largest UDP datagram both ways; big echo requests answered in
//! fragments, and sent; TCP fragments refused; protocol unreachable; ICMP
//! errors reported to the socket that caused them.

mod common;

use abi::net::SockAddrIn;
use abi::Errno;
use common::*;
use net::reassembly::{REASM_DATAGRAMS, REASM_FRAGMENTS, REASM_MBUFS, REASM_TIMEOUT_MS};
use wire::ethernet::EtherType;
use wire::icmpv4::{
    Icmpv4DestUnreachable, Icmpv4Echo, Icmpv4Header, Icmpv4TimeExceededCode, Icmpv4Type,
    Icmpv4UnreachableCode,
};
use wire::ipv4::{IpProtocol, Ipv4Header, FRAGMENT_UNIT};
use wire::udp::UdpHeader;
use zerocopy::FromBytes;

const UNIT: usize = FRAGMENT_UNIT as usize;
/// What a 1500-byte MTU leaves for each fragment's payload.
const ROOM: usize = net::ipv4::FRAGMENT_ROOM;

/// A payload whose bytes show where they came from.
fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// The UDP datagram from the gateway's port 5000 to our port 7 carrying
/// `data`, cut into IPv4 fragments of `size` bytes (a multiple of 8), each
/// a frame to us with identification `id`.
fn fragments(data: &[u8], size: usize, id: u16) -> Vec<Vec<u8>> {
    let dgram = udp(GW_IP, OUR_IP, 5000, 7, data);
    fragments_of(&dgram, IpProtocol::UDP, size, id)
}

fn fragments_of(dgram: &[u8], proto: IpProtocol, size: usize, id: u16) -> Vec<Vec<u8>> {
    assert!(size.is_multiple_of(UNIT));
    dgram
        .chunks(size)
        .enumerate()
        .map(|(k, chunk)| {
            let more = (k + 1) * size < dgram.len();
            fragment(proto, chunk, k * size, more, id)
        })
        .collect()
}

fn fragment(proto: IpProtocol, chunk: &[u8], offset: usize, more: bool, id: u16) -> Vec<u8> {
    pad60(eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4_with(GW_IP, OUR_IP, proto, chunk, |h| {
            h.set_identification(id);
            h.set_fragment_offset((offset / UNIT) as u16);
            h.set_more_fragments(more);
        }),
    ))
}

/// A fixed shuffle (no randomness in the tests): the fragments far apart.
fn shuffled<T: Clone>(v: &[T]) -> Vec<T> {
    let n = v.len();
    let step = (1..n).rev().find(|s| gcd(*s, n) == 1).unwrap_or(1);
    (0..n).map(|i| v[(i * step + 3) % n].clone()).collect()
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[test]
fn a_datagram_comes_whole_in_any_order_without_a_copy() {
    for size in [8_000, 30_000, net::udp::MAX_PAYLOAD] {
        let data = payload(size);
        let frags = fragments(&data, ROOM, 77);
        let mut reversed = frags.clone();
        reversed.reverse();
        let mut duplicated = frags.clone();
        duplicated.insert(2, frags[1].clone());
        let orders = [
            ("in order", frags.clone(), vec![]),
            ("reversed", reversed, vec![]),
            ("shuffled", shuffled(&frags), vec![]),
            (
                "with a duplicate",
                duplicated,
                vec![("drop_ipv4_frag_duplicate".to_string(), 1)],
            ),
        ];
        for (how, frames, drops) in orders {
            let mut t = T::new();
            let sock = t.udp_socket(7);
            for f in &frames {
                t.input(f);
            }
            assert_eq!(t.drops(), drops, "{size} {how}");
            assert_eq!(t.counter("ipv4_reassembled"), 1, "{size} {how}");
            assert_eq!(t.counter("ipv4_fragments_in"), frames.len() as u64);
            assert_eq!(t.counter("mbufs_reassembly"), 0);
            let (m, from) = t.s.recvfrom(sock).unwrap();
            assert_eq!(from, SockAddrIn::new(GW_IP, 5000));
            assert_eq!(
                m.chain_count(),
                frags.len(),
                "{size} {how}: still the device's mbufs"
            );
            assert!(
                copied_out(&m) == data,
                "{size} {how}: the datagram byte for byte"
            );
            assert_eq!(t.counter("rx_bytes_copied"), 0, "{size} {how}");
            assert_eq!(t.counter("rx_bytes_to_user"), size as u64, "{size} {how}");
            drop(m);
            assert_eq!(t.pool().free(), t.pool().total(), "{size} {how}");
        }
    }
}

#[test]
fn a_bad_checksum_across_the_pieces_is_caught() {
    let mut t = T::new();
    t.udp_socket(7);
    let mut frags = fragments(&payload(8_000), ROOM, 5);
    // One byte flipped in the third fragment's payload.
    let at = frags[2].len() - 100;
    frags[2][at] ^= 0x40;
    for f in &frags {
        t.input(f);
    }
    assert_eq!(t.drops(), vec![("drop_udp_bad_checksum".into(), 1)]);
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn an_overlap_drops_the_whole_datagram_teardrop() {
    let mut t = T::new();
    let sock = t.udp_socket(7);
    let data = payload(4_000);
    let frags = fragments(&data, ROOM, 9);
    t.input(&frags[0]);
    // Teardrop: the second fragment starts inside the first.
    let dgram = udp(GW_IP, OUR_IP, 5000, 7, &data);
    t.input(&fragment(
        IpProtocol::UDP,
        &dgram[ROOM - UNIT..2 * ROOM - UNIT],
        ROOM - UNIT,
        true,
        9,
    ));
    assert_eq!(t.drops(), vec![("drop_ipv4_frag_overlap".into(), 2)]);
    // What comes later of that datagram is dropped too.
    for f in &frags[1..] {
        t.input(f);
    }
    assert_eq!(
        t.drops(),
        vec![("drop_ipv4_frag_overlap".into(), 2 + frags.len() as u64 - 1)]
    );
    assert_eq!(t.s.recvfrom(sock).unwrap_err(), Errno::EAGAIN);
    assert_eq!(t.pool().free(), t.pool().total());
    // A last fragment that moves the end is an overlap as well.
    let mut t = T::new();
    t.udp_socket(7);
    t.input(&frags[2]);
    t.input(&fragment(
        IpProtocol::UDP,
        &dgram[2 * ROOM..2 * ROOM + UNIT],
        2 * ROOM,
        false,
        9,
    ));
    assert_eq!(t.drops(), vec![("drop_ipv4_frag_overlap".into(), 2)]);
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn a_datagram_that_does_not_complete_times_out_and_its_sender_hears() {
    let mut t = T::new();
    t.learn_gateway();
    t.udp_socket(7);
    let frags = fragments(&payload(4_000), ROOM, 0x4242);
    t.input(&frags[0]);
    t.input(&frags[2]);
    // Another datagram whose first fragment never came: no ICMP for it.
    t.input(&fragments(&payload(4_000), ROOM, 0x4343)[1]);
    assert_eq!(t.counter("mbufs_reassembly"), 3);
    t.tick(REASM_TIMEOUT_MS - 1);
    assert!(t.drops().is_empty() && t.sent().is_empty());
    t.tick(1);
    assert_eq!(t.drops(), vec![("drop_ipv4_frag_timeout".into(), 3)]);
    let sent = t.sent();
    assert_eq!(sent.len(), 1, "one time exceeded");
    let (ip, icmp) = parse_ipv4(parse_eth(sent[0].data()).payload);
    assert_eq!((ip.protocol(), ip.dst()), (IpProtocol::ICMP, GW_IP));
    let (h, rest) = Icmpv4Header::ref_from_prefix(icmp).unwrap();
    assert_eq!(h.msg_type(), Icmpv4Type::TIME_EXCEEDED);
    assert_eq!(h.code(), Icmpv4TimeExceededCode::FRAGMENT_REASSEMBLY.0);
    assert!(wire::icmpv4::checksum_ok(icmp));
    // It quotes the first fragment's header and 8 bytes (the UDP header).
    let quoted = Ipv4Header::parse_prefix(&rest[4..]).unwrap();
    assert_eq!(quoted.header.identification(), 0x4242);
    assert_eq!(quoted.payload.len(), UdpHeader::LEN);
    assert_eq!(t.counter("icmp_time_exceeded_out"), 1);
    drop(sent);
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn a_flood_of_incomplete_datagrams_holds_no_more_than_the_bound() {
    let mut t = T::new();
    t.udp_socket(7);
    // Many datagrams, each one first fragment: the oldest give way.
    let n = 200;
    for id in 0..n {
        t.input(&fragments(&payload(3_000), ROOM, id as u16)[0]);
    }
    assert_eq!(t.counter("mbufs_reassembly"), REASM_DATAGRAMS as u64);
    assert_eq!(
        t.drops(),
        vec![(
            "drop_ipv4_frag_evicted".into(),
            (n - REASM_DATAGRAMS) as u64
        )]
    );
    // Few datagrams, many fragments each: the pool's share holds.
    let mut t = T::new();
    t.udp_socket(7);
    let data = payload(net::udp::MAX_PAYLOAD);
    let all: Vec<Vec<Vec<u8>>> = (0..4).map(|id| fragments(&data, ROOM, 1000 + id)).collect();
    for k in 0..all[0].len() - 1 {
        for frags in &all {
            t.input(&frags[k]);
        }
        assert!(t.counter("mbufs_reassembly") <= REASM_MBUFS as u64);
    }
    assert!(t.counter("drop_ipv4_frag_evicted") > 0);
    t.learn_gateway();
    t.tick(REASM_TIMEOUT_MS);
    assert_eq!(t.counter("mbufs_reassembly"), 0);
    // Each datagram whose first fragment came is told (time exceeded).
    assert_eq!(t.sent().len() as u64, t.counter("icmp_time_exceeded_out"));
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn a_datagram_in_too_many_fragments_is_dropped() {
    let mut t = T::new();
    t.udp_socket(7);
    let frags = fragments(&payload(1_000), UNIT, 3);
    assert!(frags.len() > REASM_FRAGMENTS);
    for f in &frags[..=REASM_FRAGMENTS] {
        t.input(f);
    }
    assert_eq!(
        t.drops(),
        vec![("drop_ipv4_frag_too_many".into(), REASM_FRAGMENTS as u64 + 1)]
    );
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn a_long_datagram_goes_out_in_fragments() {
    let mut t = T::new();
    t.learn_gateway();
    let sock = t.udp_socket(4000);
    let data = payload(30_000);
    let m = t.datagram(&data);
    let to = SockAddrIn::new(GW_IP, 9);
    assert_eq!(t.s.sendto(&mut t.env, sock, m, Some(&to)), Ok(data.len()));
    let sent = t.sent();
    assert_eq!(sent.len(), (data.len() + UdpHeader::LEN).div_ceil(ROOM));
    assert_eq!(t.counter("ipv4_fragments_out"), sent.len() as u64);
    let mut dgram = Vec::new();
    for (k, f) in sent.iter().enumerate() {
        assert!(f.len() <= EthernetFrame::MAX);
        let (ip, p) = parse_ipv4(parse_eth(f.data()).payload);
        assert_eq!(ip.identification(), {
            let (first, _) = parse_ipv4(parse_eth(sent[0].data()).payload);
            first.identification()
        });
        assert_eq!(usize::from(ip.fragment_offset()) * UNIT, dgram.len());
        assert_eq!(ip.more_fragments(), k + 1 < sent.len());
        assert!(!ip.dont_fragment());
        dgram.extend_from_slice(p);
    }
    let u = UdpHeader::parse(&dgram, OUR_IP, GW_IP).expect("length and checksum over all");
    assert_eq!((u.header.src_port(), u.header.dst_port()), (4000, 9));
    assert!(u.payload == &data[..]);
    drop(sent);
    assert_eq!(t.pool().free(), t.pool().total());
}

/// The fragments `sent` (frames we sent, in order) put back together:
/// each checked (IPv4 checksum and length, within a frame, the offsets
/// following each other, MF on all but the last, one identification), and
/// the datagram's payload returned.
fn reassembled(sent: &[net::Mbuf], proto: IpProtocol) -> Vec<u8> {
    let mut dgram = Vec::new();
    let (first, _) = parse_ipv4(parse_eth(sent[0].data()).payload);
    for (k, f) in sent.iter().enumerate() {
        assert!(f.len() <= EthernetFrame::MAX, "fragment {k} within a frame");
        let (ip, p) = parse_ipv4(parse_eth(f.data()).payload);
        assert_eq!(ip.protocol(), proto);
        assert_eq!(ip.identification(), first.identification());
        assert_eq!(usize::from(ip.fragment_offset()) * UNIT, dgram.len());
        assert_eq!(ip.more_fragments(), k + 1 < sent.len());
        dgram.extend_from_slice(p);
    }
    dgram
}

/// An echo request of `size` data bytes from the gateway, and its
/// fragments (as Linux cuts them) with identification `id`.
fn big_ping(size: usize, id: u16) -> (Vec<u8>, Vec<Vec<u8>>) {
    let request = icmp_echo(Icmpv4Type::ECHO_REQUEST, 0x77, 3, &payload(size));
    let frags = fragments_of(&request, IpProtocol::ICMP, ROOM, id);
    (request, frags)
}

#[test]
fn a_big_echo_request_in_fragments_is_answered_in_fragments_without_a_copy() {
    for size in [8_000, 30_000, net::ipv4::MAX_PAYLOAD - 8] {
        let (request, frags) = big_ping(size, 0x5151);
        let mut reversed = frags.clone();
        reversed.reverse();
        for (how, frames) in [
            ("in order", frags.clone()),
            ("reversed", reversed),
            ("shuffled", shuffled(&frags)),
        ] {
            let mut t = T::new();
            t.learn_gateway();
            for f in &frames {
                t.input(f);
            }
            assert!(t.drops().is_empty(), "{size} {how}: {:?}", t.drops());
            assert_eq!(t.counter("ipv4_reassembled"), 1);
            assert_eq!(t.counter("icmp_echo_requests_in"), 1);
            assert_eq!(t.counter("icmp_echo_replies_out"), 1);
            let sent = t.sent();
            assert_eq!(sent.len(), frags.len(), "{size} {how}: one fragment each");
            assert_eq!(t.counter("ipv4_fragments_out"), frags.len() as u64);
            // The reply went out in the request's own mbufs: nothing else
            // of the pool is taken, nothing was copied.
            assert_eq!(t.pool().total() - t.pool().free(), sent.len());
            assert_eq!(t.counter("rx_bytes_copied"), 0);
            let reply = reassembled(&sent, IpProtocol::ICMP);
            assert_eq!(reply.len(), request.len());
            assert!(
                wire::icmpv4::checksum_ok(&reply),
                "{size} {how}: checksum over all"
            );
            let (h, rest) = Icmpv4Header::ref_from_prefix(&reply).unwrap();
            assert_eq!((h.msg_type(), h.code()), (Icmpv4Type::ECHO_REPLY, 0));
            // All but the type and checksum is the request's, byte for byte.
            assert!(
                rest == &request[Icmpv4Header::LEN..],
                "{size} {how}: the data echoed"
            );
            let (ip, _) = parse_ipv4(parse_eth(sent[0].data()).payload);
            assert_eq!((ip.src(), ip.dst()), (OUR_IP, GW_IP));
            drop(sent);
            assert_eq!(t.pool().free(), t.pool().total(), "{size} {how}");
        }
    }
}

#[test]
fn a_bad_icmp_checksum_across_the_fragments_is_caught() {
    let mut t = T::new();
    t.learn_gateway();
    let (_, mut frags) = big_ping(8_000, 0x5252);
    // One byte flipped in the fourth fragment: the first piece alone
    // still sums as it did.
    let at = frags[3].len() - 50;
    frags[3][at] ^= 0x01;
    for f in &frags {
        t.input(f);
    }
    assert_eq!(t.drops(), vec![("drop_icmp_bad_checksum".into(), 1)]);
    assert_eq!(t.counter("icmp_echo_replies_out"), 0);
    assert!(t.sent().is_empty());
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn a_big_echo_goes_out_in_fragments_and_its_reply_comes_back_whole() {
    let mut t = T::new();
    t.learn_gateway();
    let sock = t.s.socket(net::SocketKind::Icmp).unwrap();
    let data = payload(20_000);
    let request = icmp_echo(Icmpv4Type::ECHO_REQUEST, 0, 9, &data);
    // Cut as the kernel's sendto copies it in: a frame's payload each.
    let mut m = t.mbuf(&request[..ROOM]);
    for piece in request[ROOM..].chunks(ROOM) {
        m.chain(t.mbuf(piece));
    }
    let to = SockAddrIn::new(GW_IP, 0);
    assert_eq!(
        t.s.sendto(&mut t.env, sock, m, Some(&to)),
        Ok(request.len())
    );
    let sent = t.sent();
    assert_eq!(sent.len(), request.len().div_ceil(ROOM));
    let out = reassembled(&sent, IpProtocol::ICMP);
    assert!(
        wire::icmpv4::checksum_ok(&out),
        "checksum over all the pieces"
    );
    let (_, rest) = Icmpv4Header::ref_from_prefix(&out).unwrap();
    let (echo, echoed) = Icmpv4Echo::ref_from_prefix(rest).unwrap();
    assert!(echoed == &data[..]);
    // The gateway answers in fragments; the socket gets the reply whole.
    let reply = icmp_echo(Icmpv4Type::ECHO_REPLY, echo.identifier(), 9, &data);
    for f in fragments_of(&reply, IpProtocol::ICMP, ROOM, 0x5353) {
        t.input(&f);
    }
    let (m, from) = t.s.recvfrom(sock).unwrap();
    assert_eq!(from.addr_be, GW_IP);
    assert!(copied_out(&m) == reply);
    drop((m, sent));
    assert_eq!(t.counter("rx_bytes_copied"), 0);
    assert_eq!(t.pool().free(), t.pool().total());
    // Not cut where the fragments go: refused.
    let mut m = t.mbuf(&request[..100]);
    m.chain(t.mbuf(&request[100..200]));
    assert_eq!(
        t.s.sendto(&mut t.env, sock, m, Some(&to)),
        Err(Errno::EMSGSIZE)
    );
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn a_big_ping_of_ourselves_over_loopback() {
    let mut t = T::new();
    let sock = t.s.socket(net::SocketKind::Icmp).unwrap();
    let request = icmp_echo(Icmpv4Type::ECHO_REQUEST, 0, 1, &payload(30_000));
    let mut m = t.mbuf(&request[..ROOM]);
    for piece in request[ROOM..].chunks(ROOM) {
        m.chain(t.mbuf(piece));
    }
    let to = SockAddrIn::new([127, 0, 0, 1], 0);
    assert!(t.s.sendto(&mut t.env, sock, m, Some(&to)).is_ok());
    assert!(t.sent().is_empty(), "nothing on the device");
    let (m, _) = t.s.recvfrom(sock).unwrap();
    let reply = copied_out(&m);
    assert_eq!(reply.len(), request.len());
    assert!(wire::icmpv4::checksum_ok(&reply));
    assert_eq!(t.counter("ipv4_reassembled"), 2, "request and reply");
    drop(m);
    assert!(t.drops().is_empty(), "{:?}", t.drops());
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn tcp_fragments_are_refused_before_they_hold_a_buffer() {
    let mut t = T::new();
    t.learn_gateway();
    let listener = t.s.socket(net::SocketKind::Tcp).unwrap();
    t.s.bind(listener, &SockAddrIn::new([0; 4], 80)).unwrap();
    t.s.tcp_listen(listener, 4).unwrap();
    // A SYN with 3,000 bytes of data, cut in three fragments.
    let mut segment = vec![0u8; 20];
    segment[..4].copy_from_slice(&[0x9c, 0x47, 0x00, 0x50]);
    segment[12] = 5 << 4;
    segment[13] = 0x02;
    segment.extend_from_slice(&payload(3_000));
    let frags = fragments_of(&segment, IpProtocol::TCP, ROOM, 0x5454);
    for f in &frags {
        t.input(f);
    }
    assert_eq!(
        t.drops(),
        vec![("drop_ipv4_frag_tcp".into(), frags.len() as u64)]
    );
    assert_eq!(t.counter("mbufs_reassembly"), 0);
    assert!(t.sent().is_empty(), "no answer to a segment never seen");
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn a_fragmented_icmp_error_that_times_out_draws_no_error() {
    let mut t = T::new();
    t.learn_gateway();
    // The first half of a (long) destination unreachable: never completed.
    let mut error = vec![0; Icmpv4Header::LEN + Icmpv4DestUnreachable::LEN];
    let (h, _) = Icmpv4Header::mut_from_prefix(&mut error).unwrap();
    h.set_msg_type(Icmpv4Type::DEST_UNREACHABLE);
    error.extend_from_slice(&payload(2_000));
    t.input(&fragments_of(&error, IpProtocol::ICMP, ROOM, 0x5555)[0]);
    // And the first half of a big echo request: that one is told.
    t.input(&big_ping(3_000, 0x5656).1[0]);
    t.tick(REASM_TIMEOUT_MS);
    assert_eq!(t.drops(), vec![("drop_ipv4_frag_timeout".into(), 2)]);
    let sent = t.sent();
    assert_eq!(sent.len(), 1, "a time exceeded for the echo only");
    let (_, icmp) = parse_ipv4(parse_eth(sent[0].data()).payload);
    let (_, rest) = Icmpv4Header::ref_from_prefix(icmp).unwrap();
    let quoted = Ipv4Header::parse_prefix(&rest[4..]).unwrap();
    assert_eq!(quoted.header.identification(), 0x5656);
    drop(sent);
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn an_unknown_protocol_in_fragments_draws_one_protocol_unreachable() {
    let mut t = T::new();
    t.learn_gateway();
    let frags = fragments_of(&payload(4_000), IpProtocol(47), ROOM, 0x5757);
    for f in frags.iter().rev() {
        t.input(f);
    }
    assert_eq!(t.drops(), vec![("drop_ipv4_unknown_protocol".into(), 1)]);
    let sent = t.sent();
    assert_eq!(sent.len(), 1);
    let (_, icmp) = parse_ipv4(parse_eth(sent[0].data()).payload);
    assert!(wire::icmpv4::checksum_ok(icmp));
    let quoted = Ipv4Header::parse_prefix(&icmp[8..]).unwrap();
    assert_eq!(quoted.header.protocol(), IpProtocol(47));
    assert_eq!(quoted.payload.len(), 8, "the datagram's first 8 bytes");
    drop(sent);
    assert_eq!(t.pool().free(), t.pool().total());
}

/// The largest Ethernet frame without FCS.
struct EthernetFrame;
impl EthernetFrame {
    const MAX: usize = wire::ethernet::EthernetHeader::LEN + wire::ethernet::MTU as usize;
}

#[test]
fn the_largest_datagram_both_ways_over_loopback() {
    let mut t = T::new();
    let sock = t.udp_socket(7);
    let data = payload(net::udp::MAX_PAYLOAD);
    let m = t.datagram(&data);
    let to = SockAddrIn::new([127, 0, 0, 1], 7);
    assert_eq!(t.s.sendto(&mut t.env, sock, m, Some(&to)), Ok(data.len()));
    assert!(t.sent().is_empty(), "nothing on the device");
    let (m, _) = t.s.recvfrom(sock).unwrap();
    assert!(copied_out(&m) == data);
    assert_eq!(t.counter("rx_bytes_copied"), 0);
    drop(m);
    assert!(t.drops().is_empty(), "{:?}", t.drops());
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn a_reassembled_datagram_is_charged_every_mbuf_it_holds() {
    let mut t = T::new();
    let sock = t.udp_socket(7);
    let frags = fragments(&payload(30_000), ROOM, 1);
    let mbufs = frags.len() as u64;
    t.s.set_rcvbuf(sock, (mbufs - 1) * net::MBUF_SIZE as u64)
        .unwrap();
    for f in &frags {
        t.input(f);
    }
    assert_eq!(t.drops(), vec![("drop_socket_queue_full".into(), 1)]);
    t.s.set_rcvbuf(sock, mbufs * net::MBUF_SIZE as u64).unwrap();
    for f in &fragments(&payload(30_000), ROOM, 2) {
        t.input(f);
    }
    assert!(t.s.recvfrom(sock).is_ok());
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn an_unknown_protocol_draws_a_protocol_unreachable() {
    let mut t = T::new();
    t.learn_gateway();
    t.input(&pad60(eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, OUR_IP, IpProtocol(47), &[0; 20]),
    )));
    assert_eq!(t.drops(), vec![("drop_ipv4_unknown_protocol".into(), 1)]);
    let sent = t.sent();
    assert_eq!(sent.len(), 1);
    let (ip, icmp) = parse_ipv4(parse_eth(sent[0].data()).payload);
    assert_eq!(ip.dst(), GW_IP);
    let (h, rest) = Icmpv4Header::ref_from_prefix(icmp).unwrap();
    assert_eq!(h.msg_type(), Icmpv4Type::DEST_UNREACHABLE);
    assert_eq!(h.code(), Icmpv4UnreachableCode::PROTOCOL_UNREACHABLE.0);
    let quoted = &rest[Icmpv4DestUnreachable::LEN..];
    assert_eq!(
        Ipv4Header::parse_prefix(quoted).unwrap().header.protocol(),
        IpProtocol(47)
    );
    assert_eq!(t.counter("icmp_unreach_out"), 1);
}

/// An ICMP destination unreachable with `code` from the gateway, quoting
/// the IP header and 8 bytes of `packet` (one we sent).
fn unreachable(code: Icmpv4UnreachableCode, packet: &[u8]) -> Vec<u8> {
    let mut icmp = vec![0; Icmpv4Header::LEN + Icmpv4DestUnreachable::LEN];
    let (h, _) = Icmpv4Header::mut_from_prefix(&mut icmp).unwrap();
    h.set_msg_type(Icmpv4Type::DEST_UNREACHABLE);
    h.set_code(code.0);
    icmp.extend_from_slice(&packet[..Ipv4Header::LEN + 8]);
    wire::icmpv4::fill_checksum(&mut icmp);
    pad60(eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &icmp),
    ))
}

#[test]
fn icmp_errors_reach_the_socket_that_caused_them() {
    use Icmpv4UnreachableCode as Code;
    for (code, expect) in [
        (Code::PORT_UNREACHABLE, Errno::ECONNREFUSED),
        (Code::PROTOCOL_UNREACHABLE, Errno::ENOPROTOOPT),
        // Soft errors: nothing for the socket (as Linux without IP_RECVERR).
        (Code::HOST_UNREACHABLE, Errno::EAGAIN),
        (Code::NET_UNREACHABLE, Errno::EAGAIN),
    ] {
        let mut t = T::new();
        t.learn_gateway();
        let s = t.s.socket(net::SocketKind::Udp).unwrap();
        t.s.connect(s, &SockAddrIn::new(GW_IP, 9)).unwrap();
        let m = t.mbuf(b"anyone?");
        t.s.sendto(&mut t.env, s, m, None).unwrap();
        let sent = t.sent();
        let ours = parse_eth(sent[0].data()).payload.to_vec();
        t.input(&unreachable(code, &ours));
        assert_eq!(t.s.recvfrom(s).unwrap_err(), expect, "{code:?}");
        assert_eq!(t.counter("icmp_unreach_in"), 1);
    }
}

#[test]
fn a_port_unreachable_for_our_syn_fails_the_connect() {
    let mut t = T::new();
    t.learn_gateway();
    let c = t.s.socket(net::SocketKind::Tcp).unwrap();
    t.s.tcp_connect(&mut t.env, c, &SockAddrIn::new(GW_IP, 80))
        .unwrap();
    let sent = t.sent();
    let syn = parse_eth(sent[0].data()).payload.to_vec();
    // Quoting another sequence number: not our SYN, ignored.
    let mut other = syn.clone();
    other[Ipv4Header::LEN + 4] ^= 1;
    t.input(&unreachable(
        Icmpv4UnreachableCode::PORT_UNREACHABLE,
        &other,
    ));
    assert_eq!(t.s.tcp_connected(c), Ok(false));
    t.input(&unreachable(Icmpv4UnreachableCode::PORT_UNREACHABLE, &syn));
    assert_eq!(t.s.tcp_connected(c), Err(Errno::ECONNREFUSED));
}

/// Every counter of fragments, reassembly and the ICMP errors they draw
/// is moved by a test here or in `malformed.rs` (named there by variant).
#[test]
fn every_fragment_counter_has_a_test_that_moves_it() {
    use net::{DropReason, Stat};
    let here = include_str!("fragments.rs");
    let malformed = include_str!("malformed.rs");
    let names = Stat::ALL
        .iter()
        .map(|s| s.name())
        .chain(DropReason::ALL.iter().map(|r| r.name()))
        .filter(|n| n.contains("frag") || n.contains("reassem") || n.contains("time_exceeded"));
    let mut missing = vec![];
    for name in names {
        let variant = DropReason::ALL
            .iter()
            .find(|r| r.name() == name)
            .map(|r| format!("{r:?},"));
        let quoted = format!("\"{name}\"");
        let moved = here.contains(&quoted)
            || variant.is_some_and(|v| malformed.contains(&v) || here.contains(&v));
        if !moved {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "no test moves {missing:?}");
}
