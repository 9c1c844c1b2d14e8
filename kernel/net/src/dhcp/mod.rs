//! The DHCP client (RFC 2131, options RFC 2132): how the interface gets
//! its address, netmask, gateway and name server.
//!
//! States, as RFC 2131 figure 5 draws them:
//! - INIT: a DISCOVER is broadcast (a fresh `xid`), then SELECTING.
//! - SELECTING: the first acceptable OFFER is taken; a REQUEST naming its
//!   server is broadcast, then REQUESTING. DISCOVERs are repeated after
//!   4, 8, 16, ... up to 64 s, each ±1 s (section 4.1).
//! - REQUESTING: an ACK from the chosen server gives the lease; the address
//!   is then probed with ARP (RFC 5227: [`PROBES`] requests from 0.0.0.0)
//!   before use. Anyone answering for it, or probing for it too, is a
//!   conflict: the address is DECLINEd and the client starts again after
//!   [`DECLINE_WAIT_MS`] (section 3.1, step 5). A NAK, or
//!   [`REQUEST_TRIES`] unanswered REQUESTs, start again at once.
//! - BOUND: the interface has the lease; an ARP announcement tells the
//!   link. At T1 (the server's, or half the lease) RENEWING: REQUESTs
//!   unicast to the server; at T2 (or 7/8) REBINDING: broadcast to any
//!   server; each retried after half the time left, at least a minute
//!   (section 4.4.5). At the lease's end the address is removed and the
//!   client starts again; so it does after a NAK.
//!
//! Replies reach the client before the sockets (port `DhcpPort.CLIENT`
//! while it runs); each is read by `message::Reply::read`, whose refusals
//! are the spec's errors (`drop_dhcp_bad_cookie`, ...) and the policy's
//! own: another client's reply (`drop_dhcp_wrong_chaddr`), another
//! exchange's (`drop_dhcp_wrong_xid`), one the state does not take
//! (`drop_dhcp_unexpected`), a lease that is not usable
//! (`drop_dhcp_bad_lease`: no server id, lease time or subnet mask, or an
//! address that is not a host's). A static `ifconfig` stops the client.

mod message;

pub use message::{lease_times, Reply, Request, MIN_LEN, PARAMETERS};

use abi::net::{dhcp_state, IfConfig};
use wire::arp::{ArpOperation, ArpPacketRepr};
use wire::dhcp::{DhcpMessageType, DhcpPort};
use wire::dispatch::EthernetNext;
use wire::ethernet::BROADCAST as ETH_BROADCAST;

use crate::counters::{DropReason, Stat};
use crate::ipv4::BROADCAST;
use crate::mbuf::Mbuf;
use crate::route::IfId;
use crate::{Ipv4Addr, MacAddr, NetEnv, Stack};

/// The first retransmission of a DISCOVER or REQUEST, doubled each time.
pub const FIRST_RETRY_MS: u64 = 4_000;
/// The longest wait between retransmissions (RFC 2131, section 4.1).
pub const MAX_RETRY_MS: u64 = 64_000;
/// Each wait is moved by up to this much either way.
pub const RETRY_JITTER_MS: u64 = 1_000;
/// REQUESTs sent in REQUESTING before starting over.
pub const REQUEST_TRIES: u32 = 4;
/// ARP probes of an offered address. RFC 2131 (section 4.4.1) asks only
/// that the client SHOULD check the address, "e.g., with ARP": one
/// request. RFC 5227 (section 2.1.1) asks for far more before the address
/// is used: a random wait of up to PROBE_WAIT (1 s), then PROBE_NUM (3)
/// probes PROBE_MIN to PROBE_MAX (1-2 s) apart, then ANNOUNCE_WAIT (2 s):
/// 4 to 9 s, timed for links whose round trip may take up to a second
/// (its section 1.3); its section 2.2 foresees shorter values for faster
/// links but leaves them to a later document, which has not come. We take
/// RFC 2131's check, in RFC 5227's form (from 0.0.0.0, so no cache learns
/// the address; a conflict is anyone using or probing for it): one probe
/// and [`PROBE_WAIT_MS`] for an answer. So does a fast client in practice
/// (busybox udhcpc's `-a`: one ARP request). A second probe would only
/// guard against the first being lost on a virtual link that loses
/// nothing, and cost another 40-50 ms: a quarter of the time from QEMU's
/// start to the first echo (`cargo xtask bench --boots`).
pub const PROBES: u32 = 1;
/// The wait after each probe for an answer. The probes are most of the
/// time from power-on to a usable address (with 200 ms, 0.42 s of 0.68 s
/// to the first UDP echo on QEMU's user network); a host on a virtual
/// link answers within milliseconds even on a loaded host (QEMU's DHCP
/// server ACKs 6 ms after the REQUEST there), so 40 ms still leaves it
/// several times what it needs.
pub const PROBE_WAIT_MS: u64 = 40;
/// After a DECLINE, the wait before starting again (RFC 2131, section
/// 3.1: at least ten seconds).
pub const DECLINE_WAIT_MS: u64 = 10_000;
/// The shortest wait between REQUESTs in RENEWING and REBINDING (RFC
/// 2131, section 4.4.5).
pub const MIN_RENEW_RETRY_MS: u64 = 60_000;
/// A lease time that never ends (RFC 2131, section 3.3).
pub const INFINITE: u32 = u32::MAX;

