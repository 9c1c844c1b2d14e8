//! Emits each format's builder, in the manner of smoltcp's `Repr::emit`:
//! `<Format>Repr` holds the fields a sender chooses, and its `wire::Emit`
//! impl writes the complete header over the front of a message. What the
//! spec decides is filled in, never chosen: `fixed` values, `length` fields
//! (of the header: the fixed size, no options; of the message: the bytes
//! given; of another field: that field's size), and the `checksum` last.
//!
//! It also gives the longest header a format can describe (`MAX_LEN`, from
//! its header-length field) and the longest run of headers a module carries
//! in front of its payload, which `emit_crate` sums along the `next_layer`
//! declarations into the stack's headroom.

use std::fmt::Write;

use crate::emit_rust::{doc, value_ty};
use crate::model::{Field, Layout, Module, Repr};
use crate::spec::PseudoHeader;

/// How the builder comes by a field's value.
enum Role {
    /// The sender chooses it: a member of the `Repr`.
    Chosen,
    /// The spec's only allowed value.
    Fixed,
    /// This format's own length (no options), in units of this many bytes.
    HeaderLen(u32),
    /// The length of the whole message, in units of this many bytes, less
    /// the bytes it does not count (`of = "rest"`).
    MessageLen(u32, usize),
    /// The length of what follows the header, in units of this many bytes.
    PayloadLen(u32),
    /// The size of another field, in bytes.
    SizeOf(u32),
    /// Computed last, over what the spec says it covers.
    Checksum,
}

fn role(l: &Layout, f: &Field) -> Role {
    if f.def.fixed.is_some() {
        return Role::Fixed;
    }
    if f.def.checksum.is_some() {
        return Role::Checksum;
    }
    let Some(len) = &f.def.length else {
        return Role::Chosen;
    };
    match len.of.as_str() {
        "header" => Role::HeaderLen(len.unit_bytes),
        "message" | "rest" => Role::MessageLen(len.unit_bytes, f.uncounted_bytes()),
        "payload" => Role::PayloadLen(len.unit_bytes),
        other => {
            let target = l.fields.iter().find(|t| t.def.name == other);
            Role::SizeOf(target.map_or(0, |t| t.def.bits / 8) / len.unit_bytes)
        }
    }
}

/// The header-length field of a format (IPv4 `ihl`), if it has one.
fn header_len_field(l: &Layout) -> Option<&Field> {
    l.fields
        .iter()
        .find(|f| f.def.length.as_ref().is_some_and(|len| len.of == "header"))
}

/// The longest header the format can describe, in bytes: what its
/// header-length field can count, or its fixed size.
pub(crate) fn max_len(l: &Layout) -> usize {
    match header_len_field(l) {
        Some(f) => {
            let units = if f.def.bits >= 64 {
                u64::MAX
            } else {
                (1u64 << f.def.bits) - 1
            };
            usize::try_from(
                units.saturating_mul(u64::from(f.def.length.as_ref().unwrap().unit_bytes)),
            )
            .unwrap_or(usize::MAX)
        }
        None => l.len,
    }
}

/// The longest run of headers a module puts in front of its payload, as a
/// Rust expression over the generated constants: its first format (at its
/// `MAX_LEN` when it has a header-length field, which then covers its
/// options); without one, followed by the longest of the module's other
/// formats, the bodies that follow the common header (ICMP's echo or
/// unreachable body).
pub(crate) fn module_headers_expr(m: &Module) -> Option<String> {
    let (first, rest) = m.formats.split_first()?;
    let path = |l: &Layout| format!("crate::{}::{}", m.name, l.name());
    if header_len_field(first).is_some() {
        return Some(format!("{}::MAX_LEN", path(first)));
    }
    let bodies: Vec<String> = rest.iter().map(|l| format!("{}::LEN", path(l))).collect();
    Some(match max_expr(&bodies) {
        Some(body) => format!("{}::LEN + {body}", path(first)),
        None => format!("{}::LEN", path(first)),
    })
}

/// `max(a, max(b, c))` over the dispatch table's `const fn max`.
pub(crate) fn max_expr(items: &[String]) -> Option<String> {
    let (last, init) = items.split_last()?;
    Some(
        init.iter()
            .rev()
            .fold(last.clone(), |acc, x| format!("max({x}, {acc})")),
    )
}

/// The largest value a field of `bits` bits holds, as a literal.
fn field_max(bits: u32) -> String {
    format!("0x{:x}", (1u128 << bits) - 1)
}

/// `MAX_LEN`, for a format with a header-length field (inside its `impl`).
pub(crate) fn emit_max_len(out: &mut String, l: &Layout) {
    if let Some(f) = header_len_field(l) {
        writeln!(
            out,
            "/// The longest header `{}` can describe, options included, in bytes.\npub const MAX_LEN: usize = {};",
            f.def.name,
            max_len(l)
        )
        .unwrap();
    }
}

/// Whether a builder only stores values: the chosen fields and the fixed
/// ones, no length or checksum to compute, no packed field to range-check.
fn stores_only(l: &Layout) -> bool {
    l.fields.iter().all(|f| match role(l, f) {
        Role::Chosen => f.group.is_none() || f.repr == Repr::Bool,
        Role::Fixed => true,
        _ => false,
    })
}

