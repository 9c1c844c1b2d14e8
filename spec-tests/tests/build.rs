//! The generated builders (`<Format>Repr` + `wire::Emit`) against frames a
//! real Linux stack built (`spec_tests::captures`) and against the deku
//! reference codecs: every capture is rebuilt, header by header from the
//! inside out, from the fields a sender chooses, and must come out byte for
//! byte (lengths, fixed values and checksums filled by the builders); and
//! for arbitrary field values, deku must read back what was chosen and what
//! the spec computes. The reverse dispatch and the header-chain constant are
//! checked here too.

use ::deku::DekuContainerRead;
use proptest::prelude::*;
use spec_tests::{captures, deku};
use wire::arp::{ArpOperation, ArpPacket, ArpPacketRepr};
use wire::dispatch::{ethernet_next, ipv4_next, EthernetNext, Ipv4Next, ETHERNET_MAX_HEADERS};
use wire::emit::Ipv4PseudoHeader;
use wire::ethernet::{EtherType, EthernetHeader};
use wire::icmpv4::{
    self, Icmpv4DestUnreachable, Icmpv4DestUnreachableRepr, Icmpv4Echo, Icmpv4EchoRepr,
    Icmpv4Header, Icmpv4HeaderRepr, Icmpv4Type,
};
use wire::ipv4::{self, IpProtocol, Ipv4Header, Ipv4HeaderRepr};
use wire::udp::{self, UdpHeader, UdpHeaderRepr};
use wire::{Emit, EmitError};
use zerocopy::FromBytes;

/// `message` with `header` emitted in front of it; the room is filled with
/// 0xa5 first, so a byte the builder forgets shows.
fn prepend<E: Emit>(header: &E, cx: E::Context, message: &[u8]) -> Vec<u8> {
    let mut out = vec![0xa5; E::LEN];
    out.extend_from_slice(message);
    header.emit(&mut out, cx).expect("emit");
    out
}

/// The IPv4 packet of a captured frame, and its header.
fn ip_packet(frame: &[u8]) -> (&Ipv4Header, &[u8]) {
    let eth = EthernetHeader::parse(frame).unwrap();
    let ip = Ipv4Header::parse(eth.payload).unwrap();
    (ip.header, ip.message)
}

/// Puts the Ethernet and IPv4 headers of `frame` back in front of
/// `transport`, built from their chosen fields only.
fn wrap(frame: &[u8], transport: &[u8]) -> Vec<u8> {
    let eth = EthernetHeader::parse(frame).unwrap().header;
    let (ip, _) = ip_packet(frame);
    let packet = prepend(&ip.repr(), (), transport);
    prepend(&eth.repr(), (), &packet)
}

#[test]
fn arp_captures_rebuild() {
    for frame in [&captures::ARP_REQUEST[..], &captures::ARP_REPLY[..]] {
        let eth = EthernetHeader::parse(frame).unwrap();
        let arp = ArpPacket::parse(eth.payload).unwrap().header;
        let built = prepend(&arp.repr(), (), &[]);
        assert_eq!(prepend(&eth.header.repr(), (), &built), frame);
    }
    // The request a sender writes: only the operation and addresses.
    let request = ArpPacketRepr {
        oper: ArpOperation::REQUEST,
        sha: [0x02, 0, 0, 0, 0, 0x01],
        spa: [10, 9, 0, 1],
        tpa: [10, 9, 0, 2],
        ..ArpPacketRepr::default()
    };
    assert_eq!(
        prepend(&request, (), &[]),
        &captures::ARP_REQUEST[EthernetHeader::LEN..]
    );
}

#[test]
fn icmp_echo_captures_rebuild() {
    for frame in [
        &captures::ICMP_ECHO_REQUEST[..],
        &captures::ICMP_ECHO_REPLY[..],
    ] {
        let (_, packet) = ip_packet(frame);
        let icmp = Icmpv4Header::parse(&packet[Ipv4Header::LEN..]).unwrap();
        let echo = Icmpv4Echo::parse(icmp.payload).unwrap();
        let body = prepend(&echo.header.repr(), (), echo.payload);
        let message = prepend(&icmp.header.repr(), (), &body);
        assert_eq!(wrap(frame, &message), frame);
    }
}

#[test]
fn icmp_port_unreachable_capture_rebuilds() {
    let frame = &captures::ICMP_PORT_UNREACHABLE[..];
    let (_, packet) = ip_packet(frame);
    let icmp = Icmpv4Header::parse(&packet[Ipv4Header::LEN..]).unwrap();
    let body = Icmpv4DestUnreachable::parse(icmp.payload).unwrap();
    assert_eq!(body.header.repr(), Icmpv4DestUnreachableRepr::default());
    let message = prepend(
        &Icmpv4HeaderRepr {
            msg_type: Icmpv4Type::DEST_UNREACHABLE,
            code: icmpv4::Icmpv4UnreachableCode::PORT_UNREACHABLE.0,
        },
        (),
        &prepend(&body.header.repr(), (), body.payload),
    );
    assert_eq!(wrap(frame, &message), frame);
}