/// Where the client is (RFC 2131, figure 5; `Probing` is RFC 5227's check
/// between REQUESTING and BOUND).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not running: the address is static (or none).
    Stopped,
    Init,
    Selecting,
    Requesting,
    Probing,
    Bound,
    Renewing,
    Rebinding,
}

impl State {
    /// The state as `ifconfig` reads it (`abi::net::dhcp_state`).
    pub fn code(self) -> u8 {
        match self {
            State::Stopped => dhcp_state::OFF,
            State::Init => dhcp_state::INIT,
            State::Selecting => dhcp_state::SELECTING,
            State::Requesting => dhcp_state::REQUESTING,
            State::Probing => dhcp_state::PROBING,
            State::Bound => dhcp_state::BOUND,
            State::Renewing => dhcp_state::RENEWING,
            State::Rebinding => dhcp_state::REBINDING,
        }
    }
}

/// A lease: offered, then held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lease {
    pub addr: Ipv4Addr,
    pub netmask: Ipv4Addr,
    /// 0.0.0.0 when the server named no router on the subnet.
    pub gateway: Ipv4Addr,
    pub dns: Ipv4Addr,
    pub server: Ipv4Addr,
    pub lease_s: u32,
    pub t1_s: u32,
    pub t2_s: u32,
    /// When the REQUEST that got it was sent: the lease runs from then
    /// (RFC 2131, section 4.4.1).
    pub start_ms: u64,
}

impl Lease {
    /// What a reply offers, if it is usable.
    fn from_reply(r: &Reply, start_ms: u64) -> Result<Lease, DropReason> {
        let (Some(server), Some(netmask), Some(lease_s)) = (r.server, r.netmask, r.lease_s) else {
            return Err(DropReason::DhcpBadLease);
        };
        let (lease_s, t1_s, t2_s) = lease_times(r, lease_s);
        let mut cfg = IfConfig {
            addr: r.yiaddr,
            netmask,
            gateway: r.router.unwrap_or([0; 4]),
            ..IfConfig::default()
        };
        if cfg.problem().is_some() {
            // A router off the subnet is no gateway; the address stays usable.
            cfg.gateway = [0; 4];
        }
        if cfg.problem().is_some() {
            return Err(DropReason::DhcpBadLease);
        }
        Ok(Lease {
            addr: cfg.addr,
            netmask,
            gateway: cfg.gateway,
            dns: r.dns.unwrap_or([0; 4]),
            server,
            lease_s,
            t1_s,
            t2_s,
            start_ms,
        })
    }

    /// The time `s` seconds into the lease (never, for an infinite one).
    pub fn at(&self, s: u32) -> u64 {
        if self.lease_s == INFINITE {
            u64::MAX
        } else {
            self.start_ms + u64::from(s) * 1000
        }
    }
}

/// The client's state; one per stack.
pub(crate) struct Client {
    state: State,
    xid: u32,
    /// When this exchange began (the `secs` of what we send).
    began_ms: u64,
    /// When the last REQUEST went out.
    sent_ms: u64,
    /// When the state's timer runs out (a retransmission, the next probe,
    /// T1, T2, the lease's end).
    next_ms: u64,
    /// Messages (or probes) sent in this state.
    tries: u32,
    lease: Lease,
    /// The last value of `dhcp_random`.
    seed: u64,
}

impl Client {
    pub(crate) const fn new() -> Self {
        Client {
            state: State::Stopped,
            xid: 0,
            began_ms: 0,
            sent_ms: 0,
            next_ms: 0,
            tries: 0,
            seed: 0,
            lease: Lease {
                addr: [0; 4],
                netmask: [0; 4],
                gateway: [0; 4],
                dns: [0; 4],
                server: [0; 4],
                lease_s: 0,
                t1_s: 0,
                t2_s: 0,
                start_ms: 0,
            },
        }
    }

