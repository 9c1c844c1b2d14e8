//! The DHCP client frame by frame against a scripted server: the whole
//! exchange, retransmission and backoff, NAK, the ARP probe and DECLINE,
//! renewing, rebinding and expiry, and every reply it refuses under its
//! own counter.

mod common;

/// The exchange captured with QEMU's DHCP server (kept by spec-tests).
#[allow(dead_code)]
#[path = "../../../spec-tests/src/dhcp_captures.rs"]
mod dhcp_captures;

use abi::net::{dhcp_state, IfConfig};
use common::*;
use net::dhcp::{
    State, DECLINE_WAIT_MS, FIRST_RETRY_MS, MAX_RETRY_MS, MIN_RENEW_RETRY_MS, PROBES,
    PROBE_WAIT_MS, REQUEST_TRIES, RETRY_JITTER_MS,
};
use net::{DropReason, Stat};
use wire::arp::ArpOperation;
use wire::dhcp::{
    DhcpMessage, DhcpMessageRepr, DhcpMessageType, DhcpOp, DhcpOption, DhcpOptionCode, DhcpPort,
};
use wire::ethernet::{EtherType, BROADCAST as ETH_BROADCAST};
use wire::ipv4::{IpProtocol, BROADCAST};
use wire::udp::UdpHeader;
use wire::Emit;

const SERVER: u16 = DhcpPort::SERVER.0;
const CLIENT: u16 = DhcpPort::CLIENT.0;
const MASK: [u8; 4] = [255, 255, 255, 0];
const DNS: [u8; 4] = [10, 0, 2, 3];
const LEASE_S: u32 = 3600;

/// A fresh stack whose client has just sent its first DISCOVER.
fn started() -> (T, Sent) {
    let mut t = T::new();
    t.s.dhcp_start(&mut t.env);
    assert_eq!(t.s.iface().addr, [0; 4], "no address until the lease");
    let sent = only_dhcp(&mut t);
    assert_eq!(sent.kind, DhcpMessageType::DISCOVER);
    (t, sent)
}

/// What the client sent, as a server reads it.
#[derive(Debug, Clone, Copy)]
struct Sent {
    dst_mac: [u8; 6],
    src_ip: [u8; 4],
    dst_ip: [u8; 4],
    kind: DhcpMessageType,
    xid: u32,
    broadcast: bool,
    ciaddr: [u8; 4],
    requested: Option<[u8; 4]>,
    server: Option<[u8; 4]>,
}

fn read_sent(frame: &[u8]) -> Option<Sent> {
    let e = parse_eth(frame);
    if e.eth.ethertype() != EtherType::IPV4 {
        return None;
    }
    let (ip, rest) = parse_ipv4(e.payload);
    let u = UdpHeader::parse(rest, ip.src(), ip.dst()).unwrap();
    assert_eq!((u.header.src_port(), u.header.dst_port()), (CLIENT, SERVER));
    let p = DhcpMessage::parse(u.payload).unwrap();
    assert_eq!(p.header.op(), DhcpOp::BOOTREQUEST);
    assert_eq!(p.header.chaddr()[..6], OUR_MAC);
    let mut s = Sent {
        dst_mac: e.eth.dst(),
        src_ip: ip.src(),
        dst_ip: ip.dst(),
        kind: DhcpMessageType(0),
        xid: p.header.xid(),
        broadcast: p.header.broadcast(),
        ciaddr: p.header.ciaddr(),
        requested: None,
        server: None,
    };
    for o in DhcpMessage::options(&p) {
        match o.unwrap() {
            DhcpOption::MessageType(o) => s.kind = o.header.message_type(),
            DhcpOption::RequestedAddress(o) => s.requested = Some(o.header.addr()),
            DhcpOption::ServerId(o) => s.server = Some(o.header.addr()),
            _ => {}
        }
    }
    Some(s)
}

/// The one frame sent, a DHCP message.
fn only_dhcp(t: &mut T) -> Sent {
    let sent = t.sent();
    assert_eq!(sent.len(), 1, "one frame sent");
    read_sent(sent[0].data()).expect("a DHCP message")
}

