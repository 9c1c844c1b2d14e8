//! Stacks in namespaces: a root stack with `eth0` on a LAN with a host
//! (10.0.2.0/24, as QEMU's user network) and `br0` on a bridge with
//! containers (10.0.3.0/24), wired frame by frame. Routes and local
//! delivery on both interfaces, forwarding and its ICMP errors, source NAT
//! for UDP, TCP and ICMP echo, published ports, and every forwarding and
//! NAT counter moved. Every frame carried is checked: IPv4, UDP, TCP and
//! ICMP checksums must verify, so a translation that breaks one fails.

mod common;

use abi::net::{Counter, IfConfig, SockAddrIn, MAX_COUNTERS};
use abi::Errno;
use common::{copied_out, icmp_echo, ipv4_with, Env};
use net::nat::{NAT_CONNS, NAT_PORTS, UDP_TIMEOUT_MS};
use net::{Buf, IfId, NatProto, Pool, SocketId, SocketKind, Stack};
use wire::ethernet::{EtherType, EthernetHeader, BROADCAST};
use wire::icmpv4::{Icmpv4DestUnreachable, Icmpv4Header, Icmpv4HeaderRepr, Icmpv4Type};
use wire::ipv4::{IpProtocol, Ipv4Header};
use wire::Emit;
use zerocopy::FromBytes;

const HOST: usize = 0;
const ROOT: usize = 1;
const C1: usize = 2;
const C2: usize = 3;

const HOST_IP: [u8; 4] = [10, 0, 2, 2];
const ROOT_IP: [u8; 4] = [10, 0, 2, 15];
const BR_IP: [u8; 4] = [10, 0, 3, 1];
const C1_IP: [u8; 4] = [10, 0, 3, 2];
const C2_IP: [u8; 4] = [10, 0, 3, 3];
const BR_MAC: [u8; 6] = [0x02, 0, 0, 0, 3, 1];

/// Which wire a node's interface is on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Seg {
    Lan,
    Bridge,
}

struct Node {
    s: Box<Stack>,
    env: Env,
}

struct Net {
    nodes: Vec<Node>,
    /// Every frame carried, on which wire.
    carried: Vec<(Seg, Vec<u8>)>,
}

fn stack(mac: [u8; 6], addr: [u8; 4], gateway: [u8; 4]) -> Node {
    let pool: &'static Pool = Box::leak(Box::new(Pool::<[Buf; 256]>::new()));
    let mut s = Box::new(Stack::new(pool));
    s.set_mac(mac);
    s.set_config(&IfConfig {
        addr,
        netmask: [255, 255, 255, 0],
        gateway,
        ..IfConfig::default()
    })
    .unwrap();
    Node {
        s,
        env: Env::at(10_000),
    }
}

impl Net {
    /// The host, the root (forwarding, `br0` attached) and two containers.
    fn new() -> Net {
        Net::with_root_gateway(HOST_IP)
    }

    fn with_root_gateway(gateway: [u8; 4]) -> Net {
        let mut root = stack([0x52, 0x54, 0, 0x12, 0x34, 0x56], ROOT_IP, gateway);
        root.s.attach_bridge(BR_MAC, BR_IP, [255, 255, 255, 0]);
        root.s.set_forwarding(true);
        Net {
            nodes: vec![
                stack([0x52, 0x55, 10, 0, 2, 2], HOST_IP, [0; 4]),
                root,
                stack([0x02, 0, 0, 0, 3, 2], C1_IP, BR_IP),
                stack([0x02, 0, 0, 0, 3, 3], C2_IP, BR_IP),
            ],
            carried: Vec::new(),
        }
    }

    /// The interfaces on `seg`: (node, interface, MAC).
    fn ports(&self, seg: Seg) -> Vec<(usize, IfId, [u8; 6])> {
        let eth0 = |n: usize| (n, IfId::Eth0, self.nodes[n].s.iface().mac);
        match seg {
            Seg::Lan => vec![eth0(HOST), eth0(ROOT)],
            Seg::Bridge => {
                let br = self.nodes[ROOT].s.iface_of(IfId::Br0).unwrap().mac;
                vec![(ROOT, IfId::Br0, br), eth0(C1), eth0(C2)]
            }
        }
    }

