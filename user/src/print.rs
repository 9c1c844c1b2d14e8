//! Formatted output to file descriptors: `print!`/`println!` (fd 1),
//! `eprint!`/`eprintln!` (fd 2), `fprint!`/`fprintln!` (any fd). Each call
//! formats into a small buffer and writes it with as few `write`s as it
//! can, so a line from one process is not torn apart by another's.

use crate::sys::{write_all, Fd};
use core::fmt;

const BUF: usize = 256;

/// A `fmt::Write` that buffers up to [`BUF`] bytes, then writes to its fd.
pub struct FdWriter {
    fd: Fd,
    len: usize,
    buf: [u8; BUF],
}

impl FdWriter {
    pub const fn new(fd: Fd) -> Self {
        FdWriter {
            fd,
            len: 0,
            buf: [0; BUF],
        }
    }

    pub fn flush(&mut self) {
        if self.len > 0 {
            // Output errors have nowhere to be reported.
            let _ = write_all(self.fd, &self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl fmt::Write for FdWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        if self.len + bytes.len() > BUF {
            self.flush();
        }
        if bytes.len() > BUF {
            let _ = write_all(self.fd, bytes);
        } else {
            self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        }
        Ok(())
    }
}

impl Drop for FdWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

#[doc(hidden)]
pub fn _print(fd: Fd, args: fmt::Arguments) {
    let mut w = FdWriter::new(fd);
    let _ = fmt::Write::write_fmt(&mut w, args);
}

#[macro_export]
macro_rules! fprint {
    ($fd:expr, $($arg:tt)*) => { $crate::print::_print($fd, format_args!($($arg)*)) };
}

#[macro_export]
macro_rules! fprintln {
    ($fd:expr) => { $crate::print::_print($fd, format_args!("\n")) };
    ($fd:expr, $($arg:tt)*) => {
        $crate::print::_print($fd, format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::fprint!(1, $($arg)*) };
}

#[macro_export]
macro_rules! println {
    () => { $crate::fprintln!(1) };
    ($($arg:tt)*) => { $crate::fprintln!(1, $($arg)*) };
}

#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::fprint!(2, $($arg)*) };
}

#[macro_export]
macro_rules! eprintln {
    () => { $crate::fprintln!(2) };
    ($($arg:tt)*) => { $crate::fprintln!(2, $($arg)*) };
}
