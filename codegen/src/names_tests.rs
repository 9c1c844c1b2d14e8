//! One test per refusal of a `[[domain_name]]` and of a payload length, in
//! the style of `validate_tests.rs`; and what a valid one emits.

use crate::spec_checks;

const HEAD: &str = r#"
title = "Test"
reference = "none"
url = "https://example.invalid/"
byte_order = "network"

[[format]]
name = "Hdr"
doc = "d"

[[format.field]]
name = "id"
bits = 16
doc = "d"
"#;

fn name(name: &str, max_label: u32, max_len: u32, pointer: u32) -> String {
    format!(
        "[[domain_name]]\nname = \"{name}\"\ndoc = \"d\"\nmax_label = {max_label}\nmax_len = {max_len}\npointer = {pointer}\n"
    )
}

fn errors(body: &str) -> Vec<String> {
    spec_checks::messages(HEAD, &[("t", body)])
}

fn refused(body: &str, expected: &[&str]) {
    spec_checks::assert_refused(&errors(body), expected);
}

#[test]
fn accepts_rfc_1035_names_and_adds_their_errors() {
    let modules = spec_checks::validate_with(HEAD, &[("t", &name("DnsName", 63, 255, 0xc0))])
        .unwrap_or_else(|e| panic!("{e:#?}"));
    let errors: Vec<&str> = modules[0].errors.iter().map(|e| e.name.as_str()).collect();
    for (e, _) in super::ERRORS {
        assert!(errors.contains(&e), "{e} missing from {errors:?}");
    }
    let rust = crate::emit_rust::module(&modules[0]);
    assert!(rust.contains("crate::names::domain_name! {"));
    assert!(rust.contains("pub struct DnsName, TError {"));
    assert!(rust.contains("pointer: 0xc0,"));
}

#[test]
fn refuses_a_pointer_mark_that_is_not_top_bits() {
    refused(
        &name("DnsName", 63, 255, 0x30),
        &["proto-defs/t.toml", "domain_name DnsName", "pointer = 0x30"],
    );
    refused(&name("DnsName", 63, 255, 0), &["pointer = 0x00"]);
}

#[test]
fn refuses_a_label_limit_that_reaches_the_pointer_mark() {
    refused(&name("DnsName", 192, 255, 0xc0), &["max_label = 192"]);
    refused(&name("DnsName", 0, 255, 0xc0), &["max_label = 0"]);
}

#[test]
fn refuses_a_name_limit_below_one_label() {
    refused(&name("DnsName", 63, 64, 0xc0), &["max_len = 64"]);
}

#[test]
fn refuses_a_name_that_is_not_camel_case_or_clashes() {
    refused(&name("dns_name", 63, 255, 0xc0), &["CamelCase"]);
    refused(
        &name("Hdr", 63, 255, 0xc0),
        &["a format or key has the same name"],
    );
}

#[test]
fn refuses_a_name_in_a_file_without_formats() {
    let head = "title = \"T\"\nreference = \"r\"\nurl = \"u\"\nbyte_order = \"network\"\n";
    spec_checks::assert_refused(
        &spec_checks::messages(head, &[("t", &name("DnsName", 63, 255, 0xc0))]),
        &["declare it in a file with a [[format]]"],
    );
}

#[test]
fn refuses_a_payload_length_beside_a_message_length() {
    let body = "[[format]]\nname = \"Rr\"\ndoc = \"d\"\n\
        [[format.field]]\nname = \"total\"\nbits = 16\ndoc = \"d\"\nlength = { of = \"message\" }\n\
        [[format.field]]\nname = \"rdlength\"\nbits = 16\ndoc = \"d\"\nlength = { of = \"payload\" }\n";
    refused(
        body,
        &[
            "format Rr: field rdlength:",
            "a payload length stands alone",
        ],
    );
}

#[test]
fn a_payload_length_cuts_the_payload() {
    let body = "[[format]]\nname = \"Rr\"\ndoc = \"d\"\n\
        [[format.field]]\nname = \"rdlength\"\nbits = 16\ndoc = \"d\"\nlength = { of = \"payload\" }\n";
    let modules = spec_checks::validate_with(HEAD, &[("t", body)]).unwrap();
    let rust = crate::emit_rust::module(&modules[0]);
    assert!(rust.contains("let end = header_len + usize::from(header.rdlength());"));
    assert!(rust.contains("let len = message.len().saturating_sub(Rr::LEN);"));
}
