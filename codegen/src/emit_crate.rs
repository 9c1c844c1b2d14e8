//! Emits the crate-level files of `wire`: the dispatch table from the
//! `next_layer` declarations, and `lib.rs` listing every module.

use std::fmt::Write;

use crate::emit_build::{max_expr, module_headers_expr};
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
                let (format, module, field) = (l.name(), &m.name, &f.def.name);
                let (mut variants, mut up, mut down) =
                    (String::new(), String::new(), String::new());
                for (value, target) in map {
                    let variant = camel(target);
                    writeln!(
                        variants,
                        "    /// [`crate::{target}`], for `{key}::{value}`.\n    {variant},"
                    )
                    .unwrap();
                    writeln!(up, "        {key}::{value} => {en}::{variant},").unwrap();
                    writeln!(down, "            {en}::{variant} => {key}::{value},").unwrap();
                }
                // Read forwards for parsing; backwards, for building, the
                // value a layer is carried under.
                write!(
                    body,
                    r#"
/// What follows a [`{format}`](crate::{module}::{format}), by its `{field}` field ({file}).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum {en} {{
{variants}    /// A value with no next layer declared.
    Unknown({key}),
}}

/// The layer that parses what follows, by the value of `{field}`.
pub fn {module}_next(key: {key}) -> {en} {{
    match key {{
{up}        other => {en}::Unknown(other),
    }}
}}

impl {en} {{
    /// The `{field}` that carries this layer: [`{module}_next`] read backwards, for building.
    pub const fn {field}(self) -> {key} {{
        match self {{
{down}            {en}::Unknown(key) => key,
        }}
    }}
}}
"#,
                    file = m.file
                )
                .unwrap();
            }
        }
    }
    body += &header_chains(modules);
    let mut out = banner(&sources.join(", "));
    out += r#"//! The dispatch table: which module parses the next layer, generated from the
//! `next_layer` declarations of the specs. The stack matches on these enums
//! instead of on magic numbers, and builds with them too: each enum names the
//! key value that carries a layer. The longest run of headers in front of a
//! payload follows from the same declarations.

"#;
    out += &uses.join("\n");
    out += "\n";
    out += &body;
    out
}

/// Emits `kernel/wire/src/lib.rs`.
pub fn lib(modules: &[Module]) -> String {
    let mut out = banner("proto-defs/");
    out += r#"//! Zero-copy views of every on-wire and on-device format the kernel touches,
//! generated from `proto-defs/*.toml` by `cargo xtask codegen`.
//!
//! Each header is a `#[repr(C)]` struct of byte-order-aware fields: view it in
//! place with zerocopy's `ref_from_prefix` / `mut_from_prefix` and use its
//! accessors, or check its length fields with its `parse`; build one with its
//! `<Format>Repr` and [`Emit`]. `checksum` (RFC 1071), `emit` (the builder trait),
//! `format` (the `header!`, `builder!` and `errors!` shapes every format shares),
//! `keys` (the `key!` and `flags!` shapes every named value shares), `names`
//! (the walk of compressed domain names), `parse` (its result types) and
//! `quote` (the datagram an ICMP error quotes, rewritten by a translator) are
//! hand-written; the rest is generated.

#![no_std]
#![forbid(unsafe_code)]
// A `len` accessor is a wire field (virtq descriptors), not a container length.
#![allow(clippy::len_without_is_empty)]

pub mod checksum;
pub mod dispatch;
pub mod drops;
pub mod emit;
mod format;
mod keys;
pub mod names;
pub mod parse;
pub mod quote;
pub mod regs;
"#;
    for m in modules {
        writeln!(out, "pub mod {};", m.name).unwrap();
    }
    out += "\npub use emit::{Emit, EmitError, EmitOptions};\npub use parse::Parsed;\n";
    out
}

/// The modules `m`'s `next_layer` declaration leads to, each once.
fn next_modules<'a>(modules: &'a [Module], m: &Module) -> Vec<&'a Module> {
    let mut out: Vec<&Module> = Vec::new();
    for l in &m.formats {
        for f in &l.fields {
            for target in f.def.next_layer.iter().flat_map(|map| map.values()) {
                if let Some(t) = modules.iter().find(|t| &t.name == target) {
                    if !out.iter().any(|o| o.name == t.name) {
                        out.push(t);
                    }
                }
            }
        }
    }
    out
}

/// The longest run of headers from `m` down, as an expression; `seen`
/// stops a layer that (indirectly) carries itself.
fn chain_expr(modules: &[Module], m: &Module, seen: &mut Vec<String>) -> Option<String> {
    let own = module_headers_expr(m)?;
    seen.push(m.name.clone());
    let mut below = Vec::new();
    for t in next_modules(modules, m) {
        if !seen.contains(&t.name) {
            below.extend(chain_expr(modules, t, seen));
        }
    }
    seen.pop();
    Some(match max_expr(&below) {
        Some(below) => format!("{own} + {below}"),
        None => own,
    })
}

/// For each module that starts a chain (it has a `next_layer` and no other
/// module carries it), `<MODULE>_MAX_HEADERS`: what the stack must leave in
/// front of a payload to push every header down to it.
fn header_chains(modules: &[Module]) -> String {
    let carried: Vec<String> = modules
        .iter()
        .flat_map(|m| next_modules(modules, m))
        .map(|t| t.name.clone())
        .collect();
    let mut out = String::new();
    for m in modules {
        if next_modules(modules, m).is_empty() || carried.contains(&m.name) {
            continue;
        }
        let Some(expr) = chain_expr(modules, m, &mut Vec::new()) else {
            continue;
        };
        write!(
            out,
            r#"
/// The most header bytes a message that starts with a [`crate::{0}`] header carries in front of
/// its payload: each layer's longest header (a header-length field at its largest; a common
/// header with its longest body), down every `next_layer` path, the longest path taken.
pub const {1}_MAX_HEADERS: usize = {expr};
"#,
            m.name,
            m.name.to_uppercase()
        )
        .unwrap();
    }
    if !out.is_empty() {
        out += r#"
/// `const` `max`, for the sums above.
const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}
"#;
    }
    out
}
