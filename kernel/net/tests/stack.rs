//! The stack driven frame by frame: ARP, ping, UDP delivery, port
//! unreachable, queueing while resolving, expiry, sockets.

mod common;

use abi::net::{ArpEntry, SockAddrIn};
use abi::Errno;
use common::*;
use net::arp::{ARP_MAX_REQUESTS, ARP_QUEUE, ARP_RETRY_MS, ARP_TTL_MS};
use net::icmp::{UNREACH_BURST, UNREACH_REFILL_MS};
use net::socket::RX_CHARGE;
use net::SocketKind;
use wire::arp::ArpOperation;
use wire::ethernet::{EtherType, BROADCAST};
use wire::icmpv4::{
    Icmpv4DestUnreachable, Icmpv4Echo, Icmpv4Header, Icmpv4Type, Icmpv4UnreachableCode,
};
use wire::ipv4::{IpProtocol, Ipv4Header};
use wire::udp::UdpHeader;
use zerocopy::FromBytes;

#[test]
fn arp_request_for_us_is_answered_in_place() {
    let mut t = T::new();
    let req = pad60(eth(
        BROADCAST,
        GW_MAC,
        EtherType::ARP,
        &arp(ArpOperation::REQUEST, GW_MAC, GW_IP, [0; 6], OUR_IP),
    ));
    let m = t.mbuf(&req);
    let idx = m.index();
    t.s.input(&mut t.env, m);
    let sent = t.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].index(), idx, "reply built in the request's mbuf");
    let f = parse_eth(sent[0].data());
    assert_eq!(
        (f.eth.dst(), f.eth.src(), f.eth.ethertype()),
        (GW_MAC, OUR_MAC, EtherType::ARP)
    );
    assert_eq!(
        f.payload.len(),
        wire::arp::ArpPacket::LEN,
        "padding trimmed"
    );
    let p = parse_arp(f.payload);
    assert!(p.fixed_values_ok());
    assert_eq!(p.oper(), ArpOperation::REPLY);
    assert_eq!(
        (p.sha(), p.spa(), p.tha(), p.tpa()),
        (OUR_MAC, OUR_IP, GW_MAC, GW_IP)
    );
    assert_eq!(
        (t.counter("arp_requests_in"), t.counter("arp_replies_out")),
        (1, 1)
    );
    // The requester was learned.
    let mut list = [ArpEntry::default(); 4];
    assert_eq!(t.s.arp_list(t.env.now, &mut list), 1);
    assert_eq!(
        (list[0].ip, list[0].mac, list[0].resolved),
        (GW_IP, GW_MAC, 1)
    );
    assert!(t.drops().is_empty());
}

#[test]
fn arp_request_for_someone_else_is_dropped() {
    let mut t = T::new();
    t.input(&eth(
        BROADCAST,
        GW_MAC,
        EtherType::ARP,
        &arp(ArpOperation::REQUEST, GW_MAC, GW_IP, [0; 6], [10, 0, 2, 99]),
    ));
    assert!(t.sent().is_empty());
    assert_eq!(t.drops(), vec![("drop_arp_not_for_us".into(), 1)]);
    let mut list = [ArpEntry::default(); 4];
    assert_eq!(t.s.arp_list(t.env.now, &mut list), 0, "nothing learned");
}

#[test]
fn ping_is_answered_in_the_same_mbuf() {
    let mut t = T::new();
    t.learn_gateway();
    let data: Vec<u8> = (0..56).collect();
    let icmp = icmp_echo(Icmpv4Type::ECHO_REQUEST, 0x4242, 7, &data);
    let frame = eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &icmp),
    );
    let m = t.mbuf(&frame);
    let idx = m.index();
    t.s.input(&mut t.env, m);
    let sent = t.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].index(), idx, "zero copy");
    let f = parse_eth(sent[0].data());
    assert_eq!(
        (f.eth.dst(), f.eth.src(), f.eth.ethertype()),
        (GW_MAC, OUR_MAC, EtherType::IPV4)
    );
    let (ip, body) = parse_ipv4(f.payload);
    assert_eq!(
        (ip.src(), ip.dst(), ip.protocol(), ip.ttl()),
        (OUR_IP, GW_IP, IpProtocol::ICMP, 64)
    );
    assert!(wire::icmpv4::checksum_ok(body));
    let (h, rest) = Icmpv4Header::ref_from_prefix(body).unwrap();
    let (e, payload) = Icmpv4Echo::ref_from_prefix(rest).unwrap();
    assert_eq!(h.msg_type(), Icmpv4Type::ECHO_REPLY);
    assert_eq!((e.identifier(), e.sequence()), (0x4242, 7));
    assert_eq!(payload, &data[..]);
    assert_eq!(t.counter("icmp_echo_replies_out"), 1);
    assert_eq!(t.counter("rx_bytes_copied"), 0);
}

