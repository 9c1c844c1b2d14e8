//! Parse benchmark: the kernel's own receive path against etherparse and
//! smoltcp, on one real Ethernet/IPv4/UDP frame (a capture, 12-byte payload).
//!
//! Ours is the code the kernel runs on that frame, nothing rebuilt for the
//! benchmark: `net::Stack::input` (`eth_input`, `ipv4_input` with its options
//! walk, `udp_input`: each the generated `parse` of its header, lengths and
//! both checksums included, and the generated dispatch tables), plus the
//! policy the peers do not have (addresses, fragments, counters), the
//! socket lookup and queueing, and `Stack::recvfrom` taking the datagram
//! off the socket again. The frame sits in a pool mbuf, as the device left
//! it; between rounds the mbuf's window is put back over the same bytes
//! (`reset` + `extend`, no copy: the device's DMA costs nothing here either).
//!
//! The peers get the frame as a slice and do view + validate (lengths, the
//! IPv4 header checksum, the UDP checksum over the pseudo-header) + demux
//! (EtherType, protocol) and return the payload length; no delivery. So
//! ours does strictly more work than theirs, and a ratio above 1 is not
//! flattered.
//!
//! `cargo bench -p spec-tests --features bench` runs criterion on each, then
//! a same-run comparison prints the ratios (theirs / ours);
//! `-- --quick` skips criterion (what `cargo xtask bench` runs first;
//! `cargo xtask bench --parse` runs it all).

use std::hint::black_box;
use std::time::{Duration, Instant};

use abi::net::{IfConfig, SockAddrIn};
use criterion::Criterion;
use net::{Buf, Mbuf, NetEnv, Pool, SocketId, SocketKind, Stack};
use spec_tests::captures::UDP_TO_LISTENER;

/// The stack the frame is addressed to, with a socket bound to its port.
struct Kernel {
    stack: Box<Stack>,
    env: QuietEnv,
    sock: SocketId,
    /// The mbuf holding the frame, between rounds.
    m: Option<Mbuf>,
    frame_len: usize,
}

/// Nothing is sent on this path; waking the reader is the kernel's
/// `wakeup`, outside the stack.
struct QuietEnv;

impl NetEnv for QuietEnv {
    fn now_ms(&self) -> u64 {
        0
    }
    fn transmit(&mut self, _iface: net::IfId, frame: Mbuf) -> Result<(), Mbuf> {
        Err(frame)
    }
    fn wakeup(&mut self, _sock: SocketId) {}
}

impl Kernel {
    /// A stack at the frame's destination (10.9.0.2, its MAC) with a UDP
    /// socket bound to the destination port, and the frame in an mbuf.
    fn new(frame: &[u8]) -> Kernel {
        use wire::{ethernet::EthernetHeader, ipv4::Ipv4Header, udp::UdpHeader};
        let eth = EthernetHeader::parse(frame).unwrap();
        let ip = Ipv4Header::parse(eth.payload).unwrap();
        let udp = UdpHeader::parse(ip.payload, ip.header.src(), ip.header.dst()).unwrap();
        let pool: &'static Pool = Box::leak(Box::new(Pool::<[Buf; 4]>::new()));
        let mut stack = Box::new(Stack::new(pool));
        stack.set_mac(eth.header.dst());
        let addr = ip.header.dst();
        stack
            .set_config(&IfConfig {
                addr,
                netmask: [255, 255, 255, 0],
                gateway: ip.header.src(),
                ..IfConfig::default()
            })
            .unwrap();
        let sock = stack.socket(SocketKind::Udp).unwrap();
        let port = udp.header.dst_port();
        stack.bind(sock, &SockAddrIn::new([0; 4], port)).unwrap();
        let mut m = pool.alloc().unwrap();
        m.append(frame.len()).unwrap().copy_from_slice(frame);
        Kernel {
            stack,
            env: QuietEnv,
            sock,
            m: Some(m),
            frame_len: frame.len(),
        }
    }

