//! The shape of every deku reference codec, hand-written once: the
//! generated modules in `deku/` declare each format's fields in wire order
//! with [`reference!`], which writes the owned struct deku decodes bit by
//! bit and its [`crate::Reference`] glue.

/// A reference codec beside its `wire` view:
///
/// ```text
/// reference! {
///     /// Reference codec for [`wire::ipv4::Ipv4Header`].
///     #[deku(endian = "big")]
///     pub struct Ipv4Header for wire::ipv4::Ipv4Header {
///         #[deku(bits = 4)]
///         version / set_version: u8,
///         protocol / set_protocol: u8 as wire::ipv4::IpProtocol, // a key field
///     }
/// }
/// ```
///
/// `from_wire` reads each field through the view's getter, `to_wire` writes
/// it through its setter; a key field moves as its integer.
macro_rules! reference {
    (
        $(#[$attr:meta])*
        pub struct $name:ident for $wire:path {
            $( $(#[$fattr:meta])* $f:ident / $set:ident: $ty:ty $(as $key:path)?, )*
        }
    ) => {
        #[derive(Debug, Clone, PartialEq, Eq, ::deku::DekuRead, ::deku::DekuWrite)]
        $(#[$attr])*
        pub struct $name {
            $( $(#[$fattr])* pub $f: $ty, )*
        }

        impl $crate::Reference for $name {
            type Wire = $wire;

            fn from_wire(w: &Self::Wire) -> Self {
                Self {
                    $( $f: $crate::reference::reference!(@raw w.$f() $(, $key)?), )*
                }
            }

            fn to_wire(&self) -> Self::Wire {
                let mut w = Self::Wire::default();
                $( w.$set($crate::reference::reference!(@key self.$f $(, $key)?)); )*
                w
            }
        }
    };
    (@raw $v:expr) => { $v };
    (@raw $v:expr, $key:path) => { $v.0 };
    (@key $v:expr) => { $v };
    (@key $v:expr, $key:path) => { $key($v) };
}

pub(crate) use reference;
