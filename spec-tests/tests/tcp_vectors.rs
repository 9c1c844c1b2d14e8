//! Known answers for `proto-defs/tcp.toml`: the segments of one Linux TCP
//! conversation (`spec_tests::tcp_captures`) parsed through the generated
//! views, every header field, option and checksum checked against the value
//! tshark 4.0 dissects (`tshark -T fields -e tcp.seq_raw -e tcp.flags ...`
//! over the capture), each header round-tripped through its deku reference
//! codec, and the checksum refilled by the generated code.

use spec_tests::tcp_captures::*;
use spec_tests::{deku, edited, roundtrip};
use wire::dispatch::{ipv4_next, Ipv4Next};
use wire::emit::Ipv4PseudoHeader;
use wire::ethernet::{EtherType, EthernetHeader};
use wire::ipv4::{self, IpProtocol, Ipv4Header};
use wire::tcp::{self, TcpHeader, TcpHeaderRepr, TcpOption};
use wire::Emit;
use zerocopy::IntoBytes;

const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const CLIENT: [u8; 4] = [10, 9, 0, 1];
const SERVER: [u8; 4] = [10, 9, 0, 2];

/// What tshark reads in one captured segment.
struct Seen {
    from_client: bool,
    ip_id: u16,
    ip_checksum: u16,
    ip_len: u16,
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    header_bytes: usize,
    /// `tcp.flags`: CWR ECE URG ACK PSH RST SYN FIN from bit 7 down.
    flags: u8,
    window: u16,
    checksum: u16,
    payload: &'static [u8],
}

/// The options of a segment as tshark lists them.
#[derive(Debug, PartialEq)]
enum Opt {
    Nop,
    Mss(u16),
    SackPermitted,
    Timestamps(u32, u32),
    WindowScale(u8),
}

