//! dhcpd: a DHCP server (RFC 2131) for the two-guest LAN.
//! `dhcpd [-n NAMESERVER] [first-address [count [lease-seconds]]]` hands
//! out `count` addresses (default 16, at most [`POOL_MAX`]) from
//! `first-address` (default: the one after ours) on our subnet, each for
//! `lease-seconds` (default 3600), with our netmask, our gateway as router
//! if we have one, and as name server (option 6) NAMESERVER, else ours if
//! we have one (`-n` with our own address when this guest runs `dnsd`);
//! the server id is our address. A client keeps
//! its address for as long as dhcpd runs (found again by its MAC); a
//! declined address is not offered again; a released one is free again.
//! Replies go by broadcast to a client without an address, to its address
//! once it has one (renewing). Each message is printed as it is answered.
#![no_std]
#![no_main]

extern crate alloc;
use abi::net::{IfConfig, SockAddrIn};
use alloc::vec;
use ulib::inet::{Ip, Mac};
use ulib::socket::Socket;
use ulib::{args, netinfo};
use wire::dhcp::{
    DhcpAddressRepr, DhcpDnsServersRepr, DhcpLeaseTimeRepr, DhcpMessage, DhcpMessageRepr,
    DhcpMessageType, DhcpMessageTypeOptionRepr, DhcpOp, DhcpOption, DhcpOptionCode, DhcpPort,
    DhcpRoutersRepr, DhcpServerIdRepr, DhcpSubnetMaskRepr,
};
use wire::ipv4::BROADCAST;
use wire::Emit;

ulib::entry!(main);

const USAGE: &str = "dhcpd [-n NAMESERVER] [first-address [count [lease-seconds]]]";
/// The most addresses one dhcpd hands out.
const POOL_MAX: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Free,
    /// Offered or leased to this MAC.
    Bound([u8; 6]),
    /// A client found it in use (DECLINE): never offered again.
    Declined,
}

struct Server {
    me: IfConfig,
    first: u32,
    slots: [Slot; POOL_MAX],
    count: usize,
    lease_s: u32,
    /// The name server handed out (none: 0.0.0.0).
    dns: [u8; 4],
}

/// What a client's message says.
struct Asked {
    kind: DhcpMessageType,
    xid: u32,
    chaddr: [u8; 16],
    ciaddr: [u8; 4],
    requested: Option<[u8; 4]>,
    server: Option<[u8; 4]>,
}

fn main(argv: &[&str]) -> i32 {
    let me = match netinfo::get_ifconfig() {
        Ok(c) => c,
        Err(e) => return ulib::fail("dhcpd", "ifconfig", e),
    };
    if me.addr == [0; 4] {
        ulib::eprintln!("dhcpd: eth0 has no address: set one first (ifconfig ADDR MASK GW)");
        return 1;
    }
    let mut server = Server {
        me,
        first: u32::from_be_bytes(me.addr) + 1,
        slots: [Slot::Free; POOL_MAX],
        count: 16,
        lease_s: 3600,
        dns: me.dns,
    };
    let mut rest = &argv[1..];
    if let ["-n", ns, more @ ..] = rest {
        match args::ip(ns) {
            Ok(ip) => server.dns = ip,
            Err(p) => return args::bad("dhcpd", &p, USAGE),
        }
        rest = more;
    }
    if rest.len() > 3 {
        return args::bad("dhcpd", "too many arguments", USAGE);
    }
    if let Some(a) = rest.first() {
        match args::ip(a) {
            Ok(ip) => server.first = u32::from_be_bytes(ip),
            Err(p) => return args::bad("dhcpd", &p, USAGE),
        }
    }
    if rest.len() > 1 {
        match args::number("count", rest.get(1).copied(), 1..=POOL_MAX as u64) {
            Ok(n) => server.count = n as usize,
            Err(p) => return args::bad("dhcpd", &p, USAGE),
        }
    }
    if rest.len() > 2 {
        match args::number("lease-seconds", rest.get(2).copied(), 1..=u32::MAX as u64) {
            Ok(n) => server.lease_s = n as u32,
            Err(p) => return args::bad("dhcpd", &p, USAGE),
        }
    }
    let mask = u32::from_be_bytes(me.netmask);
    let (first, last) = (server.first, server.first + server.count as u32 - 1);
    let ours = u32::from_be_bytes(me.addr);
    if first & mask != ours & mask || last & mask != ours & mask || (first..=last).contains(&ours) {
        ulib::eprintln!("dhcpd: the pool must be on our subnet and not hold our address");
        return 1;
    }
    let sock = match Socket::udp() {
        Ok(s) => s,
        Err(e) => return ulib::fail("dhcpd", "socket", e),
    };
    if let Err(e) = sock.bind_port(DhcpPort::SERVER.0) {
        return ulib::fail("dhcpd", "bind", e);
    }
    ulib::println!(
        "dhcpd: serving {} - {} on port {}, leases of {} s, name server {}",
        Ip(first.to_be_bytes()),
        Ip(last.to_be_bytes()),
        DhcpPort::SERVER.0,
        server.lease_s,
        Ip(server.dns)
    );
    let mut buf = vec![0u8; 1500];
    loop {
        let n = match sock.recv_from(&mut buf) {
            Ok((n, _)) => n,
            Err(e) => return ulib::fail("dhcpd", "recvfrom", e),
        };
        let Some(asked) = read(&buf[..n]) else {
            continue; // not a client's DHCP message
        };
        if let Some((kind, yiaddr)) = server.answer(&asked) {
            let mut out = vec![0u8; 576];
            let Some(len) = server.write(&asked, kind, yiaddr, &mut out) else {
                continue;
            };
            // No address yet: by broadcast (RFC 2131, section 4.1).
            let to = if asked.ciaddr == [0; 4] {
                BROADCAST
            } else {
                asked.ciaddr
            };
            if let Err(e) = sock.send_to(&out[..len], SockAddrIn::new(to, DhcpPort::CLIENT.0)) {
                ulib::fail("dhcpd", "sendto", e);
            }
        }
    }
}

