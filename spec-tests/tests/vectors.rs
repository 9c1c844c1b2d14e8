//! Known answers: frames a real Linux stack built (`spec_tests::captures`)
//! parsed through the generated views and dispatch table, every field and
//! checksum checked (expected values as tshark dissects them), and the
//! RFC 1071 checksum example.

use spec_tests::{captures, deku, edited, roundtrip};
use wire::arp::{ArpOperation, ArpPacket};
use wire::checksum::{internet_checksum, Checksum};
use wire::dispatch::{ethernet_next, ipv4_next, EthernetNext, Ipv4Next};
use wire::ethernet::{EtherType, EthernetHeader, BROADCAST};
use wire::icmpv4::{self, Icmpv4Echo, Icmpv4Header, Icmpv4Type, Icmpv4UnreachableCode};
use wire::ipv4::{self, IpProtocol, Ipv4Header};
use wire::udp::{self, UdpHeader};
use zerocopy::{FromBytes, IntoBytes};

const LEFT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const RIGHT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const LEFT_IP: [u8; 4] = [10, 9, 0, 1];
const RIGHT_IP: [u8; 4] = [10, 9, 0, 2];

/// Ethernet header and payload of a frame, dispatched.
fn ethernet(frame: &[u8]) -> (&EthernetHeader, EthernetNext, &[u8]) {
    let p = EthernetHeader::parse(frame).unwrap();
    roundtrip::<deku::ethernet::EthernetHeader>(p.header.as_bytes()).unwrap();
    (p.header, ethernet_next(p.header.ethertype()), p.payload)
}

/// The IPv4 header, checked, and its payload, dispatched.
fn ipv4(packet: &[u8]) -> (&Ipv4Header, Ipv4Next, &[u8]) {
    let p = Ipv4Header::parse(packet).unwrap();
    roundtrip::<deku::ipv4::Ipv4Header>(p.header.as_bytes()).unwrap();
    assert!(p.header.fixed_values_ok());
    assert!(ipv4::checksum_ok(&p.message[..p.header.ihl_bytes()]));
    assert!(p.options.is_empty());
    (p.header, ipv4_next(p.header.protocol()), p.payload)
}

/// `fill_checksum` recomputes exactly the checksum Linux sent.
fn refill_ipv4(packet: &[u8]) {
    let mut copy = packet.to_vec();
    let (header, _) = Ipv4Header::mut_from_prefix(&mut copy).unwrap();
    header.set_header_checksum(0x1234);
    let len = header.ihl_bytes();
    assert!(!ipv4::checksum_ok(&copy[..len]));
    ipv4::fill_checksum(&mut copy[..len]);
    assert_eq!(copy, packet);
}

#[test]
fn arp_request() {
    let (eth, next, payload) = ethernet(&captures::ARP_REQUEST);
    assert_eq!(
        (eth.dst(), eth.src(), eth.ethertype()),
        (BROADCAST, LEFT_MAC, EtherType::ARP)
    );
    assert_eq!(next, EthernetNext::Arp);
    let arp = ArpPacket::parse(payload).unwrap().header;
    roundtrip::<deku::arp::ArpPacket>(payload).unwrap();
    assert!(arp.fixed_values_ok());
    assert_eq!(
        (arp.htype(), arp.ptype(), arp.hlen(), arp.plen()),
        (1, 0x0800, 6, 4)
    );
    assert_eq!(arp.oper(), ArpOperation::REQUEST);
    assert_eq!((arp.sha(), arp.spa()), (LEFT_MAC, LEFT_IP));
    assert_eq!((arp.tha(), arp.tpa()), ([0; 6], RIGHT_IP));
}

#[test]
fn arp_reply() {
    let (eth, next, payload) = ethernet(&captures::ARP_REPLY);
    assert_eq!((eth.dst(), eth.src()), (LEFT_MAC, RIGHT_MAC));
    assert_eq!(next, EthernetNext::Arp);
    let arp = ArpPacket::parse(payload).unwrap().header;
    assert_eq!(arp.oper(), ArpOperation::REPLY);
    assert_eq!(
        (arp.sha(), arp.spa(), arp.tha(), arp.tpa()),
        (RIGHT_MAC, RIGHT_IP, LEFT_MAC, LEFT_IP)
    );
    let mut built = ArpPacket::default();
    built.set_fixed_values();
    built.set_oper(ArpOperation::REPLY);
    built.set_sha(RIGHT_MAC);
    built.set_spa(RIGHT_IP);
    built.set_tha(LEFT_MAC);
    built.set_tpa(LEFT_IP);
    assert_eq!(built.as_bytes(), payload);
}