#[test]
fn udp_captures_rebuild() {
    for frame in [
        &captures::UDP_TO_LISTENER[..],
        &captures::UDP_TO_CLOSED_PORT[..],
    ] {
        let (ip, packet) = ip_packet(frame);
        let datagram = UdpHeader::parse(&packet[Ipv4Header::LEN..], ip.src(), ip.dst()).unwrap();
        let pseudo = Ipv4PseudoHeader::new(ip.src(), ip.dst());
        let built = prepend(&datagram.header.repr(), pseudo, datagram.payload);
        assert_eq!(wrap(frame, &built), frame);
    }
}

#[test]
fn reverse_dispatch_undoes_dispatch() {
    for next in [EthernetNext::Arp, EthernetNext::Ipv4] {
        assert_eq!(ethernet_next(next.ethertype()), next);
    }
    assert_eq!(EthernetNext::Arp.ethertype(), EtherType(0x0806));
    assert_eq!(EthernetNext::Ipv4.ethertype(), EtherType(0x0800));
    for next in [Ipv4Next::Icmpv4, Ipv4Next::Tcp, Ipv4Next::Udp] {
        assert_eq!(ipv4_next(next.protocol()), next);
    }
    assert_eq!(Ipv4Next::Icmpv4.protocol(), IpProtocol(1));
    assert_eq!(Ipv4Next::Tcp.protocol(), IpProtocol(6));
    assert_eq!(Ipv4Next::Udp.protocol(), IpProtocol(17));
    let other = IpProtocol(89);
    assert_eq!(ipv4_next(other).protocol(), other);
}

/// Ethernet 14, IPv4 with IHL 15 (60), then the longest of ICMP header +
/// body (4 + 4), TCP with data offset 15 (60) and UDP (8); ARP's 28 is
/// shorter than that IPv4 path.
#[test]
fn longest_header_chain() {
    assert_eq!(Ipv4Header::MAX_LEN, 60);
    assert_eq!(wire::tcp::TcpHeader::MAX_LEN, 60);
    assert_eq!(ETHERNET_MAX_HEADERS, 14 + 60 + 60);
}

#[test]
fn builders_refuse_what_does_not_fit() {
    let mut short = [0u8; UdpHeader::LEN - 1];
    let pseudo = Ipv4PseudoHeader::new([10, 0, 0, 1], [10, 0, 0, 2]);
    assert_eq!(
        UdpHeaderRepr::default().emit(&mut short, pseudo),
        Err(EmitError::Truncated { need: 8, have: 7 })
    );
    let mut huge = vec![0u8; 70_000];
    assert_eq!(
        Ipv4HeaderRepr::default().emit(&mut huge, ()),
        Err(EmitError::DoesNotFit {
            field: "total_length",
            value: 70_000
        })
    );
    assert_eq!(
        UdpHeaderRepr::default().emit(&mut huge, pseudo),
        Err(EmitError::DoesNotFit {
            field: "length",
            value: 70_000
        })
    );
    let mut room = [0u8; Ipv4Header::LEN];
    let wide = Ipv4HeaderRepr {
        dscp: 64,
        ..Ipv4HeaderRepr::default()
    };
    assert_eq!(
        wide.emit(&mut room, ()),
        Err(EmitError::DoesNotFit {
            field: "dscp",
            value: 64
        })
    );
    let far = Ipv4HeaderRepr {
        fragment_offset: 0x2000,
        ..Ipv4HeaderRepr::default()
    };
    assert!(far.emit(&mut room, ()).is_err());
}

