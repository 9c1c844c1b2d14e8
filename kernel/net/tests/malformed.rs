//! One malformed frame per receive-side drop reason: each must move exactly
//! its own counter, send nothing, and give its mbuf back.

mod common;

use common::*;
use net::DropReason;
use wire::arp::{ArpOperation, ArpPacket};
use wire::ethernet::{EtherType, BROADCAST};
use wire::icmpv4::{Icmpv4DestUnreachable, Icmpv4Header, Icmpv4Type, Icmpv4UnreachableCode};
use wire::ipv4::{IpProtocol, Ipv4Header, Ipv4OptionKind};
use wire::udp::UdpHeader;
use zerocopy::FromBytes;

fn to_us(ip: Vec<u8>) -> Vec<u8> {
    eth(OUR_MAC, GW_MAC, EtherType::IPV4, &ip)
}

fn ip_udp(u: &[u8]) -> Vec<u8> {
    to_us(ipv4(GW_IP, OUR_IP, IpProtocol::UDP, u))
}

fn arp_with(f: impl FnOnce(&mut ArpPacket)) -> Vec<u8> {
    let mut a = arp(ArpOperation::REQUEST, GW_MAC, GW_IP, [0; 6], OUR_IP);
    f(ArpPacket::mut_from_prefix(&mut a).unwrap().0);
    eth(BROADCAST, GW_MAC, EtherType::ARP, &a)
}

/// UDP to the bound port in an IPv4 header carrying `options`.
fn ip_options(options: &[u8]) -> Vec<u8> {
    let u = udp(GW_IP, OUR_IP, 1, 7, b"data");
    to_us(with_options(
        &ipv4(GW_IP, OUR_IP, IpProtocol::UDP, &u),
        options,
    ))
}

/// IPv4 option kinds (RFC 791, RFC 2113), from the spec.
const NOP: u8 = Ipv4OptionKind::NOP.0;
const RR: u8 = Ipv4OptionKind::RECORD_ROUTE.0;
const TS: u8 = Ipv4OptionKind::TIMESTAMP.0;
const RA: u8 = Ipv4OptionKind::ROUTER_ALERT.0;

/// A port unreachable quoting `quoted` (an IPv4 header and what follows).
fn unreachable_quoting(quoted: &[u8]) -> Vec<u8> {
    let mut icmp = vec![0; Icmpv4Header::LEN + Icmpv4DestUnreachable::LEN];
    let (h, _) = Icmpv4Header::mut_from_prefix(&mut icmp).unwrap();
    h.set_msg_type(Icmpv4Type::DEST_UNREACHABLE);
    h.set_code(Icmpv4UnreachableCode::PORT_UNREACHABLE.0);
    icmp.extend_from_slice(quoted);
    wire::icmpv4::fill_checksum(&mut icmp);
    to_us(ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &icmp))
}

/// Our datagram to the gateway's port 7, as an ICMP error would quote it:
/// the IP header and 8 bytes, with `tweak` applied to the header.
fn quoted_datagram(tweak: impl FnOnce(&mut Ipv4Header)) -> Vec<u8> {
    let u = udp(OUR_IP, GW_IP, 49152, 7, b"quoted datagram");
    let mut q = ipv4_with(OUR_IP, GW_IP, IpProtocol::UDP, &u, tweak);
    q.truncate(Ipv4Header::LEN + 8);
    q
}

fn ip_tweak(f: impl FnOnce(&mut Ipv4Header)) -> Vec<u8> {
    let u = udp(GW_IP, OUR_IP, 1, 7, b"data");
    to_us(ipv4_with(GW_IP, OUR_IP, IpProtocol::UDP, &u, f))
}