#[test]
fn icmp_echo_request() {
    let (eth, next, packet) = ethernet(&captures::ICMP_ECHO_REQUEST);
    assert_eq!(
        (eth.dst(), eth.src(), next),
        (RIGHT_MAC, LEFT_MAC, EthernetNext::Ipv4)
    );
    let (ip, next, message) = ipv4(packet);
    assert_eq!(
        (ip.version(), ip.ihl(), ip.ihl_bytes(), ip.dscp(), ip.ecn()),
        (4, 5, 20, 0, 0)
    );
    assert_eq!((ip.total_length(), ip.identification()), (84, 0x5a5a));
    assert_eq!(
        (
            ip.reserved(),
            ip.dont_fragment(),
            ip.more_fragments(),
            ip.fragment_offset()
        ),
        (false, true, false, 0)
    );
    assert_eq!(
        (ip.ttl(), ip.protocol(), ip.header_checksum()),
        (64, IpProtocol::ICMP, 0xcc3a)
    );
    assert_eq!((ip.src(), ip.dst()), (LEFT_IP, RIGHT_IP));
    assert_eq!(next, Ipv4Next::Icmpv4);
    refill_ipv4(packet);

    let icmp = Icmpv4Header::parse(message).unwrap();
    roundtrip::<deku::icmpv4::Icmpv4Header>(icmp.header.as_bytes()).unwrap();
    assert_eq!(
        (
            icmp.header.msg_type(),
            icmp.header.code(),
            icmp.header.checksum()
        ),
        (Icmpv4Type::ECHO_REQUEST, 0, 0x8731)
    );
    assert!(icmpv4::checksum_ok(message));
    let echo = Icmpv4Echo::parse(icmp.payload).unwrap();
    roundtrip::<deku::icmpv4::Icmpv4Echo>(echo.header.as_bytes()).unwrap();
    assert_eq!(
        (echo.header.identifier(), echo.header.sequence()),
        (0x75e2, 1)
    );
    assert_eq!(echo.payload.len(), 56);
    assert!(echo.payload.ends_with(b"xv6Wxv6W"), "the ping -p pattern");

    let mut copy = edited(message, |h: &mut Icmpv4Header| h.set_checksum(0));
    icmpv4::fill_checksum(&mut copy);
    assert_eq!(copy, message);
}

#[test]
fn icmp_echo_reply() {
    let (eth, _, packet) = ethernet(&captures::ICMP_ECHO_REPLY);
    assert_eq!((eth.dst(), eth.src()), (LEFT_MAC, RIGHT_MAC));
    let (ip, next, message) = ipv4(packet);
    assert_eq!(
        (
            ip.identification(),
            ip.dont_fragment(),
            ip.header_checksum()
        ),
        (0x4b0d, false, 0x1b88)
    );
    assert_eq!(
        (ip.src(), ip.dst(), next),
        (RIGHT_IP, LEFT_IP, Ipv4Next::Icmpv4)
    );
    refill_ipv4(packet);
    let icmp = Icmpv4Header::parse(message).unwrap();
    assert_eq!(
        (icmp.header.msg_type(), icmp.header.checksum()),
        (Icmpv4Type::ECHO_REPLY, 0x8f31)
    );
    assert!(icmpv4::checksum_ok(message));
    let echo = Icmpv4Echo::parse(icmp.payload).unwrap().header;
    assert_eq!((echo.identifier(), echo.sequence()), (0x75e2, 1));
}

#[test]
fn udp_datagram() {
    let (_, next, packet) = ethernet(&captures::UDP_TO_LISTENER);
    assert_eq!(next, EthernetNext::Ipv4);
    let (ip, next, datagram) = ipv4(packet);
    assert_eq!(
        (
            ip.total_length(),
            ip.identification(),
            ip.protocol(),
            ip.header_checksum()
        ),
        (40, 0xbf47, IpProtocol::UDP, 0x6769)
    );
    assert_eq!(next, Ipv4Next::Udp);
    refill_ipv4(packet);

    let p = UdpHeader::parse(datagram, ip.src(), ip.dst()).unwrap();
    roundtrip::<deku::udp::UdpHeader>(p.header.as_bytes()).unwrap();
    let h = p.header;
    assert_eq!(
        (h.src_port(), h.dst_port(), h.length(), h.checksum()),
        (40000, 7777, 20, 0xd8c4)
    );
    assert_eq!(p.payload, b"hello xv6net");
    assert!(udp::checksum_ok(ip.src(), ip.dst(), datagram));
    assert_eq!(udp::checksum(ip.src(), ip.dst(), datagram), 0xd8c4);
    assert!(
        !udp::checksum_ok(ip.src(), [10, 9, 0, 3], datagram),
        "another pseudo-header fails"
    );

    let mut copy = edited(datagram, |h: &mut UdpHeader| h.set_checksum(0x1234));
    udp::fill_checksum(ip.src(), ip.dst(), &mut copy);
    assert_eq!(copy, datagram);
}

