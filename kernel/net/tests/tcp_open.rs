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
    t.finish_all();
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
    t.finish_all();
}

#[test]
fn active_open_and_data_both_ways() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    assert_eq!(t.counter("tcp_active_opens"), 1);
    // Data from the peer: queued in the device's mbuf, read once. The
    // first segments are acknowledged at once.
    t.input(&p.frame(ACK | PSH, b"hello"));
    p.seq += 5;
    assert_eq!(t.seg().ack, p.seq, "a quick ACK");
    assert_eq!(t.recv(c, 100).unwrap(), b"hello");
    assert_eq!(t.counter("rx_bytes_copied"), 0);
    assert_eq!(t.counter("rx_bytes_to_user"), 5);
    // Then ACKs wait for a second segment or the timer.
    t.spend_quickacks(c, &mut p);
    t.input(&p.frame(ACK | PSH, b"hello"));
    p.seq += 5;
    assert!(t.sent().is_empty(), "the ACK waits (delayed)");
    assert_eq!(t.recv(c, 100).unwrap(), b"hello");
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
    t.close_with_fin(c, &mut p);
    t.input(&p.frame(ACK | FIN, &[]));
    let last = t.seg();
    assert_eq!(last.ack, p.seq + 1);
    t.tick(2 * net::tcp::MSL_MS + 1);
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn every_second_full_segment_is_acknowledged_at_once() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    t.spend_quickacks(c, &mut p);
    // Full-sized is what the peer sends (less than its MSS allows here).
    let full = vec![7u8; 1400];
    t.input(&p.frame(ACK, &full));
    p.seq += 1400;
    assert!(t.sent().is_empty());
    t.input(&p.frame(ACK, &full));
    p.seq += 1400;
    assert_eq!(t.seg().ack, p.seq);
    assert_eq!(t.recv(c, 5000).unwrap().len(), 2800);
    t.finish_all();
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
    t.finish_all();
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
    t.finish_all();
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
    t.finish_all();
}