/// The options of a server's reply.
struct Offer {
    kind: DhcpMessageType,
    yiaddr: [u8; 4],
    server: Option<[u8; 4]>,
    mask: Option<[u8; 4]>,
    lease: Option<u32>,
    t1_t2: Option<(u32, u32)>,
}

impl Offer {
    fn of(kind: DhcpMessageType) -> Offer {
        Offer {
            kind,
            yiaddr: OUR_IP,
            server: Some(GW_IP),
            mask: Some(MASK),
            lease: Some(LEASE_S),
            t1_t2: None,
        }
    }
}

fn option(out: &mut Vec<u8>, code: DhcpOptionCode, value: &[u8]) {
    out.push(code.0);
    out.push(value.len() as u8);
    out.extend_from_slice(value);
}

/// The DHCP payload of a server's reply: the fixed part, then `options`
/// bytes as given.
fn reply_payload(xid: u32, yiaddr: [u8; 4], chaddr: [u8; 6], options: &[u8]) -> Vec<u8> {
    let mut ch = [0; 16];
    ch[..6].copy_from_slice(&chaddr);
    let mut v = vec![0; DhcpMessage::LEN];
    DhcpMessageRepr {
        op: DhcpOp::BOOTREPLY,
        xid,
        yiaddr,
        siaddr: GW_IP,
        chaddr: ch,
        ..DhcpMessageRepr::default()
    }
    .emit(&mut v, ())
    .unwrap();
    v.extend_from_slice(options);
    v
}

fn offer_options(o: &Offer) -> Vec<u8> {
    let mut v = vec![];
    option(&mut v, DhcpOptionCode::MESSAGE_TYPE, &[o.kind.0]);
    if let Some(s) = o.server {
        option(&mut v, DhcpOptionCode::SERVER_ID, &s);
    }
    if let Some(m) = o.mask {
        option(&mut v, DhcpOptionCode::SUBNET_MASK, &m);
    }
    option(&mut v, DhcpOptionCode::ROUTER, &GW_IP);
    option(
        &mut v,
        DhcpOptionCode::DNS_SERVER,
        &[DNS, [8, 8, 8, 8]].concat(),
    );
    if let Some(l) = o.lease {
        option(&mut v, DhcpOptionCode::LEASE_TIME, &l.to_be_bytes());
    }
    if let Some((t1, t2)) = o.t1_t2 {
        option(&mut v, DhcpOptionCode::RENEWAL_TIME, &t1.to_be_bytes());
        option(&mut v, DhcpOptionCode::REBINDING_TIME, &t2.to_be_bytes());
    }
    v.push(DhcpOptionCode::END.0);
    v
}

/// A frame from the server (the gateway) carrying `payload` to our port.
fn from_server(dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mac = if dst == BROADCAST {
        ETH_BROADCAST
    } else {
        OUR_MAC
    };
    let u = udp(GW_IP, dst, SERVER, CLIENT, payload);
    eth(
        mac,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, dst, IpProtocol::UDP, &u),
    )
}

fn reply(xid: u32, o: &Offer) -> Vec<u8> {
    from_server(
        BROADCAST,
        &reply_payload(xid, o.yiaddr, OUR_MAC, &offer_options(o)),
    )
}

/// Through OFFER and ACK to the probes: returns the REQUEST's xid.
fn to_probing(t: &mut T, discover: Sent) -> u32 {
    t.input(&reply(discover.xid, &Offer::of(DhcpMessageType::OFFER)));
    let request = only_dhcp(t);
    assert_eq!(request.kind, DhcpMessageType::REQUEST);
    assert_eq!(request.xid, discover.xid);
    assert_eq!(
        (request.requested, request.server),
        (Some(OUR_IP), Some(GW_IP))
    );
    assert!(request.broadcast && request.dst_ip == BROADCAST);
    t.input(&reply(request.xid, &Offer::of(DhcpMessageType::ACK)));
    assert_eq!(t.s.dhcp_state(), State::Probing);
    request.xid
}

