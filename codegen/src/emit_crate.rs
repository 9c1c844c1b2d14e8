//! Emits the crate-level files of `wire`: the dispatch table from the
//! `next_layer` declarations, and `lib.rs` listing every module.

use std::fmt::Write;

use crate::emit_rust::banner;
use crate::model::{camel, Module};

/// Emits `kernel/wire/src/dispatch.rs` from every `next_layer` declaration.
pub fn dispatch(modules: &[Module]) -> String {
    let mut sources = Vec::new();
    let mut body = String::new();
    let mut uses = Vec::new();
    for m in modules {
        for l in &m.formats {
            for f in &l.fields {
                let Some(map) = &f.def.next_layer else {
                    continue;
                };
                let key = f.def.key.as_ref().unwrap();
                sources.push(m.file.clone());
                uses.push(format!("use crate::{}::{key};", m.name));
                let en = format!("{}Next", camel(&m.name));
                writeln!(
                    body,
                    "\n/// What follows a [`{}`](crate::{}::{}), by its `{}` field ({}).",
                    l.name(),
                    m.name,
                    l.name(),
                    f.def.name,
                    m.file
                )
                .unwrap();
                writeln!(
                    body,
                    "#[derive(Debug, Clone, Copy, PartialEq, Eq)]\npub enum {en} {{"
                )
                .unwrap();
                for (value, target) in map {
                    writeln!(
                        body,
                        "/// [`crate::{target}`], for `{key}::{value}`.\n{},",
                        camel(target)
                    )
                    .unwrap();
                }
                writeln!(
                    body,
                    "/// A value with no next layer declared.\nUnknown({key}),\n}}"
                )
                .unwrap();
                writeln!(
                    body,
                    "\n/// The layer that parses what follows, by the value of `{}`.\npub fn {}_next(key: {key}) -> {en} {{\nmatch key {{",
                    f.def.name, m.name
                )
                .unwrap();
                for (value, target) in map {
                    writeln!(body, "{key}::{value} => {en}::{},", camel(target)).unwrap();
                }
                writeln!(body, "other => {en}::Unknown(other),\n}}\n}}").unwrap();
            }
        }
    }
    let mut out = banner(&sources.join(", "));
    out += "//! The dispatch table: which module parses the next layer, generated from the\n";
    out += "//! `next_layer` declarations of the specs. The stack matches on these enums\n";
    out += "//! instead of on magic numbers.\n\n";
    out += &uses.join("\n");
    out += "\n";
    out += &body;
    out
}

/// Emits `kernel/wire/src/lib.rs`.
pub fn lib(modules: &[Module]) -> String {
    let mut out = banner("proto-defs/");
    out += "//! Zero-copy views of every on-wire and on-device format the kernel touches,\n";
    out += "//! generated from `proto-defs/*.toml` by `cargo xtask codegen`.\n//!\n";
    out += "//! Each header is a `#[repr(C)]` struct of byte-order-aware fields: view it in\n";
    out += "//! place with zerocopy's `ref_from_prefix` / `mut_from_prefix` and use its\n";
    out += "//! accessors, or check its length fields with its `parse`. `checksum` (RFC 1071)\n";
    out += "//! and `parse` (its result types) are hand-written; the rest is generated.\n\n";
    out += "#![no_std]\n#![forbid(unsafe_code)]\n";
    out += "// A `len` accessor is a wire field (virtq descriptors), not a container length.\n";
    out += "#![allow(clippy::len_without_is_empty)]\n\n";
    out += "pub mod checksum;\npub mod dispatch;\npub mod drops;\npub mod parse;\n";
    for m in modules {
        writeln!(out, "pub mod {};", m.name).unwrap();
    }
    out += "\npub use parse::Parsed;\n";
    out
}
