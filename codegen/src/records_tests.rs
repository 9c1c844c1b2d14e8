//! One test per refusal of a record, in the style of `validate_tests.rs`.

use crate::spec_checks;

const HEAD: &str = r#"
title = "Test"
reference = "none"
url = "https://example.invalid/"
byte_order = "little"
"#;

/// The messages for a file holding HEAD and `body`.
fn errors(body: &str) -> Vec<String> {
    spec_checks::messages(HEAD, &[("t", body)])
}

fn refused(body: &str, expected: &[&str]) {
    spec_checks::assert_refused(&errors(body), expected);
}

fn record(fields: &str) -> String {
    format!("[[record]]\nname = \"Rec\"\ndoc = \"d\"\n{fields}")
}

fn field(name: &str, bits: u32, extra: &str) -> String {
    format!("[[record.field]]\nname = \"{name}\"\nbits = {bits}\ndoc = \"d\"\n{extra}\n")
}

#[test]
fn accepts_a_good_record() {
    let body = record(&(field("inum", 16, "") + &field("name", 8, "count = 14")));
    assert_eq!(errors(&body), Vec::<String>::new());
}

#[test]
fn refuses_a_field_the_native_struct_would_pad_before() {
    let body = record(&(field("typ", 16, "") + &field("size", 32, "")));
    refused(
        &body,
        &[
            "proto-defs/t.toml: format Rec: field size: ",
            "starts at byte 2",
        ],
    );
}

#[test]
fn refuses_a_record_the_native_struct_would_pad_after() {
    let body = record(&(field("size", 32, "") + &field("typ", 16, "")));
    refused(&body, &["format Rec: ", "6 bytes is not a multiple"]);
}

#[test]
fn refuses_a_width_that_is_no_integer() {
    let body = record(&field("a", 12, ""));
    refused(&body, &["field a", "8, 16, 32 or 64 bits", "not 12"]);
}

#[test]
fn refuses_an_empty_array() {
    let body = record(&field("a", 8, "count = 0"));
    refused(&body, &["field a", "count must be at least 1"]);
}

#[test]
fn refuses_a_rust_keyword() {
    let body = record(&field("type", 16, ""));
    refused(&body, &["field type", "Rust keyword"]);
}

#[test]
fn refuses_duplicate_fields() {
    let body = record(&(field("a", 16, "") + &field("a", 16, "")));
    refused(&body, &["field a", "duplicate field name"]);
}

#[test]
fn refuses_formats_in_a_file_of_records() {
    let body = record(&field("a", 16, ""))
        + "[[format]]\nname = \"Hdr\"\ndoc = \"d\"\n[[format.field]]\nname = \"x\"\nbits = 8\ndoc = \"d\"\n";
    refused(&body, &["format Rec", "holds only records", "not formats"]);
}

#[test]
fn refuses_an_address_constant_in_a_file_of_records() {
    let body = record(&field("a", 16, ""))
        + "[[constant]]\nname = \"GW\"\ntype = \"ipv4\"\nvalue = \"10.0.2.2\"\ndoc = \"d\"\n";
    refused(&body, &["constant GW", "integer constants only"]);
}
