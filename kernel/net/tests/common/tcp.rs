//! TCP for the host tests: segments built and read with the generated
//! `wire::tcp` structs, a scripted peer at PEER_IP, and the kernel's side
//! of the socket calls (copy closures over Vec buffers).

use abi::net::SockAddrIn;
use abi::Errno;
use net::{SocketId, SocketKind};
use wire::ethernet::EtherType;
use wire::ipv4::IpProtocol;
use wire::tcp::{TcpHeader, TcpOption, TcpOptionKind};
use zerocopy::FromBytes;

use super::*;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// A TCP segment from `src` to `dst`, checksum filled; `options` a
/// multiple of four bytes.
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut v = vec![0; TcpHeader::LEN];
    let (h, _) = TcpHeader::mut_from_prefix(&mut v).unwrap();
    h.set_src_port(src.1);
    h.set_dst_port(dst.1);
    h.set_seq(seq);
    h.set_ack(ack);
    h.set_data_offset(((TcpHeader::LEN + options.len()) / 4) as u8);
    h.set_fin(flags & FIN != 0);
    h.set_syn(flags & SYN != 0);
    h.set_rst(flags & RST != 0);
    h.set_psh(flags & PSH != 0);
    h.set_ack_flag(flags & ACK != 0);
    h.set_window(window);
    v.extend_from_slice(options);
    v.extend_from_slice(payload);
    wire::tcp::fill_checksum(src.0, dst.0, &mut v);
    v
}

/// Options a Linux SYN carries: MSS, SACK-permitted, timestamps, NOP,
/// window scale.
pub fn syn_options(mss: u16, tsval: u32, shift: u8) -> Vec<u8> {
    let mut o = vec![TcpOptionKind::MSS.0, 4];
    o.extend_from_slice(&mss.to_be_bytes());
    o.extend_from_slice(&[TcpOptionKind::SACK_PERMITTED.0, 2]);
    o.extend_from_slice(&[TcpOptionKind::TIMESTAMPS.0, 10]);
    o.extend_from_slice(&tsval.to_be_bytes());
    o.extend_from_slice(&0u32.to_be_bytes());
    o.extend_from_slice(&[
        TcpOptionKind::NOP.0,
        TcpOptionKind::WINDOW_SCALE.0,
        3,
        shift,
    ]);
    o
}

/// Two NOPs and a timestamps option.
pub fn ts_options(val: u32, ecr: u32) -> Vec<u8> {
    let mut o = vec![
        TcpOptionKind::NOP.0,
        TcpOptionKind::NOP.0,
        TcpOptionKind::TIMESTAMPS.0,
        10,
    ];
    o.extend_from_slice(&val.to_be_bytes());
    o.extend_from_slice(&ecr.to_be_bytes());
    o
}

/// A segment the stack sent, read back.
#[derive(Debug, Clone)]
pub struct Seg {
    pub src: ([u8; 4], u16),
    pub dst: ([u8; 4], u16),
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub mss: Option<u16>,
    pub shift: Option<u8>,
    pub sack_permitted: bool,
    pub ts: Option<(u32, u32)>,
    pub sack: Vec<(u32, u32)>,
    pub payload: Vec<u8>,
}

impl Seg {
    pub fn has(&self, f: u8) -> bool {
        self.flags & f == f
    }
    /// SEG.LEN.
    pub fn seg_len(&self) -> u32 {
        self.payload.len() as u32 + self.has(SYN) as u32 + self.has(FIN) as u32
    }
}

/// Reads a frame the stack sent as a TCP segment (checking every length
/// and checksum on the way).
pub fn parse_tcp(frame: &[u8]) -> Seg {
    let p = parse_eth(frame);
    assert_eq!(p.eth.ethertype(), EtherType::IPV4);
    let (ip, body) = parse_ipv4(p.payload);
    assert_eq!(ip.protocol(), IpProtocol::TCP);
    let parsed = TcpHeader::parse(body, ip.src(), ip.dst()).expect("a valid TCP segment");
    TcpHeader::options(&parsed).check().expect("valid options");
    let h = parsed.header;
    let mut s = Seg {
        src: (ip.src(), h.src_port()),
        dst: (ip.dst(), h.dst_port()),
        seq: h.seq(),
        ack: h.ack(),
        flags: (h.fin() as u8)
            | (h.syn() as u8) << 1
            | (h.rst() as u8) << 2
            | (h.psh() as u8) << 3
            | (h.ack_flag() as u8) << 4,
        window: h.window(),
        mss: None,
        shift: None,
        sack_permitted: false,
        ts: None,
        sack: vec![],
        payload: parsed.payload.to_vec(),
    };
    for o in TcpHeader::options(&parsed).flatten() {
        match o {
            TcpOption::Mss(m) => s.mss = Some(m.header.mss()),
            TcpOption::WindowScale(w) => s.shift = Some(w.header.shift()),
            TcpOption::SackPermitted(_) => s.sack_permitted = true,
            TcpOption::Timestamps(t) => s.ts = Some((t.header.value(), t.header.echo_reply())),
            TcpOption::Sack(b) => {
                for blk in wire::tcp::TcpSack::elements(&b) {
                    s.sack.push((blk.left_edge(), blk.right_edge()))
                }
            }
            _ => {}
        }
    }
    s
}

