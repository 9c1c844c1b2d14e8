//! The network the namespace tests run on: a host on a LAN with the root
//! stack's `eth0` (10.0.2.0/24, as QEMU's user network), two containers on
//! the bridge with the root's `br0` (10.0.3.0/24), wired frame by frame.
//! Every frame carried is checked: IPv4, UDP, TCP and ICMP checksums must
//! verify, so a translation that breaks one fails.
#![allow(dead_code)]

use abi::net::{Counter, IfConfig, SockAddrIn, MAX_COUNTERS};
use net::{Buf, IfId, Pool, SocketId, SocketKind, Stack};
use wire::ethernet::{EtherType, EthernetHeader, BROADCAST};
use wire::icmpv4::{Icmpv4Header, Icmpv4Type};
use wire::ipv4::{IpProtocol, Ipv4Header};
use zerocopy::FromBytes;

use crate::common::{copied_out, icmp_echo, Env};

pub const HOST: usize = 0;
pub const ROOT: usize = 1;
pub const C1: usize = 2;
pub const C2: usize = 3;

pub const HOST_IP: [u8; 4] = [10, 0, 2, 2];
pub const ROOT_IP: [u8; 4] = [10, 0, 2, 15];
pub const BR_IP: [u8; 4] = [10, 0, 3, 1];
pub const C1_IP: [u8; 4] = [10, 0, 3, 2];
pub const C2_IP: [u8; 4] = [10, 0, 3, 3];
pub const BR_MAC: [u8; 6] = [0x02, 0, 0, 0, 3, 1];

/// Which wire a node's interface is on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Seg {
    Lan,
    Bridge,
}

pub struct Node {
    pub s: Box<Stack>,
    pub env: Env,
}

pub struct Net {
    pub nodes: Vec<Node>,
    /// Every frame carried, on which wire.
    pub carried: Vec<(Seg, Vec<u8>)>,
}

pub fn stack(mac: [u8; 6], addr: [u8; 4], gateway: [u8; 4]) -> Node {
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
    pub fn new() -> Net {
        Net::with_root_gateway(HOST_IP)
    }

    pub fn with_root_gateway(gateway: [u8; 4]) -> Net {
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
    pub fn ports(&self, seg: Seg) -> Vec<(usize, IfId, [u8; 6])> {
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
    pub fn run(&mut self) -> usize {
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

    pub fn tick(&mut self, ms: u64) {
        for n in self.nodes.iter_mut() {
            n.env.now += ms;
            n.s.tick(&mut n.env);
        }
        self.run();
    }

    pub fn udp(&mut self, n: usize, port: u16) -> SocketId {
        let s = &mut self.nodes[n].s;
        let id = s.socket(SocketKind::Udp).unwrap();
        s.bind(id, &SockAddrIn::new([0; 4], port)).unwrap();
        id
    }

    pub fn send(&mut self, n: usize, id: SocketId, to: ([u8; 4], u16), data: &[u8]) {
        let node = &mut self.nodes[n];
        let mut m = node.s.pool().alloc().unwrap();
        m.append(data.len()).unwrap().copy_from_slice(data);
        node.s
            .sendto(&mut node.env, id, m, Some(&SockAddrIn::new(to.0, to.1)))
            .unwrap();
        self.run();
    }

    /// What socket `id` of node `n` received: payload and sender.
    pub fn recv(&mut self, n: usize, id: SocketId) -> (Vec<u8>, ([u8; 4], u16)) {
        let (m, from) = self.nodes[n].s.recvfrom(id).expect("nothing received");
        (copied_out(&m), (from.addr_be, from.port()))
    }

    /// Injects a raw IPv4 packet from node `n`'s `eth0` towards the root
    /// (whose MAC on that wire it must already know, from earlier traffic).
    pub fn inject(&mut self, n: usize, packet: &[u8]) {
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

    pub fn counter(&self, n: usize, name: &str) -> u64 {
        let mut out = [Counter::default(); MAX_COUNTERS];
        let k = self.nodes[n].s.export_counters(&mut out);
        out[..k]
            .iter()
            .find(|c| c.name() == name)
            .unwrap_or_else(|| panic!("no counter {name}"))
            .value
    }

    /// The IPv4 packets carried on `seg` (headers and all).
    pub fn packets(&self, seg: Seg) -> Vec<Vec<u8>> {
        self.carried
            .iter()
            .filter(|(s, f)| {
                *s == seg
                    && EthernetHeader::ref_from_prefix(f).unwrap().0.ethertype() == EtherType::IPV4
            })
            .map(|(_, f)| f[EthernetHeader::LEN..].to_vec())
            .collect()
    }

    pub fn no_leaks(&mut self) {
        for (i, n) in self.nodes.iter_mut().enumerate() {
            n.env.sent.clear();
            n.env.bridged.clear();
            let p = n.s.pool();
            assert_eq!(p.free(), p.total(), "mbufs leaked in node {i}");
        }
    }
}

/// Every checksum of an IPv4 frame verifies (what tshark checks).
pub fn check_frame(f: &[u8]) {
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

pub fn ping(net: &mut Net, n: usize, to: [u8; 4], seq: u16) -> SocketId {
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

pub fn echo_reply_seq(net: &mut Net, n: usize, p: SocketId) -> u16 {
    let (data, _) = net.recv(n, p);
    let (h, rest) = Icmpv4Header::ref_from_prefix(&data).unwrap();
    assert_eq!(h.msg_type(), Icmpv4Type::ECHO_REPLY);
    u16::from_be_bytes([rest[2], rest[3]])
}

/// The UDP source port of the last UDP datagram carried on `seg`.
pub fn from_port(net: &Net, seg: Seg) -> u16 {
    let p = net
        .packets(seg)
        .into_iter()
        .rfind(|p| Ipv4Header::ref_from_prefix(p).unwrap().0.protocol() == IpProtocol::UDP)
        .unwrap();
    u16::from_be_bytes([p[20], p[21]])
}

pub fn tcp_send(net: &mut Net, n: usize, id: SocketId, data: &[u8]) {
    let node = &mut net.nodes[n];
    node.s
        .tcp_send(&mut node.env, id, data.len(), &mut |chunk, off| {
            chunk.copy_from_slice(&data[off..off + chunk.len()]);
            Ok(())
        })
        .unwrap();
    net.run();
}

pub fn tcp_recv(net: &mut Net, n: usize, id: SocketId) -> Vec<u8> {
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

pub fn icmp_types(net: &Net, seg: Seg, t: Icmpv4Type) -> usize {
    net.packets(seg)
        .iter()
        .filter(|p| {
            let (h, rest) = Ipv4Header::ref_from_prefix(p).unwrap();
            h.protocol() == IpProtocol::ICMP
                && Icmpv4Header::ref_from_prefix(rest).unwrap().0.msg_type() == t
        })
        .count()
}
