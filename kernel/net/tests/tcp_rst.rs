//! RST and the answers to blind attacks (RFC 9293 3.10.7.4, RFC 5961):
//! a RST exactly at RCV.NXT resets, one elsewhere in the window draws a
//! challenge ACK, one outside is dropped; a SYN on an established
//! connection is challenged; an ACK for data never sent is answered and
//! dropped; segments outside the window are acknowledged; PAWS.

mod common;

use abi::Errno;
use common::tcp::*;
use common::*;
use net::tcp::TcpState::*;

#[test]
fn a_reset_at_rcv_nxt_ends_the_connection() {
    let mut t = T::new();
    let (c, p) = t.connected(7);
    t.input(&p.frame(RST, &[]));
    assert!(t.sent().is_empty());
    assert_eq!(t.recv(c, 10), Err(Errno::ECONNRESET));
    assert_eq!(t.recv(c, 10).unwrap(), b"", "then end of file");
    assert_eq!(t.send(c, b"x"), Err(Errno::ENOTCONN));
    assert!(t.s.tcp_poll(c).unwrap().hangup);
    assert_eq!(t.counter("tcp_rsts_in"), 1);
    t.s.tcp_close(&mut t.env, c).unwrap();
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn a_reset_in_the_window_but_not_at_rcv_nxt_is_challenged() {
    let mut t = T::new();
    let (c, p) = t.connected(7);
    t.input(&p.frame_at(p.seq + 1000, RST, &[]));
    let ack = t.seg();
    assert!(ack.has(ACK) && !ack.has(RST));
    assert_eq!(ack.ack, p.seq, "the challenge ACK says where we are");
    assert_eq!(t.counter("tcp_challenge_acks"), 1);
    assert_eq!(t.counter("drop_tcp_challenged"), 1);
    assert_eq!(t.tcp_states(), [Established]);
    // Outside the window: dropped without an answer.
    t.input(&p.frame_at(p.seq.wrapping_add(1 << 30), RST, &[]));
    assert!(t.sent().is_empty());
    assert_eq!(t.counter("drop_tcp_out_of_window"), 1);
    assert_eq!(t.tcp_states(), [Established]);
    assert_eq!(t.send(c, b"alive"), Ok(5));
    t.finish_all();
}

#[test]
fn a_syn_on_an_established_connection_is_challenged() {
    let mut t = T::new();
    let (_c, p) = t.connected(7);
    t.input(&p.frame(SYN, &[]));
    let ack = t.seg();
    assert!(ack.has(ACK) && !ack.has(SYN) && !ack.has(RST));
    assert_eq!(t.counter("drop_tcp_challenged"), 1);
    assert_eq!(t.tcp_states(), [Established]);
    t.finish_all();
}

#[test]
fn an_ack_of_data_never_sent_is_answered_and_dropped() {
    let mut t = T::new();
    let (c, p) = t.connected(7);
    t.input(&p.frame_with(
        p.seq,
        p.ack.wrapping_add(5000),
        ACK | PSH,
        &ts_options(501, 0),
        b"bad",
    ));
    let a = t.seg();
    assert_eq!(a.ack, p.seq, "the data was not taken");
    assert_eq!(t.counter("drop_tcp_bad_ack"), 1);
    assert_eq!(t.recv(c, 10), Err(Errno::EAGAIN));
    t.finish_all();
}

#[test]
fn segments_outside_the_window_are_acknowledged() {
    let mut t = T::new();
    let (c, p) = t.connected(7);
    // Old data (already received) and data far ahead.
    t.input(&p.frame_at(p.seq.wrapping_sub(100), ACK, b"old"));
    assert_eq!(t.seg().ack, p.seq);
    t.input(&p.frame_at(p.seq.wrapping_add(1 << 20), ACK, b"far"));
    assert_eq!(t.seg().ack, p.seq);
    assert_eq!(t.counter("drop_tcp_out_of_window"), 2);
    assert_eq!(t.recv(c, 10), Err(Errno::EAGAIN));
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn paws_drops_an_old_timestamp() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    t.input(&p.frame(ACK, b"new"));
    p.seq += 3;
    t.sent();
    // The same numbers, but a timestamp older than the last one seen.
    p.ts = Some((400, 0));
    t.input(&p.frame(ACK, b"dup"));
    assert_eq!(t.seg().ack, p.seq);
    assert_eq!(t.counter("drop_tcp_paws"), 1);
    assert_eq!(t.recv(c, 10).unwrap(), b"new");
    t.finish_all();
}

#[test]
fn a_segment_without_ack_is_dropped() {
    let mut t = T::new();
    let (c, p) = t.connected(7);
    t.input(&p.frame(PSH, b"noack"));
    assert_eq!(t.counter("drop_tcp_no_ack"), 1);
    assert_eq!(t.recv(c, 10), Err(Errno::EAGAIN));
    t.finish_all();
}

#[test]
fn a_listener_resets_an_ack_and_ignores_a_reset() {
    let mut t = T::new();
    t.learn_peer();
    t.listener(80, 4);
    let p = Peer::new(40000, 80);
    t.input(&p.frame_with(p.seq, 777, ACK, &[], &[]));
    let r = t.seg();
    assert!(r.has(RST));
    assert_eq!(r.seq, 777);
    assert_eq!(t.counter("drop_tcp_bad_ack"), 1);
    t.input(&p.frame(RST, &[]));
    t.input(&p.frame(FIN, &[]));
    assert!(t.sent().is_empty());
    assert_eq!(t.counter("drop_tcp_unexpected"), 2);
    t.finish_all();
}

#[test]
fn a_reset_in_syn_received_returns_to_listen() {
    let mut t = T::new();
    t.learn_peer();
    let l = t.listener(80, 4);
    let mut p = Peer::new(40000, 80);
    t.input(&p.frame(SYN, &[]));
    p.seq += 1;
    let synack = t.seg();
    p.saw(&synack);
    assert_eq!(t.tcp_states(), [Listen, SynReceived]);
    t.input(&p.frame(RST, &[]));
    assert_eq!(t.tcp_states(), [Listen]);
    assert_eq!(t.s.tcp_accept(l), Err(Errno::EAGAIN));
    // A broadcast segment is never TCP's.
    let seg = tcp(p.addr, (OUR_IP, 80), 1, 0, SYN, 100, &[], &[]);
    t.input(&eth(
        OUR_MAC,
        PEER_MAC,
        wire::ethernet::EtherType::IPV4,
        &ipv4(PEER_IP, [10, 0, 2, 255], wire::ipv4::IpProtocol::TCP, &{
            let mut s = seg.clone();
            wire::tcp::fill_checksum(PEER_IP, [10, 0, 2, 255], &mut s);
            s
        }),
    ));
    assert_eq!(t.counter("drop_tcp_not_unicast"), 1);
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn a_bad_ack_in_syn_received_is_reset() {
    let mut t = T::new();
    t.learn_peer();
    t.listener(80, 4);
    let mut p = Peer::new(40000, 80);
    t.input(&p.frame(SYN, &[]));
    p.seq += 1;
    t.seg();
    t.input(&p.frame_with(p.seq, 12345, ACK, &[], &[]));
    let r = t.seg();
    assert!(r.has(RST));
    assert_eq!(r.seq, 12345);
    assert_eq!(t.tcp_states(), [Listen, SynReceived]);
    t.finish_all();
}

#[test]
fn challenge_acks_are_rate_limited() {
    let mut t = T::new();
    let (_c, p) = t.connected(7);
    let n = net::tcp::ACK_THROTTLE_PER_SEC as usize;
    for _ in 0..n + 5 {
        t.input(&p.frame_at(p.seq + 1000, RST, &[]));
    }
    assert_eq!(t.segs().len(), n);
    assert_eq!(t.counter("tcp_challenge_acks_limited"), 5);
    t.tick(1000);
    t.input(&p.frame_at(p.seq + 1000, RST, &[]));
    assert_eq!(t.segs().len(), 1, "a second later, again");
    assert_eq!(t.tcp_states(), [Established]);
    t.finish_all();
}

#[test]
fn a_new_syn_replaces_a_connection_in_time_wait() {
    let mut t = T::new();
    let (_l, p) = t.in_time_wait(80);
    // The same pair again, numbered after the old connection.
    t.input(&p.frame_at(p.seq + 100_000, SYN, &[]));
    let synack = t.seg();
    assert!(synack.has(SYN | ACK));
    assert_eq!(t.tcp_states(), [Listen, SynReceived]);
    t.finish_all();
}

#[test]
fn acks_of_segments_outside_the_window_are_rate_limited() {
    let mut t = T::new();
    let (_c, p) = t.connected(7);
    let n = net::tcp::ACK_THROTTLE_PER_SEC as usize;
    for _ in 0..n + 5 {
        t.input(&p.frame_at(p.seq.wrapping_add(1 << 20), ACK, b"far"));
    }
    assert_eq!(t.segs().len(), n);
    assert_eq!(t.counter("tcp_oow_acks_limited"), 5);
    assert_eq!(t.counter("drop_tcp_out_of_window"), n as u64 + 5);
    // Its own budget: challenge ACKs are still sent.
    t.input(&p.frame_at(p.seq + 1000, RST, &[]));
    assert_eq!(t.segs().len(), 1);
    assert_eq!(t.counter("tcp_challenge_acks"), 1);
    t.tick(1000);
    t.input(&p.frame_at(p.seq.wrapping_sub(100), ACK, b"old"));
    assert_eq!(t.seg().ack, p.seq, "a second later, answered again");
    assert_eq!(t.tcp_states(), [Established]);
    t.finish_all();
}
