//! Loss and recovery, frame by frame: the retransmission timer backing
//! off until the connection fails (RFC 6298), SYN retries, fast
//! retransmit on three duplicate ACKs (RFC 5681), the zero window and its
//! probes, Nagle, out-of-order data with SACK, duplicates, keep-alive.

mod common;

use abi::net::SockAddrIn;
use abi::Errno;
use common::tcp::*;
use common::*;
use net::tcp::{DATA_RETRIES, SYNACK_RETRIES, SYN_RETRIES};
use wire::arp::ArpOperation;
use wire::ethernet::EtherType;

/// Ticks `total_ms` in 10 ms steps; the times (since the start) at which
/// segments went out, with the segments. The peer answers ARP (its
/// entry expires over such times).
fn run_timers(t: &mut T, total_ms: u64) -> Vec<(u64, Seg)> {
    run_timers_by(t, total_ms, 10)
}

/// [`run_timers`] in steps of `step_ms`.
fn run_timers_by(t: &mut T, total_ms: u64, step_ms: u64) -> Vec<(u64, Seg)> {
    let start = t.env.now;
    let mut out = vec![];
    while t.env.now - start < total_ms {
        t.tick(step_ms);
        let mut frames = t.sent();
        if frames
            .iter()
            .any(|m| parse_eth(m.data()).eth.ethertype() == EtherType::ARP)
        {
            frames.retain(|m| parse_eth(m.data()).eth.ethertype() != EtherType::ARP);
            t.input(&eth(
                OUR_MAC,
                PEER_MAC,
                EtherType::ARP,
                &arp(ArpOperation::REPLY, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP),
            ));
            frames.extend(t.sent());
        }
        for m in frames {
            out.push((t.env.now - start, parse_tcp(m.data())));
        }
    }
    out
}