#[test]
fn ping_before_arp_waits_for_resolution() {
    let mut t = T::new();
    // The peer pings us without having ARPed (its MAC is unknown to us).
    let icmp = icmp_echo(Icmpv4Type::ECHO_REQUEST, 1, 1, b"hi");
    t.input(&eth(
        OUR_MAC,
        PEER_MAC,
        EtherType::IPV4,
        &ipv4(PEER_IP, OUR_IP, IpProtocol::ICMP, &icmp),
    ));
    let sent = t.sent();
    assert_eq!(sent.len(), 1, "an ARP request, the reply waits");
    let p = parse_arp(parse_eth(sent[0].data()).payload);
    assert_eq!((p.oper(), p.tpa()), (ArpOperation::REQUEST, PEER_IP));
    t.input(&eth(
        OUR_MAC,
        PEER_MAC,
        EtherType::ARP,
        &arp(ArpOperation::REPLY, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP),
    ));
    let sent = t.sent();
    assert_eq!(sent.len(), 1);
    let f = parse_eth(sent[0].data());
    assert_eq!(f.eth.dst(), PEER_MAC);
    assert_eq!(t.counter("arp_queued_sent"), 1);
}

#[test]
fn udp_is_delivered_without_copying() {
    let mut t = T::new();
    let sock = t.udp_socket(7000);
    t.s.wait_begin(sock, false); // a reader sleeps on it
    let frame = pad60(udp_frame(5555, 7000, b"hello"));
    let m = t.mbuf(&frame);
    let idx = m.index();
    t.s.input(&mut t.env, m);
    assert_eq!(t.env.woken, vec![sock]);
    assert!(t.s.readable(sock));
    let (m, from) = t.s.recvfrom(sock).unwrap();
    assert_eq!(m.index(), idx, "the device's mbuf is the one queued");
    assert_eq!(m.data(), b"hello", "padding trimmed, header pulled");
    assert_eq!(from, SockAddrIn::new(GW_IP, 5555));
    assert_eq!(t.s.recvfrom(sock).unwrap_err(), Errno::EAGAIN);
    assert_eq!(t.counter("rx_bytes_copied"), 0);
    assert_eq!(t.counter("socket_delivered"), 1);
    assert!(t.drops().is_empty());
}

#[test]
fn udp_with_zero_checksum_is_accepted() {
    let mut t = T::new();
    let sock = t.udp_socket(9);
    let mut u = udp(GW_IP, OUR_IP, 1, 9, b"x");
    UdpHeader::mut_from_prefix(&mut u)
        .unwrap()
        .0
        .set_checksum(0);
    t.input(&eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, OUR_IP, IpProtocol::UDP, &u),
    ));
    assert_eq!(t.s.recvfrom(sock).unwrap().0.data(), b"x");
}

#[test]
fn closed_port_draws_port_unreachable_rate_limited() {
    let mut t = T::new();
    t.learn_gateway();
    let frame = udp_frame(4444, 9999, b"abcdefghijkl");
    let m = t.mbuf(&frame);
    let idx = m.index();
    t.s.input(&mut t.env, m);
    let sent = t.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].index(),
        idx,
        "the error is built in the datagram's mbuf"
    );
    let f = parse_eth(sent[0].data());
    assert_eq!(f.eth.dst(), GW_MAC);
    let (ip, body) = parse_ipv4(f.payload);
    assert_eq!((ip.dst(), ip.protocol()), (GW_IP, IpProtocol::ICMP));
    assert!(wire::icmpv4::checksum_ok(body));
    let (h, rest) = Icmpv4Header::ref_from_prefix(body).unwrap();
    assert_eq!(h.msg_type(), Icmpv4Type::DEST_UNREACHABLE);
    assert_eq!(h.code(), Icmpv4UnreachableCode::PORT_UNREACHABLE.0);
    let (_, quoted) = Icmpv4DestUnreachable::ref_from_prefix(rest).unwrap();
    // The original IP header and the first 8 bytes of its payload.
    let orig = &frame[wire::ethernet::EthernetHeader::LEN..];
    assert_eq!(quoted, &orig[..Ipv4Header::LEN + 8]);
    assert_eq!(t.counter("drop_udp_no_socket"), 1);

    // A burst: only UNREACH_BURST errors go out in all.
    for _ in 0..30 {
        t.input(&udp_frame(4444, 9999, b"x"));
    }
    assert_eq!(t.sent().len() as u32, UNREACH_BURST - 1);
    assert_eq!(
        t.counter("drop_icmp_rate_limited"),
        31 - UNREACH_BURST as u64
    );
    // Tokens come back with time.
    t.env.now += 3 * UNREACH_REFILL_MS;
    for _ in 0..5 {
        t.input(&udp_frame(4444, 9999, b"x"));
    }
    assert_eq!(t.sent().len(), 3);
}

