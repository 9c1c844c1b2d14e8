//! TCP driven frame by frame: the three-way handshake both ways with
//! options (RFC 9293 3.5, RFC 7323, RFC 2018), simultaneous open, data in
//! order both ways without a copy on receive, delayed ACKs, RST for a
//! segment to no connection, the listener's bounded backlog.

mod common;

use abi::net::SockAddrIn;
use abi::Errno;
use common::tcp::*;
use common::*;
use net::tcp::{TcpState, OUR_MSS};

#[test]
fn passive_open_answers_with_the_options_offered() {
    let mut t = T::new();
    t.learn_peer();
    let l = t.listener(80, 4);
    let mut p = Peer::new(40000, 80);
    t.input(&p.frame_with(p.seq, 0, SYN, &syn_options(1400, 77, 7), &[]));
    p.seq += 1;
    let s = t.seg();
    assert!(s.has(SYN | ACK));
    assert_eq!(s.ack, p.seq);
    assert_eq!(s.mss, Some(OUR_MSS));
    assert_eq!(s.shift, Some(2));
    assert!(s.sack_permitted);
    assert_eq!(s.ts.unwrap().1, 77, "echoes the peer's timestamp");
    assert_eq!((s.src, s.dst), ((OUR_IP, 80), p.addr));
    // Not ready until the handshake ends.
    assert_eq!(t.s.tcp_accept(l), Err(Errno::EAGAIN));
    assert!(!t.s.readable(l));
    p.saw(&s);
    p.ts = Some((78, s.ts.unwrap().0));
    t.input(&p.frame(ACK, &[]));
    assert!(t.s.readable(l));
    let (c, from) = t.s.tcp_accept(l).unwrap();
    assert_eq!((from.addr_be, from.port()), p.addr);
    assert_eq!(t.s.tcp_peer(c).unwrap().port(), 40000);
    assert_eq!(t.s.getsockname(c).unwrap().port(), 80);
    assert_eq!(t.counter("tcp_passive_opens"), 1);
    assert!(t.drops().is_empty(), "{:?}", t.drops());
    t.s.tcp_close(&mut t.env, c).unwrap();
    t.s.tcp_close(&mut t.env, l).unwrap();
}

#[test]
fn a_syn_without_options_gets_none_back() {
    let mut t = T::new();
    t.learn_peer();
    t.listener(80, 4);
    let p = Peer::new(40000, 80);
    t.input(&p.frame(SYN, &[]));
    let s = t.seg();
    assert!(s.has(SYN | ACK));
    assert_eq!((s.ts, s.shift, s.sack_permitted), (None, None, false));
    assert_eq!(s.mss, Some(OUR_MSS), "our MSS is always announced");
}

#[test]
fn active_open_and_data_both_ways() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    assert_eq!(t.counter("tcp_active_opens"), 1);
    // Data from the peer: queued in the device's mbuf, read once.
    t.input(&p.frame(ACK | PSH, b"hello"));
    p.seq += 5;
    assert!(t.sent().is_empty(), "the ACK waits (delayed)");
    assert_eq!(t.recv(c, 100).unwrap(), b"hello");
    assert_eq!(t.counter("rx_bytes_copied"), 0);
    assert_eq!(t.counter("rx_bytes_to_user"), 5);
    t.tick(50);
    let a = t.seg();
    assert_eq!(a.ack, p.seq);
    assert_eq!(t.counter("tcp_delayed_acks"), 1);
    // Data to the peer.
    assert_eq!(t.send(c, b"world"), Ok(5));
    let d = t.seg();
    assert_eq!(d.payload, b"world");
    assert!(d.has(ACK | PSH));
    p.saw(&d);
    t.input(&p.frame(ACK, &[]));
    assert!(t.sent().is_empty());
    assert_eq!(t.recv(c, 10), Err(Errno::EAGAIN));
    assert!(t.drops().is_empty(), "{:?}", t.drops());
    t.s.tcp_close(&mut t.env, c).unwrap();
    let fin = t.seg();
    assert!(fin.has(FIN | ACK));
    p.saw(&fin);
    t.input(&p.frame(ACK | FIN, &[]));
    let last = t.seg();
    assert_eq!(last.ack, p.seq + 1);
    t.tick(2 * net::tcp::MSL_MS + 1);
    t.assert_no_leak();
}

