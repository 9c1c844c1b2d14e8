//! Emits each `[[options]]` list as a zero-copy iterator: single-byte kinds
//! (end, no-op), then kind/length/value elements, each known kind handed to
//! its format's `parse`, every way a length can be wrong a named error.

use std::fmt::Write;

use crate::emit_checks::error_enum;
use crate::emit_rust::doc;
use crate::model::{camel, Module};

/// `Ipv4Options` -> `Ipv4Option`.
pub fn item_name(list: &str) -> &str {
    list.strip_suffix('s').unwrap_or(list)
}

/// `ROUTER_ALERT` -> `RouterAlert`.
fn variant(value: &str) -> String {
    camel(&value.to_lowercase())
}

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
        *out += "\n";
        doc(out, "///", &o.doc);
        writeln!(
            out,
            "///\n/// Yields each option viewed in place, or the error that ends the walk: a\n/// length below 2 or below its kind's fixed part (`{}::OptionBadLength`), past\n/// the end (`{}::OptionPastEnd`), or what the kind's own `parse` refuses.\n/// `{}` ends the list.",
            en, en, o.end
        )
        .unwrap();
        writeln!(
            out,
            "#[derive(Debug, Clone)]\npub struct {list}<'a> {{\nrest: &'a [u8],\n}}\n"
        )
        .unwrap();
        writeln!(
            out,
            "/// One option of [`{list}`], viewed in place.\n#[derive(Debug, Clone, Copy)]\npub enum {item}<'a> {{"
        )
        .unwrap();
        doc(out, "///", &format!("`{}`: {}", o.nop, value_doc(&o.nop)));
        writeln!(out, "{},", variant(&o.nop)).unwrap();
        for (value, format) in &o.formats {
            doc(out, "///", &format!("`{value}`: {}", value_doc(value)));
            writeln!(out, "{}(crate::Parsed<'a, {format}>),", variant(value)).unwrap();
        }
        writeln!(
            out,
            "/// A kind this spec does not declare, with its bytes (kind and length included).\nUnknown({key}, &'a [u8]),\n}}\n"
        )
        .unwrap();
        writeln!(
            out,
            "impl<'a> {list}<'a> {{\n/// The options in `bytes`: what follows the fixed header, up to its length.\npub fn new(bytes: &'a [u8]) -> Self {{\nSelf {{ rest: bytes }}\n}}\n\n/// Walks every option: the first malformed one's error, if any.\npub fn check(self) -> Result<(), {en}> {{\nfor option in self {{\noption?;\n}}\nOk(())\n}}\n}}\n"
        )
        .unwrap();
        writeln!(
            out,
            "impl<'a> Iterator for {list}<'a> {{\ntype Item = Result<{item}<'a>, {en}>;\n\nfn next(&mut self) -> Option<Self::Item> {{"
        )
        .unwrap();
        writeln!(
            out,
            "let (&kind, after) = self.rest.split_first()?;\nlet kind = {key}(kind);\nif kind == {key}::{} {{\nself.rest = &[];\nreturn None;\n}}\nif kind == {key}::{} {{\nself.rest = after;\nreturn Some(Ok({item}::{}));\n}}",
            o.end, o.nop, variant(&o.nop)
        )
        .unwrap();
        writeln!(
            out,
            "// The length counts the kind and length bytes too.\nlet len = after.first().map(|&len| usize::from(len));\nlet Some(option) = len.and_then(|len| self.rest.get(..len)) else {{\nself.rest = &[];\nreturn Some(Err({en}::OptionPastEnd));\n}};\nif option.len() < 2 {{\nself.rest = &[];\nreturn Some(Err({en}::OptionBadLength));\n}}\nself.rest = &self.rest[option.len()..];\nSome(match kind {{"
        )
        .unwrap();
        for (value, format) in &o.formats {
            writeln!(
                out,
                "{key}::{value} if option.len() < {format}::LEN => Err({en}::OptionBadLength),\n{key}::{value} => {format}::parse(option).map({item}::{}),",
                variant(value)
            )
            .unwrap();
        }
        writeln!(out, "_ => Ok({item}::Unknown(kind, option)),\n}})\n}}\n}}").unwrap();
    }
}
