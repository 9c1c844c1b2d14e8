//! A BSD-style socket API on file descriptors: `Socket::udp()` /
//! `Socket::icmp()` / `Socket::stream()`, bind, connect, send_to /
//! recv_from, send_many (sendmmsg), send / recv, listen / accept, shutdown, local_addr
//! (getsockname), peer_addr (getpeername), a receive timeout and
//! non-blocking mode. The descriptor is closed when the `Socket` is
//! dropped; after `fork` each process drops (closes) its own copy.
//! [`crate::tcp`] wraps stream sockets as `TcpStream` / `TcpListener`.

use crate::sys::{close, Fd};
use crate::syscall as raw;
use abi::net::{
    MMsg, SockAddrIn, AF_INET, MAX_MMSG, SOCK_DGRAM, SOCK_ICMP, SOCK_STREAM, SOL_SOCKET, SOL_TCP,
    SO_KEEPALIVE, SO_NONBLOCK, SO_RCVBUF, SO_RCVTIMEO_MS, SO_REUSEADDR, TCP_KEEPCNT, TCP_KEEPIDLE,
    TCP_KEEPINTVL, TCP_NODELAY,
};
use abi::Errno;
use core::mem::size_of;
use core::ptr;

const ADDRLEN: usize = size_of::<SockAddrIn>();

#[derive(Debug)]
pub struct Socket {
    fd: Fd,
}

impl Socket {
    /// A socket of type `kind` (`SOCK_DGRAM`, `SOCK_ICMP` or `SOCK_STREAM`).
    pub fn new(kind: usize) -> Result<Socket, Errno> {
        // SAFETY: no pointer arguments.
        let fd = unsafe { raw::socket(AF_INET as usize, kind, 0) }?;
        Ok(Socket { fd })
    }

    /// A UDP socket.
    pub fn udp() -> Result<Socket, Errno> {
        Socket::new(SOCK_DGRAM)
    }

    /// An ICMP echo ("ping") socket: send an 8-byte echo header + data, the
    /// kernel fills the checksum; receive echo replies.
    pub fn icmp() -> Result<Socket, Errno> {
        Socket::new(SOCK_ICMP)
    }

    /// A TCP socket.
    pub fn stream() -> Result<Socket, Errno> {
        Socket::new(SOCK_STREAM)
    }

    /// Takes ownership of descriptor `fd` (closed when dropped).
    pub fn from_fd(fd: Fd) -> Socket {
        Socket { fd }
    }

    pub fn fd(&self) -> Fd {
        self.fd
    }

    /// Accepts connections (a stream socket), at most `backlog` waiting.
    pub fn listen(&self, backlog: usize) -> Result<(), Errno> {
        // SAFETY: no pointer arguments.
        unsafe { raw::listen(self.fd, backlog) }.map(drop)
    }

    /// Waits for a connection; returns its socket and the peer's address.
    pub fn accept(&self) -> Result<(Socket, SockAddrIn), Errno> {
        let mut addr = SockAddrIn::default();
        let mut len = ADDRLEN as u32;
        // SAFETY: addr and len are live and writable.
        let fd = unsafe { raw::accept(self.fd, &mut addr, &mut len) }?;
        Ok((Socket { fd }, addr))
    }

    /// `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`.
    pub fn shutdown(&self, how: usize) -> Result<(), Errno> {
        // SAFETY: no pointer arguments.
        unsafe { raw::shutdown(self.fd, how) }.map(drop)
    }

    /// The connected peer (getpeername).
    pub fn peer_addr(&self) -> Result<SockAddrIn, Errno> {
        let mut addr = SockAddrIn::default();
        let mut len = ADDRLEN as u32;
        // SAFETY: addr and len are live and writable.
        unsafe { raw::getpeername(self.fd, &mut addr, &mut len) }?;
        Ok(addr)
    }

    pub fn bind(&self, addr: SockAddrIn) -> Result<(), Errno> {
        // SAFETY: addr is a live SockAddrIn of ADDRLEN bytes.
        unsafe { raw::bind(self.fd, &addr, ADDRLEN) }.map(drop)
    }

    /// Binds to `port` on any local address (0 = an ephemeral port).
    pub fn bind_port(&self, port: u16) -> Result<(), Errno> {
        self.bind(SockAddrIn::new([0; 4], port))
    }

    /// Sets the default peer; only its datagrams are received afterwards.
    pub fn connect(&self, addr: SockAddrIn) -> Result<(), Errno> {
        // SAFETY: addr is a live SockAddrIn of ADDRLEN bytes.
        unsafe { raw::connect(self.fd, &addr, ADDRLEN) }.map(drop)
    }

    pub fn send_to(&self, buf: &[u8], addr: SockAddrIn) -> Result<usize, Errno> {
        // SAFETY: buf and addr are live for the call, lengths match.
        unsafe { raw::sendto(self.fd, buf.as_ptr(), buf.len(), 0, &addr, ADDRLEN) }
    }