#[test]
fn unacknowledged_data_backs_off_until_etimedout() {
    let mut t = T::new();
    let (c, _p) = t.connected(7);
    t.send(c, b"lost").unwrap();
    let first = t.seg();
    let again = run_timers(&mut t, 20 * 60 * 1000);
    assert_eq!(again.len() as u32, DATA_RETRIES);
    assert!(again
        .iter()
        .all(|(_, s)| s.payload == b"lost" && s.seq == first.seq));
    // Each wait at least doubles (until the 60 s cap).
    let gaps: Vec<u64> = again.windows(2).map(|w| w[1].0 - w[0].0).collect();
    for w in gaps.windows(2) {
        assert!(w[1] >= 2 * w[0] - 20 || w[1] >= 59_000, "{gaps:?}");
    }
    assert_eq!(t.counter("tcp_rto_timeouts"), DATA_RETRIES as u64);
    assert_eq!(t.counter("tcp_retransmits"), DATA_RETRIES as u64);
    assert_eq!(t.counter("tcp_conn_timeouts"), 1);
    assert!(t.s.tcp_poll(c).unwrap().error);
    assert_eq!(t.send(c, b"x"), Err(Errno::ETIMEDOUT));
    t.s.tcp_close(&mut t.env, c).unwrap();
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn an_unanswered_syn_fails_the_connect() {
    let mut t = T::new();
    t.learn_peer();
    let c = t.tcp_socket();
    t.s.tcp_connect(&mut t.env, c, &SockAddrIn::new(PEER_IP, 7))
        .unwrap();
    let syn = t.seg();
    let again = run_timers(&mut t, 62 * 1000);
    assert_eq!(again.len() as u32, SYN_RETRIES);
    assert!(again.iter().all(|(_, s)| s.has(SYN) && s.seq == syn.seq));
    // From 1 s, each wait doubles: the SYNs at 1, 3, 7, 15 and 31 s.
    let at: Vec<u64> = again.iter().map(|(ms, _)| ms / 1000).collect();
    assert_eq!(at, [1, 3, 7, 15, 31]);
    assert_eq!(t.s.tcp_connected(c), Ok(false), "still trying at 62 s");
    run_timers(&mut t, 2000);
    assert_eq!(t.s.tcp_connected(c), Err(Errno::ETIMEDOUT), "over at 63 s");
    t.s.tcp_close(&mut t.env, c).unwrap();
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn a_lost_syn_ack_is_sent_again() {
    let mut t = T::new();
    t.learn_peer();
    t.listener(80, 4);
    let p = Peer::new(40000, 80);
    t.input(&p.frame(SYN, &[]));
    let first = t.seg();
    // The peer did not get it and sends its SYN again.
    t.input(&p.frame(SYN, &[]));
    let again = t.seg();
    assert!(again.has(SYN | ACK));
    assert_eq!(again.seq, first.seq);
    assert_eq!(t.counter("drop_tcp_duplicate"), 1);
    // Unanswered, the half-open connection gives up after its retries,
    // the timer doubling from 1 s: half a minute, not minutes.
    let resent = run_timers(&mut t, 30 * 1000);
    let at: Vec<u64> = resent.iter().map(|(ms, _)| ms / 1000).collect();
    assert_eq!(at, [1, 3, 7, 15]);
    assert_eq!(t.tcp_states().len(), 2, "still half-open at 30 s");
    let resent = run_timers(&mut t, 2000);
    assert_eq!(resent.len(), 0);
    assert_eq!(t.tcp_states(), [net::tcp::TcpState::Listen], "gone at 31 s");
    assert_eq!(at.len() as u32, SYNACK_RETRIES);
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn three_duplicate_acks_retransmit_at_once() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    // The peer's first ACK scales its window: later ones are duplicates.
    t.input(&p.frame(ACK, &[]));
    let data = vec![1u8; 8 * 1448];
    let n = t.send(c, &data).unwrap();
    assert_eq!(n, data.len());
    let segs = t.segs();
    assert!(segs.len() >= 2, "the initial window: {}", segs.len());
    // The first is lost; each later one draws a duplicate ACK. The first
    // two each let one new segment out (limited transmit, RFC 3042), the
    // third brings the lost one again.
    let lost = segs[0].clone();
    let next_new = segs.last().unwrap().seq + segs.last().unwrap().payload.len() as u32;
    let mut re = Vec::new();
    for i in 0..3u32 {
        t.input(&p.frame(ACK, &[]));
        let out = t.segs();
        assert_eq!(out.len(), 1, "one segment per duplicate");
        if i < 2 {
            assert_eq!(
                out[0].seq,
                next_new + i * 1448,
                "new data, limited transmit"
            );
        }
        re.extend(out);
    }
    assert_eq!(re[2].seq, lost.seq, "fast retransmit");
    assert_eq!(re[2].payload, lost.payload);
    assert_eq!(t.counter("tcp_fast_retransmits"), 1);
    assert_eq!(t.counter("tcp_dup_acks_in"), 3);
    assert_eq!(t.counter("tcp_rto_timeouts"), 0);
    // Everything acknowledged: recovery ends, the rest flows.
    let mut sent: Vec<Seg> = segs.into_iter().chain(re).collect();
    let mut rounds = 0;
    while t.s.tcp_poll(c).is_ok() && rounds < 50 {
        let Some(last) = sent.iter().max_by_key(|s| s.seq.wrapping_sub(lost.seq)) else {
            break;
        };
        p.saw(last);
        t.input(&p.frame(ACK, &[]));
        sent = t.segs();
        rounds += 1;
        if sent.is_empty() {
            break;
        }
    }
    assert_eq!(p.ack, lost.seq.wrapping_add(data.len() as u32));
    t.s.tcp_close(&mut t.env, c).unwrap();
    t.finish_all();
}

#[test]
fn a_silent_tail_draws_a_probe_two_round_trips_later() {
    let mut t = T::new();
    let (c, p) = t.connected(7);
    t.input(&p.frame(ACK, &[]));
    // Two segments, and nothing comes back.
    t.send(c, &[2; 2 * 1448]).unwrap();
    let tail = t.segs();
    assert_eq!(tail.len(), 2);
    let out = run_timers_by(&mut t, 150, 1);
    // RFC 8985 7.2: two round trips (here well under a millisecond,
    // so the 10 ms floor); nothing new to send, so the last segment
    // again, long before the retransmission timer (at least 200 ms).
    let times: Vec<u64> = out.iter().map(|(ms, _)| *ms).collect();
    assert_eq!(times, [10], "one probe: {out:?}");
    assert_eq!(out[0].1.seq, tail[1].seq, "the last segment");
    assert_eq!(out[0].1.payload, tail[1].payload);
    assert_eq!(t.counter("tcp_tail_loss_probes"), 1);
    assert_eq!(t.counter("tcp_rto_timeouts"), 0);
    // One probe at a time: the next is the timer's.
    let later = run_timers_by(&mut t, 300, 10);
    assert_eq!(t.counter("tcp_tail_loss_probes"), 1);
    assert_eq!(t.counter("tcp_rto_timeouts"), 1);
    assert_eq!(later[0].1.seq, tail[0].seq, "go back to SND.UNA");
    t.s.tcp_close(&mut t.env, c).unwrap();
    t.finish_all();
}

#[test]
fn a_zero_window_is_probed_until_it_opens() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    p.window = 0;
    t.input(&p.frame(ACK, &[]));
    t.send(c, b"waiting").unwrap();
    assert!(t.sent().is_empty(), "nothing fits a closed window");
    let probes = run_timers(&mut t, 5000);
    assert!(probes.len() >= 2, "{probes:?}");
    let (_, probe) = &probes[0];
    assert!(probe.payload.is_empty());
    assert_eq!(probe.seq, p.ack.wrapping_sub(1), "one before SND.UNA");
    assert!(probes[1].0 - probes[0].0 > probes[0].0, "backed off");
    assert_eq!(t.counter("tcp_window_probes"), probes.len() as u64);
    assert_eq!(t.counter("tcp_conn_timeouts"), 0);
    p.window = 1000;
    t.input(&p.frame(ACK, &[]));
    assert_eq!(t.seg().payload, b"waiting");
    assert!(run_timers(&mut t, 100).is_empty());
    t.finish_all();
}

#[test]
fn a_closed_window_answered_is_probed_for_ever_a_silent_peer_times_out() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    p.window = 0;
    t.input(&p.frame(ACK, &[]));
    t.send(c, b"waiting").unwrap();
    // A peer that answers every probe, its window still closed: no limit.
    let mut answered = 0;
    while answered < 2 * DATA_RETRIES {
        for _ in run_timers(&mut t, 1000) {
            t.input(&p.frame(ACK, &[]));
            answered += 1;
        }
    }
    assert_eq!(t.counter("tcp_conn_timeouts"), 0);
    assert!(!t.s.tcp_poll(c).unwrap().error);
    // Then it falls silent: DATA_RETRIES more probes, and the connection
    // fails as for unacknowledged data.
    let probes_before = t.counter("tcp_window_probes");
    run_timers(&mut t, 60 * 60 * 1000);
    assert_eq!(
        t.counter("tcp_window_probes") - probes_before,
        DATA_RETRIES as u64
    );
    assert_eq!(t.counter("tcp_conn_timeouts"), 1);
    assert_eq!(t.send(c, b"x"), Err(Errno::ETIMEDOUT));
    t.s.tcp_close(&mut t.env, c).unwrap();
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn nagle_holds_small_segments_while_data_is_unacknowledged() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    t.send(c, b"a").unwrap();
    let a = t.seg();
    t.send(c, b"b").unwrap();
    t.send(c, b"c").unwrap();
    assert!(t.sent().is_empty(), "held by Nagle");
    p.saw(&a);
    t.input(&p.frame(ACK, &[]));
    assert_eq!(t.seg().payload, b"bc", "coalesced");
    // TCP_NODELAY: each goes at once.
    let mut o = t.s.options(c).unwrap();
    o.nodelay = true;
    t.s.set_options(c, o).unwrap();
    t.send(c, b"d").unwrap();
    t.send(c, b"e").unwrap();
    assert_eq!(t.segs().len(), 2);
    t.finish_all();
}

