//! Emits each `[[options]]` list as a zero-copy iterator: single-byte kinds
//! (end, no-op), then kind/length/value elements, each known kind handed to
//! its format's `parse`, every way a length can be wrong a named error.

use std::fmt::Write;

use crate::emit_checks::error_enum;
use crate::emit_rust::doc;
use crate::model::{camel, Module};
use crate::spec::LengthCounts;

/// `Ipv4Options` -> `Ipv4Option`.
pub fn item_name(list: &str) -> &str {
    list.strip_suffix('s').unwrap_or(list)
}

/// `ROUTER_ALERT` -> `RouterAlert`.
fn variant(value: &str) -> String {
    camel(&value.to_lowercase())
}

/// Each option list of `m` as its `format::options!` declaration.
pub(crate) fn emit_options(out: &mut String, m: &Module) {
    let en = error_enum(m);
    for o in &m.spec.options {
        let (list, item, key) = (&o.name, item_name(&o.name), &o.kind);
        let value_doc = |v: &str| {
            m.key(key)
                .and_then(|k| k.values.iter().find(|x| x.name == v))
                .map(|x| x.doc.clone())
                .unwrap_or_default()
        };
        // rustfmt leaves macro bodies alone: indent here.
        *out += "\ncrate::format::options! {\n";
        doc(out, "    ///", &o.doc);
        // `length + 2`: the length byte counts the value only, not the
        // kind and length bytes in front of it.
        let uncounted = match o.length_counts {
            LengthCounts::Option => "",
            LengthCounts::Value => ", length + 2",
        };
        writeln!(
            out,
            "    pub struct {list} of {key} -> {item}, {en}{uncounted} {{"
        )
        .unwrap();
        writeln!(out, "        end: {};", o.end).unwrap();
        doc(
            out,
            "        ///",
            &format!("`{}`: {}", o.nop, value_doc(&o.nop)),
        );
        writeln!(out, "        {} => {};", o.nop, variant(&o.nop)).unwrap();
        for (value, format) in &o.formats {
            doc(
                out,
                "        ///",
                &format!("`{value}`: {}", value_doc(value)),
            );
            writeln!(out, "        {value} => {}({format});", variant(value)).unwrap();
        }
        *out += "    }\n}\n";
    }
}
