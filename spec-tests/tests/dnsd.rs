//! `dnsd`'s answering (`user/src/dns/server.rs`, pure, compiled here on
//! the host), read back by the resolver's own reply reader
//! (`user/src/dns/message.rs`): A records, NXDOMAIN, FORMERR for a cut
//! question, NOTIMP for what is no standard query, never an answer to a
//! response, TC when the records do not fit; and no input panics it.

extern crate alloc;

#[path = "../../user/src/dns/message.rs"]
mod message;
#[path = "../../user/src/dns/server.rs"]
mod server;

use message::{query, read_reply, ReplyError, QUERY_MAX};
use server::{answer, Refusal, Zone, REPLY_MAX};
use wire::dns::{DnsError, DnsRcode};

const ID: u16 = 77;

fn q(name: &str) -> Vec<u8> {
    let mut b = vec![0u8; QUERY_MAX];
    let n = query(ID, name, &mut b).unwrap();
    b.truncate(n);
    b
}

fn lan() -> Zone {
    let mut z = Zone::new();
    z.add("a.lan", [10, 0, 9, 1]).unwrap();
    z.add("A.lan.", [10, 0, 9, 3]).unwrap();
    z.add("b.lan", [10, 0, 9, 2]).unwrap();
    z
}

#[test]
fn a_known_name_gets_all_its_addresses_whatever_its_case() {
    let mut out = [0u8; REPLY_MAX];
    let r = answer(&lan(), &q("a.LAN"), &mut out).unwrap();
    let got = read_reply(&out[..r.len], ID, "a.LAN").unwrap();
    assert_eq!(got.addrs, vec![[10, 0, 9, 1], [10, 0, 9, 3]]);
}

#[test]
fn an_unknown_name_is_nxdomain() {
    let mut out = [0u8; REPLY_MAX];
    let r = answer(&lan(), &q("c.lan"), &mut out).unwrap();
    assert_eq!(
        read_reply(&out[..r.len], ID, "c.lan"),
        Err(ReplyError::NoSuchName)
    );
}

#[test]
fn malformed_queries_are_refused_by_name() {
    let z = lan();
    let mut out = [0u8; REPLY_MAX];
    assert_eq!(
        answer(&z, b"hi\n", &mut out),
        Err(Refusal::Malformed(DnsError::TooShort)),
        "shorter than a header: no reply at all"
    );
    let r = answer(&z, b"no-dns-query-at-all\n", &mut out).unwrap();
    assert_eq!((r.rcode, r.len), (DnsRcode::NOT_IMP, 12), "another opcode");
    let mut response = q("a.lan");
    response[2] |= 0x80; // QR: a response
    assert_eq!(answer(&z, &response, &mut out), Err(Refusal::Response));
    let cut = q("a.lan");
    let r = answer(&z, &cut[..cut.len() - 2], &mut out).unwrap();
    assert_eq!(r.rcode, DnsRcode::FORM_ERR);
    assert_eq!(r.refused, Some(Refusal::Malformed(DnsError::TooShort)));
    assert!(
        Zone::new().add("a..b", [1, 1, 1, 1]).is_err(),
        "empty label"
    );
}

#[test]
fn records_that_do_not_fit_set_tc() {
    let mut out = [0u8; REPLY_MAX];
    let mut big = Zone::new();
    for i in 0..40 {
        big.add("big.lan", [10, 0, 3, i]).unwrap();
    }
    let r = answer(&big, &q("big.lan"), &mut out).unwrap();
    assert_eq!(
        read_reply(&out[..r.len], ID, "big.lan"),
        Err(ReplyError::Truncated)
    );
    let mut mid = Zone::new();
    for i in 0..20 {
        mid.add("mid.lan", [10, 0, 3, i]).unwrap();
    }
    let r = answer(&mid, &q("mid.lan"), &mut out).unwrap();
    let got = read_reply(&out[..r.len], ID, "mid.lan").unwrap();
    assert_eq!(got.addrs.len(), 20);
}

#[test]
fn no_prefix_or_flipped_byte_panics_it() {
    let z = lan();
    let mut out = [0u8; REPLY_MAX];
    let base = q("b.lan");
    for n in 0..base.len() {
        let _ = answer(&z, &base[..n], &mut out);
    }
    for i in 0..base.len() {
        for v in [0u8, 0x3f, 0x40, 0xc0, 0xff] {
            let mut m = base.clone();
            m[i] = v;
            let _ = answer(&z, &m, &mut out);
        }
    }
}