#[test]
fn broadcast_udp_to_closed_port_is_silent() {
    let mut t = T::new();
    t.learn_gateway();
    let u = udp(GW_IP, [255; 4], 1, 2, b"x");
    t.input(&eth(
        BROADCAST,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, [255; 4], IpProtocol::UDP, &u),
    ));
    assert!(t.sent().is_empty());
    assert_eq!(t.counter("drop_udp_no_socket"), 1);
}

#[test]
fn socket_queue_overflow_is_counted() {
    let mut t = T::new();
    let a = t.udp_socket(1000);
    let b = t.udp_socket(1001);
    const FITS: usize = 64;
    t.s.set_rcvbuf(a, (FITS * RX_CHARGE) as u64).unwrap();
    for i in 0..FITS + 10 {
        t.input(&udp_frame(1, 1000, &[i as u8]));
    }
    t.input(&udp_frame(1, 1001, b"other"));
    assert_eq!(t.counter("drop_socket_queue_full"), 10);
    assert_eq!(t.s.recvfrom(b).unwrap().0.data(), b"other");
    for i in 0..FITS {
        assert_eq!(t.s.recvfrom(a).unwrap().0.data(), &[i as u8], "in order");
    }
    assert_eq!(t.s.recvfrom(a).unwrap_err(), Errno::EAGAIN);
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn send_queues_while_resolving_then_flushes() {
    let mut t = T::new();
    let s = t.udp_socket(0);
    let port = t.s.getsockname(s).unwrap().port();
    for i in 0..3u8 {
        assert_eq!(t.send_udp(s, (GW_IP, 7), &[i; 10]), Ok(10));
    }
    let sent = t.sent();
    assert_eq!(sent.len(), 1, "one ARP request, the datagrams wait");
    let f = parse_eth(sent[0].data());
    assert_eq!(
        (f.eth.dst(), f.eth.ethertype()),
        (BROADCAST, EtherType::ARP)
    );
    let p = parse_arp(f.payload);
    assert_eq!(
        (p.oper(), p.sha(), p.spa(), p.tpa()),
        (ArpOperation::REQUEST, OUR_MAC, OUR_IP, GW_IP)
    );
    let mut list = [ArpEntry::default(); 4];
    assert_eq!(t.s.arp_list(t.env.now, &mut list), 1);
    assert_eq!((list[0].resolved, list[0].queued), (0, 3));

    t.input(&eth(
        OUR_MAC,
        GW_MAC,
        EtherType::ARP,
        &arp(ArpOperation::REPLY, GW_MAC, GW_IP, OUR_MAC, OUR_IP),
    ));
    let sent = t.sent();
    assert_eq!(sent.len(), 3);
    for (i, m) in sent.iter().enumerate() {
        let f = parse_eth(m.data());
        assert_eq!((f.eth.dst(), f.eth.src()), (GW_MAC, OUR_MAC));
        let (ip, body) = parse_ipv4(f.payload);
        assert_eq!(
            (ip.src(), ip.dst(), ip.protocol()),
            (OUR_IP, GW_IP, IpProtocol::UDP)
        );
        assert!(wire::udp::checksum_ok(OUR_IP, GW_IP, body));
        let (u, data) = UdpHeader::ref_from_prefix(body).unwrap();
        assert_ne!(u.checksum(), 0, "always generated");
        assert_eq!(
            (u.src_port(), u.dst_port(), u.length() as usize),
            (port, 7, body.len())
        );
        assert_eq!(data, &[i as u8; 10]);
    }
    // Now resolved: sent at once.
    t.send_udp(s, (GW_IP, 7), b"now").unwrap();
    assert_eq!(t.sent().len(), 1);
}

#[test]
fn off_link_goes_via_gateway_and_broadcast_needs_no_arp() {
    let mut t = T::new();
    t.learn_gateway();
    let s = t.udp_socket(0);
    t.send_udp(s, ([93, 184, 216, 34], 53), b"q").unwrap();
    let sent = t.sent();
    let f = parse_eth(sent[0].data());
    assert_eq!(f.eth.dst(), GW_MAC);
    assert_eq!(parse_ipv4(f.payload).0.dst(), [93, 184, 216, 34]);
    t.send_udp(s, ([10, 0, 2, 255], 9), b"b").unwrap();
    t.send_udp(s, ([255; 4], 9), b"b").unwrap();
    for m in t.sent() {
        assert_eq!(parse_eth(m.data()).eth.dst(), BROADCAST);
    }
}

#[test]
fn arp_queue_bound_retries_and_timeout() {
    let mut t = T::new();
    let s = t.udp_socket(0);
    for _ in 0..ARP_QUEUE + 2 {
        t.send_udp(s, (PEER_IP, 7), b"x").unwrap();
    }
    assert_eq!(t.counter("drop_arp_queue_full"), 2);
    assert_eq!(t.sent().len(), 1);
    let free_before = t.pool().free();
    for _ in 1..ARP_MAX_REQUESTS {
        t.tick(ARP_RETRY_MS);
        assert_eq!(t.sent().len(), 1, "request retried");
    }
    t.tick(ARP_RETRY_MS);
    assert!(t.sent().is_empty());
    assert_eq!(t.counter("drop_arp_timeout"), ARP_QUEUE as u64);
    assert_eq!(t.pool().free(), free_before + ARP_QUEUE);
    assert_eq!(t.counter("arp_requests_out"), ARP_MAX_REQUESTS as u64);
}

#[test]
fn arp_timeout_tells_the_senders_host_unreachable() {
    let mut t = T::new();
    let ping = t.s.socket(SocketKind::Icmp).unwrap();
    let connected = t.s.socket(SocketKind::Udp).unwrap();
    t.s.connect(connected, &SockAddrIn::new(PEER_IP, 7))
        .unwrap();
    let unconnected = t.udp_socket(0);
    let m = t.mbuf(&icmp_echo(Icmpv4Type::ECHO_REQUEST, 0, 1, b"anyone?"));
    t.s.sendto(&mut t.env, ping, m, Some(&SockAddrIn::new(PEER_IP, 0)))
        .unwrap();
    let m = t.mbuf(b"hello");
    t.s.sendto(&mut t.env, connected, m, None).unwrap();
    t.send_udp(unconnected, (PEER_IP, 7), b"hello").unwrap();
    for s in [ping, connected, unconnected] {
        t.s.wait_begin(s, false);
    }
    for _ in 0..ARP_MAX_REQUESTS {
        assert_eq!(t.s.recvfrom(ping).unwrap_err(), Errno::EAGAIN);
        t.tick(ARP_RETRY_MS);
    }
    assert_eq!(t.counter("drop_arp_timeout"), 3);
    assert_eq!(t.env.woken, vec![ping, connected]);
    assert_eq!(t.s.recvfrom(ping).unwrap_err(), Errno::EHOSTUNREACH);
    assert_eq!(t.s.recvfrom(ping).unwrap_err(), Errno::EAGAIN, "said once");
    let m = t.mbuf(b"again");
    assert_eq!(
        t.s.sendto(&mut t.env, connected, m, None),
        Err(Errno::EHOSTUNREACH),
        "the next call of a connected socket reports it"
    );
    assert_eq!(t.s.recvfrom(unconnected).unwrap_err(), Errno::EAGAIN);
}

#[test]
fn entries_expire_and_are_resolved_again() {
    let mut t = T::new();
    t.learn_gateway();
    let s = t.udp_socket(0);
    t.send_udp(s, (GW_IP, 7), b"x").unwrap();
    assert_eq!(
        parse_eth(t.sent()[0].data()).eth.ethertype(),
        EtherType::IPV4
    );
    t.tick(ARP_TTL_MS);
    let mut list = [ArpEntry::default(); 4];
    assert_eq!(t.s.arp_list(t.env.now, &mut list), 0, "expired");
    t.send_udp(s, (GW_IP, 7), b"x").unwrap();
    assert_eq!(
        parse_eth(t.sent()[0].data()).eth.ethertype(),
        EtherType::ARP
    );
}

#[test]
fn unsolicited_reply_does_not_poison_the_gateway() {
    let mut t = T::new();
    t.learn_gateway();
    let evil = [0x02, 0xee, 0xee, 0xee, 0xee, 0xee];
    t.input(&eth(
        OUR_MAC,
        evil,
        EtherType::ARP,
        &arp(ArpOperation::REPLY, evil, GW_IP, OUR_MAC, OUR_IP),
    ));
    // Nor may a new entry be planted by a reply nobody asked for.
    t.input(&eth(
        OUR_MAC,
        evil,
        EtherType::ARP,
        &arp(ArpOperation::REPLY, evil, [10, 0, 2, 66], OUR_MAC, OUR_IP),
    ));
    assert_eq!(t.counter("drop_arp_unsolicited"), 2);
    let mut list = [ArpEntry::default(); 4];
    assert_eq!(t.s.arp_list(t.env.now, &mut list), 1);
    assert_eq!(list[0].mac, GW_MAC);
    let s = t.udp_socket(0);
    t.send_udp(s, (GW_IP, 7), b"x").unwrap();
    assert_eq!(parse_eth(t.sent()[0].data()).eth.dst(), GW_MAC);
}

#[test]
fn connected_socket_filters_and_gets_econnrefused() {
    let mut t = T::new();
    t.learn_gateway();
    let s = t.s.socket(SocketKind::Udp).unwrap();
    t.s.connect(s, &SockAddrIn::new(GW_IP, 7)).unwrap();
    let port = t.s.getsockname(s).unwrap().port();
    let m = t.mbuf(b"ping");
    t.s.sendto(&mut t.env, s, m, None).unwrap();
    let sent = t.sent();
    let datagram = parse_eth(sent[0].data()).payload.to_vec();
    // Only the peer's datagrams arrive.
    t.input(&udp_frame(8, port, b"other port"));
    t.input(&udp_frame(7, port, b"peer"));
    assert_eq!(t.s.recvfrom(s).unwrap().0.data(), b"peer");
    t.sent(); // the port unreachable for the filtered one
              // The peer's port is closed: it says so.
    let mut icmp = vec![0; Icmpv4Header::LEN + Icmpv4DestUnreachable::LEN];
    let (h, _) = Icmpv4Header::mut_from_prefix(&mut icmp).unwrap();
    h.set_msg_type(Icmpv4Type::DEST_UNREACHABLE);
    h.set_code(Icmpv4UnreachableCode::PORT_UNREACHABLE.0);
    icmp.extend_from_slice(&datagram[..Ipv4Header::LEN + 8]);
    wire::icmpv4::fill_checksum(&mut icmp);
    t.env.woken.clear();
    t.s.wait_begin(s, false);
    t.input(&eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &icmp),
    ));
    assert_eq!(t.env.woken, vec![s]);
    assert_eq!(t.s.recvfrom(s).unwrap_err(), Errno::ECONNREFUSED);
    assert_eq!(t.s.recvfrom(s).unwrap_err(), Errno::EAGAIN);
    assert_eq!(t.counter("icmp_unreach_in"), 1);
}

