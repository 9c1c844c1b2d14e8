//! Counters: every frame the stack drops is counted under a named
//! [`DropReason`], and the events worth watching (frames in/out, replies
//! sent, bytes copied on receive) under a [`Stat`]. `netstat` reads them as
//! `abi::net::Counter` name/value pairs through [`Counters::export`].

use abi::net::{Counter, COUNTER_NAME_LEN};

macro_rules! named_enum {
    ($(#[$m:meta])* $ty:ident { $($(#[$d:meta])* $name:ident = $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $ty { $($(#[$d])* $name,)* }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$name,)*];
            pub const COUNT: usize = Self::ALL.len();
            /// The counter's name as `netstat` prints it.
            pub const fn name(self) -> &'static str {
                match self { $($ty::$name => $s,)* }
            }
        }
    };
}

// The header rules of the specs add their own reasons: one per error of the
// generated `parse` functions (`drop_ipv4_bad_ihl` for `Ipv4Error::BadIhl`),
// converted by `?`. A constraint added to a spec is a counter here.
wire::with_parse_errors! {
named_enum! {
    /// Why a frame (or a packet waiting to be sent) was dropped.
    DropReason {
        // Link layer and driver.
        /// Destination MAC is neither ours nor broadcast.
        EthNotForUs = "drop_eth_not_for_us",
        /// Source MAC is a group (multicast/broadcast) address.
        EthBadSource = "drop_eth_bad_source",
        /// EtherType with no handler.
        EthUnknownType = "drop_eth_unknown_type",
        /// The driver had no fresh mbuf to repost, so it dropped a frame.
        RxNoMbuf = "drop_rx_no_mbuf",
        /// The device returned fewer bytes than its own header.
        RxRunt = "drop_rx_runt",
        /// No free TX descriptor (or the device refused the frame).
        TxRingFull = "drop_tx_ring_full",
        /// No mbuf to build a reply or request in.
        TxNoMbuf = "drop_tx_no_mbuf",
        // ARP.
        /// Sender address is broadcast/multicast/zero or ours.
        ArpBadSender = "drop_arp_bad_sender",
        /// Request for an address that is not ours.
        ArpNotForUs = "drop_arp_not_for_us",
        /// A reply we did not ask for (would overwrite or add an entry).
        ArpUnsolicited = "drop_arp_unsolicited",
        /// Too many packets already waiting for this address.
        ArpQueueFull = "drop_arp_queue_full",
        /// The address never answered our requests.
        ArpTimeout = "drop_arp_timeout",
        /// Cache full of unresolved entries; the oldest one gave way.
        ArpEvicted = "drop_arp_evicted",
        // IPv4.
        /// A fragment of a TCP segment: TCP takes each segment in one
        /// mbuf, so a segment in fragments is not reassembled.
        Ipv4FragTcp = "drop_ipv4_frag_tcp",
        /// A fragment reaching past 65,535 bytes ("ping of death").
        Ipv4FragTooLong = "drop_ipv4_frag_too_long",
        /// More fragments follow, yet its length is not a whole number
        /// of 8-byte units (or is 0).
        Ipv4FragBadLength = "drop_ipv4_frag_bad_length",
        /// A first fragment too short for its transport header, or TCP at
        /// offset 8 (RFC 1858).
        Ipv4FragTiny = "drop_ipv4_frag_tiny",
        /// It overlapped another fragment or moved the datagram's end:
        /// the whole datagram is dropped, each fragment counted (teardrop).
        Ipv4FragOverlap = "drop_ipv4_frag_overlap",
        /// An exact copy of a fragment already held.
        Ipv4FragDuplicate = "drop_ipv4_frag_duplicate",
        /// A datagram in more fragments than one may have (each counted).
        Ipv4FragTooMany = "drop_ipv4_frag_too_many",
        /// Held for an incomplete datagram that gave way to newer ones.
        Ipv4FragEvicted = "drop_ipv4_frag_evicted",
        /// Held for a datagram that did not complete in time.
        Ipv4FragTimeout = "drop_ipv4_frag_timeout",
        /// Destination is not our address or a broadcast.
        Ipv4NotForUs = "drop_ipv4_not_for_us",
        /// Source is broadcast, multicast or ours.
        Ipv4BadSource = "drop_ipv4_bad_source",
        /// A protocol with no handler (protocol unreachable sent, when
        /// to us and within the rate limit).
        Ipv4UnknownProtocol = "drop_ipv4_unknown_protocol",
        /// Nowhere to send: no gateway for an off-link address.
        Ipv4NoRoute = "drop_ipv4_no_route",
        // ICMP.
        /// A type we do not handle.
        IcmpUnsupported = "drop_icmp_unsupported",
        /// Echo request sent to a broadcast address (ignored, as Linux).
        IcmpBroadcastEcho = "drop_icmp_broadcast_echo",
        /// Echo reply no ICMP socket is waiting for.
        IcmpNoSocket = "drop_icmp_no_socket",
        /// An ICMP error (unreachable, time exceeded) not sent: over the
        /// rate limit.
        IcmpRateLimited = "drop_icmp_rate_limited",
        // UDP.
        /// No socket bound to the port (port unreachable sent).
        UdpNoSocket = "drop_udp_no_socket",
        /// A socket's receive queue was full.
        SocketQueueFull = "drop_socket_queue_full",
        /// Taken off a socket by `recvfrom`, then lost because the
        /// caller's buffer or address pointer was bad (EFAULT).
        SocketCopyFault = "drop_socket_copy_fault",
        /// Loopback: more packets to ourselves than the queue holds.
        LoopbackQueueFull = "drop_loopback_queue_full",
        // TCP.
        /// Not to our unicast address (TCP has no broadcast).
        TcpNotUnicast = "drop_tcp_not_unicast",
        /// No connection or listener for it (a RST was sent, unless it
        /// was one).
        TcpNoConnection = "drop_tcp_no_connection",
        /// A SYN to a listener whose backlog is full.
        TcpBacklogFull = "drop_tcp_backlog_full",
        /// A SYN, and no connection block free.
        TcpTableFull = "drop_tcp_table_full",
        /// Outside the receive window (answered with an ACK).
        TcpOutOfWindow = "drop_tcp_out_of_window",
        /// A RST or SYN in the window but not at RCV.NXT: a challenge
        /// ACK was sent instead (RFC 5961).
        TcpChallenged = "drop_tcp_challenged",
        /// Acknowledges what we never sent (or far too old).
        TcpBadAck = "drop_tcp_bad_ack",
        /// No ACK flag on a segment of a synchronized connection.
        TcpNoAck = "drop_tcp_no_ack",
        /// Older timestamp than the newest seen (PAWS, RFC 7323).
        TcpPaws = "drop_tcp_paws",
        /// Not what the state takes (a listener's non-SYN, a RST
        /// without ACK in SYN-SENT).
        TcpUnexpected = "drop_tcp_unexpected",
        /// Data we already hold (or the reassembly queue is full).
        TcpDuplicate = "drop_tcp_duplicate",
        /// In-order data the receive queue had no room for.
        TcpQueueFull = "drop_tcp_queue_full",
        /// The connections' queues together hold half the pool.
        TcpRxMemory = "drop_tcp_rx_memory",
        /// Data for a connection the user closed: answered with a RST.
        TcpDataAfterClose = "drop_tcp_data_after_close",
        /// A RST in TIME-WAIT, which it does not end (RFC 1337).
        TcpTimeWaitRst = "drop_tcp_time_wait_rst",
        // Forwarding.
        /// Its TTL ran out here (time exceeded sent, within the rate limit).
        ForwardTtlExceeded = "drop_forward_ttl_exceeded",
        /// No route to its destination (net unreachable sent).
        ForwardNoRoute = "drop_forward_no_route",
        /// A directed broadcast of another subnet: not forwarded.
        ForwardBroadcast = "drop_forward_broadcast",
        // NAT.
        /// Every connection entry holds a live flow: a new one cannot start.
        NatTableFull = "drop_nat_table_full",
        /// To a translator's port of ours that no flow holds (or whose
        /// flow expired).
        NatNoMapping = "drop_nat_no_mapping",
        /// A container's datagram the translator cannot rewrite: neither
        /// UDP, TCP nor ICMP echo.
        NatUnsupported = "drop_nat_unsupported",
        /// A container's fragment: only the first carries the ports.
        NatPartial = "drop_nat_partial",
        /// An ICMP error about a translated flow whose quoted datagram
        /// is malformed or fails its header checksum (RFC 5508 REQ-3).
        NatIcmpBadQuote = "drop_nat_icmp_bad_quote",
        /// An ICMP error quoting a translator's port (or a container's
        /// flow) that no live flow holds.
        NatIcmpNoMapping = "drop_nat_icmp_no_mapping",
        // DHCP client (the message's own rules are the spec's).
        /// A BOOTREQUEST to our client port.
        DhcpNotReply = "drop_dhcp_not_reply",
        /// A reply for another client's hardware address.
        DhcpWrongChaddr = "drop_dhcp_wrong_chaddr",
        /// A reply to an exchange that is not ours (or no longer).
        DhcpWrongXid = "drop_dhcp_wrong_xid",
        /// No message type option: BOOTP, not DHCP.
        DhcpNoMessageType = "drop_dhcp_no_message_type",
        /// Not what the client's state takes (an OFFER while requesting, an
        /// ACK or NAK from a server we did not choose).
        DhcpUnexpected = "drop_dhcp_unexpected",
        /// No server id, lease time or subnet mask, or an address that is
        /// not a host's.
        DhcpBadLease = "drop_dhcp_bad_lease",
    }
}
}

