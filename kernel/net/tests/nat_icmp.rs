//! ICMP errors about translated flows (RFC 5508) and hairpin, on the
//! network of `netns_lab`: an error about a container's datagram reaches
//! it with the translation undone, checksums and all; a container's error
//! leaves from our address; unmatched and garbled errors are counted; and
//! a container reaches a published port by the root's outside address.

mod common;
mod netns_lab;

use abi::net::{IfConfig, SockAddrIn};
use abi::Errno;
use common::ipv4_with;
use net::nat::NAT_PORTS;
use net::{NatProto, SocketKind};
use wire::icmpv4::{Icmpv4DestUnreachable, Icmpv4Header, Icmpv4HeaderRepr, Icmpv4Type};
use wire::ipv4::{IpProtocol, Ipv4Header};
use wire::Emit;
use zerocopy::FromBytes;

use netns_lab::*;

// ---- ICMP errors about translated flows ----

/// An ICMP error of type `t` quoting `quote`, its checksum filled.
fn icmp_error(t: Icmpv4Type, code: u8, quote: &[u8]) -> Vec<u8> {
    let mut msg = vec![0; Icmpv4Header::LEN + Icmpv4DestUnreachable::LEN];
    msg.extend_from_slice(quote);
    Icmpv4HeaderRepr { msg_type: t, code }
        .emit(&mut msg, ())
        .unwrap();
    msg
}

/// What an error quotes of `packet`: its IPv4 header and 8 bytes.
fn quote_of(packet: &[u8]) -> Vec<u8> {
    let hl = Ipv4Header::ref_from_prefix(packet).unwrap().0.ihl_bytes();
    packet[..hl + usize::from(wire::icmpv4::ERROR_QUOTED_DATA)].to_vec()
}

/// `quote` as the next hop saw it: its TTL one less (the header checksum
/// computed again).
fn hop_less(mut quote: Vec<u8>) -> Vec<u8> {
    let (h, _) = Ipv4Header::mut_from_prefix(&mut quote).unwrap();
    h.set_ttl(h.ttl() - 1);
    let hl = h.ihl_bytes();
    wire::ipv4::fill_checksum(&mut quote[..hl]);
    quote
}

/// The last packet of protocol `p` carried on `seg`.
fn last(net: &Net, seg: Seg, p: IpProtocol) -> Vec<u8> {
    net.packets(seg)
        .into_iter()
        .rfind(|q| Ipv4Header::ref_from_prefix(q).unwrap().0.protocol() == p)
        .unwrap_or_else(|| panic!("no {p:?} on {seg:?}"))
}

/// The quote of the ICMP error `packet` carries.
fn quoted(packet: &[u8]) -> Vec<u8> {
    let hl = Ipv4Header::ref_from_prefix(packet).unwrap().0.ihl_bytes();
    packet[hl + Icmpv4Header::LEN + Icmpv4DestUnreachable::LEN..].to_vec()
}

/// The host stops answering for its address (its frames still reach it,
/// and the root still knows its MAC): what is sent there draws nothing.
fn host_goes_quiet(net: &mut Net) {
    let host = &mut net.nodes[HOST].s;
    let c = IfConfig {
        addr: [10, 0, 2, 99],
        ..host.iface().to_abi()
    };
    host.set_config(&c).unwrap();
}