#[test]
fn out_of_order_data_waits_in_the_device_mbufs_and_is_sacked() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    let start = p.seq;
    // The second segment arrives first.
    t.input(&p.frame_at(start + 5, ACK, b"world"));
    let dup = t.seg();
    assert_eq!(dup.ack, start, "a duplicate ACK at once");
    assert_eq!(dup.sack, [(start + 5, start + 10)]);
    assert_eq!(t.counter("tcp_out_of_order"), 1);
    assert_eq!(t.recv(c, 100), Err(Errno::EAGAIN));
    // The same again: kept once.
    t.input(&p.frame_at(start + 5, ACK, b"world"));
    assert_eq!(t.seg().ack, start);
    assert_eq!(t.counter("drop_tcp_duplicate"), 1);
    // The gap filled: everything acknowledged at once.
    t.input(&p.frame_at(start, ACK, b"hello"));
    p.seq = start + 10;
    let a = t.seg();
    assert_eq!(a.ack, p.seq);
    assert!(a.sack.is_empty());
    assert_eq!(t.recv(c, 100).unwrap(), b"helloworld");
    // Overlapping: only the new part is taken.
    t.input(&p.frame_at(start + 7, ACK, b"ldfresh"));
    assert_eq!(t.recv(c, 100).unwrap(), b"resh");
    t.tick(100);
    assert_eq!(t.seg().ack, start + 14);
    assert_eq!(t.counter("rx_bytes_copied"), 0);
    t.s.tcp_close(&mut t.env, c).unwrap();
    t.finish_all();
}