/// The remote end of a connection, scripted by the test.
#[derive(Clone, Copy, Debug)]
pub struct Peer {
    pub addr: ([u8; 4], u16),
    pub us: ([u8; 4], u16),
    /// The next sequence number the peer sends.
    pub seq: u32,
    /// What the peer acknowledges.
    pub ack: u32,
    pub window: u16,
    /// Timestamps: the peer's clock, and the last value it saw from us.
    pub ts: Option<(u32, u32)>,
}

impl Peer {
    pub fn new(port: u16, us_port: u16) -> Peer {
        Peer {
            addr: (PEER_IP, port),
            us: (OUR_IP, us_port),
            seq: 1_000_000,
            ack: 0,
            window: 65535,
            ts: None,
        }
    }

    /// A frame from the peer with its current numbers.
    pub fn frame(&self, flags: u8, payload: &[u8]) -> Vec<u8> {
        self.frame_at(self.seq, flags, payload)
    }

    pub fn frame_at(&self, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let opts = match self.ts {
            Some((val, ecr)) => ts_options(val, ecr),
            None => vec![],
        };
        self.frame_with(seq, self.ack, flags, &opts, payload)
    }

    pub fn frame_with(
        &self,
        seq: u32,
        ack: u32,
        flags: u8,
        opts: &[u8],
        payload: &[u8],
    ) -> Vec<u8> {
        let seg = tcp(
            self.addr,
            self.us,
            seq,
            ack,
            flags,
            self.window,
            opts,
            payload,
        );
        eth(
            OUR_MAC,
            PEER_MAC,
            EtherType::IPV4,
            &ipv4(self.addr.0, self.us.0, IpProtocol::TCP, &seg),
        )
    }

    /// Takes what the stack's segment says into the peer's numbers: it
    /// acknowledges all of it and remembers the timestamp.
    pub fn saw(&mut self, s: &Seg) {
        let end = s.seq.wrapping_add(s.seg_len());
        if end.wrapping_sub(self.ack) as i32 > 0 || s.has(SYN) {
            self.ack = end;
        }
        if let (Some((val, _)), Some(ts)) = (s.ts, self.ts.as_mut()) {
            ts.1 = val;
        }
    }
}

impl T {
    /// The TCP segments sent since the last call.
    pub fn segs(&mut self) -> Vec<Seg> {
        self.sent().iter().map(|m| parse_tcp(m.data())).collect()
    }

    /// The one segment sent since the last call.
    pub fn seg(&mut self) -> Seg {
        let mut v = self.segs();
        assert_eq!(v.len(), 1, "one segment: {v:?}");
        v.pop().unwrap()
    }

    pub fn tcp_socket(&mut self) -> SocketId {
        self.s.socket(SocketKind::Tcp).unwrap()
    }

    pub fn listener(&mut self, port: u16, backlog: usize) -> SocketId {
        let l = self.tcp_socket();
        self.s.bind(l, &SockAddrIn::new([0; 4], port)).unwrap();
        self.s.tcp_listen(l, backlog).unwrap();
        l
    }

    pub fn send(&mut self, id: SocketId, data: &[u8]) -> Result<usize, Errno> {
        self.s
            .tcp_send(&mut self.env, id, data.len(), &mut |chunk, off| {
                chunk.copy_from_slice(&data[off..off + chunk.len()]);
                Ok(())
            })
    }

    pub fn recv(&mut self, id: SocketId, max: usize) -> Result<Vec<u8>, Errno> {
        let mut out = vec![0; max];
        let n = self.s.tcp_recv(&mut self.env, id, max, &mut |chunk, off| {
            out[off..off + chunk.len()].copy_from_slice(chunk);
            Ok(())
        })?;
        out.truncate(n);
        Ok(out)
    }

    /// Every mbuf is back in the pool.
    pub fn assert_no_leak(&mut self) {
        drop(self.sent());
        assert_eq!(self.pool().free(), self.pool().total(), "mbufs leaked");
    }
}

impl T {
    /// A listener on `port` and a connection the peer opened to it (with
    /// Linux's SYN options), accepted. The peer's ARP entry is learned.
    pub fn accepted(&mut self, port: u16) -> (SocketId, SocketId, Peer) {
        self.learn_peer();
        let l = self.listener(port, 4);
        let mut p = Peer::new(40000, port);
        p.ts = Some((100, 0));
        self.input(&p.frame_with(p.seq, 0, SYN, &syn_options(1460, 100, 7), &[]));
        p.seq += 1;
        let synack = self.seg();
        assert!(synack.has(SYN | ACK), "{synack:?}");
        p.saw(&synack);
        self.input(&p.frame(ACK, &[]));
        let (c, from) = self.s.tcp_accept(l).unwrap();
        assert_eq!((from.addr_be, from.port()), p.addr);
        assert!(self.sent().is_empty());
        (l, c, p)
    }