/// Through the probes to BOUND.
fn to_bound(t: &mut T, discover: Sent) {
    to_probing(t, discover);
    for i in 0..PROBES {
        let sent = t.sent();
        assert_eq!(sent.len(), 1, "probe {i}");
        let e = parse_eth(sent[0].data());
        let a = parse_arp(e.payload);
        assert_eq!(a.oper(), ArpOperation::REQUEST);
        assert_eq!((a.spa(), a.tpa()), ([0; 4], OUR_IP), "a probe from 0.0.0.0");
        t.tick(PROBE_WAIT_MS);
    }
    assert_eq!(t.s.dhcp_state(), State::Bound);
    let sent = t.sent();
    let a = parse_arp(parse_eth(sent[0].data()).payload);
    assert_eq!((a.spa(), a.tpa()), (OUR_IP, OUR_IP), "an announcement");
}

#[test]
fn discover_offer_request_ack_probe_bound() {
    let (mut t, discover) = started();
    assert_eq!(discover.dst_mac, ETH_BROADCAST);
    assert_eq!((discover.src_ip, discover.dst_ip), ([0; 4], BROADCAST));
    assert!(discover.broadcast, "no address yet: replies by broadcast");
    to_bound(&mut t, discover);
    let i = t.s.iface();
    assert_eq!(
        (i.addr, i.netmask, i.gateway, i.dns),
        (OUR_IP, MASK, GW_IP, DNS)
    );
    let c = t.s.if_config(t.env.now);
    assert_eq!(c.dhcp_state, dhcp_state::BOUND);
    assert_eq!((c.dhcp_server, c.lease_secs), (GW_IP, LEASE_S));
    assert!(c.lease_left_secs <= LEASE_S && c.lease_left_secs >= LEASE_S - 1);
    for name in ["dhcp_offers_in", "dhcp_acks_in", "dhcp_leases"] {
        assert_eq!(t.counter(name), 1, "{name}");
    }
    assert_eq!(t.counter("dhcp_out"), 2);
    assert!(t.drops().is_empty(), "{:?}", t.drops());
    assert_eq!(t.pool().free(), t.pool().total());
}

#[test]
fn discovers_are_repeated_with_backoff_and_the_same_xid() {
    let (mut t, first) = started();
    let (mut wait, mut sent_at) = (FIRST_RETRY_MS, t.env.now);
    for _ in 0..6 {
        // Nothing before the wait less the jitter; sent by its end.
        t.env.now = sent_at + wait - RETRY_JITTER_MS - 1;
        t.tick(0);
        assert!(t.sent().is_empty(), "not before {wait} ms less the jitter");
        t.env.now = sent_at + wait + RETRY_JITTER_MS;
        t.tick(0);
        let again = only_dhcp(&mut t);
        assert_eq!(
            (again.kind, again.xid),
            (DhcpMessageType::DISCOVER, first.xid)
        );
        sent_at = t.env.now;
        wait = (wait * 2).min(MAX_RETRY_MS);
    }
    assert_eq!(wait, MAX_RETRY_MS, "the waits doubled up to the cap");
    assert_eq!(t.counter("dhcp_retransmits"), 6);
}

#[test]
fn unanswered_requests_start_over() {
    let (mut t, discover) = started();
    t.input(&reply(discover.xid, &Offer::of(DhcpMessageType::OFFER)));
    let mut kinds = vec![only_dhcp(&mut t).kind];
    while kinds.last() == Some(&DhcpMessageType::REQUEST) {
        t.tick(MAX_RETRY_MS + RETRY_JITTER_MS);
        kinds.push(only_dhcp(&mut t).kind);
    }
    let requests = kinds
        .iter()
        .filter(|&&k| k == DhcpMessageType::REQUEST)
        .count();
    assert_eq!(requests as u32, REQUEST_TRIES);
    assert_eq!(kinds.last(), Some(&DhcpMessageType::DISCOVER));
}

