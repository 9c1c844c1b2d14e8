//! Spec tests: hold the generated `wire` crate to `proto-defs/`.
//!
//! `deku` holds the generated reference codecs (an independent bit-level
//! decoder of the same specs); `roundtrip` is the check every format's
//! property test runs (`tests/roundtrip.rs`, generated). Known-answer vectors
//! from real captures and RFCs, layout checks and malformed input live in
//! `tests/`.

pub mod captures;
pub mod deku;
pub mod dhcp_captures;
pub mod dns_captures;
mod reference;
pub mod tcp_captures;

use std::fmt::Debug;

use ::deku::{DekuContainerRead, DekuContainerWrite};
use proptest::prelude::*;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A deku reference codec and the `wire` view it stands beside.
pub trait Reference:
    for<'a> DekuContainerRead<'a> + DekuContainerWrite + PartialEq + Debug
{
    /// The generated zero-copy struct.
    type Wire: FromBytes + IntoBytes + KnownLayout + Immutable + Default;
    /// Reads every field through the view's accessors.
    fn from_wire(w: &Self::Wire) -> Self;
    /// Builds a view by calling every setter.
    fn to_wire(&self) -> Self::Wire;
}

/// Checks one format on `bytes` (exactly its `LEN`) in both directions:
/// bytes → view accessors = bytes → deku; values → view setters → bytes =
/// values → deku → bytes, and deku reads the setters' bytes back unchanged.
pub fn roundtrip<T: Reference>(bytes: &[u8]) -> Result<(), TestCaseError> {
    let ((rest, bit), reference) =
        T::from_bytes((bytes, 0)).map_err(|e| TestCaseError::fail(format!("deku: {e}")))?;
    prop_assert!(
        rest.is_empty() && bit == 0,
        "deku left {} bytes {} bits",
        rest.len(),
        bit
    );

    let view = T::Wire::ref_from_bytes(bytes)
        .map_err(|_| TestCaseError::fail("wire view refused the bytes"))?;
    prop_assert_eq!(&T::from_wire(view), &reference, "view accessors vs deku");

    let deku_bytes = reference
        .to_bytes()
        .map_err(|e| TestCaseError::fail(format!("deku: {e}")))?;
    prop_assert_eq!(&deku_bytes[..], bytes, "deku writes back other bytes");

    let built = reference.to_wire();
    prop_assert_eq!(built.as_bytes(), bytes, "setters vs the original bytes");
    let (_, again) = T::from_bytes((built.as_bytes(), 0))
        .map_err(|e| TestCaseError::fail(format!("deku: {e}")))?;
    prop_assert_eq!(
        again,
        reference,
        "deku reads the setters' bytes as other values"
    );
    Ok(())
}

/// A copy of `bytes` with `edit` applied through the `H` view (the tests
/// make frames malformed, or refill checksums, this way).
pub fn edited<H: FromBytes + IntoBytes + KnownLayout>(
    bytes: &[u8],
    edit: impl FnOnce(&mut H),
) -> Vec<u8> {
    let mut copy = bytes.to_vec();
    edit(H::mut_from_prefix(&mut copy).unwrap().0);
    copy
}