    /// Carries frames until every node is quiet; returns how many.
    fn run(&mut self) -> usize {
        let mut carried = 0;
        loop {
            let mut frames = Vec::new();
            for n in 0..self.nodes.len() {
                let env = &mut self.nodes[n].env;
                let eth0 = if n == HOST || n == ROOT {
                    Seg::Lan
                } else {
                    Seg::Bridge
                };
                // A frame is one mbuf; its bytes are read, not copied out
                // as `recvfrom` would (that would count as received).
                for m in env.sent.drain(..) {
                    frames.push((n, eth0, m.data().to_vec()));
                }
                for m in env.bridged.drain(..) {
                    frames.push((n, Seg::Bridge, m.data().to_vec()));
                }
            }
            if frames.is_empty() {
                return carried;
            }
            for (from, seg, f) in frames {
                carried += 1;
                check_frame(&f);
                let (h, _) = EthernetHeader::ref_from_prefix(&f).unwrap();
                let dst = h.dst();
                for (n, iface, mac) in self.ports(seg) {
                    if n != from && (dst == mac || dst == BROADCAST) {
                        let node = &mut self.nodes[n];
                        let mut m = node.s.pool().alloc().unwrap();
                        m.append(f.len()).unwrap().copy_from_slice(&f);
                        node.s.input_from(&mut node.env, iface, m);
                    }
                }
                self.carried.push((seg, f));
            }
        }
    }

    fn tick(&mut self, ms: u64) {
        for n in self.nodes.iter_mut() {
            n.env.now += ms;
            n.s.tick(&mut n.env);
        }
        self.run();
    }

    fn udp(&mut self, n: usize, port: u16) -> SocketId {
        let s = &mut self.nodes[n].s;
        let id = s.socket(SocketKind::Udp).unwrap();
        s.bind(id, &SockAddrIn::new([0; 4], port)).unwrap();
        id
    }

    fn send(&mut self, n: usize, id: SocketId, to: ([u8; 4], u16), data: &[u8]) {
        let node = &mut self.nodes[n];
        let mut m = node.s.pool().alloc().unwrap();
        m.append(data.len()).unwrap().copy_from_slice(data);
        node.s
            .sendto(&mut node.env, id, m, Some(&SockAddrIn::new(to.0, to.1)))
            .unwrap();
        self.run();
    }

    /// What socket `id` of node `n` received: payload and sender.
    fn recv(&mut self, n: usize, id: SocketId) -> (Vec<u8>, ([u8; 4], u16)) {
        let (m, from) = self.nodes[n].s.recvfrom(id).expect("nothing received");
        (copied_out(&m), (from.addr_be, from.port()))
    }

    /// Injects a raw IPv4 packet from node `n`'s `eth0` towards the root
    /// (whose MAC on that wire it must already know, from earlier traffic).
    fn inject(&mut self, n: usize, packet: &[u8]) {
        let (dst, iface) = if n == HOST {
            (self.nodes[ROOT].s.iface().mac, IfId::Eth0)
        } else {
            (BR_MAC, IfId::Br0)
        };
        let mut f = vec![0; EthernetHeader::LEN];
        let (h, _) = EthernetHeader::mut_from_prefix(&mut f).unwrap();
        h.set_dst(dst);
        h.set_src(self.nodes[n].s.iface().mac);
        h.set_ethertype(EtherType::IPV4);
        f.extend_from_slice(packet);
        let root = &mut self.nodes[ROOT];
        let mut m = root.s.pool().alloc().unwrap();
        m.append(f.len()).unwrap().copy_from_slice(&f);
        root.s.input_from(&mut root.env, iface, m);
        self.run();
    }

    fn counter(&self, n: usize, name: &str) -> u64 {
        let mut out = [Counter::default(); MAX_COUNTERS];
        let k = self.nodes[n].s.export_counters(&mut out);
        out[..k]
            .iter()
            .find(|c| c.name() == name)
            .unwrap_or_else(|| panic!("no counter {name}"))
            .value
    }

    /// The IPv4 packets carried on `seg` (headers and all).
    fn packets(&self, seg: Seg) -> Vec<Vec<u8>> {
        self.carried
            .iter()
            .filter(|(s, f)| {
                *s == seg
                    && EthernetHeader::ref_from_prefix(f).unwrap().0.ethertype() == EtherType::IPV4
            })
            .map(|(_, f)| f[EthernetHeader::LEN..].to_vec())
            .collect()
    }

