//! What the generated `parse` functions return, hand-written.
//!
//! Every generated format has `parse(bytes)`: it views the header in place
//! and makes every check its spec declares (fixed values, lengths against the
//! buffer, the checksum, the named constraints), in declaration order, so a
//! malformed frame becomes the error its module's `<Module>Error` names,
//! never a panic or an out-of-bounds slice.

/// A header viewed in place, with the bytes its length fields give it.
#[derive(Debug, Clone, Copy)]
pub struct Parsed<'a, H> {
    pub header: &'a H,
    /// Header, options and payload: the bytes the message length covers
    /// (what a checksum over the message sums); the whole buffer for formats
    /// without a message-length field.
    pub message: &'a [u8],
    /// Bytes between the fixed header and the payload (IPv4 options); empty
    /// for formats without a header-length field.
    pub options: &'a [u8],
    /// What follows, cut at the message length when the format has one
    /// (link-layer padding dropped); otherwise the rest of the buffer.
    pub payload: &'a [u8],
}

impl<'a, H> Parsed<'a, H> {
    /// Cuts `bytes` where the checks found the header to end (`header_len`,
    /// options included) and the message (`end`); the fixed header is the
    /// size of `H`. The callers have checked `size_of::<H>() <= header_len
    /// <= end <= bytes.len()`.
    #[inline]
    pub(crate) fn split(header: &'a H, bytes: &'a [u8], header_len: usize, end: usize) -> Self {
        Parsed {
            header,
            message: &bytes[..end],
            options: &bytes[core::mem::size_of::<H>()..header_len],
            payload: &bytes[header_len..end],
        }
    }
}
