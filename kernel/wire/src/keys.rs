//! The shapes every generated key shares, hand-written once: the generated
//! modules declare each key with [`key!`] or [`flags!`] (its doc, integer
//! and named values, as the spec lists them) and these macros write the
//! newtype, its constants, `Debug` and conversions.

/// A set of named values of one field (EtherType, IP protocol): a newtype
/// over the integer, so any value can be held and the named ones are
/// associated constants; `name()` gives the spec's name for a value and
/// `Debug` prints it (`IPV4`, or `EtherType(0x88cc)` for a value the spec
/// does not name: hex from 16 bits up).
macro_rules! key {
    (
        $(#[$doc:meta])*
        pub struct $name:ident($int:ty);
        $( $(#[$vdoc:meta])* $value:ident = $lit:literal; )*
    ) => {
        $(#[$doc])*
        ///
        /// Any value can be held; the named ones are associated constants.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub $int);

        impl $crate::format::Zero for $name {
            const ZERO: Self = Self(0);
        }

        impl $name {
            $( $(#[$vdoc])* pub const $value: Self = Self($lit); )*

            /// The spec's name for this value, or `None` when the spec does not name it.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $lit => Some(stringify!($value)), )*
                    _ => None,
                }
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None if core::mem::size_of::<$int>() >= 2 => {
                        let width = 2 + 2 * core::mem::size_of::<$int>();
                        write!(f, "{}({:#0width$x})", stringify!($name), self.0)
                    }
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        $crate::keys::conversions!($name, $int);
    };
}

/// A set of bits that combine (`NEXT | WRITE`): like [`key!`], plus
/// `empty`, `contains`, the `|` and `&` operators, and `Debug` as the named
/// bits joined by ` | ` (any others in hex).
macro_rules! flags {
    (
        $(#[$doc:meta])*
        pub struct $name:ident($int:ty);
        $( $(#[$vdoc:meta])* $value:ident = $lit:literal; )*
    ) => {
        $(#[$doc])*
        ///
        /// Any value can be held; the named ones are associated constants.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub $int);

        impl $crate::format::Zero for $name {
            const ZERO: Self = Self(0);
        }

        impl $name {
            $( $(#[$vdoc])* pub const $value: Self = Self($lit); )*

            /// No bit set.
            pub const fn empty() -> Self {
                Self(0)
            }

            /// Whether every bit of `other` is set in `self`.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Every named bit, with its name.
            pub const NAMED: &'static [(Self, &'static str)] = &[$( (Self::$value, stringify!($value)), )*];
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let mut rest = self.0;
                let mut first = true;
                for &(flag, name) in Self::NAMED {
                    if flag.0 != 0 && rest & flag.0 == flag.0 {
                        if !first {
                            f.write_str(" | ")?;
                        }
                        f.write_str(name)?;
                        rest &= !flag.0;
                        first = false;
                    }
                }
                if rest != 0 || first {
                    if !first {
                        f.write_str(" | ")?;
                    }
                    let width = 2 + 2 * core::mem::size_of::<$int>();
                    write!(f, "{rest:#0width$x}")?;
                }
                Ok(())
            }
        }

        impl core::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }

        impl core::ops::BitAnd for $name {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                Self(self.0 & rhs.0)
            }
        }

        impl core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }

        $crate::keys::conversions!($name, $int);
    };
}

/// `From` both ways between a key and its integer, and the accessors' and
/// registers' view of it ([`crate::format::Value`], [`crate::regs::RegisterValue`]).
macro_rules! conversions {
    ($name:ident, $int:ty) => {
        impl $crate::regs::RegisterValue for $name {
            type Raw = $int;
            #[inline]
            fn from_raw(raw: $int) -> Self {
                Self(raw)
            }
            #[inline]
            fn into_raw(self) -> $int {
                self.0
            }
        }

        impl $crate::format::Value for $name {
            type Raw = $int;
            #[inline(always)]
            fn from_raw(raw: $int) -> Self {
                Self(raw)
            }
            #[inline(always)]
            fn into_raw(self) -> $int {
                self.0
            }
        }

        impl From<$int> for $name {
            fn from(v: $int) -> Self {
                Self(v)
            }
        }

        impl From<$name> for $int {
            fn from(v: $name) -> Self {
                v.0
            }
        }
    };
}

pub(crate) use {conversions, flags, key};
