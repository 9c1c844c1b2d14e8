//! DNS (`proto-defs/dns.toml`): the captured query and answer read field by
//! field as tshark reads them, compressed names round-tripped and refused
//! when malformed (each under its own error, none hanging), and the
//! resolver's reply reader (`user/src/dns/message.rs`, pure, compiled here
//! on the host) on the captured answer and on malformed ones.

extern crate alloc;

#[path = "../../user/src/dns/message.rs"]
mod message;

use message::{query, read_reply, ReplyError, MAX_CNAMES, QUERY_MAX};
use proptest::prelude::*;
use spec_tests::dns_captures::{ANSWER_ALIAS, QUERY_ALIAS};
use wire::dns::{
    DnsA, DnsClass, DnsError, DnsHeader, DnsName, DnsOpcode, DnsQuestion, DnsRcode, DnsRecord,
    DnsRecordRepr, DnsType,
};
use wire::Emit;

/// Header fields in tshark's order: id, response, opcode, authoritative,
/// truncated, recdesired, recavail, z, authenticated, checkdisable, rcode,
/// and the four counts.
type Flags = (u16, bool, u8, bool, bool, bool, bool, bool, bool, bool, u8);

fn header(msg: &[u8]) -> (Flags, [u16; 4]) {
    let h = DnsHeader::parse(msg).unwrap().header;
    (
        (
            h.id(),
            h.qr(),
            h.opcode().0,
            h.aa(),
            h.tc(),
            h.rd(),
            h.ra(),
            h.z(),
            h.ad(),
            h.cd(),
            h.rcode().0,
        ),
        [h.qdcount(), h.ancount(), h.nscount(), h.arcount()],
    )
}

/// The question at offset 12: name, type, class; and where it ends.
fn question(msg: &[u8]) -> (String, u16, u16, usize) {
    let name = DnsName::parse(msg, DnsHeader::LEN).unwrap();
    let at = DnsHeader::LEN + name.wire_len();
    let q = DnsQuestion::parse(&msg[at..]).unwrap().header;
    (
        name.to_string(),
        q.qtype().0,
        q.qclass().0,
        at + DnsQuestion::LEN,
    )
}

#[test]
fn captured_query_as_tshark_reads_it() {
    // tshark: id 0xbeef, response 0, opcode 0, truncated 0, recdesired 1,
    // z 0, checkdisable 0; 1 query, 0 answers, 0 authority, 0 additional.
    let (flags, counts) = header(&QUERY_ALIAS);
    assert_eq!(
        flags,
        (0xbeef, false, 0, false, false, true, false, false, false, false, 0)
    );
    assert_eq!(counts, [1, 0, 0, 0]);
    // tshark: dns.qry.name alias.xv6.test, dns.qry.type 1, dns.qry.class 0x0001.
    let (name, qtype, qclass, end) = question(&QUERY_ALIAS);
    assert_eq!((name.as_str(), qtype, qclass), ("alias.xv6.test", 1, 1));
    assert_eq!(end, QUERY_ALIAS.len());
    // The resolver writes the same query, byte for byte.
    let mut out = [0u8; QUERY_MAX];
    let n = query(0xbeef, "alias.xv6.test", &mut out).unwrap();
    assert_eq!(&out[..n], &QUERY_ALIAS[..]);
}