#[test]
fn a_port_unreachable_about_a_translated_flow_reaches_the_container() {
    let mut net = Net::new();
    let c = net.udp(C1, 5000);
    net.nodes[C1]
        .s
        .connect(c, &SockAddrIn::new(HOST_IP, 9))
        .unwrap();
    // Nobody listens on the host's port 9: the host's own stack answers.
    net.send(C1, c, (HOST_IP, 9), b"anyone there?");
    assert_eq!(net.counter(HOST, "icmp_unreach_out"), 1);
    assert_eq!(net.counter(ROOT, "nat_icmp_errors_in"), 1);
    assert_eq!(
        net.nodes[C1].s.recvfrom(c).unwrap_err(),
        Errno::ECONNREFUSED
    );
    assert_eq!(net.counter(C1, "icmp_unreach_in"), 1);
    // What the container hears quotes its datagram as it sent it, byte for
    // byte (checksums included) but for the hop it made: the translation
    // undone.
    let sent = net
        .packets(Seg::Bridge)
        .into_iter()
        .find(|p| Ipv4Header::ref_from_prefix(p).unwrap().0.protocol() == IpProtocol::UDP)
        .unwrap();
    let error = last(&net, Seg::Bridge, IpProtocol::ICMP);
    let (h, _) = Ipv4Header::ref_from_prefix(&error).unwrap();
    assert_eq!((h.src(), h.dst(), h.ttl()), (HOST_IP, C1_IP, 63));
    assert_eq!(quoted(&error), hop_less(quote_of(&sent)));
    // And what the host sent quoted the translated one.
    let on_lan = last(&net, Seg::Lan, IpProtocol::ICMP);
    let lan_quote = quoted(&on_lan);
    let (q, _) = Ipv4Header::ref_from_prefix(&lan_quote).unwrap();
    assert_eq!(q.src(), ROOT_IP, "the host saw our address");
    net.no_leaks();
}

#[test]
fn a_port_unreachable_about_the_roots_own_datagram_stays_with_the_root() {
    let mut net = Net::new();
    let r = net.udp(ROOT, 0);
    net.nodes[ROOT]
        .s
        .connect(r, &SockAddrIn::new(HOST_IP, 9))
        .unwrap();
    net.send(ROOT, r, (HOST_IP, 9), b"anyone there?");
    assert_eq!(
        net.nodes[ROOT].s.recvfrom(r).unwrap_err(),
        Errno::ECONNREFUSED
    );
    assert_eq!(net.counter(ROOT, "nat_icmp_errors_in"), 0);
    assert!(net.packets(Seg::Bridge).is_empty());
}

#[test]
fn a_time_exceeded_and_a_tcp_refusal_reach_the_container() {
    let mut net = Net::new();
    ping(&mut net, ROOT, HOST_IP, 1); // each learns the other's MAC
    host_goes_quiet(&mut net);
    // A datagram that "died" on the way: a router's time exceeded.
    let c = net.udp(C1, 5000);
    net.send(C1, c, (HOST_IP, 7), b"far away");
    let out = last(&net, Seg::Lan, IpProtocol::UDP);
    let te = icmp_error(Icmpv4Type::TIME_EXCEEDED, 0, &quote_of(&out));
    net.inject(HOST, &common::ipv4(HOST_IP, ROOT_IP, IpProtocol::ICMP, &te));
    assert_eq!(net.counter(ROOT, "nat_icmp_errors_in"), 1);
    let error = last(&net, Seg::Bridge, IpProtocol::ICMP);
    assert_eq!(Ipv4Header::ref_from_prefix(&error).unwrap().0.dst(), C1_IP);
    let sent = net.packets(Seg::Bridge)[..]
        .iter()
        .find(|p| Ipv4Header::ref_from_prefix(p).unwrap().0.protocol() == IpProtocol::UDP)
        .unwrap()
        .clone();
    assert_eq!(quoted(&error), hop_less(quote_of(&sent)));
    // A SYN refused by a port unreachable (a firewall's reject): the
    // connect fails at once, not after its retries.
    let node = &mut net.nodes[C1];
    let t = node.s.socket(SocketKind::Tcp).unwrap();
    node.s
        .tcp_connect(&mut node.env, t, &SockAddrIn::new(HOST_IP, 8000))
        .unwrap();
    net.run();
    let syn = last(&net, Seg::Lan, IpProtocol::TCP);
    let pu = icmp_error(Icmpv4Type::DEST_UNREACHABLE, 3, &quote_of(&syn));
    net.inject(HOST, &common::ipv4(HOST_IP, ROOT_IP, IpProtocol::ICMP, &pu));
    assert_eq!(net.counter(ROOT, "nat_icmp_errors_in"), 2);
    assert_eq!(net.nodes[C1].s.tcp_connected(t), Err(Errno::ECONNREFUSED));
    // A parameter problem is translated the same way.
    net.send(C1, c, (HOST_IP, 7), b"odd header");
    let pp = icmp_error(Icmpv4Type::PARAMETER_PROBLEM, 0, &quote_of(&out));
    net.inject(HOST, &common::ipv4(HOST_IP, ROOT_IP, IpProtocol::ICMP, &pp));
    assert_eq!(net.counter(ROOT, "nat_icmp_errors_in"), 3);
}

