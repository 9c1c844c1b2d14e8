//! One test per refusal: each builds the smallest spec that trips it and
//! checks the message names the file, the format and the field.

use super::*;

const HEAD: &str = r#"
title = "Test"
reference = "none"
url = "https://example.invalid/"
byte_order = "network"
"#;

/// Validates `(module, body)` files (HEAD is prepended) and returns the messages.
fn errors(files: &[(&str, &str)]) -> Vec<String> {
    let parsed = files
        .iter()
        .map(|(m, body)| {
            let file = format!("proto-defs/{m}.toml");
            let spec =
                crate::parse(&file, &format!("{HEAD}{body}")).unwrap_or_else(|e| panic!("{e}"));
            (file, m.to_string(), spec)
        })
        .collect();
    match validate(parsed) {
        Ok(_) => Vec::new(),
        Err(list) => list.iter().map(|e| e.to_string()).collect(),
    }
}

/// Asserts exactly one error, containing every piece of `expected`.
fn refused(files: &[(&str, &str)], expected: &[&str]) {
    let errs = errors(files);
    assert!(!errs.is_empty(), "accepted; expected {expected:?}");
    assert!(
        errs.iter().any(|e| expected.iter().all(|x| e.contains(x))),
        "expected {expected:?} in {errs:#?}"
    );
}

fn format(fields: &str) -> String {
    format!("[[format]]\nname = \"Hdr\"\ndoc = \"d\"\n{fields}")
}

fn field(name: &str, bits: u32, extra: &str) -> String {
    format!("[[format.field]]\nname = \"{name}\"\nbits = {bits}\ndoc = \"d\"\n{extra}\n")
}

#[test]
fn accepts_a_good_spec() {
    let body = format(
        &(field("version", 4, "fixed = 4")
            + &field("ihl", 4, "length = { unit_bytes = 4, of = \"header\" }")
            + &field("len", 16, "")),
    );
    assert_eq!(errors(&[("t", &body)]), Vec::<String>::new());
}

#[test]
fn messages_name_file_format_and_field() {
    let body = format(&field("x", 4, ""));
    refused(
        &[("t", &body)],
        &["proto-defs/t.toml: format Hdr: field x: "],
    );
}

#[test]
fn refuses_bits_that_end_inside_a_byte() {
    let body = format(&(field("a", 8, "") + &field("b", 3, "")));
    refused(
        &[("t", &body)],
        &["field b", "bits do not fill whole bytes"],
    );
}

#[test]
fn refuses_packed_fields_of_an_odd_width() {
    let body = format(&(field("a", 4, "") + &field("b", 20, "")));
    refused(&[("t", &body)], &["field a", "fill 24 bits"]);
}

#[test]
fn refuses_a_whole_byte_integer_of_no_integer_width() {
    let body = format(&field("a", 24, ""));
    refused(
        &[("t", &body)],
        &["field a", "24 bits is not an integer width"],
    );
}

#[test]
fn refuses_an_address_of_the_wrong_width() {
    let body = format(&field("a", 32, "type = \"mac\""));
    refused(&[("t", &body)], &["field a", "MAC address is 48 bits"]);
}

#[test]
fn refuses_a_fixed_value_that_does_not_fit() {
    let body = format(&(field("version", 4, "fixed = 16") + &field("ihl", 4, "")));
    refused(
        &[("t", &body)],
        &["field version", "fixed value 16 does not fit in 4 bits"],
    );
}

#[test]
fn refuses_a_named_value_that_does_not_fit_the_key() {
    let body = "[[key]]\nname = \"K\"\nbits = 8\ndoc = \"d\"\nvalues = [{ name = \"BIG\", value = 256, doc = \"d\" }]\n";
    refused(
        &[("t", body)],
        &[
            "proto-defs/t.toml",
            "key K: value BIG = 256 does not fit in 8 bits",
        ],
    );
}

#[test]
fn refuses_a_named_value_that_does_not_fit_the_field() {
    let key = "[[key]]\nname = \"K\"\nbits = 8\ndoc = \"d\"\nvalues = [{ name = \"BIG\", value = 20, doc = \"d\" }]\n";
    let body = key.to_string() + &format(&(field("a", 4, "key = \"K\"") + &field("b", 4, "")));
    refused(
        &[("t", &body)],
        &["field a", "value BIG = 20 of key K does not fit in 4 bits"],
    );
}

#[test]
fn refuses_duplicate_field_names() {
    let body = format(&(field("a", 8, "") + &field("a", 8, "")));
    refused(
        &[("t", &body)],
        &["format Hdr: field a", "duplicate field name"],
    );
}