/// Every case: (what, frame, the counter that must move).
fn cases() -> Vec<(&'static str, Vec<u8>, DropReason)> {
    use DropReason::*;
    let ping = icmp_echo(Icmpv4Type::ECHO_REQUEST, 1, 1, b"ping");
    let good_udp = udp(GW_IP, OUR_IP, 1, 7, b"data");
    let mut v = vec![
        ("empty frame", vec![], EthTooShort),
        ("truncated ethernet", vec![0xff; 13], EthTooShort),
        (
            "oversized frame",
            eth(OUR_MAC, GW_MAC, EtherType::IPV4, &[0; 1501]),
            EthOversized,
        ),
        (
            "other unicast MAC",
            eth([2, 0, 0, 0, 0, 9], GW_MAC, EtherType::IPV4, &[0; 46]),
            EthNotForUs,
        ),
        (
            "multicast MAC",
            eth([1, 0, 0x5e, 0, 0, 1], GW_MAC, EtherType::IPV4, &[0; 46]),
            EthNotForUs,
        ),
        (
            "broadcast source MAC",
            eth(OUR_MAC, BROADCAST, EtherType::IPV4, &[0; 46]),
            EthBadSource,
        ),
        (
            "IPv6 ethertype",
            eth(OUR_MAC, GW_MAC, EtherType::IPV6, &[0; 46]),
            EthUnknownType,
        ),
        (
            "truncated ARP",
            eth(BROADCAST, GW_MAC, EtherType::ARP, &[0; 20]),
            ArpTooShort,
        ),
        ("ARP hlen 7", arp_with(|p| p.set_hlen(7)), ArpBadFormat),
        ("ARP plen 16", arp_with(|p| p.set_plen(16)), ArpBadFormat),
        ("ARP htype 6", arp_with(|p| p.set_htype(6)), ArpBadFormat),
        (
            "ARP opcode 3",
            arp_with(|p| p.set_oper(ArpOperation(3))),
            ArpBadOper,
        ),
        (
            "ARP broadcast sender MAC",
            arp_with(|p| p.set_sha(BROADCAST)),
            ArpBadSender,
        ),
        (
            "ARP sender is our IP",
            arp_with(|p| p.set_spa(OUR_IP)),
            ArpBadSender,
        ),
        (
            "ARP sender is broadcast IP",
            arp_with(|p| p.set_spa([255; 4])),
            ArpBadSender,
        ),
        (
            "ARP for another host",
            arp_with(|p| p.set_tpa([10, 0, 2, 77])),
            ArpNotForUs,
        ),
        (
            "unsolicited ARP reply",
            eth(
                OUR_MAC,
                GW_MAC,
                EtherType::ARP,
                &arp(ArpOperation::REPLY, GW_MAC, GW_IP, OUR_MAC, OUR_IP),
            ),
            ArpUnsolicited,
        ),
        ("truncated IPv4", to_us(vec![0x45; 19]), Ipv4TooShort),
        (
            "IP version 6",
            ip_tweak(|h| h.set_version(6)),
            Ipv4BadVersion,
        ),
        ("IHL 4", ip_tweak(|h| h.set_ihl(4)), Ipv4BadIhl),
        (
            "IHL past the frame",
            to_us(ipv4_with(GW_IP, OUR_IP, IpProtocol::UDP, &[], |h| {
                h.set_ihl(15)
            })),
            Ipv4BadIhl,
        ),
        (
            "total length past frame",
            ip_tweak(|h| h.set_total_length(200)),
            Ipv4BadLength,
        ),
        (
            "total length below header",
            ip_tweak(|h| h.set_total_length(19)),
            Ipv4BadLength,
        ),
        (
            "option of length 0",
            ip_options(&[RA, 0, 0, 0]),
            Ipv4OptionBadLength,
        ),
        (
            "option of length 1",
            ip_options(&[RR, 1, 0, 0]),
            Ipv4OptionBadLength,
        ),
        (
            "router alert of 3 bytes",
            ip_options(&[RA, 3, 0, NOP]),
            Ipv4OptionBadLength,
        ),
        (
            "record route not a whole number of addresses",
            ip_options(&[RR, 6, 4, 0, 0, 0, 0, 0]),
            Ipv4OptionBadLength,
        ),
        (
            "option past the header",
            ip_options(&[NOP, RR, 8, 4]),
            Ipv4OptionPastEnd,
        ),
        (
            "option kind without its length",
            ip_options(&[NOP, NOP, NOP, RR]),
            Ipv4OptionPastEnd,
        ),
        (
            "record route pointer inside the option header",
            ip_options(&[RR, 7, 2, 0, 0, 0, 0, 0]),
            Ipv4OptionBadPointer,
        ),
        (
            "timestamp pointer past the option",
            ip_options(&[TS, 8, 10, 1, 0, 0, 0, 0]),
            Ipv4OptionBadPointer,
        ),
        (
            "more fragments after a length not in 8-byte units",
            ip_tweak(|h| h.set_more_fragments(true)),
            Ipv4FragBadLength,
        ),
        (
            "fragment of a TCP segment (not reassembled)",
            to_us(ipv4_with(GW_IP, OUR_IP, IpProtocol::TCP, &[0; 16], |h| {
                h.set_fragment_offset(100)
            })),
            Ipv4FragTcp,
        ),
        (
            "ping of death: a fragment reaching past 65,535 bytes",
            to_us(ipv4_with(GW_IP, OUR_IP, IpProtocol::ICMP, &ping, |h| {
                h.set_fragment_offset(8189)
            })),
            Ipv4FragTooLong,
        ),
        (
            "tiny first fragment: 8 bytes of a TCP header",
            to_us(ipv4_with(GW_IP, OUR_IP, IpProtocol::TCP, &[0; 8], |h| {
                h.set_more_fragments(true)
            })),
            Ipv4FragTiny,
        ),
        (
            "TCP fragment at offset 8 (rewrites the flags)",
            to_us(ipv4_with(GW_IP, OUR_IP, IpProtocol::TCP, &[0; 16], |h| {
                h.set_fragment_offset(1)
            })),
            Ipv4FragTiny,
        ),
        (
            "not our IP",
            to_us(ipv4(GW_IP, [10, 0, 2, 99], IpProtocol::UDP, &good_udp)),
            Ipv4NotForUs,
        ),
        (
            "multicast destination",
            to_us(ipv4(GW_IP, [224, 0, 0, 1], IpProtocol::UDP, &good_udp)),
            Ipv4NotForUs,
        ),
        (
            "broadcast source IP",
            ip_tweak(|h| h.set_src([255; 4])),
            Ipv4BadSource,
        ),
        (
            "subnet broadcast source",
            ip_tweak(|h| h.set_src([10, 0, 2, 255])),
            Ipv4BadSource,
        ),
        (
            "multicast source IP",
            ip_tweak(|h| h.set_src([239, 1, 2, 3])),
            Ipv4BadSource,
        ),
        (
            "GRE (no handler), broadcast so no protocol unreachable",
            to_us(ipv4(GW_IP, [10, 0, 2, 255], IpProtocol(47), &[0; 20])),
            Ipv4UnknownProtocol,
        ),
        (
            "truncated TCP",
            to_us(ipv4(
                GW_IP,
                OUR_IP,
                IpProtocol::TCP,
                &tcp_to_us(&[], &[])[..19],
            )),
            TcpTooShort,
        ),
        (
            "TCP data offset below the header",
            to_us(ipv4(GW_IP, OUR_IP, IpProtocol::TCP, &{
                let mut s = tcp_to_us(&[], b"data");
                s[12] = 4 << 4;
                wire::tcp::fill_checksum(GW_IP, OUR_IP, &mut s);
                s
            })),
            TcpBadDataOffset,
        ),
        (
            "TCP data offset past the segment",
            to_us(ipv4(GW_IP, OUR_IP, IpProtocol::TCP, &{
                let mut s = tcp_to_us(&[], &[]);
                s[12] = 15 << 4;
                wire::tcp::fill_checksum(GW_IP, OUR_IP, &mut s);
                s
            })),
            TcpBadDataOffset,
        ),
        (
            "TCP bad checksum",
            to_us(ipv4(GW_IP, OUR_IP, IpProtocol::TCP, &{
                let mut s = tcp_to_us(&[], b"data");
                s[16] ^= 1;
                s
            })),
            TcpBadChecksum,
        ),
        (
            "TCP MSS option of length 3",
            to_us(ipv4(
                GW_IP,
                OUR_IP,
                IpProtocol::TCP,
                &tcp_to_us(&[2, 3, 5, 0], &[]),
            )),
            TcpOptionBadLength,
        ),
        (
            "TCP option past the header",
            to_us(ipv4(
                GW_IP,
                OUR_IP,
                IpProtocol::TCP,
                &tcp_to_us(&[1, 1, 8, 10], &[]),
            )),
            TcpOptionPastEnd,
        ),
        (
            "truncated ICMP",
            to_us(ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &[8, 0, 0])),
            IcmpTooShort,
        ),
        (
            // Cut short, then summed again: the body is all that is wrong.
            "echo without id/seq",
            to_us(ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &{
                let mut cut = ping[..6].to_vec();
                wire::icmpv4::fill_checksum(&mut cut);
                cut
            })),
            IcmpTooShort,
        ),
        (
            "ICMP timestamp",
            to_us(ipv4(
                GW_IP,
                OUR_IP,
                IpProtocol::ICMP,
                &icmp_echo(Icmpv4Type(13), 1, 1, b""),
            )),
            IcmpUnsupported,
        ),
        (
            "broadcast ping",
            eth(
                BROADCAST,
                GW_MAC,
                EtherType::IPV4,
                &ipv4(GW_IP, [255; 4], IpProtocol::ICMP, &ping),
            ),
            IcmpBroadcastEcho,
        ),
        (
            "echo reply nobody waits for",
            to_us(ipv4(
                GW_IP,
                OUR_IP,
                IpProtocol::ICMP,
                &icmp_echo(Icmpv4Type::ECHO_REPLY, 9, 9, b""),
            )),
            IcmpNoSocket,
        ),
        (
            "unreachable quoting a header with IHL 0",
            unreachable_quoting(&quoted_datagram(|h| h.set_ihl(0))),
            IcmpTooShort,
        ),
        (
            "unreachable quoting a header longer than the quote",
            unreachable_quoting(&quoted_datagram(|h| h.set_ihl(15))),
            IcmpTooShort,
        ),
        (
            "unreachable quoting less than a header",
            unreachable_quoting(&quoted_datagram(|_| {})[..12]),
            IcmpTooShort,
        ),
        ("truncated UDP", ip_udp(&good_udp[..7]), UdpTooShort),
        (
            "UDP length 7",
            ip_udp(&{
                let mut u = good_udp.clone();
                UdpHeader::mut_from_prefix(&mut u).unwrap().0.set_length(7);
                u
            }),
            UdpBadLength,
        ),
        (
            "UDP length past IP payload",
            ip_udp(&{
                let mut u = good_udp.clone();
                UdpHeader::mut_from_prefix(&mut u)
                    .unwrap()
                    .0
                    .set_length(100);
                u
            }),
            UdpBadLength,
        ),
        (
            "bad UDP checksum",
            ip_udp(&{
                let mut u = good_udp.clone();
                let h = UdpHeader::mut_from_prefix(&mut u).unwrap().0;
                h.set_checksum(h.checksum() ^ 0x0101);
                u
            }),
            UdpBadChecksum,
        ),
    ];
    // Bad checksums on IPv4 and ICMP.
    let mut f = ip_tweak(|_| {});
    f[wire::ethernet::EthernetHeader::LEN + 1] ^= 0xff; // DSCP: covered by the checksum
    v.push(("bad IPv4 checksum", f, Ipv4BadChecksum));
    let mut p = ping.clone();
    Icmpv4Header::mut_from_prefix(&mut p)
        .unwrap()
        .0
        .set_checksum(0xbeef);
    v.push((
        "bad ICMP checksum",
        to_us(ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &p)),
        IcmpBadChecksum,
    ));
    v
}