#[test]
fn an_error_about_a_container_ping_reaches_it() {
    let mut net = Net::new();
    ping(&mut net, ROOT, HOST_IP, 1);
    host_goes_quiet(&mut net);
    ping(&mut net, C1, HOST_IP, 7);
    let out = last(&net, Seg::Lan, IpProtocol::ICMP);
    let unreach = icmp_error(Icmpv4Type::DEST_UNREACHABLE, 1, &quote_of(&out));
    net.inject(
        HOST,
        &common::ipv4(HOST_IP, ROOT_IP, IpProtocol::ICMP, &unreach),
    );
    assert_eq!(net.counter(ROOT, "nat_icmp_errors_in"), 1);
    let sent = net
        .packets(Seg::Bridge)
        .into_iter()
        .rfind(|p| Ipv4Header::ref_from_prefix(p).unwrap().0.src() == C1_IP)
        .unwrap();
    let error = last(&net, Seg::Bridge, IpProtocol::ICMP);
    assert_eq!(
        quoted(&error),
        hop_less(quote_of(&sent)),
        "identifier and checksum back"
    );
}

#[test]
fn errors_the_translator_cannot_match_are_dropped_and_counted() {
    let mut net = Net::new();
    ping(&mut net, ROOT, HOST_IP, 1);
    host_goes_quiet(&mut net);
    let c = net.udp(C1, 5000);
    net.send(C1, c, (HOST_IP, 7), b"a flow");
    let out = last(&net, Seg::Lan, IpProtocol::UDP);
    let before = net.carried.len();
    // About a translator's port no flow holds.
    let stray = common::ipv4(
        ROOT_IP,
        HOST_IP,
        IpProtocol::UDP,
        &common::udp(ROOT_IP, HOST_IP, *NAT_PORTS.end(), 7, b"x"),
    );
    let e = icmp_error(Icmpv4Type::DEST_UNREACHABLE, 3, &quote_of(&stray));
    net.inject(HOST, &common::ipv4(HOST_IP, ROOT_IP, IpProtocol::ICMP, &e));
    assert_eq!(net.counter(ROOT, "drop_nat_icmp_no_mapping"), 1);
    // About the flow, but its quoted header's checksum is wrong.
    let mut bad = quote_of(&out);
    bad[8] ^= 1; // the TTL
    let e = icmp_error(Icmpv4Type::DEST_UNREACHABLE, 3, &bad);
    net.inject(HOST, &common::ipv4(HOST_IP, ROOT_IP, IpProtocol::ICMP, &e));
    assert_eq!(net.counter(ROOT, "drop_nat_icmp_bad_quote"), 1);
    assert_eq!(net.carried.len(), before, "nothing reached the bridge");
    // A container's error about what it never received through us leaves
    // not at all; nor one about a later fragment.
    ping(&mut net, C1, BR_IP, 1);
    let e = icmp_error(Icmpv4Type::DEST_UNREACHABLE, 3, &quote_of(&stray));
    net.inject(C1, &common::ipv4(C1_IP, HOST_IP, IpProtocol::ICMP, &e));
    assert_eq!(net.counter(ROOT, "drop_nat_icmp_no_mapping"), 2);
    let frag = common::ipv4_with(HOST_IP, C1_IP, IpProtocol::UDP, &[0; 8], |h| {
        h.set_fragment_offset(2)
    });
    let e = icmp_error(Icmpv4Type::DEST_UNREACHABLE, 3, &frag);
    net.inject(C1, &common::ipv4(C1_IP, HOST_IP, IpProtocol::ICMP, &e));
    assert_eq!(net.counter(ROOT, "drop_nat_partial"), 1);
    assert_eq!(net.counter(ROOT, "nat_icmp_errors_out"), 0);
    assert_eq!(icmp_types(&net, Seg::Lan, Icmpv4Type::DEST_UNREACHABLE), 0);
}

