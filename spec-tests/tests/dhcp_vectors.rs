//! Known answers for DHCP: a DISCOVER, OFFER, REQUEST and ACK captured on
//! QEMU's user network (`spec_tests::dhcp_captures`; OFFER and ACK are QEMU's
//! own server's), parsed through the generated views down to every option,
//! each field checked against tshark's reading of the same frame, the fixed
//! part and each known option through their deku reference codecs.

use spec_tests::{deku, dhcp_captures as cap, roundtrip};
use wire::dhcp::{
    DhcpDnsServers, DhcpMessage, DhcpMessageType, DhcpOp, DhcpOption, DhcpOptionCode,
    DhcpParameterRequestList, DhcpPort, DhcpRouters,
};
use wire::dispatch::{ethernet_next, ipv4_next, EthernetNext, Ipv4Next};
use wire::ethernet::{EthernetHeader, BROADCAST as ETH_BROADCAST};
use wire::ipv4::{self, Ipv4Header, BROADCAST};
use wire::udp::{self, UdpHeader};
use zerocopy::IntoBytes;

const CLIENT_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const SLIRP_MAC: [u8; 6] = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
const SERVER: [u8; 4] = [10, 0, 2, 2];
const XID: u32 = 0x2aee_8208;

/// What tshark read in one frame (`make-dhcp-captures.sh` prints it).
struct Tshark {
    eth_src: [u8; 6],
    ip_src: [u8; 4],
    ip_id: u16,
    ip_checksum: u16,
    ports: (u16, u16),
    udp_length: u16,
    udp_checksum: u16,
    op: DhcpOp,
    broadcast: bool,
    yiaddr: [u8; 4],
    siaddr: [u8; 4],
    message_type: DhcpMessageType,
    /// The option codes in order, up to END.
    codes: &'static [u8],
}

/// The DHCP message of `frame`, every layer checked on the way down.
fn dhcp(frame: &[u8], t: &Tshark) -> (DhcpMessage, Vec<u8>) {
    let eth = EthernetHeader::parse(frame).unwrap();
    roundtrip::<deku::ethernet::EthernetHeader>(eth.header.as_bytes()).unwrap();
    assert_eq!(
        (eth.header.src(), eth.header.dst()),
        (t.eth_src, ETH_BROADCAST)
    );
    assert_eq!(ethernet_next(eth.header.ethertype()), EthernetNext::Ipv4);
    let ip = Ipv4Header::parse(eth.payload).unwrap();
    let h = ip.header;
    assert!(ipv4::checksum_ok(&ip.message[..h.ihl_bytes()]));
    assert_eq!((h.src(), h.dst(), h.ttl()), (t.ip_src, BROADCAST, 64));
    assert_eq!(
        (h.identification(), h.header_checksum()),
        (t.ip_id, t.ip_checksum)
    );
    assert_eq!(ipv4_next(h.protocol()), Ipv4Next::Udp);
    let u = UdpHeader::parse(ip.payload, h.src(), h.dst()).unwrap();
    assert!(udp::checksum_ok(h.src(), h.dst(), u.message));
    let uh = u.header;
    assert_eq!((uh.src_port(), uh.dst_port()), t.ports);
    assert_eq!((uh.length(), uh.checksum()), (t.udp_length, t.udp_checksum));
    let p = DhcpMessage::parse(u.payload).unwrap();
    roundtrip::<deku::dhcp::DhcpMessage>(p.header.as_bytes()).unwrap();
    let m = *p.header;
    assert!(m.fixed_values_ok(), "htype 1, hlen 6, the magic cookie");
    assert_eq!((m.op(), m.hops(), m.xid(), m.secs()), (t.op, 0, XID, 0));
    assert_eq!((m.broadcast(), m.flags_reserved()), (t.broadcast, 0));
    assert_eq!((m.ciaddr(), m.giaddr()), ([0; 4], [0; 4]));
    assert_eq!((m.yiaddr(), m.siaddr()), (t.yiaddr, t.siaddr));
    assert_eq!(m.chaddr()[..6], CLIENT_MAC);
    assert_eq!(m.chaddr()[6..], [0; 10]);
    let mut codes = vec![];
    let mut kind = None;
    for o in DhcpMessage::options(&p) {
        let o = o.unwrap();
        let (code, bytes): (DhcpOptionCode, &[u8]) = match o {
            DhcpOption::Pad => continue,
            DhcpOption::MessageType(o) => {
                kind = Some(o.header.message_type());
                roundtrip::<deku::dhcp::DhcpMessageTypeOption>(o.header.as_bytes()).unwrap();
                (o.header.code(), o.message)
            }
            DhcpOption::ServerId(o) => {
                assert_eq!(o.header.addr(), SERVER);
                roundtrip::<deku::dhcp::DhcpServerId>(o.header.as_bytes()).unwrap();
                (o.header.code(), o.message)
            }
            DhcpOption::SubnetMask(o) => {
                assert_eq!(o.header.mask(), [255, 255, 255, 0]);
                roundtrip::<deku::dhcp::DhcpSubnetMask>(o.header.as_bytes()).unwrap();
                (o.header.code(), o.message)
            }
            DhcpOption::Router(o) => {
                let routers: Vec<_> = DhcpRouters::elements(&o).iter().map(|a| a.addr()).collect();
                assert_eq!(routers, [SERVER]);
                (o.header.code(), o.message)
            }
            DhcpOption::DnsServer(o) => {
                let dns: Vec<_> = DhcpDnsServers::elements(&o)
                    .iter()
                    .map(|a| a.addr())
                    .collect();
                assert_eq!(dns, [[10, 0, 2, 3]]);
                (o.header.code(), o.message)
            }
            DhcpOption::LeaseTime(o) => {
                assert_eq!(o.header.seconds(), 86400);
                roundtrip::<deku::dhcp::DhcpLeaseTime>(o.header.as_bytes()).unwrap();
                (o.header.code(), o.message)
            }
            DhcpOption::RequestedAddress(o) => {
                assert_eq!(o.header.addr(), [10, 0, 2, 15]);
                roundtrip::<deku::dhcp::DhcpRequestedAddress>(o.header.as_bytes()).unwrap();
                (o.header.code(), o.message)
            }
            DhcpOption::ClientId(o) => {
                assert_eq!((o.header.id_type(), o.payload), (1, &CLIENT_MAC[..]));
                roundtrip::<deku::dhcp::DhcpClientId>(o.header.as_bytes()).unwrap();
                (o.header.code(), o.message)
            }
            DhcpOption::ParameterRequestList(o) => {
                let asked: Vec<u8> = DhcpParameterRequestList::elements(&o)
                    .iter()
                    .map(|c| c.code().0)
                    .collect();
                assert_eq!(asked, [1, 3, 6, 51, 58, 59], "tshark's request list items");
                (o.header.code(), o.message)
            }
            other => panic!("an option these frames do not hold: {other:?}"),
        };
        assert_eq!(
            usize::from(bytes[1]) + 2,
            bytes.len(),
            "the length counts the value"
        );
        codes.push(code.0);
    }
    assert_eq!(codes, t.codes, "the options tshark lists, in order");
    assert_eq!(kind, Some(t.message_type));
    (m, u.payload.to_vec())
}

