//! Command-line arguments whose errors say what was wrong
//! (`ping: 999.1.1.1: not an IPv4 address`, `nc: port 99999 out of range`)
//! rather than only repeating the usage line.

use crate::inet::parse_ip;
use alloc::format;
use alloc::string::String;
use core::ops::RangeInclusive;

/// An IPv4 address "a.b.c.d".
pub fn ip(s: &str) -> Result<[u8; 4], String> {
    parse_ip(s).ok_or_else(|| format!("{s}: not an IPv4 address"))
}

/// A UDP port, 0..=65535.
pub fn port(s: &str) -> Result<u16, String> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("{s}: not a port number"));
    }
    s.parse()
        .map_err(|_| format!("port {s} out of range (0 to 65535)"))
}

/// The number after option `flag` (`value`, if there was one), in `range`.
pub fn number(flag: &str, value: Option<&str>, range: RangeInclusive<u64>) -> Result<u64, String> {
    let Some(v) = value else {
        return Err(format!("{flag} needs a number"));
    };
    if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("{flag} {v}: not a number"));
    }
    match v.parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "{flag} {v}: out of range ({} to {})",
            range.start(),
            range.end()
        )),
    }
}

/// Prints `prog: problem` and the usage line to stderr; returns exit
/// status 2, as for every bad command line.
pub fn bad(prog: &str, problem: &str, usage: &str) -> i32 {
    crate::eprintln!("{}: {}", prog, problem);
    crate::eprintln!("usage: {}", usage);
    2
}