#[test]
fn captured_answer_as_tshark_reads_it() {
    // tshark: id 0xbeef, response 1, opcode 0, authoritative 1, truncated 0,
    // recdesired 1, recavail 0, z 0, authenticated 0, checkdisable 0, rcode
    // 0; 1 query, 3 answers, 0 authority, 0 additional.
    let (flags, counts) = header(&ANSWER_ALIAS);
    assert_eq!(
        flags,
        (0xbeef, true, 0, true, false, true, false, false, false, false, 0)
    );
    assert_eq!(counts, [1, 3, 0, 0]);
    let (name, qtype, qclass, mut at) = question(&ANSWER_ALIAS);
    assert_eq!((name.as_str(), qtype, qclass), ("alias.xv6.test", 1, 1));
    // tshark: dns.resp.name alias.xv6.test,web.xv6.test,www.xv6.test;
    // dns.resp.type 5,5,1; class 0x0001 each; ttl 300 each; dns.resp.len
    // 6,6,4; dns.cname web.xv6.test,www.xv6.test; dns.a 10.0.2.2.
    let expected = [
        ("alias.xv6.test", 5, 6, "web.xv6.test"),
        ("web.xv6.test", 5, 6, "www.xv6.test"),
        ("www.xv6.test", 1, 4, "10.0.2.2"),
    ];
    for (owner, rr_type, rdlength, data) in expected {
        let name = DnsName::parse(&ANSWER_ALIAS, at).unwrap();
        assert_eq!(name.to_string(), owner);
        assert_eq!(name.wire_len(), 2, "{owner}: compressed to one pointer");
        at += name.wire_len();
        let rr = DnsRecord::parse(&ANSWER_ALIAS[at..]).unwrap();
        let h = rr.header;
        assert_eq!(
            (h.rr_type().0, h.rr_class(), h.ttl(), h.rdlength()),
            (rr_type, DnsClass::IN, 300, rdlength)
        );
        let data_at = at + DnsRecord::LEN;
        let text = if h.rr_type() == DnsType::CNAME {
            let target = DnsName::parse(&ANSWER_ALIAS, data_at).unwrap();
            assert_eq!(target.wire_len(), usize::from(rdlength));
            target.to_string()
        } else {
            let [a, b, c, d] = DnsA::parse(rr.payload).unwrap().header.address();
            format!("{a}.{b}.{c}.{d}")
        };
        assert_eq!(text, data);
        at = data_at + rr.payload.len();
    }
    assert_eq!(at, ANSWER_ALIAS.len());
}

#[test]
fn the_resolver_follows_the_captured_cname_chain() {
    let answer = read_reply(&ANSWER_ALIAS, 0xbeef, "ALIAS.xv6.test.").unwrap();
    assert_eq!(
        answer.cnames,
        [
            ("alias.xv6.test".into(), "web.xv6.test".into()),
            ("web.xv6.test".into(), "www.xv6.test".into())
        ]
    );
    assert_eq!(answer.canonical, "www.xv6.test");
    assert_eq!(answer.addrs, [[10, 0, 2, 2]]);
    // Another id or question is not our reply.
    assert_eq!(
        read_reply(&ANSWER_ALIAS, 0xbeee, "alias.xv6.test"),
        Err(ReplyError::NotOurs)
    );
    assert_eq!(
        read_reply(&ANSWER_ALIAS, 0xbeef, "www.xv6.test"),
        Err(ReplyError::NotOurs)
    );
    assert_eq!(
        read_reply(&QUERY_ALIAS, 0xbeef, "alias.xv6.test"),
        Err(ReplyError::NotOurs)
    );
}

/// `labels` written out, then `tail` (a pointer or the root), at `at` in a
/// message of `prefix` zero bytes.
fn message_with(prefix: usize, bytes: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; prefix];
    m.extend_from_slice(bytes);
    m
}

#[test]
fn refuses_a_compression_loop() {
    // At 12: label "a", then a pointer back to 12: the walk would return
    // to the same pointer forever.
    let m = message_with(12, &[1, b'a', 0xc0, 12]);
    assert_eq!(DnsName::parse(&m, 12).unwrap_err(), DnsError::NameLoop);
    // After a jump: at 18 "b" -> 12; at 12 "a" "c" -> 14, back into the
    // labels just followed.
    let m = message_with(12, &[1, b'a', 1, b'c', 0xc0, 14, 1, b'b', 0xc0, 12]);
    assert_eq!(DnsName::parse(&m, 18).unwrap_err(), DnsError::NameLoop);
    // Two names pointing at each other: one of the two points forward.
    let m = message_with(12, &[1, b'a', 0xc0, 16, 1, b'b', 0xc0, 14]);
    assert_eq!(
        DnsName::parse(&m, 16).unwrap_err(),
        DnsError::NamePointerForward
    );
    // A chain of pointers that goes backward each time is fine.
    let m = message_with(12, &[1, b'a', 0, 0xc0, 12, 0xc0, 15]);
    assert_eq!(DnsName::parse(&m, 17).unwrap().to_string(), "a");
}

