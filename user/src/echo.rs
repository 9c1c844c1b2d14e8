//! ICMP echo messages for `SOCK_ICMP` sockets, built and read through the
//! generated `wire::icmpv4` structs rather than byte offsets. The kernel
//! sets the identifier to the socket's own and fills in the checksum, and
//! a socket receives the ICMP message of each reply (no IP header).

use alloc::vec::Vec;
use wire::icmpv4::{Icmpv4Echo, Icmpv4Header, Icmpv4Type};
use zerocopy::FromBytes;

/// Bytes before the data: the ICMP header and the echo identifier/sequence.
pub const ECHO_HEADER_LEN: usize = Icmpv4Header::LEN + Icmpv4Echo::LEN;

/// An echo request with sequence number `seq` carrying `data`.
pub fn request(seq: u16, data: &[u8]) -> Vec<u8> {
    let mut msg = alloc::vec![0u8; ECHO_HEADER_LEN + data.len()];
    let (h, rest) = Icmpv4Header::mut_from_prefix(&mut msg).expect("room for the header");
    h.set_msg_type(Icmpv4Type::ECHO_REQUEST);
    let (echo, payload) = Icmpv4Echo::mut_from_prefix(rest).expect("room for the header");
    echo.set_sequence(seq);
    payload.copy_from_slice(data);
    msg
}

/// The sequence number and data of `msg` if it is an echo reply.
pub fn parse_reply(msg: &[u8]) -> Option<(u16, &[u8])> {
    let (h, rest) = Icmpv4Header::ref_from_prefix(msg).ok()?;
    let (echo, data) = Icmpv4Echo::ref_from_prefix(rest).ok()?;
    (h.msg_type() == Icmpv4Type::ECHO_REPLY).then(|| (echo.sequence(), data))
}