/// A client's DHCP message, if `bytes` is a well-formed one.
fn read(bytes: &[u8]) -> Option<Asked> {
    let p = DhcpMessage::parse(bytes).ok()?;
    let h = p.header;
    if h.op() != DhcpOp::BOOTREQUEST {
        return None;
    }
    let mut a = Asked {
        kind: DhcpMessageType(0),
        xid: h.xid(),
        chaddr: h.chaddr(),
        ciaddr: h.ciaddr(),
        requested: None,
        server: None,
    };
    for o in DhcpMessage::options(&p) {
        match o.ok()? {
            DhcpOption::MessageType(o) => a.kind = o.header.message_type(),
            DhcpOption::RequestedAddress(o) => a.requested = Some(o.header.addr()),
            DhcpOption::ServerId(o) => a.server = Some(o.header.addr()),
            _ => {}
        }
    }
    (a.kind != DhcpMessageType(0)).then_some(a)
}

impl Server {
    fn mac(a: &Asked) -> [u8; 6] {
        let mut m = [0; 6];
        m.copy_from_slice(&a.chaddr[..6]);
        m
    }

    fn addr(&self, i: usize) -> [u8; 4] {
        (self.first + i as u32).to_be_bytes()
    }

    fn index(&self, ip: [u8; 4]) -> Option<usize> {
        let i = u32::from_be_bytes(ip).checked_sub(self.first)? as usize;
        (i < self.count).then_some(i)
    }

