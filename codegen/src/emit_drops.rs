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
    let mut listed = String::new();
    let mut variants = String::new();
    let mut conversions = String::new();
    for (m, prefix) in &counted {
        writeln!(variants, "                // {}", m.file).unwrap();
        let ty = format!("$crate::{}::{}", m.name, error_enum(m));
        let mut arms = String::new();
        for e in &m.errors {
            let (counter, variant) = drop_reason(prefix, &e.name);
            writeln!(listed, "/// - `{variant}` = `{counter}` ({})", m.file).unwrap();
            writeln!(
                variants,
                "                #[doc = {:?}]\n                {variant} = \"{counter}\",",
                e.doc
            )
            .unwrap();
            let error = camel(&e.name);
            writeln!(
                arms,
                "                    {ty}::{error} => $name::{variant},"
            )
            .unwrap();
        }
        write!(
            conversions,
            r#"
        impl From<{ty}> for $name {{
            fn from(e: {ty}) -> Self {{
                match e {{
{arms}                }}
            }}
        }}
"#
        )
        .unwrap();
    }
    // rustfmt leaves macro bodies alone: the template is indented.
    let mut out = banner(&files.join(", "));
    write!(
        out,
        r#"//! The drop reasons the specs declare: one per error of the `parse` functions
//! of every module with a `counter_prefix` (`drop_ipv4_bad_ihl` for
//! `Ipv4Error::BadIhl`), for the stack's counters.

/// Expands `$m! {{ $(#[attr])* $name {{ <the caller's variants> <the generated ones> }} }}`
/// and `From<Error> for $name` for each module's error enum, so each parse
/// error converts (`?`) to its own drop reason.
///
/// The generated variants, `Name = "counter",`:
///
{listed}#[macro_export]
macro_rules! with_parse_errors {{
    ($m:ident! {{ $(#[$attr:meta])* $name:ident {{ $($body:tt)* }} }}) => {{
        $m! {{
            $(#[$attr])*
            $name {{
                $($body)*
{variants}            }}
        }}
{conversions}    }};
}}
"#
    )
    .unwrap();
    out
}
