//! Answers to queries, for `dnsd` (RFC 1035, section 4): a small
//! authoritative name server for a table of names and their IPv4
//! addresses ([`Zone`]).
//!
//! [`answer`] reads a query with the spec's own checks (`DnsHeader::parse`,
//! `DnsName::parse`, `DnsQuestion::parse`) and writes the reply with its
//! builders. A name of the zone asked for A (class IN or ANY) gets its
//! addresses; a name of the zone asked for another type gets no record
//! (NODATA); any other name NXDOMAIN. A query the server cannot read is
//! refused under the reason ([`Refusal`]): with FORMERR when its header
//! could be read (so the asker stops waiting), with nothing at all when it
//! could not, or when it is a response (two servers must never answer each
//! other's answers). Pure: `wire` and `alloc` only.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use wire::dns::{
    DnsARepr, DnsClass, DnsError, DnsHeader, DnsHeaderRepr, DnsName, DnsOpcode, DnsQuestion,
    DnsRcode, DnsRecord, DnsRecordRepr, DnsType, UDP_MAX,
};
use wire::Emit;

/// Seconds an answer may be cached: short, as the table can change with
/// each run of the server.
pub const TTL: u32 = 60;

/// The reply buffer: the longest message over UDP.
pub const REPLY_MAX: usize = UDP_MAX as usize;

/// Names and their IPv4 addresses; a name may have several.
#[derive(Debug, Default, Clone)]
pub struct Zone {
    hosts: Vec<(String, [u8; 4])>,
}

impl Zone {
    pub fn new() -> Zone {
        Zone::default()
    }

    /// Adds `addr` to `name` (dotted, a final dot allowed); a name that is
    /// no DNS name is the rule it breaks.
    pub fn add(&mut self, name: &str, addr: [u8; 4]) -> Result<(), DnsError> {
        let mut scratch = [0u8; DnsName::MAX_LEN];
        DnsName::encode(name, &mut scratch)?;
        let name = name.strip_suffix('.').unwrap_or(name);
        self.hosts.push((name.to_ascii_lowercase(), addr));
        Ok(())
    }

    /// Every (name, address) pair, in the order added.
    pub fn entries(&self) -> &[(String, [u8; 4])] {
        &self.hosts
    }

    fn has(&self, name: &DnsName<'_>) -> bool {
        self.hosts.iter().any(|(n, _)| name.eq_text(n))
    }
}

/// Why a query got no answer from the zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It breaks a rule of `proto-defs/dns.toml`, named.
    Malformed(DnsError),
    /// A response (`qr` set), not a query: never answered.
    Response,
    /// No question, or a question whose name is compressed (a pointer can
    /// only point into the header before it: never a real name).
    BadQuestion,
    /// Another opcode than QUERY (NOTIMP).
    NotAQuery,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed(e) => f.write_str(e.name()),
            Refusal::Response => f.write_str("a response, not a query"),
            Refusal::BadQuestion => f.write_str("no question, or a compressed one"),
            Refusal::NotAQuery => f.write_str("not a standard query"),
        }
    }
}

impl From<DnsError> for Refusal {
    fn from(e: DnsError) -> Self {
        Refusal::Malformed(e)
    }
}

/// What the server sends back, and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply's bytes at the front of the buffer.
    pub len: usize,
    pub rcode: DnsRcode,
    /// The name asked for, as dotted text, and the type asked for (none
    /// when the query was refused).
    pub question: Option<(String, DnsType)>,
    /// The addresses sent (empty for NXDOMAIN and NODATA).
    pub addrs: Vec<[u8; 4]>,
    /// Why it is FORMERR or NOTIMP, if it is.
    pub refused: Option<Refusal>,
}

/// What a reply copies from its query (RFC 1035, section 4.1.1).
#[derive(Clone, Copy)]
struct Asked {
    id: u16,
    opcode: DnsOpcode,
    rd: bool,
}

/// The header of a reply to `q`: authoritative.
fn reply_header(q: Asked, rcode: DnsRcode, tc: bool, qd: u16, an: u16) -> DnsHeaderRepr {
    DnsHeaderRepr {
        id: q.id,
        qr: true,
        opcode: q.opcode,
        aa: true,
        tc,
        rd: q.rd,
        ra: false,
        z: false,
        ad: false,
        cd: false,
        rcode,
        qdcount: qd,
        ancount: an,
        nscount: 0,
        arcount: 0,
    }
}