    /// A connection we opened to the peer's `port`, the peer answering
    /// with Linux's options.
    pub fn connected(&mut self, port: u16) -> (SocketId, Peer) {
        self.learn_peer();
        let c = self.tcp_socket();
        self.s
            .tcp_connect(&mut self.env, c, &SockAddrIn::new(PEER_IP, port))
            .unwrap();
        let syn = self.seg();
        assert!(syn.has(SYN) && !syn.has(ACK));
        let mut p = Peer::new(port, syn.src.1);
        p.ts = Some((500, 0));
        p.saw(&syn);
        let ts = syn.ts.unwrap().0;
        let mut o = syn_options(1460, 500, 7);
        o[12..16].copy_from_slice(&ts.to_be_bytes());
        self.input(&p.frame_with(p.seq, p.ack, SYN | ACK, &o, &[]));
        p.seq += 1;
        let ack = self.seg();
        assert!(ack.has(ACK) && !ack.has(SYN));
        assert_eq!(ack.ack, p.seq);
        p.saw(&ack);
        assert_eq!(self.s.tcp_connected(c), Ok(true));
        (c, p)
    }
}

impl T {
    /// The states of every TCP connection (socklist's view, sockets and
    /// connections closed by the user alike).
    pub fn tcp_states(&self) -> Vec<net::tcp::TcpState> {
        use net::tcp::TcpState::*;
        let all = [
            Closed,
            Listen,
            SynSent,
            SynReceived,
            Established,
            FinWait1,
            FinWait2,
            CloseWait,
            Closing,
            LastAck,
            TimeWait,
        ];
        let mut info = [abi::net::SockInfo::default(); 256];
        let n = self.s.socklist(&mut info);
        info[..n]
            .iter()
            .filter(|i| i.kind == abi::net::SOCK_STREAM as u32)
            .map(|i| all[i.state as usize])
            .collect()
    }
}

impl T {
    /// Closes every TCP socket, lets every connection finish (the peer
    /// silent: FINs are retried until the connection gives up, TIME-WAIT
    /// runs out) and checks the pool's census: every mbuf is back.
    pub fn finish_all(&mut self) {
        let first = net::socket::MAX_SOCKETS as u16;
        for id in first..first + net::tcp::MAX_TCP as u16 {
            let _ = self.s.tcp_close(&mut self.env, SocketId(id));
        }
        for _ in 0..30 * 60 {
            self.tick(1000);
            self.sent();
        }
        assert!(self.tcp_states().is_empty(), "{:?}", self.tcp_states());
        let census = self.pool().census();
        assert_eq!(
            census.of(net::MbufState::Free),
            self.pool().total(),
            "mbufs leaked: {census:?}"
        );
    }
}

impl T {
    /// Sends one-byte segments on `c` until it no longer acknowledges
    /// each at once (its quick ACKs of a connection's start are spent),
    /// reads them and forgets the ACKs.
    pub fn spend_quickacks(&mut self, c: SocketId, p: &mut Peer) {
        for _ in 0..net::tcp::tcb::QUICKACKS {
            self.input(&p.frame(ACK, b"q"));
            p.seq += 1;
        }
        self.recv(c, 1000).unwrap();
        self.sent();
    }

    /// The peer sends full segments until our ACK offers a zero window;
    /// returns that ACK (`p.seq` is past the last segment sent, which the
    /// window may have cut).
    pub fn fill_our_window(&mut self, p: &mut Peer) -> Seg {
        loop {
            self.input(&p.frame(ACK, &[9; 1448]));
            p.seq += 1448;
            if let Some(a) = self.segs().pop().filter(|a| a.window == 0) {
                return a;
            }
            assert!(
                p.seq.wrapping_sub(1_000_000) < 200_000,
                "the window never closed"
            );
        }
    }
}

impl T {
    /// Closes `c` (nothing unread): its FIN goes out, which the peer
    /// sees (its numbers take the FIN in). Returns the FIN.
    pub fn close_with_fin(&mut self, c: SocketId, p: &mut Peer) -> Seg {
        self.s.tcp_close(&mut self.env, c).unwrap();
        let fin = self.seg();
        assert!(fin.has(FIN | ACK), "{fin:?}");
        p.saw(&fin);
        fin
    }

    /// A connection the peer opened to a listener on `port`, which we
    /// closed first: our FIN, then the peer's FIN acknowledging it in one
    /// segment, our ACK of it; it is left in TIME-WAIT (the listener
    /// stays). Returns the listener and the peer, its numbers current.
    pub fn in_time_wait(&mut self, port: u16) -> (SocketId, Peer) {
        let (l, c, mut p) = self.accepted(port);
        self.close_with_fin(c, &mut p);
        self.input(&p.frame(FIN | ACK, &[]));
        p.seq += 1;
        let ack = self.seg();
        assert_eq!(ack.ack, p.seq);
        assert_eq!(
            self.tcp_states(),
            [net::tcp::TcpState::Listen, net::tcp::TcpState::TimeWait]
        );
        (l, p)
    }
}
