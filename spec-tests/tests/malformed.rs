//! Malformed input is refused with the error its spec names, never a panic:
//! short buffers, IHL < 5, lengths past the buffer, wrong address sizes, bad
//! checksums, and random bytes through the whole receive chain the stack
//! runs (the generated `parse` of each layer).

use proptest::prelude::*;
use spec_tests::{captures, edited, tcp_captures};
use wire::arp::{ArpError, ArpPacket};
use wire::dispatch::{ethernet_next, ipv4_next, EthernetNext, Ipv4Next};
use wire::ethernet::{EthernetError, EthernetHeader};
use wire::icmpv4::{self, Icmpv4Echo, Icmpv4Error, Icmpv4Header};
use wire::ipv4::{self, Ipv4Error, Ipv4Header};
use wire::udp::{self, UdpError, UdpHeader};
use zerocopy::FromBytes;

/// The capture's hosts, for the UDP pseudo-header.
const SRC: [u8; 4] = [10, 9, 0, 1];
const DST: [u8; 4] = [10, 9, 0, 2];

fn ip_packet(frame: &[u8]) -> Vec<u8> {
    EthernetHeader::parse(frame).unwrap().payload.to_vec()
}

fn udp_datagram(frame: &[u8]) -> Vec<u8> {
    Ipv4Header::parse(&ip_packet(frame))
        .unwrap()
        .payload
        .to_vec()
}

#[test]
fn short_buffers_are_truncated() {
    let frame = captures::UDP_TO_LISTENER;
    for n in 0..EthernetHeader::LEN {
        assert_eq!(
            EthernetHeader::parse(&frame[..n]).unwrap_err(),
            EthernetError::TooShort
        );
    }
    let packet = ip_packet(&frame);
    for n in 0..Ipv4Header::LEN {
        assert_eq!(
            Ipv4Header::parse(&packet[..n]).unwrap_err(),
            Ipv4Error::TooShort
        );
        assert!(!ipv4::checksum_ok(&packet[..n]));
        let mut short = packet[..n].to_vec();
        ipv4::fill_checksum(&mut short);
        assert_eq!(
            short,
            &packet[..n],
            "fill_checksum leaves a short buffer alone"
        );
    }
    let datagram = &udp_datagram(&frame);
    for n in 0..UdpHeader::LEN {
        assert_eq!(
            UdpHeader::parse(&datagram[..n], SRC, DST).unwrap_err(),
            UdpError::TooShort
        );
        assert!(!udp::checksum_ok(SRC, DST, &datagram[..n]));
        let _ = udp::checksum(SRC, DST, &datagram[..n]);
    }
    let arp = ip_packet(&captures::ARP_REQUEST);
    assert_eq!(
        ArpPacket::parse(&arp[..ArpPacket::LEN - 1]).unwrap_err(),
        ArpError::TooShort
    );
    assert_eq!(
        Icmpv4Header::parse(&[8, 0, 0]).unwrap_err(),
        Icmpv4Error::TooShort
    );
    assert!(!icmpv4::checksum_ok(&[0, 0, 0]));
}

#[test]
fn ihl_below_five_is_refused() {
    let packet = ip_packet(&captures::UDP_TO_LISTENER);
    for ihl in 0..5 {
        let packet = edited(&packet, |h: &mut Ipv4Header| h.set_ihl(ihl));
        assert_eq!(Ipv4Header::parse(&packet).unwrap_err(), Ipv4Error::BadIhl);
    }
}

#[test]
fn ihl_past_the_buffer_is_refused() {
    // 60 bytes of header in a 40-byte packet.
    let packet = edited(
        &ip_packet(&captures::UDP_TO_LISTENER),
        |h: &mut Ipv4Header| h.set_ihl(15),
    );
    assert_eq!(Ipv4Header::parse(&packet).unwrap_err(), Ipv4Error::BadIhl);
}

#[test]
fn ipv4_options_are_split_off() {
    let mut packet = edited(
        &ip_packet(&captures::UDP_TO_LISTENER),
        |h: &mut Ipv4Header| {
            h.set_ihl(6);
            h.set_total_length(44);
        },
    );
    packet.splice(Ipv4Header::LEN..Ipv4Header::LEN, [1, 1, 1, 0]); // NOP NOP NOP END
    ipv4::fill_checksum(&mut packet[..24]);
    assert!(ipv4::checksum_ok(&packet[..24]));
    let p = Ipv4Header::parse(&packet).unwrap();
    assert_eq!(
        (p.header.ihl_bytes(), p.options, p.payload.len()),
        (24, &[1, 1, 1, 0][..], 20)
    );
}

