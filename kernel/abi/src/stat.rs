//! What `fstat` fills in.

/// A `Stat::typ` of an inode is its on-disk type.
pub use crate::fs_layout::{T_DEVICE, T_DIR, T_FILE};
/// Not an inode: a socket file descriptor.
pub const T_SOCKET: u16 = 4;
/// Not an inode: a pipe end.
pub const T_PIPE: u16 = 5;

#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct Stat {
    /// File system's disk device.
    pub dev: u32,
    /// Inode number.
    pub ino: u32,
    /// One of the `T_*` constants.
    pub typ: u16,
    /// Number of links to the file.
    pub nlink: u16,
    pub _pad: u32,
    /// Size of the file in bytes.
    pub size: u64,
}