/// A SYN from the gateway to our port 80 with `options` (whole words).
fn tcp_to_us(options: &[u8], payload: &[u8]) -> Vec<u8> {
    common::tcp::tcp(
        (GW_IP, 5000),
        (OUR_IP, 80),
        1,
        0,
        common::tcp::SYN,
        1000,
        options,
        payload,
    )
}

#[test]
fn each_malformed_frame_moves_its_counter() {
    let cases = cases();
    assert!(cases.len() >= 40);
    for (what, frame, reason) in cases {
        let mut t = T::new();
        t.udp_socket(7); // so well-formed UDP would be delivered
                         // Padded as QEMU pads, except the frames about truncation itself.
        let frame = if what.starts_with("truncated") || what.starts_with("empty") {
            frame
        } else {
            pad60(frame)
        };
        t.input(&frame);
        assert_eq!(t.drops(), vec![(reason.name().to_string(), 1)], "{what}");
        assert!(t.sent().is_empty(), "{what}: nothing sent");
        assert_eq!(t.pool().free(), t.pool().total(), "{what}: mbuf returned");
        assert_eq!(t.counter("frames_in"), 1);
    }
}

/// Every drop reason a spec declares for the receive path has a case above.
#[test]
fn every_declared_header_rule_has_a_case() {
    let covered: Vec<DropReason> = cases().into_iter().map(|(_, _, r)| r).collect();
    let declared = wire::ethernet::EthernetError::ALL
        .into_iter()
        .map(DropReason::from)
        .chain(wire::arp::ArpError::ALL.map(DropReason::from))
        .chain(wire::ipv4::Ipv4Error::ALL.map(DropReason::from))
        .chain(wire::icmpv4::Icmpv4Error::ALL.map(DropReason::from))
        .chain(wire::udp::UdpError::ALL.map(DropReason::from))
        .chain(wire::tcp::TcpError::ALL.map(DropReason::from));
    for reason in declared {
        assert!(covered.contains(&reason), "no case for {}", reason.name());
    }
}