#[test]
fn a_containers_port_unreachable_leaves_from_the_published_port() {
    let mut net = Net::new();
    net.nodes[ROOT]
        .s
        .nat_publish(NatProto::Udp, 8081, (C1_IP, 80))
        .unwrap();
    // Nobody listens on the container's port 80.
    let h = net.udp(HOST, 0);
    net.nodes[HOST]
        .s
        .connect(h, &SockAddrIn::new(ROOT_IP, 8081))
        .unwrap();
    net.send(HOST, h, (ROOT_IP, 8081), b"published, unserved");
    assert_eq!(net.counter(C1, "icmp_unreach_out"), 1);
    assert_eq!(net.counter(ROOT, "nat_icmp_errors_out"), 1);
    assert_eq!(
        net.nodes[HOST].s.recvfrom(h).unwrap_err(),
        Errno::ECONNREFUSED
    );
    let error = last(&net, Seg::Lan, IpProtocol::ICMP);
    let (outer, _) = Ipv4Header::ref_from_prefix(&error).unwrap();
    assert_eq!(outer.src(), ROOT_IP, "no container address leaves");
    let sent = net
        .packets(Seg::Lan)
        .into_iter()
        .find(|p| Ipv4Header::ref_from_prefix(p).unwrap().0.protocol() == IpProtocol::UDP)
        .unwrap();
    assert_eq!(quoted(&error), hop_less(quote_of(&sent)));
    net.no_leaks();
}

#[test]
fn an_error_about_a_published_containers_reply_reaches_it() {
    let mut net = Net::new();
    net.nodes[ROOT]
        .s
        .nat_publish(NatProto::Udp, 8081, (C1_IP, 80))
        .unwrap();
    let s1 = net.udp(C1, 80);
    let h = net.udp(HOST, 4000);
    net.send(HOST, h, (ROOT_IP, 8081), b"hello");
    let (_, client) = net.recv(C1, s1);
    // The client is gone: the container's reply draws a port unreachable,
    // which quotes the published port and comes back to the container.
    net.nodes[HOST].s.close(h).unwrap();
    net.send(C1, s1, client, b"too late");
    assert_eq!(net.counter(HOST, "icmp_unreach_out"), 1);
    assert_eq!(net.counter(ROOT, "nat_icmp_errors_in"), 1);
    assert_eq!(net.counter(C1, "icmp_unreach_in"), 1);
    let error = last(&net, Seg::Bridge, IpProtocol::ICMP);
    let q = quoted(&error);
    let (inner, _) = Ipv4Header::ref_from_prefix(&q).unwrap();
    assert_eq!((inner.src(), inner.dst()), (C1_IP, HOST_IP));
    net.no_leaks();
}

#[test]
fn no_error_is_sent_about_a_translated_error() {
    let mut net = Net::new();
    ping(&mut net, ROOT, HOST_IP, 1);
    host_goes_quiet(&mut net);
    let c = net.udp(C1, 5000);
    net.send(C1, c, (HOST_IP, 7), b"a flow");
    let out = last(&net, Seg::Lan, IpProtocol::UDP);
    let e = icmp_error(Icmpv4Type::DEST_UNREACHABLE, 3, &quote_of(&out));
    let before = net.carried.len();
    let dying = common::ipv4_with(HOST_IP, ROOT_IP, IpProtocol::ICMP, &e, |h| h.set_ttl(1));
    net.inject(HOST, &dying);
    assert_eq!(net.counter(ROOT, "drop_forward_ttl_exceeded"), 1);
    assert_eq!(net.counter(ROOT, "icmp_time_exceeded_out"), 0);
    assert_eq!(net.carried.len(), before, "no error about the error");
}