#[test]
fn a_nak_starts_over_with_a_new_exchange() {
    let (mut t, discover) = started();
    t.input(&reply(discover.xid, &Offer::of(DhcpMessageType::OFFER)));
    only_dhcp(&mut t);
    t.input(&reply(discover.xid, &Offer::of(DhcpMessageType::NAK)));
    let again = only_dhcp(&mut t);
    assert_eq!(again.kind, DhcpMessageType::DISCOVER);
    assert_ne!(again.xid, discover.xid);
    assert_eq!(t.counter("dhcp_naks_in"), 1);
    assert_eq!(t.s.iface().addr, [0; 4]);
}

#[test]
fn an_address_in_use_is_declined() {
    let (mut t, discover) = started();
    to_probing(&mut t, discover);
    t.sent();
    // Someone answers for the address.
    t.input(&eth(
        OUR_MAC,
        PEER_MAC,
        EtherType::ARP,
        &arp(ArpOperation::REPLY, PEER_MAC, OUR_IP, OUR_MAC, [0; 4]),
    ));
    let decline = only_dhcp(&mut t);
    assert_eq!(decline.kind, DhcpMessageType::DECLINE);
    assert_eq!(
        (decline.requested, decline.server),
        (Some(OUR_IP), Some(GW_IP))
    );
    assert_eq!(t.counter("dhcp_declines_out"), 1);
    assert_eq!(t.s.iface().addr, [0; 4], "never used");
    t.tick(DECLINE_WAIT_MS - 10);
    assert!(t.sent().is_empty(), "waits before trying again");
    t.tick(10);
    assert_eq!(only_dhcp(&mut t).kind, DhcpMessageType::DISCOVER);
}

#[test]
fn another_host_probing_for_the_address_is_a_conflict_too() {
    let (mut t, discover) = started();
    to_probing(&mut t, discover);
    t.sent();
    t.input(&eth(
        ETH_BROADCAST,
        PEER_MAC,
        EtherType::ARP,
        &arp(ArpOperation::REQUEST, PEER_MAC, [0; 4], [0; 6], OUR_IP),
    ));
    assert_eq!(only_dhcp(&mut t).kind, DhcpMessageType::DECLINE);
}

/// Answers the client's ARP request for the server, if it sent one.
fn answer_arp(t: &mut T) -> Vec<Sent> {
    let mut dhcp = vec![];
    for m in t.sent() {
        match read_sent(m.data()) {
            Some(s) => dhcp.push(s),
            None => t.input(&eth(
                OUR_MAC,
                GW_MAC,
                EtherType::ARP,
                &arp(ArpOperation::REPLY, GW_MAC, GW_IP, OUR_MAC, OUR_IP),
            )),
        }
    }
    dhcp.extend(t.sent().iter().filter_map(|m| read_sent(m.data())));
    dhcp
}

#[test]
fn renewing_at_t1_unicast_then_rebinding_at_t2_broadcast_then_expiry() {
    let (mut t, discover) = started();
    to_bound(&mut t, discover);
    let l = t.s.dhcp_lease();
    assert_eq!((l.t1_s, l.t2_s), (LEASE_S / 2, LEASE_S * 7 / 8));
    // T1: a REQUEST to the server itself, from our address.
    t.env.now = l.at(l.t1_s) - 1;
    t.tick(0);
    assert!(t.sent().is_empty());
    t.tick(1);
    let renew = answer_arp(&mut t);
    assert_eq!(renew.len(), 1);
    let r = renew[0];
    assert_eq!(t.s.dhcp_state(), State::Renewing);
    assert_eq!(
        (r.kind, r.dst_ip, r.src_ip, r.ciaddr),
        (DhcpMessageType::REQUEST, GW_IP, OUR_IP, OUR_IP)
    );
    assert!(!r.broadcast && r.requested.is_none() && r.server.is_none());
    // Unanswered: again after half the time to T2 (at least a minute).
    let half = (l.at(l.t2_s) - t.env.now) / 2;
    t.tick(half.max(MIN_RENEW_RETRY_MS));
    assert_eq!(answer_arp(&mut t).len(), 1);
    // T2: broadcast to any server.
    t.env.now = l.at(l.t2_s);
    t.tick(0);
    let rebind = only_dhcp(&mut t);
    assert_eq!(t.s.dhcp_state(), State::Rebinding);
    assert_eq!((rebind.dst_ip, rebind.ciaddr), (BROADCAST, OUR_IP));
    // The end of the lease: the address goes, the client starts again.
    t.env.now = l.at(l.lease_s);
    t.tick(0);
    assert_eq!(only_dhcp(&mut t).kind, DhcpMessageType::DISCOVER);
    assert_eq!(t.s.iface().addr, [0; 4]);
    assert_eq!(t.counter("dhcp_leases_expired"), 1);
    assert_eq!(t.s.if_config(t.env.now).dhcp_state, dhcp_state::SELECTING);
}