#[test]
fn icmp_socket_sends_requests_and_gets_its_replies() {
    let mut t = T::new();
    t.learn_gateway();
    let s = t.s.socket(SocketKind::Icmp).unwrap();
    let req = icmp_echo(Icmpv4Type::ECHO_REQUEST, 0, 3, b"abcd");
    let m = t.mbuf(&req);
    assert_eq!(
        t.s.sendto(&mut t.env, s, m, Some(&SockAddrIn::new(GW_IP, 0))),
        Ok(req.len())
    );
    let ident = t.s.getsockname(s).unwrap().port();
    let sent = t.sent();
    let (ip, body) = parse_ipv4(parse_eth(sent[0].data()).payload);
    assert_eq!((ip.dst(), ip.protocol()), (GW_IP, IpProtocol::ICMP));
    assert!(wire::icmpv4::checksum_ok(body));
    let e = Icmpv4Echo::ref_from_prefix(&body[Icmpv4Header::LEN..])
        .unwrap()
        .0;
    assert_eq!((e.identifier(), e.sequence()), (ident, 3));

    let reply = icmp_echo(Icmpv4Type::ECHO_REPLY, ident, 3, b"abcd");
    t.input(&eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &reply),
    ));
    let other = icmp_echo(Icmpv4Type::ECHO_REPLY, ident.wrapping_add(1), 3, b"abcd");
    t.input(&eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &other),
    ));
    let (m, from) = t.s.recvfrom(s).unwrap();
    assert_eq!(m.data(), &reply[..]);
    assert_eq!(from, SockAddrIn::new(GW_IP, 0));
    assert_eq!(t.counter("drop_icmp_no_socket"), 1);

    // Only echo requests may be sent.
    let bad = icmp_echo(Icmpv4Type::ECHO_REPLY, 0, 0, b"");
    let m = t.mbuf(&bad);
    assert_eq!(
        t.s.sendto(&mut t.env, s, m, Some(&SockAddrIn::new(GW_IP, 0))),
        Err(Errno::EINVAL)
    );
    let m = t.mbuf(b"abc");
    assert_eq!(
        t.s.sendto(&mut t.env, s, m, Some(&SockAddrIn::new(GW_IP, 0))),
        Err(Errno::EINVAL)
    );
}

