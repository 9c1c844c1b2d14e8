//! One test per refusal: each builds the smallest spec that trips it and
//! checks the message names the file, the format and the field.

use super::*;
use crate::spec_checks;

const HEAD: &str = r#"
title = "Test"
reference = "none"
url = "https://example.invalid/"
byte_order = "network"
"#;

/// Validates `(module, body)` files (HEAD is prepended).
fn validate_all(files: &[(&str, &str)]) -> Result<Vec<Module>, Vec<SpecError>> {
    spec_checks::validate_with(HEAD, files)
}

/// Validates `(module, body)` files (HEAD is prepended) and returns the messages.
fn errors(files: &[(&str, &str)]) -> Vec<String> {
    spec_checks::messages(HEAD, files)
}

/// Asserts an error containing every piece of `expected`.
fn refused(files: &[(&str, &str)], expected: &[&str]) {
    spec_checks::assert_refused(&errors(files), expected);
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

/// A field `a` of 8 bits with `extra` (e.g. a constraint list), then `b`.
fn constrained(extra: &str) -> String {
    format(&(field("a", 8, extra) + &field("b", 8, "")))
}

fn check(name: &str, text: &str) -> String {
    format!("constraint = [{{ name = \"{name}\", check = \"{text}\" }}]")
}

#[test]
fn accepts_constraints_over_fields_len_constants_and_other_files_keys() {
    let key = "[[key]]\nname = \"Proto\"\nbits = 8\ndoc = \"d\"\nvalues = [{ name = \"UDP\", value = 17, doc = \"d\" }]\n";
    let body = "[[constant]]\nname = \"MAX\"\ntype = \"u16\"\nvalue = 1500\ndoc = \"d\"\n"
        .to_string()
        + &format(
            &(field(
                "a",
                8,
                &check("bad_a", "a * 4 >= LEN && a <= len % 7 + MAX"),
            ) + &field("b", 8, &check("bad_b", "(b == Proto.UDP) || !(a - b < 2)"))),
        );
    assert_eq!(errors(&[("t", &body), ("u", key)]), Vec::<String>::new());
}

#[test]
fn refuses_an_unknown_name_in_a_constraint() {
    refused(
        &[("t", &constrained(&check("bad_a", "a >= nope")))],
        &[
            "format Hdr: field a",
            "constraint bad_a",
            "unknown name `nope`",
        ],
    );
}

#[test]
fn refuses_a_constraint_on_a_later_field() {
    refused(
        &[("t", &constrained(&check("bad_a", "a <= b")))],
        &["field a", "`b` comes after this field"],
    );
}

#[test]
fn refuses_an_unknown_key_value() {
    refused(
        &[("t", &constrained(&check("bad_a", "a == Nope.UDP")))],
        &["field a", "unknown key `Nope`"],
    );
    let key = "[[key]]\nname = \"K\"\nbits = 8\ndoc = \"d\"\nvalues = [{ name = \"A\", value = 1, doc = \"d\" }]\n";
    refused(
        &[("t", &constrained(&check("bad_a", "a == K.B"))), ("u", key)],
        &["field a", "`K.B`: K names no value B"],
    );
}

#[test]
fn refuses_a_constraint_that_does_not_parse() {
    refused(
        &[("t", &constrained(&check("bad_a", "a >= (1 +")))],
        &["field a", "constraint bad_a", "`a >= (1 +`"],
    );
}

#[test]
fn refuses_a_constraint_that_is_a_number() {
    refused(
        &[("t", &constrained(&check("bad_a", "a + 1")))],
        &["field a", "a number, not a condition"],
    );
}

#[test]
fn refuses_arithmetic_on_addresses_and_division_by_a_field() {
    let body =
        format(&(field("m", 48, "type = \"mac\"") + &field("a", 8, &check("bad_a", "m > 1"))));
    refused(
        &[("t", &body)],
        &["field a", "`m` is Mac bytes, not a number"],
    );
    refused(
        &[("t", &constrained(&check("bad_a", "4 / a == 1")))],
        &["field a", "only by a non-zero number"],
    );
}

#[test]
fn refuses_arithmetic_that_could_overflow() {
    let body = format(&field("a", 64, &check("bad_a", "a * a * a > 1")));
    refused(&[("t", &body)], &["field a", "may need 128 bits"]);
}

#[test]
fn refuses_a_format_constraint_with_an_unknown_name() {
    let body = constrained("") + "[[format.constraint]]\nname = \"bad\"\ncheck = \"zz == 1\"\n";
    refused(
        &[("t", &body)],
        &[
            "proto-defs/t.toml: format Hdr: constraint bad",
            "unknown name `zz`",
        ],
    );
}

#[test]
fn refuses_an_error_name_that_is_not_snake_case() {
    refused(
        &[("t", &constrained(&check("BadA", "a > 1")))],
        &["field a", "`BadA` is not snake_case"],
    );
}

#[test]
fn refuses_a_fixed_error_without_a_fixed_value() {
    refused(
        &[("t", &constrained("fixed_error = \"bad_format\""))],
        &["field a", "this field has none"],
    );
}

#[test]
fn refuses_an_unknown_pseudo_header_protocol() {
    let body = format(&field(
        "sum",
        16,
        "checksum = { algorithm = \"internet\", covers = \"header\", pseudo_header = \"ipv4\", protocol = \"IpProtocol.SCTP\" }",
    ));
    refused(
        &[("t", &body)],
        &[
            "format Hdr: field sum",
            "checksum protocol",
            "unknown key `IpProtocol`",
        ],
    );
}

#[test]
fn resolves_a_fixed_key_value_from_another_file() {
    let types = "[[key]]\nname = \"Kinds\"\nbits = 16\ndoc = \"d\"\nvalues = [{ name = \"IPV4\", value = 0x0800, doc = \"d\" }]\n";
    let body = format(&field("ptype", 16, "fixed = \"Kinds.IPV4\""));
    let modules = validate_all(&[("a", types), ("t", &body)]).unwrap();
    let t = modules.iter().find(|m| m.name == "t").unwrap();
    assert_eq!(t.formats[0].fields[0].def.fixed, Some(0x0800));
}

#[test]
fn refuses_an_unknown_fixed_key_value() {
    let types = "[[key]]\nname = \"Kinds\"\nbits = 16\ndoc = \"d\"\nvalues = [{ name = \"IPV4\", value = 0x0800, doc = \"d\" }]\n";
    for (fixed, why) in [
        ("Kinds.IPV6", "Kinds names no value IPV6"),
        ("EtherKind.IPV4", "unknown key `EtherKind`"),
        ("IPV4", "is not a key value"),
    ] {
        let body = format(&field("ptype", 16, &format!("fixed = \"{fixed}\"")));
        refused(
            &[("a", types), ("t", &body)],
            &[
                "proto-defs/t.toml",
                "format Hdr: field ptype",
                "fixed: ",
                why,
            ],
        );
    }
}

#[test]
fn refuses_a_fixed_key_value_too_wide_for_its_field() {
    let types = "[[key]]\nname = \"Kinds\"\nbits = 16\ndoc = \"d\"\nvalues = [{ name = \"IPV4\", value = 0x0800, doc = \"d\" }]\n";
    let body = format(&field("ptype", 8, "fixed = \"Kinds.IPV4\""));
    refused(
        &[("a", types), ("t", &body)],
        &[
            "format Hdr: field ptype",
            "fixed value 2048 does not fit in 8 bits",
        ],
    );
}

const KINDS: &str = "[[key]]\nname = \"Kind\"\nbits = 8\ndoc = \"d\"\nvalues = [{ name = \"END\", value = 0, doc = \"d\" }, { name = \"NOP\", value = 1, doc = \"d\" }, { name = \"MSS\", value = 2, doc = \"d\" }]\n";

fn options(formats: &str) -> String {
    format!("{KINDS}[[options]]\nname = \"Opts\"\ndoc = \"d\"\nkind = \"Kind\"\nend = \"END\"\nnop = \"NOP\"\nformats = {{ {formats} }}\n")
}

#[test]
fn accepts_an_option_list() {
    let body = options("MSS = \"Mss\"")
        + "[[format]]\nname = \"Mss\"\ndoc = \"d\"\n"
        + &field("kind", 8, "key = \"Kind\"")
        + &field("length", 8, "length = { of = \"message\" }")
        + &field("mss", 16, "");
    assert_eq!(errors(&[("t", &body)]), Vec::<String>::new());
}

#[test]
fn accepts_an_option_list_whose_length_counts_the_value() {
    let body = options("MSS = \"Mss\"")
        .replace("formats =", "length_counts = \"value\"\nformats =")
        + "[[format]]\nname = \"Mss\"\ndoc = \"d\"\n"
        + &field("kind", 8, "key = \"Kind\"")
        + &field("length", 8, "length = { of = \"rest\" }")
        + &field("mss", 16, "");
    assert_eq!(errors(&[("t", &body)]), Vec::<String>::new());
    let whole = body.replace("of = \"rest\"", "of = \"message\"");
    refused(
        &[("t", &whole)],
        &["format Mss", "length = { of = \"rest\" }"],
    );
}

#[test]
fn refuses_an_option_format_without_kind_and_length() {
    let body = options("MSS = \"Mss\"")
        + "[[format]]\nname = \"Mss\"\ndoc = \"d\"\n"
        + &field("mss", 16, "");
    refused(&[("t", &body)], &["format Mss", "starts with its kind"]);
}

#[test]
fn refuses_an_option_list_naming_nothing() {
    refused(
        &[("t", &options("MSS = \"Nope\""))],
        &["options Opts", "no [[format]] Nope"],
    );
    let body = options("").replace("end = \"END\"", "end = \"FIN\"");
    refused(
        &[("t", &body)],
        &["options Opts", "end = FIN is not a value of Kind"],
    );
}

#[test]
fn refuses_options_sharing_the_rest_of_the_message_with_a_repeated_element() {
    let body = options("")
        + &format(&field("a", 8, "")).replacen(
            "doc = \"d\"\n",
            "doc = \"d\"\noptions = \"Opts\"\nrepeated = \"Hdr\"\n",
            1,
        );
    refused(
        &[("t", &body)],
        &["format Hdr", "a repeated element cannot share"],
    );
}

#[test]
fn refuses_a_repeated_element_that_is_not_a_format() {
    let body = format(&field("a", 8, "")).replacen(
        "doc = \"d\"\n",
        "doc = \"d\"\nrepeated = \"Block\"\n",
        1,
    );
    refused(
        &[("t", &body)],
        &["format Hdr", "repeated `Block` is not another [[format]]"],
    );
}

#[test]
fn refuses_a_checksum_before_the_length_it_covers() {
    let body = format(
        &(field(
            "sum",
            16,
            "checksum = { algorithm = \"internet\", covers = \"message\" }",
        ) + &field("len", 16, "length = { of = \"message\" }")),
    );
    refused(
        &[("t", &body)],
        &["field sum", "whose length field comes after it"],
    );
}

#[test]
fn refuses_a_message_length_before_the_header_length() {
    let body = format(
        &(field("total", 16, "length = { of = \"message\" }")
            + &field("hl", 8, "length = { unit_bytes = 4, of = \"header\" }")),
    );
    refused(
        &[("t", &body)],
        &["field total", "must come after the header length"],
    );
}

#[test]
fn refuses_a_fixed_size_the_layout_contradicts() {
    let body = format(
        &(field("hlen", 8, "fixed = 4\nlength = { of = \"addr\" }")
            + &field("addr", 48, "type = \"mac\"")),
    );
    refused(
        &[("t", &body)],
        &[
            "field hlen",
            "fixed value 4 gives `addr` 4 bytes, but the layout makes it 6",
        ],
    );
}

#[test]
fn refuses_a_key_value_two_files_declare() {
    let key = "[[key]]\nname = \"K\"\nbits = 8\ndoc = \"d\"\nvalues = [{ name = \"A\", value = 1, doc = \"d\" }]\n";
    refused(
        &[
            ("t", &constrained(&check("bad_a", "a == K.A"))),
            ("u", key),
            ("v", key),
        ],
        &["field a", "key `K` is declared in more than one spec"],
    );
}
