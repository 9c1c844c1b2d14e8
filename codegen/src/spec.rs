//! The spec language: what one `proto-defs/<module>.toml` file may say.
//!
//! A file describes one module of the `wire` crate: its title and reference,
//! the byte order of every format in it, named values (`[[key]]`), constants
//! (`[[constant]]`) and formats (`[[format]]` with `[[format.field]]` in wire
//! order). These types are only the parsed text; `validate` checks that it
//! adds up and computes the layout.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One spec file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Human title, e.g. "Internet Protocol version 4".
    pub title: String,
    /// The document that defines the format, e.g. "RFC 791, section 3.1".
    pub reference: String,
    /// Where to read it.
    pub url: String,
    /// Byte order of every multi-byte field in this file.
    pub byte_order: ByteOrder,
    /// Free text for the module documentation.
    #[serde(default)]
    pub doc: String,
    /// Named values of key fields (EtherType, IP protocol, ...).
    #[serde(default, rename = "key")]
    pub keys: Vec<KeyDef>,
    /// Module-level constants (e.g. the broadcast MAC address).
    #[serde(default, rename = "constant")]
    pub constants: Vec<ConstDef>,
    /// The formats (headers, ring entries) in this module.
    #[serde(default, rename = "format")]
    pub formats: Vec<FormatDef>,
    /// Memory-mapped register blocks (`crate::regs`).
    #[serde(default, rename = "register_block")]
    pub registers: Vec<crate::regs::RegisterBlockDef>,
    /// Native structs for the `abi` crate (`crate::records`).
    #[serde(default, rename = "record")]
    pub records: Vec<crate::records::RecordDef>,
    /// The stack counts this module's parse errors as `drop_<prefix>_<error>`
    /// (`eth` for `ethernet.toml`); modules without one are not on the
    /// receive path.
    pub counter_prefix: Option<String>,
    /// Option lists: type-length-value elements after a header.
    #[serde(default)]
    pub options: Vec<OptionsDef>,
    /// Domain names with compression pointers (`crate::names`).
    #[serde(default, rename = "domain_name")]
    pub names: Vec<crate::names::NameDef>,
}

/// A list of options, each one byte of kind then (except the single-byte
/// kinds) one byte of length counting kind and length: IPv4 (RFC 791) and
/// TCP (RFC 9293) options. Emitted as a zero-copy iterator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsDef {
    /// The iterator type, e.g. `Ipv4Options`; its items are `<name minus s>`.
    pub name: String,
    pub doc: String,
    /// The `[[key]]` (8 bits, this file) naming the kinds.
    pub kind: String,
    /// The single-byte kind that ends the list (what follows is padding).
    pub end: String,
    /// The single-byte kind that pads between options.
    pub nop: String,
    /// Known kinds and the `[[format]]` each is: `{ ROUTER_ALERT = "Ipv4RouterAlert" }`.
    /// Each format starts with the kind (a field of that key) and the length
    /// (8 bits, `length = { of = "message" }`, or `of = "rest"` with
    /// `length_counts = "value"`).
    pub formats: BTreeMap<String, String>,
    /// What an option's length byte counts: `option` (kind and length
    /// included, IPv4 and TCP; the default) or `value` (DHCP, RFC 2132).
    #[serde(default)]
    pub length_counts: LengthCounts,
}

/// What the length byte of an option counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LengthCounts {
    /// The whole option, kind and length bytes included.
    #[default]
    Option,
    /// The value after the length byte.
    Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ByteOrder {
    /// Big-endian, as every IETF protocol.
    Network,
    /// Little-endian, as virtio.
    Little,
}

/// A set of named values, emitted as a newtype with one const per value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyDef {
    pub name: String,
    pub bits: u32,
    pub doc: String,
    /// The values are bits that combine (`NEXT | WRITE`).
    #[serde(default)]
    pub flags: bool,
    pub values: Vec<ValueDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueDef {
    pub name: String,
    pub value: u64,
    pub doc: String,
}

/// A module-level constant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstDef {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ConstType,
    /// An integer, or text for `mac` ("ff:ff:ff:ff:ff:ff") and `ipv4` ("10.0.2.2").
    pub value: ConstValue,
    pub doc: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConstType {
    U8,
    U16,
    U32,
    U64,
    Mac,
    Ipv4,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ConstValue {
    Int(u64),
    Text(String),
}

/// One format: a fixed-size header or ring entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatDef {
    /// The Rust type name, e.g. `Ipv4Header`.
    pub name: String,
    pub doc: String,
    #[serde(rename = "field")]
    pub fields: Vec<FieldDef>,
    /// Conditions over any field of the format, checked by `parse` after
    /// every field's own checks, in this order.
    #[serde(default, rename = "constraint")]
    pub constraints: Vec<ConstraintDef>,
    /// The bytes between the fixed part and the header length are this
    /// `[[options]]` list (of this file).
    pub options: Option<String>,
    /// The bytes after the fixed part, up to the message length, are a
    /// whole number of this `[[format]]` (of this file): SACK blocks.
    pub repeated: Option<String>,
}

