//! Emits `kernel/wire/src/drops.rs`: the `with_parse_errors!` macro that
//! adds one drop reason per parse error of every module with a
//! `counter_prefix` to the stack's drop-reason enum, with the `From`
//! conversions, so a constraint added to a spec is a named counter without
//! a hand-written line.

use std::fmt::Write;

use crate::emit_checks::error_enum;
use crate::emit_rust::banner;
use crate::model::{camel, Module};

/// The counter and variant of one error: (`drop_ipv4_bad_ihl`, `Ipv4BadIhl`).
pub fn drop_reason(prefix: &str, error: &str) -> (String, String) {
    (
        format!("drop_{prefix}_{error}"),
        camel(prefix) + &camel(error),
    )
}

/// Emits `kernel/wire/src/drops.rs`.
pub fn drops(modules: &[Module]) -> String {
    let counted: Vec<(&Module, &str)> = modules
        .iter()
        .filter_map(|m| Some((m, m.spec.counter_prefix.as_deref()?)))
        .filter(|(m, _)| !m.formats.is_empty())
        .collect();
    let files: Vec<&str> = counted.iter().map(|(m, _)| m.file.as_str()).collect();
    let mut out = banner(&files.join(", "));
    out += "//! The drop reasons the specs declare: one per error of the `parse` functions\n";
    out += "//! of every module with a `counter_prefix` (`drop_ipv4_bad_ihl` for\n";
    out += "//! `Ipv4Error::BadIhl`), for the stack's counters.\n\n";
    out += "/// Expands `$m! { $(#[attr])* $name { <the caller's variants> <the generated ones> } }`\n";
    out += "/// and `From<Error> for $name` for each module's error enum, so each parse\n";
    out += "/// error converts (`?`) to its own drop reason.\n";
    out += "///\n/// The generated variants, `Name = \"counter\",`:\n///\n";
    for (m, prefix) in &counted {
        for e in &m.errors {
            let (counter, variant) = drop_reason(prefix, &e.name);
            writeln!(out, "/// - `{variant}` = `{counter}` ({})", m.file).unwrap();
        }
    }
    // rustfmt leaves macro bodies alone: indent by hand.
    out += "#[macro_export]\nmacro_rules! with_parse_errors {\n";
    out += "    ($m:ident! { $(#[$attr:meta])* $name:ident { $($body:tt)* } }) => {\n";
    out +=
        "        $m! {\n            $(#[$attr])*\n            $name {\n                $($body)*\n";
    for (m, prefix) in &counted {
        writeln!(out, "                // {}", m.file).unwrap();
        for e in &m.errors {
            let (counter, variant) = drop_reason(prefix, &e.name);
            writeln!(
                out,
                "                #[doc = {:?}]\n                {variant} = \"{counter}\",",
                e.doc
            )
            .unwrap();
        }
    }
    out += "            }\n        }\n";
    for (m, prefix) in &counted {
        let ty = format!("$crate::{}::{}", m.name, error_enum(m));
        writeln!(
            out,
            "\n        impl From<{ty}> for $name {{\n            fn from(e: {ty}) -> Self {{\n                match e {{"
        )
        .unwrap();
        for e in &m.errors {
            let (_, variant) = drop_reason(prefix, &e.name);
            writeln!(
                out,
                "                    {ty}::{} => $name::{variant},",
                camel(&e.name)
            )
            .unwrap();
        }
        out += "                }\n            }\n        }\n";
    }
    out += "    };\n}\n";
    out
}
