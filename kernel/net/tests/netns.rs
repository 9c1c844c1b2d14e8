//! Stacks in namespaces (the network of `netns_lab`): routes and local
//! delivery on both interfaces, forwarding and its ICMP errors, source NAT
//! for UDP, TCP and ICMP echo, published ports, and every forwarding and
//! NAT counter moved (here or in `nat_icmp.rs`).

mod common;
mod netns_lab;

use abi::net::SockAddrIn;
use abi::Errno;
use common::ipv4_with;
use net::nat::{NAT_CONNS, NAT_PORTS, UDP_TIMEOUT_MS};
use net::{NatProto, SocketKind};
use wire::icmpv4::Icmpv4Type;
use wire::ipv4::{IpProtocol, Ipv4Header};
use zerocopy::FromBytes;

use netns_lab::*;

// ---- interfaces and routes ----

#[test]
fn a_container_pings_both_addresses_of_the_root() {
    let mut net = Net::new();
    net.nodes[ROOT].s.set_forwarding(false);
    for (seq, to) in [(1, BR_IP), (2, ROOT_IP)] {
        let p = ping(&mut net, C1, to, seq);
        assert_eq!(echo_reply_seq(&mut net, C1, p), seq);
    }
    // Nothing crossed to the LAN: the root answered from either address.
    assert!(net.packets(Seg::Lan).is_empty());
    assert_eq!(net.counter(ROOT, "ipv4_forwarded"), 0);
    net.no_leaks();
}

#[test]
fn the_root_reaches_a_container_from_its_bridge_address() {
    let mut net = Net::new();
    let root = net.udp(ROOT, 0);
    let c = net.udp(C1, 9);
    net.send(ROOT, root, (C1_IP, 9), b"to c1");
    let (data, from) = net.recv(C1, c);
    assert_eq!(data, b"to c1");
    assert_eq!(from.0, BR_IP);
    // ARP for the container went out on the bridge only.
    let on_lan = net.carried.iter().filter(|(s, _)| *s == Seg::Lan).count();
    assert_eq!(on_lan, 0);
    // And the LAN still from eth0's address.
    let h = net.udp(HOST, 7);
    net.send(ROOT, root, (HOST_IP, 7), b"to host");
    assert_eq!(net.recv(HOST, h).1 .0, ROOT_IP);
    // A socket may bind either address of the stack, not another.
    let s = &mut net.nodes[ROOT].s;
    let b = s.socket(SocketKind::Udp).unwrap();
    s.bind(b, &SockAddrIn::new(BR_IP, 99)).unwrap();
    let other = s.socket(SocketKind::Udp).unwrap();
    let e = s.bind(other, &SockAddrIn::new(C1_IP, 99)).unwrap_err();
    assert_eq!(e, Errno::EADDRNOTAVAIL);
}

#[test]
fn without_forwarding_a_container_reaches_only_the_root() {
    let mut net = Net::new();
    net.nodes[ROOT].s.set_forwarding(false);
    let c = net.udp(C1, 5000);
    net.send(C1, c, (HOST_IP, 7), b"out?");
    assert!(net.packets(Seg::Lan).is_empty());
    assert_eq!(net.counter(ROOT, "drop_ipv4_not_for_us"), 1);
}

// ---- source NAT ----

#[test]
fn a_container_reaches_the_host_through_source_nat_and_hears_back() {
    let mut net = Net::new();
    let h = net.udp(HOST, 7);
    let c = net.udp(C1, 5000);
    net.send(C1, c, (HOST_IP, 7), b"hello through nat");
    let (data, from) = net.recv(HOST, h);
    assert_eq!(data, b"hello through nat");
    assert_eq!(from.0, ROOT_IP, "the host sees the root's address");
    assert!(
        NAT_PORTS.contains(&from.1),
        "a translator's port: {}",
        from.1
    );
    // The host answers the port it saw; the container hears its own.
    net.send(HOST, h, from, b"hello back");
    let (data, from) = net.recv(C1, c);
    assert_eq!((data.as_slice(), from), (&b"hello back"[..], (HOST_IP, 7)));
    // The TTL went down by one each way.
    let lan = net.packets(Seg::Lan);
    let out = lan.iter().find(|p| p.len() > 40).unwrap();
    assert_eq!(Ipv4Header::ref_from_prefix(out).unwrap().0.ttl(), 63);
    // A second datagram reuses the flow.
    net.send(C1, c, (HOST_IP, 7), b"again");
    assert_eq!(net.recv(HOST, h).1 .1, from_port(&net, Seg::Lan));
    assert_eq!(net.counter(ROOT, "nat_out"), 2);
    assert_eq!(net.counter(ROOT, "nat_in"), 1);
    assert_eq!(net.counter(ROOT, "ipv4_forwarded"), 3);
    net.no_leaks();
}