#[test]
fn a_small_window_is_used_when_nothing_is_in_flight() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    // 1 << 7 = 128 bytes: far below half the largest window seen.
    p.window = 1;
    t.input(&p.frame(ACK, &[]));
    t.send(c, &[5; 1000]).unwrap();
    let s = t.seg();
    assert_eq!(s.payload.len(), 128, "sent, or nothing would ever move");
    p.saw(&s);
    t.input(&p.frame(ACK, &[]));
    assert_eq!(t.seg().payload.len(), 128);
    t.finish_all();
}

#[test]
fn a_one_byte_probe_of_our_closed_window_is_answered() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    t.spend_quickacks(c, &mut p);
    // The last segment was cut to the window.
    p.seq = t.fill_our_window(&mut p).ack;
    // A BSD-style probe: one byte past the closed window.
    t.input(&p.frame(ACK, b"?"));
    let a = t.seg();
    assert_eq!((a.ack, a.window), (p.seq, 0), "not taken, but answered");
    t.finish_all();
}

#[test]
fn after_a_lost_syn_data_starts_with_a_three_second_timer() {
    let mut t = T::new();
    t.learn_peer();
    let c = t.tcp_socket();
    t.s.tcp_connect(&mut t.env, c, &SockAddrIn::new(PEER_IP, 7))
        .unwrap();
    t.seg();
    let again = run_timers(&mut t, 1500);
    assert_eq!(again.len(), 1, "the SYN sent again at 1 s");
    // The answer (no timestamps: the handshake gives no RTT sample).
    let mut p = Peer::new(7, again[0].1.src.1);
    p.saw(&again[0].1);
    t.input(&p.frame_with(p.seq, p.ack, SYN | ACK, &[], &[]));
    t.seg();
    assert_eq!(t.s.tcp_connected(c), Ok(true));
    t.send(c, b"data").unwrap();
    t.seg();
    // RFC 6298 5.7: 3 s, not the 1 s of a fresh connection.
    let resent = run_timers(&mut t, 3500);
    assert_eq!(resent.len(), 1);
    assert_eq!(resent[0].0 / 100, 30, "{:?}", resent[0].0);
    t.finish_all();
}

#[test]
fn keep_alive_probes_an_idle_peer_and_a_silent_one_fails_the_connection() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    let mut o = t.s.options(c).unwrap();
    o.keepalive = net::tcp::Keepalive {
        on: true,
        idle_s: 10,
        intvl_s: 2,
        cnt: 3,
    };
    t.s.set_options(c, o).unwrap();
    // Idle for 10 s, then a probe: one byte before SND.UNA, no data.
    let probes = run_timers(&mut t, 10_500);
    assert_eq!(probes.len(), 1, "{probes:?}");
    let (at, probe) = &probes[0];
    assert_eq!(at / 100, 100);
    assert_eq!(probe.seq, p.ack.wrapping_sub(1));
    assert!(probe.has(ACK) && probe.payload.is_empty());
    // The peer answers (its ACK): the silence starts again.
    p.saw(probe);
    t.input(&p.frame(ACK, &[]));
    assert!(run_timers(&mut t, 9_000).is_empty());
    // Now it stays silent: probes 2 s apart, then a RST and ETIMEDOUT.
    let rest = run_timers(&mut t, 8_000);
    let at: Vec<u64> = rest.iter().map(|(ms, _)| ms / 100).collect();
    assert_eq!(at, [10, 30, 50, 70], "{rest:?}");
    assert!(rest[..3].iter().all(|(_, s)| !s.has(RST)));
    assert!(rest[3].1.has(RST));
    assert_eq!(t.counter("tcp_keepalive_probes"), 4);
    assert_eq!(t.counter("tcp_keepalive_timeouts"), 1);
    assert_eq!(t.recv(c, 10), Err(Errno::ETIMEDOUT));
    t.s.tcp_close(&mut t.env, c).unwrap();
    t.assert_no_leak();
    t.finish_all();
}