#[test]
fn the_backlog_bounds_connections_waiting_for_accept() {
    let mut t = T::new();
    t.learn_peer();
    let l = t.listener(80, 2);
    for port in 0..4 {
        let mut p = Peer::new(41000 + port, 80);
        t.input(&p.frame(SYN, &[]));
        p.seq += 1;
        if let Some(s) = t.segs().pop() {
            p.saw(&s);
            t.input(&p.frame(ACK, &[]));
        }
    }
    assert_eq!(t.counter("drop_tcp_backlog_full"), 2);
    assert_eq!(t.counter("tcp_passive_opens"), 2);
    // Closing the listener resets those waiting and frees everything.
    t.s.tcp_close(&mut t.env, l).unwrap();
    let rsts = t.segs();
    assert_eq!(rsts.len(), 2);
    assert!(rsts.iter().all(|s| s.has(RST)));
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn a_syn_flood_does_not_keep_a_client_out() {
    let mut t = T::new();
    t.learn_peer();
    let l = t.listener(80, 4);
    for port in 0..100 {
        t.env.now += 1;
        t.input(&Peer::new(20000 + port, 80).frame(SYN, &[]));
    }
    assert_eq!(t.segs().len(), 100, "each SYN answered");
    assert_eq!(t.counter("tcp_half_open_dropped"), 96);
    // A real client in the middle of the flood completes its handshake.
    let mut p = Peer::new(40000, 80);
    t.input(&p.frame(SYN, &[]));
    p.seq += 1;
    let synack = t.seg();
    p.saw(&synack);
    t.input(&Peer::new(30000, 80).frame(SYN, &[]));
    t.input(&p.frame(ACK, &[]));
    let (c, from) = t.s.tcp_accept(l).unwrap();
    assert_eq!(from.port(), 40000);
    assert_eq!(t.counter("drop_tcp_backlog_full"), 0);
    let _ = c;
    t.finish_all();
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
    t.finish_all();
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
    t.finish_all();
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
    t.finish_all();
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
    t.finish_all();
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
    t.finish_all();
}

#[test]
fn initial_sequence_numbers_follow_the_key() {
    let isn = |key: Option<[u8; 16]>| {
        let mut t = T::new();
        if let Some(k) = key {
            t.s.tcp_set_isn_key(k);
        }
        let (_c, p) = t.connected(7);
        let isn = p.ack;
        t.finish_all();
        isn
    };
    assert_eq!(isn(Some([1; 16])), isn(Some([1; 16])));
    assert_ne!(isn(Some([1; 16])), isn(Some([2; 16])));
    // Unkeyed, the first connection keys it (here from the test clock).
    assert_ne!(isn(None), isn(Some([0; 16])));
}

/// A peer that fills every window we offer, in full segments of its own
/// size and a partial last one, while the reader takes a little at a
/// time: nothing it sends within the window is ever dropped.
#[test]
fn a_peer_filling_every_window_loses_nothing() {
    for read in [100, 700, 1448, 3000] {
        for every in 1..4 {
            let mut t = T::new();
            let (c, mut p) = t.connected(7);
            t.input(&p.frame(ACK, b"x"));
            p.seq += 1;
            let a = t.segs().pop().unwrap();
            let mut edge = a.ack.wrapping_add((a.window as u32) << 2);
            let mut k = 0;
            for _ in 0..3000 {
                let room = edge.wrapping_sub(p.seq);
                if room == 0 || room > 1 << 30 {
                    let _ = t.recv(c, read);
                } else {
                    let n = room.min(1448) as usize;
                    t.input(&p.frame(ACK, &vec![1u8; n]));
                    p.seq += n as u32;
                    k += 1;
                    if k % every == 0 {
                        let _ = t.recv(c, read);
                    }
                }
                for s in t.segs() {
                    let e = s.ack.wrapping_add((s.window as u32) << 2);
                    if e.wrapping_sub(edge) as i32 > 0 {
                        edge = e;
                    }
                }
            }
            assert!(
                t.drops().is_empty(),
                "read {read} every {every}: {:?}",
                t.drops()
            );
            t.finish_all();
        }
    }
}

#[test]
fn a_reader_taking_a_few_bytes_does_not_open_a_tiny_window() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    t.spend_quickacks(c, &mut p);
    t.fill_our_window(&mut p);
    t.recv(c, 100).unwrap();
    // A zero-window probe: the answer still offers nothing.
    t.input(&p.frame_at(p.seq - 1, ACK, &[]));
    assert_eq!(t.seg().window, 0);
    // Once a segment's worth is free, the window opens.
    t.recv(c, 3000).unwrap();
    t.input(&p.frame_at(p.seq - 1, ACK, &[]));
    assert!(((t.segs().pop().unwrap().window as usize) << 2) >= 1448);
    t.finish_all();
}

#[test]
fn an_accepted_socket_takes_the_listeners_options_but_not_its_non_blocking_mode() {
    let mut t = T::new();
    t.learn_peer();
    let l = t.listener(80, 4);
    let mut o = t.s.options(l).unwrap();
    (o.nodelay, o.nonblock, o.rcvtimeo_ms) = (true, true, 300);
    t.s.set_options(l, o).unwrap();
    let mut p = Peer::new(40000, 80);
    t.input(&p.frame(SYN, &[]));
    p.seq += 1;
    let synack = t.seg();
    p.saw(&synack);
    t.input(&p.frame(ACK, &[]));
    let (c, _) = t.s.tcp_accept(l).unwrap();
    let got = t.s.options(c).unwrap();
    assert_eq!(
        (got.nodelay, got.nonblock, got.rcvtimeo_ms),
        (true, false, 300)
    );
    t.finish_all();
}

#[test]
fn a_tiny_mss_is_raised_to_a_floor() {
    let mut t = T::new();
    t.learn_peer();
    let l = t.listener(80, 4);
    let mut p = Peer::new(40000, 80);
    t.input(&p.frame_with(
        p.seq,
        0,
        SYN,
        &[wire::tcp::TcpOptionKind::MSS.0, 4, 0, 1],
        &[],
    ));
    p.seq += 1;
    let synack = t.seg();
    p.saw(&synack);
    t.input(&p.frame(ACK, &[]));
    let (c, _) = t.s.tcp_accept(l).unwrap();
    let mut o = t.s.options(c).unwrap();
    o.nodelay = true;
    t.s.set_options(c, o).unwrap();
    t.send(c, &[1; 200]).unwrap();
    let segs = t.segs();
    assert_eq!(segs[0].payload.len(), net::tcp::tcb::MIN_MSS as usize);
    t.finish_all();
}