/// Parses `frame` down to TCP, checks every field against `seen` and both
/// checksums, and returns the segment's options.
fn check(frame: &'static [u8], seen: &Seen) -> Vec<Opt> {
    let eth = EthernetHeader::parse(frame).unwrap();
    roundtrip::<deku::ethernet::EthernetHeader>(eth.header.as_bytes()).unwrap();
    let (src_mac, dst_mac, src_ip, dst_ip) = if seen.from_client {
        (CLIENT_MAC, SERVER_MAC, CLIENT, SERVER)
    } else {
        (SERVER_MAC, CLIENT_MAC, SERVER, CLIENT)
    };
    assert_eq!(
        (eth.header.src(), eth.header.dst(), eth.header.ethertype()),
        (src_mac, dst_mac, EtherType::IPV4)
    );

    let ip = Ipv4Header::parse(eth.payload).unwrap();
    roundtrip::<deku::ipv4::Ipv4Header>(ip.header.as_bytes()).unwrap();
    let h = ip.header;
    assert!(h.fixed_values_ok() && ip.options.is_empty());
    assert_eq!((h.ihl_bytes(), h.dscp(), h.ecn()), (20, 0, 0));
    assert_eq!(
        (h.identification(), h.dont_fragment(), h.more_fragments()),
        (seen.ip_id, true, false)
    );
    assert_eq!((h.fragment_offset(), h.ttl()), (0, 64));
    assert_eq!(
        (h.protocol(), h.header_checksum(), h.total_length()),
        (IpProtocol::TCP, seen.ip_checksum, seen.ip_len)
    );
    assert_eq!((h.src(), h.dst()), (src_ip, dst_ip));
    assert_eq!(ipv4_next(h.protocol()), Ipv4Next::Tcp);
    assert!(ipv4::checksum_ok(&ip.message[..h.ihl_bytes()]));

    let segment = ip.payload;
    let p = TcpHeader::parse(segment, src_ip, dst_ip).unwrap();
    roundtrip::<deku::tcp::TcpHeader>(p.header.as_bytes()).unwrap();
    let t = p.header;
    assert_eq!((t.src_port(), t.dst_port()), seen.ports);
    assert_eq!((t.seq(), t.ack()), (seen.seq, seen.ack));
    assert_eq!(
        (t.data_offset_bytes(), t.reserved()),
        (seen.header_bytes, 0)
    );
    let flags = [
        t.cwr(),
        t.ece(),
        t.urg(),
        t.ack_flag(),
        t.psh(),
        t.rst(),
        t.syn(),
        t.fin(),
    ]
    .iter()
    .fold(0u8, |bits, &set| bits << 1 | u8::from(set));
    assert_eq!(flags, seen.flags, "flags {flags:#04x}");
    assert_eq!(
        (t.window(), t.checksum(), t.urgent_pointer()),
        (seen.window, seen.checksum, 0)
    );
    assert_eq!(p.payload, seen.payload);
    assert_eq!(p.options.len(), seen.header_bytes - TcpHeader::LEN);

    assert!(tcp::checksum_ok(src_ip, dst_ip, segment));
    assert_eq!(tcp::checksum(src_ip, dst_ip, segment), seen.checksum);
    assert!(
        !tcp::checksum_ok(src_ip, [10, 9, 0, 3], segment),
        "another pseudo-header fails"
    );
    let mut copy = edited(segment, |h: &mut TcpHeader| h.set_checksum(0x1234));
    tcp::fill_checksum(src_ip, dst_ip, &mut copy);
    assert_eq!(copy, segment);

    TcpHeader::options(&p)
        .map(|option| match option.unwrap() {
            TcpOption::Nop => Opt::Nop,
            TcpOption::Mss(m) => {
                roundtrip::<deku::tcp::TcpMss>(m.header.as_bytes()).unwrap();
                assert!(m.header.fixed_values_ok());
                Opt::Mss(m.header.mss())
            }
            TcpOption::SackPermitted(s) => {
                roundtrip::<deku::tcp::TcpSackPermitted>(s.header.as_bytes()).unwrap();
                assert!(s.header.fixed_values_ok());
                Opt::SackPermitted
            }
            TcpOption::Timestamps(ts) => {
                roundtrip::<deku::tcp::TcpTimestamps>(ts.header.as_bytes()).unwrap();
                assert!(ts.header.fixed_values_ok());
                Opt::Timestamps(ts.header.value(), ts.header.echo_reply())
            }
            TcpOption::WindowScale(ws) => {
                roundtrip::<deku::tcp::TcpWindowScale>(ws.header.as_bytes()).unwrap();
                assert!(ws.header.fixed_values_ok());
                Opt::WindowScale(ws.header.shift())
            }
            other => panic!("Linux sent no {other:?}"),
        })
        .collect()
}

const CLIENT_ISN: u32 = 1921765729;
const SERVER_ISN: u32 = 3281166500;

#[test]
fn syn_with_options() {
    let options = check(
        &TCP_SYN,
        &Seen {
            from_client: true,
            ip_id: 0x34f3,
            ip_checksum: 0xf1b4,
            ip_len: 60,
            ports: (40001, 8080),
            seq: CLIENT_ISN,
            ack: 0,
            header_bytes: 40,
            flags: 0x02,
            window: 64240,
            checksum: 0x4e1d,
            payload: b"",
        },
    );
    assert_eq!(
        options,
        [
            Opt::Mss(1460),
            Opt::SackPermitted,
            Opt::Timestamps(2705344987, 0),
            Opt::Nop,
            Opt::WindowScale(10)
        ]
    );
}

#[test]
fn syn_ack_with_options() {
    let options = check(
        &TCP_SYN_ACK,
        &Seen {
            from_client: false,
            ip_id: 0,
            ip_checksum: 0x26a8,
            ip_len: 60,
            ports: (8080, 40001),
            seq: SERVER_ISN,
            ack: CLIENT_ISN + 1,
            header_bytes: 40,
            flags: 0x12,
            window: 65160,
            checksum: 0xd7bc,
            payload: b"",
        },
    );
    assert_eq!(
        options,
        [
            Opt::Mss(1460),
            Opt::SackPermitted,
            Opt::Timestamps(1802478352, 2705344987),
            Opt::Nop,
            Opt::WindowScale(10)
        ]
    );
}

