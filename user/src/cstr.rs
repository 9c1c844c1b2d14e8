//! NUL-terminated strings for the kernel, and back: paths and argv go to
//! the kernel as C strings; argv comes back from it as C strings.

use abi::Errno;
use alloc::vec::Vec;

/// Copies `s` into a new NUL-terminated buffer. A string with a NUL inside
/// cannot be named to the kernel: EINVAL.
pub fn cstring(s: &str) -> Result<Vec<u8>, Errno> {
    if s.as_bytes().contains(&0) {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    Ok(v)
}

/// Length of the C string at `p`, without its NUL.
///
/// # Safety
/// `p` points at readable memory holding a NUL-terminated string.
pub unsafe fn strlen(p: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller promises readable bytes up to and including the NUL.
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    n
}

/// Borrows the C string at `p` as a `&str` ("?" if it is not UTF-8).
///
/// # Safety
/// As for [`strlen`]; the bytes must stay unchanged for `'a`.
pub unsafe fn from_cstr<'a>(p: *const u8) -> &'a str {
    // SAFETY: forwarded contract; strlen bytes are readable.
    let bytes = unsafe { core::slice::from_raw_parts(p, strlen(p)) };
    core::str::from_utf8(bytes).unwrap_or("?")
}

/// The text of a fixed-size, NUL-padded name (e.g. a directory entry).
pub fn from_padded(name: &[u8]) -> &str {
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    core::str::from_utf8(&name[..end]).unwrap_or("?")
}