#[test]
fn reading_a_closed_window_open_tells_the_peer() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    t.spend_quickacks(c, &mut p);
    p.seq = t.fill_our_window(&mut p).ack;
    // Reading a little says nothing; a segment's worth opens the window.
    t.recv(c, 100).unwrap();
    assert!(t.sent().is_empty());
    t.recv(c, 1500).unwrap();
    let update = t.seg();
    assert_eq!(update.ack, p.seq);
    assert!((update.window as usize) << 2 >= 1448);
    t.finish_all();
}

#[test]
fn the_calls_refuse_what_does_not_apply() {
    let mut t = T::new();
    t.learn_peer();
    let s = t.tcp_socket();
    let to = SockAddrIn::new(PEER_IP, 7);
    // Not connected yet.
    assert_eq!(t.send(s, b"x"), Err(Errno::ENOTCONN));
    assert_eq!(t.recv(s, 10), Err(Errno::ENOTCONN));
    assert_eq!(t.s.tcp_peer(s), Err(Errno::ENOTCONN));
    assert_eq!(t.s.tcp_connected(s), Err(Errno::ENOTCONN));
    assert_eq!(
        t.s.tcp_shutdown(&mut t.env, s, abi::net::SHUT_WR),
        Err(Errno::ENOTCONN)
    );
    let mut bad = to;
    bad.family = 99;
    assert_eq!(
        t.s.tcp_connect(&mut t.env, s, &bad),
        Err(Errno::EAFNOSUPPORT)
    );
    assert_eq!(
        t.s.tcp_connect(&mut t.env, s, &SockAddrIn::new(PEER_IP, 0)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        t.s.tcp_connect(&mut t.env, s, &SockAddrIn::new([224, 0, 0, 1], 7)),
        Err(Errno::EINVAL)
    );
    t.s.tcp_connect(&mut t.env, s, &to).unwrap();
    let syn = t.seg();
    assert_eq!(t.s.tcp_connect(&mut t.env, s, &to), Err(Errno::EALREADY));
    assert_eq!(t.send(s, b"x"), Err(Errno::EAGAIN), "not yet established");
    assert_eq!(t.s.tcp_listen(s, 1), Err(Errno::EINVAL));
    let name = t.s.getsockname(s).unwrap();
    assert_eq!((name.addr_be, name.port()), (OUR_IP, syn.src.1));
    assert_eq!(t.s.tcp_shutdown(&mut t.env, s, 7), Err(Errno::EINVAL));
    // Established: connecting again is EISCONN.
    let mut p = Peer::new(7, syn.src.1);
    p.saw(&syn);
    t.input(&p.frame(SYN | ACK, &[]));
    t.seg();
    assert_eq!(t.s.tcp_connect(&mut t.env, s, &to), Err(Errno::EISCONN));
    assert!(t.s.tcp_poll(s).unwrap().writable);
    // SHUT_RD: what arrives is discarded, reads see the end.
    t.s.tcp_shutdown(&mut t.env, s, abi::net::SHUT_RD).unwrap();
    p.seq += 1;
    t.input(&p.frame(ACK, b"dropped"));
    assert_eq!(t.recv(s, 10).unwrap(), b"");
    assert_eq!(t.counter("rx_bytes_to_user"), 0);
    // Ids that name nothing.
    let nothing = net::SocketId(net::socket::MAX_SOCKETS as u16 + 63);
    assert_eq!(t.s.tcp_poll(nothing), Err(Errno::EBADF));
    assert_eq!(t.s.tcp_close(&mut t.env, nothing), Err(Errno::EBADF));
    assert_eq!(t.s.getsockname(nothing), Err(Errno::EBADF));
    t.finish_all();
}