    /// One received frame, up to the socket and off it again: the payload
    /// length, or `None` when the stack dropped it.
    fn receive(&mut self) -> Option<usize> {
        let mut m = self.m.take()?;
        m.reset();
        m.extend(self.frame_len).ok()?;
        self.stack.input(&mut self.env, m);
        let (m, _from) = self.stack.recvfrom(self.sock).ok()?;
        let n = m.len();
        self.m = Some(m);
        Some(n)
    }
}

fn etherparse(frame: &[u8]) -> Option<usize> {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    let p = SlicedPacket::from_ethernet(frame).ok()?;
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        return None;
    };
    let header = ip.header();
    if header.to_header().calc_header_checksum() != header.header_checksum() {
        return None;
    }
    let Some(TransportSlice::Udp(udp)) = &p.transport else {
        return None;
    };
    let sum = udp
        .to_header()
        .calc_checksum_ipv4_raw(header.source(), header.destination(), udp.payload())
        .ok()?;
    if udp.checksum() != 0 && sum != udp.checksum() {
        return None;
    }
    Some(udp.payload().len())
}

fn smoltcp(frame: &[u8]) -> Option<usize> {
    use smoltcp::wire::{
        EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, UdpPacket,
    };
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if !ip.verify_checksum() || ip.next_header() != IpProtocol::Udp {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    if !udp.verify_checksum(
        &IpAddress::Ipv4(ip.src_addr()),
        &IpAddress::Ipv4(ip.dst_addr()),
    ) {
        return None;
    }
    Some(udp.payload().len())
}

/// smoltcp's own stack on the same frame: an `Interface` at the frame's
/// destination takes it from a device (`poll_ingress_single`: one frame,
/// no egress) into a bound `udp::Socket`, and `recv` takes it off again:
/// the same work as `Stack::input` + `recvfrom` (smoltcp copies the
/// payload into the socket's ring on the way; we queue the buffer).
struct SmoltcpStack {
    iface: smoltcp::iface::Interface,
    device: OneFrame,
    sockets: smoltcp::iface::SocketSet<'static>,
    handle: smoltcp::iface::SocketHandle,
}

/// A device that has the frame to receive once per `pending`.
struct OneFrame {
    frame: Vec<u8>,
    pending: bool,
}

struct FrameRx<'a>(&'a [u8]);
struct NoTx;

impl smoltcp::phy::RxToken for FrameRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl smoltcp::phy::TxToken for NoTx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        f(&mut vec![0; len])
    }
}

impl smoltcp::phy::Device for OneFrame {
    type RxToken<'a> = FrameRx<'a>;
    type TxToken<'a> = NoTx;

    fn receive(&mut self, _now: smoltcp::time::Instant) -> Option<(FrameRx<'_>, NoTx)> {
        if !std::mem::take(&mut self.pending) {
            return None;
        }
        Some((FrameRx(&self.frame), NoTx))
    }

    fn transmit(&mut self, _now: smoltcp::time::Instant) -> Option<NoTx> {
        None
    }

    fn capabilities(&self) -> smoltcp::phy::DeviceCapabilities {
        let mut caps = smoltcp::phy::DeviceCapabilities::default();
        caps.medium = smoltcp::phy::Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

impl SmoltcpStack {
    fn new(frame: &[u8]) -> SmoltcpStack {
        use smoltcp::iface::{Config, Interface, SocketSet};
        use smoltcp::socket::udp;
        use smoltcp::wire::{EthernetAddress, EthernetFrame, IpCidr, Ipv4Packet, UdpPacket};
        let eth = EthernetFrame::new_checked(frame).unwrap();
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        let port = UdpPacket::new_checked(ip.payload()).unwrap().dst_port();
        let (mac, addr) = (eth.dst_addr(), ip.dst_addr());
        let mut device = OneFrame {
            frame: frame.to_vec(),
            pending: false,
        };
        let config = Config::new(EthernetAddress(mac.0).into());
        let mut iface = Interface::new(config, &mut device, smoltcp::time::Instant::ZERO);
        iface.update_ip_addrs(|a| a.push(IpCidr::new(addr.into(), 24)).unwrap());
        let buffer = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4096]);
        let mut socket = udp::Socket::new(buffer(), buffer());
        socket.bind(port).unwrap();
        let mut sockets = SocketSet::new(vec![]);
        let handle = sockets.add(socket);
        SmoltcpStack {
            iface,
            device,
            sockets,
            handle,
        }
    }