    pub(crate) fn running(&self) -> bool {
        self.state != State::Stopped
    }
}

impl Stack {
    /// Starts the client from INIT, dropping any address the interface
    /// has (the kernel calls it when the NIC comes up; `ifconfig dhcp`).
    pub fn dhcp_start(&mut self, env: &mut dyn NetEnv) {
        self.unconfigure();
        self.dhcp_discover(env);
    }

    /// Stops the client (a static address was set); the address stays.
    pub fn dhcp_stop(&mut self) {
        self.dhcp.state = State::Stopped;
    }

    pub fn dhcp_state(&self) -> State {
        self.dhcp.state
    }

    /// The lease held or being asked for.
    pub fn dhcp_lease(&self) -> Lease {
        self.dhcp.lease
    }

    /// `ifconfig`: the interface's configuration and the lease (its state,
    /// server, length and what is left of it at `now_ms`).
    pub fn if_config(&self, now_ms: u64) -> IfConfig {
        let mut c = self.iface.to_abi();
        let d = &self.dhcp;
        c.dhcp_state = d.state.code();
        if matches!(d.state, State::Bound | State::Renewing | State::Rebinding) {
            let l = &d.lease;
            c.dhcp_server = l.server;
            c.lease_secs = l.lease_s;
            c.lease_left_secs = if l.lease_s == INFINITE {
                INFINITE
            } else {
                (l.at(l.lease_s).saturating_sub(now_ms) / 1000) as u32
            };
        }
        c
    }

    /// Removes the address, netmask, gateway and name server.
    fn unconfigure(&mut self) {
        let i = &mut self.iface;
        (i.addr, i.netmask, i.gateway, i.dns) = ([0; 4], [0; 4], [0; 4], [0; 4]);
        self.arp_flush();
    }

    /// INIT: a new exchange, its first DISCOVER.
    fn dhcp_discover(&mut self, env: &mut dyn NetEnv) {
        let now = env.now_ms();
        self.dhcp.xid = self.dhcp_random(env);
        self.dhcp.began_ms = now;
        self.dhcp.state = State::Selecting;
        self.dhcp.tries = 0;
        self.dhcp_retransmit(env);
    }

    /// Sends the state's message again (or first) and sets its timer.
    fn dhcp_retransmit(&mut self, env: &mut dyn NetEnv) {
        let now = env.now_ms();
        if self.dhcp.tries > 0 {
            self.counters.bump(Stat::DhcpRetransmits);
        }
        self.dhcp.tries += 1;
        let l = self.dhcp.lease;
        let (kind, to, ciaddr, requested, server) = match self.dhcp.state {
            State::Selecting => (DhcpMessageType::DISCOVER, BROADCAST, [0; 4], None, None),
            State::Requesting => (
                DhcpMessageType::REQUEST,
                BROADCAST,
                [0; 4],
                Some(l.addr),
                Some(l.server),
            ),
            State::Renewing => (DhcpMessageType::REQUEST, l.server, l.addr, None, None),
            State::Rebinding => (DhcpMessageType::REQUEST, BROADCAST, l.addr, None, None),
            _ => return,
        };
        self.dhcp.next_ms = match self.dhcp.state {
            State::Selecting | State::Requesting => now + self.dhcp_backoff(env),
            // Half the time left to T2 (or the lease's end), at least a
            // minute, never past it.
            State::Renewing => renew_retry(now, l.at(l.t2_s)),
            _ => renew_retry(now, l.at(l.lease_s)),
        };
        if kind == DhcpMessageType::REQUEST {
            self.dhcp.sent_ms = now;
        }
        self.dhcp_send(env, kind, to, ciaddr, requested, server);
    }

    /// The wait before retransmission number `tries` (RFC 2131, 4.1).
    fn dhcp_backoff(&mut self, env: &mut dyn NetEnv) -> u64 {
        let doublings = self.dhcp.tries.saturating_sub(1).min(8);
        let base = (FIRST_RETRY_MS << doublings).min(MAX_RETRY_MS);
        let jitter = u64::from(self.dhcp_random(env)) % (2 * RETRY_JITTER_MS + 1);
        base + jitter - RETRY_JITTER_MS
    }