#[test]
fn two_containers_pinging_the_host_get_their_own_replies() {
    let mut net = Net::new();
    let p1 = ping(&mut net, C1, HOST_IP, 11);
    let p2 = ping(&mut net, C2, HOST_IP, 22);
    assert_eq!(echo_reply_seq(&mut net, C1, p1), 11);
    assert_eq!(echo_reply_seq(&mut net, C2, p2), 22);
    assert_eq!(net.counter(ROOT, "nat_out"), 2);
    assert_eq!(net.counter(ROOT, "nat_in"), 2);
    net.no_leaks();
}

#[test]
fn a_container_opens_a_tcp_connection_to_the_host_through_nat() {
    let mut net = Net::new();
    let host = &mut net.nodes[HOST].s;
    let l = host.socket(SocketKind::Tcp).unwrap();
    host.bind(l, &SockAddrIn::new([0; 4], 8000)).unwrap();
    host.tcp_listen(l, 4).unwrap();
    let node = &mut net.nodes[C1];
    let c = node.s.socket(SocketKind::Tcp).unwrap();
    node.s
        .tcp_connect(&mut node.env, c, &SockAddrIn::new(HOST_IP, 8000))
        .unwrap();
    net.run();
    assert!(net.nodes[C1].s.tcp_connected(c).unwrap());
    let (a, from) = net.nodes[HOST].s.tcp_accept(l).unwrap();
    assert_eq!(from.addr_be, ROOT_IP);
    tcp_send(&mut net, HOST, a, b"served through nat");
    assert_eq!(tcp_recv(&mut net, C1, c), b"served through nat");
    tcp_send(&mut net, C1, c, b"thanks");
    assert_eq!(tcp_recv(&mut net, HOST, a), b"thanks");
}

// ---- published ports ----

#[test]
fn published_ports_reach_each_container_from_outside() {
    let mut net = Net::new();
    let root = &mut net.nodes[ROOT].s;
    root.nat_publish(NatProto::Udp, 8081, (C1_IP, 80)).unwrap();
    root.nat_publish(NatProto::Udp, 8082, (C2_IP, 80)).unwrap();
    let e = root.nat_publish(NatProto::Udp, 8081, (C2_IP, 81));
    assert_eq!(e, Err(Errno::EADDRINUSE), "a port is published once");
    // The same number for TCP is another port.
    root.nat_publish(NatProto::Tcp, 8081, (C1_IP, 80)).unwrap();
    for bad in [(0, (C1_IP, 80)), (8083, (C1_IP, 0)), (8083, (HOST_IP, 80))] {
        let e = root.nat_publish(NatProto::Udp, bad.0, bad.1);
        assert_eq!(e, Err(Errno::EINVAL), "{bad:?}");
    }
    let s1 = net.udp(C1, 80);
    let s2 = net.udp(C2, 80);
    let h = net.udp(HOST, 0);
    net.send(HOST, h, (ROOT_IP, 8081), b"for c1");
    net.send(HOST, h, (ROOT_IP, 8082), b"for c2");
    let (d1, f1) = net.recv(C1, s1);
    let (d2, _) = net.recv(C2, s2);
    assert_eq!(
        (d1.as_slice(), d2.as_slice()),
        (&b"for c1"[..], &b"for c2"[..])
    );
    assert_eq!(f1.0, HOST_IP, "the container sees the real sender");
    // The reply leaves from the published port.
    net.send(C1, s1, f1, b"from c1");
    assert_eq!(net.recv(HOST, h), (b"from c1".to_vec(), (ROOT_IP, 8081)));
    net.no_leaks();
}