named_enum! {
    /// Events counted on the way through.
    Stat {
        FramesIn = "frames_in",
        FramesOut = "frames_out",
        BytesIn = "bytes_in",
        BytesOut = "bytes_out",
        ArpRequestsIn = "arp_requests_in",
        ArpRepliesIn = "arp_replies_in",
        ArpRequestsOut = "arp_requests_out",
        ArpRepliesOut = "arp_replies_out",
        /// Packets that waited for ARP and were then sent.
        ArpQueuedSent = "arp_queued_sent",
        Ipv4In = "ipv4_in",
        Ipv4Out = "ipv4_out",
        /// Accepted with TTL 0 (RFC 1122 3.2.1.7: a host must not drop it).
        Ipv4TtlZero = "ipv4_ttl_zero",
        /// Fragments taken for reassembly.
        Ipv4FragmentsIn = "ipv4_fragments_in",
        /// Datagrams made whole from their fragments.
        Ipv4Reassembled = "ipv4_reassembled",
        /// Fragments sent (datagrams longer than the MTU).
        Ipv4FragmentsOut = "ipv4_fragments_out",
        IcmpEchoRequestsIn = "icmp_echo_requests_in",
        IcmpEchoRepliesOut = "icmp_echo_replies_out",
        IcmpEchoRequestsOut = "icmp_echo_requests_out",
        IcmpEchoRepliesIn = "icmp_echo_replies_in",
        /// Destination unreachable sent: port or protocol.
        IcmpUnreachOut = "icmp_unreach_out",
        /// Time exceeded sent: a datagram's reassembly timed out.
        IcmpTimeExceededOut = "icmp_time_exceeded_out",
        IcmpUnreachIn = "icmp_unreach_in",
        UdpIn = "udp_in",
        UdpOut = "udp_out",
        /// Datagrams and echo replies queued on sockets.
        SocketDelivered = "socket_delivered",
        SocketRecvs = "socket_recvs",
        TcpSegsIn = "tcp_segs_in",
        TcpSegsOut = "tcp_segs_out",
        /// connect() sent a SYN.
        TcpActiveOpens = "tcp_active_opens",
        /// A listener answered a SYN.
        TcpPassiveOpens = "tcp_passive_opens",
        /// Segments (and SYNs, FINs) sent again.
        TcpRetransmits = "tcp_retransmits",
        /// Retransmissions on three duplicate ACKs (RFC 5681).
        TcpFastRetransmits = "tcp_fast_retransmits",
        /// Holes the peer's SACK blocks showed, resent in recovery.
        TcpSackRetransmits = "tcp_sack_retransmits",
        /// Retransmissions found lost in recovery (data sent after them
        /// was SACKed) and sent once more.
        TcpLostRetransmits = "tcp_lost_retransmits",
        /// The retransmission timer expired.
        TcpRtoTimeouts = "tcp_rto_timeouts",
        /// Tail loss probes sent (RFC 8985 7): the flight's end went
        /// unanswered for two round trips.
        TcpTailLossProbes = "tcp_tail_loss_probes",
        /// Connections that gave up after their retries (ETIMEDOUT).
        TcpConnTimeouts = "tcp_conn_timeouts",
        TcpDupAcksIn = "tcp_dup_acks_in",
        /// Segments that arrived ahead of a gap.
        TcpOutOfOrder = "tcp_out_of_order",
        TcpRstsIn = "tcp_rsts_in",
        TcpRstsOut = "tcp_rsts_out",
        /// ACKs sent to a doubtful RST or SYN (RFC 5961).
        TcpChallengeAcks = "tcp_challenge_acks",
        /// Challenge ACKs not sent: over the stack's rate.
        TcpChallengeAcksLimited = "tcp_challenge_acks_limited",
        /// ACKs of segments outside the window (or failing PAWS, or
        /// acknowledging what we never sent) not sent: over the stack's
        /// rate.
        TcpOowAcksLimited = "tcp_oow_acks_limited",
        TcpWindowProbes = "tcp_window_probes",
        /// Keep-alive probes sent to an idle peer.
        TcpKeepaliveProbes = "tcp_keepalive_probes",
        /// Connections failed because no keep-alive probe was answered.
        TcpKeepaliveTimeouts = "tcp_keepalive_timeouts",
        /// ACKs sent when the delayed-ACK timer ran out.
        TcpDelayedAcks = "tcp_delayed_acks",
        /// Half-open connections dropped for a newer SYN (backlog full).
        TcpHalfOpenDropped = "tcp_half_open_dropped",
        /// Connections reset because the user closed with unread data.
        TcpUnreadResets = "tcp_unread_resets",
        /// DHCP messages our client sent (DISCOVER, REQUEST, DECLINE).
        Forwarded = "ipv4_forwarded",
        NatOut = "nat_out",
        NatIn = "nat_in",
        NatExpired = "nat_expired",
        /// ICMP errors about translated flows, given back to the container
        /// (in by `eth0`) or to the outside (out by `eth0`).
        NatIcmpErrorsIn = "nat_icmp_errors_in",
        NatIcmpErrorsOut = "nat_icmp_errors_out",
        /// Datagrams from a container to a published port of our address,
        /// turned back onto the bridge (hairpin).
        NatHairpin = "nat_hairpin",
        DhcpOut = "dhcp_out",
        /// DISCOVERs and REQUESTs sent again, unanswered.
        DhcpRetransmits = "dhcp_retransmits",
        DhcpOffersIn = "dhcp_offers_in",
        DhcpAcksIn = "dhcp_acks_in",
        DhcpNaksIn = "dhcp_naks_in",
        /// Offered addresses an ARP probe found in use.
        DhcpDeclinesOut = "dhcp_declines_out",
        /// Leases put on the interface (new or renewed).
        DhcpLeases = "dhcp_leases",
        /// Leases that ran out unrenewed (the address removed).
        DhcpLeasesExpired = "dhcp_leases_expired",
    }
}

