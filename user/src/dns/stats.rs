//! The resolver's counters: the queries it sent, the replies it took, and
//! each reply it refused under the reason it was refused for. The resolver
//! runs in the program that asks (`host`, `ping`, ...), so these count that
//! program's lookups only; the kernel's counters (`netstat`) never see them.
//! `host -v` prints them all.
//!
//! A refused reply is one [`read_reply`](super::message::read_reply) could
//! not use: it breaks a rule of `proto-defs/dns.toml` (one counter per
//! [`DnsError`], `drop_dns_name_loop` for `DnsError::NameLoop`), answers
//! another query (`drop_dns_not_ours`: another id or question), or leads
//! through more CNAMEs than the resolver follows
//! (`drop_dns_too_many_cnames`).

use super::message::ReplyError;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use wire::dns::DnsError;

/// An event worth counting besides the refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A query sent over UDP (each try).
    QueryUdp,
    /// A query sent over TCP (after a truncated reply).
    QueryTcp,
    /// A reply read and used: addresses, NXDOMAIN, a server's error code.
    Reply,
    /// A reply the server truncated (`tc`), asked again over TCP.
    Truncated,
    /// A try that got no usable reply in its time.
    Timeout,
}

impl Event {
    const ALL: [Event; 5] = [
        Event::QueryUdp,
        Event::QueryTcp,
        Event::Reply,
        Event::Truncated,
        Event::Timeout,
    ];

    /// The counter's name as `host -v` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            Event::QueryUdp => "dns_queries_udp",
            Event::QueryTcp => "dns_queries_tcp",
            Event::Reply => "dns_replies",
            Event::Truncated => "dns_replies_truncated",
            Event::Timeout => "dns_timeouts",
        }
    }
}

/// One counter per event, per spec error, and the two refusals of the
/// resolver's own.
static EVENTS: [AtomicU32; Event::ALL.len()] = [const { AtomicU32::new(0) }; Event::ALL.len()];
static MALFORMED: [AtomicU32; DnsError::ALL.len()] =
    [const { AtomicU32::new(0) }; DnsError::ALL.len()];
static NOT_OURS: AtomicU32 = AtomicU32::new(0);
static TOO_MANY_CNAMES: AtomicU32 = AtomicU32::new(0);

/// Counts `event`.
pub fn count(event: Event) {
    let i = Event::ALL.iter().position(|&e| e == event).unwrap_or(0);
    EVENTS[i].fetch_add(1, Ordering::Relaxed);
}

/// Counts a reply `read_reply` returned `outcome` for: a refusal under
/// its reason, anything else as a reply used (a truncated one as such).
pub fn count_reply(outcome: &Result<super::message::Answer, ReplyError>) {
    let refused = match outcome {
        Ok(_) => return count(Event::Reply),
        Err(ReplyError::Truncated) => return count(Event::Truncated),
        Err(ReplyError::Malformed(e)) => {
            let i = DnsError::ALL.iter().position(|x| x == e).unwrap_or(0);
            &MALFORMED[i]
        }
        Err(ReplyError::NotOurs) => &NOT_OURS,
        Err(ReplyError::TooManyCnames) => &TOO_MANY_CNAMES,
        Err(ReplyError::NoSuchName | ReplyError::Server(_) | ReplyError::NoAddress) => {
            return count(Event::Reply)
        }
    };
    refused.fetch_add(1, Ordering::Relaxed);
}

/// Every counter, zero or not: the events, then the refusals.
pub fn counters() -> Vec<(String, u32)> {
    let get = |c: &AtomicU32| c.load(Ordering::Relaxed);
    let mut out: Vec<(String, u32)> = Event::ALL
        .iter()
        .zip(&EVENTS)
        .map(|(e, c)| (e.name().into(), get(c)))
        .collect();
    for (e, c) in DnsError::ALL.iter().zip(&MALFORMED) {
        out.push((format!("drop_dns_{}", e.name()), get(c)));
    }
    out.push(("drop_dns_not_ours".into(), get(&NOT_OURS)));
    out.push(("drop_dns_too_many_cnames".into(), get(&TOO_MANY_CNAMES)));
    out
}