#[test]
fn a_published_tcp_port_serves_the_host() {
    let mut net = Net::new();
    let root = &mut net.nodes[ROOT].s;
    root.nat_publish(NatProto::Tcp, 8081, (C1_IP, 80)).unwrap();
    let c = &mut net.nodes[C1].s;
    let l = c.socket(SocketKind::Tcp).unwrap();
    c.bind(l, &SockAddrIn::new([0; 4], 80)).unwrap();
    c.tcp_listen(l, 4).unwrap();
    let node = &mut net.nodes[HOST];
    let h = node.s.socket(SocketKind::Tcp).unwrap();
    node.s
        .tcp_connect(&mut node.env, h, &SockAddrIn::new(ROOT_IP, 8081))
        .unwrap();
    net.run();
    assert!(net.nodes[HOST].s.tcp_connected(h).unwrap());
    let (a, from) = net.nodes[C1].s.tcp_accept(l).unwrap();
    assert_eq!(from.addr_be, HOST_IP);
    tcp_send(&mut net, C1, a, b"c1's page");
    assert_eq!(tcp_recv(&mut net, HOST, h), b"c1's page");
}

#[test]
fn a_forgotten_container_loses_its_ports() {
    let mut net = Net::new();
    let root = &mut net.nodes[ROOT].s;
    root.nat_publish(NatProto::Udp, 8081, (C1_IP, 80)).unwrap();
    root.nat_forget(C1_IP);
    root.nat_publish(NatProto::Udp, 8081, (C2_IP, 80)).unwrap();
}

// ---- forwarding's errors ----

#[test]
fn a_datagram_whose_ttl_runs_out_draws_time_exceeded() {
    let mut net = Net::new();
    ping(&mut net, C1, BR_IP, 1); // the root learns C1's MAC
    let u = common::udp(C1_IP, HOST_IP, 5000, 7, b"x");
    net.inject(
        C1,
        &ipv4_with(C1_IP, HOST_IP, IpProtocol::UDP, &u, |h| h.set_ttl(1)),
    );
    assert_eq!(net.counter(ROOT, "drop_forward_ttl_exceeded"), 1);
    assert_eq!(net.counter(ROOT, "icmp_time_exceeded_out"), 1);
    assert!(net.packets(Seg::Lan).is_empty());
    let errors = icmp_types(&net, Seg::Bridge, Icmpv4Type::TIME_EXCEEDED);
    assert_eq!(errors, 1);
}

#[test]
fn no_route_draws_net_unreachable() {
    let mut net = Net::with_root_gateway([0; 4]);
    let c = net.udp(C1, 5000);
    net.send(C1, c, ([192, 0, 2, 1], 7), b"nowhere");
    assert_eq!(net.counter(ROOT, "drop_forward_no_route"), 1);
    assert_eq!(
        icmp_types(&net, Seg::Bridge, Icmpv4Type::DEST_UNREACHABLE),
        1
    );
    assert_eq!(net.counter(C1, "icmp_unreach_in"), 1);
}

#[test]
fn nothing_is_forwarded_back_out_the_way_it_came() {
    let mut net = Net::new();
    let h = net.udp(HOST, 7);
    let c = net.udp(C1, 5000);
    net.send(C1, c, (HOST_IP, 7), b"learn the macs");
    net.recv(HOST, h);
    let before = net.carried.len();
    let u = common::udp(HOST_IP, [10, 0, 2, 99], 7, 7, b"via the root?");
    net.inject(
        HOST,
        &common::ipv4(HOST_IP, [10, 0, 2, 99], IpProtocol::UDP, &u),
    );
    assert_eq!(net.counter(ROOT, "drop_ipv4_not_for_us"), 1);
    assert_eq!(net.carried.len(), before, "nothing sent");
}

#[test]
fn from_eth0_with_no_route_is_not_for_us() {
    let mut net = Net::with_root_gateway([0; 4]);
    ping(&mut net, HOST, ROOT_IP, 1); // the host learns the root's MAC
    let before = net.carried.len();
    let far = [192, 0, 2, 1];
    let u = common::udp(HOST_IP, far, 7, 7, b"route me?");
    net.inject(HOST, &common::ipv4(HOST_IP, far, IpProtocol::UDP, &u));
    assert_eq!(net.counter(ROOT, "drop_ipv4_not_for_us"), 1);
    assert_eq!(net.counter(ROOT, "drop_forward_no_route"), 0);
    assert_eq!(net.carried.len(), before, "no ICMP error either");
}

#[test]
fn a_directed_broadcast_is_not_forwarded() {
    let mut net = Net::new();
    ping(&mut net, C1, BR_IP, 1);
    let u = common::udp(C1_IP, [10, 0, 2, 255], 5000, 7, b"all");
    net.inject(
        C1,
        &common::ipv4(C1_IP, [10, 0, 2, 255], IpProtocol::UDP, &u),
    );
    assert_eq!(net.counter(ROOT, "drop_forward_broadcast"), 1);
    assert!(net.packets(Seg::Lan).is_empty());
}