#[test]
fn loopback_to_our_address() {
    let mut t = T::new();
    let a = t.udp_socket(5000);
    let b = t.udp_socket(0);
    t.send_udp(b, (OUR_IP, 5000), b"to myself").unwrap();
    assert!(t.sent().is_empty(), "never reaches the device");
    let (m, from) = t.s.recvfrom(a).unwrap();
    assert_eq!(m.data(), b"to myself");
    assert_eq!(
        from,
        SockAddrIn::new(OUR_IP, t.s.getsockname(b).unwrap().port())
    );
    // Ping ourselves.
    let p = t.s.socket(SocketKind::Icmp).unwrap();
    let m = t.mbuf(&icmp_echo(Icmpv4Type::ECHO_REQUEST, 0, 1, b"me"));
    t.s.sendto(&mut t.env, p, m, Some(&SockAddrIn::new(OUR_IP, 0)))
        .unwrap();
    let (m, _) = t.s.recvfrom(p).unwrap();
    assert_eq!(
        Icmpv4Header::ref_from_prefix(m.data())
            .unwrap()
            .0
            .msg_type(),
        Icmpv4Type::ECHO_REPLY
    );
}

#[test]
fn loopback_network_never_reaches_the_device() {
    const LO: [u8; 4] = [127, 0, 0, 1];
    let mut t = T::new();
    // A UDP datagram over 127.0.0.1, and the answer back.
    let server = t.udp_socket(5000);
    let client = t.udp_socket(0);
    let client_port = t.s.getsockname(client).unwrap().port();
    t.send_udp(client, (LO, 5000), b"over lo").unwrap();
    let (m, from) = t.s.recvfrom(server).unwrap();
    assert_eq!(m.data(), b"over lo");
    assert_eq!(
        from,
        SockAddrIn::new(LO, client_port),
        "sent from 127.0.0.1"
    );
    t.send_udp(server, (LO, client_port), b"echo").unwrap();
    let (m, from) = t.s.recvfrom(client).unwrap();
    assert_eq!((m.data(), from), (&b"echo"[..], SockAddrIn::new(LO, 5000)));

    // Ping 127.0.0.1 and another address of the loopback network.
    let p = t.s.socket(SocketKind::Icmp).unwrap();
    for (seq, dst) in [(1, LO), (2, [127, 1, 2, 3])] {
        let m = t.mbuf(&icmp_echo(Icmpv4Type::ECHO_REQUEST, 0, seq, b"lo"));
        t.s.sendto(&mut t.env, p, m, Some(&SockAddrIn::new(dst, 0)))
            .unwrap();
        let (m, from) = t.s.recvfrom(p).unwrap();
        let (h, rest) = Icmpv4Header::ref_from_prefix(m.data()).unwrap();
        assert_eq!(h.msg_type(), Icmpv4Type::ECHO_REPLY);
        assert_eq!(Icmpv4Echo::ref_from_prefix(rest).unwrap().0.sequence(), seq);
        // Answered from 127.0.0.1, our one loopback address.
        assert_eq!(from.addr_be, LO, "echo to {dst:?}");
    }

    // A closed port on 127.0.0.1 refuses a connected socket.
    let c = t.s.socket(SocketKind::Udp).unwrap();
    t.s.connect(c, &SockAddrIn::new(LO, 9)).unwrap();
    let m = t.mbuf(b"anyone?");
    t.s.sendto(&mut t.env, c, m, None).unwrap();
    assert_eq!(t.s.recvfrom(c).unwrap_err(), Errno::ECONNREFUSED);

    assert!(t.sent().is_empty(), "nothing was transmitted on the device");
    assert_eq!(t.drops(), vec![("drop_udp_no_socket".into(), 1)]);
    assert_eq!(
        t.counter("frames_in"),
        0,
        "looped packets are not device frames"
    );
}

