//! DHCP messages as the client reads and writes them: what a server's
//! reply says ([`Reply::read`]: the fields and options the client acts on,
//! every option checked by its format's `parse`), and the requests it sends
//! ([`Request::write`]: the fixed part and the options, each through its
//! generated builder). The rules of the bytes are `proto-defs/dhcp.toml`'s.

use wire::dhcp::{
    DhcpClientIdRepr, DhcpDnsServers, DhcpMessage, DhcpMessageRepr, DhcpMessageType,
    DhcpMessageTypeOptionRepr, DhcpOp, DhcpOption, DhcpOptionCode, DhcpParameterRequestListRepr,
    DhcpRequestedAddressRepr, DhcpRouters, DhcpServerIdRepr,
};
use wire::Emit;

use crate::counters::DropReason;
use crate::{Ipv4Addr, MacAddr};

/// What the client asks servers for (option 55).
pub const PARAMETERS: [DhcpOptionCode; 6] = [
    DhcpOptionCode::SUBNET_MASK,
    DhcpOptionCode::ROUTER,
    DhcpOptionCode::DNS_SERVER,
    DhcpOptionCode::LEASE_TIME,
    DhcpOptionCode::RENEWAL_TIME,
    DhcpOptionCode::REBINDING_TIME,
];

/// The smallest BOOTP message relays must pass (RFC 1542, section 2.1):
/// ours are padded to it.
pub const MIN_LEN: usize = 300;

/// A server's reply, as far as the client uses it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    pub kind: DhcpMessageType,
    pub xid: u32,
    pub yiaddr: Ipv4Addr,
    pub server: Option<Ipv4Addr>,
    pub netmask: Option<Ipv4Addr>,
    /// The first (preferred) router and name server.
    pub router: Option<Ipv4Addr>,
    pub dns: Option<Ipv4Addr>,
    pub lease_s: Option<u32>,
    pub t1_s: Option<u32>,
    pub t2_s: Option<u32>,
}

impl Reply {
    /// Reads the DHCP message in `bytes` (a UDP payload) addressed to the
    /// client with hardware address `mac`. Malformed bytes are refused
    /// with the spec's error; a request (not a reply), another client's
    /// reply, or one without a message type with the client's own reason.
    pub fn read(bytes: &[u8], mac: MacAddr) -> Result<Reply, DropReason> {
        let p = DhcpMessage::parse(bytes)?;
        let h = p.header;
        if h.op() != DhcpOp::BOOTREPLY {
            return Err(DropReason::DhcpNotReply);
        }
        if h.chaddr()[..mac.len()] != mac {
            return Err(DropReason::DhcpWrongChaddr);
        }
        let mut r = Reply {
            xid: h.xid(),
            yiaddr: h.yiaddr(),
            ..Reply::default()
        };
        let mut kind = None;
        for option in DhcpMessage::options(&p) {
            match option? {
                DhcpOption::MessageType(o) => kind = Some(o.header.message_type()),
                DhcpOption::ServerId(o) => r.server = Some(o.header.addr()),
                DhcpOption::SubnetMask(o) => r.netmask = Some(o.header.mask()),
                DhcpOption::Router(o) => {
                    r.router = DhcpRouters::elements(&o).first().map(|a| a.addr())
                }
                DhcpOption::DnsServer(o) => {
                    r.dns = DhcpDnsServers::elements(&o).first().map(|a| a.addr())
                }
                DhcpOption::LeaseTime(o) => r.lease_s = Some(o.header.seconds()),
                DhcpOption::RenewalTime(o) => r.t1_s = Some(o.header.seconds()),
                DhcpOption::RebindingTime(o) => r.t2_s = Some(o.header.seconds()),
                _ => {}
            }
        }
        r.kind = kind.ok_or(DropReason::DhcpNoMessageType)?;
        Ok(r)
    }
}

/// A message the client sends.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    pub kind: DhcpMessageType,
    pub xid: u32,
    pub secs: u16,
    pub mac: MacAddr,
    /// Our address, when we have one to renew (RENEWING, REBINDING).
    pub ciaddr: Ipv4Addr,
    /// Option 50: the address asked for (SELECTING) or declined.
    pub requested: Option<Ipv4Addr>,
    /// Option 54: the server chosen (SELECTING) or declined to.
    pub server: Option<Ipv4Addr>,
}

