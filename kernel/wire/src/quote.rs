//! The datagram an ICMP error quotes (RFC 792: its IPv4 header and the
//! first [`ERROR_QUOTED_DATA`] bytes of its data, or more), read and
//! rewritten in place for an address translator (RFC 5508 section 4.1,
//! RFC 3022 section 4.3). Hand-written: what is particular here is that
//! the quote is cut short.
//!
//! The builders compute a length and a checksum from the whole message,
//! which a quote does not hold: the quoted IPv4 header keeps the original
//! datagram's total length, and a transport checksum covers bytes that are
//! not there. So fields are set through the headers' accessors and each
//! checksum adjusted for what changed ([`checksum::adjust`], RFC 1624), as
//! Linux's conntrack does: the IPv4 header's always (after checking it,
//! RFC 5508 REQ-3 a), UDP's unless the sender computed none (zero), TCP's
//! when the quote reaches it, an echo's for its identifier. A transport
//! checksum is never checked: it covers what was not quoted (REQ-3 c).
//!
//! A transport header longer than the quote (TCP's 20 bytes in an 8-byte
//! quote) is read into a whole header whose missing bytes are zero, and
//! written back only as far as it was quoted.

use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::checksum;
use crate::dispatch::{ipv4_next, Ipv4Next};
use crate::icmpv4::{Icmpv4Echo, Icmpv4Header, Icmpv4Type, ERROR_QUOTED_DATA};
use crate::ipv4::{self, Ipv4Header};
use crate::tcp::TcpHeader;
use crate::udp::UdpHeader;

/// Why a quote is not one a translator can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuoteError {
    /// Its IPv4 header is malformed, or fewer than [`ERROR_QUOTED_DATA`]
    /// bytes follow it.
    Malformed,
    /// Its IPv4 header's checksum fails: [`rewrite`] refuses it (RFC 5508
    /// REQ-3 a), [`flow`] does not look.
    BadChecksum,
    /// A fragment past the first: it carries no ports.
    Fragment,
    /// Neither UDP, TCP nor an ICMP echo (an ICMP error quoting an ICMP
    /// error, say).
    Unsupported,
}

/// Which end of the quoted datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Src,
    Dst,
}

/// An address and a port (for an ICMP echo, its identifier at the end that
/// chose it: the source of a request, the destination of a reply; 0 at the
/// other).
pub type Endpoint = ([u8; 4], u16);

/// The flow a quoted datagram belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotedFlow {
    pub protocol: Ipv4Next,
    pub src: Endpoint,
    pub dst: Endpoint,
}

/// The transport header `T` at the front of `bytes`, which may hold only
/// its first bytes (the rest read as zero), and how many it holds.
fn partial<T: FromBytes + IntoBytes>(bytes: &[u8]) -> (T, usize) {
    let mut header = T::new_zeroed();
    let held = bytes.len().min(size_of::<T>());
    header.as_mut_bytes()[..held].copy_from_slice(&bytes[..held]);
    (header, held)
}

/// Writes `header` back over the `held` bytes it was read from.
fn store<T: IntoBytes + Immutable>(header: &T, bytes: &mut [u8], held: usize) {
    bytes[..held].copy_from_slice(&header.as_bytes()[..held]);
}

/// The quoted IPv4 header, its checksum unchecked, and where its data
/// starts.
fn ip_header(quote: &[u8]) -> Result<(&Ipv4Header, usize), QuoteError> {
    let p = Ipv4Header::parse_prefix(quote).map_err(|_| QuoteError::Malformed)?;
    if p.payload.len() < usize::from(ERROR_QUOTED_DATA) {
        return Err(QuoteError::Malformed);
    }
    if p.header.fragment_offset() != 0 {
        return Err(QuoteError::Fragment);
    }
    Ok((p.header, p.header.ihl_bytes()))
}

