//! Emits the checks a generated module carries: the module's error enum,
//! each format's validating `parse` (the checks `checks.rs` put in order)
//! and the module's checksum helpers.

use std::fmt::Write;

use crate::checks;
use crate::emit_rust::doc;
use crate::expr::Op;
use crate::model::{camel, CheckKind, Expr, Field, Layout, Module, Repr, Value};
use crate::spec::PseudoHeader;

/// The name of a module's error enum: `ipv4` -> `Ipv4Error`.
pub fn error_enum(m: &Module) -> String {
    format!("{}Error", camel(&m.name))
}

/// The module's error enum: one variant per error its `parse` functions name.
pub(crate) fn emit_errors(out: &mut String, m: &Module) {
    if m.formats.is_empty() {
        return;
    }
    let en = error_enum(m);
    let counted = match &m.spec.counter_prefix {
        Some(p) => format!(" The stack counts each as `drop_{p}_<name>`."),
        None => String::new(),
    };
    // rustfmt leaves macro bodies alone: indent here.
    *out += "crate::format::errors! {\n";
    doc(
        out,
        "    ///",
        &format!("Why a `parse` of this module refused a buffer, in the order it checks.{counted}"),
    );
    writeln!(out, "    pub enum {en} {{").unwrap();
    for e in &m.errors {
        doc(out, "        ///", &e.doc);
        writeln!(out, "        {} = \"{}\",", camel(&e.name), e.name).unwrap();
    }
    *out += "    }\n}\n";
}

/// A key value as Rust: `IpProtocol::UDP` here, `crate::ipv4::IpProtocol::UDP` elsewhere.
pub(crate) fn value_path(m: &Module, v: &Value) -> String {
    match v {
        Value::Int(n) => n.to_string(),
        Value::Named {
            module, key, value, ..
        } if module == &m.name => format!("{key}::{value}"),
        Value::Named {
            module, key, value, ..
        } => format!("crate::{module}::{key}::{value}"),
    }
}

/// The field's value in bytes, from the parsed `header`.
fn bytes_of(f: &Field) -> String {
    let len = f.def.length.as_ref().unwrap();
    let n = match f.repr {
        Repr::Uint(8 | 16) => format!("usize::from(header.{}())", f.def.name),
        _ => format!("header.{}() as usize", f.def.name),
    };
    let n = if len.unit_bytes == 1 {
        n
    } else {
        format!("{n} * {}", len.unit_bytes)
    };
    match f.uncounted_bytes() {
        0 => n,
        skip => format!("{skip} + {n}"),
    }
}

/// A constraint as a Rust expression over `header` and `bytes`, in `i128`.
fn rust_expr(m: &Module, l: &Layout, e: &Expr) -> String {
    fn prec(e: &Expr) -> u8 {
        match e {
            Expr::Binary(op, ..) => match op {
                Op::Mul | Op::Div | Op::Rem => 5,
                Op::Add | Op::Sub => 4,
                Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Eq | Op::Ne => 3,
                Op::And => 1,
                Op::Or => 0,
            },
            _ => 9,
        }
    }
    let sub = |child: &Expr, parent: u8, right: bool| {
        let text = rust_expr(m, l, child);
        let p = prec(child);
        if p < parent || (p == parent && (right || parent == 3)) {
            format!("({text})")
        } else {
            text
        }
    };
    match e {
        Expr::Int(v) => v.to_string(),
        Expr::Field(i) => {
            let f = &l.fields[*i];
            match (f.repr, &f.def.key) {
                (Repr::Bool, _) => format!("header.{}()", f.def.name),
                (_, Some(_)) => format!("i128::from(header.{}().0)", f.def.name),
                _ => format!("i128::from(header.{}())", f.def.name),
            }
        }
        Expr::BufferLen => "bytes.len() as i128".into(),
        Expr::FormatLen => "Self::LEN as i128".into(),
        Expr::Const(n) => format!("i128::from({n})"),
        Expr::Value(v @ Value::Named { .. }) => format!("i128::from({}.0)", value_path(m, v)),
        Expr::Value(Value::Int(n)) => n.to_string(),
        Expr::Not(inner) => format!("!{}", sub(inner, 9, false)),
        Expr::Binary(op, a, b) => {
            // A key field against a value of its key reads as it would by hand.
            if let (Op::Eq | Op::Ne, Expr::Field(i), Expr::Value(v @ Value::Named { key, .. })) =
                (op, &**a, &**b)
            {
                if l.fields[*i].def.key.as_ref() == Some(key) {
                    return format!(
                        "header.{}() {} {}",
                        l.fields[*i].def.name,
                        op.text(),
                        value_path(m, v)
                    );
                }
            }
            let p = prec(e);
            format!("{} {} {}", sub(a, p, false), op.text(), sub(b, p, true))
        }
    }
}