    /// Sends each of `bufs` as a datagram to `addr` in one system call
    /// (`sendmmsg`; at most `MAX_MMSG` of them): returns how many were sent,
    /// from the first; an error only if none was.
    pub fn send_many(&self, bufs: &[&[u8]], addr: SockAddrIn) -> Result<usize, Errno> {
        let mut msgs = [MMsg::default(); MAX_MMSG];
        let n = bufs.len().min(MAX_MMSG);
        for (m, b) in msgs.iter_mut().zip(bufs) {
            *m = MMsg {
                buf: b.as_ptr() as u64,
                len: b.len() as u64,
                addr: &addr as *const SockAddrIn as u64,
                addrlen: ADDRLEN as u32,
                sent: 0,
            };
        }
        // SAFETY: each message points at a live buffer of its length and at
        // `addr`, all borrowed for the call; `msgs` holds `n` of them.
        unsafe { raw::sendmmsg(self.fd, msgs.as_mut_ptr(), n, 0) }
    }

    /// Sends to the connected peer.
    pub fn send(&self, buf: &[u8]) -> Result<usize, Errno> {
        // SAFETY: buf is live for the call; a null address means "connected peer".
        unsafe { raw::sendto(self.fd, buf.as_ptr(), buf.len(), 0, ptr::null(), 0) }
    }

    /// Receives one datagram; returns its length and sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SockAddrIn), Errno> {
        let mut addr = SockAddrIn::default();
        let mut len = ADDRLEN as u32;
        // SAFETY: buf, addr and len are live and writable for the call.
        let n =
            unsafe { raw::recvfrom(self.fd, buf.as_mut_ptr(), buf.len(), 0, &mut addr, &mut len) }?;
        Ok((n, addr))
    }

    /// Receives one datagram, sender not wanted.
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: buf is live and writable; null address pointers are allowed.
        unsafe {
            raw::recvfrom(
                self.fd,
                buf.as_mut_ptr(),
                buf.len(),
                0,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        }
    }

    /// The local address (getsockname).
    pub fn local_addr(&self) -> Result<SockAddrIn, Errno> {
        let mut addr = SockAddrIn::default();
        let mut len = ADDRLEN as u32;
        // SAFETY: addr and len are live and writable.
        unsafe { raw::getsockname(self.fd, &mut addr, &mut len) }?;
        Ok(addr)
    }

    fn set_opt(&self, opt: usize, value: u64) -> Result<(), Errno> {
        self.set_option(SOL_SOCKET, opt, value)
    }

    /// setsockopt with a u64 value, at `level` (`SOL_SOCKET`, `SOL_TCP`).
    pub fn set_option(&self, level: usize, opt: usize, value: u64) -> Result<(), Errno> {
        // SAFETY: value is a live u64 of the stated length.
        unsafe {
            raw::setsockopt(
                self.fd,
                level,
                opt,
                &value as *const u64 as *const u8,
                size_of::<u64>(),
            )
        }
        .map(drop)
    }

    /// Receive timeout in milliseconds (0 = wait forever): when it passes,
    /// recv fails with EAGAIN (as Linux; ETIMEDOUT from other kernels).
    pub fn set_timeout(&self, ms: u64) -> Result<(), Errno> {
        self.set_opt(SO_RCVTIMEO_MS, ms)
    }

    /// How many bytes of datagrams the socket queues before it drops new
    /// ones (each counts the 2 KiB buffer it holds).
    pub fn set_rcvbuf(&self, bytes: u64) -> Result<(), Errno> {
        self.set_opt(SO_RCVBUF, bytes)
    }

    /// In non-blocking mode an empty receive queue gives EAGAIN.
    pub fn set_nonblocking(&self, on: bool) -> Result<(), Errno> {
        self.set_opt(SO_NONBLOCK, on as u64)
    }

    /// `SO_REUSEADDR`: bind a port that old connections still hold.
    pub fn set_reuseaddr(&self, on: bool) -> Result<(), Errno> {
        self.set_opt(SO_REUSEADDR, on as u64)
    }

    /// `TCP_NODELAY`: send small writes at once (Nagle off).
    pub fn set_nodelay(&self, on: bool) -> Result<(), Errno> {
        self.set_option(SOL_TCP, TCP_NODELAY, on as u64)
    }

    /// `SO_KEEPALIVE` with `TCP_KEEPIDLE`, `TCP_KEEPINTVL` and
    /// `TCP_KEEPCNT`: probe the peer after `idle_s` silent seconds, every
    /// `intvl_s` seconds, and give up (ETIMEDOUT) after `cnt` unanswered.
    pub fn set_keepalive(&self, idle_s: u64, intvl_s: u64, cnt: u64) -> Result<(), Errno> {
        self.set_option(SOL_TCP, TCP_KEEPIDLE, idle_s)?;
        self.set_option(SOL_TCP, TCP_KEEPINTVL, intvl_s)?;
        self.set_option(SOL_TCP, TCP_KEEPCNT, cnt)?;
        self.set_opt(SO_KEEPALIVE, 1)
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = close(self.fd);
    }
}
