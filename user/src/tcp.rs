//! TCP as `TcpStream` (a connection: read, write, shutdown) and
//! `TcpListener` (a bound, listening socket: accept), over the stream
//! sockets of [`crate::socket`]. Both close their descriptor when dropped.

use crate::socket::Socket;
use crate::sys::{self, Fd};
use abi::net::{SockAddrIn, SHUT_WR};
use abi::Errno;

/// Connections a listener queues before `accept` by default.
pub const BACKLOG: usize = 16;

/// One TCP connection.
#[derive(Debug)]
pub struct TcpStream {
    sock: Socket,
}

impl TcpStream {
    /// Connects to `addr`, waiting for the handshake (ECONNREFUSED when
    /// nobody listens there).
    pub fn connect(addr: SockAddrIn) -> Result<TcpStream, Errno> {
        let sock = Socket::stream()?;
        sock.connect(addr)?;
        Ok(TcpStream { sock })
    }

    /// As [`TcpStream::connect`], giving up after `ms` milliseconds
    /// (EINPROGRESS: the handshake had not finished). The timeout stays
    /// set for reads.
    pub fn connect_timeout(addr: SockAddrIn, ms: u64) -> Result<TcpStream, Errno> {
        let sock = Socket::stream()?;
        sock.set_timeout(ms)?;
        sock.connect(addr)?;
        Ok(TcpStream { sock })
    }

    /// A connection `accept` returned.
    pub fn from_socket(sock: Socket) -> TcpStream {
        TcpStream { sock }
    }

    pub fn fd(&self) -> Fd {
        self.sock.fd()
    }

    pub fn socket(&self) -> &Socket {
        &self.sock
    }

    /// Reads what has arrived (waiting for the first byte); 0 at the end
    /// of the peer's stream.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        sys::read(self.fd(), buf)
    }

    /// Reads until `buf` is full or the stream ends; returns the bytes read.
    pub fn read_full(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        sys::read_full(self.fd(), buf)
    }

    pub fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        sys::write(self.fd(), buf)
    }

    pub fn write_all(&self, buf: &[u8]) -> Result<(), Errno> {
        sys::write_all(self.fd(), buf)
    }

    /// Ends our direction (a FIN after what is queued); reading goes on.
    pub fn shutdown_write(&self) -> Result<(), Errno> {
        self.sock.shutdown(SHUT_WR)
    }

    pub fn peer_addr(&self) -> Result<SockAddrIn, Errno> {
        self.sock.peer_addr()
    }

    pub fn local_addr(&self) -> Result<SockAddrIn, Errno> {
        self.sock.local_addr()
    }

    /// Reads give EAGAIN after `ms` milliseconds without data (0: never).
    pub fn set_timeout(&self, ms: u64) -> Result<(), Errno> {
        self.sock.set_timeout(ms)
    }

    pub fn set_nodelay(&self, on: bool) -> Result<(), Errno> {
        self.sock.set_nodelay(on)
    }

    pub fn set_nonblocking(&self, on: bool) -> Result<(), Errno> {
        self.sock.set_nonblocking(on)
    }
}

/// A socket accepting connections on a port.
#[derive(Debug)]
pub struct TcpListener {
    sock: Socket,
}

impl TcpListener {
    /// Listens on `port` of every local address (0: an ephemeral port),
    /// even while old connections to it linger in TIME-WAIT.
    pub fn bind(port: u16) -> Result<TcpListener, Errno> {
        let sock = Socket::stream()?;
        sock.set_reuseaddr(true)?;
        sock.bind_port(port)?;
        sock.listen(BACKLOG)?;
        Ok(TcpListener { sock })
    }

    /// Waits for the next connection.
    pub fn accept(&self) -> Result<(TcpStream, SockAddrIn), Errno> {
        let (sock, peer) = self.sock.accept()?;
        Ok((TcpStream { sock }, peer))
    }

    pub fn fd(&self) -> Fd {
        self.sock.fd()
    }

    pub fn socket(&self) -> &Socket {
        &self.sock
    }

    pub fn local_addr(&self) -> Result<SockAddrIn, Errno> {
        self.sock.local_addr()
    }
}
