//! DNS messages as the resolver needs them (RFC 1035, section 4): the query
//! it sends for a name's A records, and what it reads from the reply —
//! the addresses, the CNAME chain that led to them, or why there are none.
//!
//! Pure: no system calls, only `wire::dns` (the header, question and record
//! formats and the compressed-name walk the spec declares) and `alloc`, so
//! `spec-tests` also runs it on the host against captured and malformed
//! replies.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use wire::dns::{
    DnsA, DnsClass, DnsError, DnsHeader, DnsHeaderRepr, DnsName, DnsOpcode, DnsQuestion,
    DnsQuestionRepr, DnsRcode, DnsRecord, DnsType,
};
use wire::Emit;

/// CNAMEs followed at most before giving up: a chain longer than this, or
/// one that loops, is `TooManyCnames` (RFC 1034, section 3.6.2, asks
/// resolvers to bound the chain; BIND stops at 16, glibc at 8).
pub const MAX_CNAMES: usize = 8;

/// Room for any query this module writes: header, longest name, question.
pub const QUERY_MAX: usize = DnsHeader::LEN + DnsName::MAX_LEN + DnsQuestion::LEN;

/// What a reply says, once it is ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The CNAME chain in order: each (alias, its canonical name).
    pub cnames: Vec<(String, String)>,
    /// The name the addresses belong to (the question's, or the chain's end).
    pub canonical: String,
    /// Its IPv4 addresses, in the reply's order.
    pub addrs: Vec<[u8; 4]>,
}

/// Why a reply gives no addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyError {
    /// Not the reply to our query (another id or question, or not a
    /// response): ignored, the resolver keeps waiting.
    NotOurs,
    /// The reply breaks a rule of the DNS spec, named.
    Malformed(DnsError),
    /// The server cut the reply to fit UDP (`tc`): ask again over TCP.
    Truncated,
    /// The name does not exist (NXDOMAIN).
    NoSuchName,
    /// The server answered with another error code.
    Server(DnsRcode),
    /// The name exists but has no A record (nor a CNAME to one).
    NoAddress,
    /// More than [`MAX_CNAMES`] CNAMEs in a row, or a chain that loops.
    TooManyCnames,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::NotOurs => f.write_str("a reply to another query"),
            ReplyError::Malformed(e) => write!(f, "malformed reply ({})", e.name()),
            ReplyError::Truncated => f.write_str("truncated reply"),
            ReplyError::NoSuchName => f.write_str("no such name (NXDOMAIN)"),
            ReplyError::Server(DnsRcode::SERV_FAIL) => f.write_str("server failure (SERVFAIL)"),
            ReplyError::Server(DnsRcode::REFUSED) => f.write_str("query refused (REFUSED)"),
            ReplyError::Server(DnsRcode::FORM_ERR) => {
                f.write_str("the server could not read the query (FORMERR)")
            }
            ReplyError::Server(DnsRcode::NOT_IMP) => {
                f.write_str("the server does not do A queries (NOTIMP)")
            }
            ReplyError::Server(r) => write!(f, "server error, response code {}", r.0),
            ReplyError::NoAddress => f.write_str("no IPv4 address (no A record)"),
            ReplyError::TooManyCnames => {
                write!(f, "CNAME chain longer than {MAX_CNAMES} or looping")
            }
        }
    }
}

impl From<DnsError> for ReplyError {
    fn from(e: DnsError) -> Self {
        ReplyError::Malformed(e)
    }
}

/// Writes a query for `name`'s A records (class IN, recursion desired) into
/// `out` (at least [`QUERY_MAX`] bytes for any name); returns its length.
/// A name that is no DNS name (an empty or over-long label, over 255 bytes)
/// is the error naming why.
pub fn query(id: u16, name: &str, out: &mut [u8]) -> Result<usize, DnsError> {
    let header = DnsHeaderRepr {
        id,
        qr: false,
        opcode: DnsOpcode::QUERY,
        aa: false,
        tc: false,
        rd: true,
        ra: false,
        z: false,
        ad: false,
        cd: false,
        rcode: DnsRcode::NO_ERROR,
        qdcount: 1,
        ancount: 0,
        nscount: 0,
        arcount: 0,
    };
    header.emit(out, ()).map_err(|_| DnsError::NamePastEnd)?;
    let rest = out.get_mut(DnsHeader::LEN..).ok_or(DnsError::NamePastEnd)?;
    let name_len = DnsName::encode(name, rest)?;
    let question = DnsQuestionRepr {
        qtype: DnsType::A,
        qclass: DnsClass::IN,
    };
    let at = DnsHeader::LEN + name_len;
    question
        .emit(out.get_mut(at..).ok_or(DnsError::NamePastEnd)?, ())
        .map_err(|_| DnsError::NamePastEnd)?;
    Ok(at + DnsQuestion::LEN)
}

