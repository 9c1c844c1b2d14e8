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
    out += r#"//! deku reference codecs, one module per spec file: owned structs decoded bit
//! by bit, that the spec tests compare the zero-copy `wire` views against.

"#;
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
    let endian = match m.spec.byte_order {
        ByteOrder::Network => "big",
        ByteOrder::Little => "little",
    };
    for l in &m.formats {
        emit_format(&mut out, m, l, endian);
    }
    out
}

/// One `reference!` declaration (`spec-tests/src/reference.rs` writes the
/// struct and its `Reference` glue). rustfmt leaves macro bodies alone:
/// the template is indented.
fn emit_format(out: &mut String, m: &Module, l: &Layout, endian: &str) {
    let name = l.name();
    let wire = format!("wire::{}::{name}", m.name);
    let mut fields = String::new();
    for f in &l.fields {
        let n = &f.def.name;
        if f.group.is_some() {
            writeln!(fields, "        #[deku(bits = {})]", f.def.bits).unwrap();
        }
        let key = match &f.def.key {
            Some(k) => format!(" as wire::{}::{k}", m.name),
            None => String::new(),
        };
        writeln!(fields, "        {n} / set_{n}: {}{key},", rust_ty(f.repr)).unwrap();
    }
    write!(
        out,
        r#"
crate::reference::reference! {{
    /// Reference codec for [`{wire}`].
    #[deku(endian = "{endian}")]
    pub struct {name} for {wire} {{
{fields}    }}
}}
"#
    )
    .unwrap();
}

fn roundtrip(modules: &[Module]) -> String {
    let mut tests = Vec::new();
    for m in modules {
        for l in &m.formats {
            let (module, format) = (&m.name, l.name());
            let test = snake(format);
            tests.push(format!(
                r#"    #[test]
    fn {module}_{test}(bytes in vec(any::<u8>(), wire::{module}::{format}::LEN)) {{
        roundtrip::<deku::{module}::{format}>(&bytes)?;
    }}
"#
            ));
        }
    }
    // rustfmt leaves macro bodies alone, so this one is indented here.
    let mut out = banner("proto-defs/");
    write!(
        out,
        r#"//! Round trips of every format over random bytes: wire view ⇄ bytes ⇄ deku
//! (see `spec_tests::roundtrip`).

use proptest::collection::vec;
use proptest::prelude::*;
use spec_tests::{{deku, roundtrip}};

proptest! {{
{}}}
"#,
        tests.join("\n")
    )
    .unwrap();
    out
}
