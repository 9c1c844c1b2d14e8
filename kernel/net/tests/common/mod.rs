//! Shared helpers for the host tests: a recording `NetEnv`, a fresh stack
//! with its own mbuf pool, and frame builders/parsers written with the
//! generated `wire` structs.
#![allow(dead_code)]

use abi::net::{Counter, SockAddrIn, MAX_COUNTERS};
use net::{Buf, IfId, Mbuf, NetEnv, Pool, SocketId, SocketKind, Stack};
use wire::arp::{ArpOperation, ArpPacket};
use wire::ethernet::{EtherType, EthernetHeader};
use wire::icmpv4::{Icmpv4Echo, Icmpv4Header, Icmpv4Type};
use wire::ipv4::{IpProtocol, Ipv4Header};
use wire::udp::UdpHeader;
use zerocopy::FromBytes;

pub const OUR_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
pub const OUR_IP: [u8; 4] = [10, 0, 2, 15];
pub const GW_MAC: [u8; 6] = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
pub const GW_IP: [u8; 4] = [10, 0, 2, 2];
pub const PEER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x07];
pub const PEER_IP: [u8; 4] = [10, 0, 2, 7];

pub mod tcp;

#[path = "../../src/testenv.rs"]
mod testenv;
pub use testenv::TestEnv as Env;

pub struct T {
    pub s: Box<Stack>,
    pub env: Env,
}

impl T {
    /// A stack at 10.0.2.15 with MAC OUR_MAC and a pool of 256 mbufs.
    pub fn new() -> T {
        T::with_pool(Box::leak(Box::new(Pool::<[Buf; 256]>::new())))
    }

    pub fn with_pool(pool: &'static Pool) -> T {
        let mut s = Box::new(Stack::new(pool));
        s.set_mac(OUR_MAC);
        let static_config = abi::net::IfConfig {
            addr: OUR_IP,
            netmask: [255, 255, 255, 0],
            gateway: GW_IP,
            ..Default::default()
        };
        s.set_config(&static_config).unwrap();
        T {
            s,
            env: Env::at(10_000),
        }
    }

    pub fn pool(&self) -> &'static Pool {
        self.s.pool()
    }

    /// Copies `bytes` into a fresh mbuf (as the device would write it).
    pub fn mbuf(&self, bytes: &[u8]) -> Mbuf {
        let mut m = self.pool().alloc().expect("pool empty");
        m.append(bytes.len()).unwrap().copy_from_slice(bytes);
        m
    }

    /// `payload` in a chain of mbufs cut where its IPv4 fragments will
    /// be, as the kernel's `sendto` copies a UDP datagram in.
    pub fn datagram(&self, payload: &[u8]) -> Mbuf {
        let mut head: Option<Mbuf> = None;
        let (mut done, mut k) = (0, 0);
        loop {
            let n = (payload.len() - done).min(net::udp::piece_len(k));
            let m = self.mbuf(&payload[done..done + n]);
            match head.as_mut() {
                None => head = Some(m),
                Some(h) => h.chain(m),
            }
            (done, k) = (done + n, k + 1);
            if done == payload.len() {
                return head.unwrap();
            }
        }
    }

    pub fn input(&mut self, frame: &[u8]) {
        let m = self.mbuf(frame);
        self.s.input(&mut self.env, m);
    }

    pub fn tick(&mut self, advance_ms: u64) {
        self.env.now += advance_ms;
        self.s.tick(&mut self.env);
    }

    /// Takes the frames sent so far.
    pub fn sent(&mut self) -> Vec<Mbuf> {
        std::mem::take(&mut self.env.sent)
    }

    pub fn counter(&self, name: &str) -> u64 {
        let mut out = [Counter::default(); MAX_COUNTERS];
        let n = self.s.export_counters(&mut out);
        out[..n]
            .iter()
            .find(|c| c.name() == name)
            .unwrap_or_else(|| panic!("no counter {name}"))
            .value
    }

    /// All non-zero drop counters, for asserting exactly what moved.
    pub fn drops(&self) -> Vec<(String, u64)> {
        let mut out = [Counter::default(); MAX_COUNTERS];
        let n = self.s.export_counters(&mut out);
        out[..n]
            .iter()
            .filter(|c| c.name().starts_with("drop_") && c.value != 0)
            .map(|c| (c.name().to_string(), c.value))
            .collect()
    }

    /// The gateway's MAC in the cache (via its request for our address).
    pub fn learn_gateway(&mut self) {
        self.input(&eth(
            OUR_MAC,
            GW_MAC,
            EtherType::ARP,
            &arp(ArpOperation::REQUEST, GW_MAC, GW_IP, [0; 6], OUR_IP),
        ));
        self.sent();
    }

    pub fn learn_peer(&mut self) {
        self.input(&eth(
            OUR_MAC,
            PEER_MAC,
            EtherType::ARP,
            &arp(ArpOperation::REQUEST, PEER_MAC, PEER_IP, [0; 6], OUR_IP),
        ));
        self.sent();
    }

    pub fn udp_socket(&mut self, port: u16) -> SocketId {
        let id = self.s.socket(SocketKind::Udp).unwrap();
        self.s.bind(id, &SockAddrIn::new([0; 4], port)).unwrap();
        id
    }

    pub fn send_udp(
        &mut self,
        id: SocketId,
        to: ([u8; 4], u16),
        payload: &[u8],
    ) -> Result<usize, abi::Errno> {
        let m = self.mbuf(payload);
        self.s
            .sendto(&mut self.env, id, m, Some(&SockAddrIn::new(to.0, to.1)))
    }
}