#[test]
fn total_length_past_the_buffer_or_inside_the_header_is_refused() {
    let packet = ip_packet(&captures::UDP_TO_LISTENER);
    for len in [41, 19] {
        let packet = edited(&packet, |h: &mut Ipv4Header| h.set_total_length(len));
        let mut packet = packet;
        ipv4::fill_checksum(&mut packet[..Ipv4Header::LEN]);
        assert_eq!(
            Ipv4Header::parse(&packet).unwrap_err(),
            Ipv4Error::BadLength
        );
    }
}

#[test]
fn link_padding_is_cut_at_total_length() {
    // QEMU's user networking pads short frames to 60 bytes.
    let mut frame = captures::UDP_TO_CLOSED_PORT.to_vec();
    frame.resize(60, 0);
    let eth = EthernetHeader::parse(&frame).unwrap();
    let ip = Ipv4Header::parse(eth.payload).unwrap();
    assert_eq!(ip.payload.len(), 15);
    let udp = UdpHeader::parse(ip.payload, ip.header.src(), ip.header.dst()).unwrap();
    assert_eq!(udp.payload, b"anyone?");
}

#[test]
fn udp_length_past_the_buffer_or_inside_the_header_is_refused() {
    let datagram = udp_datagram(&captures::UDP_TO_LISTENER);
    for len in [21, 7] {
        let datagram = edited(&datagram, |h: &mut UdpHeader| h.set_length(len));
        assert_eq!(
            UdpHeader::parse(&datagram, SRC, DST).unwrap_err(),
            UdpError::BadLength
        );
    }
}

#[test]
fn arp_with_other_address_sizes_is_refused() {
    let packet = ip_packet(&captures::ARP_REQUEST);
    let wide = edited(&packet, |h: &mut ArpPacket| h.set_hlen(8));
    assert_eq!(ArpPacket::parse(&wide).unwrap_err(), ArpError::BadFormat);
    let wide = edited(&packet, |h: &mut ArpPacket| h.set_plen(16));
    assert_eq!(ArpPacket::parse(&wide).unwrap_err(), ArpError::BadFormat);
    let odd = edited(&packet, |h: &mut ArpPacket| {
        h.set_oper(wire::arp::ArpOperation(3))
    });
    assert_eq!(ArpPacket::parse(&odd).unwrap_err(), ArpError::BadOper);
}

/// The receive path a stack would run: view, check lengths and checksums,
/// dispatch. It must return, whatever the bytes.
fn receive(frame: &[u8]) -> Option<usize> {
    let eth = EthernetHeader::parse(frame).ok()?;
    match ethernet_next(eth.header.ethertype()) {
        EthernetNext::Arp => ArpPacket::parse(eth.payload).ok().map(|_| 1),
        EthernetNext::Ipv4 => {
            let ip = Ipv4Header::parse(eth.payload).ok()?;
            Ipv4Header::options(&ip).check().ok()?;
            match ipv4_next(ip.header.protocol()) {
                Ipv4Next::Icmpv4 => {
                    let icmp = Icmpv4Header::parse(ip.payload).ok()?;
                    Some(Icmpv4Echo::parse(icmp.payload).ok()?.payload.len())
                }
                Ipv4Next::Udp => {
                    let (src, dst) = (ip.header.src(), ip.header.dst());
                    Some(UdpHeader::parse(ip.payload, src, dst).ok()?.payload.len())
                }
                Ipv4Next::Tcp => {
                    let (src, dst) = (ip.header.src(), ip.header.dst());
                    let tcp = wire::tcp::TcpHeader::parse(ip.payload, src, dst).ok()?;
                    wire::tcp::TcpHeader::options(&tcp).check().ok()?;
                    Some(tcp.payload.len())
                }
                Ipv4Next::Unknown(_) => None,
            }
        }
        EthernetNext::Unknown(_) => None,
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = receive(&bytes);
    }

    /// Real frames with one byte changed and cut anywhere.
    #[test]
    fn mutated_captures_never_panic(which in 0usize..6, at in 0usize..98, value in any::<u8>(), cut in 0usize..99) {
        let frames: [&[u8]; 6] = [&captures::ARP_REQUEST, &captures::ICMP_ECHO_REQUEST, &captures::UDP_TO_LISTENER, &captures::ICMP_PORT_UNREACHABLE, &tcp_captures::TCP_SYN, &tcp_captures::TCP_DATA];
        let mut frame = frames[which].to_vec();
        let at = at % frame.len();
        frame[at] = value;
        frame.truncate(cut);
        let _ = receive(&frame);
    }
}