/// One resource record of the answer section, checked in place.
struct Record<'a> {
    owner: DnsName<'a>,
    rr_type: DnsType,
    rr_class: DnsClass,
    /// Where its data starts in the message, and its bytes.
    data_at: usize,
    data: &'a [u8],
}

/// Reads the reply `msg` to the query `id` for `name`: the addresses of
/// `name`, following CNAMEs. Every name and record of the answer section is
/// held to the spec; the authority and additional sections are not used.
pub fn read_reply(msg: &[u8], id: u16, name: &str) -> Result<Answer, ReplyError> {
    let header = DnsHeader::parse(msg)?.header;
    if !header.qr() || header.id() != id || header.opcode() != DnsOpcode::QUERY {
        return Err(ReplyError::NotOurs);
    }
    // The question comes back as asked (RFC 5452, section 9.1).
    if header.qdcount() != 1 {
        return Err(ReplyError::NotOurs);
    }
    let qname = DnsName::parse(msg, DnsHeader::LEN)?;
    let at = DnsHeader::LEN + qname.wire_len();
    let question = DnsQuestion::parse(msg.get(at..).unwrap_or(&[]))?.header;
    if !qname.eq_text(name) || question.qtype() != DnsType::A || question.qclass() != DnsClass::IN {
        return Err(ReplyError::NotOurs);
    }
    if header.tc() {
        return Err(ReplyError::Truncated);
    }
    match header.rcode() {
        DnsRcode::NO_ERROR => {}
        DnsRcode::NX_DOMAIN => return Err(ReplyError::NoSuchName),
        other => return Err(ReplyError::Server(other)),
    }
    let mut at = at + DnsQuestion::LEN;
    let mut answers = Vec::new();
    for _ in 0..header.ancount() {
        let owner = DnsName::parse(msg, at)?;
        at += owner.wire_len();
        let parsed = DnsRecord::parse(msg.get(at..).unwrap_or(&[]))?;
        let data_at = at + DnsRecord::LEN;
        answers.push(Record {
            owner,
            rr_type: parsed.header.rr_type(),
            rr_class: parsed.header.rr_class(),
            data_at,
            data: parsed.payload,
        });
        at = data_at + parsed.payload.len();
    }
    follow(msg, qname, &answers)
}

/// The addresses of `name` among `answers`, following its CNAMEs.
fn follow(msg: &[u8], name: DnsName<'_>, answers: &[Record<'_>]) -> Result<Answer, ReplyError> {
    let mut current = name;
    let mut cnames = Vec::new();
    loop {
        let mut addrs = Vec::new();
        for r in answers {
            if r.rr_type == DnsType::A && r.rr_class == DnsClass::IN && r.owner.same_as(&current) {
                addrs.push(DnsA::parse(r.data)?.header.address());
            }
        }
        if !addrs.is_empty() {
            return Ok(Answer {
                cnames,
                canonical: current.to_string(),
                addrs,
            });
        }
        let cname = answers.iter().find(|r| {
            r.rr_type == DnsType::CNAME && r.rr_class == DnsClass::IN && r.owner.same_as(&current)
        });
        let Some(cname) = cname else {
            return Err(ReplyError::NoAddress);
        };
        // The data of a CNAME is one name, exactly (RFC 1035, section 3.3.1).
        let target = DnsName::parse(msg, cname.data_at)?;
        if target.wire_len() != cname.data.len() {
            return Err(ReplyError::Malformed(DnsError::BadRdlength));
        }
        if cnames.len() == MAX_CNAMES {
            return Err(ReplyError::TooManyCnames);
        }
        cnames.push((current.to_string(), target.to_string()));
        current = target;
    }
}