    /// Fresh bits for the `xid` and the jitter: splitmix64 over the fine
    /// clock, the time, our MAC and the last value. RFC 2131 asks only that
    /// clients' xids differ; TCP's keyed ISN generator is left alone (it
    /// keys itself at the first connection, a less predictable moment).
    fn dhcp_random(&mut self, env: &mut dyn NetEnv) -> u32 {
        let mut mac = [0; 8];
        mac[..6].copy_from_slice(&self.iface.mac);
        let mut x =
            self.dhcp.seed ^ env.clock().rotate_left(32) ^ env.now_ms() ^ u64::from_le_bytes(mac);
        // splitmix64 (Steele, Lea, Flood 2014).
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        self.dhcp.seed = x;
        (x >> 32) as u32
    }

    /// Builds one message and sends it from our port to the server's.
    fn dhcp_send(
        &mut self,
        env: &mut dyn NetEnv,
        kind: DhcpMessageType,
        to: Ipv4Addr,
        ciaddr: Ipv4Addr,
        requested: Option<Ipv4Addr>,
        server: Option<Ipv4Addr>,
    ) {
        let Some(mut m) = self.alloc() else { return };
        let secs = (env.now_ms().saturating_sub(self.dhcp.began_ms) / 1000).min(u16::MAX.into());
        let request = Request {
            kind,
            xid: self.dhcp.xid,
            secs: secs as u16,
            mac: self.iface.mac,
            ciaddr,
            requested,
            server,
        };
        let room = m.tailroom().min(crate::ipv4::MTU);
        let Ok(buf) = m.append(room) else { return };
        buf.fill(0);
        let Some(len) = request.write(buf) else {
            self.counters.drop(DropReason::TxNoMbuf);
            return;
        };
        m.trim(len);
        self.counters.bump(Stat::DhcpOut);
        self.udp_output(env, m, DhcpPort::CLIENT.0, (to, DhcpPort::SERVER.0));
    }

    /// A datagram to our DHCP port (the window at its payload) while the
    /// client runs.
    pub(crate) fn dhcp_input(&mut self, env: &mut dyn NetEnv, m: Mbuf) -> Result<(), DropReason> {
        let r = Reply::read(m.data(), self.iface.mac)?;
        drop(m);
        let d = &self.dhcp;
        if r.xid != d.xid {
            return Err(DropReason::DhcpWrongXid);
        }
        let now = env.now_ms();
        let from_chosen = r.server == Some(d.lease.server);
        match (d.state, r.kind) {
            (State::Selecting, DhcpMessageType::OFFER) => {
                self.dhcp.lease = Lease::from_reply(&r, now)?;
                self.counters.bump(Stat::DhcpOffersIn);
                self.dhcp.state = State::Requesting;
                self.dhcp.tries = 0;
                self.dhcp_retransmit(env);
            }
            (State::Requesting, DhcpMessageType::ACK) if from_chosen => {
                self.dhcp.lease = Lease::from_reply(&r, self.dhcp.sent_ms)?;
                self.counters.bump(Stat::DhcpAcksIn);
                self.dhcp.state = State::Probing;
                self.dhcp.tries = 0;
                self.dhcp_probe(env);
            }
            (State::Renewing | State::Rebinding, DhcpMessageType::ACK) => {
                let lease = Lease::from_reply(&r, self.dhcp.sent_ms)?;
                if lease.addr != d.lease.addr {
                    // Another address: the old one's connections would
                    // break silently, so begin again properly.
                    self.counters.bump(Stat::DhcpAcksIn);
                    self.dhcp_start(env);
                    return Ok(());
                }
                self.counters.bump(Stat::DhcpAcksIn);
                self.dhcp.lease = lease;
                self.dhcp_bind();
            }
            (State::Requesting, DhcpMessageType::NAK) if from_chosen => {
                self.counters.bump(Stat::DhcpNaksIn);
                self.dhcp_discover(env);
            }
            (State::Renewing | State::Rebinding, DhcpMessageType::NAK) => {
                self.counters.bump(Stat::DhcpNaksIn);
                self.dhcp_start(env);
            }
            _ => return Err(DropReason::DhcpUnexpected),
        }
        Ok(())
    }