/// Every quote of one byte changed (three ways, with and without its
/// header checksum repaired) or cut short, in errors both ways, each with
/// a valid ICMP checksum so it reaches the translator: nothing panics,
/// every frame that moves on is well-formed (the harness checks each) and
/// quotes a header whose checksum holds, and every mbuf comes back.
#[test]
fn garbled_quotes_never_panic_leak_or_leave_malformed() {
    let mut net = Net::new();
    net.nodes[ROOT]
        .s
        .nat_publish(NatProto::Udp, 8081, (C1_IP, 80))
        .unwrap();
    for (n, to) in [(ROOT, HOST_IP), (C1, BR_IP)] {
        let p = ping(&mut net, n, to, 1);
        echo_reply_seq(&mut net, n, p);
    }
    host_goes_quiet(&mut net);
    let c = net.udp(C1, 5000);
    net.send(C1, c, (HOST_IP, 7), b"a flow out");
    let out = quote_of(&last(&net, Seg::Lan, IpProtocol::UDP));
    // A datagram C1 received through the published port, to quote back.
    let s1 = net.udp(C1, 80);
    let u = common::udp(HOST_IP, ROOT_IP, 4000, 8081, b"a flow in");
    net.inject(HOST, &common::ipv4(HOST_IP, ROOT_IP, IpProtocol::UDP, &u));
    net.recv(C1, s1);
    let inbound = quote_of(&last(&net, Seg::Bridge, IpProtocol::UDP));
    let garbled = |q: &[u8]| {
        let mut all = Vec::new();
        for at in 0..q.len() {
            for mask in [0x01, 0x80, 0xff] {
                let mut g = q.to_vec();
                g[at] ^= mask;
                all.push(g.clone());
                let hl = usize::from(g[0] & 0xf) * 4;
                if (Ipv4Header::LEN..=g.len()).contains(&hl) {
                    wire::ipv4::fill_checksum(&mut g[..hl]);
                    all.push(g);
                }
            }
            all.push(q[..at].to_vec());
        }
        all
    };
    let sent_before = net.carried.len();
    for g in garbled(&out) {
        let e = icmp_error(Icmpv4Type::DEST_UNREACHABLE, 3, &g);
        net.inject(HOST, &common::ipv4(HOST_IP, ROOT_IP, IpProtocol::ICMP, &e));
    }
    for g in garbled(&inbound) {
        let e = icmp_error(Icmpv4Type::TIME_EXCEEDED, 0, &g);
        net.inject(C1, &common::ipv4(C1_IP, HOST_IP, IpProtocol::ICMP, &e));
    }
    let moved_on = net.carried[sent_before..]
        .iter()
        .map(|(_, f)| f[wire::ethernet::EthernetHeader::LEN..].to_vec())
        .filter(|p| Ipv4Header::ref_from_prefix(p).unwrap().0.protocol() == IpProtocol::ICMP)
        .collect::<Vec<_>>();
    for p in &moved_on {
        let q = quoted(p);
        let hl = Ipv4Header::ref_from_prefix(&q).unwrap().0.ihl_bytes();
        assert!(wire::ipv4::checksum_ok(&q[..hl]), "quote {q:?}");
    }
    let translated =
        net.counter(ROOT, "nat_icmp_errors_in") + net.counter(ROOT, "nat_icmp_errors_out");
    assert!(translated > 0 && translated as usize == moved_on.len());
    assert!(net.counter(ROOT, "drop_nat_icmp_bad_quote") > 0);
    net.no_leaks();
}

// ---- hairpin: a container reaching a published port by our address ----

#[test]
fn a_container_reaches_a_published_udp_port_by_the_roots_address() {
    let mut net = Net::new();
    net.nodes[ROOT]
        .s
        .nat_publish(NatProto::Udp, 8081, (C1_IP, 80))
        .unwrap();
    let server = net.udp(C1, 80);
    let client = net.udp(C2, 6000);
    net.send(C2, client, (ROOT_IP, 8081), b"hello by the outside address");
    let (data, from) = net.recv(C1, server);
    assert_eq!(data, b"hello by the outside address");
    assert_eq!(
        from.0, ROOT_IP,
        "the server sees our address, as from outside"
    );
    assert!(
        NAT_PORTS.contains(&from.1),
        "a translator's port: {}",
        from.1
    );
    net.send(C1, server, from, b"and back");
    let (data, from) = net.recv(C2, client);
    assert_eq!(
        (data.as_slice(), from),
        (&b"and back"[..], (ROOT_IP, 8081)),
        "the reply comes from the address and port the client used"
    );
    assert_eq!(net.counter(ROOT, "nat_hairpin"), 2);
    assert!(net.packets(Seg::Lan).is_empty(), "nothing left by eth0");
    // A container reaches its own published port the same way.
    let own = net.udp(C1, 6001);
    net.send(C1, own, (ROOT_IP, 8081), b"to myself");
    assert_eq!(net.recv(C1, server).0, b"to myself");
    assert_eq!(net.counter(ROOT, "nat_hairpin"), 3);
    net.no_leaks();
}