const FROM_CLIENT: (u16, u16) = (DhcpPort::CLIENT.0, DhcpPort::SERVER.0);
const FROM_SERVER: (u16, u16) = (DhcpPort::SERVER.0, DhcpPort::CLIENT.0);

#[test]
fn discover() {
    let t = Tshark {
        eth_src: CLIENT_MAC,
        ip_src: [0; 4],
        ip_id: 0x0001,
        ip_checksum: 0x79a5,
        ports: FROM_CLIENT,
        udp_length: 308,
        udp_checksum: 0x4ff1,
        op: DhcpOp::BOOTREQUEST,
        broadcast: true,
        yiaddr: [0; 4],
        siaddr: [0; 4],
        message_type: DhcpMessageType::DISCOVER,
        codes: &[53, 61, 55],
    };
    let (_, payload) = dhcp(&cap::DISCOVER, &t);
    assert_eq!(payload.len(), 300, "padded to BOOTP's 300 bytes (RFC 1542)");
}

#[test]
fn offer_from_qemu() {
    let t = Tshark {
        eth_src: SLIRP_MAC,
        ip_src: SERVER,
        ip_id: 0x0000,
        ip_checksum: 0x6c9c,
        ports: FROM_SERVER,
        udp_length: 556,
        udp_checksum: 0x0e7b,
        op: DhcpOp::BOOTREPLY,
        broadcast: false,
        yiaddr: [10, 0, 2, 15],
        siaddr: SERVER,
        message_type: DhcpMessageType::OFFER,
        codes: &[53, 54, 1, 3, 6, 51],
    };
    dhcp(&cap::OFFER, &t);
}

#[test]
fn request() {
    let t = Tshark {
        eth_src: CLIENT_MAC,
        ip_src: [0; 4],
        ip_id: 0x0002,
        ip_checksum: 0x79a4,
        ports: FROM_CLIENT,
        udp_length: 308,
        udp_checksum: 0xcdd7,
        op: DhcpOp::BOOTREQUEST,
        broadcast: true,
        yiaddr: [0; 4],
        siaddr: [0; 4],
        message_type: DhcpMessageType::REQUEST,
        codes: &[53, 61, 50, 54, 55],
    };
    dhcp(&cap::REQUEST, &t);
}

#[test]
fn ack_from_qemu() {
    let t = Tshark {
        eth_src: SLIRP_MAC,
        ip_src: SERVER,
        ip_id: 0x0001,
        ip_checksum: 0x6c9b,
        ports: FROM_SERVER,
        udp_length: 556,
        udp_checksum: 0x0b7b,
        op: DhcpOp::BOOTREPLY,
        broadcast: false,
        yiaddr: [10, 0, 2, 15],
        siaddr: SERVER,
        message_type: DhcpMessageType::ACK,
        codes: &[53, 54, 1, 3, 6, 51],
    };
    dhcp(&cap::ACK, &t);
}