impl Request {
    /// Writes the message into `out` (zeroed, at least [`MIN_LEN`] bytes)
    /// and returns its length: the fixed part, the options, END, and
    /// padding up to [`MIN_LEN`]. None when `out` is too small.
    pub fn write(&self, out: &mut [u8]) -> Option<usize> {
        let mut chaddr = [0; 16];
        chaddr[..self.mac.len()].copy_from_slice(&self.mac);
        let fixed = DhcpMessageRepr {
            op: DhcpOp::BOOTREQUEST,
            xid: self.xid,
            secs: self.secs,
            // Until it has an address the client cannot take a unicast
            // reply (RFC 2131, section 4.1).
            broadcast: self.ciaddr == [0; 4],
            ciaddr: self.ciaddr,
            chaddr,
            ..DhcpMessageRepr::default()
        };
        fixed.emit(out, ()).ok()?;
        let mut w = Writer {
            out,
            at: DhcpMessage::LEN,
        };
        w.put(
            &DhcpMessageTypeOptionRepr {
                code: DhcpOptionCode::MESSAGE_TYPE,
                message_type: self.kind,
            },
            0,
        )?;
        // Option 61: the hardware type (ARP's, as in `htype`) and the MAC.
        let id = w.put(
            &DhcpClientIdRepr {
                code: DhcpOptionCode::CLIENT_ID,
                id_type: DhcpMessage::HTYPE,
            },
            self.mac.len(),
        )?;
        id.copy_from_slice(&self.mac);
        if let Some(addr) = self.requested {
            let code = DhcpOptionCode::REQUESTED_ADDRESS;
            w.put(&DhcpRequestedAddressRepr { code, addr }, 0)?;
        }
        if let Some(addr) = self.server {
            let code = DhcpOptionCode::SERVER_ID;
            w.put(&DhcpServerIdRepr { code, addr }, 0)?;
        }
        if self.kind != DhcpMessageType::DECLINE {
            let code = DhcpOptionCode::PARAMETER_REQUEST_LIST;
            let list = w.put(&DhcpParameterRequestListRepr { code }, PARAMETERS.len())?;
            for (byte, code) in list.iter_mut().zip(PARAMETERS) {
                *byte = code.0;
            }
        }
        let end = w.out.get_mut(w.at)?;
        *end = DhcpOptionCode::END.0;
        // What follows END is PAD (zero), already there.
        Some((w.at + 1).max(MIN_LEN))
    }
}

/// Writes options one after another.
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    /// Writes the option `o` followed by `value_len` bytes of value it does
    /// not hold itself (a list's elements), returned for the caller to fill.
    fn put<E: Emit<Context = ()>>(&mut self, o: &E, value_len: usize) -> Option<&mut [u8]> {
        let start = self.at;
        let len = E::LEN + value_len;
        let option = self.out.get_mut(start..start + len)?;
        o.emit(option, ()).ok()?;
        self.at += len;
        Some(&mut self.out[start + E::LEN..start + len])
    }
}

/// A lease's three times from a reply, in seconds: the lease, T1 and T2,
/// the defaults of RFC 2131 section 4.4.5 (0.5 and 0.875 of the lease)
/// where the server gave none or gave them out of order.
pub fn lease_times(r: &Reply, lease_s: u32) -> (u32, u32, u32) {
    let t1 = lease_s / 2;
    let t2 = (u64::from(lease_s) * 7 / 8) as u32;
    match (r.t1_s, r.t2_s) {
        (Some(a), Some(b)) if a <= b && b <= lease_s => (lease_s, a, b),
        (Some(a), None) if a <= t2 => (lease_s, a, t2),
        (None, Some(b)) if t1 <= b && b <= lease_s => (lease_s, t1, b),
        _ => (lease_s, t1, t2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::dhcp::DhcpParameterRequestList;

    #[test]
    fn a_request_reads_back_through_the_generated_parse() {
        let mut buf = [0u8; 600];
        let req = Request {
            kind: DhcpMessageType::REQUEST,
            xid: 0x1234_5678,
            secs: 3,
            mac: [2, 0, 0, 0, 0, 1],
            ciaddr: [0; 4],
            requested: Some([10, 0, 2, 15]),
            server: Some([10, 0, 2, 2]),
        };
        let n = req.write(&mut buf).unwrap();
        assert_eq!(n, MIN_LEN);
        let p = DhcpMessage::parse(&buf[..n]).unwrap();
        assert!(p.header.broadcast());
        assert_eq!(p.header.xid(), 0x1234_5678);
        let kinds: Vec<_> = DhcpMessage::options(&p)
            .map(|o| match o.unwrap() {
                DhcpOption::Unknown(k, _) => k,
                DhcpOption::MessageType(_) => DhcpOptionCode::MESSAGE_TYPE,
                DhcpOption::ClientId(_) => DhcpOptionCode::CLIENT_ID,
                DhcpOption::RequestedAddress(o) => {
                    assert_eq!(o.header.addr(), [10, 0, 2, 15]);
                    DhcpOptionCode::REQUESTED_ADDRESS
                }
                DhcpOption::ServerId(_) => DhcpOptionCode::SERVER_ID,
                DhcpOption::ParameterRequestList(o) => {
                    let codes = DhcpParameterRequestList::elements(&o);
                    assert_eq!(codes.len(), PARAMETERS.len());
                    DhcpOptionCode::PARAMETER_REQUEST_LIST
                }
                _ => DhcpOptionCode::PAD,
            })
            .collect();
        assert_eq!(
            kinds,
            [
                DhcpOptionCode::MESSAGE_TYPE,
                DhcpOptionCode::CLIENT_ID,
                DhcpOptionCode::REQUESTED_ADDRESS,
                DhcpOptionCode::SERVER_ID,
                DhcpOptionCode::PARAMETER_REQUEST_LIST
            ]
        );
    }

    #[test]
    fn lease_times_fall_back_to_the_rfc_defaults() {
        let r = Reply::default();
        assert_eq!(lease_times(&r, 800), (800, 400, 700));
        let given = Reply {
            t1_s: Some(100),
            t2_s: Some(200),
            ..r
        };
        assert_eq!(lease_times(&given, 800), (800, 100, 200));
        let backwards = Reply {
            t1_s: Some(300),
            t2_s: Some(200),
            ..r
        };
        assert_eq!(lease_times(&backwards, 800), (800, 400, 700));
    }
}