#[test]
fn a_container_opens_a_tcp_connection_to_a_published_port_by_the_roots_address() {
    let mut net = Net::new();
    net.nodes[ROOT]
        .s
        .nat_publish(NatProto::Tcp, 8081, (C1_IP, 80))
        .unwrap();
    let c = &mut net.nodes[C1].s;
    let l = c.socket(SocketKind::Tcp).unwrap();
    c.bind(l, &SockAddrIn::new([0; 4], 80)).unwrap();
    c.tcp_listen(l, 4).unwrap();
    let node = &mut net.nodes[C2];
    let t = node.s.socket(SocketKind::Tcp).unwrap();
    node.s
        .tcp_connect(&mut node.env, t, &SockAddrIn::new(ROOT_IP, 8081))
        .unwrap();
    net.run();
    assert!(net.nodes[C2].s.tcp_connected(t).unwrap());
    let (a, from) = net.nodes[C1].s.tcp_accept(l).unwrap();
    assert_eq!(from.addr_be, ROOT_IP);
    tcp_send(&mut net, C1, a, b"c1's page, by 10.0.2.15:8081");
    assert_eq!(tcp_recv(&mut net, C2, t), b"c1's page, by 10.0.2.15:8081");
    assert!(net.counter(ROOT, "nat_hairpin") >= 4);
    assert!(net.packets(Seg::Lan).is_empty());
}

#[test]
fn a_port_unreachable_from_a_published_container_finds_its_way_back_by_the_hairpin() {
    let mut net = Net::new();
    net.nodes[ROOT]
        .s
        .nat_publish(NatProto::Udp, 8081, (C1_IP, 80))
        .unwrap();
    // Nobody listens on C1's port 80.
    let c = net.udp(C2, 6000);
    net.nodes[C2]
        .s
        .connect(c, &SockAddrIn::new(ROOT_IP, 8081))
        .unwrap();
    net.send(C2, c, (ROOT_IP, 8081), b"anyone there?");
    assert_eq!(net.counter(C1, "icmp_unreach_out"), 1);
    assert_eq!(net.counter(ROOT, "nat_hairpin"), 2);
    assert_eq!(
        net.nodes[C2].s.recvfrom(c).unwrap_err(),
        Errno::ECONNREFUSED
    );
    let sent = net
        .packets(Seg::Bridge)
        .into_iter()
        .find(|p| Ipv4Header::ref_from_prefix(p).unwrap().0.src() == C2_IP)
        .unwrap();
    let error = last(&net, Seg::Bridge, IpProtocol::ICMP);
    let (h, _) = Ipv4Header::ref_from_prefix(&error).unwrap();
    assert_eq!((h.src(), h.dst()), (ROOT_IP, C2_IP));
    assert_eq!(quoted(&error), hop_less(quote_of(&sent)));
    net.no_leaks();
}

#[test]
fn only_published_ports_turn_back_onto_the_bridge() {
    let mut net = Net::new();
    net.nodes[ROOT]
        .s
        .nat_publish(NatProto::Udp, 8081, (C1_IP, 80))
        .unwrap();
    // The root's own port by its outside address: received, answered.
    let r = net.udp(ROOT, 7);
    let c = net.udp(C2, 6000);
    net.send(C2, c, (ROOT_IP, 7), b"for the root");
    assert_eq!(net.recv(ROOT, r).0, b"for the root");
    let p = ping(&mut net, C2, ROOT_IP, 3);
    assert_eq!(echo_reply_seq(&mut net, C2, p), 3);
    // The bridge address is not the published one.
    net.send(C2, c, (BR_IP, 8081), b"not here");
    assert_eq!(net.counter(ROOT, "nat_hairpin"), 0);
    // A hairpin datagram whose TTL runs out draws time exceeded, untranslated.
    let u = common::udp(C2_IP, ROOT_IP, 6000, 8081, b"x");
    net.inject(
        C2,
        &ipv4_with(C2_IP, ROOT_IP, IpProtocol::UDP, &u, |h| h.set_ttl(1)),
    );
    assert_eq!(net.counter(ROOT, "nat_hairpin"), 0);
    assert_eq!(net.counter(ROOT, "icmp_time_exceeded_out"), 1);
}