/// The reply to `query` from `zone`, written into `out`
/// ([`REPLY_MAX`] bytes); `Err` when nothing may be sent back.
pub fn answer(zone: &Zone, query: &[u8], out: &mut [u8; REPLY_MAX]) -> Result<Reply, Refusal> {
    let header = DnsHeader::parse(query)?.header;
    if header.qr() {
        return Err(Refusal::Response);
    }
    let asked = Asked {
        id: header.id(),
        opcode: header.opcode(),
        rd: header.rd(),
    };
    // The header alone, with an error code (RFC 1035, section 4.1.1).
    let mut error = |rcode: DnsRcode, why: Refusal| -> Result<Reply, Refusal> {
        reply_header(asked, rcode, false, 0, 0)
            .emit(&mut out[..], ())
            .map_err(|_| why)?;
        Ok(Reply {
            len: DnsHeader::LEN,
            rcode,
            question: None,
            addrs: Vec::new(),
            refused: Some(why),
        })
    };
    if header.opcode() != DnsOpcode::QUERY {
        return error(DnsRcode::NOT_IMP, Refusal::NotAQuery);
    }
    if header.qdcount() != 1 {
        return error(DnsRcode::FORM_ERR, Refusal::BadQuestion);
    }
    let qname = match DnsName::parse(query, DnsHeader::LEN) {
        Ok(n) => n,
        Err(e) => return error(DnsRcode::FORM_ERR, Refusal::Malformed(e)),
    };
    if qname.wire_len() != qname.len() {
        return error(DnsRcode::FORM_ERR, Refusal::BadQuestion);
    }
    let question_end = DnsHeader::LEN + qname.wire_len();
    let question = match DnsQuestion::parse(query.get(question_end..).unwrap_or(&[])) {
        Ok(q) => q.header,
        Err(e) => return error(DnsRcode::FORM_ERR, Refusal::Malformed(e)),
    };
    let question_end = question_end + DnsQuestion::LEN;

    // The question, as asked (its name is uncompressed: checked above).
    let mut at = question_end;
    out[DnsHeader::LEN..at].copy_from_slice(&query[DnsHeader::LEN..at]);
    let known = zone.has(&qname);
    let wants_a = question.qtype() == DnsType::A
        && (question.qclass() == DnsClass::IN || question.qclass() == DnsClass::ANY);
    let mut addrs = Vec::new();
    let mut tc = false;
    if known && wants_a {
        for (name, addr) in zone.entries() {
            if !qname.eq_text(name) {
                continue;
            }
            match write_a(&mut out[at..], name, *addr) {
                Some(n) => {
                    at += n;
                    addrs.push(*addr);
                }
                None => {
                    // No room for all: none, and TC (RFC 2181, section 9).
                    tc = true;
                    addrs.clear();
                    at = question_end;
                    break;
                }
            }
        }
    }
    let rcode = if known {
        DnsRcode::NO_ERROR
    } else {
        DnsRcode::NX_DOMAIN
    };
    let an = u16::try_from(addrs.len()).unwrap_or(0);
    reply_header(asked, rcode, tc, 1, an)
        .emit(&mut out[..], ())
        .map_err(|_| Refusal::Malformed(DnsError::TooShort))?;
    Ok(Reply {
        len: at,
        rcode,
        question: Some((qname.to_string(), question.qtype())),
        addrs,
        refused: None,
    })
}

/// Writes an A record of `name` for `addr` (its owner name uncompressed)
/// at the front of `out`; its length, or `None` when it does not fit.
fn write_a(out: &mut [u8], name: &str, addr: [u8; 4]) -> Option<usize> {
    let owner = DnsName::encode(name, out).ok()?;
    let end = owner + DnsRecord::LEN + DnsARepr::LEN;
    let record = out.get_mut(owner..end)?;
    DnsRecordRepr {
        rr_type: DnsType::A,
        rr_class: DnsClass::IN,
        ttl: TTL,
    }
    .emit(record, ())
    .ok()?;
    DnsARepr { address: addr }
        .emit(&mut record[DnsRecord::LEN..], ())
        .ok()?;
    Some(end)
}