#[test]
fn refuses_pointers_to_itself_later_or_past_the_end() {
    let m = message_with(12, &[0xc0, 12]);
    assert_eq!(
        DnsName::parse(&m, 12).unwrap_err(),
        DnsError::NamePointerForward
    );
    let m = message_with(12, &[0xc0, 15, 0, 1, b'a', 0]);
    assert_eq!(
        DnsName::parse(&m, 12).unwrap_err(),
        DnsError::NamePointerForward
    );
    let m = message_with(12, &[0xc0, 14]);
    assert_eq!(
        DnsName::parse(&m, 12).unwrap_err(),
        DnsError::NamePointerOutOfRange
    );
    let m = message_with(12, &[0xff, 0xff]);
    assert_eq!(
        DnsName::parse(&m, 12).unwrap_err(),
        DnsError::NamePointerOutOfRange
    );
}

#[test]
fn refuses_names_past_the_end_and_bad_labels() {
    // A label longer than the message, a pointer cut in half, no root.
    for bytes in [&[5, b'a', b'b'][..], &[0xc0][..], &[1, b'a'][..], &[][..]] {
        let m = message_with(12, bytes);
        assert_eq!(
            DnsName::parse(&m, 12).unwrap_err(),
            DnsError::NamePastEnd,
            "{bytes:?}"
        );
    }
    // 64..=191 are neither labels (at most 63) nor pointers.
    for len in [64u8, 0x80, 0xbf] {
        let mut bytes = vec![len];
        bytes.extend(std::iter::repeat_n(b'a', usize::from(len)));
        bytes.push(0);
        let m = message_with(12, &bytes);
        assert_eq!(DnsName::parse(&m, 12).unwrap_err(), DnsError::LabelTooLong);
    }
}

#[test]
fn refuses_names_over_255_bytes_even_through_pointers() {
    // Four 63-byte labels: 4 * 64 + 1 = 257 bytes written out.
    let label = [b'x'; 63];
    let mut bytes = Vec::new();
    for _ in 0..4 {
        bytes.push(63);
        bytes.extend_from_slice(&label);
    }
    bytes.push(0);
    let m = message_with(12, &bytes);
    assert_eq!(DnsName::parse(&m, 12).unwrap_err(), DnsError::NameTooLong);
    // Three labels (193 bytes) and a name of one label pointing at them: 257.
    let mut bytes = Vec::new();
    for _ in 0..3 {
        bytes.push(63);
        bytes.extend_from_slice(&label);
    }
    bytes.push(0);
    let second = 12 + bytes.len();
    bytes.push(63);
    bytes.extend_from_slice(&label);
    bytes.extend_from_slice(&[0xc0, 12]);
    let m = message_with(12, &bytes);
    assert_eq!(DnsName::parse(&m, 12).unwrap().len(), 193);
    assert_eq!(
        DnsName::parse(&m, second).unwrap_err(),
        DnsError::NameTooLong
    );
    // 255 exactly is allowed: 3 * 64 + 62 + 1.
    let mut bytes = Vec::new();
    for _ in 0..3 {
        bytes.push(63);
        bytes.extend_from_slice(&label);
    }
    bytes.push(61);
    bytes.extend_from_slice(&label[..61]);
    bytes.push(0);
    assert_eq!(bytes.len(), 255);
    assert_eq!(
        DnsName::parse(&message_with(0, &bytes), 0).unwrap().len(),
        255
    );
}

#[test]
fn encode_refuses_what_is_no_name() {
    let mut out = [0u8; 300];
    assert_eq!(
        DnsName::encode("a..b", &mut out),
        Err(DnsError::NameEmptyLabel)
    );
    let long = "x".repeat(64);
    assert_eq!(
        DnsName::encode(&long, &mut out),
        Err(DnsError::LabelTooLong)
    );
    let name = vec!["x".repeat(63); 4].join(".");
    assert_eq!(DnsName::encode(&name, &mut out), Err(DnsError::NameTooLong));
    assert_eq!(
        DnsName::encode("abc", &mut out[..3]),
        Err(DnsError::NamePastEnd)
    );
    assert_eq!(DnsName::encode(".", &mut out), Ok(1));
    assert_eq!(DnsName::parse(&out, 0).unwrap().to_string(), ".");
}

