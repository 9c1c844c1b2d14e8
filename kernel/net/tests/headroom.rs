//! The headroom the specs give every mbuf: frames arrive as the driver
//! leaves them (its header pulled off the front) carrying the longest IPv4
//! header there is, and every reply the stack builds in place, and every
//! frame it sends, still leaves room for the driver's header.

mod common;

use common::*;
use net::mbuf::DRIVER_HEADER;
use net::{Mbuf, HEADROOM};
use wire::arp::ArpOperation;
use wire::dispatch::ETHERNET_MAX_HEADERS;
use wire::ethernet::EtherType;
use wire::icmpv4::{Icmpv4DestUnreachable, Icmpv4Echo, Icmpv4Header, Icmpv4Type};
use wire::ipv4::{IpProtocol, Ipv4Header};
use zerocopy::FromBytes;

/// An IPv4 packet from the gateway to us whose header has the most options
/// IHL allows (end-of-list, then padding).
fn ipv4_longest(proto: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let mut v = ipv4_with(GW_IP, OUR_IP, proto, payload, |_| {});
    v.splice(
        Ipv4Header::LEN..Ipv4Header::LEN,
        vec![0; Ipv4Header::MAX_LEN - Ipv4Header::LEN],
    );
    let (h, _) = Ipv4Header::mut_from_prefix(&mut v).unwrap();
    h.set_ihl((Ipv4Header::MAX_LEN / 4) as u8);
    h.set_total_length((Ipv4Header::MAX_LEN + payload.len()) as u16);
    wire::ipv4::fill_checksum(&mut v[..Ipv4Header::MAX_LEN]);
    v
}

/// `frame` in a fresh mbuf the way the driver hands it over: the device
/// wrote its header and the frame at the start of the window, and the
/// driver pulled its header off.
fn from_driver(t: &T, frame: &[u8]) -> Mbuf {
    let mut m = t.pool().alloc().unwrap();
    m.append(DRIVER_HEADER + frame.len())
        .unwrap()
        .copy_from_slice(&[&vec![0; DRIVER_HEADER][..], frame].concat());
    m.pull(DRIVER_HEADER).unwrap();
    m
}

/// Every frame sent so far, checked to leave room for the driver's header.
fn sent_with_room(t: &mut T) -> Vec<Mbuf> {
    let sent = t.sent();
    for m in &sent {
        assert!(
            m.headroom() >= DRIVER_HEADER,
            "{m:?}: no room for the driver"
        );
    }
    sent
}

#[test]
fn headroom_is_the_longest_chain_and_the_driver_header() {
    assert_eq!(HEADROOM, DRIVER_HEADER + ETHERNET_MAX_HEADERS);
}

#[test]
fn port_unreachable_to_the_longest_ipv4_header() {
    let mut t = T::new();
    t.learn_gateway();
    let datagram = udp(GW_IP, OUR_IP, 4444, 9999, b"abcdefghijkl");
    let packet = ipv4_longest(IpProtocol::UDP, &datagram);
    let m = from_driver(&t, &eth(OUR_MAC, GW_MAC, EtherType::IPV4, &packet));
    t.s.input(&mut t.env, m);
    let sent = sent_with_room(&mut t);
    assert_eq!(sent.len(), 1);
    assert!(t
        .drops()
        .iter()
        .all(|(name, _)| name == "drop_udp_no_socket"));
    let f = parse_eth(sent[0].data());
    let (ip, body) = parse_ipv4(f.payload);
    assert_eq!(ip.protocol(), IpProtocol::ICMP);
    assert!(wire::icmpv4::checksum_ok(body));
    let (_, rest) = Icmpv4Header::ref_from_prefix(body).unwrap();
    let (_, quoted) = Icmpv4DestUnreachable::ref_from_prefix(rest).unwrap();
    let quote_len = Ipv4Header::MAX_LEN + usize::from(wire::icmpv4::ERROR_QUOTED_DATA);
    assert_eq!(quoted, &packet[..quote_len]);
}

#[test]
fn echo_reply_to_the_longest_ipv4_header() {
    let mut t = T::new();
    t.learn_gateway();
    let icmp = icmp_echo(Icmpv4Type::ECHO_REQUEST, 7, 1, b"options");
    let packet = ipv4_longest(IpProtocol::ICMP, &icmp);
    let m = from_driver(&t, &eth(OUR_MAC, GW_MAC, EtherType::IPV4, &packet));
    t.s.input(&mut t.env, m);
    let sent = sent_with_room(&mut t);
    assert_eq!(sent.len(), 1);
    let (ip, body) = parse_ipv4(parse_eth(sent[0].data()).payload);
    assert_eq!(ip.ihl_bytes(), Ipv4Header::LEN, "we send no options");
    assert!(wire::icmpv4::checksum_ok(body));
    let (h, rest) = Icmpv4Header::ref_from_prefix(body).unwrap();
    let (e, data) = Icmpv4Echo::ref_from_prefix(rest).unwrap();
    assert_eq!((h.msg_type(), h.code()), (Icmpv4Type::ECHO_REPLY, 0));
    assert_eq!(
        (e.identifier(), e.sequence(), data),
        (7, 1, &b"options"[..])
    );
}

#[test]
fn sent_datagrams_and_arp_requests_leave_room_for_the_driver() {
    let mut t = T::new();
    let id = t.udp_socket(5000);
    // Unresolved: the datagram waits and an ARP request goes out.
    t.send_udp(id, (PEER_IP, 7), &[0x5a; 1472]).unwrap();
    let sent = sent_with_room(&mut t);
    assert_eq!(sent.len(), 1, "the ARP request");
    // The peer asks for us: the datagram that waited, then our reply.
    t.input(&eth(
        OUR_MAC,
        PEER_MAC,
        EtherType::ARP,
        &arp(ArpOperation::REQUEST, PEER_MAC, PEER_IP, [0; 6], OUR_IP),
    ));
    let sent = sent_with_room(&mut t);
    assert_eq!(sent.len(), 2);
    assert_eq!(parse_eth(sent[1].data()).eth.ethertype(), EtherType::ARP);
    let (_, datagram) = parse_ipv4(parse_eth(sent[0].data()).payload);
    assert!(wire::udp::checksum_ok(OUR_IP, PEER_IP, datagram));
    assert_eq!(datagram.len(), wire::udp::UdpHeader::LEN + 1472);
}
