//! Compressed domain names (RFC 1035, sections 3.1 and 4.1.4), hand-written
//! once for every `[[domain_name]]` a spec declares.
//!
//! A name is a run of labels, each a length byte then that many bytes,
//! ended by the empty root label or by a pointer: a length byte with the
//! spec's pointer bits set, whose other bits and the next byte are the
//! offset of the rest of the name in the same message. The walk
//! ([`walk`]) holds every name to the spec's limits and refuses, under a
//! named [`NameFault`], whatever would read past the message or never end:
//!
//! - a pointer must point before itself (`PointerForward`) and inside the
//!   message (`PointerOutOfRange`);
//! - a pointer into the labels the walk has just followed since its last
//!   jump (`Loop`) would reach the same pointer again, forever; any other
//!   backward pointer lands before every byte read so far, so the jumps go
//!   strictly backward and the walk ends after at most one pass over the
//!   message;
//! - the name, pointers followed, is at most `max_len` bytes
//!   (`NameTooLong`), each label at most `max_label` (`LabelTooLong`).
//!
//! A name that passed the walk is a [`Name`]: its labels iterate without
//! checks that could fail, and it prints as dotted text.

use core::fmt;

/// What the spec says about its names: the longest label, the longest
/// name (length bytes and root label included), and the pointer bits.
#[derive(Debug, Clone, Copy)]
pub struct NameRules {
    pub max_label: u8,
    pub max_len: usize,
    pub pointer: u8,
}

/// Why a name was refused; the `domain_name!` declaration maps each to
/// the module's error of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameFault {
    PastEnd,
    LabelTooLong,
    TooLong,
    PointerOutOfRange,
    PointerForward,
    Loop,
    EmptyLabel,
}

/// A name checked in place in its message.
#[derive(Debug, Clone, Copy)]
pub struct Name<'a> {
    message: &'a [u8],
    start: usize,
    wire_len: usize,
    len: usize,
    pointer: u8,
}

/// Checks the name at `start` in `message` as `rules` say.
pub fn walk<'a>(rules: &NameRules, message: &'a [u8], start: usize) -> Result<Name<'a>, NameFault> {
    let mut pos = start;
    // Where the labels followed since the last jump begin.
    let mut run_start = start;
    // Bytes the name occupies where it is written: up to its first pointer.
    let mut wire_len = None;
    let mut len = 0usize;
    loop {
        let &byte = message.get(pos).ok_or(NameFault::PastEnd)?;
        if byte & rules.pointer == rules.pointer {
            let &low = message.get(pos + 1).ok_or(NameFault::PastEnd)?;
            let target = usize::from(byte & !rules.pointer) << u8::BITS | usize::from(low);
            wire_len.get_or_insert_with(|| pos + 2 - start);
            if target >= message.len() {
                return Err(NameFault::PointerOutOfRange);
            }
            if target >= pos {
                return Err(NameFault::PointerForward);
            }
            if target >= run_start {
                return Err(NameFault::Loop);
            }
            pos = target;
            run_start = target;
            continue;
        }
        if byte > rules.max_label {
            return Err(NameFault::LabelTooLong);
        }
        let label = usize::from(byte);
        // The length byte and the label, and the root label still to come.
        len += 1 + label;
        if len + usize::from(label != 0) > rules.max_len {
            return Err(NameFault::TooLong);
        }
        if label == 0 {
            wire_len.get_or_insert_with(|| pos + 1 - start);
            return Ok(Name {
                message,
                start,
                wire_len: wire_len.unwrap_or(0),
                len,
                pointer: rules.pointer,
            });
        }
        if pos + 1 + label > message.len() {
            return Err(NameFault::PastEnd);
        }
        pos += 1 + label;
    }
}

/// Writes dotted `text` ("www.example.com", a final dot allowed, "" or
/// "." for the root) as labels at the front of `out`, without compression;
/// returns the bytes written.
pub fn encode(rules: &NameRules, text: &str, out: &mut [u8]) -> Result<usize, NameFault> {
    let text = text.strip_suffix('.').unwrap_or(text);
    let mut at = 0;
    if !text.is_empty() {
        for label in text.split('.') {
            if label.is_empty() {
                return Err(NameFault::EmptyLabel);
            }
            let n = u8::try_from(label.len())
                .ok()
                .filter(|&n| n <= rules.max_label)
                .ok_or(NameFault::LabelTooLong)?;
            let end = at + 1 + label.len();
            if end + 1 > rules.max_len {
                return Err(NameFault::TooLong);
            }
            let dst = out.get_mut(at..end).ok_or(NameFault::PastEnd)?;
            dst[0] = n;
            dst[1..].copy_from_slice(label.as_bytes());
            at = end;
        }
    }
    *out.get_mut(at).ok_or(NameFault::PastEnd)? = 0;
    Ok(at + 1)
}