/// Well-formed options, known kinds and one we do not declare (loose
/// source route), are accepted and skipped: the datagram is delivered.
#[test]
fn well_formed_options_are_skipped() {
    let mut t = T::new();
    let s = t.udp_socket(7);
    let lsrr = Ipv4OptionKind::LOOSE_SOURCE_ROUTE.0;
    t.input(&ip_options(&[
        NOP, RA, 4, 0, 0, RR, 7, 4, 0, 0, 0, 0, lsrr, 3, 4, 0,
    ]));
    t.input(&ip_options(&[TS, 12, 5, 0, 0, 0, 0, 1, 0, 0, 0, 2]));
    assert_eq!(t.s.recvfrom(s).unwrap().0.data(), b"data");
    assert_eq!(t.s.recvfrom(s).unwrap().0.data(), b"data");
    assert!(t.drops().is_empty(), "{:?}", t.drops());
}

#[test]
fn the_base_frames_are_fine() {
    // The cases above differ from these in one way only.
    let mut t = T::new();
    let s = t.udp_socket(7);
    t.input(&ip_tweak(|_| {}));
    t.input(&ip_udp(&udp(GW_IP, OUR_IP, 1, 7, b"data")));
    assert_eq!(t.s.recvfrom(s).unwrap().0.data(), b"data");
    assert_eq!(t.s.recvfrom(s).unwrap().0.data(), b"data");
    t.input(&arp_with(|_| {}));
    assert_eq!(t.sent().len(), 1);
    assert!(t.drops().is_empty());
}
