//! The shapes every generated format shares, hand-written once, so that a
//! generated module reads as a declaration:
//!
//! - [`header!`] declares a header's fields in wire order (doc, storage, the
//!   type its accessor returns, the packed fields of a bitfield) and writes
//!   the struct, its size check, its accessors, `Default` and `Debug`;
//! - [`fixed!`] names the values a format fixes;
//! - [`parse_fixed_size!`] is the `parse` of a format with nothing to check
//!   but its size, [`parse_fixed_option!`] that of an option whose length
//!   field holds its own fixed size;
//! - [`builder!`] declares the fields a sender chooses and writes the builder
//!   struct (and, for a builder that only stores values, its whole
//!   [`crate::Emit`]);
//! - [`options!`] writes an option list's iterator;
//! - [`pseudo_header_checksum!`] writes the checksum functions of a message
//!   summed behind the IPv4 pseudo-header (UDP, TCP);
//! - [`errors!`] declares a module's error enum with its spec names.
//!
//! What is particular to a format (its `parse` checks, what its builder
//! computes, its checksum) stays in the generated module, written out.
//!
//! Every accessor is `#[inline]` and goes through [`Storage`] and [`Value`],
//! whose methods are identities or zerocopy's byte-order `get`/`set`, so the
//! code is what a hand-written accessor would be.

use zerocopy::byteorder::{ByteOrder, U16, U32, U64};

/// The all-zero value of a builder's field, for its `Default`: integers,
/// flags, byte arrays of any length, and named values (`key!`, `flags!`).
pub trait Zero {
    const ZERO: Self;
}

macro_rules! zero_ints {
    ($($t:ty),*) => { $( impl Zero for $t { const ZERO: Self = 0; } )* };
}
zero_ints!(u8, u16, u32, u64);

impl Zero for bool {
    const ZERO: Self = false;
}

impl<const N: usize> Zero for [u8; N] {
    const ZERO: Self = [0; N];
}

/// How a header stores a field: one byte, a byte array, or an integer in the
/// module's byte order (zerocopy's `U16`, ...).
pub trait Storage {
    /// The integer (or byte array) the field holds.
    type Int;
    fn load(&self) -> Self::Int;
    fn store(&mut self, v: Self::Int);
}

/// What an accessor returns: a plain integer, `bool` or byte array, or a key
/// newtype over its integer (`key!` and `flags!` implement it).
pub trait Value: Copy {
    /// The integer (or byte array) as the header stores it.
    type Raw;
    fn from_raw(raw: Self::Raw) -> Self;
    fn into_raw(self) -> Self::Raw;
}

impl Storage for u8 {
    type Int = u8;
    #[inline(always)]
    fn load(&self) -> u8 {
        *self
    }
    #[inline(always)]
    fn store(&mut self, v: u8) {
        *self = v;
    }
}

impl<const N: usize> Storage for [u8; N] {
    type Int = [u8; N];
    #[inline(always)]
    fn load(&self) -> [u8; N] {
        *self
    }
    #[inline(always)]
    fn store(&mut self, v: [u8; N]) {
        *self = v;
    }
}

macro_rules! byte_order_storage {
    ($($ty:ident => $int:ty),*) => {
        $(
            impl<O: ByteOrder> Storage for $ty<O> {
                type Int = $int;
                #[inline(always)]
                fn load(&self) -> $int {
                    self.get()
                }
                #[inline(always)]
                fn store(&mut self, v: $int) {
                    self.set(v);
                }
            }
        )*
    };
}

byte_order_storage!(U16 => u16, U32 => u32, U64 => u64);

macro_rules! plain_values {
    ($($ty:ty),*) => {
        $(
            impl Value for $ty {
                type Raw = $ty;
                #[inline(always)]
                fn from_raw(raw: $ty) -> $ty {
                    raw
                }
                #[inline(always)]
                fn into_raw(self) -> $ty {
                    self
                }
            }
        )*
    };
}

plain_values!(bool, u8, u16, u32, u64);

impl<const N: usize> Value for [u8; N] {
    type Raw = [u8; N];
    #[inline(always)]
    fn from_raw(raw: [u8; N]) -> [u8; N] {
        raw
    }
    #[inline(always)]
    fn into_raw(self) -> [u8; N] {
        self
    }
}