/// To 127.0.0.0/8 from the wire is not for us. From it is accepted, since
/// QEMU's user network sends ICMP errors from 127.0.0.1; the answer to
/// such a source stays on the loopback path.
#[test]
fn loopback_addresses_on_the_wire() {
    let mut t = T::new();
    let server = t.udp_socket(5000);
    t.input(&eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(
            GW_IP,
            [127, 0, 0, 1],
            IpProtocol::UDP,
            &udp(GW_IP, [127, 0, 0, 1], 7, 5000, b"to lo"),
        ),
    ));
    t.input(&eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(
            [127, 0, 0, 1],
            OUR_IP,
            IpProtocol::UDP,
            &udp([127, 0, 0, 1], OUR_IP, 7, 5000, b"from lo"),
        ),
    ));
    assert_eq!(t.drops(), vec![("drop_ipv4_not_for_us".into(), 1)]);
    let (m, from) = t.s.recvfrom(server).unwrap();
    assert_eq!(
        (m.data(), from),
        (&b"from lo"[..], SockAddrIn::new([127, 0, 0, 1], 7))
    );
    t.send_udp(server, ([127, 0, 0, 1], 7), b"answer").unwrap();
    assert!(t.sent().is_empty(), "the answer did not go to the device");
}

#[test]
fn send_errors() {
    let mut t = T::new();
    let s = t.s.socket(SocketKind::Udp).unwrap();
    let m = t.mbuf(b"x");
    assert_eq!(t.s.sendto(&mut t.env, s, m, None), Err(Errno::EDESTADDRREQ));
    // Longer than one frame, yet not cut where its fragments go.
    let m = t.mbuf(&[0; 1473]);
    assert_eq!(
        t.s.sendto(&mut t.env, s, m, Some(&SockAddrIn::new(GW_IP, 7))),
        Err(Errno::EINVAL)
    );
    // Longer than an IPv4 datagram can carry.
    let m = t.datagram(&[0; net::udp::MAX_PAYLOAD + 1]);
    assert_eq!(
        t.s.sendto(&mut t.env, s, m, Some(&SockAddrIn::new(GW_IP, 7))),
        Err(Errno::EMSGSIZE)
    );
    let m = t.mbuf(&[0; 1472]);
    assert_eq!(
        t.s.sendto(&mut t.env, s, m, Some(&SockAddrIn::new(GW_IP, 7))),
        Ok(1472)
    );
    assert_eq!(t.send_udp(s, (GW_IP, 0), b"x"), Err(Errno::EINVAL));
    assert_eq!(
        t.send_udp(s, ([224, 0, 0, 1], 9), b"x"),
        Err(Errno::ENETUNREACH)
    );
    assert_eq!(
        t.send_udp(net::SocketId(63), (GW_IP, 9), b"x"),
        Err(Errno::EBADF)
    );
    assert_eq!(
        t.s.connect(s, &SockAddrIn::new(GW_IP, 0)),
        Err(Errno::EINVAL)
    );
}

