//! Emits the deku reference codecs and the round-trip tests for `spec-tests`.
//!
//! Each format gets an owned struct that deku decodes bit by bit from the
//! same spec: an independent decoder to hold the zero-copy views to. It also
//! gets `Reference` glue that moves values between the two only through the
//! `wire` accessors and setters.

use std::fmt::Write;

use crate::emit_rust::banner;
use crate::model::{snake, Layout, Module, Repr};
use crate::spec::ByteOrder;
use crate::{GeneratedFile, DEKU_DIR, ROUNDTRIP_TEST};

/// Every file for `spec-tests`.
pub fn files(modules: &[Module]) -> Vec<GeneratedFile> {
    let mut files = vec![GeneratedFile {
        path: format!("{DEKU_DIR}/mod.rs").into(),
        contents: mod_rs(modules),
    }];
    for m in modules.iter().filter(|m| !m.formats.is_empty()) {
        files.push(GeneratedFile {
            path: format!("{DEKU_DIR}/{}.rs", m.name).into(),
            contents: module(m),
        });
    }
    files.push(GeneratedFile {
        path: ROUNDTRIP_TEST.into(),
        contents: roundtrip(modules),
    });
    files
}

fn mod_rs(modules: &[Module]) -> String {
    let mut out = banner("proto-defs/");
    out += "//! deku reference codecs, one module per spec file: owned structs decoded bit\n";
    out += "//! by bit, that the spec tests compare the zero-copy `wire` views against.\n\n";
    for m in modules.iter().filter(|m| !m.formats.is_empty()) {
        writeln!(out, "pub mod {};", m.name).unwrap();
    }
    out
}

fn rust_ty(repr: Repr) -> String {
    match repr {
        Repr::Bool => "bool".into(),
        Repr::Uint(b) => format!("u{b}"),
        Repr::Bytes(n) => format!("[u8; {n}]"),
    }
}

fn module(m: &Module) -> String {
    let mut out = banner(&m.file);
    writeln!(
        out,
        "//! deku reference codec for `{}`: {}.",
        m.file, m.spec.title
    )
    .unwrap();
    out += "\nuse deku::prelude::*;\n\nuse crate::Reference;\n";
    let endian = match m.spec.byte_order {
        ByteOrder::Network => "big",
        ByteOrder::Little => "little",
    };
    for l in &m.formats {
        emit_format(&mut out, m, l, endian);
    }
    out
}

fn emit_format(out: &mut String, m: &Module, l: &Layout, endian: &str) {
    let name = l.name();
    let wire = format!("wire::{}::{name}", m.name);
    writeln!(out, "\n/// Reference codec for [`{wire}`].").unwrap();
    writeln!(out, "#[derive(Debug, Clone, PartialEq, Eq, DekuRead, DekuWrite)]\n#[deku(endian = \"{endian}\")]").unwrap();
    writeln!(out, "pub struct {name} {{").unwrap();
    for f in &l.fields {
        if f.group.is_some() {
            writeln!(out, "#[deku(bits = {})]", f.def.bits).unwrap();
        }
        writeln!(out, "pub {}: {},", f.def.name, rust_ty(f.repr)).unwrap();
    }
    *out += "}\n";
    writeln!(out, "\nimpl Reference for {name} {{\ntype Wire = {wire};\n").unwrap();
    *out += "fn from_wire(w: &Self::Wire) -> Self {\nSelf {\n";
    for f in &l.fields {
        let get = if f.def.key.is_some() { ".0" } else { "" };
        writeln!(out, "{0}: w.{0}(){get},", f.def.name).unwrap();
    }
    *out += "}\n}\n\nfn to_wire(&self) -> Self::Wire {\nlet mut w = Self::Wire::default();\n";
    for f in &l.fields {
        match &f.def.key {
            Some(k) => writeln!(
                out,
                "w.set_{0}(wire::{1}::{k}(self.{0}));",
                f.def.name, m.name
            )
            .unwrap(),
            None => writeln!(out, "w.set_{0}(self.{0});", f.def.name).unwrap(),
        }
    }
    *out += "w\n}\n}\n";
}

fn roundtrip(modules: &[Module]) -> String {
    let mut out = banner("proto-defs/");
    out += "//! Round trips of every format over random bytes: wire view ⇄ bytes ⇄ deku\n";
    out += "//! (see `spec_tests::roundtrip`).\n\n";
    out += "use proptest::collection::vec;\nuse proptest::prelude::*;\nuse spec_tests::{deku, roundtrip};\n\n";
    // rustfmt leaves macro bodies alone, so this one is indented here.
    out += "proptest! {\n";
    for m in modules {
        for l in &m.formats {
            writeln!(
                out,
                "    #[test]\n    fn {}_{}(bytes in vec(any::<u8>(), wire::{}::{}::LEN)) {{\n        roundtrip::<deku::{}::{}>(&bytes)?;\n    }}\n",
                m.name,
                snake(l.name()),
                m.name,
                l.name(),
                m.name,
                l.name()
            )
            .unwrap();
        }
    }
    out.pop(); // the blank line after the last test
    out += "}\n";
    out
}