/// A fixed-size header, declared field by field in wire order:
///
/// ```text
/// header! {
///     /// The format's doc.
///     pub struct Name: 20 bytes {
///         /// A field's doc.
///         field / set_field: U16 => u16,            // stored as U16, read as u16
///         ttl / set_ttl: u8,                         // read as stored
///         protocol / set_protocol: u8 => IpProtocol, // a key over the byte
///         /// The packed fields `version`, `ihl`.
///         version_ihl: Ipv4VersionIhl => {           // a `#[bitfield]` struct
///             /// Its fields' docs.
///             version / set_version: u8 (4 bits),
///             reserved / set_reserved: bool,
///         },
///     }
/// }
/// ```
///
/// It writes the `#[repr(C)]` zerocopy struct, a build-time check that it
/// is `LEN` bytes, the getter and setter of every field (a packed field's
/// setter panics on a value wider than its bits, as `bitfield-struct`'s
/// does), `Default` (all zeros) and `Debug` (every field, in wire order).
macro_rules! header {
    (
        $(#[$doc:meta])*
        pub struct $name:ident: $len:literal bytes {
            $(
                $(#[$fdoc:meta])*
                $f:ident $(/ $set:ident)?: $storage:ty $(=> $val:tt)?,
            )*
        }
    ) => {
        $(#[$doc])*
        ///
        /// Read it in place with `ref_from_prefix`; the module documentation has the field diagram.
        #[derive(
            zerocopy::FromBytes,
            zerocopy::IntoBytes,
            zerocopy::KnownLayout,
            zerocopy::Immutable,
            zerocopy::Unaligned,
            Clone,
            Copy,
            PartialEq,
            Eq,
        )]
        #[repr(C)]
        pub struct $name {
            $( $(#[$fdoc])* pub $f: $storage, )*
        }

        const _: () = assert!(core::mem::size_of::<$name>() == $name::LEN);

        impl $name {
            /// Size on the wire, in bytes.
            pub const LEN: usize = $len;

            $( $crate::format::header!(@accessors [$(#[$fdoc])*] $f [$($set)?] [$($val)?] $storage); )*
        }

        impl Default for $name {
            /// All zeros.
            fn default() -> Self {
                zerocopy::FromZeros::new_zeroed()
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let mut d = f.debug_struct(stringify!($name));
                $( $crate::format::header!(@debug d self $f [$($val)?]); )*
                d.finish()
            }
        }
    };

    // A bitfield: the accessors of each packed field, through the bitfield's
    // own (its member's doc lists them; each has its own).
    (@accessors [$($fdoc:tt)*] $f:ident [] [{
        $( $(#[$sdoc:meta])* $s:ident / $set:ident: $sty:tt $(($bits:literal bits))? ),* $(,)?
    }] $storage:ty) => {
        $(
            $(#[$sdoc])*
            #[inline]
            pub fn $s(&self) -> $sty {
                <$sty as $crate::format::Value>::from_raw(self.$f.$s())
            }

            #[doc = concat!("Sets [`Self::", stringify!($s), "`].")]
            $(
                #[doc = ""]
                #[doc = concat!("Panics if `v` does not fit in ", stringify!($bits), " bits.")]
            )?
            #[inline]
            pub fn $set(&mut self, v: $sty) {
                self.$f.$set($crate::format::Value::into_raw(v));
            }
        )*
    };
    // A whole field, read as its storage type (a byte, a byte array).
    (@accessors [$($fdoc:tt)*] $f:ident [$set:ident] [] $storage:ty) => {
        $crate::format::header!(@accessors [$($fdoc)*] $f [$set] [$storage] $storage);
    };
    // A whole field.
    (@accessors [$($fdoc:tt)*] $f:ident [$set:ident] [$val:ty] $storage:ty) => {
        $($fdoc)*
        #[inline]
        pub fn $f(&self) -> $val {
            <$val as $crate::format::Value>::from_raw($crate::format::Storage::load(&self.$f))
        }

        #[doc = concat!("Sets [`Self::", stringify!($f), "`].")]
        #[inline]
        pub fn $set(&mut self, v: $val) {
            $crate::format::Storage::store(&mut self.$f, $crate::format::Value::into_raw(v));
        }
    };

    (@debug $d:ident $self:ident $f:ident [{
        $( $(#[$sdoc:meta])* $s:ident / $set:ident: $sty:tt $(($bits:literal bits))? ),* $(,)?
    }]) => {
        $( $d.field(stringify!($s), &$self.$s()); )*
    };
    (@debug $d:ident $self:ident $f:ident [$($val:tt)?]) => {
        $d.field(stringify!($f), &$self.$f());
    };
}

/// The builder of a header: the fields a sender chooses, with their docs.
///
/// ```text
/// builder! {
///     /// The builder's doc.
///     pub struct NameRepr for Name {
///         /// A field's doc.
///         pub field: u16,
///     }
/// }
/// ```
///
/// It writes the struct and `Name::repr()` (the chosen fields as a header
/// holds them). Declared `for Name: Emit` (each field with its setter, then
/// any `fixed { field / set_field = CONST, }`), the builder has nothing to
/// compute or refuse, and it also writes the [`crate::Emit`] impl: every
/// field zeroed, then the chosen ones, then the fixed values.
macro_rules! builder {
    (
        $(#[$doc:meta])*
        pub struct $repr:ident for $name:ident: Emit {
            $( $(#[$fdoc:meta])* pub $f:ident / $set:ident: $ty:ty, )*
        }
        $( fixed { $( $x:ident / $xset:ident = $c:ident, )* } )?
    ) => {
        $crate::format::builder! {
            $(#[$doc])*
            pub struct $repr for $name {
                $( $(#[$fdoc])* pub $f: $ty, )*
            }
        }

        impl $crate::Emit for $repr {
            const LEN: usize = $name::LEN;
            type Context = ();

            #[doc = concat!(
                "Writes a complete [`", stringify!($name),
                "`] over the front of `message`: every field zeroed, then the chosen ones",
                $($( "; `", stringify!($x), "` its fixed value", )*)?
                "."
            )]
            fn emit(&self, message: &mut [u8], _cx: Self::Context) -> Result<(), $crate::EmitError> {
                let header = $crate::emit::zeroed::<$name>(message)?;
                $( header.$set(self.$f); )*
                $($( header.$xset($name::$c); )*)?
                Ok(())
            }
        }
    };
    (
        $(#[$doc:meta])*
        pub struct $repr:ident for $name:ident {
            $( $(#[$fdoc:meta])* pub $f:ident: $ty:ty, )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct $repr {
            $( $(#[$fdoc])* pub $f: $ty, )*
        }

        // Written out, not derived: a field may be a byte array longer than
        // `Default` covers (DHCP's 128-byte `file`).
        impl Default for $repr {
            fn default() -> Self {
                $repr { $( $f: $crate::format::Zero::ZERO, )* }
            }
        }

        impl $name {
            /// The fields a sender chooses, as this header holds them.
            pub fn repr(&self) -> $repr {
                $repr { $( $f: self.$f(), )* }
            }
        }
    };
}

/// The `parse` of a format with nothing to check but its size: the header
/// is its fixed part, the payload the rest of the buffer.
macro_rules! parse_fixed_size {
    ($name:ident, $err:ident) => {
        impl $name {
            /// Views the header at the front of `bytes` and checks it as its spec says, in this order:
            /// `too_short`: at least [`Self::LEN`] bytes.
            #[inline]
            pub fn parse(bytes: &[u8]) -> Result<$crate::Parsed<'_, Self>, $err> {
                let Ok((header, _)) = <Self as zerocopy::FromBytes>::ref_from_prefix(bytes) else {
                    return Err($err::TooShort);
                };
                Ok($crate::Parsed::split(header, bytes, Self::LEN, bytes.len()))
            }
        }
    };
}

/// The `parse` of an option whose length field (`length`) holds its fixed
/// size (`LENGTH`, named by `fixed!`), as TCP's MSS or IPv4's router
/// alert: the view, the field at that value, and the message it gives
/// within the buffer. Both checks fail with the one error named.
///
/// ```text
/// parse_fixed_option!(TcpMss, TcpError::OptionBadLength, length / LENGTH);
/// ```
macro_rules! parse_fixed_option {
    ($name:ident, $err:ident :: $bad:ident, $field:ident / $value:ident) => {
        impl $name {
            #[doc = concat!(
                "Views the header at the front of `bytes` and checks it as its spec says, in this ",
                "order: at least [`Self::LEN`] bytes (`", stringify!($err), "::TooShort`); `",
                stringify!($field), "` is [`Self::", stringify!($value), "`], and covers the ",
                "header and ends within the buffer, the payload cut there (`", stringify!($err),
                "::", stringify!($bad), "`)."
            )]
            #[inline]
            pub fn parse(bytes: &[u8]) -> Result<$crate::Parsed<'_, Self>, $err> {
                let Ok((header, _)) = <Self as zerocopy::FromBytes>::ref_from_prefix(bytes) else {
                    return Err($err::TooShort);
                };
                if header.$field() != Self::$value {
                    return Err($err::$bad);
                }
                let end = usize::from(header.$field());
                if end < Self::LEN || end > bytes.len() {
                    return Err($err::$bad);
                }
                Ok($crate::Parsed::split(header, bytes, Self::LEN, end))
            }
        }
    };
}

/// The fields a format fixes, each with the constant naming its value:
///
/// ```text
/// fixed! {
///     /// Whether the fixed fields hold their values (`version` = 4).
///     impl Ipv4Header {
///         version / set_version: u8 = VERSION = 4;
///     }
/// }
/// ```
///
/// It writes the constants, `fixed_values_ok()` (with the doc given) and
/// `set_fixed_values()`.
macro_rules! fixed {
    (
        $(#[$doc:meta])*
        impl $name:ident {
            $f0:ident / $set0:ident: $ty0:ty = $c0:ident = $v0:expr;
            $( $f:ident / $set:ident: $ty:ty = $c:ident = $v:expr; )*
        }
    ) => {
        impl $name {
            #[doc = concat!("The value `", stringify!($f0), "` always holds.")]
            pub const $c0: $ty0 = $v0;
            $(
                #[doc = concat!("The value `", stringify!($f), "` always holds.")]
                pub const $c: $ty = $v;
            )*

            $(#[$doc])*
            pub fn fixed_values_ok(&self) -> bool {
                self.$f0() == Self::$c0 $( && self.$f() == Self::$c )*
            }

            /// Stores its value in every fixed field.
            pub fn set_fixed_values(&mut self) {
                self.$set0(Self::$c0);
                $( self.$set(Self::$c); )*
            }
        }
    };
}

/// An option list (IPv4's, TCP's): single-byte end and no-op kinds, then
/// kind/length/value options, each known kind viewed as its format:
///
/// ```text
/// options! {
///     /// The list's doc.
///     pub struct Ipv4Options of Ipv4OptionKind -> Ipv4Option, Ipv4Error {
///         end: END;
///         /// `NOP`: its doc.
///         NOP => Nop;
///         /// `RECORD_ROUTE`: its doc.
///         RECORD_ROUTE => RecordRoute(Ipv4RecordRoute);
///     }
/// }
/// ```
///
/// A list whose length bytes count only the value (DHCP's) says so after
/// the error enum: `DhcpError, length + 2`.
///
/// It writes the zero-copy iterator (`new`, `check`, `Iterator`) and the
/// enum it yields. The walk stops at the end kind; a length below 2 or below
/// the kind's fixed part is `OptionBadLength`, one past the end
/// `OptionPastEnd`, and a known kind is then held to its format's `parse`.
macro_rules! options {
    (
        $(#[$doc:meta])*
        pub struct $list:ident of $kind:ident -> $item:ident, $err:ident $(, length + $uncounted:literal)? {
            end: $end:ident;
            $(#[$nopdoc:meta])* $nop:ident => $nopv:ident;
            $( $(#[$vdoc:meta])* $value:ident => $variant:ident($format:ident); )*
        }
    ) => {
        $(#[$doc])*
        ///
        #[doc = concat!(
            "Yields each option viewed in place, or the error that ends the walk: a length below 2 ",
            "or below its kind's fixed part (`", stringify!($err), "::OptionBadLength`), past the end (`",
            stringify!($err), "::OptionPastEnd`), or what the kind's own `parse` refuses. `",
            stringify!($end), "` ends the list."
        )]
        #[derive(Debug, Clone)]
        pub struct $list<'a> {
            rest: &'a [u8],
        }

        #[doc = concat!("One option of [`", stringify!($list), "`], viewed in place.")]
        #[derive(Debug, Clone, Copy)]
        pub enum $item<'a> {
            $(#[$nopdoc])*
            $nopv,
            $( $(#[$vdoc])* $variant($crate::Parsed<'a, $format>), )*
            /// A kind this spec does not declare, with its bytes (kind and length included).
            Unknown($kind, &'a [u8]),
        }

        impl<'a> $list<'a> {
            /// The options in `bytes`: what follows the fixed header, up to its length.
            pub fn new(bytes: &'a [u8]) -> Self {
                Self { rest: bytes }
            }

            /// Walks every option: the first malformed one's error, if any.
            // Inline up to the walk: most headers carry no options, and
            // the receive path asks for every one.
            #[inline]
            pub fn check(self) -> Result<(), $err> {
                if self.rest.is_empty() {
                    return Ok(());
                }
                self.walk()
            }

            fn walk(self) -> Result<(), $err> {
                for option in self {
                    option?;
                }
                Ok(())
            }
        }

        impl<'a> Iterator for $list<'a> {
            type Item = Result<$item<'a>, $err>;

            fn next(&mut self) -> Option<Self::Item> {
                let (&kind, after) = self.rest.split_first()?;
                let kind = $kind(kind);
                if kind == $kind::$end {
                    self.rest = &[];
                    return None;
                }
                if kind == $kind::$nop {
                    self.rest = after;
                    return Some(Ok($item::$nopv));
                }
                // The length counts the kind and length bytes too, unless
                // the list says how many bytes in front it leaves out.
                let len = after.first().map(|&len| usize::from(len) $(+ $uncounted)?);
                let Some(option) = len.and_then(|len| self.rest.get(..len)) else {
                    self.rest = &[];
                    return Some(Err($err::OptionPastEnd));
                };
                if option.len() < 2 {
                    self.rest = &[];
                    return Some(Err($err::OptionBadLength));
                }
                self.rest = &self.rest[option.len()..];
                Some(match kind {
                    $(
                        $kind::$value if option.len() < $format::LEN => Err($err::OptionBadLength),
                        $kind::$value => $format::parse(option).map($item::$variant),
                    )*
                    _ => Ok($item::Unknown(kind, option)),
                })
            }
        }
    };
}

/// The checksum functions of a format whose checksum covers the whole
/// message behind the IPv4 pseudo-header (RFC 768, RFC 9293 section 3.1):
/// `checksum`, `checksum_ok`, `fill_checksum`, each also for a message in
/// pieces. `zero means none`: a stored 0 means the sender computed none
/// (UDP), so it passes the check, and a computed 0 is sent as 0xffff.
///
/// ```text
/// pseudo_header_checksum! {
///     UdpHeader.checksum / set_checksum at 6,
///     protocol crate::ipv4::IpProtocol::UDP.0, zero means none
/// }
/// ```
macro_rules! pseudo_header_checksum {
    (
        $ty:ident . $field:ident / $set:ident at $offset:literal,
        protocol $protocol:expr, zero means none
    ) => {
        $crate::format::pseudo_header_checksum!(@ $ty.$field / $set, $offset, $protocol, true);
    };
    ($ty:ident . $field:ident / $set:ident at $offset:literal, protocol $protocol:expr) => {
        $crate::format::pseudo_header_checksum!(@ $ty.$field / $set, $offset, $protocol, false);
    };
    (@ $ty:ident . $field:ident / $set:ident, $offset:literal, $protocol:expr, $zero_none:literal) => {
        /// The IP protocol number in the pseudo-header.
        const PSEUDO_HEADER_PROTOCOL: u8 = $protocol;

        #[doc = concat!("Offset of `", stringify!($field), "` in [`", stringify!($ty), "`], in bytes.")]
        const CHECKSUM_OFFSET: usize = $offset;

        #[doc = concat!(
            "A stored `", stringify!($field), "` of 0 means the sender computed none (so a ",
            "computed 0 is sent as 0xffff)."
        )]
        const ZERO_MEANS_NONE: bool = $zero_none;

        #[doc = concat!(
            "The Internet checksum of `message` (the whole message, header and payload, trimmed ",
            "to its length) behind the IPv4 pseudo-header of `src` and `dst`, with the stored `",
            stringify!($field), "` counted as zero; where a stored 0 means none, a computed 0 ",
            "comes back as 0xffff."
        )]
        pub fn checksum(src: [u8; 4], dst: [u8; 4], message: &[u8]) -> u16 {
            checksum_with_tail(src, dst, message, $crate::emit::MessageTail::NONE)
        }

        /// [`checksum`] of a message that goes on past `message` with the bytes `tail` sums
        /// (a datagram held in pieces, sent as IPv4 fragments).
        pub fn checksum_with_tail(
            src: [u8; 4],
            dst: [u8; 4],
            message: &[u8],
            tail: $crate::emit::MessageTail,
        ) -> u16 {
            let mut sum = $crate::checksum::Checksum::ipv4_pseudo_header(
                src,
                dst,
                PSEUDO_HEADER_PROTOCOL,
                message.len() + tail.len,
            );
            sum.add_without_word(message, CHECKSUM_OFFSET);
            sum.append(tail.sum);
            match sum.finish() {
                0 if ZERO_MEANS_NONE => 0xffff,
                sum => sum,
            }
        }

        #[doc = concat!(
            "Checks `", stringify!($field), "` of `message` against its pseudo-header (true ",
            "when it is 0 where that means none). False when `message` is shorter than [`",
            stringify!($ty), "::LEN`]."
        )]
        #[inline]
        pub fn checksum_ok(src: [u8; 4], dst: [u8; 4], message: &[u8]) -> bool {
            let Ok((header, _)) = <$ty as zerocopy::FromBytes>::ref_from_prefix(message) else {
                return false;
            };
            if ZERO_MEANS_NONE && header.$field() == 0 {
                return true;
            }
            let mut sum = $crate::checksum::Checksum::ipv4_pseudo_header(
                src,
                dst,
                PSEUDO_HEADER_PROTOCOL,
                message.len(),
            );
            sum.add(message);
            sum.finish() == 0
        }

        /// [`checksum_ok`] of a message of `len` bytes held in pieces (a datagram reassembled
        /// from fragments): `first` starts with the header, `rest` holds the pieces after it,
        /// in order. False when the pieces hold fewer than `len` bytes.
        pub fn checksum_ok_pieces<'r>(
            src: [u8; 4],
            dst: [u8; 4],
            first: &'r [u8],
            rest: impl IntoIterator<Item = &'r [u8]>,
            len: usize,
        ) -> bool {
            let Ok((header, _)) = <$ty as zerocopy::FromBytes>::ref_from_prefix(first) else {
                return false;
            };
            if ZERO_MEANS_NONE && header.$field() == 0 {
                return true;
            }
            let mut sum =
                $crate::checksum::Checksum::ipv4_pseudo_header(src, dst, PSEUDO_HEADER_PROTOCOL, len);
            sum.add_pieces(core::iter::once(first).chain(rest), len) && sum.finish() == 0
        }

        #[doc = concat!(
            "Computes [`checksum`] and stores it in `", stringify!($field), "`. Does nothing ",
            "when `message` is shorter than [`", stringify!($ty), "::LEN`]."
        )]
        pub fn fill_checksum(src: [u8; 4], dst: [u8; 4], message: &mut [u8]) {
            fill_checksum_with_tail(src, dst, message, $crate::emit::MessageTail::NONE);
        }

        /// [`fill_checksum`] for a message that goes on past `message` with the bytes `tail`
        /// sums.
        pub fn fill_checksum_with_tail(
            src: [u8; 4],
            dst: [u8; 4],
            message: &mut [u8],
            tail: $crate::emit::MessageTail,
        ) {
            let sum = checksum_with_tail(src, dst, message, tail);
            if let Ok((header, _)) = <$ty as zerocopy::FromBytes>::mut_from_prefix(message) {
                header.$set(sum);
            }
        }
    };
}

/// A module's error enum: each variant with its doc and the spec's name,
/// in the order `parse` checks them. It writes the enum, `ALL` and `name()`.
macro_rules! errors {
    (
        $(#[$doc:meta])*
        pub enum $name:ident {
            $( $(#[$vdoc:meta])* $v:ident = $spec:literal, )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vdoc])* $v, )*
        }

        impl $name {
            /// Every error, in the order `parse` checks them.
            pub const ALL: [Self; [$(stringify!($v)),*].len()] = [$(Self::$v),*];

            /// The spec's name for the error (`bad_checksum`).
            pub const fn name(self) -> &'static str {
                match self {
                    $( Self::$v => $spec, )*
                }
            }
        }
    };
}

pub(crate) use {
    builder, errors, fixed, header, options, parse_fixed_option, parse_fixed_size,
    pseudo_header_checksum,
};