/// All counters of one stack.
pub struct Counters {
    drops: [u64; DropReason::COUNT],
    stats: [u64; Stat::COUNT],
}

impl Default for Counters {
    fn default() -> Self {
        Self::new()
    }
}

impl Counters {
    pub const fn new() -> Self {
        Counters {
            drops: [0; DropReason::COUNT],
            stats: [0; Stat::COUNT],
        }
    }

    pub fn drop(&mut self, r: DropReason) {
        self.drops[r as usize] += 1;
    }

    pub fn bump(&mut self, s: Stat) {
        self.add(s, 1);
    }

    pub fn add(&mut self, s: Stat, n: u64) {
        self.stats[s as usize] += n;
    }

    pub fn drops(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }

    pub fn stat(&self, s: Stat) -> u64 {
        self.stats[s as usize]
    }

    /// Sum of all drop counters.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Every counter with its name, stats first, then drops, then `extra`
    /// (e.g. the pool's `mbufs_free`/`mbufs_total`); returns how many were
    /// written to `out`.
    pub fn export(&self, extra: &[(&str, u64)], out: &mut [Counter]) -> usize {
        let stats = Stat::ALL.iter().map(|&s| (s.name(), self.stat(s)));
        let drops = DropReason::ALL.iter().map(|&r| (r.name(), self.drops(r)));
        let all = stats.chain(drops).chain(extra.iter().copied());
        let mut n = 0;
        for (slot, (name, value)) in out.iter_mut().zip(all) {
            *slot = Counter::default();
            let len = name.len().min(COUNTER_NAME_LEN - 1);
            slot.name[..len].copy_from_slice(&name.as_bytes()[..len]);
            slot.value = value;
            n += 1;
        }
        n
    }
}