// ---- builders ----

pub fn eth(dst: [u8; 6], src: [u8; 6], t: EtherType, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0; EthernetHeader::LEN];
    let (h, _) = EthernetHeader::mut_from_prefix(&mut v).unwrap();
    h.set_dst(dst);
    h.set_src(src);
    h.set_ethertype(t);
    v.extend_from_slice(payload);
    v
}

pub fn arp(oper: ArpOperation, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> Vec<u8> {
    let mut v = vec![0; ArpPacket::LEN];
    let (p, _) = ArpPacket::mut_from_prefix(&mut v).unwrap();
    p.set_fixed_values();
    p.set_oper(oper);
    p.set_sha(sha);
    p.set_spa(spa);
    p.set_tha(tha);
    p.set_tpa(tpa);
    v
}

/// An IPv4 packet; `tweak` may change the header before the checksum.
pub fn ipv4_with(
    src: [u8; 4],
    dst: [u8; 4],
    proto: IpProtocol,
    payload: &[u8],
    tweak: impl FnOnce(&mut Ipv4Header),
) -> Vec<u8> {
    let mut v = vec![0; Ipv4Header::LEN];
    let (h, _) = Ipv4Header::mut_from_prefix(&mut v).unwrap();
    h.set_version(Ipv4Header::VERSION);
    h.set_ihl((Ipv4Header::LEN / 4) as u8);
    h.set_total_length((Ipv4Header::LEN + payload.len()) as u16);
    h.set_identification(0x1234);
    h.set_ttl(64);
    h.set_protocol(proto);
    h.set_src(src);
    h.set_dst(dst);
    tweak(h);
    wire::ipv4::fill_checksum(&mut v);
    v.extend_from_slice(payload);
    v
}

/// `packet` with `options` (a multiple of 4 bytes) after its fixed header:
/// IHL, total length and checksum follow.
pub fn with_options(packet: &[u8], options: &[u8]) -> Vec<u8> {
    let mut v = packet.to_vec();
    v.splice(Ipv4Header::LEN..Ipv4Header::LEN, options.iter().copied());
    let (h, _) = Ipv4Header::mut_from_prefix(&mut v).unwrap();
    h.set_ihl(h.ihl() + (options.len() / 4) as u8);
    h.set_total_length(h.total_length() + options.len() as u16);
    let header_len = h.ihl_bytes();
    wire::ipv4::fill_checksum(&mut v[..header_len]);
    v
}

pub fn ipv4(src: [u8; 4], dst: [u8; 4], proto: IpProtocol, payload: &[u8]) -> Vec<u8> {
    ipv4_with(src, dst, proto, payload, |_| {})
}

pub fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0; UdpHeader::LEN];
    let (h, _) = UdpHeader::mut_from_prefix(&mut v).unwrap();
    h.set_src_port(sport);
    h.set_dst_port(dport);
    h.set_length((UdpHeader::LEN + payload.len()) as u16);
    v.extend_from_slice(payload);
    wire::udp::fill_checksum(src, dst, &mut v);
    v
}

pub fn icmp_echo(t: Icmpv4Type, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0; Icmpv4Header::LEN + Icmpv4Echo::LEN];
    let (h, rest) = Icmpv4Header::mut_from_prefix(&mut v).unwrap();
    h.set_msg_type(t);
    let (e, _) = Icmpv4Echo::mut_from_prefix(rest).unwrap();
    e.set_identifier(id);
    e.set_sequence(seq);
    v.extend_from_slice(data);
    wire::icmpv4::fill_checksum(&mut v);
    v
}

/// A full frame from the gateway carrying UDP to us.
pub fn udp_frame(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let u = udp(GW_IP, OUR_IP, sport, dport, payload);
    eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, OUR_IP, IpProtocol::UDP, &u),
    )
}

/// Pads a frame to the Ethernet minimum of 60 bytes, as QEMU does.
pub fn pad60(mut f: Vec<u8>) -> Vec<u8> {
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

// ---- parsers ----

pub struct Parsed<'a> {
    pub eth: EthernetHeader,
    pub payload: &'a [u8],
}

pub fn parse_eth(f: &[u8]) -> Parsed<'_> {
    let (h, rest) = EthernetHeader::ref_from_prefix(f).unwrap();
    Parsed {
        eth: *h,
        payload: rest,
    }
}

/// Parses an IPv4 packet, checking its header checksum and length.
pub fn parse_ipv4(p: &[u8]) -> (Ipv4Header, &[u8]) {
    let (h, _) = Ipv4Header::ref_from_prefix(p).unwrap();
    assert!(
        wire::ipv4::checksum_ok(&p[..h.ihl_bytes()]),
        "bad IPv4 checksum"
    );
    assert_eq!(h.total_length() as usize, p.len());
    (*h, &p[h.ihl_bytes()..])
}

pub fn parse_arp(p: &[u8]) -> ArpPacket {
    *ArpPacket::ref_from_prefix(p).unwrap().0
}

/// All of `m` copied out through `Mbuf::copy_out`, the counted function
/// `recvfrom` uses (piece by piece for a chain).
pub fn copied_out(m: &Mbuf) -> Vec<u8> {
    let mut out = Vec::new();
    m.copy_out(usize::MAX, |b| {
        out.extend_from_slice(b);
        Ok::<(), ()>(())
    })
    .unwrap();
    out
}