    /// The reply to `a` and the address it carries, if any.
    fn answer(&mut self, a: &Asked) -> Option<(DhcpMessageType, [u8; 4])> {
        let mac = Self::mac(a);
        let held = (0..self.count).find(|&i| self.slots[i] == Slot::Bound(mac));
        let for_us = a.server.is_none_or(|s| s == self.me.addr);
        match a.kind {
            DhcpMessageType::DISCOVER => {
                let i = held.or_else(|| (0..self.count).find(|&i| self.slots[i] == Slot::Free));
                let Some(i) = i else {
                    ulib::println!("dhcpd: DISCOVER from {}: no address left", Mac(mac));
                    return None;
                };
                self.slots[i] = Slot::Bound(mac);
                ulib::println!("dhcpd: OFFER {} to {}", Ip(self.addr(i)), Mac(mac));
                Some((DhcpMessageType::OFFER, self.addr(i)))
            }
            DhcpMessageType::REQUEST if !for_us => {
                // The client took another server's offer.
                if let Some(i) = held {
                    self.slots[i] = Slot::Free;
                }
                None
            }
            DhcpMessageType::REQUEST => {
                let wanted = a.requested.unwrap_or(a.ciaddr);
                match held.filter(|&i| self.addr(i) == wanted) {
                    Some(i) => {
                        ulib::println!("dhcpd: ACK {} to {}", Ip(wanted), Mac(mac));
                        Some((DhcpMessageType::ACK, self.addr(i)))
                    }
                    None => {
                        ulib::println!("dhcpd: NAK {} to {}", Ip(wanted), Mac(mac));
                        Some((DhcpMessageType::NAK, [0; 4]))
                    }
                }
            }
            DhcpMessageType::DECLINE if for_us => {
                if let Some(i) = a.requested.and_then(|ip| self.index(ip)) {
                    ulib::println!(
                        "dhcpd: DECLINE {} from {}: in use",
                        Ip(self.addr(i)),
                        Mac(mac)
                    );
                    self.slots[i] = Slot::Declined;
                }
                None
            }
            DhcpMessageType::RELEASE if for_us => {
                if let Some(i) = held {
                    ulib::println!("dhcpd: RELEASE {} from {}", Ip(self.addr(i)), Mac(mac));
                    self.slots[i] = Slot::Free;
                }
                None
            }
            _ => None,
        }
    }

    /// Writes the reply into `out` (zeroed); returns its length.
    fn write(
        &self,
        a: &Asked,
        kind: DhcpMessageType,
        yiaddr: [u8; 4],
        out: &mut [u8],
    ) -> Option<usize> {
        DhcpMessageRepr {
            op: DhcpOp::BOOTREPLY,
            xid: a.xid,
            broadcast: a.ciaddr == [0; 4],
            ciaddr: a.ciaddr,
            yiaddr,
            chaddr: a.chaddr,
            ..DhcpMessageRepr::default()
        }
        .emit(out, ())
        .ok()?;
        let mut at = DhcpMessage::LEN;
        let me = &self.me;
        let code = DhcpOptionCode::MESSAGE_TYPE;
        put(
            out,
            &mut at,
            &DhcpMessageTypeOptionRepr {
                code,
                message_type: kind,
            },
        )?;
        let code = DhcpOptionCode::SERVER_ID;
        put(
            out,
            &mut at,
            &DhcpServerIdRepr {
                code,
                addr: me.addr,
            },
        )?;
        if kind != DhcpMessageType::NAK {
            let code = DhcpOptionCode::LEASE_TIME;
            put(
                out,
                &mut at,
                &DhcpLeaseTimeRepr {
                    code,
                    seconds: self.lease_s,
                },
            )?;
            let code = DhcpOptionCode::SUBNET_MASK;
            put(
                out,
                &mut at,
                &DhcpSubnetMaskRepr {
                    code,
                    mask: me.netmask,
                },
            )?;
            if me.gateway != [0; 4] {
                let code = DhcpOptionCode::ROUTER;
                put_list(out, &mut at, &DhcpRoutersRepr { code }, me.gateway)?;
            }
            if self.dns != [0; 4] {
                let code = DhcpOptionCode::DNS_SERVER;
                put_list(out, &mut at, &DhcpDnsServersRepr { code }, self.dns)?;
            }
        }
        *out.get_mut(at)? = DhcpOptionCode::END.0;
        Some(at + 1)
    }
}

/// Writes `o` at `at` and moves past it.
fn put<E: Emit<Context = ()>>(out: &mut [u8], at: &mut usize, o: &E) -> Option<()> {
    o.emit(out.get_mut(*at..*at + E::LEN)?, ()).ok()?;
    *at += E::LEN;
    Some(())
}

/// Writes an address list of one address: its header (whose builder
/// counts the element behind it in the length) and the address.
fn put_list<E: Emit<Context = ()>>(
    out: &mut [u8],
    at: &mut usize,
    header: &E,
    addr: [u8; 4],
) -> Option<()> {
    let end = *at + E::LEN + DhcpAddressRepr::LEN;
    header.emit(out.get_mut(*at..end)?, ()).ok()?;
    *at += E::LEN;
    put(out, at, &DhcpAddressRepr { addr })
}
