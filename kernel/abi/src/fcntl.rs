//! `open` flags, as in xv6.
pub const O_RDONLY: usize = 0x000;
pub const O_WRONLY: usize = 0x001;
pub const O_RDWR: usize = 0x002;
pub const O_CREATE: usize = 0x200;
pub const O_TRUNC: usize = 0x400;

/// `mknod` major number of the console device.
pub const CONSOLE: u16 = 1;
