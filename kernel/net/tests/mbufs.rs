//! Where the mbufs are and what is copied, seen through `netstat`'s
//! counters: the pool's census follows each buffer through the stack
//! (socket queue, ARP wait, back to the pool), received bytes copied out of
//! an mbuf are counted as `rx_bytes_to_user` when `recvfrom` delivered it
//! and as `rx_bytes_copied` otherwise, and a runt from the device has its
//! own drop counter.

mod common;
use common::*;

use net::{DropReason, MbufState};
use wire::ethernet::EtherType;
use wire::icmpv4::Icmpv4Type;
use wire::ipv4::IpProtocol;
use wire::virtio_net::VirtioNetHdr;

/// The pool's census as `netstat` shows it: free, in the stack, RX posted,
/// on sockets, waiting for ARP, in flight on TX, held for reassembly.
fn census(t: &T) -> [u64; 7] {
    [
        "mbufs_free",
        "mbufs_in_stack",
        "mbufs_rx_posted",
        "mbufs_socket",
        "mbufs_arp_wait",
        "mbufs_tx_inflight",
        "mbufs_reassembly",
    ]
    .map(|n| t.counter(n))
}

#[test]
fn a_datagram_is_on_its_socket_then_copied_once_to_the_reader() {
    let mut t = T::new();
    let total = t.counter("mbufs_total");
    let sock = t.udp_socket(7000);
    t.input(&pad60(udp_frame(5555, 7000, b"hello")));
    assert_eq!(
        census(&t),
        [total - 1, 0, 0, 1, 0, 0, 0],
        "queued on the socket"
    );
    let (m, _) = t.s.recvfrom(sock).unwrap();
    assert_eq!(
        census(&t),
        [total - 1, 1, 0, 0, 0, 0, 0],
        "held by recvfrom"
    );
    // What sys_recvfrom does: one copy to the caller.
    assert_eq!(copied_out(&m), b"hello");
    assert_eq!(t.counter("rx_bytes_to_user"), 5);
    assert_eq!(t.counter("rx_bytes_copied"), 0);
    drop(m);
    assert_eq!(census(&t), [total, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn a_copy_before_recvfrom_is_counted() {
    let mut t = T::new();
    t.learn_gateway();
    let data = [0x5a; 100];
    let icmp = icmp_echo(Icmpv4Type::ECHO_REQUEST, 1, 1, &data);
    t.input(&eth(
        OUR_MAC,
        GW_MAC,
        EtherType::IPV4,
        &ipv4(GW_IP, OUR_IP, IpProtocol::ICMP, &icmp),
    ));
    // The echo reply is the request's own buffer. Were the driver to copy
    // it (say into a bounce buffer), through the one copy function:
    let sent = t.sent();
    assert_eq!(sent.len(), 1);
    let n = copied_out(&sent[0]).len() as u64;
    assert_eq!(t.counter("rx_bytes_copied"), n);
    assert_eq!(t.counter("rx_bytes_to_user"), 0);
}

#[test]
fn frames_we_build_are_not_received_until_looped_back() {
    let mut t = T::new();
    t.learn_gateway();
    let tx = t.udp_socket(0);
    t.send_udp(tx, (GW_IP, 7), b"out").unwrap();
    copied_out(&t.sent()[0]);
    assert_eq!(t.counter("rx_bytes_copied"), 0, "our own frame");
    // To our own address: looped back into the receive path.
    let rx = t.udp_socket(9000);
    t.send_udp(tx, (OUR_IP, 9000), b"to myself").unwrap();
    let (m, from) = t.s.recvfrom(rx).unwrap();
    assert_eq!(from.addr_be, OUR_IP);
    copied_out(&m);
    assert_eq!(t.counter("rx_bytes_to_user"), 9);
    assert_eq!(t.counter("rx_bytes_copied"), 0);
}

#[test]
fn packets_waiting_for_arp_are_counted_until_sent_or_dropped() {
    let mut t = T::new();
    let total = t.counter("mbufs_total");
    let s = t.udp_socket(0);
    t.send_udp(s, (PEER_IP, 7), b"a").unwrap();
    t.send_udp(s, (PEER_IP, 7), b"b").unwrap();
    let requests = t.sent();
    assert_eq!(census(&t)[4], 2, "two wait for the peer's MAC");
    t.input(&eth(
        OUR_MAC,
        PEER_MAC,
        EtherType::ARP,
        &arp(
            wire::arp::ArpOperation::REPLY,
            PEER_MAC,
            PEER_IP,
            OUR_MAC,
            OUR_IP,
        ),
    ));
    let sent = t.sent();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|m| m.state() == MbufState::InStack));
    assert_eq!(census(&t), [total - 3, 3, 0, 0, 0, 0, 0]);
    drop((requests, sent));
    assert_eq!(census(&t), [total, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn closing_a_socket_frees_what_it_held() {
    let mut t = T::new();
    let total = t.counter("mbufs_total");
    let sock = t.udp_socket(7000);
    for _ in 0..3 {
        t.input(&pad60(udp_frame(5555, 7000, b"x")));
    }
    assert_eq!(census(&t)[3], 3);
    t.s.close(sock).unwrap();
    assert_eq!(census(&t), [total, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn a_runt_from_the_device_has_its_own_counter() {
    let mut t = T::new();
    // What the virtio-net driver does with each used RX buffer.
    let mut m = t.pool().alloc().unwrap();
    m.set_state(MbufState::RxPosted);
    assert_eq!(census(&t)[2], 1);
    let r = m.rx_complete(VirtioNetHdr::LEN - 1, VirtioNetHdr::LEN);
    assert_eq!(r, Err(DropReason::RxRunt));
    t.s.count_drop(r.unwrap_err());
    assert_eq!(t.drops(), vec![("drop_rx_runt".to_string(), 1)]);
    assert_eq!(census(&t)[2], 0);
    // A whole frame goes on up to the socket.
    let sock = t.udp_socket(7000);
    let frame = pad60(udp_frame(5555, 7000, b"whole"));
    let mut m = t.pool().alloc().unwrap();
    m.set_state(MbufState::RxPosted);
    let written = VirtioNetHdr::LEN + frame.len();
    m.append(written).unwrap()[VirtioNetHdr::LEN..].copy_from_slice(&frame);
    m.reset(); // the device wrote at the tail; rx_complete takes it
    m.rx_complete(written, VirtioNetHdr::LEN).unwrap();
    t.s.input(&mut t.env, m);
    let (m, _) = t.s.recvfrom(sock).unwrap();
    assert_eq!(m.data(), b"whole");
    assert_eq!(t.drops().len(), 1);
}