impl<'a> Name<'a> {
    /// Bytes the name takes where it is written (up to and including its
    /// first pointer): what follows it starts there.
    pub fn wire_len(&self) -> usize {
        self.wire_len
    }

    /// Its offset in the message.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Its length with every pointer followed: length bytes, labels and
    /// the root label.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The root name (a single empty label).
    pub fn is_root(&self) -> bool {
        self.len == 1
    }

    /// Its labels, pointers followed, root label left out.
    pub fn labels(&self) -> Labels<'a> {
        Labels {
            message: self.message,
            pos: self.start,
            pointer: self.pointer,
            // The walk took at most this many steps; the bound keeps the
            // iterator finite even if misused.
            steps_left: self.message.len(),
        }
    }

    /// Whether it names the same as dotted `text`, ignoring ASCII case
    /// (RFC 1035, section 2.3.3).
    pub fn eq_text(&self, text: &str) -> bool {
        let text = text.strip_suffix('.').unwrap_or(text);
        if text.is_empty() {
            return self.is_root();
        }
        let mut ours = self.labels();
        for label in text.split('.') {
            match ours.next() {
                Some(l) if l.eq_ignore_ascii_case(label.as_bytes()) => {}
                _ => return false,
            }
        }
        ours.next().is_none()
    }

    /// Whether two names are the same, ignoring ASCII case.
    pub fn same_as(&self, other: &Name<'_>) -> bool {
        let (mut a, mut b) = (self.labels(), other.labels());
        loop {
            match (a.next(), b.next()) {
                (None, None) => return true,
                (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => {}
                _ => return false,
            }
        }
    }
}

/// The labels of a [`Name`], in order.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    message: &'a [u8],
    pos: usize,
    pointer: u8,
    steps_left: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while self.steps_left > 0 {
            self.steps_left -= 1;
            let &byte = self.message.get(self.pos)?;
            if byte & self.pointer == self.pointer {
                let &low = self.message.get(self.pos + 1)?;
                self.pos = usize::from(byte & !self.pointer) << u8::BITS | usize::from(low);
                continue;
            }
            let label = usize::from(byte);
            if label == 0 {
                return None;
            }
            let bytes = self.message.get(self.pos + 1..self.pos + 1 + label)?;
            self.pos += 1 + label;
            return Some(bytes);
        }
        None
    }
}

/// Dotted text, as `dig` prints: "www.example.com", "." for the root;
/// a dot or backslash in a label is escaped with a backslash, other bytes
/// outside printable ASCII as `\DDD`.
impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for &b in label {
                match b {
                    b'.' | b'\\' => write!(f, "\\{}", char::from(b))?,
                    b' '..=b'~' => write!(f, "{}", char::from(b))?,
                    _ => write!(f, "\\{b:03}")?,
                }
            }
        }
        Ok(())
    }
}

/// A module's name type over [`Name`]: the spec's limits as constants,
/// `parse` and `encode` returning the module's errors.
macro_rules! domain_name {
    (
        $(#[$doc:meta])*
        pub struct $name:ident, $err:ident {
            max_label: $max_label:literal,
            max_len: $max_len:literal,
            pointer: $pointer:literal,
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<'a>(pub $crate::names::Name<'a>);

        impl<'a> $name<'a> {
            /// The longest label, in bytes.
            pub const MAX_LABEL: u8 = $max_label;
            /// The longest name, length bytes and root label included.
            pub const MAX_LEN: usize = $max_len;
            /// The top bits of a length byte that make it a compression pointer.
            pub const POINTER: u8 = $pointer;
            const RULES: $crate::names::NameRules = $crate::names::NameRules {
                max_label: $max_label,
                max_len: $max_len,
                pointer: $pointer,
            };

            /// Checks the name at `offset` in `message` (see [`crate::names`]).
            pub fn parse(message: &'a [u8], offset: usize) -> Result<Self, $err> {
                $crate::names::walk(&Self::RULES, message, offset)
                    .map($name)
                    .map_err(Self::error)
            }

            /// Writes dotted `text` uncompressed at the front of `out`;
            /// returns the bytes written.
            pub fn encode(text: &str, out: &mut [u8]) -> Result<usize, $err> {
                $crate::names::encode(&Self::RULES, text, out).map_err(Self::error)
            }

            fn error(fault: $crate::names::NameFault) -> $err {
                use $crate::names::NameFault as F;
                match fault {
                    F::PastEnd => $err::NamePastEnd,
                    F::LabelTooLong => $err::LabelTooLong,
                    F::TooLong => $err::NameTooLong,
                    F::PointerOutOfRange => $err::NamePointerOutOfRange,
                    F::PointerForward => $err::NamePointerForward,
                    F::Loop => $err::NameLoop,
                    F::EmptyLabel => $err::NameEmptyLabel,
                }
            }
        }

        impl<'a> core::ops::Deref for $name<'a> {
            type Target = $crate::names::Name<'a>;

            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl core::fmt::Display for $name<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

pub(crate) use domain_name;