#[test]
fn keep_alive_is_off_until_asked_for_then_waits_two_hours() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    assert!(run_timers_by(&mut t, 3 * 3600 * 1000, 1000).is_empty());
    let mut o = t.s.options(c).unwrap();
    o.keepalive.on = true;
    t.s.set_options(c, o).unwrap();
    // Silent for three hours already: probed at once, and answered.
    let probe = run_timers_by(&mut t, 1000, 1000);
    assert_eq!(probe.len(), 1);
    p.saw(&probe[0].1);
    t.input(&p.frame(ACK, &[]));
    // The next after the default two hours.
    assert!(run_timers_by(&mut t, 7199 * 1000, 1000).is_empty());
    assert_eq!(run_timers_by(&mut t, 1000, 1000).len(), 1);
    // Answered by nobody: 8 more probes 75 s apart, then the RST.
    let rest = run_timers_by(&mut t, 9 * 75 * 1000, 1000);
    assert_eq!(rest.len(), 9);
    assert!(rest[8].1.has(RST));
    assert_eq!(t.recv(c, 10), Err(Errno::ETIMEDOUT));
    t.finish_all();
}

/// Timestamps and a SACK option holding `blocks`, as Linux sends them.
fn sack_options(p: &Peer, blocks: &[(u32, u32)]) -> Vec<u8> {
    let (val, ecr) = p.ts.unwrap();
    let mut o = ts_options(val, ecr);
    o.extend_from_slice(&[1, 1, 5, 2 + 8 * blocks.len() as u8]);
    for (l, r) in blocks {
        o.extend_from_slice(&l.to_be_bytes());
        o.extend_from_slice(&r.to_be_bytes());
    }
    o
}

#[test]
fn sack_blocks_choose_the_holes_recovery_resends() {
    let mut t = T::new();
    let (c, mut p) = t.connected(7);
    let data: Vec<u8> = (0..64_000).map(|i| (i % 251) as u8).collect();
    t.send(c, &data).unwrap();
    // Slow start: each segment acknowledged on its own, until a round
    // puts a dozen segments in flight.
    let mut flight = t.segs();
    while flight.len() < 12 {
        for s in &flight {
            p.saw(s);
            t.input(&p.frame(ACK, &[]));
        }
        flight = t.segs();
    }
    let s: Vec<(u32, u32)> = flight
        .iter()
        .map(|s| (s.seq, s.seq + s.payload.len() as u32))
        .collect();
    let una = s[0].0;
    // Segments 0 and 4 are lost; each other one draws a duplicate ACK
    // with SACK blocks (the latest first).
    let dup = |t: &mut T, blocks: &[(u32, u32)]| {
        t.input(&p.frame_with(p.seq, una, ACK, &sack_options(&p, blocks), &[]));
        t.segs()
    };
    // The first two send new data only (limited transmit, RFC 3042).
    let end = s.last().unwrap().1;
    let limited = dup(&mut t, &[(s[1].0, s[1].1)]);
    assert_eq!(limited.iter().map(|g| g.seq).collect::<Vec<_>>(), [end]);
    let limited = dup(&mut t, &[(s[1].0, s[2].1)]);
    assert_eq!(
        limited.iter().map(|g| g.seq).collect::<Vec<_>>(),
        [end + 1448]
    );
    let fast = dup(&mut t, &[(s[1].0, s[3].1)]);
    assert_eq!(fast.len(), 1);
    assert_eq!(fast[0].seq, s[0].0, "fast retransmit of the first hole");
    // The next duplicate shows data past the second hole: it is resent
    // now, not a round trip later after the partial ACK.
    let next = dup(&mut t, &[(s[5].0, s[5].1), (s[1].0, s[3].1)]);
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(
        (next[0].seq, next[0].payload.len() as u32),
        (s[4].0, s[4].1 - s[4].0)
    );
    assert_eq!(t.counter("tcp_sack_retransmits"), 1);
    // The first hole's resend arrives: a partial ACK up to the second
    // hole, which was resent already: not again.
    t.input(&p.frame_with(
        p.seq,
        s[4].0,
        ACK,
        &sack_options(&p, &[(s[5].0, s[11].1)]),
        &[],
    ));
    let after = t.segs();
    assert!(after.iter().all(|x| x.seq != s[4].0), "{after:?}");
    // And the second: everything in, recovery over, the rest flows.
    p.ack = s[11].1;
    t.input(&p.frame(ACK, &[]));
    assert!(!t.segs().is_empty());
    assert_eq!(t.counter("tcp_fast_retransmits"), 1);
    t.finish_all();
}