#[test]
fn refuses_duplicate_format_names_across_files() {
    let body = format(&field("a", 8, ""));
    refused(
        &[("t", &body), ("u", &body)],
        &[
            "proto-defs/u.toml: format Hdr",
            "duplicate format name (also in proto-defs/t.toml)",
        ],
    );
}

#[test]
fn refuses_duplicate_value_names() {
    let body = "[[key]]\nname = \"K\"\nbits = 8\ndoc = \"d\"\nvalues = [{ name = \"A\", value = 1, doc = \"d\" }, { name = \"A\", value = 2, doc = \"d\" }]\n";
    refused(&[("t", body)], &["key K: duplicate value name A"]);
}

#[test]
fn refuses_duplicate_key_names() {
    let key = "[[key]]\nname = \"K\"\nbits = 8\ndoc = \"d\"\nvalues = []\n";
    refused(&[("t", &format!("{key}{key}"))], &["duplicate key name K"]);
}

#[test]
fn refuses_a_value_named_twice() {
    let body = "[[key]]\nname = \"K\"\nbits = 8\ndoc = \"d\"\nvalues = [{ name = \"A\", value = 1, doc = \"d\" }, { name = \"B\", value = 1, doc = \"d\" }]\n";
    refused(&[("t", body)], &["key K: value B = 1 is named twice"]);
}

#[test]
fn refuses_an_unknown_next_layer() {
    let key = "[[key]]\nname = \"K\"\nbits = 8\ndoc = \"d\"\nvalues = [{ name = \"A\", value = 1, doc = \"d\" }]\n";
    let body = key.to_string()
        + &format(&field(
            "proto",
            8,
            "key = \"K\"\nnext_layer = { A = \"nosuch\" }",
        ));
    refused(
        &[("t", &body)],
        &["format Hdr: field proto", "unknown next layer `nosuch`"],
    );
}

#[test]
fn refuses_a_next_layer_value_the_key_does_not_name() {
    let key = "[[key]]\nname = \"K\"\nbits = 8\ndoc = \"d\"\nvalues = [{ name = \"A\", value = 1, doc = \"d\" }]\n";
    let body = key.to_string()
        + &format(&field(
            "proto",
            8,
            "key = \"K\"\nnext_layer = { B = \"u\" }",
        ));
    let other = format!(
        "[[format]]\nname = \"Other\"\ndoc = \"d\"\n{}",
        field("x", 8, "")
    );
    refused(
        &[("t", &body), ("u", &other)],
        &["field proto", "B is not a value of key K"],
    );
}

#[test]
fn refuses_a_length_that_points_nowhere() {
    let body = format(&field("len", 16, "length = { of = \"trailer\" }"));
    refused(
        &[("t", &body)],
        &[
            "format Hdr: field len",
            "length of `trailer` points nowhere",
        ],
    );
}

#[test]
fn refuses_a_checksum_that_points_nowhere() {
    let body = format(&field(
        "sum",
        16,
        "checksum = { algorithm = \"internet\", covers = \"trailer\" }",
    ));
    refused(
        &[("t", &body)],
        &[
            "format Hdr: field sum",
            "checksum covers `trailer`, which points nowhere",
        ],
    );
}

#[test]
fn refuses_a_checksum_of_the_wrong_width() {
    let body = format(&field(
        "sum",
        8,
        "checksum = { algorithm = \"internet\", covers = \"header\" }",
    ));
    refused(&[("t", &body)], &["field sum", "16-bit integer"]);
}

#[test]
fn refuses_an_unknown_key() {
    let body = format(&field("a", 8, "key = \"Nope\""));
    refused(&[("t", &body)], &["field a", "unknown key Nope"]);
}

#[test]
fn refuses_a_rust_keyword_as_field_name() {
    let body = format(&field("type", 8, ""));
    refused(&[("t", &body)], &["field type", "Rust keyword"]);
}

#[test]
fn refuses_unknown_spec_keys() {
    let text = format!("{HEAD}{}", format(&field("a", 8, "colour = \"red\"")));
    let err = crate::parse("proto-defs/t.toml", &text)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("proto-defs/t.toml") && err.contains("colour"),
        "{err}"
    );
}

#[test]
fn the_real_specs_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let modules = crate::load(&root).unwrap_or_else(|e| panic!("{e}"));
    let ipv4 = modules.iter().find(|m| m.name == "ipv4").unwrap();
    assert_eq!(ipv4.formats[0].len, 20);
}