/// The quoted echo's identifier and whether it is a request; `None` for
/// any other ICMP message.
fn echo(data: &[u8]) -> Option<(u16, bool)> {
    let (h, rest) = Icmpv4Header::ref_from_prefix(data).ok()?;
    let (e, _) = Icmpv4Echo::ref_from_prefix(rest).ok()?;
    match h.msg_type() {
        Icmpv4Type::ECHO_REQUEST => Some((e.identifier(), true)),
        Icmpv4Type::ECHO_REPLY => Some((e.identifier(), false)),
        _ => None,
    }
}

/// The flow of the datagram `quote` holds (from its IPv4 header on). Its
/// header checksum is not checked: whether the quote is a translator's to
/// rewrite comes first.
pub fn flow(quote: &[u8]) -> Result<QuotedFlow, QuoteError> {
    let (ip, header_len) = ip_header(quote)?;
    let data = &quote[header_len..];
    let protocol = ipv4_next(ip.protocol());
    let (sport, dport) = match protocol {
        Ipv4Next::Udp => {
            let (u, _) = partial::<UdpHeader>(data);
            (u.src_port(), u.dst_port())
        }
        Ipv4Next::Tcp => {
            let (t, _) = partial::<TcpHeader>(data);
            (t.src_port(), t.dst_port())
        }
        Ipv4Next::Icmpv4 => match echo(data).ok_or(QuoteError::Unsupported)? {
            (id, true) => (id, 0),
            (id, false) => (0, id),
        },
        Ipv4Next::Unknown(_) => return Err(QuoteError::Unsupported),
    };
    Ok(QuotedFlow {
        protocol,
        src: (ip.src(), sport),
        dst: (ip.dst(), dport),
    })
}

