//! Checks that a set of spec files adds up and computes each format's layout.
//!
//! Every refusal names the file, the format and the field, and has a test in
//! `validate_tests.rs`. The output (`model::Module`) is what the emitters
//! read: they never re-derive offsets or widths.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::checks::{checks, module_errors, number, resolve_value, Keys};
use crate::model::{
    camel, native_bits, parse_ipv4, parse_mac, snake, Field, Group, Item, Layout, Module, Repr,
};
use crate::spec::{ConstType, ConstValue, FieldDef, FieldType, FormatDef, SpecFile};

/// A spec that does not add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Path of the spec file, e.g. `proto-defs/ipv4.toml`.
    pub file: String,
    pub format: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(format) = &self.format {
            write!(f, ": format {format}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

pub(crate) const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

pub(crate) fn is_snake(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub(crate) fn is_camel(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_upper(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

pub(crate) fn fits(value: u64, bits: u32) -> bool {
    bits >= 64 || value < (1u64 << bits)
}

/// Collects errors with their location.
pub(crate) struct Errors<'a> {
    file: &'a str,
    list: Vec<SpecError>,
}

impl Errors<'_> {
    pub(crate) fn push(
        &mut self,
        format: Option<&str>,
        field: Option<&str>,
        message: impl Into<String>,
    ) {
        self.list.push(SpecError {
            file: self.file.to_string(),
            format: format.map(str::to_string),
            field: field.map(str::to_string),
            message: message.into(),
        });
    }

    pub(crate) fn list_len(&self) -> usize {
        self.list.len()
    }
}

/// Validates every spec file; `files` holds (path, module name, parsed text).
pub fn validate(files: Vec<(String, String, SpecFile)>) -> Result<Vec<Module>, Vec<SpecError>> {
    let modules: BTreeSet<String> = files.iter().map(|(_, m, _)| m.clone()).collect();
    let keys = Keys::new(&files);
    let mut all_errors = Vec::new();
    let mut out = Vec::new();
    let mut format_names: BTreeMap<String, String> = BTreeMap::new();
    for (file, module, mut spec) in files {
        let file_name = file.clone();
        let mut errs = Errors {
            file: &file_name,
            list: Vec::new(),
        };
        resolve_fixed(&mut spec, &keys, &mut errs);
        if !is_snake(&module) || KEYWORDS.contains(&module.as_str()) {
            errs.push(
                None,
                None,
                format!("the file name `{module}` is not a snake_case module name"),
            );
        }
        check_keys(&spec, &mut errs);
        check_constants(&spec, &mut errs);
        let mut formats = Vec::new();
        for def in &spec.formats {
            if let Some(other) = format_names.insert(def.name.clone(), file.clone()) {
                errs.push(
                    Some(&def.name),
                    None,
                    format!("duplicate format name (also in {other})"),
                );
            }
            if spec.keys.iter().any(|k| k.name == def.name) {
                errs.push(Some(&def.name), None, "a key has the same name");
            }
            if let Some(layout) = layout(def, &spec, &module, &modules, &mut errs) {
                formats.push(layout);
            }
        }
        // Checks may name other formats of the file (repeated elements).
        for i in 0..formats.len() {
            formats[i].checks = checks(&formats[i], &formats, &spec, &keys, &mut errs);
        }
        crate::options::check(&spec, &formats, &mut errs);
        crate::names::check(&spec, &mut errs);
        check_module_wide(&spec, &mut errs);
        for (item, part, message) in crate::regs::check(&spec)
            .into_iter()
            .chain(crate::records::check(&spec))
        {
            errs.push(Some(&item), part.as_deref(), message);
        }
        let pseudo_protocol = pseudo_protocol(&spec, &keys, &mut errs);
        if let Some(prefix) = &spec.counter_prefix {
            if !is_snake(prefix) {
                errs.push(
                    None,
                    None,
                    format!("counter_prefix `{prefix}` is not snake_case"),
                );
            }
        }
        if errs.list.is_empty() {
            let mut errors = module_errors(&formats, !spec.options.is_empty());
            crate::names::add_errors(&spec, &mut errors);
            out.push(Module {
                name: module,
                file,
                spec,
                formats,
                errors,
                pseudo_protocol,
            });
        }
        all_errors.extend(errs.list);
    }
    if all_errors.is_empty() {
        Ok(out)
    } else {
        Err(all_errors)
    }
}

fn check_keys(spec: &SpecFile, errs: &mut Errors) {
    let mut names = BTreeSet::new();
    for key in &spec.keys {
        if !names.insert(&key.name) {
            errs.push(None, None, format!("duplicate key name {}", key.name));
        }
        if !is_camel(&key.name) {
            errs.push(
                None,
                None,
                format!("key {} is not a CamelCase type name", key.name),
            );
        }
        if ![8, 16, 32, 64].contains(&key.bits) {
            errs.push(
                None,
                None,
                format!(
                    "key {}: bits must be 8, 16, 32 or 64, not {}",
                    key.name, key.bits
                ),
            );
        }
        let mut values = BTreeSet::new();
        for v in &key.values {
            if !values.insert(&v.name) {
                errs.push(
                    None,
                    None,
                    format!("key {}: duplicate value name {}", key.name, v.name),
                );
            }
            if !is_upper(&v.name) {
                errs.push(
                    None,
                    None,
                    format!("key {}: value {} is not UPPER_CASE", key.name, v.name),
                );
            }
            if !key.flags && key.values.iter().filter(|o| o.value == v.value).count() > 1 {
                errs.push(
                    None,
                    None,
                    format!(
                        "key {}: value {} = {} is named twice",
                        key.name, v.name, v.value
                    ),
                );
            }
            if !fits(v.value, key.bits) {
                errs.push(
                    None,
                    None,
                    format!(
                        "key {}: value {} = {} does not fit in {} bits",
                        key.name, v.name, v.value, key.bits
                    ),
                );
            }
        }
    }
}

fn check_constants(spec: &SpecFile, errs: &mut Errors) {
    let mut names = BTreeSet::new();
    for c in &spec.constants {
        if !names.insert(&c.name) {
            errs.push(None, None, format!("duplicate constant name {}", c.name));
        }
        if !is_upper(&c.name) {
            errs.push(None, None, format!("constant {} is not UPPER_CASE", c.name));
        }
        let ok = match (c.ty, &c.value) {
            (ConstType::U8, ConstValue::Int(v)) => fits(*v, 8),
            (ConstType::U16, ConstValue::Int(v)) => fits(*v, 16),
            (ConstType::U32, ConstValue::Int(v)) => fits(*v, 32),
            (ConstType::U64, ConstValue::Int(_)) => true,
            (ConstType::Mac, ConstValue::Text(t)) => parse_mac(t).is_some(),
            (ConstType::Ipv4, ConstValue::Text(t)) => parse_ipv4(t).is_some(),
            _ => false,
        };
        if !ok {
            errs.push(
                None,
                None,
                format!(
                    "constant {}: the value does not fit its type {:?}",
                    c.name, c.ty
                ),
            );
        }
    }
}

/// At most one checksum and one next-layer field per module: they become
/// module-level functions and one dispatch enum.
fn check_module_wide(spec: &SpecFile, errs: &mut Errors) {
    let fields = || {
        spec.formats
            .iter()
            .flat_map(|f| f.fields.iter().map(move |x| (f, x)))
    };
    for (what, count) in [
        (
            "checksum",
            fields().filter(|(_, x)| x.checksum.is_some()).count(),
        ),
        (
            "next_layer",
            fields().filter(|(_, x)| x.next_layer.is_some()).count(),
        ),
    ] {
        if count > 1 {
            let (f, x) = fields()
                .filter(|(_, x)| {
                    if what == "checksum" {
                        x.checksum.is_some()
                    } else {
                        x.next_layer.is_some()
                    }
                })
                .nth(1)
                .unwrap();
            errs.push(
                Some(&f.name),
                Some(&x.name),
                format!("a module may declare only one {what} field"),
            );
        }
    }
}

/// Each field's `fixed` value as a number, looked up when it names a key
/// value (`fixed = "EtherType.IPV4"`), so the emitters read only numbers.
fn resolve_fixed(spec: &mut SpecFile, keys: &Keys, errs: &mut Errors) {
    for def in &mut spec.formats {
        for f in &mut def.fields {
            let Some(v) = &f.fixed_value else { continue };
            match resolve_value(v, keys) {
                Ok(value) => f.fixed = Some(number(&value)),
                Err(e) => errs.push(Some(&def.name), Some(&f.name), format!("fixed: {e}")),
            }
        }
    }
}

/// The pseudo-header's protocol number, resolved when it names a key value.
fn pseudo_protocol(spec: &SpecFile, keys: &Keys, errs: &mut Errors) -> Option<crate::model::Value> {
    let (def, f, c) = spec.formats.iter().find_map(|d| {
        d.fields
            .iter()
            .find_map(|f| f.checksum.as_ref().map(|c| (d, f, c)))
    })?;
    let value = resolve_value(c.protocol.as_ref()?, keys)
        .map_err(|e| {
            errs.push(
                Some(&def.name),
                Some(&f.name),
                format!("checksum protocol: {e}"),
            )
        })
        .ok()?;
    let number = number(&value);
    if !fits(number, 8) {
        errs.push(
            Some(&def.name),
            Some(&f.name),
            format!("checksum protocol {number} does not fit in 8 bits"),
        );
    }
    Some(value)
}

fn layout(
    def: &FormatDef,
    spec: &SpecFile,
    module: &str,
    modules: &BTreeSet<String>,
    errs: &mut Errors,
) -> Option<Layout> {
    let before = errs.list.len();
    let fmt = Some(def.name.as_str());
    if !is_camel(&def.name) {
        errs.push(fmt, None, "the format name is not a CamelCase type name");
    }
    if def.fields.is_empty() {
        errs.push(fmt, None, "a format needs at least one field");
    }
    let mut names = BTreeSet::new();
    for f in &def.fields {
        if !names.insert(f.name.as_str()) {
            errs.push(fmt, Some(&f.name), "duplicate field name");
        }
    }
    let mut fields = Vec::new();
    let mut items: Vec<Item> = Vec::new();
    let mut offset = 0u32;
    let mut open: Option<(u32, Vec<usize>)> = None;
    for (i, f) in def.fields.iter().enumerate() {
        let at = Some(f.name.as_str());
        check_field(def, f, spec, module, modules, errs);
        let whole = offset.is_multiple_of(8) && f.bits.is_multiple_of(8);
        let repr;
        let mut group = None;
        if open.is_some() || !whole {
            if f.ty != FieldType::Uint {
                errs.push(
                    fmt,
                    at,
                    format!("a {:?} field must start and end on a byte boundary", f.ty),
                );
            }
            if f.bits > 64 {
                errs.push(fmt, at, "a bit field may be at most 64 bits wide");
            }
            repr = if f.bits == 1 {
                Repr::Bool
            } else {
                Repr::Uint(native_bits(f.bits))
            };
            let (start, members) = open.get_or_insert_with(|| (offset, Vec::new()));
            members.push(i);
            group = Some(items.len());
            if (offset + f.bits).is_multiple_of(8) {
                let width = offset + f.bits - *start;
                let members = std::mem::take(members);
                let first = &def.fields[members[0]];
                if ![8, 16, 32, 64].contains(&width) {
                    errs.push(
                        fmt,
                        Some(&first.name),
                        format!(
                            "the bit fields {}..{} fill {width} bits; packed fields must fill 8, 16, 32 or 64 bits",
                            first.name, f.name
                        ),
                    );
                }
                let ty = first.bitfield.clone().unwrap_or_else(|| {
                    let base = def.name.strip_suffix("Header").unwrap_or(&def.name);
                    base.to_string()
                        + &members
                            .iter()
                            .map(|&m| camel(&def.fields[m].name))
                            .collect::<String>()
                });
                let member = match &first.bitfield {
                    // `Ipv4FlagsFragment` in `Ipv4Header` -> `flags_fragment`.
                    Some(ty) => snake(
                        ty.strip_prefix(def.name.strip_suffix("Header").unwrap_or(&def.name))
                            .unwrap_or(ty),
                    ),
                    None => members
                        .iter()
                        .map(|&m| def.fields[m].name.as_str())
                        .collect::<Vec<_>>()
                        .join("_"),
                };
                items.push(Item::Group(Group {
                    ty,
                    member,
                    bits: width,
                    fields: members,
                }));
                open = None;
            }
        } else {
            if f.bitfield.is_some() {
                errs.push(
                    fmt,
                    at,
                    "`bitfield` names a group of sub-byte fields; this field is whole bytes",
                );
            }
            repr = match f.ty {
                FieldType::Uint if [8, 16, 32, 64].contains(&f.bits) => Repr::Uint(f.bits),
                FieldType::Uint => {
                    errs.push(
                        fmt,
                        at,
                        format!(
                            "{} bits is not an integer width (8, 16, 32, 64); use type = \"bytes\"",
                            f.bits
                        ),
                    );
                    Repr::Bytes(f.bits as usize / 8)
                }
                FieldType::Mac if f.bits != 48 => {
                    errs.push(fmt, at, format!("a MAC address is 48 bits, not {}", f.bits));
                    Repr::Bytes(6)
                }
                FieldType::Ipv4 if f.bits != 32 => {
                    errs.push(
                        fmt,
                        at,
                        format!("an IPv4 address is 32 bits, not {}", f.bits),
                    );
                    Repr::Bytes(4)
                }
                _ => Repr::Bytes(f.bits as usize / 8),
            };
            items.push(Item::Plain(i));
        }
        fields.push(Field {
            def: f.clone(),
            bit_offset: offset,
            repr,
            group,
        });
        offset += f.bits;
    }
    if let Some((start, members)) = open {
        let first = &def.fields[members[0]].name;
        errs.push(
            fmt,
            Some(first),
            format!("bits do not fill whole bytes: the fields from {first} on leave the format {} bits into a byte", (offset - start) % 8),
        );
    }
    if errs.list.len() > before {
        return None;
    }
    Some(Layout {
        def: def.clone(),
        len: (offset / 8) as usize,
        fields,
        items,
        checks: Vec::new(),
    })
}

fn check_field(
    def: &FormatDef,
    f: &FieldDef,
    spec: &SpecFile,
    module: &str,
    modules: &BTreeSet<String>,
    errs: &mut Errors,
) {
    let fmt = Some(def.name.as_str());
    let at = Some(f.name.as_str());
    if !is_snake(&f.name) {
        errs.push(fmt, at, "field names are snake_case");
    }
    if KEYWORDS.contains(&f.name.as_str()) {
        errs.push(
            fmt,
            at,
            format!(
                "`{}` is a Rust keyword; prefix it (e.g. msg_{})",
                f.name, f.name
            ),
        );
    }
    if f.bits == 0 {
        errs.push(fmt, at, "a field needs at least one bit");
    }
    let is_int = f.ty == FieldType::Uint;
    let key = f.key.as_ref().and_then(|k| {
        let found = spec.keys.iter().find(|x| &x.name == k);
        if found.is_none() {
            errs.push(
                fmt,
                at,
                format!("unknown key {k}: declare it as [[key]] in this file"),
            );
        }
        found
    });
    if let Some(key) = key {
        if !is_int || f.bits == 1 || native_bits(f.bits) != key.bits {
            errs.push(
                fmt,
                at,
                format!(
                    "key {} is {} bits wide; the field must be an integer held in {} bits",
                    key.name, key.bits, key.bits
                ),
            );
        }
        for v in &key.values {
            if !fits(v.value, f.bits) {
                errs.push(
                    fmt,
                    at,
                    format!(
                        "value {} = {} of key {} does not fit in {} bits",
                        v.name, v.value, key.name, f.bits
                    ),
                );
            }
        }
    }
    if let Some(v) = f.fixed {
        if !is_int {
            errs.push(fmt, at, "only integer fields can have a fixed value");
        } else if !fits(v, f.bits) {
            errs.push(
                fmt,
                at,
                format!("fixed value {v} does not fit in {} bits", f.bits),
            );
        }
        if f.name == "len" {
            errs.push(
                fmt,
                at,
                "a fixed field named len would clash with the constant LEN",
            );
        }
    }
    if let Some(len) = &f.length {
        if !is_int || f.bits == 1 {
            errs.push(fmt, at, "a length must be an integer field");
        }
        if len.unit_bytes == 0 {
            errs.push(fmt, at, "unit_bytes must be at least 1");
        }
        let known = ["header", "message", "rest", "payload"].contains(&len.of.as_str())
            || def
                .fields
                .iter()
                .any(|o| o.name == len.of && o.name != f.name);
        if !known {
            errs.push(fmt, at, format!("length of `{}` points nowhere: expected header, message, rest, payload or another field of {}", len.of, def.name));
        }
    }
    if let Some(c) = &f.checksum {
        if !is_int || f.bits != 16 {
            errs.push(fmt, at, "an Internet checksum is a 16-bit integer field");
        }
        if !["header", "message"].contains(&c.covers.as_str()) {
            errs.push(
                fmt,
                at,
                format!(
                    "checksum covers `{}`, which points nowhere: expected header or message",
                    c.covers
                ),
            );
        }
        if c.pseudo_header.is_some() != c.protocol.is_some() {
            errs.push(
                fmt,
                at,
                "a pseudo_header needs a protocol number and the other way round",
            );
        }
    }
    if let Some(map) = &f.next_layer {
        match key {
            None => errs.push(fmt, at, "next_layer needs a key field to select by"),
            Some(key) => {
                for (value, target) in map {
                    if !key.values.iter().any(|v| &v.name == value) {
                        errs.push(
                            fmt,
                            at,
                            format!("next_layer: {value} is not a value of key {}", key.name),
                        );
                    }
                    if !modules.contains(target) || target == module {
                        errs.push(fmt, at, format!("next_layer: unknown next layer `{target}` (no proto-defs/{target}.toml)"));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
