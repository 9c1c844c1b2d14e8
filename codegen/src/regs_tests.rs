//! One test per refusal of a register block, in the style of
//! `validate_tests.rs`: the smallest spec that trips it, and the message
//! names the file, the block and the register.

use crate::spec_checks;

const HEAD: &str = r#"
title = "Test"
reference = "none"
url = "https://example.invalid/"
byte_order = "little"

[[key]]
name = "Status"
bits = 32
flags = true
doc = "d"
values = [ { name = "OK", value = 1, doc = "d" } ]
"#;

/// The messages for a file holding HEAD and `body`.
fn errors(body: &str) -> Vec<String> {
    spec_checks::messages(HEAD, &[("t", body)])
}

fn refused(body: &str, expected: &[&str]) {
    spec_checks::assert_refused(&errors(body), expected);
}

fn block(registers: &str) -> String {
    format!("[[register_block]]\nname = \"Regs\"\ndoc = \"d\"\n{registers}")
}

fn reg(name: &str, offset: u64, bits: u32, extra: &str) -> String {
    format!(
        "[[register_block.register]]\nname = \"{name}\"\noffset = {offset}\nbits = {bits}\naccess = \"read-write\"\ndoc = \"d\"\n{extra}\n"
    )
}

#[test]
fn accepts_a_good_block() {
    let body = block(
        &(reg("magic", 0, 32, "access = \"read\"").replace("access = \"read-write\"\n", "")
            + &reg("status", 4, 32, "key = \"Status\"")
            + &reg("mac", 8, 8, "count = 6")
            + &reg("mtu", 14, 16, "")),
    );
    assert_eq!(errors(&body), Vec::<String>::new());
}

#[test]
fn refuses_overlapping_registers() {
    let body = block(&(reg("a", 0, 32, "") + &reg("b", 2, 16, "")));
    refused(
        &body,
        &[
            "proto-defs/t.toml: format Regs: field b: ",
            "overlaps register a",
        ],
    );
}

#[test]
fn refuses_an_array_running_into_the_next_register() {
    let body = block(&(reg("mac", 0, 8, "count = 6") + &reg("status", 4, 16, "")));
    refused(&body, &["field status", "overlaps register mac (0x0..0x6)"]);
}

#[test]
fn refuses_a_width_that_is_no_access() {
    let body = block(&reg("a", 0, 24, ""));
    refused(&body, &["field a", "8, 16, 32 or 64 bits wide", "not 24"]);
}

#[test]
fn refuses_a_misaligned_register() {
    let body = block(&reg("a", 2, 32, ""));
    refused(
        &body,
        &[
            "field a",
            "offset 0x2 is not aligned to the register's 4 bytes",
        ],
    );
}

#[test]
fn refuses_an_unknown_key() {
    let body = block(&reg("a", 0, 32, "key = \"Nope\""));
    refused(&body, &["field a", "unknown key Nope"]);
}

#[test]
fn refuses_a_key_of_another_width() {
    let body = block(&reg("a", 0, 16, "key = \"Status\""));
    refused(
        &body,
        &[
            "field a",
            "key Status is 32 bits wide; the register is 16 bits",
        ],
    );
}

#[test]
fn refuses_duplicate_register_names() {
    let body = block(&(reg("a", 0, 32, "") + &reg("a", 4, 32, "")));
    refused(&body, &["field a", "duplicate register name"]);
}

#[test]
fn refuses_an_empty_run() {
    let body = block(&reg("a", 0, 8, "count = 0"));
    refused(&body, &["field a", "count must be at least 1"]);
}

#[test]
fn refuses_a_block_named_like_a_key() {
    let body = block(&reg("a", 0, 32, "")).replace("name = \"Regs\"", "name = \"Status\"");
    refused(&body, &["format Status", "has the same name"]);
}

#[test]
fn refuses_a_register_named_len() {
    let body = block(&reg("len", 0, 32, ""));
    refused(&body, &["field len", "clash with the constant LEN"]);
}

#[test]
fn refuses_an_unknown_access() {
    let body = block(&reg("a", 0, 32, "")).replace("read-write", "sometimes");
    let e = crate::parse("proto-defs/t.toml", &format!("{HEAD}{body}")).unwrap_err();
    assert!(e.to_string().contains("sometimes"), "{e}");
}
