//! Typed registers of a memory-mapped register block, hand-written; the
//! blocks themselves (`[[registers]]` in `proto-defs/`) are generated as
//! associated constants of these types.
//!
//! A [`Register`] is an offset into its block, the type its value reads as
//! (an integer or a key newtype such as `DeviceStatus`), what the driver may
//! do with it ([`Read`], [`Write`], [`ReadWrite`]) and the block's byte order.
//! It performs no access itself: this crate has no `unsafe`. The driver
//! does the volatile load or store of `T::Raw` at `base + offset()` and
//! converts with [`Register::decode`] / [`Register::encode`]; reading a
//! write-only register or writing a read-only one does not compile.
//!
//! ```text
//! fn read<T: RegisterValue, A: Readable>(&self, r: Register<T, A>) -> T {
//!     // SAFETY: ...
//!     r.decode(unsafe { read_volatile((self.base + r.offset()) as *const T::Raw) })
//! }
//! ```

use core::marker::PhantomData;

/// What the driver may do with a register (the spec's R, W, RW).
pub trait Access {}
/// Access types that allow loads.
pub trait Readable: Access {}
/// Access types that allow stores.
pub trait Writable: Access {}

/// The driver only reads it (R).
#[derive(Debug, Clone, Copy)]
pub enum Read {}
/// The driver only writes it (W).
#[derive(Debug, Clone, Copy)]
pub enum Write {}
/// The driver reads and writes it (RW).
#[derive(Debug, Clone, Copy)]
pub enum ReadWrite {}

impl Access for Read {}
impl Access for Write {}
impl Access for ReadWrite {}
impl Readable for Read {}
impl Readable for ReadWrite {}
impl Writable for Write {}
impl Writable for ReadWrite {}

/// Byte order of every register of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
}

/// An integer as wide as one register access: `u8`, `u16`, `u32` or `u64`.
pub trait Width: Copy + sealed::Sealed {
    /// Bytes per access.
    const BYTES: usize;
    /// From the block's byte order to the CPU's.
    fn order_to_cpu(self, order: ByteOrder) -> Self;
    /// From the CPU's byte order to the block's.
    fn cpu_to_order(self, order: ByteOrder) -> Self;
}

macro_rules! width {
    ($($t:ty),*) => {$(
        impl Width for $t {
            const BYTES: usize = core::mem::size_of::<$t>();
            #[inline]
            fn order_to_cpu(self, order: ByteOrder) -> Self {
                match order {
                    ByteOrder::Little => <$t>::from_le(self),
                    ByteOrder::Big => <$t>::from_be(self),
                }
            }
            #[inline]
            fn cpu_to_order(self, order: ByteOrder) -> Self {
                match order {
                    ByteOrder::Little => self.to_le(),
                    ByteOrder::Big => self.to_be(),
                }
            }
        }
        impl RegisterValue for $t {
            type Raw = $t;
            #[inline]
            fn from_raw(raw: $t) -> Self { raw }
            #[inline]
            fn into_raw(self) -> $t { self }
        }
    )*};
}

/// What a register holds: an integer, or a generated key newtype around one
/// (the generated register blocks implement this for the keys they use).
pub trait RegisterValue: Copy {
    /// The integer one access moves.
    type Raw: Width;
    fn from_raw(raw: Self::Raw) -> Self;
    fn into_raw(self) -> Self::Raw;
}

width!(u8, u16, u32, u64);

/// One register: where it is in its block, what it holds, who may access it.
pub struct Register<T, A> {
    offset: usize,
    order: ByteOrder,
    _value: PhantomData<fn() -> (T, A)>,
}

// Derives would require `T: Clone` and `A: Clone`; a register is an offset.
impl<T, A> Clone for Register<T, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, A> Copy for Register<T, A> {}

impl<T, A> core::fmt::Debug for Register<T, A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Register({:#05x})", self.offset)
    }
}

impl<T: RegisterValue, A: Access> Register<T, A> {
    /// The register at byte `offset` of a block in byte order `order`.
    pub const fn new(offset: usize, order: ByteOrder) -> Self {
        Register {
            offset,
            order,
            _value: PhantomData,
        }
    }

    /// Byte offset from the start of the block.
    #[inline]
    pub const fn offset(self) -> usize {
        self.offset
    }

    /// Bytes one access moves.
    pub const WIDTH: usize = <T::Raw as Width>::BYTES;

    /// The value a load of this register returned.
    #[inline]
    pub fn decode(self, raw: T::Raw) -> T
    where
        A: Readable,
    {
        T::from_raw(raw.order_to_cpu(self.order))
    }

    /// What to store to write `v`.
    #[inline]
    pub fn encode(self, v: T) -> T::Raw
    where
        A: Writable,
    {
        v.into_raw().cpu_to_order(self.order)
    }
}

/// `N` registers of one kind, one after another (a MAC address in a
/// configuration space).
pub struct RegisterArray<T, A, const N: usize> {
    first: Register<T, A>,
}

impl<T, A, const N: usize> Clone for RegisterArray<T, A, N> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, A, const N: usize> Copy for RegisterArray<T, A, N> {}

impl<T: RegisterValue, A: Access, const N: usize> RegisterArray<T, A, N> {
    /// `N` registers from byte `offset` on.
    pub const fn new(offset: usize, order: ByteOrder) -> Self {
        RegisterArray {
            first: Register::new(offset, order),
        }
    }

    /// How many registers.
    pub const LEN: usize = N;

    /// Byte offset of the first one.
    #[inline]
    pub const fn offset(self) -> usize {
        self.first.offset
    }

    /// Register `i`, or `None` past the end.
    #[inline]
    pub const fn get(self, i: usize) -> Option<Register<T, A>> {
        if i < N {
            Some(Register::new(
                self.first.offset + i * <T::Raw as Width>::BYTES,
                self.first.order,
            ))
        } else {
            None
        }
    }

    /// Every register, first to last.
    pub fn registers(self) -> [Register<T, A>; N] {
        core::array::from_fn(|i| {
            Register::new(
                self.first.offset + i * <T::Raw as Width>::BYTES,
                self.first.order,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_and_encode_follow_the_block_byte_order() {
        let le: Register<u32, ReadWrite> = Register::new(0x70, ByteOrder::Little);
        let be: Register<u32, ReadWrite> = Register::new(0x70, ByteOrder::Big);
        let raw = u32::from_ne_bytes([0x76, 0x69, 0x72, 0x74]);
        assert_eq!(le.decode(raw), 0x7472_6976);
        assert_eq!(be.decode(raw), 0x7669_7274);
        assert_eq!(
            le.encode(0x7472_6976).to_ne_bytes(),
            [0x76, 0x69, 0x72, 0x74]
        );
        assert_eq!(
            be.encode(0x7472_6976).to_ne_bytes(),
            [0x74, 0x72, 0x69, 0x76]
        );
        assert_eq!(Register::<u16, Read>::WIDTH, 2);
    }

    #[test]
    fn arrays_step_by_the_register_width() {
        let a: RegisterArray<u16, Read, 3> = RegisterArray::new(0x10, ByteOrder::Little);
        let offsets: [usize; 3] = core::array::from_fn(|i| a.get(i).unwrap().offset());
        assert_eq!(offsets, [0x10, 0x12, 0x14]);
        assert!(a.get(3).is_none());
        assert_eq!(a.registers().map(|r| r.offset()), offsets);
    }
}
