//! TCP (RFC 9293): stream sockets on the stack.
//!
//! This file fixes the interface the kernel's socket calls use; the
//! connection machinery behind it is being built. Until then every call
//! refuses with `EPROTONOSUPPORT`, as the stack did before it had TCP.
//!
//! A TCP socket is named by a [`SocketId`] like a datagram socket, from its
//! own range (`MAX_SOCKETS..MAX_SOCKETS + MAX_TCP`), so the kernel's socket
//! files, sleep channels and [`NetEnv::wakeup`] work unchanged for both.
//! Bytes cross between user space and the stack through closures the
//! kernel passes in (`copyin`/`copyout`): received segments stay in the
//! mbufs the device wrote until [`Stack::tcp_recv`] copies them out
//! (through `Mbuf::copy_out`, which counts them), and [`Stack::tcp_send`]
//! copies user bytes once into the mbufs kept for retransmission.

pub mod congestion;
pub mod isn;
pub mod reasm;
pub mod rtt;
pub mod seq;
pub mod sndbuf;

use abi::net::SockAddrIn;
use abi::Errno;

use crate::socket::{SocketId, MAX_SOCKETS};
use crate::{NetEnv, Stack};

/// TCP sockets (listeners and connections together).
pub const MAX_TCP: usize = 64;

/// Is `id` a TCP socket's?
pub fn is_tcp(id: SocketId) -> bool {
    (MAX_SOCKETS..MAX_SOCKETS + MAX_TCP).contains(&(id.0 as usize))
}

/// The connection states (RFC 9293, section 3.3.2), numbered as
/// `abi::net::TCP_STATES` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum TcpState {
    Closed = 0,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

/// What `poll` reports for one socket (any kind).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollState {
    /// A read would not block: data, end of file, a connection to accept,
    /// or an error to report.
    pub readable: bool,
    /// A write would not block: room in the send buffer (always, for a
    /// datagram socket).
    pub writable: bool,
    /// The peer finished sending or the connection is gone.
    pub hangup: bool,
    /// An error is pending (read it with the next call).
    pub error: bool,
}

/// Copies bytes between user space and the stack: called with a chunk
/// and the offset of that chunk from the start of the caller's buffer.
pub type CopyOut<'a> = dyn FnMut(&[u8], usize) -> Result<(), Errno> + 'a;
/// Fills a chunk of a send buffer from user space, at the given offset of
/// the caller's buffer.
pub type CopyIn<'a> = dyn FnMut(&mut [u8], usize) -> Result<(), Errno> + 'a;

/// The socket calls of TCP. Each takes the id of a socket made by
/// `Stack::socket(SocketKind::Tcp)`; `bind`, `getsockname`, `options` and
/// `set_options` are the shared ones of `socket.rs`.
impl Stack {
    /// `socket(AF_INET, SOCK_STREAM, 0)`.
    pub(crate) fn tcp_socket(&mut self) -> Result<SocketId, Errno> {
        Err(Errno::EPROTONOSUPPORT)
    }

    /// `listen`: the bound (or autobound) socket accepts connections;
    /// at most `backlog` (clamped to a fixed maximum) wait for `accept`,
    /// half-open ones included.
    pub fn tcp_listen(&mut self, _id: SocketId, _backlog: usize) -> Result<(), Errno> {
        Err(Errno::EPROTONOSUPPORT)
    }

    /// `accept`: an established connection from the listener's queue and
    /// its peer's address; `EAGAIN` when none is ready.
    pub fn tcp_accept(&mut self, _id: SocketId) -> Result<(SocketId, SockAddrIn), Errno> {
        Err(Errno::EPROTONOSUPPORT)
    }

    /// `connect`: sends the SYN and returns; the caller then waits until
    /// [`Stack::tcp_connected`] says the handshake finished or failed.
    pub fn tcp_connect(
        &mut self,
        _env: &mut dyn NetEnv,
        _id: SocketId,
        _to: &SockAddrIn,
    ) -> Result<(), Errno> {
        Err(Errno::EPROTONOSUPPORT)
    }

    /// Whether an active open has finished: `Ok(true)` established,
    /// `Ok(false)` still in progress, or why it failed (`ECONNREFUSED` on
    /// a RST, `ETIMEDOUT` after the SYN's retries).
    pub fn tcp_connected(&mut self, _id: SocketId) -> Result<bool, Errno> {
        Err(Errno::EPROTONOSUPPORT)
    }

    /// `send`/`write`: takes up to `len` bytes into the send buffer,
    /// calling `fill` for each chunk (the one copy from user space), and
    /// sends what the windows and Nagle allow. Returns the bytes taken:
    /// `EAGAIN` when the buffer is full (wait for `writable`), `EPIPE`
    /// after `shutdown(SHUT_WR)` or `close`, the connection's error
    /// (`ECONNRESET`, `ETIMEDOUT`) once it failed.
    pub fn tcp_send(
        &mut self,
        _env: &mut dyn NetEnv,
        _id: SocketId,
        _len: usize,
        _fill: &mut CopyIn,
    ) -> Result<usize, Errno> {
        Err(Errno::EPROTONOSUPPORT)
    }

    /// `recv`/`read`: copies up to `len` received bytes in order through
    /// `copy`, frees the mbufs emptied and opens the window (sending a
    /// window update when it grew enough). `Ok(0)` is end of file (the
    /// peer's FIN); `EAGAIN` when nothing is there yet.
    pub fn tcp_recv(
        &mut self,
        _env: &mut dyn NetEnv,
        _id: SocketId,
        _len: usize,
        _copy: &mut CopyOut,
    ) -> Result<usize, Errno> {
        Err(Errno::EPROTONOSUPPORT)
    }

    /// `shutdown`: `SHUT_WR` sends a FIN after the queued data; `SHUT_RD`
    /// discards what arrives from now on.
    pub fn tcp_shutdown(
        &mut self,
        _env: &mut dyn NetEnv,
        _id: SocketId,
        _how: usize,
    ) -> Result<(), Errno> {
        Err(Errno::EPROTONOSUPPORT)
    }

    /// The last descriptor closed: a FIN after the queued data (the
    /// connection lives on without its socket until it is done), or a
    /// RST when received data was never read (RFC 9293, 3.10.4). The id
    /// is free for reuse once this returns.
    pub fn tcp_close(&mut self, _env: &mut dyn NetEnv, _id: SocketId) -> Result<(), Errno> {
        Err(Errno::EPROTONOSUPPORT)
    }

    /// `getpeername`: the connected peer; `ENOTCONN` otherwise.
    pub fn tcp_peer(&mut self, _id: SocketId) -> Result<SockAddrIn, Errno> {
        Err(Errno::EPROTONOSUPPORT)
    }

    /// `poll` on a TCP socket.
    pub fn tcp_poll(&mut self, _id: SocketId) -> Result<PollState, Errno> {
        Err(Errno::EPROTONOSUPPORT)
    }
}