#[test]
fn a_next_hop_that_never_answers_draws_host_unreachable() {
    let mut net = Net::new();
    let c = net.udp(C1, 5000);
    net.send(C1, c, ([10, 0, 2, 99], 7), b"anyone?");
    for _ in 0..4 {
        net.tick(net::arp::ARP_RETRY_MS);
    }
    assert_eq!(net.counter(ROOT, "drop_arp_timeout"), 1);
    assert_eq!(
        icmp_types(&net, Seg::Bridge, Icmpv4Type::DEST_UNREACHABLE),
        1
    );
    assert_eq!(net.counter(C1, "icmp_unreach_in"), 1);
    net.no_leaks();
}

// ---- the translator's limits ----

#[test]
fn a_full_table_refuses_new_flows_and_expired_ones_are_gone() {
    let mut net = Net::new();
    let h = net.udp(HOST, 7);
    let c = net.udp(C1, 0);
    for port in 0..NAT_CONNS as u16 {
        net.send(C1, c, (HOST_IP, 1000 + port), b"x");
    }
    let _ = h;
    assert_eq!(net.counter(ROOT, "nat_out"), NAT_CONNS as u64);
    net.send(C1, c, (HOST_IP, 7), b"one too many");
    assert_eq!(net.counter(ROOT, "drop_nat_table_full"), 1);
    let public = from_port(&net, Seg::Lan);
    net.tick(UDP_TIMEOUT_MS);
    assert_eq!(net.counter(ROOT, "nat_expired"), NAT_CONNS as u64);
    // A late reply to an expired flow's port is the translator's: dropped.
    net.send(HOST, h, (ROOT_IP, public), b"too late");
    assert_eq!(net.counter(ROOT, "drop_nat_no_mapping"), 1);
    // And a new flow fits again.
    net.send(C1, c, (HOST_IP, 7), b"room now");
    let (data, _) = net.recv(HOST, h);
    assert_eq!(data, b"room now");
}

#[test]
fn what_the_translator_cannot_rewrite_is_counted() {
    let mut net = Net::new();
    ping(&mut net, C1, BR_IP, 1);
    let unknown = IpProtocol(wire::ipv4::IpProtocol::UDP.0 + 100);
    net.inject(C1, &common::ipv4(C1_IP, HOST_IP, unknown, b"what is this"));
    assert_eq!(net.counter(ROOT, "drop_nat_unsupported"), 1);
    // A corrupted datagram is dropped, not given a fresh checksum.
    let mut u = common::udp(C1_IP, HOST_IP, 5000, 7, b"bit flip");
    let last = u.len() - 1;
    u[last] ^= 1;
    net.inject(C1, &common::ipv4(C1_IP, HOST_IP, IpProtocol::UDP, &u));
    assert_eq!(net.counter(ROOT, "drop_udp_bad_checksum"), 1);
    let c = net.udp(C1, 5000);
    let big = [7u8; 3000];
    let node = &mut net.nodes[C1];
    let (mut m, mut done) = (None::<net::Mbuf>, 0);
    for k in 0.. {
        let n = (big.len() - done).min(net::udp::piece_len(k));
        let mut piece = node.s.pool().alloc().unwrap();
        piece
            .append(n)
            .unwrap()
            .copy_from_slice(&big[done..done + n]);
        match m.as_mut() {
            None => m = Some(piece),
            Some(h) => h.chain(piece),
        }
        done += n;
        if done == big.len() {
            break;
        }
    }
    let to = SockAddrIn::new(HOST_IP, 7);
    node.s
        .sendto(&mut node.env, c, m.unwrap(), Some(&to))
        .unwrap();
    net.run();
    assert!(net.counter(ROOT, "drop_nat_partial") >= 2);
    assert!(net.packets(Seg::Lan).is_empty());
}

/// Every forwarding and NAT counter is moved by a test in this file or
/// in `nat_icmp.rs`.
#[test]
fn every_forwarding_and_nat_counter_has_a_test_that_moves_it() {
    let here = [include_str!("netns.rs"), include_str!("nat_icmp.rs")].concat();
    let names = net::Stat::ALL
        .iter()
        .map(|s| s.name())
        .chain(net::DropReason::ALL.iter().map(|r| r.name()))
        .filter(|n| n.contains("forward") || n.contains("nat_"));
    let missing: Vec<_> = names
        .filter(|n| !here.contains(&format!("\"{n}\"")))
        .collect();
    assert!(missing.is_empty(), "no test moves {missing:?}");
}