#[test]
fn an_ack_while_renewing_extends_the_lease() {
    let (mut t, discover) = started();
    to_bound(&mut t, discover);
    let l = t.s.dhcp_lease();
    t.env.now = l.at(l.t1_s);
    t.tick(0);
    let r = answer_arp(&mut t)[0];
    let mut ack = Offer::of(DhcpMessageType::ACK);
    ack.t1_t2 = Some((100, 200));
    let payload = reply_payload(r.xid, OUR_IP, OUR_MAC, &offer_options(&ack));
    t.input(&from_server(OUR_IP, &payload));
    assert_eq!(t.s.dhcp_state(), State::Bound);
    let renewed = t.s.dhcp_lease();
    assert_eq!(renewed.start_ms, t.env.now);
    assert_eq!((renewed.t1_s, renewed.t2_s), (100, 200));
    assert_eq!(t.counter("dhcp_leases"), 2);
}

#[test]
fn a_nak_while_renewing_removes_the_address() {
    let (mut t, discover) = started();
    to_bound(&mut t, discover);
    let l = t.s.dhcp_lease();
    t.env.now = l.at(l.t1_s);
    t.tick(0);
    let r = answer_arp(&mut t)[0];
    t.input(&from_server(
        OUR_IP,
        &reply_payload(
            r.xid,
            [0; 4],
            OUR_MAC,
            &offer_options(&Offer::of(DhcpMessageType::NAK)),
        ),
    ));
    assert_eq!(t.s.iface().addr, [0; 4]);
    assert_eq!(only_dhcp(&mut t).kind, DhcpMessageType::DISCOVER);
}

#[test]
fn a_static_address_stops_the_client() {
    let (mut t, discover) = started();
    let c = IfConfig {
        addr: [10, 0, 9, 1],
        netmask: MASK,
        ..IfConfig::default()
    };
    t.s.set_config(&c).unwrap();
    assert_eq!(t.s.dhcp_state(), State::Stopped);
    assert_eq!(t.s.if_config(t.env.now).dhcp_state, dhcp_state::OFF);
    t.tick(100_000);
    assert!(t.sent().is_empty(), "no more DISCOVERs");
    // A late offer is nobody's: port 68 has no socket.
    t.input(&reply(discover.xid, &Offer::of(DhcpMessageType::OFFER)));
    assert_eq!(t.drops(), vec![("drop_udp_no_socket".to_string(), 1)]);
    assert_eq!(t.s.iface().addr, [10, 0, 9, 1]);
}