#[test]
fn the_record_builder_fills_rdlength() {
    let mut m = [0u8; DnsRecord::LEN + 4];
    m[DnsRecord::LEN..].copy_from_slice(&[10, 0, 2, 2]);
    DnsRecordRepr {
        rr_type: DnsType::A,
        rr_class: DnsClass::IN,
        ttl: 300,
    }
    .emit(&mut m, ())
    .unwrap();
    let rr = DnsRecord::parse(&m).unwrap();
    assert_eq!(rr.header.rdlength(), 4);
    assert_eq!(rr.payload, [10, 0, 2, 2]);
    // An rdlength past the buffer, and an A record that is not 4 bytes.
    assert_eq!(
        DnsRecord::parse(&m[..m.len() - 1]).unwrap_err(),
        DnsError::BadRdlength
    );
    let mut five = [0u8; DnsRecord::LEN + 5];
    DnsRecordRepr {
        rr_type: DnsType::A,
        rr_class: DnsClass::IN,
        ttl: 1,
    }
    .emit(&mut five, ())
    .unwrap();
    assert_eq!(DnsRecord::parse(&five).unwrap_err(), DnsError::BadALength);
}

#[test]
fn the_header_holds_a_query_to_one_question() {
    let mut m = QUERY_ALIAS;
    m[5] = 2; // qdcount 2
    assert_eq!(DnsHeader::parse(&m).unwrap_err(), DnsError::BadQdcount);
    assert_eq!(DnsHeader::parse(&m[..11]).unwrap_err(), DnsError::TooShort);
    assert_eq!(
        DnsHeader::parse(&QUERY_ALIAS).unwrap().header.opcode(),
        DnsOpcode::QUERY
    );
}

/// A reply to `id` asking `name` A: header (flags, `ancount`), question,
/// then `answers` as written.
fn reply(id: u16, flags: u16, name: &str, ancount: u16, answers: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; QUERY_MAX];
    let n = query(id, name, &mut m).unwrap();
    m.truncate(n);
    m[2..4].copy_from_slice(&flags.to_be_bytes());
    m[6..8].copy_from_slice(&ancount.to_be_bytes());
    m.extend_from_slice(answers);
    m
}

/// A CNAME record owned by the name at `owner` pointing to the name at `target`.
fn cname(owner: u16, target: u16) -> Vec<u8> {
    let mut r = (0xc000 | owner).to_be_bytes().to_vec();
    r.extend_from_slice(&[0, 5, 0, 1, 0, 0, 0, 60, 0, 2]);
    r.extend_from_slice(&(0xc000 | target).to_be_bytes());
    r
}

#[test]
fn the_resolver_names_what_is_wrong_with_a_reply() {
    // The server's replies (`xtask/peer/dns.py`): NXDOMAIN, truncated, and
    // an owner name that loops.
    let nx = reply(7, 0x8583, "nope.xv6.test", 0, &[]);
    assert_eq!(
        read_reply(&nx, 7, "nope.xv6.test"),
        Err(ReplyError::NoSuchName)
    );
    let tc = reply(7, 0x8780, "big.xv6.test", 0, &[]);
    assert_eq!(
        read_reply(&tc, 7, "big.xv6.test"),
        Err(ReplyError::Truncated)
    );
    let fail = reply(7, 0x8182, "www.xv6.test", 0, &[]);
    assert_eq!(
        read_reply(&fail, 7, "www.xv6.test"),
        Err(ReplyError::Server(DnsRcode::SERV_FAIL))
    );
    let looped = {
        let at = reply(7, 0x8580, "loop.xv6.test", 1, &[]).len() as u16;
        let mut r = vec![4, b'l', b'o', b'o', b'p'];
        r.extend_from_slice(&(0xc000 | at).to_be_bytes());
        r.extend_from_slice(&[0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 0, 2, 2]);
        reply(7, 0x8580, "loop.xv6.test", 1, &r)
    };
    assert_eq!(
        read_reply(&looped, 7, "loop.xv6.test"),
        Err(ReplyError::Malformed(DnsError::NameLoop))
    );
    // No answer at all, and more answers announced than sent.
    let empty = reply(7, 0x8580, "www.xv6.test", 0, &[]);
    assert_eq!(
        read_reply(&empty, 7, "www.xv6.test"),
        Err(ReplyError::NoAddress)
    );
    let short = reply(7, 0x8580, "www.xv6.test", 1, &[]);
    assert_eq!(
        read_reply(&short, 7, "www.xv6.test"),
        Err(ReplyError::Malformed(DnsError::NamePastEnd))
    );
}

