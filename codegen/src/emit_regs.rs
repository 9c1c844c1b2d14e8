//! Emits the register blocks of a module (`[[register_block]]`, see `regs`):
//! per block an uninhabited type whose associated constants are typed
//! `wire::regs::Register`s, with the block's table in its doc (every key
//! is a `RegisterValue` through `wire/src/keys.rs`).
//!
//! Appended to the module `emit_rust` writes; nothing here is emitted for a
//! file without register blocks.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::emit_rust::doc;
use crate::model::Module;
use crate::regs::{RegisterBlockDef, RegisterDef};
use crate::spec::ByteOrder;

/// The register blocks of `m`, as Rust items (empty without any).
pub fn blocks(m: &Module) -> String {
    let mut out = String::new();
    if m.spec.registers.is_empty() {
        return out;
    }
    let mut used = BTreeSet::from(["ByteOrder"]);
    for r in m.spec.registers.iter().flat_map(|b| &b.registers) {
        used.insert(r.access.rust());
        used.insert(if r.count.is_some_and(|n| n > 1) {
            "RegisterArray"
        } else {
            "Register"
        });
    }
    let used: Vec<&str> = used.into_iter().collect();
    writeln!(out, "\nuse crate::regs::{{{}}};", used.join(", ")).unwrap();
    let order = match m.spec.byte_order {
        ByteOrder::Network => "Big",
        ByteOrder::Little => "Little",
    };
    for block in &m.spec.registers {
        out += "\n";
        emit_block(&mut out, block, order);
    }
    out
}

fn value_ty(r: &RegisterDef) -> String {
    r.key.clone().unwrap_or_else(|| format!("u{}", r.bits))
}

fn emit_block(out: &mut String, block: &RegisterBlockDef, order: &str) {
    let mut regs: Vec<&RegisterDef> = block.registers.iter().collect();
    regs.sort_by_key(|r| r.offset);
    let end = regs.iter().map(|r| r.offset + r.span()).max().unwrap_or(0);
    doc(out, "///", &block.doc);
    *out += "///\n/// | offset | register | bits | access | holds |\n/// |---|---|---|---|---|\n";
    for r in &regs {
        let at = match r.count {
            Some(n) if n > 1 => format!("{:#05x}..{:#05x}", r.offset, r.offset + r.span()),
            _ => format!("{:#05x}", r.offset),
        };
        let holds = match (&r.key, r.count) {
            (Some(k), _) => format!("[`{k}`]"),
            (None, Some(n)) if n > 1 => format!("{n} × u{}", r.bits),
            (None, _) => format!("u{}", r.bits),
        };
        writeln!(
            out,
            "/// | {at} | [`{}`](Self::{}) | {} | {} | {holds} |",
            r.name.to_uppercase(),
            r.name.to_uppercase(),
            r.bits,
            r.access.short()
        )
        .unwrap();
    }
    *out +=
        "///\n/// Only a namespace: each register is an associated constant, which the driver\n";
    *out += "/// reads or writes at its own base address (`wire::regs`).\n";
    writeln!(out, "pub enum {} {{}}\n", block.name).unwrap();
    writeln!(out, "impl {} {{", block.name).unwrap();
    writeln!(
        out,
        "/// Bytes the block spans, up to the end of its last register.\npub const LEN: usize = {end:#x};"
    )
    .unwrap();
    for r in &block.registers {
        out.push('\n');
        doc(out, "///", &r.doc);
        let access = r.access.rust();
        let ty = value_ty(r);
        let name = r.name.to_uppercase();
        match r.count {
            Some(n) if n > 1 => writeln!(
                out,
                "pub const {name}: RegisterArray<{ty}, {access}, {n}> = RegisterArray::new({:#05x}, ByteOrder::{order});",
                r.offset
            ),
            _ => writeln!(
                out,
                "pub const {name}: Register<{ty}, {access}> = Register::new({:#05x}, ByteOrder::{order});",
                r.offset
            ),
        }
        .unwrap();
    }
    *out += "}\n";
}
