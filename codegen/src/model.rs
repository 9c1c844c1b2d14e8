//! The validated model the emitters read: modules, formats with every field
//! placed (bit offset, Rust representation, bitfield group), and the naming
//! helpers shared by validation and emission.

use crate::expr::Op;
use crate::spec::{FieldDef, FormatDef, KeyDef, SpecFile};

/// A validated spec file.
#[derive(Debug, Clone)]
pub struct Module {
    /// Module name = file stem, e.g. `ipv4`.
    pub name: String,
    /// Path relative to the workspace root, e.g. `proto-defs/ipv4.toml`.
    pub file: String,
    pub spec: SpecFile,
    pub formats: Vec<Layout>,
    /// Every error the module's `parse` functions return, `too_short` first,
    /// then in the order the checks name them.
    pub errors: Vec<ErrorDef>,
    /// The IP protocol number of the checksum's pseudo-header, if any.
    pub pseudo_protocol: Option<Value>,
}

impl Module {
    /// The key named `name`, declared in this module.
    pub fn key(&self, name: &str) -> Option<&KeyDef> {
        self.spec.keys.iter().find(|k| k.name == name)
    }
}

/// A format with its fields placed.
#[derive(Debug, Clone)]
pub struct Layout {
    pub def: FormatDef,
    /// Size on the wire in bytes.
    pub len: usize,
    /// Fields in wire order (parallel to `def.fields`).
    pub fields: Vec<Field>,
    /// The members of the Rust struct, in wire order.
    pub items: Vec<Item>,
    /// What `parse` checks after viewing the fixed header, in this order.
    pub checks: Vec<Check>,
}

/// An error of a module's `parse`.
#[derive(Debug, Clone)]
pub struct ErrorDef {
    /// snake_case: `bad_ihl`.
    pub name: String,
    pub doc: String,
}

/// One check of a `parse`, refusing the buffer with `error` when it fails.
#[derive(Debug, Clone)]
pub struct Check {
    pub error: String,
    pub kind: CheckKind,
}

#[derive(Debug, Clone)]
pub enum CheckKind {
    /// The field (index into `Layout::fields`) holds its fixed value.
    Fixed(usize),
    /// The field gives the header length: at least the fixed part, within the buffer.
    HeaderLength(usize),
    /// The field gives the message length: at least the header, within the buffer.
    MessageLength(usize),
    /// The field gives the length of what follows the fixed part (DNS
    /// `rdlength`): within the buffer, and the payload is cut there.
    PayloadLength(usize),
    /// The field gives the size of another field, which the layout fixes.
    FieldLength { field: usize, size: usize },
    /// The module's checksum, held in this field, verifies.
    Checksum(usize),
    /// What follows the fixed part is a whole number of elements of this many bytes.
    Repeated(usize),
    /// A declared constraint, with its text as written.
    Constraint { expr: Expr, text: String },
}

/// A constraint with its names resolved and its types checked.
#[derive(Debug, Clone)]
pub enum Expr {
    Int(u64),
    /// A field of the format (index into `Layout::fields`).
    Field(usize),
    /// `len`: the bytes given to `parse`.
    BufferLen,
    /// `LEN`: the format's fixed size.
    FormatLen,
    /// An integer constant of the module.
    Const(String),
    Value(Value),
    Not(Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
}

/// A named key value, `IpProtocol.UDP`, and where it is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(u64),
    Named {
        module: String,
        key: String,
        value: String,
        number: u64,
    },
}

impl Layout {
    pub fn name(&self) -> &str {
        &self.def.name
    }
}

/// A field with its place and Rust representation.
#[derive(Debug, Clone)]
pub struct Field {
    pub def: FieldDef,
    /// Offset from the start of the format, in bits.
    pub bit_offset: u32,
    pub repr: Repr,
    /// Index into `Layout::items` of the bitfield that holds this field.
    pub group: Option<usize>,
}

impl Field {
    /// Bytes of the message a length field does not count: none for
    /// `of = "message"`, everything up to the end of the field itself for
    /// `of = "rest"` (a DHCP option's length counts only its value).
    pub fn uncounted_bytes(&self) -> usize {
        match self.def.length.as_ref() {
            Some(len) if len.of == "rest" => ((self.bit_offset + self.def.bits) / 8) as usize,
            _ => 0,
        }
    }
}

/// How a field is held in Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr {
    /// A 1-bit flag.
    Bool,
    /// An unsigned integer of this many bits (8, 16, 32 or 64).
    Uint(u32),
    /// A byte array of this length (addresses, opaque bytes).
    Bytes(usize),
}

/// A member of the generated struct.
#[derive(Debug, Clone)]
pub enum Item {
    /// One byte-aligned field (index into `Layout::fields`).
    Plain(usize),
    /// Sub-byte fields packed into one bitfield.
    Group(Group),
}

#[derive(Debug, Clone)]
pub struct Group {
    /// Rust type name of the bitfield.
    pub ty: String,
    /// Rust name of the struct member.
    pub member: String,
    /// Width: 8, 16, 32 or 64.
    pub bits: u32,
    /// Indexes into `Layout::fields`.
    pub fields: Vec<usize>,
}

/// The integer type that holds `bits` bits.
pub fn native_bits(bits: u32) -> u32 {
    match bits {
        0..=8 => 8,
        9..=16 => 16,
        17..=32 => 32,
        _ => 64,
    }
}

/// `dont_fragment` -> `DontFragment`.
pub fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `FlagsFragment` -> `flags_fragment`.
pub fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// "ff:ff:ff:ff:ff:ff" -> bytes.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let parts: Vec<u8> = text
        .split(':')
        .map(|p| u8::from_str_radix(p, 16).ok())
        .collect::<Option<_>>()?;
    parts.try_into().ok()
}

/// "10.0.2.2" -> bytes.
pub fn parse_ipv4(text: &str) -> Option<[u8; 4]> {
    let parts: Vec<u8> = text
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    parts.try_into().ok()
}
