//! Validates what a format's `parse` must check and puts it in order: the
//! fixed values, the lengths and the checksum the fields declare, and the
//! named constraints (parsed by `expr`, their names resolved against the
//! format, the module's constants and every file's keys, their types and
//! widths checked so the generated arithmetic cannot overflow).
//!
//! The order is the declaration order: field by field, each field's fixed
//! value, then its length, then its own constraints, then (at the checksum
//! field) the checksum; the format's `[[format.constraint]]`s last.

use std::collections::BTreeMap;

use crate::expr::{self, Op};
use crate::model::{Check, CheckKind, ErrorDef, Expr, Layout, Repr, Value};
use crate::spec::{ConstType, ConstValue, ConstraintDef, KeyDef, SpecFile, ValueRef};
use crate::validate::{is_snake, Errors};

/// The name of the error for a buffer shorter than the fixed header.
pub const TOO_SHORT: &str = "too_short";
/// An option's length is below 2 or its kind's fixed part.
pub const OPTION_BAD_LENGTH: &str = "option_bad_length";
/// An option's length runs past the options.
pub const OPTION_PAST_END: &str = "option_past_end";

/// Widest intermediate value a constraint may need; the generated code
/// computes in `i128`.
const MAX_BITS: u32 = 120;

/// Every `[[key]]` of every file, by name (`None` when two files declare it).
pub(crate) struct Keys(BTreeMap<String, Option<(String, KeyDef)>>);

impl Keys {
    pub(crate) fn new(files: &[(String, String, SpecFile)]) -> Self {
        let mut map = BTreeMap::new();
        for (_, module, spec) in files {
            for k in &spec.keys {
                map.entry(k.name.clone())
                    .and_modify(|e| *e = None)
                    .or_insert_with(|| Some((module.clone(), k.clone())));
            }
        }
        Keys(map)
    }

    /// `Key.VALUE` -> where it is declared and its number.
    fn value(&self, key: &str, value: &str) -> Result<Value, String> {
        let (module, def) = match self.0.get(key) {
            None => {
                return Err(format!(
                    "unknown key `{key}` (no [[key]] of that name in any spec)"
                ))
            }
            Some(None) => {
                return Err(format!(
                    "key `{key}` is declared in more than one spec; rename one"
                ))
            }
            Some(Some(found)) => found,
        };
        let v = def
            .values
            .iter()
            .find(|v| v.name == value)
            .ok_or_else(|| format!("`{key}.{value}`: {key} names no value {value}"))?;
        Ok(Value::Named {
            module: module.clone(),
            key: key.to_string(),
            value: value.to_string(),
            number: v.value,
        })
    }

    fn bits(&self, key: &str) -> u32 {
        match self.0.get(key) {
            Some(Some((_, k))) => k.bits,
            _ => 64,
        }
    }
}

/// A number or `"Key.VALUE"` from a spec, resolved.
pub(crate) fn resolve_value(v: &ValueRef, keys: &Keys) -> Result<Value, String> {
    match v {
        ValueRef::Int(n) => Ok(Value::Int(*n)),
        ValueRef::Name(text) => match text.split_once('.') {
            Some((key, value)) => keys.value(key, value),
            None => Err(format!("`{text}` is not a key value: write Key.VALUE")),
        },
    }
}

