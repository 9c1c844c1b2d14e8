//! What the refusal tests share (`validate_tests.rs`, `regs_tests.rs`,
//! `records_tests.rs`): validating small spec files built in the test, and
//! asserting that a message names what it must.

use crate::model::Module;
use crate::validate::{validate, SpecError};

/// Validates `(module, body)` files, each with `head` in front.
pub(crate) fn validate_with(
    head: &str,
    files: &[(&str, &str)],
) -> Result<Vec<Module>, Vec<SpecError>> {
    let parsed = files
        .iter()
        .map(|(m, body)| {
            let file = format!("proto-defs/{m}.toml");
            let spec =
                crate::parse(&file, &format!("{head}{body}")).unwrap_or_else(|e| panic!("{e}"));
            (file, m.to_string(), spec)
        })
        .collect();
    validate(parsed)
}

/// The messages for `(module, body)` files with `head` in front; empty
/// when they validate.
pub(crate) fn messages(head: &str, files: &[(&str, &str)]) -> Vec<String> {
    match validate_with(head, files) {
        Ok(_) => Vec::new(),
        Err(list) => list.iter().map(|e| e.to_string()).collect(),
    }
}

/// Asserts that some message contains every piece of `expected`.
pub(crate) fn assert_refused(errs: &[String], expected: &[&str]) {
    assert!(!errs.is_empty(), "accepted; expected {expected:?}");
    assert!(
        errs.iter().any(|e| expected.iter().all(|x| e.contains(x))),
        "expected {expected:?} in {errs:#?}"
    );
}
