//! IPv4 addresses as people write them: parsing "a.b.c.d" and
//! "a.b.c.d:port", and printing addresses, socket addresses and MACs.

use abi::net::SockAddrIn;
use core::fmt;

/// Parses dotted-quad "a.b.c.d".
pub fn parse_ip(s: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for b in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        *b = p.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// Parses a port number 0..=65535.
pub fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses "a.b.c.d:port".
pub fn parse_sockaddr(s: &str) -> Option<SockAddrIn> {
    let (ip, port) = s.rsplit_once(':')?;
    Some(SockAddrIn::new(parse_ip(ip)?, parse_port(port)?))
}

/// Displays an address as "a.b.c.d".
pub struct Ip(pub [u8; 4]);

impl fmt::Display for Ip {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let [a, b, c, d] = self.0;
        // Pad as a whole so "{:<16}" works.
        let mut buf = [0u8; 15];
        let mut w = Cursor {
            buf: &mut buf,
            len: 0,
        };
        let _ = fmt::write(&mut w, format_args!("{a}.{b}.{c}.{d}"));
        let len = w.len;
        f.pad(core::str::from_utf8(&buf[..len]).unwrap_or("?"))
    }
}

/// Displays a socket address as "a.b.c.d:port".
pub struct Addr(pub SockAddrIn);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let mut buf = [0u8; 21];
        let mut w = Cursor {
            buf: &mut buf,
            len: 0,
        };
        let _ = fmt::write(
            &mut w,
            format_args!("{}:{}", Ip(self.0.addr_be), self.0.port()),
        );
        let len = w.len;
        f.pad(core::str::from_utf8(&buf[..len]).unwrap_or("?"))
    }
}

/// Displays a MAC address as "52:54:00:12:34:56".
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let m = self.0;
        // Pad as a whole so "{:<18}" works.
        let mut buf = [0u8; 17];
        let mut w = Cursor {
            buf: &mut buf,
            len: 0,
        };
        let _ = fmt::write(
            &mut w,
            format_args!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
        );
        let len = w.len;
        f.pad(core::str::from_utf8(&buf[..len]).unwrap_or("?"))
    }
}

/// A `fmt::Write` into a fixed buffer (output beyond it is cut off).
struct Cursor<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
