//! What the generated builders implement, hand-written.
//!
//! Every generated format `H` has a builder `HRepr`: the fields a sender
//! chooses. Its [`Emit::emit`] writes a complete `H` over the front of a
//! message (the header's room, then the payload): every field zeroed, then
//! the chosen ones, the spec's fixed values (IPv4 `version`, ARP `htype`),
//! the lengths it declares (IPv4 `ihl` and `total_length`, UDP `length`) and
//! last its checksum, over the header or the whole message as the spec says.
//! A protocol pushes [`Emit::LEN`] bytes in front of its payload and emits
//! into the grown window; the builder never sees an mbuf.

/// Writes one header from the fields a sender chose.
pub trait Emit {
    /// Bytes the header takes in front of its payload (no options).
    const LEN: usize;
    /// What the header's checksum covers besides the message: an
    /// [`Ipv4PseudoHeader`] for UDP, `()` for the rest.
    type Context;
    /// Writes the header over the first [`Emit::LEN`] bytes of `message`,
    /// which holds the header's room followed by the payload, exactly as
    /// long as the message the length fields describe.
    fn emit(&self, message: &mut [u8], cx: Self::Context) -> Result<(), EmitError>;
}

/// The builder of a header whose options follow its fixed part (IPv4,
/// TCP): `message` holds the fixed part's room, then `options_len` bytes of
/// options already written, then the payload. The header-length field
/// counts the options, and a checksum over the header covers them.
/// [`Emit::emit`] is this with no options.
pub trait EmitOptions: Emit {
    fn emit_with_options(
        &self,
        message: &mut [u8],
        options_len: usize,
        cx: Self::Context,
    ) -> Result<(), EmitError>;
}

/// The addresses of the IPv4 pseudo-header a checksum covers (RFC 768):
/// the zero byte, protocol and length the generated code adds itself.
/// `tail` is what of the message lies past the buffer being written (a
/// datagram sent in pieces, as IPv4 fragments): the length fields and the
/// checksum count it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4PseudoHeader {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub tail: MessageTail,
}

impl Ipv4PseudoHeader {
    /// The pseudo-header of a message held whole in the buffer written.
    pub const fn new(src: [u8; 4], dst: [u8; 4]) -> Self {
        Ipv4PseudoHeader {
            src,
            dst,
            tail: MessageTail::NONE,
        }
    }
}

/// The bytes of a message that follow the buffer a builder writes (held
/// in other buffers): how many, and their sum, taken from their first byte
/// on ([`Checksum::append`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageTail {
    pub len: usize,
    pub sum: crate::checksum::Checksum,
}

impl MessageTail {
    /// Nothing follows: the whole message is in the buffer.
    pub const NONE: MessageTail = MessageTail {
        len: 0,
        sum: crate::checksum::Checksum::new(),
    };

    /// The tail made of `pieces`, in order.
    pub fn of<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> MessageTail {
        let mut tail = MessageTail::NONE;
        for p in pieces {
            tail.len += p.len();
            tail.sum.add(p);
        }
        tail
    }
}

/// Why a builder refused to write its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitError {
    /// The message is shorter than the header.
    Truncated { need: usize, have: usize },
    /// A value does not fit in its field (named): a chosen value wider than
    /// the field, or a length too large for it or not a whole number of its
    /// units.
    DoesNotFit { field: &'static str, value: u64 },
}

/// Views the front of `message` as a header `H`, every byte zeroed: where
/// each builder starts. `Truncated` when `message` is shorter than `H`.
#[inline]
pub(crate) fn zeroed<H>(message: &mut [u8]) -> Result<&mut H, EmitError>
where
    H: zerocopy::FromBytes + zerocopy::IntoBytes + zerocopy::KnownLayout,
{
    let have = message.len();
    let Ok((header, _)) = H::mut_from_prefix(message) else {
        return Err(EmitError::Truncated {
            need: core::mem::size_of::<H>(),
            have,
        });
    };
    zerocopy::FromZeros::zero(header);
    Ok(header)
}

/// Refuses a chosen value wider than its packed field (whose setter would
/// panic): `max` is the largest value its bits hold.
#[inline]
pub(crate) fn fits(field: &'static str, value: u64, max: u64) -> Result<(), EmitError> {
    if value > max {
        return Err(EmitError::DoesNotFit { field, value });
    }
    Ok(())
}

/// The message length `len` counted in units of `unit` bytes, for a length
/// field that holds at most `max`: refused (naming the field, with `len`)
/// when it is not a whole number of units or does not fit.
#[inline]
pub(crate) fn length(
    field: &'static str,
    len: usize,
    unit: usize,
    max: u64,
) -> Result<u64, EmitError> {
    let units = (len / unit) as u64;
    if !len.is_multiple_of(unit) || units > max {
        return Err(EmitError::DoesNotFit {
            field,
            value: len as u64,
        });
    }
    Ok(units)
}