#[test]
fn the_receive_chain_accepts_the_captures() {
    assert_eq!(receive(&captures::UDP_TO_LISTENER), Some(12));
    assert_eq!(receive(&captures::ICMP_ECHO_REQUEST), Some(56));
    assert_eq!(receive(&captures::ARP_REPLY), Some(1));
    assert_eq!(receive(&tcp_captures::TCP_SYN), Some(0));
    assert_eq!(receive(&tcp_captures::TCP_DATA), Some(17));
}

#[test]
fn ipv4_options_are_walked_in_place() {
    use wire::ipv4::{Ipv4Option, Ipv4OptionKind as K, Ipv4Options};
    let (rr, ra, ts) = (K::RECORD_ROUTE.0, K::ROUTER_ALERT.0, K::TIMESTAMP.0);
    let bytes = [
        K::NOP.0,
        ra,
        4,
        0,
        0,
        rr,
        11,
        8,
        10,
        0,
        2,
        2,
        0,
        0,
        0,
        0,
        131,
        3,
        4,
        K::END.0,
        0xee,
    ];
    let mut seen = Vec::new();
    for o in Ipv4Options::new(&bytes) {
        seen.push(match o.unwrap() {
            Ipv4Option::Nop => "nop".to_string(),
            Ipv4Option::RouterAlert(p) => format!("ra {}", p.header.value()),
            Ipv4Option::RecordRoute(p) => {
                let route = wire::ipv4::Ipv4RecordRoute::elements(&p);
                format!("rr {} {:?}", p.header.pointer(), route[0].address())
            }
            Ipv4Option::Timestamp(_) => "ts".to_string(),
            Ipv4Option::Unknown(kind, b) => format!("{kind:?} {}", b.len()),
        });
    }
    // END stops the walk: the 0xee after it is padding, not an option.
    assert_eq!(
        seen,
        ["nop", "ra 0", "rr 8 [10, 0, 2, 2]", "LOOSE_SOURCE_ROUTE 3"]
    );
    for (bad, err) in [
        (vec![rr], Ipv4Error::OptionPastEnd),
        (vec![rr, 9, 4, 0], Ipv4Error::OptionPastEnd),
        (vec![ra, 0], Ipv4Error::OptionBadLength),
        (vec![ra, 5, 0, 0, 0], Ipv4Error::OptionBadLength),
        (vec![ts, 4, 6, 0], Ipv4Error::OptionBadPointer),
        (vec![rr, 3, 3], Ipv4Error::OptionBadPointer),
    ] {
        assert_eq!(Ipv4Options::new(&bad).check(), Err(err), "{bad:?}");
    }
}