    /// The state's timer: retransmissions, probes, T1, T2, the lease's end.
    pub(crate) fn dhcp_tick(&mut self, env: &mut dyn NetEnv) {
        let d = &self.dhcp;
        let now = env.now_ms();
        if d.state == State::Stopped || now < d.next_ms {
            return;
        }
        let l = d.lease;
        match d.state {
            State::Stopped => {}
            State::Init => self.dhcp_discover(env),
            State::Selecting => self.dhcp_retransmit(env),
            State::Requesting if d.tries < REQUEST_TRIES => self.dhcp_retransmit(env),
            State::Requesting => self.dhcp_discover(env),
            State::Probing if d.tries < PROBES => self.dhcp_probe(env),
            State::Probing => {
                self.dhcp_bind();
                self.arp_announce(env, l.addr);
            }
            State::Bound => {
                // A new exchange; at T1, or T2 already (a server may give
                // them equal).
                self.dhcp.xid = self.dhcp_random(env);
                self.dhcp.state = if now >= l.at(l.t2_s) {
                    State::Rebinding
                } else {
                    State::Renewing
                };
                self.dhcp.began_ms = now;
                self.dhcp.tries = 0;
                self.dhcp_retransmit(env);
            }
            State::Renewing | State::Rebinding if now >= l.at(l.lease_s) => {
                self.counters.bump(Stat::DhcpLeasesExpired);
                self.dhcp_start(env);
            }
            State::Renewing if now >= l.at(l.t2_s) => {
                self.dhcp.state = State::Rebinding;
                self.dhcp.tries = 0;
                self.dhcp_retransmit(env);
            }
            State::Renewing | State::Rebinding => self.dhcp_retransmit(env),
        }
    }

    /// BOUND: the lease goes on the interface; T1 is the next timer.
    fn dhcp_bind(&mut self) {
        let l = self.dhcp.lease;
        let i = &mut self.iface;
        let changed = (i.addr, i.netmask, i.gateway) != (l.addr, l.netmask, l.gateway);
        (i.addr, i.netmask, i.gateway, i.dns) = (l.addr, l.netmask, l.gateway, l.dns);
        if changed {
            self.arp_flush();
        }
        self.counters.bump(Stat::DhcpLeases);
        self.dhcp.state = State::Bound;
        self.dhcp.tries = 0;
        self.dhcp.next_ms = l.at(l.t1_s);
    }

    /// One ARP probe for the offered address (RFC 5227, section 2.1.1:
    /// from 0.0.0.0, so nobody's cache learns it yet).
    fn dhcp_probe(&mut self, env: &mut dyn NetEnv) {
        self.dhcp.tries += 1;
        self.dhcp.next_ms = env.now_ms() + PROBE_WAIT_MS;
        let addr = self.dhcp.lease.addr;
        self.arp_send_probe(env, [0; 4], addr);
    }

    /// An ARP announcement of our new address (RFC 5227, section 2.3).
    fn arp_announce(&mut self, env: &mut dyn NetEnv, addr: Ipv4Addr) {
        self.arp_send_probe(env, addr, addr);
    }

    fn arp_send_probe(&mut self, env: &mut dyn NetEnv, spa: Ipv4Addr, tpa: Ipv4Addr) {
        let Some(mut m) = self.alloc() else { return };
        let probe = ArpPacketRepr {
            oper: ArpOperation::REQUEST,
            sha: self.iface.mac,
            spa,
            tpa,
            ..ArpPacketRepr::default()
        };
        if m.push_emit(&probe, ()).is_err() {
            self.counters.drop(DropReason::TxNoMbuf);
            return;
        }
        self.counters.bump(Stat::ArpRequestsOut);
        self.eth_output(env, m, IfId::Eth0, ETH_BROADCAST, EthernetNext::Arp);
    }

    /// An ARP packet seen while probing: is the address taken? Someone
    /// using it (sender `spa`) or probing for it too (sender 0.0.0.0,
    /// target it) is a conflict (RFC 5227, section 2.1.1): the address
    /// is declined.
    pub(crate) fn dhcp_arp_conflict(
        &mut self,
        env: &mut dyn NetEnv,
        sha: MacAddr,
        spa: Ipv4Addr,
        tpa: Ipv4Addr,
    ) -> bool {
        let (d, addr) = (&self.dhcp, self.dhcp.lease.addr);
        if d.state != State::Probing || sha == self.iface.mac {
            return false;
        }
        if spa != addr && !(spa == [0; 4] && tpa == addr) {
            return false;
        }
        self.counters.bump(Stat::DhcpDeclinesOut);
        let server = Some(d.lease.server);
        self.dhcp_send(
            env,
            DhcpMessageType::DECLINE,
            BROADCAST,
            [0; 4],
            Some(addr),
            server,
        );
        self.dhcp.state = State::Init;
        self.dhcp.next_ms = env.now_ms() + DECLINE_WAIT_MS;
        true
    }
}

/// The next REQUEST in RENEWING or REBINDING: half the time to `until`, at
/// least [`MIN_RENEW_RETRY_MS`], and at `until` at the latest.
fn renew_retry(now: u64, until: u64) -> u64 {
    let half = until.saturating_sub(now) / 2;
    now.saturating_add(half.max(MIN_RENEW_RETRY_MS)).min(until)
}