    fn receive(&mut self) -> Option<usize> {
        self.device.pending = true;
        self.iface.poll_ingress_single(
            smoltcp::time::Instant::ZERO,
            &mut self.device,
            &mut self.sockets,
        );
        let socket = self
            .sockets
            .get_mut::<smoltcp::socket::udp::Socket>(self.handle);
        socket.recv().ok().map(|(payload, _)| payload.len())
    }
}

type Peer = fn(&[u8]) -> Option<usize>;
const PEERS: [(&str, Peer); 2] = [("etherparse", etherparse), ("smoltcp wire", smoltcp)];
const OURS: &str = "xv6net Stack::input";
const SMOLTCP_STACK: &str = "smoltcp Interface";

/// Rounds each side is timed for, the sides taking turns so that load
/// from elsewhere on the machine falls on all of them alike; each side's
/// best round counts. Rounds are short (about a millisecond), so most run
/// without the process being preempted.
const ROUNDS: usize = 101;
/// Frames in one round.
const ROUND: usize = 20_000;

/// One round of `f`, in ns per frame.
fn round(mut f: impl FnMut() -> Option<usize>) -> f64 {
    let start = Instant::now();
    for _ in 0..ROUND {
        black_box(f());
    }
    start.elapsed().as_secs_f64() * 1e9 / ROUND as f64
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let frame = &UDP_TO_LISTENER;
    let mut kernel = Kernel::new(frame);
    let mut smol = SmoltcpStack::new(frame);
    assert_eq!(
        kernel.receive(),
        Some(12),
        "the stack does not deliver the frame"
    );
    assert_eq!(
        smol.receive(),
        Some(12),
        "smoltcp's stack does not deliver the frame"
    );
    for (name, f) in PEERS {
        assert_eq!(f(frame), Some(12), "{name} does not accept the frame");
    }

    if !quick {
        let mut c = Criterion::default()
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        let mut group = c.benchmark_group("eth-ipv4-udp receive");
        group.bench_function(OURS, |b| b.iter(|| kernel.receive()));
        group.bench_function(SMOLTCP_STACK, |b| b.iter(|| smol.receive()));
        for (name, f) in PEERS {
            group.bench_function(name, |b| b.iter(|| f(black_box(frame))));
        }
        group.finish();
    }

    let (mut ours, mut smol_ns, mut parsers) = (f64::INFINITY, f64::INFINITY, [f64::INFINITY; 2]);
    for _ in 0..ROUNDS {
        ours = ours.min(round(|| kernel.receive()));
        smol_ns = smol_ns.min(round(|| smol.receive()));
        for ((_, f), best) in PEERS.iter().zip(&mut parsers) {
            *best = best.min(round(|| f(black_box(frame))));
        }
    }
    assert_eq!(kernel.receive(), Some(12), "every frame was delivered");
    assert_eq!(smol.receive(), Some(12), "smoltcp delivered every frame");
    println!(
        "\nreceive benchmark, same run (best of {ROUNDS} rounds of {}k frames, sides in turn; \
         ratio = theirs / ours):",
        ROUND / 1000
    );
    println!("  {OURS:<26} {ours:>7.1} ns/frame");
    println!("  the whole receive path to a socket and off it:");
    println!(
        "  {SMOLTCP_STACK:<26} {smol_ns:>7.1} ns/frame   ratio {:.2}",
        smol_ns / ours
    );
    println!("  view + validate + checksums + demux only (no policy, no socket):");
    for ((name, _), ns) in PEERS.iter().zip(parsers) {
        println!("  {name:<26} {ns:>7.1} ns/frame   ratio {:.2}", ns / ours);
    }
}