/// Emits `<Format>Repr` and `<Format>::repr` (the `format::builder!`
/// declaration) and the `Emit` impl: written by `builder!` when the builder
/// only stores values (chosen and fixed), spelled out here otherwise.
pub(crate) fn emit_builder(out: &mut String, l: &Layout) {
    let name = l.name();
    let repr = format!("{name}Repr");
    let chosen: Vec<&Field> = l
        .fields
        .iter()
        .filter(|f| matches!(role(l, f), Role::Chosen))
        .collect();
    let filled: Vec<String> = l
        .fields
        .iter()
        .filter(|f| !matches!(role(l, f), Role::Chosen))
        .map(|f| format!("`{}`", f.def.name))
        .collect();
    let simple = stores_only(l);

    let mut what =
        format!("The fields a sender chooses for [`{name}`]; [`crate::Emit`] writes the header");
    if !filled.is_empty() {
        write!(what, " and fills in {}", filled.join(", ")).unwrap();
    }
    what += ".";
    // rustfmt leaves macro bodies alone: indent here.
    *out += "\ncrate::format::builder! {\n";
    doc(out, "    ///", &what);
    let emit = if simple { ": Emit" } else { "" };
    writeln!(out, "    pub struct {repr} for {name}{emit} {{").unwrap();
    for f in &chosen {
        doc(out, "        ///", &f.def.doc);
        let set = if simple {
            format!(" / set_{}", f.def.name)
        } else {
            String::new()
        };
        writeln!(out, "        pub {}{set}: {},", f.def.name, value_ty(f)).unwrap();
    }
    *out += "    }\n";
    if simple {
        let fixed: Vec<&Field> = l.fields.iter().filter(|f| f.def.fixed.is_some()).collect();
        if !fixed.is_empty() {
            *out += "    fixed {\n";
            for f in fixed {
                let n = &f.def.name;
                writeln!(out, "        {n} / set_{n} = {},", n.to_uppercase()).unwrap();
            }
            *out += "    }\n";
        }
        *out += "}\n";
        return;
    }
    *out += "}\n";

    // The header-length field counts whole units of the fixed size.
    if let Some(f) = header_len_field(l) {
        let unit = f.def.length.as_ref().unwrap().unit_bytes;
        writeln!(
            out,
            "\nconst _: () = assert!({name}::LEN.is_multiple_of({unit}) && {name}::LEN / {unit} <= {});",
            field_max(f.def.bits)
        )
        .unwrap();
    }

    let checksum = l.fields.iter().find_map(|f| f.def.checksum.as_ref());
    let pseudo = checksum.and_then(|c| c.pseudo_header);
    let (context, cx) = match pseudo {
        Some(PseudoHeader::Ipv4) => ("crate::emit::Ipv4PseudoHeader", "cx"),
        None => ("()", "_cx"),
    };
    // A header-length field and options after the fixed part: the
    // builder takes the options' length (`EmitOptions`).
    let with_options = l.def.options.is_some() && header_len_field(l).is_some();
    writeln!(out, "\nimpl crate::Emit for {repr} {{").unwrap();
    writeln!(
        out,
        "const LEN: usize = {name}::LEN;\ntype Context = {context};\n"
    )
    .unwrap();
    if with_options {
        doc(
            out,
            "///",
            &format!("Writes a complete [`{name}`] without options: [`crate::EmitOptions::emit_with_options`] with none."),
        );
        writeln!(
            out,
            "fn emit(&self, message: &mut [u8], cx: Self::Context) -> Result<(), crate::EmitError> {{\ncrate::EmitOptions::emit_with_options(self, message, 0, cx)\n}}\n}}\n"
        )
        .unwrap();
        writeln!(out, "impl crate::EmitOptions for {repr} {{").unwrap();
    }
    let mut steps = vec!["every field zeroed, then the chosen ones".to_string()];
    for f in &l.fields {
        let n = &f.def.name;
        match role(l, f) {
            Role::Chosen | Role::Checksum => {}
            Role::Fixed => steps.push(format!("`{n}` its fixed value")),
            Role::HeaderLen(_) if with_options => steps.push(format!(
                "`{n}` the header's length, its `options_len` bytes of options included"
            )),
            Role::HeaderLen(_) => {
                steps.push(format!("`{n}` the fixed header's length (no options)"))
            }
            Role::MessageLen(_, 0) => steps.push(format!("`{n}` the length of `message`")),
            Role::MessageLen(..) => steps.push(format!("`{n}` the length of `message` after it")),
            Role::PayloadLen(_) => steps.push(format!(
                "`{n}` the length of what follows the header in `message`"
            )),
            Role::SizeOf(_) => steps.push(format!(
                "`{n}` the size of `{}`",
                f.def.length.as_ref().unwrap().of
            )),
        }
    }
    if let Some(c) = checksum {
        let over = match (c.covers.as_str(), pseudo) {
            ("header", _) => "the header",
            (_, Some(_)) => "the pseudo-header of `cx` and the whole message",
            _ => "the whole message",
        };
        steps.push(format!("last the checksum over {over}"));
    }
    doc(
        out,
        "///",
        &format!(
            "Writes a complete [`{name}`] over the front of `message`: {}.",
            steps.join("; ")
        ),
    );
    if with_options {
        writeln!(
            out,
            "fn emit_with_options(&self, message: &mut [u8], options_len: usize, {cx}: Self::Context) -> Result<(), crate::EmitError> {{"
        )
        .unwrap();
        writeln!(
            out,
            "let header_len = {name}::LEN + options_len;\nif message.len() < header_len {{\nreturn Err(crate::EmitError::Truncated {{ need: header_len, have: message.len() }});\n}}"
        )
        .unwrap();
    } else {
        writeln!(
            out,
            "fn emit(&self, message: &mut [u8], {cx}: Self::Context) -> Result<(), crate::EmitError> {{"
        )
        .unwrap();
    }
    if l.fields
        .iter()
        .any(|f| matches!(role(l, f), Role::MessageLen(..)))
    {
        // A message sent in pieces: its length counts what follows the
        // buffer (the pseudo-header's `tail`).
        *out += if pseudo.is_some() {
            "let len = message.len() + cx.tail.len;\n"
        } else {
            "let len = message.len();\n"
        };
    }
    if l.fields
        .iter()
        .any(|f| matches!(role(l, f), Role::PayloadLen(_)))
    {
        writeln!(out, "let len = message.len().saturating_sub({name}::LEN);").unwrap();
    }
    writeln!(out, "let header = crate::emit::zeroed::<{name}>(message)?;").unwrap();
    for f in &l.fields {
        emit_set(out, l, f, with_options);
    }
    if let Some(c) = checksum {
        let end = if with_options {
            "header_len".to_string()
        } else {
            format!("{name}::LEN")
        };
        match (c.covers.as_str(), pseudo) {
            (_, Some(PseudoHeader::Ipv4)) => {
                *out += "fill_checksum_with_tail(cx.src, cx.dst, message, cx.tail);\n"
            }
            ("header", None) => writeln!(out, "fill_checksum(&mut message[..{end}]);").unwrap(),
            _ => *out += "fill_checksum(message);\n",
        }
    }
    *out += "Ok(())\n}\n}\n";
}