/// The `format::parse_fixed_option!` an option's `parse` is, when its
/// only checks are that its byte-length field holds its fixed size and
/// then ends within the buffer, both failing with one error.
pub(crate) fn fixed_option(m: &Module, l: &Layout) -> Option<String> {
    let [a, b] = &l.checks[..] else {
        return None;
    };
    let (CheckKind::Fixed(i), CheckKind::MessageLength(j)) = (&a.kind, &b.kind) else {
        return None;
    };
    let f = &l.fields[*i];
    let counts_bytes = f
        .def
        .length
        .as_ref()
        .is_some_and(|len| len.unit_bytes == 1 && f.uncounted_bytes() == 0);
    let plain = matches!(f.repr, Repr::Uint(8 | 16)) && f.def.key.is_none();
    if i != j || a.error != b.error || !counts_bytes || !plain {
        return None;
    }
    if l.def.options.is_some() || l.def.repeated.is_some() {
        return None;
    }
    Some(format!(
        "crate::format::parse_fixed_option!({}, {}::{}, {} / {});\n",
        l.name(),
        error_enum(m),
        camel(&a.error),
        f.def.name,
        f.def.name.to_uppercase()
    ))
}

/// `parse`: the view, then every check of the format in order.
pub(crate) fn emit_parse(out: &mut String, m: &Module, l: &Layout) {
    let en = error_enum(m);
    if l.checks.is_empty() || fixed_option(m, l).is_some() {
        // Nothing to check past the view, or an option of fixed size:
        // `format::parse_fixed_size!`, `format::parse_fixed_option!`.
        return;
    }
    let pseudo = checksum_field(m).is_some_and(|(cl, f)| {
        cl.name() == l.name() && f.def.checksum.as_ref().unwrap().pseudo_header.is_some()
    });
    // A checksum over the whole message, with no pseudo-header (ICMP).
    let plain_message_checksum = checksum_field(m).is_some_and(|(cl, f)| {
        let c = f.def.checksum.as_ref().unwrap();
        cl.name() == l.name() && c.pseudo_header.is_none() && c.covers == "message"
    });
    let mut what = String::from(
        "Views the header at the front of `bytes` and checks it as its spec says, in this order",
    );
    let mut body = String::new();
    let has = |of: &str| {
        l.fields
            .iter()
            .any(|f| f.def.length.as_ref().is_some_and(|len| len.of == of))
    };
    if !has("header") {
        body += "let header_len = Self::LEN;\n";
    }
    if !has("message") && !has("rest") && !has("payload") {
        body += "let end = bytes.len();\n";
    }
    let mut steps = vec![format!(
        "`{}`: at least [`Self::LEN`] bytes",
        checks::TOO_SHORT
    )];
    // The checks up to the header length: what a header quoted with its
    // message cut short (in an ICMP error) can still be held to.
    let mut prefix = None;
    for c in &l.checks {
        let err = format!("return Err({en}::{});", camel(&c.error));
        let step = match &c.kind {
            CheckKind::Fixed(i) => {
                let f = &l.fields[*i];
                writeln!(
                    body,
                    "if header.{0}() != Self::{1} {{\n{err}\n}}",
                    f.def.name,
                    f.def.name.to_uppercase()
                )
                .unwrap();
                format!("`{}` is {}", f.def.name, checks::fixed_text(f))
            }
            CheckKind::HeaderLength(i) => {
                let f = &l.fields[*i];
                writeln!(body, "let header_len = {};\nif header_len < Self::LEN || header_len > bytes.len() {{\n{err}\n}}", bytes_of(f)).unwrap();
                prefix = Some((body.clone(), f.def.name.clone()));
                format!(
                    "`{}` covers at least [`Self::LEN`] bytes within the buffer",
                    f.def.name
                )
            }
            CheckKind::MessageLength(i) => {
                let f = &l.fields[*i];
                writeln!(
                    body,
                    "let end = {};\nif end < header_len || end > bytes.len() {{\n{err}\n}}",
                    bytes_of(f)
                )
                .unwrap();
                format!(
                    "`{}` covers the header and ends within the buffer (the payload is cut there)",
                    f.def.name
                )
            }
            CheckKind::PayloadLength(i) => {
                let f = &l.fields[*i];
                writeln!(
                    body,
                    "let end = header_len + {};\nif end > bytes.len() {{\n{err}\n}}",
                    bytes_of(f)
                )
                .unwrap();
                format!(
                    "`{}` gives the payload that follows the fixed part, within the buffer (the payload is cut there)",
                    f.def.name
                )
            }
            CheckKind::FieldLength { field, size } => {
                let f = &l.fields[*field];
                writeln!(body, "if {} != {size} {{\n{err}\n}}", bytes_of(f)).unwrap();
                format!("`{}` is {size}", f.def.name)
            }
            CheckKind::Checksum(i) => {
                let c = l.fields[*i].def.checksum.as_ref().unwrap();
                let range = if c.covers == "header" {
                    "..header_len"
                } else {
                    "..end"
                };
                let args = if pseudo { "src, dst, " } else { "" };
                writeln!(body, "if !checksum_ok({args}&bytes[{range}]) {{\n{err}\n}}").unwrap();
                format!("the checksum over the {} verifies", c.covers)
            }
            CheckKind::Repeated(size) => {
                let elem = l.def.repeated.as_ref().unwrap();
                writeln!(
                    body,
                    "if (end - header_len) % {elem}::LEN != 0 {{\n{err}\n}}"
                )
                .unwrap();
                format!("what follows the fixed part is a whole number of [`{elem}`]s ({size} bytes each)")
            }
            CheckKind::Constraint { expr, text } => {
                writeln!(
                    body,
                    "// {}: {text}\nlet valid = {};\nif !valid {{\n{err}\n}}",
                    c.error,
                    rust_expr(m, l, expr)
                )
                .unwrap();
                format!("`{text}`")
            }
        };
        steps.push(format!("`{}`: {step}", c.error));
    }
    what += ": ";
    what += &steps.join("; ");
    what += ".";
    *out += "\n";
    doc(out, "///", &what);
    let too_short = camel(checks::TOO_SHORT);
    let args = if pseudo {
        *out += "///\n/// `src` and `dst` are the addresses of the IPv4 pseudo-header.\n";
        "bytes: &[u8], src: [u8; 4], dst: [u8; 4]"
    } else {
        "bytes: &[u8]"
    };
    // `#[inline]`: the stack's receive path calls `parse` from another
    // crate for every frame; the call itself cost more than most checks.
    write!(
        out,
        r#"#[inline]
pub fn parse({args}) -> Result<crate::Parsed<'_, Self>, {en}> {{
    let Ok((header, _)) = Self::ref_from_prefix(bytes) else {{
        return Err({en}::{too_short});
    }};
{body}    Ok(crate::Parsed::split(header, bytes, header_len, end))
}}
"#
    )
    .unwrap();
    if (pseudo && has("message")) || plain_message_checksum {
        // The same checks over a message held in pieces: lengths count
        // every piece, the checksum sums them.
        let body = body
            .replace("bytes.len()", "(bytes.len() + rest_len)")
            .replace(
                "let end = (bytes.len() + rest_len);",
                "let end = bytes.len() + rest_len;",
            )
            .replace(
                "checksum_ok(src, dst, &bytes[..end])",
                "checksum_ok_pieces(src, dst, bytes, rest, end)",
            )
            .replace(
                "checksum_ok(&bytes[..end])",
                "checksum_ok_pieces(bytes, rest, end)",
            );
        let addresses = if pseudo {
            "\n    src: [u8; 4],\n    dst: [u8; 4],"
        } else {
            ""
        };
        write!(
            out,
            r#"
/// [`Self::parse`] of a message held in pieces (a datagram reassembled from fragments):
/// `bytes` is the first piece, starting with the header, `rest` the pieces after it, in
/// order. The checks count and sum every piece; `message` and `payload` end with `bytes`.
pub fn parse_pieces<'a: 'r, 'r, R>(
    bytes: &'a [u8],
    rest: R,{addresses}
) -> Result<crate::Parsed<'a, Self>, {en}>
where
    R: IntoIterator<Item = &'r [u8]> + Clone,
{{
    let Ok((header, _)) = Self::ref_from_prefix(bytes) else {{
        return Err({en}::{too_short});
    }};
    let rest_len: usize = rest.clone().into_iter().map(<[u8]>::len).sum();
{body}    Ok(crate::Parsed::split(header, bytes, header_len, end.min(bytes.len())))
}}
"#
        )
        .unwrap();
    }
    if let (Some((checks, field)), true) = (prefix, has("message")) {
        write!(
            out,
            r#"
/// Views a header whose message may be cut short (as an ICMP error quotes it): the
/// checks of [`Self::parse`] up to `{field}`, none after; the payload is the rest of `bytes`.
pub fn parse_prefix(bytes: &[u8]) -> Result<crate::Parsed<'_, Self>, {en}> {{
    let Ok((header, _)) = Self::ref_from_prefix(bytes) else {{
        return Err({en}::{too_short});
    }};
{checks}    Ok(crate::Parsed::split(header, bytes, header_len, bytes.len()))
}}
"#
        )
        .unwrap();
    }
    if let Some(list) = &l.def.options {
        // Without a header length the options are the rest of the message.
        let (what, part) = if has("header") {
            ("between the fixed part and the header length", "options")
        } else {
            ("after the fixed part, to the end of the message", "payload")
        };
        write!(
            out,
            r#"
/// The options {what}, as [`{list}`].
pub fn options<'a>(parsed: &crate::Parsed<'a, Self>) -> {list}<'a> {{
    {list}::new(parsed.{part})
}}
"#
        )
        .unwrap();
    }
    if let Some(elem) = &l.def.repeated {
        write!(
            out,
            r#"
/// The [`{elem}`]s after the fixed part, in place (`parse` checked that they fill it).
pub fn elements<'a>(parsed: &crate::Parsed<'a, Self>) -> &'a [{elem}] {{
    <[{elem}]>::ref_from_bytes(parsed.payload).unwrap_or(&[])
}}
"#
        )
        .unwrap();
    }
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
            write!(
                out,
                r#"
/// Checks the Internet checksum (RFC 1071) of `{arg}` ({what}): summed with
/// `{field}` included it must come to zero. False when shorter than [`{ty}::LEN`].
#[inline]
pub fn checksum_ok({arg}: &[u8]) -> bool {{
    {arg}.len() >= {ty}::LEN && internet_checksum({arg}) == 0
}}

/// Computes the Internet checksum (RFC 1071) of `{arg}` ({what}) and stores it in
/// `{field}`. Does nothing when `{arg}` is shorter than [`{ty}::LEN`].
pub fn fill_checksum({arg}: &mut [u8]) {{
    let Ok((header, _)) = {ty}::mut_from_prefix({arg}) else {{
        return;
    }};
    header.set_{field}(0);
    let sum = internet_checksum({arg});
    if let Ok((header, _)) = {ty}::mut_from_prefix({arg}) {{
        header.set_{field}(sum);
    }}
}}
"#
            )
            .unwrap();
            if c.covers == "message" {
                write!(
                    out,
                    r#"
/// [`checksum_ok`] of a message of `len` bytes held in pieces (a datagram reassembled from
/// fragments): `first` starts with the header, `rest` holds the pieces after it, in order.
/// False when the pieces hold fewer than `len` bytes.
pub fn checksum_ok_pieces<'r>(
    first: &'r [u8],
    rest: impl IntoIterator<Item = &'r [u8]>,
    len: usize,
) -> bool {{
    if first.len() < {ty}::LEN {{
        return false;
    }}
    let mut sum = Checksum::new();
    sum.add_pieces(core::iter::once(first).chain(rest), len) && sum.finish() == 0
}}

/// [`fill_checksum`] for a message that goes on past `{arg}` with the bytes `tail` sums (a
/// datagram held in pieces, sent as IPv4 fragments).
pub fn fill_checksum_with_tail({arg}: &mut [u8], tail: crate::emit::MessageTail) {{
    let Ok((header, _)) = {ty}::mut_from_prefix({arg}) else {{
        return;
    }};
    header.set_{field}(0);
    let mut sum = Checksum::new();
    sum.add({arg});
    sum.append(tail.sum);
    let sum = sum.finish();
    if let Ok((header, _)) = {ty}::mut_from_prefix({arg}) {{
        header.set_{field}(sum);
    }}
}}
"#
                )
                .unwrap();
            }
        }
        Some(PseudoHeader::Ipv4) => {
            // The functions are `format::pseudo_header_checksum!`'s.
            let protocol = value_path(m, m.pseudo_protocol.as_ref().unwrap());
            let protocol = if protocol.contains("::") {
                format!("{protocol}.0")
            } else {
                protocol
            };
            let offset = f.bit_offset / 8;
            let none = if c.zero_means_none {
                ", zero means none"
            } else {
                ""
            };
            write!(
                out,
                r#"
crate::format::pseudo_header_checksum! {{
    {ty}.{field} / set_{field} at {offset}, protocol {protocol}{none}
}}
"#
            )
            .unwrap();
        }
    }
}