/// Replies the client refuses, each under its own counter, nothing sent.
fn refused() -> Vec<(&'static str, Vec<u8>, DropReason)> {
    let good = |kind| offer_options(&Offer::of(kind));
    let offer = good(DhcpMessageType::OFFER);
    let with_options = |o: &[u8]| reply_payload(0, OUR_IP, OUR_MAC, o);
    let tweak = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut p = with_options(&offer);
        f(&mut p);
        p
    };
    let mut no_type = offer.clone();
    no_type.drain(..3); // the message type option first
    let mut v = vec![
        (
            "truncated",
            with_options(&offer)[..DhcpMessage::LEN - 1].to_vec(),
            DropReason::DhcpTooShort,
        ),
        ("op 3", tweak(&|p| p[0] = 3), DropReason::DhcpBadOp),
        (
            "hlen 16",
            tweak(&|p| p[2] = 16),
            DropReason::DhcpBadHardware,
        ),
        (
            "no magic cookie",
            tweak(&|p| p[DhcpMessage::LEN - 1] ^= 1),
            DropReason::DhcpBadCookie,
        ),
        (
            "a BOOTREQUEST",
            tweak(&|p| p[0] = DhcpOp::BOOTREQUEST.0),
            DropReason::DhcpNotReply,
        ),
        (
            "another client's",
            reply_payload(0, OUR_IP, PEER_MAC, &offer),
            DropReason::DhcpWrongChaddr,
        ),
        (
            "another exchange's",
            reply_payload(1, OUR_IP, OUR_MAC, &offer),
            DropReason::DhcpWrongXid,
        ),
        (
            "BOOTP (no type)",
            with_options(&no_type),
            DropReason::DhcpNoMessageType,
        ),
        (
            "an ACK while selecting",
            with_options(&good(DhcpMessageType::ACK)),
            DropReason::DhcpUnexpected,
        ),
    ];
    let cut = |o: Offer| with_options(&offer_options(&o));
    v.push((
        "no server id",
        cut(Offer {
            server: None,
            ..Offer::of(DhcpMessageType::OFFER)
        }),
        DropReason::DhcpBadLease,
    ));
    v.push((
        "no mask",
        cut(Offer {
            mask: None,
            ..Offer::of(DhcpMessageType::OFFER)
        }),
        DropReason::DhcpBadLease,
    ));
    v.push((
        "no lease time",
        cut(Offer {
            lease: None,
            ..Offer::of(DhcpMessageType::OFFER)
        }),
        DropReason::DhcpBadLease,
    ));
    v.push((
        "a broadcast address",
        reply_payload(0, [10, 0, 2, 255], OUR_MAC, &offer),
        DropReason::DhcpBadLease,
    ));
    let mut bad = |what, o: &[u8], r| {
        let mut opts = o.to_vec();
        opts.extend_from_slice(&offer);
        v.push((what, with_options(&opts), r));
    };
    let mt = DhcpOptionCode::MESSAGE_TYPE.0;
    bad(
        "message type of length 2",
        &[mt, 2, 2, 0],
        DropReason::DhcpOptionBadLength,
    );
    bad(
        "message type 9",
        &[mt, 1, 9],
        DropReason::DhcpBadMessageType,
    );
    bad(
        "a router list of 3 bytes",
        &[DhcpOptionCode::ROUTER.0, 3, 10, 0, 2],
        DropReason::DhcpOptionBadLength,
    );
    bad(
        "an empty router list",
        &[DhcpOptionCode::ROUTER.0, 0],
        DropReason::DhcpOptionBadLength,
    );
    bad(
        "a subnet mask of 5 bytes",
        &[DhcpOptionCode::SUBNET_MASK.0, 5, 255, 255, 255, 0, 0],
        DropReason::DhcpOptionBadLength,
    );
    bad(
        "a client id of 1 byte",
        &[DhcpOptionCode::CLIENT_ID.0, 1, 1],
        DropReason::DhcpOptionBadLength,
    );
    let mut past = with_options(&offer[..offer.len() - 1]);
    past.extend_from_slice(&[DhcpOptionCode::LEASE_TIME.0, 4, 0]);
    v.push((
        "an option past the end",
        past,
        DropReason::DhcpOptionPastEnd,
    ));
    let mut no_len = with_options(&offer[..offer.len() - 1]);
    no_len.push(DhcpOptionCode::LEASE_TIME.0);
    v.push((
        "an option without its length",
        no_len,
        DropReason::DhcpOptionPastEnd,
    ));
    v
}

#[test]
fn each_refused_reply_moves_its_counter() {
    for (what, payload, reason) in refused() {
        let (mut t, discover) = started();
        // The xid in the payload is 0 (or 1: another exchange's); ours is random.
        let mut payload = payload;
        if payload.len() >= 8 && payload[4..8] == [0; 4] {
            payload[4..8].copy_from_slice(&discover.xid.to_be_bytes());
        }
        t.input(&from_server(BROADCAST, &payload));
        assert_eq!(t.drops(), vec![(reason.name().to_string(), 1)], "{what}");
        assert!(t.sent().is_empty(), "{what}: nothing sent");
        assert_eq!(t.s.dhcp_state(), State::Selecting, "{what}");
        assert_eq!(t.pool().free(), t.pool().total(), "{what}: mbuf returned");
    }
}