/// Rewrites `end` of the datagram `quote` holds to `to`: its address in
/// the IPv4 header, its port (an echo's identifier), and the checksums
/// that cover them adjusted. Refused when its header checksum fails.
pub fn rewrite(quote: &mut [u8], end: End, to: Endpoint) -> Result<(), QuoteError> {
    let (ip, header_len) = ip_header(quote)?;
    if !ipv4::checksum_ok(&quote[..header_len]) {
        return Err(QuoteError::BadChecksum);
    }
    let (protocol, old_addr) = match end {
        End::Src => (ip.protocol(), ip.src()),
        End::Dst => (ip.protocol(), ip.dst()),
    };
    let (head, data) = quote.split_at_mut(header_len);
    // The transport header: the port, and its checksum for the port and,
    // through the pseudo-header, the address.
    let port = |src: &mut u16, dst: &mut u16| match end {
        End::Src => core::mem::replace(src, to.1),
        End::Dst => core::mem::replace(dst, to.1),
    };
    match ipv4_next(protocol) {
        Ipv4Next::Udp => {
            let (mut u, held) = partial::<UdpHeader>(data);
            let (mut s, mut d) = (u.src_port(), u.dst_port());
            let old_port = port(&mut s, &mut d);
            u.set_src_port(s);
            u.set_dst_port(d);
            if u.checksum() != 0 {
                let c = checksum::adjust(u.checksum(), &old_addr, &to.0);
                let c = checksum::adjust(c, &old_port.to_be_bytes(), &to.1.to_be_bytes());
                // A computed zero is sent as all ones: zero means none (RFC 768).
                u.set_checksum(if c == 0 { !0 } else { c });
            }
            store(&u, data, held);
        }
        Ipv4Next::Tcp => {
            let (mut t, held) = partial::<TcpHeader>(data);
            let (mut s, mut d) = (t.src_port(), t.dst_port());
            let old_port = port(&mut s, &mut d);
            t.set_src_port(s);
            t.set_dst_port(d);
            let c = checksum::adjust(t.checksum(), &old_addr, &to.0);
            t.set_checksum(checksum::adjust(
                c,
                &old_port.to_be_bytes(),
                &to.1.to_be_bytes(),
            ));
            store(&t, data, held);
        }
        Ipv4Next::Icmpv4 => {
            let (_, request) = echo(data).ok_or(QuoteError::Unsupported)?;
            // The identifier is the source's in a request, the
            // destination's in a reply; at the other end only the address
            // changes, which an echo's checksum does not cover.
            if request == (end == End::Src) {
                let (h, rest) =
                    Icmpv4Header::mut_from_prefix(data).map_err(|_| QuoteError::Malformed)?;
                let (e, _) =
                    Icmpv4Echo::mut_from_prefix(rest).map_err(|_| QuoteError::Malformed)?;
                let old = e.identifier();
                e.set_identifier(to.1);
                h.set_checksum(checksum::adjust(
                    h.checksum(),
                    &old.to_be_bytes(),
                    &to.1.to_be_bytes(),
                ));
            }
        }
        Ipv4Next::Unknown(_) => return Err(QuoteError::Unsupported),
    }
    // The IPv4 header: the address, its checksum adjusted.
    let (ip, _) = Ipv4Header::mut_from_prefix(head).map_err(|_| QuoteError::Malformed)?;
    match end {
        End::Src => ip.set_src(to.0),
        End::Dst => ip.set_dst(to.0),
    }
    ip.set_header_checksum(checksum::adjust(ip.header_checksum(), &old_addr, &to.0));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipv4::{IpProtocol, Ipv4HeaderRepr};
    use crate::udp::UdpHeaderRepr;
    use crate::{emit::Ipv4PseudoHeader, Emit};

    const A: [u8; 4] = [10, 0, 2, 15];
    const B: [u8; 4] = [10, 0, 2, 2];
    const C: [u8; 4] = [10, 0, 3, 2];

    /// A whole UDP datagram from `src`, and the quote of it an error
    /// carries (header and 8 bytes).
    fn udp_datagram(src: Endpoint) -> (std::vec::Vec<u8>, usize) {
        let payload = b"quoted payload";
        let mut d = std::vec![0u8; Ipv4Header::LEN + UdpHeader::LEN + payload.len()];
        d[Ipv4Header::LEN + UdpHeader::LEN..].copy_from_slice(payload);
        let udp = UdpHeaderRepr {
            src_port: src.1,
            dst_port: 53,
        };
        let pseudo = Ipv4PseudoHeader::new(src.0, B);
        udp.emit(&mut d[Ipv4Header::LEN..], pseudo).unwrap();
        let ip = Ipv4HeaderRepr {
            ttl: 64,
            protocol: IpProtocol::UDP,
            src: src.0,
            dst: B,
            ..Default::default()
        };
        ip.emit(&mut d, ()).unwrap();
        (d, Ipv4Header::LEN + usize::from(ERROR_QUOTED_DATA))
    }

    extern crate std;

    #[test]
    fn a_rewritten_quote_holds_what_the_other_side_sent() {
        let (sent, quoted) = udp_datagram((A, 40000));
        let (original, _) = udp_datagram((C, 5000));
        let mut quote = sent[..quoted].to_vec();
        assert_eq!(
            flow(&quote).unwrap(),
            QuotedFlow {
                protocol: Ipv4Next::Udp,
                src: (A, 40000),
                dst: (B, 53)
            }
        );
        rewrite(&mut quote, End::Src, (C, 5000)).unwrap();
        // Header checksum and the UDP checksum are those of the datagram
        // as the container sent it, computed whole.
        assert_eq!(quote, original[..quoted]);
    }

    #[test]
    fn a_bad_quote_is_refused() {
        let (sent, quoted) = udp_datagram((A, 40000));
        let mut bad = sent[..quoted].to_vec();
        bad[Ipv4Header::LEN - 1] ^= 1; // an address bit: the checksum fails
        assert!(flow(&bad).is_ok());
        let e = rewrite(&mut bad, End::Src, (C, 5000));
        assert_eq!(e, Err(QuoteError::BadChecksum));
        assert_eq!(flow(&sent[..quoted - 1]), Err(QuoteError::Malformed));
        assert_eq!(
            flow(&sent[..Ipv4Header::LEN - 1]),
            Err(QuoteError::Malformed)
        );
    }
}
