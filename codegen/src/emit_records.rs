//! Emits a records file (`[[record]]`, see `records`) as a module of the
//! `abi` crate: module docs with each record's field table, the integer
//! constants, and one `#[repr(C)]` zerocopy struct per record with its
//! size checked at compile time.

use std::fmt::Write;

use crate::emit_rust::{doc, module_head};
use crate::model::Module;
use crate::records::{layout, RecordDef};
use crate::spec::{ByteOrder, ConstValue};
use crate::{GeneratedFile, ABI_DIR};

/// `kernel/abi/src/<module>.rs` for every records module.
pub fn files(modules: &[Module]) -> Vec<GeneratedFile> {
    modules
        .iter()
        .map(|m| GeneratedFile {
            path: format!("{ABI_DIR}/{}.rs", m.name).into(),
            contents: module(m),
        })
        .collect()
}

fn field_ty(bits: u32, count: Option<u64>) -> String {
    match count {
        Some(n) => format!("[u{bits}; {n}]"),
        None => format!("u{bits}"),
    }
}

fn module(m: &Module) -> String {
    let spec = &m.spec;
    let mut out = module_head(m);
    for r in &spec.records {
        let (fields, size) = layout(r);
        out += "//!\n";
        doc(&mut out, "//!", &format!("# [`{}`] ({size} bytes)", r.name));
        out += "//!\n//! | offset | field | type |\n//! |---|---|---|\n";
        for (at, f) in fields {
            writeln!(
                out,
                "//! | {at} | `{}` | `{}` |",
                f.name,
                field_ty(f.bits, f.count)
            )
            .unwrap();
        }
    }
    out += "\nuse zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};\n\n";
    let endian = match spec.byte_order {
        ByteOrder::Little => "little",
        ByteOrder::Network => "big",
    };
    writeln!(
        out,
        "// Native integers: their bytes are the spec's {endian}-endian layout only on a {endian}-endian CPU.\nconst _: () = assert!(cfg!(target_endian = \"{endian}\"), \"{} is {endian}-endian\");",
        m.file
    )
    .unwrap();
    for c in &spec.constants {
        out += "\n";
        doc(&mut out, "///", &c.doc);
        let ConstValue::Int(v) = c.value else {
            unreachable!("validated: integer constants only")
        };
        let ty = format!("{:?}", c.ty).to_lowercase();
        let value = if v >= 0x100 {
            format!("{v:#x}")
        } else {
            v.to_string()
        };
        writeln!(out, "pub const {}: {ty} = {value};", c.name).unwrap();
    }
    for r in &spec.records {
        out += "\n";
        emit_record(&mut out, r);
    }
    out
}

fn emit_record(out: &mut String, r: &RecordDef) {
    let name = &r.name;
    let (fields, size) = layout(r);
    doc(out, "///", &r.doc);
    *out += "#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]\n";
    writeln!(out, "#[repr(C)]\npub struct {name} {{").unwrap();
    for (_, f) in &fields {
        doc(out, "///", &f.doc);
        writeln!(out, "pub {}: {},", f.name, field_ty(f.bits, f.count)).unwrap();
    }
    *out += "}\n\n";
    writeln!(
        out,
        "const _: () = assert!(core::mem::size_of::<{name}>() == {name}::LEN);\n"
    )
    .unwrap();
    writeln!(out, "impl {name} {{").unwrap();
    writeln!(
        out,
        "/// Size on disk, in bytes.\npub const LEN: usize = {size};"
    )
    .unwrap();
    for (_, f) in &fields {
        if let Some(n) = f.count {
            writeln!(
                out,
                "/// Entries in [`Self::{}`].\npub const {}_LEN: usize = {n};",
                f.name,
                f.name.to_uppercase()
            )
            .unwrap();
        }
    }
    *out += "}\n\n";
    writeln!(
        out,
        "impl Default for {name} {{\n/// All zeros.\nfn default() -> Self {{ zerocopy::FromZeros::new_zeroed() }}\n}}"
    )
    .unwrap();
}