/// Counters added beyond the two enums: the mbuf pool's.
pub const EXTRA_COUNTERS: usize = crate::mbuf::POOL_COUNTERS;

// Every counter fits in one `netstat` call.
const _: () = assert!(Stat::COUNT + DropReason::COUNT + EXTRA_COUNTERS <= abi::net::MAX_COUNTERS);

#[cfg(test)]
mod tests {
    use super::*;
    use abi::net::MAX_COUNTERS;

    #[test]
    fn names_fit_and_are_unique() {
        let mut names: Vec<&str> = Stat::ALL.iter().map(|s| s.name()).collect();
        names.extend(DropReason::ALL.iter().map(|r| r.name()));
        for n in &names {
            assert!(n.len() < COUNTER_NAME_LEN, "{n}");
        }
        let k = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), k);
    }

    #[test]
    fn export_lists_values() {
        let mut c = Counters::new();
        c.drop(DropReason::UdpBadChecksum);
        c.add(Stat::BytesIn, 60);
        let mut out = [Counter::default(); MAX_COUNTERS];
        let n = c.export(&[("mbufs_free", 7)], &mut out);
        assert_eq!(n, Stat::COUNT + DropReason::COUNT + 1);
        let get = |name: &str| out[..n].iter().find(|c| c.name() == name).unwrap().value;
        assert_eq!(get("drop_udp_bad_checksum"), 1);
        assert_eq!(get("bytes_in"), 60);
        assert_eq!(get("mbufs_free"), 7);
    }
}