/// Every error `proto-defs/dhcp.toml` declares has a case above.
#[test]
fn every_declared_dhcp_rule_has_a_case() {
    let covered: Vec<DropReason> = refused().into_iter().map(|(_, _, r)| r).collect();
    for e in wire::dhcp::DhcpError::ALL {
        let r = DropReason::from(e);
        assert!(covered.contains(&r), "no case for {}", r.name());
    }
}

/// Every DHCP counter is named by a test in this file.
#[test]
fn every_dhcp_counter_has_a_test_that_moves_it() {
    let this = include_str!("dhcp.rs");
    let names = Stat::ALL
        .iter()
        .map(|s| (s.name(), String::new()))
        .chain(
            DropReason::ALL
                .iter()
                .map(|r| (r.name(), format!("DropReason::{r:?}"))),
        )
        .filter(|(n, _)| n.starts_with("dhcp_") || n.starts_with("drop_dhcp_"));
    let missing: Vec<_> = names
        .filter(|(n, variant)| {
            let named =
                |end: char| !variant.is_empty() && this.contains(&format!("{variant}{end}"));
            !this.contains(&format!("\"{n}\"")) && !named(',') && !named(')')
        })
        .map(|(n, _)| n)
        .collect();
    assert!(missing.is_empty(), "no test moves {missing:?}");
}

/// The server's side, as `dhcpd` uses the sockets: a socket bound to the
/// wildcard address takes a DISCOVER broadcast from 0.0.0.0, and a reply
/// to 255.255.255.255 goes out as an Ethernet broadcast, no ARP.
#[test]
fn a_socket_receives_and_sends_limited_broadcasts() {
    let mut t = T::new();
    let s = t.udp_socket(SERVER);
    let discover = udp([0; 4], BROADCAST, CLIENT, SERVER, b"discover");
    t.input(&eth(
        ETH_BROADCAST,
        PEER_MAC,
        EtherType::IPV4,
        &ipv4([0; 4], BROADCAST, IpProtocol::UDP, &discover),
    ));
    let (m, from) = t.s.recvfrom(s).unwrap();
    assert_eq!(m.data(), b"discover");
    assert_eq!((from.addr_be, from.port()), ([0; 4], CLIENT));
    drop(m);
    t.send_udp(s, (BROADCAST, CLIENT), b"offer").unwrap();
    let sent = t.sent();
    assert_eq!(sent.len(), 1, "no ARP first");
    let e = parse_eth(sent[0].data());
    assert_eq!(e.eth.dst(), ETH_BROADCAST);
    let (ip, _) = parse_ipv4(e.payload);
    assert_eq!((ip.src(), ip.dst()), (OUR_IP, BROADCAST));
    assert!(t.drops().is_empty());
}

#[test]
fn t1_equal_to_t2_goes_straight_to_rebinding() {
    let (mut t, discover) = started();
    t.input(&reply(discover.xid, &Offer::of(DhcpMessageType::OFFER)));
    let request = only_dhcp(&mut t);
    let mut ack = Offer::of(DhcpMessageType::ACK);
    ack.t1_t2 = Some((100, 100));
    t.input(&reply(request.xid, &ack));
    for _ in 0..=PROBES {
        t.tick(PROBE_WAIT_MS);
    }
    assert_eq!(t.s.dhcp_state(), State::Bound);
    t.sent();
    let l = t.s.dhcp_lease();
    t.env.now = l.at(100);
    t.tick(0);
    assert_eq!(t.s.dhcp_state(), State::Rebinding);
    assert_eq!(only_dhcp(&mut t).dst_ip, BROADCAST);
}

