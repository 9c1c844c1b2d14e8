//! Emits each `[[domain_name]]` as its `names::domain_name!` declaration:
//! the view type, the spec's limits, and the module's error enum whose
//! name variants the walk returns.

use std::fmt::Write;

use crate::emit_checks::error_enum;
use crate::emit_rust::doc;
use crate::model::Module;

pub(crate) fn emit_names(out: &mut String, m: &Module) {
    let en = error_enum(m);
    for n in &m.spec.names {
        // rustfmt leaves macro bodies alone: indent here.
        *out += "\ncrate::names::domain_name! {\n";
        doc(out, "    ///", &n.doc);
        writeln!(out, "    pub struct {}, {en} {{", n.name).unwrap();
        writeln!(out, "        max_label: {},", n.max_label).unwrap();
        writeln!(out, "        max_len: {},", n.max_len).unwrap();
        writeln!(out, "        pointer: {:#04x},", n.pointer).unwrap();
        *out += "    }\n}\n";
    }
}
