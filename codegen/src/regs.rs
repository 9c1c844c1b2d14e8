//! Register blocks (`[[register_block]]`): a device's memory-mapped registers,
//! each at a fixed byte offset with a width, what the driver may do with it,
//! and optionally a `[[key]]` of the same file naming its values or bits.
//!
//! ```toml
//! [[register_block]]
//! name = "MmioRegisters"
//! doc = "..."
//!
//! [[register_block.register]]
//! name = "status"          # snake_case; the constant is STATUS
//! offset = 0x070           # bytes from the start of the block
//! bits = 32                # 8 | 16 | 32 | 64: one access
//! access = "read-write"    # read | write | read-write (the spec's R, W, RW)
//! key = "DeviceStatus"     # optional: a key of this file as wide as the register
//! count = 6                # optional: that many registers one after another
//! doc = "..."
//! ```
//!
//! The file's `byte_order` is the registers' byte order. `check` refuses a
//! block that does not add up; `emit_regs` writes it.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::spec::SpecFile;
use crate::validate::{is_camel, is_snake};

/// One register block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBlockDef {
    /// The Rust type that holds the registers as associated constants.
    pub name: String,
    pub doc: String,
    #[serde(rename = "register")]
    pub registers: Vec<RegisterDef>,
}

/// One register (or a run of `count` equal ones).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterDef {
    pub name: String,
    /// Bytes from the start of the block.
    pub offset: u64,
    /// Width of one access: 8, 16, 32 or 64.
    pub bits: u32,
    pub access: AccessDef,
    /// A key of the same file, as wide as the register: the value's type.
    pub key: Option<String>,
    /// Registers of this width, one after another (default 1).
    pub count: Option<u64>,
    pub doc: String,
}

impl RegisterDef {
    /// Bytes the register (or the run) covers.
    pub fn span(&self) -> u64 {
        u64::from(self.bits / 8) * self.count.unwrap_or(1)
    }
}

/// What the driver may do with a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessDef {
    Read,
    Write,
    ReadWrite,
}

impl AccessDef {
    /// The `wire::regs` marker type.
    pub fn rust(self) -> &'static str {
        match self {
            AccessDef::Read => "Read",
            AccessDef::Write => "Write",
            AccessDef::ReadWrite => "ReadWrite",
        }
    }

    /// As the VirtIO tables write it.
    pub fn short(self) -> &'static str {
        match self {
            AccessDef::Read => "R",
            AccessDef::Write => "W",
            AccessDef::ReadWrite => "RW",
        }
    }
}

/// A refusal: (block, register, message); `validate` adds the file.
pub type Refusal = (String, Option<String>, String);

/// Checks every register block of one file.
pub fn check(spec: &SpecFile) -> Vec<Refusal> {
    let mut out = Vec::new();
    let mut blocks = BTreeSet::new();
    for block in &spec.registers {
        let mut refuse = |reg: Option<&str>, msg: String| {
            out.push((block.name.clone(), reg.map(str::to_string), msg));
        };
        if !is_camel(&block.name) {
            refuse(
                None,
                "a register block name is a CamelCase type name".into(),
            );
        }
        if !blocks.insert(&block.name)
            || spec.keys.iter().any(|k| k.name == block.name)
            || spec.formats.iter().any(|f| f.name == block.name)
        {
            refuse(
                None,
                "another register block, key or format of this file has the same name".into(),
            );
        }
        if block.registers.is_empty() {
            refuse(None, "a register block needs at least one register".into());
        }
        let mut names = BTreeSet::new();
        for r in &block.registers {
            let at = Some(r.name.as_str());
            if !is_snake(&r.name) {
                refuse(at, "register names are snake_case".into());
            }
            if !names.insert(&r.name) {
                refuse(at, "duplicate register name".into());
            }
            if r.name == "len" {
                refuse(
                    at,
                    "a register named len would clash with the constant LEN".into(),
                );
            }
            if ![8, 16, 32, 64].contains(&r.bits) {
                refuse(
                    at,
                    format!(
                        "a register is 8, 16, 32 or 64 bits wide (one access), not {}",
                        r.bits
                    ),
                );
                continue;
            }
            let bytes = u64::from(r.bits / 8);
            if !r.offset.is_multiple_of(bytes) {
                refuse(
                    at,
                    format!(
                        "offset {:#x} is not aligned to the register's {bytes} bytes",
                        r.offset
                    ),
                );
            }
            if r.count == Some(0) {
                refuse(at, "count must be at least 1".into());
            }
            if let Some(k) = &r.key {
                match spec.keys.iter().find(|x| &x.name == k) {
                    None => refuse(
                        at,
                        format!("unknown key {k}: declare it as [[key]] in this file"),
                    ),
                    Some(key) if key.bits != r.bits => refuse(
                        at,
                        format!(
                            "key {k} is {} bits wide; the register is {} bits",
                            key.bits, r.bits
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
        // Overlaps, in offset order.
        let mut placed: Vec<&RegisterDef> = block
            .registers
            .iter()
            .filter(|r| [8, 16, 32, 64].contains(&r.bits))
            .collect();
        placed.sort_by_key(|r| r.offset);
        for pair in placed.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.offset + a.span() > b.offset {
                refuse(
                    Some(&b.name),
                    format!(
                        "overlaps register {} ({:#x}..{:#x})",
                        a.name,
                        a.offset,
                        a.offset + a.span()
                    ),
                );
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "regs_tests.rs"]
mod tests;
