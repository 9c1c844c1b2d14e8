//! Domain names (`[[domain_name]]`): a variable-length part made of labels,
//! each a length byte and that many bytes, ended by the empty root label
//! or by a compression pointer to an earlier name in the same message
//! (RFC 1035, sections 3.1 and 4.1.4). The spec gives the limits (longest
//! label, longest name) and the bits that mark a pointer; the walk that
//! holds a name to them is hand-written once in `kernel/wire/src/names.rs`
//! and every way it can refuse a name is a named error of the module.

use serde::Deserialize;

use crate::model::ErrorDef;
use crate::spec::SpecFile;
use crate::validate::{is_camel, Errors};

/// `[[domain_name]]`: one kind of compressed name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameDef {
    /// The view's type, e.g. `DnsName`.
    pub name: String,
    pub doc: String,
    /// The longest label, in bytes (RFC 1035: 63).
    pub max_label: u8,
    /// The longest name on the wire, length bytes and the root label
    /// included (RFC 1035: 255).
    pub max_len: u16,
    /// The top bits of a length byte that make it a pointer (RFC 1035:
    /// 0xC0); the other bits and the next byte are the offset it points to.
    pub pointer: u8,
}

/// The errors a name's walk (and its encoder) can end with, in the order
/// the walk meets them, with their docs.
pub const ERRORS: [(&str, &str); 7] = [
    (
        "name_past_end",
        "A label or pointer of a name runs past the end of the message (or, when encoding, of the buffer).",
    ),
    (
        "label_too_long",
        "A length byte above the longest label that is not a pointer either.",
    ),
    (
        "name_too_long",
        "A name longer than the longest name, once its pointers are followed.",
    ),
    (
        "name_pointer_out_of_range",
        "A compression pointer to an offset past the end of the message.",
    ),
    (
        "name_pointer_forward",
        "A compression pointer to itself or to a later offset: it must point to a prior occurrence.",
    ),
    (
        "name_loop",
        "A compression pointer back into the labels just followed: walking it would never end.",
    ),
    (
        "name_empty_label",
        "A dotted name to encode with an empty label (`a..b`).",
    ),
];

pub(crate) fn check(spec: &SpecFile, errs: &mut Errors) {
    for n in &spec.names {
        let say = |errs: &mut Errors, msg: String| {
            errs.push(None, None, format!("domain_name {}: {msg}", n.name))
        };
        if !is_camel(&n.name) {
            say(errs, "the name is CamelCase (`DnsName`)".into());
        }
        if spec.formats.iter().any(|f| f.name == n.name)
            || spec.keys.iter().any(|k| k.name == n.name)
        {
            say(errs, "a format or key has the same name".into());
        }
        if spec.formats.is_empty() {
            say(
                errs,
                "its errors are the module's: declare it in a file with a [[format]]".into(),
            );
        }
        let top_bits = n.pointer == 0 || n.pointer.leading_ones() + n.pointer.trailing_zeros() != 8;
        if top_bits {
            say(
                errs,
                format!(
                    "pointer = {:#04x} is not a run of top bits (0xc0: the top two)",
                    n.pointer
                ),
            );
        }
        if n.max_label == 0 || n.max_label >= n.pointer {
            say(
                errs,
                format!(
                    "max_label = {} must be at least 1 and below the pointer mark {:#04x}",
                    n.max_label, n.pointer
                ),
            );
        }
        if usize::from(n.max_len) < usize::from(n.max_label) + 2 {
            say(
                errs,
                format!(
                    "max_len = {} cannot hold one label of max_label bytes and the root",
                    n.max_len
                ),
            );
        }
    }
}

/// Adds the names' errors to a module's list (after those of its formats).
pub(crate) fn add_errors(spec: &SpecFile, errors: &mut Vec<ErrorDef>) {
    if spec.names.is_empty() {
        return;
    }
    for (name, doc) in ERRORS {
        match errors.iter_mut().find(|e| e.name == name) {
            Some(e) => e.doc = doc.into(),
            None => errors.push(ErrorDef {
                name: name.into(),
                doc: doc.into(),
            }),
        }
    }
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