proptest! {
    /// Any IPv4 header's chosen fields, emitted: deku reads them back, with
    /// version 4, IHL 5, the total length of the message and a checksum that
    /// verifies; the payload is untouched.
    #[test]
    fn ipv4_emit_agrees_with_deku(
        bytes in any::<[u8; Ipv4Header::LEN]>(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let repr = Ipv4Header::ref_from_bytes(&bytes).unwrap().repr();
        let out = prepend(&repr, (), &payload);
        let (_, d) = deku::ipv4::Ipv4Header::from_bytes((&out, 0)).unwrap();
        prop_assert_eq!((d.version, d.ihl), (4, 5));
        prop_assert_eq!(usize::from(d.total_length), out.len());
        prop_assert_eq!((d.dscp, d.ecn, d.identification), (repr.dscp, repr.ecn, repr.identification));
        prop_assert_eq!(
            (d.reserved, d.dont_fragment, d.more_fragments, d.fragment_offset),
            (repr.reserved, repr.dont_fragment, repr.more_fragments, repr.fragment_offset)
        );
        prop_assert_eq!((d.ttl, d.protocol, d.src, d.dst), (repr.ttl, repr.protocol.0, repr.src, repr.dst));
        prop_assert!(ipv4::checksum_ok(&out[..Ipv4Header::LEN]));
        let parsed = Ipv4Header::parse(&out).unwrap();
        prop_assert_eq!(parsed.header.repr(), repr);
        prop_assert_eq!(parsed.payload, &payload[..]);
    }

    /// UDP: deku reads back the ports, the length is the datagram's and the
    /// checksum verifies against the pseudo-header (and is never 0, which
    /// would mean "none").
    #[test]
    fn udp_emit_agrees_with_deku(
        src_port in any::<u16>(),
        dst_port in any::<u16>(),
        src in any::<[u8; 4]>(),
        dst in any::<[u8; 4]>(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let repr = UdpHeaderRepr { src_port, dst_port };
        let out = prepend(&repr, Ipv4PseudoHeader::new(src, dst), &payload);
        let (_, d) = deku::udp::UdpHeader::from_bytes((&out, 0)).unwrap();
        prop_assert_eq!((d.src_port, d.dst_port), (src_port, dst_port));
        prop_assert_eq!(usize::from(d.length), out.len());
        prop_assert_ne!(d.checksum, 0);
        prop_assert!(udp::checksum_ok(src, dst, &out));
        prop_assert_eq!(udp::checksum(src, dst, &out), d.checksum);
    }

    /// ICMP: header and echo body as deku reads them; the checksum covers
    /// the whole message.
    #[test]
    fn icmp_emit_agrees_with_deku(
        msg_type in any::<u8>(),
        code in any::<u8>(),
        identifier in any::<u16>(),
        sequence in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let body = prepend(&Icmpv4EchoRepr { identifier, sequence }, (), &payload);
        let header = Icmpv4HeaderRepr { msg_type: Icmpv4Type(msg_type), code };
        let out = prepend(&header, (), &body);
        let (_, d) = deku::icmpv4::Icmpv4Header::from_bytes((&out, 0)).unwrap();
        prop_assert_eq!((d.msg_type, d.code), (msg_type, code));
        let (_, e) = deku::icmpv4::Icmpv4Echo::from_bytes((&out[Icmpv4Header::LEN..], 0)).unwrap();
        prop_assert_eq!((e.identifier, e.sequence), (identifier, sequence));
        prop_assert!(icmpv4::checksum_ok(&out));
    }

    /// ARP and Ethernet: the fixed fields as RFC 826 gives them, the chosen
    /// ones as deku reads them.
    #[test]
    fn arp_and_ethernet_emit_agree_with_deku(
        bytes in any::<[u8; ArpPacket::LEN]>(),
        eth in any::<[u8; EthernetHeader::LEN]>(),
    ) {
        let repr = ArpPacket::ref_from_bytes(&bytes).unwrap().repr();
        let out = prepend(&repr, (), &[]);
        let (_, d) = deku::arp::ArpPacket::from_bytes((&out, 0)).unwrap();
        prop_assert_eq!((d.htype, d.ptype, d.hlen, d.plen), (1, 0x0800, 6, 4));
        prop_assert_eq!((d.oper, d.sha, d.spa, d.tha, d.tpa), (repr.oper.0, repr.sha, repr.spa, repr.tha, repr.tpa));

        let repr = EthernetHeader::ref_from_bytes(&eth).unwrap().repr();
        let out: Vec<u8> = prepend(&repr, (), &[]);
        prop_assert_eq!(&out[..], &eth[..], "every Ethernet field is chosen");
        let (_, d) = deku::ethernet::EthernetHeader::from_bytes((&out, 0)).unwrap();
        prop_assert_eq!((d.dst, d.src, d.ethertype), (repr.dst, repr.src, repr.ethertype.0));
    }
}

/// The sub-byte fields' checks refuse exactly the values too wide.
#[test]
fn widest_values_fit() {
    let mut room = [0u8; Ipv4Header::LEN];
    let widest = Ipv4HeaderRepr {
        dscp: 63,
        ecn: 3,
        fragment_offset: 0x1fff,
        ..Ipv4HeaderRepr::default()
    };
    widest.emit(&mut room, ()).unwrap();
    let h = Ipv4Header::ref_from_bytes(&room).unwrap();
    assert_eq!((h.dscp(), h.ecn(), h.fragment_offset()), (63, 3, 0x1fff));
    let mut body = [0u8; Icmpv4DestUnreachable::LEN];
    Icmpv4DestUnreachableRepr {
        unused: 0,
        next_hop_mtu: 1500,
    }
    .emit(&mut body, ())
    .unwrap();
    assert_eq!(body, [0, 0, 0x05, 0xdc]);
}

/// Formats whose fields are all chosen: reading the fields back from any
/// bytes and emitting them gives the same bytes.
macro_rules! all_chosen_rebuild {
    ($($test:ident: $module:ident::$format:ident;)*) => {
        proptest! {
            $(
                #[test]
                fn $test(bytes in any::<[u8; wire::$module::$format::LEN]>()) {
                    let view = wire::$module::$format::ref_from_bytes(&bytes).unwrap();
                    prop_assert_eq!(prepend(&view.repr(), (), &[]), bytes.to_vec());
                }
            )*
        }
    };
}

all_chosen_rebuild! {
    ethernet_header: ethernet::EthernetHeader;
    icmpv4_echo: icmpv4::Icmpv4Echo;
    icmpv4_dest_unreachable: icmpv4::Icmpv4DestUnreachable;
    virtio_net_hdr: virtio_net::VirtioNetHdr;
    virtio_blk_req_header: virtio_blk::VirtioBlkReqHeader;
    virtq_desc: virtq::VirtqDesc;
    virtq_avail_header: virtq::VirtqAvailHeader;
    virtq_avail_entry: virtq::VirtqAvailEntry;
    virtq_used_header: virtq::VirtqUsedHeader;
    virtq_used_elem: virtq::VirtqUsedElem;
}

/// A header written with options: the header-length field counts them and
/// the checksum covers them; options too long for the field are refused.
#[test]
fn headers_with_options() {
    use wire::EmitOptions;
    let options = [wire::ipv4::Ipv4OptionKind::NOP.0; 4];
    let mut packet = vec![0; Ipv4Header::LEN];
    packet.extend_from_slice(&options);
    packet.extend_from_slice(b"data");
    let repr = wire::ipv4::Ipv4HeaderRepr {
        ttl: 64,
        protocol: IpProtocol::UDP,
        src: [10, 0, 0, 1],
        dst: [10, 0, 0, 2],
        ..Default::default()
    };
    repr.emit_with_options(&mut packet, options.len(), ())
        .unwrap();
    let p = Ipv4Header::parse(&packet).unwrap();
    assert_eq!(p.header.ihl_bytes(), Ipv4Header::LEN + options.len());
    assert_eq!(p.payload, b"data");
    Ipv4Header::options(&p).check().unwrap();
    let mut long = vec![0; 80];
    assert!(matches!(
        repr.emit_with_options(&mut long, 44, ()),
        Err(wire::EmitError::DoesNotFit { field: "ihl", .. })
    ));
    assert!(matches!(
        repr.emit_with_options(&mut packet[..20], 4, ()),
        Err(wire::EmitError::Truncated { need: 24, have: 20 })
    ));
}

proptest! {
    /// A UDP datagram written or checked in pieces (as IPv4 fragments
    /// carry it) gets the length and checksum it gets whole.
    #[test]
    fn udp_in_pieces_is_udp_whole(
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        cuts in proptest::collection::vec(0usize..300, 0..4),
    ) {
        let (src, dst) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let repr = UdpHeaderRepr { src_port: 7, dst_port: 9 };
        let whole = prepend(&repr, Ipv4PseudoHeader::new(src, dst), &payload);
        // Cut the datagram after the header at the chosen points.
        let mut points: Vec<usize> = cuts.iter().map(|c| UdpHeader::LEN + c % (payload.len() + 1)).collect();
        points.sort();
        let mut pieces = Vec::new();
        let mut at = 0;
        for p in points.into_iter().chain([whole.len()]) {
            pieces.push(&whole[at..p]);
            at = p;
        }
        let (first, rest) = (pieces[0], &pieces[1..]);
        let tail = wire::emit::MessageTail::of(rest.iter().copied());
        let mut head = vec![0xa5; UdpHeader::LEN];
        head.extend_from_slice(&first[UdpHeader::LEN..]);
        repr.emit(&mut head, Ipv4PseudoHeader { src, dst, tail }).unwrap();
        prop_assert_eq!(&head[..], first);
        let parsed = UdpHeader::parse_pieces(first, rest.iter().copied(), src, dst).unwrap();
        prop_assert_eq!(parsed.payload, &first[UdpHeader::LEN..]);
        // One bit flipped anywhere is caught.
        let mut bad = whole.clone();
        let i = UdpHeader::LEN + payload.len() / 2;
        if i < bad.len() {
            bad[i] ^= 1;
            let (f, r) = bad.split_at(first.len());
            prop_assert!(UdpHeader::parse_pieces(f, [r], src, dst).is_err());
        }
    }
}
