//! Emits the checks a generated module carries: each format's `parse` (its
//! length fields against the buffer) and the module's checksum helpers.

use std::fmt::Write;

use crate::emit_rust::doc;
use crate::model::{Field, Layout, Module, Repr};
use crate::spec::PseudoHeader;

/// `parse`: the view plus the checks its length fields allow.
pub(crate) fn emit_parse(out: &mut String, l: &Layout) {
    let length_of = |of: &str| {
        l.fields
            .iter()
            .find(|f| f.def.length.as_ref().is_some_and(|len| len.of == of))
    };
    let bytes_of = |f: &Field| {
        let len = f.def.length.as_ref().unwrap();
        let n = match f.repr {
            Repr::Uint(8 | 16) => format!("usize::from(header.{}())", f.def.name),
            _ => format!("header.{}() as usize", f.def.name),
        };
        if len.unit_bytes == 1 {
            n
        } else {
            format!("{n} * {}", len.unit_bytes)
        }
    };
    let header = length_of("header");
    let message = length_of("message");
    let mut what = String::from("Views the header at the front of `bytes`");
    if let Some(f) = header {
        write!(
            what,
            ", checks that `{}` covers at least [`Self::LEN`] bytes within the buffer",
            f.def.name
        )
        .unwrap();
    }
    for f in l.fields.iter().filter(|f| {
        f.def
            .length
            .as_ref()
            .is_some_and(|len| len.of != "header" && len.of != "message")
    }) {
        write!(
            what,
            ", checks that `{}` matches the size of `{}`",
            f.def.name,
            f.def.length.as_ref().unwrap().of
        )
        .unwrap();
    }
    if let Some(f) = message {
        write!(what, ", checks that `{}` covers the header and ends within the buffer, and cuts the payload there", f.def.name).unwrap();
    }
    what += ".";
    *out += "\n";
    doc(out, "///", &what);
    *out += "pub fn parse(bytes: &[u8]) -> Result<crate::Parsed<'_, Self>, crate::ParseError> {\n";
    *out += "let Ok((header, _)) = Self::ref_from_prefix(bytes) else {\nreturn Err(crate::ParseError::Truncated { need: Self::LEN, have: bytes.len() });\n};\n";
    match header {
        Some(f) => {
            writeln!(out, "let header_len = {};", bytes_of(f)).unwrap();
            writeln!(out, "if header_len < Self::LEN || header_len > bytes.len() {{\nreturn Err(crate::ParseError::BadLength {{ field: \"{}\", len: header_len }});\n}}", f.def.name).unwrap();
        }
        None => *out += "let header_len = Self::LEN;\n",
    }
    match message {
        Some(f) => {
            writeln!(out, "let end = {};", bytes_of(f)).unwrap();
            writeln!(out, "if end < header_len || end > bytes.len() {{\nreturn Err(crate::ParseError::BadLength {{ field: \"{}\", len: end }});\n}}", f.def.name).unwrap();
        }
        None => *out += "let end = bytes.len();\n",
    }
    for f in &l.fields {
        let Some(len) = &f.def.length else { continue };
        let Some(target) = l.fields.iter().find(|t| t.def.name == len.of) else {
            continue;
        };
        let size = target.def.bits / 8;
        writeln!(
            out,
            "// `{}` gives the size of `{}`, which this layout fixes at {size} bytes.\nif {} != {size} {{\nreturn Err(crate::ParseError::BadLength {{ field: \"{}\", len: {} }});\n}}",
            f.def.name, target.def.name, bytes_of(f), f.def.name, bytes_of(f)
        )
        .unwrap();
    }
    *out += "Ok(crate::Parsed { header, message: &bytes[..end], options: &bytes[Self::LEN..header_len], payload: &bytes[header_len..end] })\n}\n";
}

/// The module's checksum field, if it declares one.
pub(crate) fn checksum_field(m: &Module) -> Option<(&Layout, &Field)> {
    m.formats.iter().find_map(|l| {
        l.fields
            .iter()
            .find(|f| f.def.checksum.is_some())
            .map(|f| (l, f))
    })
}

