//! Reading input line by line from an fd, whether it is the console (one
//! line per read) or a pipe or file (many lines per read).

use crate::sys::{self, Fd};
use alloc::vec::Vec;

pub struct Lines {
    fd: Fd,
    buf: Vec<u8>,
    eof: bool,
}

impl Lines {
    pub fn new(fd: Fd) -> Self {
        Lines {
            fd,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// The next line with its '\n' (the last line may lack it); None at end.
    pub fn next_line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = self.buf.iter().position(|&c| c == b'\n') {
                return Some(self.buf.drain(..=i).collect());
            }
            if self.eof {
                return (!self.buf.is_empty()).then(|| core::mem::take(&mut self.buf));
            }
            let mut chunk = [0u8; 512];
            match sys::read(self.fd, &mut chunk) {
                Ok(0) | Err(_) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}
