//! Validates `[[options]]` lists: the kind key and its single-byte kinds,
//! and that every known kind's format starts with that kind and a length,
//! so the generated iterator can hand each option to its format's `parse`.

use crate::model::{Layout, Repr};
use crate::spec::{LengthCounts, SpecFile};
use crate::validate::{is_camel, Errors};

pub(crate) fn check(spec: &SpecFile, formats: &[Layout], errs: &mut Errors) {
    for o in &spec.options {
        let name = o.name.clone();
        let say = |errs: &mut Errors, msg: String| {
            errs.push(None, None, format!("options {name}: {msg}"))
        };
        if !is_camel(&o.name) || !o.name.ends_with('s') {
            say(
                errs,
                "the name is a CamelCase plural (`Ipv4Options`)".into(),
            );
        }
        let Some(key) = spec.keys.iter().find(|k| k.name == o.kind) else {
            say(
                errs,
                format!(
                    "unknown kind key {}: declare it as [[key]] in this file",
                    o.kind
                ),
            );
            continue;
        };
        if key.bits != 8 || key.flags {
            say(
                errs,
                format!("the kind key {} must be 8 bits and not flags", key.name),
            );
        }
        for (what, v) in [("end", &o.end), ("nop", &o.nop)] {
            if !key.values.iter().any(|x| &x.name == v) {
                say(errs, format!("{what} = {v} is not a value of {}", key.name));
            }
        }
        for (value, format) in &o.formats {
            if !key.values.iter().any(|x| &x.name == value) || [&o.end, &o.nop].contains(&value) {
                say(
                    errs,
                    format!("{value} is not a value of {} with a length", key.name),
                );
            }
            let Some(l) = formats.iter().find(|l| l.name() == format) else {
                say(
                    errs,
                    format!("{value} = {format}: no [[format]] {format} in this file"),
                );
                continue;
            };
            let kind_ok = l
                .fields
                .first()
                .is_some_and(|f| f.def.key.as_deref() == Some(&o.kind));
            let of = match o.length_counts {
                LengthCounts::Option => "message",
                LengthCounts::Value => "rest",
            };
            let len_ok = l.fields.get(1).is_some_and(|f| {
                f.repr == Repr::Uint(8)
                    && f.def
                        .length
                        .as_ref()
                        .is_some_and(|len| len.of == of && len.unit_bytes == 1)
            });
            if !kind_ok || !len_ok {
                errs.push(
                    Some(format),
                    None,
                    format!(
                        "an option of {} starts with its kind (key = \"{}\") and an 8-bit length (length = {{ of = \"{of}\" }})",
                        o.name, o.kind
                    ),
                );
            }
        }
    }
    for def in &spec.formats {
        if let Some(list) = &def.options {
            if !spec.options.iter().any(|o| &o.name == list) {
                errs.push(
                    Some(&def.name),
                    None,
                    format!("options `{list}` is not an [[options]] list of this file"),
                );
            }
            // Without a header-length field the options are the rest of
            // the message (DHCP's), which a repeated element cannot share.
            let header_len = def
                .fields
                .iter()
                .any(|f| f.length.as_ref().is_some_and(|l| l.of == "header"));
            if !header_len && def.repeated.is_some() {
                errs.push(
                    Some(&def.name),
                    None,
                    "options without a header-length field take the rest of the message, which a repeated element cannot share",
                );
            }
        }
    }
}