#[test]
fn every_second_full_segment_is_acknowledged_at_once() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    let full = vec![7u8; 1448];
    t.input(&p.frame(ACK, &full));
    p.seq += 1448;
    assert!(t.sent().is_empty());
    t.input(&p.frame(ACK, &full));
    p.seq += 1448;
    assert_eq!(t.seg().ack, p.seq);
    assert_eq!(t.recv(c, 5000).unwrap().len(), 2896);
}

#[test]
fn simultaneous_open() {
    let mut t = T::new();
    t.learn_peer();
    let c = t.tcp_socket();
    t.s.bind(c, &SockAddrIn::new([0; 4], 5000)).unwrap();
    t.s.tcp_connect(&mut t.env, c, &SockAddrIn::new(PEER_IP, 6000))
        .unwrap();
    let syn = t.seg();
    let mut p = Peer::new(6000, 5000);
    // The peer's SYN crosses ours.
    t.input(&p.frame(SYN, &[]));
    p.seq += 1;
    let synack = t.seg();
    assert!(synack.has(SYN | ACK));
    assert_eq!(synack.seq, syn.seq, "the same ISN");
    assert_eq!(t.s.tcp_connected(c), Ok(false));
    p.saw(&synack);
    // Its SYN-ACK to our SYN.
    t.input(&p.frame_at(p.seq - 1, SYN | ACK, &[]));
    t.input(&p.frame(ACK, &[]));
    assert_eq!(t.s.tcp_connected(c), Ok(true));
    assert_eq!(t.send(c, b"x"), Ok(1));
    assert_eq!(t.segs().last().unwrap().payload, b"x");
}

#[test]
fn a_segment_to_no_connection_draws_a_reset() {
    let mut t = T::new();
    t.learn_peer();
    let p = Peer::new(40000, 81);
    // A SYN: RST+ACK acknowledging it.
    t.input(&p.frame(SYN, &[]));
    let r = t.seg();
    assert!(r.has(RST | ACK));
    assert_eq!((r.seq, r.ack), (0, p.seq + 1));
    // An ACK: a RST at its acknowledgment number.
    t.input(&p.frame_with(p.seq, 4242, ACK, &[], b"x"));
    let r = t.seg();
    assert!(r.has(RST) && !r.has(ACK));
    assert_eq!(r.seq, 4242);
    // A RST: nothing.
    t.input(&p.frame(RST, &[]));
    assert!(t.sent().is_empty());
    assert_eq!(t.counter("drop_tcp_no_connection"), 3);
    assert_eq!(t.counter("tcp_rsts_out"), 2);
    assert_eq!(t.counter("tcp_rsts_in"), 1);
    t.assert_no_leak();
}

#[test]
fn connect_refused_by_a_reset() {
    let mut t = T::new();
    t.learn_peer();
    let c = t.tcp_socket();
    t.s.tcp_connect(&mut t.env, c, &SockAddrIn::new(PEER_IP, 9))
        .unwrap();
    let syn = t.seg();
    let mut p = Peer::new(9, syn.src.1);
    // A RST without ACK in SYN-SENT is not acceptable.
    t.input(&p.frame(RST, &[]));
    assert_eq!(t.s.tcp_connected(c), Ok(false));
    assert_eq!(t.counter("drop_tcp_unexpected"), 1);
    p.saw(&syn);
    t.input(&p.frame(RST | ACK, &[]));
    assert!(t.s.tcp_poll(c).unwrap().error);
    assert_eq!(t.s.tcp_connected(c), Err(Errno::ECONNREFUSED));
    t.s.tcp_close(&mut t.env, c).unwrap();
    t.assert_no_leak();
}

#[test]
fn the_backlog_bounds_half_open_connections() {
    let mut t = T::new();
    t.learn_peer();
    let l = t.listener(80, 2);
    for port in 0..4 {
        let p = Peer::new(41000 + port, 80);
        t.input(&p.frame(SYN, &[]));
    }
    assert_eq!(t.segs().len(), 2, "two SYN-ACKs");
    assert_eq!(t.counter("drop_tcp_backlog_full"), 2);
    // Closing the listener resets those waiting and frees everything.
    t.s.tcp_close(&mut t.env, l).unwrap();
    let rsts = t.segs();
    assert_eq!(rsts.len(), 2);
    assert!(rsts.iter().all(|s| s.has(RST)));
    t.assert_no_leak();
}