#[test]
fn tx_ring_full_is_counted() {
    let mut t = T::new();
    t.learn_gateway();
    t.env.refuse = true;
    let s = t.udp_socket(0);
    t.send_udp(s, (GW_IP, 7), b"x").unwrap();
    assert_eq!(t.counter("drop_tx_ring_full"), 1);
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn ttl_zero_is_accepted_and_counted() {
    let mut t = T::new();
    let s = t.udp_socket(9);
    let u = udp(GW_IP, OUR_IP, 1, 9, b"t");
    t.input(&eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4_with(GW_IP, OUR_IP, IpProtocol::UDP, &u, |h| h.set_ttl(0)),
    ));
    assert_eq!(t.s.recvfrom(s).unwrap().0.data(), b"t");
    assert_eq!(t.counter("ipv4_ttl_zero"), 1);
}

#[test]
fn ifconfig_changes_address_and_routes() {
    let mut t = T::new();
    let mut c = t.s.iface().to_abi();
    c.addr = [192, 168, 1, 5];
    c.gateway = [192, 168, 1, 1];
    t.s.set_config(&c).unwrap();
    assert_eq!(t.s.iface().addr, [192, 168, 1, 5]);
    let s = t.udp_socket(0);
    t.send_udp(s, ([8, 8, 8, 8], 53), b"q").unwrap();
    let p = parse_arp(parse_eth(t.sent()[0].data()).payload);
    assert_eq!(p.tpa(), [192, 168, 1, 1]);
    c.netmask = [255, 0, 255, 0];
    assert_eq!(t.s.set_config(&c), Err(Errno::EINVAL));
}