/// A named condition a valid header meets: `parse` refuses the buffer with
/// the error of that name when `check` is false. Several constraints may
/// share a name (and so one error).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintDef {
    /// snake_case; the error variant (`bad_ihl` -> `BadIhl`) and the drop
    /// counter (`drop_ipv4_bad_ihl`).
    pub name: String,
    /// An expression (`expr.rs`) over the format's fields, `len` (the bytes
    /// given to `parse`), `LEN` (the fixed size), the module's integer
    /// constants and named key values (`IpProtocol.UDP`, from any file).
    pub check: String,
    /// What a header that fails the check is; the doc of the error.
    #[serde(default)]
    pub doc: String,
}

/// One field, in wire order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// snake_case; RFC names that are Rust keywords get a prefix (`msg_type`).
    pub name: String,
    /// Width on the wire. Fields narrower than a byte are packed MSB first
    /// (network order) into a bitfield that ends on a byte boundary.
    pub bits: u32,
    /// One line saying what the field means.
    pub doc: String,
    /// How the bits are read; default `uint`.
    #[serde(default, rename = "type")]
    pub ty: FieldType,
    /// Name of a `[[key]]` in the same file: the accessor returns that newtype.
    pub key: Option<String>,
    /// The only value the format allows (IPv4 version = 4): a number, or a
    /// key value declared in any spec (`"EtherType.IPV4"`).
    #[serde(rename = "fixed")]
    pub fixed_value: Option<ValueRef>,
    /// `fixed_value` as a number, filled in by validation (which refuses a
    /// name it cannot resolve): what the emitters read.
    #[serde(skip)]
    pub fixed: Option<u64>,
    /// The error `parse` returns when a fixed field holds another value
    /// (default `bad_<field>`); fields may share one (`bad_format`).
    pub fixed_error: Option<String>,
    /// Conditions on this field and those before it, checked by `parse`
    /// right after the field's own checks.
    #[serde(default, rename = "constraint")]
    pub constraints: Vec<ConstraintDef>,
    /// This field gives a length.
    pub length: Option<LengthDef>,
    /// This field holds a checksum.
    pub checksum: Option<ChecksumDef>,
    /// Which module parses what follows, by the key's value names:
    /// `{ ARP = "arp", IPV4 = "ipv4" }`.
    pub next_layer: Option<BTreeMap<String, String>>,
    /// Name of the bitfield type when this field starts a group of sub-byte
    /// fields (default: the format name followed by the field names).
    pub bitfield: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// An unsigned integer (a bool when 1 bit wide).
    #[default]
    Uint,
    /// A 48-bit MAC address, `[u8; 6]`.
    Mac,
    /// A 32-bit IPv4 address, `[u8; 4]`.
    Ipv4,
    /// Opaque bytes, `[u8; bits / 8]`.
    Bytes,
}

/// `length = { unit_bytes = 4, of = "header" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthDef {
    /// Bytes per unit of the field's value (IHL counts 32-bit words: 4).
    #[serde(default = "one")]
    pub unit_bytes: u32,
    /// `header` (this format with its options), `message` (header and
    /// payload), `rest` (the message after this field: a DHCP option's
    /// length), `payload` (what follows the fixed part: DNS `rdlength`), or
    /// the name of another field of the format.
    pub of: String,
    /// The error `parse` returns when the length does not fit the buffer
    /// (default `bad_<field>`).
    pub error: Option<String>,
}

fn one() -> u32 {
    1
}

/// `checksum = { algorithm = "internet", covers = "header" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksumDef {
    pub algorithm: ChecksumAlgorithm,
    /// `header` or `message`.
    pub covers: String,
    /// A pseudo-header summed in front of what `covers` names.
    pub pseudo_header: Option<PseudoHeader>,
    /// The IP protocol number in the pseudo-header: a key value of any file
    /// (`"IpProtocol.UDP"`) or a number.
    pub protocol: Option<ValueRef>,
    /// A stored 0 means "no checksum", so a computed 0 is sent as 0xffff (RFC 768).
    #[serde(default)]
    pub zero_means_none: bool,
}

/// A number, or a named key value `"Key.VALUE"` declared in any spec file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ValueRef {
    Int(u64),
    Name(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumAlgorithm {
    /// RFC 1071: one's complement of the one's complement sum of 16-bit words.
    Internet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PseudoHeader {
    /// Source, destination, zero, protocol, length (RFC 768, RFC 793).
    Ipv4,
}
