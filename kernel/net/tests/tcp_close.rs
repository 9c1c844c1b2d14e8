//! Every way a TCP connection ends (RFC 9293 3.6, figure 5): our FIN
//! first (FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT), the peer's first
//! (CLOSE-WAIT, LAST-ACK), both at once (CLOSING), half-close, and the
//! resets: close with unread data, data after close; then TIME-WAIT's end.

mod common;

use abi::Errno;
use common::tcp::*;
use common::*;
use net::tcp::TcpState::*;
use net::tcp::MSL_MS;

#[test]
fn our_fin_first_through_fin_wait_2_and_time_wait() {
    let mut t = T::new();
    let (_l, c, mut p) = t.accepted(80);
    t.close_with_fin(c, &mut p);
    assert_eq!(t.tcp_states(), [Listen, FinWait1]);
    t.input(&p.frame(ACK, &[]));
    assert_eq!(t.tcp_states(), [Listen, FinWait2]);
    // The peer may still send: the user closed, so that is a reset, but
    // here it sends its FIN.
    t.input(&p.frame(FIN | ACK, &[]));
    p.seq += 1;
    assert_eq!(t.seg().ack, p.seq);
    assert_eq!(t.tcp_states(), [Listen, TimeWait]);
    // Its FIN again (our ACK was lost): acknowledged again.
    t.input(&p.frame_at(p.seq - 1, FIN | ACK, &[]));
    assert_eq!(t.seg().ack, p.seq);
    t.tick(2 * MSL_MS - 1);
    assert_eq!(t.tcp_states(), [Listen, TimeWait]);
    t.tick(2);
    assert_eq!(t.tcp_states(), [Listen]);
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn fin_wait_1_straight_to_time_wait() {
    let mut t = T::new();
    // The peer acknowledges our FIN and sends its own in one segment.
    t.in_time_wait(80);
    t.finish_all();
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut t = T::new();
    let (_l, c, mut p) = t.accepted(80);
    t.s.tcp_close(&mut t.env, c).unwrap();
    let fin = t.seg();
    // The peer's FIN crosses ours: it does not acknowledge ours yet.
    t.input(&p.frame(FIN | ACK, &[]));
    p.seq += 1;
    let ack = t.seg();
    assert_eq!(ack.ack, p.seq);
    assert_eq!(t.tcp_states(), [Listen, Closing]);
    p.saw(&fin);
    t.input(&p.frame(ACK, &[]));
    assert_eq!(t.tcp_states(), [Listen, TimeWait]);
    t.finish_all();
}

#[test]
fn peer_fin_first_through_close_wait_and_last_ack() {
    let mut t = T::new();
    let (_l, c, mut p) = t.accepted(80);
    t.input(&p.frame(ACK | PSH, b"bye"));
    p.seq += 3;
    t.input(&p.frame(FIN | ACK, &[]));
    p.seq += 1;
    let acks = t.segs();
    assert_eq!(
        acks.last().unwrap().ack,
        p.seq,
        "the FIN is acknowledged at once"
    );
    assert_eq!(t.tcp_states(), [Listen, CloseWait]);
    assert!(t.s.tcp_poll(c).unwrap().readable);
    assert_eq!(t.recv(c, 10).unwrap(), b"bye");
    assert_eq!(t.recv(c, 10).unwrap(), b"", "end of file");
    // We can still send in CLOSE-WAIT.
    assert_eq!(t.send(c, b"late"), Ok(4));
    let d = t.seg();
    p.saw(&d);
    t.input(&p.frame(ACK, &[]));
    t.s.tcp_close(&mut t.env, c).unwrap();
    let fin = t.seg();
    assert!(fin.has(FIN));
    assert_eq!(t.tcp_states(), [Listen, LastAck]);
    p.saw(&fin);
    t.input(&p.frame(ACK, &[]));
    assert_eq!(t.tcp_states(), [Listen]);
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn half_close_keeps_receiving() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    t.s.tcp_shutdown(&mut t.env, c, abi::net::SHUT_WR).unwrap();
    let fin = t.seg();
    assert!(fin.has(FIN));
    assert_eq!(t.send(c, b"x"), Err(Errno::EPIPE));
    p.saw(&fin);
    t.input(&p.frame(ACK | PSH, b"still"));
    p.seq += 5;
    assert_eq!(t.tcp_states(), [FinWait2]);
    assert_eq!(t.recv(c, 10).unwrap(), b"still");
    t.input(&p.frame(FIN | ACK, &[]));
    assert_eq!(t.recv(c, 10).unwrap(), b"");
    assert!(t.s.tcp_poll(c).unwrap().hangup);
    assert_eq!(t.tcp_states(), [TimeWait]);
    t.s.tcp_close(&mut t.env, c).unwrap();
    assert_eq!(t.tcp_states(), [TimeWait], "lives on without its socket");
    t.tick(2 * MSL_MS);
    assert!(t.tcp_states().is_empty());
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn closing_with_unread_data_resets() {
    let mut t = T::new();
    let (c, p) = t.connected(7);
    t.input(&p.frame(ACK | PSH, b"never read"));
    t.s.tcp_close(&mut t.env, c).unwrap();
    let r = t.segs();
    let r = r.last().unwrap();
    assert!(r.has(RST));
    assert_eq!(r.ack, p.seq + 10);
    assert_eq!(t.counter("tcp_unread_resets"), 1);
    assert!(t.tcp_states().is_empty());
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn data_after_close_resets() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    t.close_with_fin(c, &mut p);
    t.input(&p.frame(ACK | PSH, b"too late"));
    assert!(t.seg().has(RST));
    assert_eq!(t.counter("drop_tcp_data_after_close"), 1);
    assert!(t.tcp_states().is_empty());
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn an_orphaned_fin_wait_2_does_not_wait_forever() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    t.close_with_fin(c, &mut p);
    t.input(&p.frame(ACK, &[]));
    assert_eq!(t.tcp_states(), [FinWait2]);
    t.tick(2 * MSL_MS);
    assert!(t.tcp_states().is_empty());
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn a_reset_does_not_end_time_wait_early() {
    let mut t = T::new();
    let (_l, p) = t.in_time_wait(80);
    // RFC 1337: an (old or forged) RST, even exactly at RCV.NXT, is
    // ignored; the wait runs its full 2 MSL.
    t.input(&p.frame(RST, &[]));
    t.input(&p.frame(RST | ACK, &[]));
    assert!(t.sent().is_empty());
    assert_eq!(t.counter("drop_tcp_time_wait_rst"), 2);
    assert_eq!(t.tcp_states(), [Listen, TimeWait]);
    t.tick(2 * MSL_MS - 1);
    assert_eq!(t.tcp_states(), [Listen, TimeWait]);
    t.tick(2);
    assert_eq!(t.tcp_states(), [Listen]);
    t.finish_all();
}

#[test]
fn a_fin_after_a_hole_takes_effect_when_the_hole_fills() {
    let mut t = T::new();
    let (_l, c, mut p) = t.accepted(80);
    let start = p.seq;
    // The last segment, with the FIN, overtakes the one before it.
    t.input(&p.frame_at(start + 5, ACK | FIN, b"world"));
    let dup = t.seg();
    assert_eq!(dup.ack, start, "the hole is still there");
    assert_eq!(dup.sack, [(start + 5, start + 10)]);
    assert_eq!(t.tcp_states(), [Listen, Established]);
    assert_eq!(t.recv(c, 100), Err(Errno::EAGAIN));
    // A bare FIN out of order again (the peer's retransmission) changes
    // nothing.
    t.input(&p.frame_at(start + 10, ACK | FIN, &[]));
    assert_eq!(t.seg().ack, start);
    assert_eq!(t.tcp_states(), [Listen, Established]);
    // The hole fills: the data and the FIN are acknowledged together,
    // without the peer sending its FIN again.
    t.input(&p.frame_at(start, ACK, b"hello"));
    p.seq = start + 11;
    assert_eq!(t.seg().ack, p.seq);
    assert_eq!(t.tcp_states(), [Listen, CloseWait]);
    assert_eq!(t.recv(c, 100).unwrap(), b"helloworld");
    assert_eq!(t.recv(c, 100).unwrap(), b"", "then end of file");
    t.close_with_fin(c, &mut p);
    t.input(&p.frame(ACK, &[]));
    assert_eq!(t.tcp_states(), [Listen]);
    t.assert_no_leak();
    t.finish_all();
}
