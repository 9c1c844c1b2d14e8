//! poll(2): wait until one of several descriptors can be read or written.

use crate::sys::Fd;
use crate::syscall as raw;
pub use abi::net::{PollFd, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT};
use abi::Errno;

/// An entry waiting for `events` on `fd`.
pub fn entry(fd: Fd, events: i16) -> PollFd {
    PollFd {
        fd: fd as i32,
        events,
        revents: 0,
    }
}

/// Waits until some entry of `fds` is ready (its `revents` set), or
/// `timeout_ms` passes (0: only look; negative: no limit). Returns the
/// number of entries ready, 0 on timeout.
pub fn poll(fds: &mut [PollFd], timeout_ms: i32) -> Result<usize, Errno> {
    // SAFETY: fds is a live, writable slice of fds.len() entries.
    unsafe { raw::poll(fds.as_mut_ptr(), fds.len(), timeout_ms as isize) }
}