pub(crate) fn emit_checksum(out: &mut String, m: &Module) {
    let Some((l, f)) = checksum_field(m) else {
        return;
    };
    let c = f.def.checksum.as_ref().unwrap();
    let ty = l.name();
    let field = &f.def.name;
    let has_header_len = l
        .fields
        .iter()
        .any(|x| x.def.length.as_ref().is_some_and(|len| len.of == "header"));
    let (arg, what) = match c.covers.as_str() {
        "header" if has_header_len => ("header_with_options", "the header, options included"),
        "header" => ("header", "the header"),
        _ => ("message", "the whole message, header and payload"),
    };
    match c.pseudo_header {
        None => {
            writeln!(
                out,
                "\n/// Checks the Internet checksum (RFC 1071) of `{arg}` ({what}): summed with\n/// `{field}` included it must come to zero. False when shorter than [`{ty}::LEN`].\npub fn checksum_ok({arg}: &[u8]) -> bool {{\n{arg}.len() >= {ty}::LEN && internet_checksum({arg}) == 0\n}}"
            )
            .unwrap();
            writeln!(
                out,
                "\n/// Computes the Internet checksum (RFC 1071) of `{arg}` ({what}) and stores it in\n/// `{field}`. Does nothing when `{arg}` is shorter than [`{ty}::LEN`].\npub fn fill_checksum({arg}: &mut [u8]) {{\nlet Ok((header, _)) = {ty}::mut_from_prefix({arg}) else {{ return }};\nheader.set_{field}(0);\nlet sum = internet_checksum({arg});\nif let Ok((header, _)) = {ty}::mut_from_prefix({arg}) {{\nheader.set_{field}(sum);\n}}\n}}"
            )
            .unwrap();
        }
        Some(PseudoHeader::Ipv4) => {
            let protocol = c.protocol.unwrap();
            let offset = f.bit_offset / 8;
            writeln!(out, "\n/// The IP protocol number in the pseudo-header.\nconst PSEUDO_HEADER_PROTOCOL: u8 = {protocol};").unwrap();
            writeln!(out, "\n/// Offset of `{field}` in [`{ty}`], in bytes.\nconst CHECKSUM_OFFSET: usize = {offset};").unwrap();
            writeln!(
                out,
                "\n/// The sum of the IPv4 pseudo-header: source, destination, zero, protocol, length.\nfn pseudo_header(src: [u8; 4], dst: [u8; 4], len: usize) -> Checksum {{\nlet mut sum = Checksum::new();\nsum.add(&src);\nsum.add(&dst);\nsum.add_u16(u16::from(PSEUDO_HEADER_PROTOCOL));\nsum.add_u16(u16::try_from(len).unwrap_or(u16::MAX));\nsum\n}}"
            )
            .unwrap();
            let zero_rule = if c.zero_means_none {
                "\n///\n/// A stored 0 means \"no checksum\", so a computed 0 is returned as 0xffff."
            } else {
                ""
            };
            let finish = if c.zero_means_none {
                "match sum.finish() {\n0 => 0xffff,\nsum => sum,\n}"
            } else {
                "sum.finish()"
            };
            writeln!(
                out,
                "\n/// The Internet checksum of `{arg}` ({what}, trimmed to its length) behind the IPv4\n/// pseudo-header of `src` and `dst`, with the stored `{field}` counted as zero.{zero_rule}\npub fn checksum(src: [u8; 4], dst: [u8; 4], {arg}: &[u8]) -> u16 {{\nlet mut sum = pseudo_header(src, dst, {arg}.len());\nlet (head, rest) = {arg}.split_at(CHECKSUM_OFFSET.min({arg}.len()));\nsum.add(head);\nsum.add(rest.get(2..).unwrap_or(&[]));\n{finish}\n}}"
            )
            .unwrap();
            let none = if c.zero_means_none {
                format!("let Ok((header, _)) = {ty}::ref_from_prefix({arg}) else {{ return false }};\nif header.{field}() == 0 {{\nreturn true;\n}}\n")
            } else {
                format!("if {arg}.len() < {ty}::LEN {{\nreturn false;\n}}\n")
            };
            let none_doc = if c.zero_means_none {
                " True when the stored checksum is 0 (none)."
            } else {
                ""
            };
            writeln!(
                out,
                "\n/// Checks `{field}` of `{arg}` against its pseudo-header.{none_doc}\n/// False when `{arg}` is shorter than [`{ty}::LEN`].\npub fn checksum_ok(src: [u8; 4], dst: [u8; 4], {arg}: &[u8]) -> bool {{\n{none}let mut sum = pseudo_header(src, dst, {arg}.len());\nsum.add({arg});\nsum.finish() == 0\n}}"
            )
            .unwrap();
            writeln!(
                out,
                "\n/// Computes [`checksum`] and stores it in `{field}`. Does nothing when `{arg}` is\n/// shorter than [`{ty}::LEN`].\npub fn fill_checksum(src: [u8; 4], dst: [u8; 4], {arg}: &mut [u8]) {{\nlet sum = checksum(src, dst, {arg});\nif let Ok((header, _)) = {ty}::mut_from_prefix({arg}) {{\nheader.set_{field}(sum);\n}}\n}}"
            )
            .unwrap();
        }
    }
}