/// The checks of `l`'s `parse`, in order.
pub(crate) fn checks(
    l: &Layout,
    formats: &[Layout],
    spec: &SpecFile,
    keys: &Keys,
    errs: &mut Errors,
) -> Vec<Check> {
    let def = &l.def;
    let fmt = Some(def.name.as_str());
    let mut out = Vec::new();
    let position = |of: &str| {
        l.fields
            .iter()
            .position(|f| f.def.length.as_ref().is_some_and(|len| len.of == of))
    };
    let message_at = position("message").or(position("rest"));
    let header_at = position("header");
    if let (Some(h), Some(m)) = (header_at, message_at) {
        if m < h {
            errs.push(
                fmt,
                Some(&l.fields[m].def.name),
                "the message length must come after the header length it is checked against",
            );
        }
    }
    let name = |name: &str, field: Option<&str>, errs: &mut Errors| {
        if !is_snake(name) {
            errs.push(fmt, field, format!("error name `{name}` is not snake_case"));
        }
        name.to_string()
    };
    for (i, f) in l.fields.iter().enumerate() {
        let at = Some(f.def.name.as_str());
        let default = format!("bad_{}", f.def.name);
        if f.def.fixed.is_some() {
            let error = name(f.def.fixed_error.as_deref().unwrap_or(&default), at, errs);
            out.push(Check {
                error,
                kind: CheckKind::Fixed(i),
            });
        } else if f.def.fixed_error.is_some() {
            errs.push(
                fmt,
                at,
                "fixed_error names the error of a fixed value; this field has none",
            );
        }
        if let Some(len) = &f.def.length {
            let error = name(len.error.as_deref().unwrap_or(&default), at, errs);
            let kind = match len.of.as_str() {
                "header" => Some(CheckKind::HeaderLength(i)),
                "message" | "rest" => Some(CheckKind::MessageLength(i)),
                "payload" if header_at.is_some() || message_at.is_some() => {
                    errs.push(fmt, at, "a payload length stands alone: the format has a header or message length already");
                    None
                }
                "payload" => Some(CheckKind::PayloadLength(i)),
                target => l.fields.iter().find(|t| t.def.name == target).and_then(|t| {
                    let size = (t.def.bits / 8) as usize;
                    match f.def.fixed {
                        // The fixed value already pins the size; a second check could never fail alone.
                        Some(v) if v * u64::from(len.unit_bytes) == size as u64 => None,
                        Some(v) => {
                            errs.push(fmt, at, format!("fixed value {v} gives `{target}` {} bytes, but the layout makes it {size}", v * u64::from(len.unit_bytes)));
                            None
                        }
                        None => Some(CheckKind::FieldLength { field: i, size }),
                    }
                }),
            };
            if let Some(kind) = kind {
                out.push(Check { error, kind });
            }
        }
        for c in &f.def.constraints {
            if let Some(check) = constraint(c, l, Some(i), spec, keys, errs) {
                out.push(check);
            }
        }
        if let Some(c) = &f.def.checksum {
            let needs = if c.covers == "header" {
                header_at
            } else {
                message_at
            };
            if needs.is_some_and(|n| n > i) {
                errs.push(
                    fmt,
                    at,
                    format!(
                        "the checksum covers the {}, whose length field comes after it",
                        c.covers
                    ),
                );
            }
            out.push(Check {
                error: "bad_checksum".into(),
                kind: CheckKind::Checksum(i),
            });
        }
    }
    if let Some(elem) = &def.repeated {
        match formats.iter().find(|f| f.name() == elem) {
            // Single bytes always fill the rest: nothing to check.
            Some(e) if e.name() != def.name && e.len == 1 => {}
            Some(e) if e.name() != def.name => {
                let error = match message_at {
                    Some(m) => {
                        let f = &l.fields[m].def;
                        let len = f.length.as_ref().unwrap();
                        len.error.clone().unwrap_or(format!("bad_{}", f.name))
                    }
                    None => "bad_repeat".into(),
                };
                out.push(Check {
                    error,
                    kind: CheckKind::Repeated(e.len),
                });
            }
            _ => errs.push(
                fmt,
                None,
                format!("repeated `{elem}` is not another [[format]] of this file"),
            ),
        }
    }
    for c in &def.constraints {
        if let Some(check) = constraint(c, l, None, spec, keys, errs) {
            out.push(check);
        }
    }
    out
}

