//! Records (`[[record]]`): plain `#[repr(C)]` structs of native integers and
//! integer arrays, for on-disk structures that the kernel, the host tools
//! and user programs all read (the xv6 superblock, inodes, directory
//! entries, the log header). They are generated into the `abi` crate, not
//! `wire`: they are part of the kernel's contract with `mkfs` and user space,
//! and their fields are read and assigned like xv6's C structs (`ip.size`,
//! `ip.addrs[bn]`), which byte-order-typed views would not allow.
//!
//! ```toml
//! [[record]]
//! name = "DInode"
//! doc = "..."
//!
//! [[record.field]]
//! name = "addrs"      # snake_case
//! bits = 32           # 8 | 16 | 32 | 64
//! count = 13          # optional: an array of that many
//! doc = "..."
//! ```
//!
//! A file with records holds only records and integer constants; it
//! becomes `kernel/abi/src/<module>.rs`. Fields are laid out in order with
//! no padding (each at a multiple of its width, the record a multiple of its
//! widest field), so the native struct is exactly the declared bytes; the
//! generated module asserts at compile time that the CPU's byte order is the
//! file's.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::model::Module;
use crate::regs::Refusal;
use crate::spec::{ConstType, SpecFile};
use crate::validate::{is_camel, is_snake, KEYWORDS};

/// One record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordDef {
    /// The Rust type name.
    pub name: String,
    pub doc: String,
    #[serde(rename = "field")]
    pub fields: Vec<RecordFieldDef>,
}

/// One field, in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordFieldDef {
    pub name: String,
    /// Width of one integer: 8, 16, 32 or 64.
    pub bits: u32,
    /// An array of this many integers (default: one integer).
    pub count: Option<u64>,
    pub doc: String,
}

impl RecordFieldDef {
    /// Bytes the field covers.
    pub fn size(&self) -> u64 {
        u64::from(self.bits / 8) * self.count.unwrap_or(1)
    }
}

/// Whether `m` is generated into `abi` (it declares records).
pub fn is_abi_module(m: &Module) -> bool {
    !m.spec.records.is_empty()
}

/// (offset, field) for every field of `r`, and the record's size.
pub fn layout(r: &RecordDef) -> (Vec<(u64, &RecordFieldDef)>, u64) {
    let mut at = 0;
    let mut placed = Vec::new();
    for f in &r.fields {
        placed.push((at, f));
        at += f.size();
    }
    (placed, at)
}

/// Checks every record of one file (`Refusal` = record, field, message).
pub fn check(spec: &SpecFile) -> Vec<Refusal> {
    let mut out = Vec::new();
    if spec.records.is_empty() {
        return out;
    }
    let file_wide = |what: &str| {
        (
            spec.records[0].name.clone(),
            None,
            format!("a file with records goes to the abi crate and holds only records and integer constants, not {what}"),
        )
    };
    if !spec.keys.is_empty() {
        out.push(file_wide("keys"));
    }
    if !spec.formats.is_empty() {
        out.push(file_wide("formats"));
    }
    if !spec.registers.is_empty() {
        out.push(file_wide("register blocks"));
    }
    for c in &spec.constants {
        if matches!(c.ty, ConstType::Mac | ConstType::Ipv4) {
            out.push((
                spec.records[0].name.clone(),
                None,
                format!(
                    "constant {}: a file with records holds integer constants only",
                    c.name
                ),
            ));
        }
    }
    let mut names = BTreeSet::new();
    for r in &spec.records {
        let mut refuse = |field: Option<&str>, msg: String| {
            out.push((r.name.clone(), field.map(str::to_string), msg));
        };
        if !is_camel(&r.name) {
            refuse(None, "a record name is a CamelCase type name".into());
        }
        if !names.insert(&r.name) {
            refuse(None, "duplicate record name".into());
        }
        if r.fields.is_empty() {
            refuse(None, "a record needs at least one field".into());
        }
        let mut fields = BTreeSet::new();
        let mut widest = 1;
        for (at, f) in layout(r).0 {
            let here = Some(f.name.as_str());
            if !is_snake(&f.name) {
                refuse(here, "field names are snake_case".into());
            }
            if KEYWORDS.contains(&f.name.as_str()) {
                refuse(
                    here,
                    format!("`{}` is a Rust keyword; prefix or shorten it", f.name),
                );
            }
            if !fields.insert(&f.name) {
                refuse(here, "duplicate field name".into());
            }
            if ![8, 16, 32, 64].contains(&f.bits) {
                refuse(
                    here,
                    format!(
                        "a record field is an integer of 8, 16, 32 or 64 bits (or an array of them), not {}",
                        f.bits
                    ),
                );
                continue;
            }
            if f.count == Some(0) {
                refuse(here, "count must be at least 1".into());
            }
            let bytes = u64::from(f.bits / 8);
            widest = widest.max(bytes);
            if !at.is_multiple_of(bytes) {
                refuse(
                    here,
                    format!("starts at byte {at}, not a multiple of its {bytes}-byte width: the native struct would pad"),
                );
            }
        }
        let size = layout(r).1;
        if !size.is_multiple_of(widest) {
            refuse(
                None,
                format!("{size} bytes is not a multiple of its widest field ({widest} bytes): the native struct would pad"),
            );
        }
    }
    out
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