#[test]
fn udp_zero_checksum_means_none() {
    let (_, _, packet) = ethernet(&captures::UDP_TO_CLOSED_PORT);
    let (ip, _, datagram) = ipv4(packet);
    let none = edited(datagram, |h: &mut UdpHeader| h.set_checksum(0));
    assert!(
        udp::checksum_ok(ip.src(), ip.dst(), &none),
        "0 = no checksum"
    );
    let other_port = edited(&none, |h: &mut UdpHeader| h.set_src_port(1));
    assert!(
        udp::checksum_ok(ip.src(), ip.dst(), &other_port),
        "still none"
    );
    let spoiled = edited(datagram, |h: &mut UdpHeader| h.set_src_port(1));
    assert!(!udp::checksum_ok(ip.src(), ip.dst(), &spoiled));
}

#[test]
fn icmp_port_unreachable() {
    let (_, _, packet) = ethernet(&captures::ICMP_PORT_UNREACHABLE);
    let (ip, next, message) = ipv4(packet);
    assert_eq!((ip.dscp(), ip.ecn()), (48, 0), "TOS 0xc0 = DSCP CS6");
    assert_eq!(
        (ip.total_length(), ip.identification(), ip.header_checksum()),
        (63, 0x4c12, 0x19d8)
    );
    assert_eq!(next, Ipv4Next::Icmpv4);
    refill_ipv4(packet);

    let icmp = Icmpv4Header::parse(message).unwrap();
    assert_eq!(icmp.header.msg_type(), Icmpv4Type::DEST_UNREACHABLE);
    assert_eq!(
        Icmpv4UnreachableCode(icmp.header.code()),
        Icmpv4UnreachableCode::PORT_UNREACHABLE
    );
    assert_eq!(icmp.header.checksum(), 0x1132);
    assert!(icmpv4::checksum_ok(message));
    let body = wire::icmpv4::Icmpv4DestUnreachable::parse(icmp.payload).unwrap();
    roundtrip::<deku::icmpv4::Icmpv4DestUnreachable>(body.header.as_bytes()).unwrap();
    assert_eq!((body.header.unused(), body.header.next_hop_mtu()), (0, 0));

    // The quoted datagram is the one we sent to port 9.
    let (quoted, next, rest) = ipv4(body.payload);
    assert_eq!(
        (quoted.identification(), quoted.dst(), next),
        (0xbf48, RIGHT_IP, Ipv4Next::Udp)
    );
    let udp = UdpHeader::parse(rest, quoted.src(), quoted.dst())
        .unwrap()
        .header;
    assert_eq!(
        (udp.src_port(), udp.dst_port(), udp.checksum()),
        (40000, 9, 0xc72e)
    );
}

#[test]
fn unknown_ethertype_dispatches_to_unknown() {
    let (eth, next, _) = ethernet(&captures::IPV6_MLD_REPORT);
    assert_eq!(eth.ethertype(), EtherType::IPV6);
    assert_eq!(next, EthernetNext::Unknown(EtherType::IPV6));
    assert_eq!(format!("{:?}", eth.ethertype()), "IPV6");
    assert_eq!(format!("{:?}", EtherType(0x88cc)), "EtherType(0x88cc)");
    assert_eq!(ipv4_next(IpProtocol::TCP), Ipv4Next::Tcp);
    assert_eq!(
        ipv4_next(IpProtocol(47)),
        Ipv4Next::Unknown(IpProtocol(47)),
        "GRE has no next layer"
    );
    assert_eq!(format!("{:?}", IpProtocol(89)), "IpProtocol(89)");
}

/// RFC 1071, section 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2
/// (after folding), so the checksum is its complement, 0x220d.
#[test]
fn rfc1071_example() {
    let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    assert_eq!(internet_checksum(&data), !0xddf2);
    assert_eq!(internet_checksum(&data), 0x220d);
    // Added in pieces of odd lengths, or word by word: the same sum.
    let mut pieces = Checksum::new();
    pieces.add(&data[..3]);
    pieces.add(&data[3..4]);
    pieces.add(&[]);
    pieces.add(&data[4..]);
    assert_eq!(pieces.finish(), 0x220d);
    let mut words = Checksum::new();
    for w in data.chunks(2) {
        words.add_u16(u16::from_be_bytes([w[0], w[1]]));
    }
    assert_eq!(words.finish(), 0x220d);
    // Data followed by its checksum sums to zero.
    let mut with_sum = data.to_vec();
    with_sum.extend_from_slice(&0x220du16.to_be_bytes());
    assert_eq!(internet_checksum(&with_sum), 0);
    // An odd byte at the end is the high byte of a zero-padded word.
    assert_eq!(internet_checksum(&[0x12]), !0x1200);
}