/// Every error of a module: `too_short`, then each name in check order, with
/// its doc (the constraints' own, else one made from what is checked).
pub(crate) fn module_errors(formats: &[Layout], options: bool) -> Vec<ErrorDef> {
    let mut out = vec![ErrorDef {
        name: TOO_SHORT.into(),
        doc: "Shorter than the fixed part of the header.".into(),
    }];
    let mut what: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in formats {
        for c in &l.checks {
            let field = |i: usize| format!("`{}`", l.fields[i].def.name);
            let text = match &c.kind {
                CheckKind::Fixed(i) => {
                    format!("{} is not {}", field(*i), fixed_text(&l.fields[*i]))
                }
                CheckKind::HeaderLength(i) => {
                    format!(
                        "{} gives a header shorter than {} bytes or past the buffer",
                        field(*i),
                        l.len
                    )
                }
                CheckKind::MessageLength(i) => {
                    format!(
                        "{} gives a length shorter than the header or past the buffer",
                        field(*i)
                    )
                }
                CheckKind::PayloadLength(i) => {
                    format!("{} gives a payload past the buffer", field(*i))
                }
                CheckKind::FieldLength { field: i, size } => {
                    format!("{} is not {size}", field(*i))
                }
                CheckKind::Checksum(_) => "the checksum does not verify".into(),
                CheckKind::Repeated(size) => {
                    format!(
                        "what follows the fixed part is not a whole number of {size}-byte elements"
                    )
                }
                CheckKind::Constraint { .. } => String::new(),
            };
            if !out.iter().any(|e| e.name == c.error) {
                out.push(ErrorDef {
                    name: c.error.clone(),
                    doc: String::new(),
                });
            }
            let list = what.entry(c.error.clone()).or_default();
            if !text.is_empty() && !list.contains(&text) {
                list.push(text);
            }
        }
    }
    if options {
        for (name, doc) in [
            (
                OPTION_BAD_LENGTH,
                "An option's length is below 2 or below its kind's fixed part.",
            ),
            (
                OPTION_PAST_END,
                "An option runs past the end of the options.",
            ),
        ] {
            match out.iter_mut().find(|e| e.name == name) {
                Some(e) => e.doc = doc.into(),
                None => out.push(ErrorDef {
                    name: name.into(),
                    doc: doc.into(),
                }),
            }
        }
    }
    for l in formats {
        let docs = l
            .def
            .constraints
            .iter()
            .chain(l.def.fields.iter().flat_map(|f| f.constraints.iter()));
        for c in docs {
            if let Some(e) = out.iter_mut().find(|e| e.name == c.name) {
                if e.doc.is_empty() && !c.doc.trim().is_empty() {
                    e.doc = c.doc.trim().to_string();
                }
            }
        }
    }
    for e in out.iter_mut().filter(|e| e.doc.is_empty()) {
        let list = what.remove(&e.name).unwrap_or_default();
        let mut text = list.join("; or ");
        if let Some(first) = text.get(..1) {
            text = first.to_uppercase() + &text[1..] + ".";
        }
        e.doc = text;
    }
    out
}

/// A fixed value as the spec reads: hex from 16 bits up (`0x0800`).
pub(crate) fn fixed_text(f: &crate::model::Field) -> String {
    let v = f.def.fixed.unwrap_or(0);
    if f.def.bits >= 16 {
        format!("0x{v:0w$x}", w = (f.def.bits.div_ceil(8) * 2) as usize)
    } else {
        v.to_string()
    }
}

/// The type of a constraint's sub-expression: a truth value, or an integer
/// of at most this many bits (with a sign bit once it may be negative).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ty {
    Bool,
    Int(u32),
}

fn constraint(
    c: &ConstraintDef,
    l: &Layout,
    field: Option<usize>,
    spec: &SpecFile,
    keys: &Keys,
    errs: &mut Errors,
) -> Option<Check> {
    let fmt = Some(l.def.name.as_str());
    let at = field.map(|i| l.fields[i].def.name.as_str());
    let before = errs.list_len();
    if !is_snake(&c.name) {
        errs.push(
            fmt,
            at,
            format!("constraint name `{}` is not snake_case", c.name),
        );
    }
    let parsed = match expr::parse(&c.check) {
        Ok(e) => e,
        Err(e) => {
            errs.push(
                fmt,
                at,
                format!("constraint {}: `{}`: {e}", c.name, c.check),
            );
            return None;
        }
    };
    let mut r = Resolver {
        l,
        field,
        spec,
        keys,
        problems: Vec::new(),
    };
    let resolved = r.resolve(&parsed);
    if r.problems.is_empty() {
        match r.ty(&resolved) {
            Ok(Ty::Bool) => {}
            Ok(Ty::Int(_)) => r
                .problems
                .push("the check is a number, not a condition".into()),
            Err(e) => r.problems.push(e),
        }
    }
    for p in r.problems {
        errs.push(fmt, at, format!("constraint {}: {p}", c.name));
    }
    if errs.list_len() > before {
        return None;
    }
    Some(Check {
        error: c.name.clone(),
        kind: CheckKind::Constraint {
            expr: resolved,
            text: c.check.clone(),
        },
    })
}

struct Resolver<'a> {
    l: &'a Layout,
    /// A field's constraint sees that field and those before it.
    field: Option<usize>,
    spec: &'a SpecFile,
    keys: &'a Keys,
    problems: Vec<String>,
}