/// The statements that store one field's value in `header` (`options`:
/// inside `emit_with_options`, where `header_len` counts the options).
fn emit_set(out: &mut String, l: &Layout, f: &Field, options: bool) {
    let n = &f.def.name;
    let name = l.name();
    // A raw integer into the field's accessor type (a key wraps it).
    let wrap = |v: String| match (&f.def.key, f.repr) {
        (Some(k), _) => format!("{k}({v})"),
        _ => v,
    };
    let native = match f.repr {
        Repr::Uint(b) => format!("u{b}"),
        _ => String::new(),
    };
    // A length counted from `len` (less `skip` bytes it does not count),
    // checked against the field's width first, so the cast keeps every bit.
    let set_len = |out: &mut String, unit: u32, skip: usize| {
        let len = match skip {
            0 => "len".to_string(),
            skip => format!("len - {skip}"),
        };
        let units = format!(
            "crate::emit::length(\"{n}\", {len}, {unit}, {})? as {native}",
            field_max(f.def.bits)
        );
        writeln!(out, "header.set_{n}({});", wrap(units)).unwrap();
    };
    match role(l, f) {
        Role::Chosen => {
            // Sub-byte fields live in bitfields, whose setters panic on a
            // value too wide: refuse it instead.
            if f.group.is_some() && f.repr != Repr::Bool {
                let raw = if f.def.key.is_some() {
                    format!("self.{n}.0")
                } else {
                    format!("self.{n}")
                };
                writeln!(
                    out,
                    "crate::emit::fits(\"{n}\", u64::from({raw}), {max})?;",
                    max = field_max(f.def.bits)
                )
                .unwrap();
            }
            writeln!(out, "header.set_{n}(self.{n});").unwrap();
        }
        Role::Fixed => writeln!(out, "header.set_{n}({name}::{});", n.to_uppercase()).unwrap(),
        Role::HeaderLen(unit) if options => {
            // Checked against the field's width and unit first.
            let units = format!(
                "crate::emit::length(\"{n}\", header_len, {unit}, {})? as {native}",
                field_max(f.def.bits)
            );
            writeln!(out, "header.set_{n}({});", wrap(units)).unwrap();
        }
        Role::HeaderLen(unit) => {
            let v = wrap(format!("({name}::LEN / {unit}) as {native}"));
            writeln!(out, "header.set_{n}({v});").unwrap();
        }
        Role::MessageLen(unit, skip) => set_len(out, unit, skip),
        Role::PayloadLen(unit) => set_len(out, unit, 0),
        Role::SizeOf(units) => {
            let v = wrap(units.to_string());
            writeln!(
                out,
                "header.set_{n}({v}); // the size of `{}`",
                f.def.length.as_ref().unwrap().of
            )
            .unwrap();
        }
        Role::Checksum => {}
    }
}