#[test]
fn tcp_options_and_sack_blocks() {
    use wire::tcp::{TcpError, TcpOption, TcpOptionKind as K, TcpOptions, TcpSack};
    let mut bytes = vec![K::MSS.0, 4, 0x05, 0xb4, K::NOP.0, K::WINDOW_SCALE.0, 3, 7];
    bytes.extend([
        K::SACK_PERMITTED.0,
        2,
        K::TIMESTAMPS.0,
        10,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        2,
    ]);
    bytes.extend([
        K::SACK.0,
        18,
        0,
        0,
        0,
        10,
        0,
        0,
        0,
        20,
        0,
        0,
        0,
        30,
        0,
        0,
        0,
        40,
    ]);
    let mut sack = Vec::new();
    let mut kinds = 0;
    for o in TcpOptions::new(&bytes) {
        match o.unwrap() {
            TcpOption::Mss(p) => assert_eq!(p.header.mss(), 1460),
            TcpOption::WindowScale(p) => assert_eq!(p.header.shift(), 7),
            TcpOption::Timestamps(p) => {
                assert_eq!((p.header.value(), p.header.echo_reply()), (1, 2))
            }
            TcpOption::Sack(p) => {
                sack = TcpSack::elements(&p)
                    .iter()
                    .map(|b| (b.left_edge(), b.right_edge()))
                    .collect()
            }
            TcpOption::SackPermitted(_) | TcpOption::Nop | TcpOption::Unknown(..) => {}
        }
        kinds += 1;
    }
    assert_eq!(kinds, 6);
    assert_eq!(sack, [(10, 20), (30, 40)]);
    for (bad, err) in [
        (vec![K::MSS.0, 3, 0], TcpError::OptionBadLength),
        (vec![K::MSS.0, 5, 0, 0, 0], TcpError::OptionBadLength),
        (vec![K::SACK.0, 2], TcpError::OptionBadLength),
        (
            vec![K::SACK.0, 9, 0, 0, 0, 0, 0, 0, 0],
            TcpError::OptionBadLength,
        ),
        (
            vec![K::SACK.0, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            TcpError::OptionBadLength,
        ),
        (vec![K::TIMESTAMPS.0, 10, 0], TcpError::OptionPastEnd),
        (vec![K::NOP.0, 0x42, 0], TcpError::OptionBadLength),
    ] {
        assert_eq!(TcpOptions::new(&bad).check(), Err(err), "{bad:?}");
    }
}

#[test]
fn parse_checks_the_checksums_and_the_largest_frame() {
    let frame = captures::UDP_TO_LISTENER;
    let mut big = frame.to_vec();
    big.resize(EthernetHeader::LEN + usize::from(wire::ethernet::MTU), 0);
    assert!(EthernetHeader::parse(&big).is_ok());
    big.push(0);
    assert_eq!(
        EthernetHeader::parse(&big).unwrap_err(),
        EthernetError::Oversized
    );
    let packet = edited(&ip_packet(&frame), |h: &mut Ipv4Header| h.set_ttl(1));
    assert_eq!(
        Ipv4Header::parse(&packet).unwrap_err(),
        Ipv4Error::BadChecksum
    );
    let mut datagram = udp_datagram(&frame);
    assert!(UdpHeader::parse(&datagram, SRC, DST).is_ok());
    datagram[UdpHeader::LEN] ^= 1;
    assert_eq!(
        UdpHeader::parse(&datagram, SRC, DST).unwrap_err(),
        UdpError::BadChecksum
    );
    let mut message = Ipv4Header::parse(&ip_packet(&captures::ICMP_ECHO_REQUEST))
        .unwrap()
        .payload
        .to_vec();
    assert!(Icmpv4Header::parse(&message).is_ok());
    message[Icmpv4Header::LEN] ^= 1;
    assert_eq!(
        Icmpv4Header::parse(&message).unwrap_err(),
        Icmpv4Error::BadChecksum
    );
}

#[test]
fn a_tcp_segment_parses_with_its_options() {
    use wire::tcp::{self, TcpError, TcpHeader, TcpOption, TcpOptionKind as K};
    let mut segment = vec![0; TcpHeader::LEN];
    let (h, _) = TcpHeader::mut_from_prefix(&mut segment).unwrap();
    h.set_src_port(40000);
    h.set_dst_port(80);
    h.set_data_offset(6);
    h.set_syn(true);
    segment.extend([K::MSS.0, 4, 0x05, 0xb4]);
    segment.extend(b"data");
    tcp::fill_checksum(SRC, DST, &mut segment);
    let p = TcpHeader::parse(&segment, SRC, DST).unwrap();
    assert_eq!(p.payload, b"data");
    let options: Vec<_> = TcpHeader::options(&p).collect();
    assert!(matches!(options[..], [Ok(TcpOption::Mss(m))] if m.header.mss() == 1460));
    assert_eq!(
        TcpHeader::parse(&segment, SRC, [10, 9, 0, 3]).unwrap_err(),
        TcpError::BadChecksum
    );
    let short = edited(&segment, |h: &mut TcpHeader| h.set_data_offset(4));
    assert_eq!(
        TcpHeader::parse(&short, SRC, DST).unwrap_err(),
        TcpError::BadDataOffset
    );
}