#[test]
fn ack_ends_the_handshake() {
    let options = check(
        &TCP_ACK,
        &Seen {
            from_client: true,
            ip_id: 0x34f4,
            ip_checksum: 0xf1bb,
            ip_len: 52,
            ports: (40001, 8080),
            seq: CLIENT_ISN + 1,
            ack: SERVER_ISN + 1,
            header_bytes: 32,
            flags: 0x10,
            window: 63,
            checksum: 0x04d6,
            payload: b"",
        },
    );
    assert_eq!(
        options,
        [Opt::Nop, Opt::Nop, Opt::Timestamps(2705344987, 1802478352)]
    );
}

#[test]
fn data_both_ways() {
    let options = check(
        &TCP_DATA,
        &Seen {
            from_client: true,
            ip_id: 0x34f5,
            ip_checksum: 0xf1a9,
            ip_len: 69,
            ports: (40001, 8080),
            seq: CLIENT_ISN + 1,
            ack: SERVER_ISN + 1,
            header_bytes: 32,
            flags: 0x18,
            window: 63,
            checksum: 0x1e88,
            payload: b"hello xv6net tcp\n",
        },
    );
    assert_eq!(
        options,
        [Opt::Nop, Opt::Nop, Opt::Timestamps(2705344992, 1802478352)]
    );
    let options = check(
        &TCP_DATA_REPLY,
        &Seen {
            from_client: false,
            ip_id: 0x6e39,
            ip_checksum: 0xb865,
            ip_len: 69,
            ports: (8080, 40001),
            seq: SERVER_ISN + 1,
            ack: CLIENT_ISN + 1 + 17,
            header_bytes: 32,
            flags: 0x18,
            window: 64,
            checksum: 0xe17a,
            payload: b"hello from linux\n",
        },
    );
    assert_eq!(
        options,
        [Opt::Nop, Opt::Nop, Opt::Timestamps(1802478358, 2705344992)]
    );
}

#[test]
fn fin() {
    let options = check(
        &TCP_FIN,
        &Seen {
            from_client: false,
            ip_id: 0x6e3a,
            ip_checksum: 0xb875,
            ip_len: 52,
            ports: (8080, 40001),
            seq: SERVER_ISN + 1 + 17,
            ack: CLIENT_ISN + 1 + 17,
            header_bytes: 32,
            flags: 0x11,
            window: 64,
            checksum: 0x04a6,
            payload: b"",
        },
    );
    assert_eq!(
        options,
        [Opt::Nop, Opt::Nop, Opt::Timestamps(1802478358, 2705344993)]
    );
}

#[test]
fn rst_to_a_closed_port() {
    let options = check(
        &TCP_RST,
        &Seen {
            from_client: false,
            ip_id: 0,
            ip_checksum: 0x26bc,
            ip_len: 40,
            ports: (9, 40002),
            seq: 0,
            ack: 2205362645,
            header_bytes: 20,
            flags: 0x14,
            window: 0,
            checksum: 0x5228,
            payload: b"",
        },
    );
    assert!(options.is_empty());

    // The generated builder writes exactly the segment Linux sent.
    let repr = TcpHeaderRepr {
        src_port: 9,
        dst_port: 40002,
        ack: 2205362645,
        ack_flag: true,
        rst: true,
        ..Default::default()
    };
    let mut built = [0xa5; TcpHeader::LEN];
    let cx = Ipv4PseudoHeader::new(SERVER, CLIENT);
    repr.emit(&mut built, cx).unwrap();
    assert_eq!(built[..], TCP_RST[TCP_RST.len() - TcpHeader::LEN..]);
}