#[test]
fn the_resolver_bounds_cname_chains() {
    // The question's name is at 12; a CNAME from it to itself loops.
    let self_loop = reply(7, 0x8580, "a.test", 1, &cname(12, 12));
    assert_eq!(
        read_reply(&self_loop, 7, "a.test"),
        Err(ReplyError::TooManyCnames)
    );
    // A chain of MAX_CNAMES + 1 distinct names: each record's owner is the
    // previous record's target, written out as one new label and a pointer
    // to the question's name.
    let base = reply(7, 0x8580, "a.test", 0, &[]).len();
    let mut answers = Vec::new();
    let mut owner = 12u16;
    for i in 0..=MAX_CNAMES {
        let at = (base + answers.len()) as u16;
        answers.extend_from_slice(&(0xc000 | owner).to_be_bytes());
        answers.extend_from_slice(&[0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, b'a' + i as u8, 0xc0, 12]);
        owner = at + 12; // the target: after the owner pointer and the fixed part
    }
    let chain = reply(7, 0x8580, "a.test", (MAX_CNAMES + 1) as u16, &answers);
    assert_eq!(
        read_reply(&chain, 7, "a.test"),
        Err(ReplyError::TooManyCnames)
    );
    // A CNAME whose data holds more than its name.
    let mut long = cname(12, 12);
    long[11] = 3;
    long.push(0);
    let bad = reply(7, 0x8580, "a.test", 1, &long);
    assert_eq!(
        read_reply(&bad, 7, "a.test"),
        Err(ReplyError::Malformed(DnsError::BadRdlength))
    );
}

proptest! {
    /// Any dotted name of valid labels encodes, parses back to the same
    /// text, and is as long as the bytes written.
    #[test]
    fn names_round_trip(labels in prop::collection::vec("[a-z0-9][a-z0-9-]{0,62}", 1..8)) {
        let text = labels.join(".");
        let mut out = [0u8; 512];
        match DnsName::encode(&text, &mut out) {
            Ok(n) => {
                let name = DnsName::parse(&out[..n], 0).unwrap();
                prop_assert_eq!(name.wire_len(), n);
                prop_assert_eq!(name.len(), n);
                prop_assert_eq!(name.to_string(), text.clone());
                prop_assert!(name.eq_text(&text.to_uppercase()));
            }
            Err(e) => {
                prop_assert_eq!(e, DnsError::NameTooLong);
                prop_assert!(text.len() + 2 > 255);
            }
        }
    }

    /// Arbitrary bytes at any offset: the walk ends (with a name or an
    /// error) and never reads outside the message.
    #[test]
    fn any_bytes_end_the_walk(bytes in prop::collection::vec(any::<u8>(), 0..300), at in 0usize..300) {
        if let Ok(name) = DnsName::parse(&bytes, at) {
            prop_assert!(name.len() <= DnsName::MAX_LEN);
            prop_assert!(at + name.wire_len() <= bytes.len());
            let _ = name.to_string();
        }
    }

    /// The captured answer with bytes changed: the reader returns, whatever it says.
    #[test]
    fn mutated_answers_never_hang(edits in prop::collection::vec((0usize..ANSWER_ALIAS.len(), any::<u8>()), 1..6)) {
        let mut m = ANSWER_ALIAS;
        for (i, b) in edits {
            m[i] = b;
        }
        let _ = read_reply(&m, 0xbeef, "alias.xv6.test");
    }
}