    fn no_leaks(&mut self) {
        for n in self.nodes.iter_mut() {
            n.env.sent.clear();
            n.env.bridged.clear();
            let p = n.s.pool();
            assert_eq!(p.free(), p.total(), "mbufs leaked");
        }
    }
}

/// Every checksum of an IPv4 frame verifies (what tshark checks).
fn check_frame(f: &[u8]) {
    let (eth, p) = EthernetHeader::ref_from_prefix(f).unwrap();
    if eth.ethertype() != EtherType::IPV4 {
        return;
    }
    let (ip, _) = Ipv4Header::ref_from_prefix(p).unwrap();
    let hl = ip.ihl_bytes();
    assert!(wire::ipv4::checksum_ok(&p[..hl]), "IPv4 checksum");
    if ip.more_fragments() || ip.fragment_offset() != 0 {
        return;
    }
    let l4 = &p[hl..usize::from(ip.total_length())];
    let ok = match ip.protocol() {
        IpProtocol::UDP => wire::udp::checksum_ok(ip.src(), ip.dst(), l4),
        IpProtocol::TCP => wire::tcp::checksum_ok(ip.src(), ip.dst(), l4),
        IpProtocol::ICMP => wire::icmpv4::checksum_ok(l4),
        _ => true,
    };
    assert!(ok, "{:?} checksum of {:?}", ip.protocol(), l4);
}

fn ping(net: &mut Net, n: usize, to: [u8; 4], seq: u16) -> SocketId {
    let node = &mut net.nodes[n];
    let p = node.s.socket(SocketKind::Icmp).unwrap();
    let mut m = node.s.pool().alloc().unwrap();
    let e = icmp_echo(Icmpv4Type::ECHO_REQUEST, 0, seq, b"ping");
    m.append(e.len()).unwrap().copy_from_slice(&e);
    node.s
        .sendto(&mut node.env, p, m, Some(&SockAddrIn::new(to, 0)))
        .unwrap();
    net.run();
    p
}

fn echo_reply_seq(net: &mut Net, n: usize, p: SocketId) -> u16 {
    let (data, _) = net.recv(n, p);
    let (h, rest) = Icmpv4Header::ref_from_prefix(&data).unwrap();
    assert_eq!(h.msg_type(), Icmpv4Type::ECHO_REPLY);
    u16::from_be_bytes([rest[2], rest[3]])
}

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

/// The UDP source port of the last UDP datagram carried on `seg`.
fn from_port(net: &Net, seg: Seg) -> u16 {
    let p = net
        .packets(seg)
        .into_iter()
        .rfind(|p| Ipv4Header::ref_from_prefix(p).unwrap().0.protocol() == IpProtocol::UDP)
        .unwrap();
    u16::from_be_bytes([p[20], p[21]])
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

fn tcp_send(net: &mut Net, n: usize, id: SocketId, data: &[u8]) {
    let node = &mut net.nodes[n];
    node.s
        .tcp_send(&mut node.env, id, data.len(), &mut |chunk, off| {
            chunk.copy_from_slice(&data[off..off + chunk.len()]);
            Ok(())
        })
        .unwrap();
    net.run();
}

fn tcp_recv(net: &mut Net, n: usize, id: SocketId) -> Vec<u8> {
    let node = &mut net.nodes[n];
    let mut out = vec![0; 4096];
    let k = node
        .s
        .tcp_recv(&mut node.env, id, out.len(), &mut |chunk, off| {
            out[off..off + chunk.len()].copy_from_slice(chunk);
            Ok(())
        })
        .unwrap();
    out.truncate(k);
    net.run();
    out
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

fn icmp_types(net: &Net, seg: Seg, t: Icmpv4Type) -> usize {
    net.packets(seg)
        .iter()
        .filter(|p| {
            let (h, rest) = Ipv4Header::ref_from_prefix(p).unwrap();
            h.protocol() == IpProtocol::ICMP
                && Icmpv4Header::ref_from_prefix(rest).unwrap().0.msg_type() == t
        })
        .count()
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

/// Every forwarding and NAT counter is moved by a test in this file.
#[test]
fn every_forwarding_and_nat_counter_has_a_test_that_moves_it() {
    let here = include_str!("netns.rs");
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