proptest::proptest! {
    /// Any bytes a server sends the client while it asks, mutations of a
    /// good OFFER and ACK among them: nothing panics, every mbuf comes back.
    #[test]
    fn arbitrary_replies_never_panic(
        cases in proptest::collection::vec(
            (0usize..3, proptest::collection::vec(proptest::prelude::any::<(u16, u8)>(), 0..8),
             proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)),
            1..6,
        )
    ) {
        let (mut t, discover) = started();
        for (base, flips, bytes) in cases {
            let mut payload = match base {
                0 => bytes,
                1 => reply_payload(discover.xid, OUR_IP, OUR_MAC, &offer_options(&Offer::of(DhcpMessageType::OFFER))),
                _ => reply_payload(discover.xid, OUR_IP, OUR_MAC, &offer_options(&Offer::of(DhcpMessageType::ACK))),
            };
            for (at, bits) in flips {
                if !payload.is_empty() {
                    let i = usize::from(at) % payload.len();
                    payload[i] ^= bits;
                }
            }
            t.input(&from_server(BROADCAST, &payload));
            t.tick(PROBE_WAIT_MS);
        }
        t.sent();
        proptest::prop_assert_eq!(t.pool().free(), t.pool().total());
    }
}

/// The captured frames' UDP payload.
fn captured_dhcp(frame: &[u8]) -> &[u8] {
    let e = parse_eth(frame);
    let (_, rest) = parse_ipv4(e.payload);
    &rest[UdpHeader::LEN..]
}

/// The client writes the REQUEST it sent to QEMU again, byte for byte.
#[test]
fn the_client_rebuilds_its_captured_request() {
    let sent = captured_dhcp(&dhcp_captures::REQUEST);
    let xid = u32::from_be_bytes(sent[4..8].try_into().unwrap());
    let mut out = vec![0; 600];
    let n = net::dhcp::Request {
        kind: DhcpMessageType::REQUEST,
        xid,
        secs: 0,
        mac: OUR_MAC,
        ciaddr: [0; 4],
        requested: Some(OUR_IP),
        server: Some(GW_IP),
    }
    .write(&mut out)
    .unwrap();
    assert_eq!(out[..n], sent[..]);
}

/// One of QEMU's captured replies, its xid made `xid` (the UDP checksum
/// recomputed): QEMU's bytes otherwise.
fn with_xid(frame: &[u8], xid: u32) -> Vec<u8> {
    let mut f = frame.to_vec();
    let at = wire::ethernet::EthernetHeader::LEN + wire::ipv4::Ipv4Header::LEN;
    let (src, dst) = (GW_IP, BROADCAST);
    f[at + UdpHeader::LEN + 4..at + UdpHeader::LEN + 8].copy_from_slice(&xid.to_be_bytes());
    wire::udp::fill_checksum(src, dst, &mut f[at..]);
    f
}

/// QEMU's own OFFER and ACK (given the xid of this client's DISCOVER) take
/// the client to BOUND with QEMU's lease.
#[test]
fn qemus_offer_and_ack_bind_the_client() {
    let r = net::dhcp::Reply::read(captured_dhcp(&dhcp_captures::ACK), OUR_MAC).unwrap();
    assert_eq!((r.yiaddr, r.server), (OUR_IP, Some(GW_IP)));
    assert_eq!(
        (r.netmask, r.router, r.dns),
        (Some(MASK), Some(GW_IP), Some(DNS))
    );
    assert_eq!((r.lease_s, r.t1_s, r.t2_s), (Some(86400), None, None));
    let (mut t, discover) = started();
    t.input(&with_xid(&dhcp_captures::OFFER, discover.xid));
    assert_eq!(only_dhcp(&mut t).kind, DhcpMessageType::REQUEST);
    t.input(&with_xid(&dhcp_captures::ACK, discover.xid));
    for _ in 0..=PROBES {
        t.tick(PROBE_WAIT_MS);
    }
    assert_eq!(t.s.dhcp_state(), State::Bound);
    let i = t.s.iface();
    assert_eq!(
        (i.addr, i.netmask, i.gateway, i.dns),
        (OUR_IP, MASK, GW_IP, DNS)
    );
    assert_eq!(t.s.dhcp_lease().lease_s, 86400);
    assert!(t.drops().is_empty(), "{:?}", t.drops());
}