#[test]
fn listen_ports_and_errors() {
    let mut t = T::new();
    let a = t.listener(80, 1);
    let b = t.tcp_socket();
    assert_eq!(
        t.s.bind(b, &SockAddrIn::new([0; 4], 80)),
        Err(Errno::EADDRINUSE)
    );
    let mut o = t.s.options(b).unwrap();
    o.reuseaddr = true;
    t.s.set_options(b, o).unwrap();
    assert_eq!(
        t.s.bind(b, &SockAddrIn::new([0; 4], 80)),
        Err(Errno::EADDRINUSE),
        "a listener holds it"
    );
    assert_eq!(t.s.kind(b), Ok(net::SocketKind::Tcp));
    assert_eq!(t.s.tcp_accept(b), Err(Errno::EINVAL));
    assert_eq!(t.s.tcp_peer(a), Err(Errno::ENOTCONN));
    assert_eq!(t.s.tcp_listen(a, 100), Ok(()));
    let mut info = [abi::net::SockInfo::default(); 4];
    assert_eq!(t.s.socklist(&mut info), 2);
    assert_eq!(info[0].state, TcpState::Listen as u32);
    t.s.tcp_close(&mut t.env, a).unwrap();
    t.s.bind(b, &SockAddrIn::new([0; 4], 80)).unwrap();
    assert_eq!(t.s.tcp_close(&mut t.env, a), Err(Errno::EBADF));
}

#[test]
fn a_full_table_refuses_a_syn() {
    let mut t = T::new();
    t.learn_peer();
    let per = net::tcp::BACKLOG_MAX;
    let listeners = net::tcp::table::MAX_CONNS / (per + 1) + 1;
    let mut port = 41000;
    for i in 0..listeners {
        t.listener(80 + i as u16, per);
        for _ in 0..per {
            t.input(&Peer::new(port, 80 + i as u16).frame(SYN, &[]));
            port += 1;
        }
    }
    assert!(t.counter("drop_tcp_table_full") > 0);
    assert_eq!(t.tcp_states().len(), net::tcp::table::MAX_CONNS);
}

#[test]
fn a_peer_ignoring_the_window_cannot_queue_more_than_it_offered() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    // One byte a segment: the queue fills by segments, not by bytes.
    for _ in 0..net::tcp::rcvq::RCVQ_SEGS {
        t.input(&p.frame(ACK, b"x"));
        p.seq += 1;
    }
    assert_eq!(t.counter("drop_tcp_queue_full"), 0);
    t.input(&p.frame(ACK, b"x"));
    assert_eq!(t.counter("drop_tcp_queue_full"), 1);
    let ack = t.segs().pop().unwrap();
    assert_eq!(ack.ack, p.seq, "not taken");
    assert_eq!(t.recv(c, 1000).unwrap().len(), net::tcp::rcvq::RCVQ_SEGS);
    // Read, there is room again: the same segment is taken.
    t.input(&p.frame(ACK, b"x"));
    assert_eq!(t.recv(c, 1000).unwrap(), b"x");
}

#[test]
fn segments_are_counted_both_ways() {
    let mut t = T::new();
    let (_c, p) = t.connected(7);
    assert_eq!(
        (t.counter("tcp_segs_out"), t.counter("tcp_segs_in")),
        (2, 1)
    );
    t.input(&p.frame(ACK, b"x"));
    assert_eq!(t.counter("tcp_segs_in"), 2);
}

#[test]
fn all_connections_together_hold_at_most_half_the_pool() {
    let mut t = T::new();
    let half = t.pool().total() / 2;
    let per = net::tcp::rcvq::RCVQ_SEGS;
    let mut held = 0;
    let mut conns = vec![];
    for port in 0..(half / per + 1) as u16 {
        let (c, mut p) = t.connected(7 + port);
        for _ in 0..per {
            t.input(&p.frame(ACK, b"x"));
            p.seq += 1;
        }
        conns.push(c);
        held += per;
    }
    assert!(held > half);
    assert_eq!(t.counter("drop_tcp_rx_memory") as usize, held - half);
    // Reading gives the buffers back.
    for c in conns {
        t.recv(c, 1000).unwrap();
    }
    assert_eq!(t.counter("mbufs_socket"), 0);
}