#[test]
fn ifconfig_refuses_what_is_not_a_host_address() {
    let mut t = T::new();
    let good = t.s.iface().to_abi();
    let with = |addr: [u8; 4], netmask: [u8; 4], gateway: [u8; 4]| abi::net::IfConfig {
        addr,
        netmask,
        gateway,
        ..good
    };
    let m24 = [255, 255, 255, 0];
    for bad in [
        with([0, 0, 0, 0], m24, [0; 4]),
        with([255, 255, 255, 255], m24, [0; 4]),
        with([224, 0, 0, 1], m24, [0; 4]),
        with([127, 0, 0, 1], m24, [0; 4]),
        with([10, 0, 2, 255], m24, [0; 4]),
        with([10, 0, 2, 0], m24, [0; 4]),
        with([10, 0, 2, 15], m24, [10, 0, 3, 1]),
        with([10, 0, 2, 15], m24, [10, 0, 2, 15]),
        with([10, 0, 2, 15], m24, [10, 0, 2, 255]),
    ] {
        assert_eq!(t.s.set_config(&bad), Err(Errno::EINVAL), "{bad:?}");
        assert_eq!(t.s.iface().to_abi().addr, good.addr, "unchanged");
    }
    // A /31 has no network or broadcast address: both ends are hosts.
    t.s.set_config(&with([10, 0, 9, 0], [255, 255, 255, 254], [10, 0, 9, 1]))
        .unwrap();
    t.s.set_config(&with([10, 0, 9, 1], m24, [0; 4])).unwrap();
}

#[test]
fn arp_flush_forgets_and_drops_waiting() {
    let mut t = T::new();
    t.learn_gateway();
    let s = t.udp_socket(0);
    t.send_udp(s, (PEER_IP, 7), b"waits").unwrap();
    t.sent();
    assert_eq!(t.s.arp_flush(), 2);
    assert_eq!(t.counter("drop_arp_evicted"), 1);
    assert_eq!(t.pool().free(), t.pool().total());
    t.send_udp(s, (GW_IP, 7), b"x").unwrap();
    assert_eq!(
        parse_eth(t.sent()[0].data()).eth.ethertype(),
        EtherType::ARP,
        "resolves again"
    );
}

#[test]
fn close_returns_everything() {
    let mut t = T::new();
    let a = t.udp_socket(1);
    for _ in 0..5 {
        t.input(&udp_frame(1, 1, b"q"));
    }
    assert_eq!(t.pool().free(), t.pool().total() - 5);
    t.s.close(a).unwrap();
    assert_eq!(t.pool().free(), t.pool().total());
    // The port is free again.
    t.udp_socket(1);
}

#[test]
fn timed_waiters_are_woken_every_tick() {
    let mut t = T::new();
    let a = t.udp_socket(1);
    let b = t.udp_socket(2);
    t.tick(10);
    assert!(t.env.woken.is_empty());
    t.s.wait_begin(a, true);
    t.tick(10);
    t.tick(10);
    assert_eq!(t.env.woken, vec![a, a]);
    t.s.wait_end(a, true);
    t.env.woken.clear();
    t.tick(10);
    assert!(t.env.woken.is_empty());
    let _ = b;
}

#[test]
fn socket_options_are_kept() {
    let mut t = T::new();
    let a = t.udp_socket(1);
    let o = net::socket::SockOpts {
        rcvtimeo_ms: 250,
        nonblock: true,
        nodelay: true,
        reuseaddr: true,
        keepalive: net::tcp::Keepalive::DEFAULT,
    };
    t.s.set_options(a, o).unwrap();
    assert_eq!(t.s.options(a).unwrap(), o);
    assert_eq!(t.s.kind(a).unwrap(), SocketKind::Udp);
}

#[test]
fn nobody_waiting_means_no_wakeup() {
    let mut t = T::new();
    let a = t.udp_socket(1);
    t.input(&udp_frame(1, 1, b"q"));
    assert!(t.env.woken.is_empty(), "no sleeper, no wake-up scan");
    t.s.wait_begin(a, false);
    t.input(&udp_frame(1, 1, b"q"));
    t.s.wait_end(a, false);
    t.input(&udp_frame(1, 1, b"q"));
    assert_eq!(t.env.woken, vec![a]);
}