impl Resolver<'_> {
    fn resolve(&mut self, e: &expr::Expr) -> Expr {
        match e {
            expr::Expr::Int(v) => Expr::Int(*v),
            expr::Expr::Name(n) if n == "len" => Expr::BufferLen,
            expr::Expr::Name(n) if n == "LEN" => Expr::FormatLen,
            expr::Expr::Name(n) => {
                if let Some(i) = self.l.fields.iter().position(|f| &f.def.name == n) {
                    if self.field.is_some_and(|me| i > me) {
                        self.problems.push(format!(
                            "`{n}` comes after this field; a field's constraint sees it and the fields before it (put the check on `{n}` or on the format)"
                        ));
                    }
                    return Expr::Field(i);
                }
                if self.spec.constants.iter().any(|c| &c.name == n) {
                    return Expr::Const(n.clone());
                }
                self.problems.push(format!(
                    "unknown name `{n}`: not a field of {}, `len`, `LEN` or a constant of this file",
                    self.l.def.name
                ));
                Expr::Int(0)
            }
            expr::Expr::Value(k, v) => match self.keys.value(k, v) {
                Ok(v) => Expr::Value(v),
                Err(e) => {
                    self.problems.push(e);
                    Expr::Int(0)
                }
            },
            expr::Expr::Not(e) => Expr::Not(Box::new(self.resolve(e))),
            expr::Expr::Binary(op, a, b) => {
                Expr::Binary(*op, Box::new(self.resolve(a)), Box::new(self.resolve(b)))
            }
        }
    }

    fn ty(&self, e: &Expr) -> Result<Ty, String> {
        let bits_of = |v: u64| 64 - v.leading_zeros().min(63);
        Ok(match e {
            Expr::Int(v) => Ty::Int(bits_of(*v)),
            Expr::BufferLen => Ty::Int(64),
            Expr::FormatLen => Ty::Int(bits_of(self.l.len as u64)),
            Expr::Field(i) => {
                let f = &self.l.fields[*i];
                match f.repr {
                    Repr::Bool => Ty::Bool,
                    Repr::Uint(_) => Ty::Int(f.def.bits),
                    Repr::Bytes(_) => {
                        return Err(format!(
                            "`{}` is {:?} bytes, not a number",
                            f.def.name, f.def.ty
                        ))
                    }
                }
            }
            Expr::Const(n) => {
                let c = self.spec.constants.iter().find(|c| &c.name == n).unwrap();
                match (c.ty, &c.value) {
                    (
                        ConstType::U8 | ConstType::U16 | ConstType::U32 | ConstType::U64,
                        ConstValue::Int(v),
                    ) => Ty::Int(bits_of(*v)),
                    _ => return Err(format!("constant `{n}` is not an integer")),
                }
            }
            Expr::Value(Value::Named { key, .. }) => Ty::Int(self.keys.bits(key)),
            Expr::Value(Value::Int(v)) => Ty::Int(bits_of(*v)),
            Expr::Not(e) => match self.ty(e)? {
                Ty::Bool => Ty::Bool,
                Ty::Int(_) => return Err("`!` needs a condition, not a number".into()),
            },
            Expr::Binary(op, a, b) => {
                let (ta, tb) = (self.ty(a)?, self.ty(b)?);
                match (op, ta, tb) {
                    (Op::And | Op::Or, Ty::Bool, Ty::Bool) => Ty::Bool,
                    (Op::And | Op::Or, _, _) => {
                        return Err(format!("`{}` joins conditions, not numbers", op.text()))
                    }
                    (Op::Eq | Op::Ne, Ty::Bool, Ty::Bool) => Ty::Bool,
                    (op, Ty::Int(_), Ty::Int(_)) if op.is_comparison() => Ty::Bool,
                    (op, _, _) if op.is_comparison() => {
                        return Err(format!(
                            "`{}` compares two numbers or two conditions",
                            op.text()
                        ))
                    }
                    (op, Ty::Int(x), Ty::Int(y)) => {
                        let bits = match op {
                            Op::Add | Op::Sub => x.max(y) + 1,
                            Op::Mul => x + y,
                            _ => match **b {
                                Expr::Int(d) if d != 0 => x,
                                _ => {
                                    return Err(format!(
                                        "`{}` only by a non-zero number written out",
                                        op.text()
                                    ))
                                }
                            },
                        };
                        if bits > MAX_BITS {
                            return Err(format!(
                                "the arithmetic may need {bits} bits; at most {MAX_BITS}"
                            ));
                        }
                        Ty::Int(bits)
                    }
                    (op, _, _) => {
                        return Err(format!("`{}` needs numbers, not conditions", op.text()))
                    }
                }
            }
        })
    }
}

/// The value's number, for checks that it fits.
pub(crate) fn number(v: &Value) -> u64 {
    match v {
        Value::Int(n) | Value::Named { number: n, .. } => *n,
    }
}
