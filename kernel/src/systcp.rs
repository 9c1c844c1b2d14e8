//! Stream-socket system calls: listen, accept, connect, shutdown,
//! getpeername, and the byte-stream read/write of a TCP socket file, on
//! the `Stack::tcp_*` calls of the `net` crate.
//!
//! Bytes cross in the stack's own calls, which run under the socket's
//! stack's lock (`netglue::Sock::stack`) and call
//! back here for each chunk: `copyin` of the user's bytes straight into
//! the mbufs kept for retransmission, `copyout` from the received mbufs
//! straight to the user's buffer, each at its offset in that buffer.
//!
//! Every wait goes through `sysnet::block`: the process sleeps on the
//! socket's channel, which the stack wakes when the connection changes
//! (data, room, a connection to accept, the handshake's end, a reset).
//! A process killed while waiting returns EINTR, and exits on its way out;
//! its descriptors close then, which closes the connection.

use abi::net::{SockAddrIn, SHUT_RD, SHUT_RDWR, SHUT_WR};
use abi::Errno;
use net::tcp::is_tcp;

use crate::file::{File, FileKind};
use crate::netglue::Sock;
use crate::proc::myproc;
use crate::syscall::{argaddr, argint};
use crate::sysnet::{argsock, block, copyout_addr, fdalloc, Socket};
use crate::vm;

/// The timeout (SO_RCVTIMEO, 0 = none) and non-blocking mode of `s`.
fn waiting_opts(s: Sock) -> Result<(u64, bool), Errno> {
    let o = s.stack().options(s.id)?;
    Ok((o.rcvtimeo_ms, o.nonblock))
}

/// Argument 0 as a TCP socket's id (EOPNOTSUPP for a datagram socket).
fn argtcp() -> Result<(alloc::sync::Arc<File>, Sock), Errno> {
    let (f, s) = argsock(0)?;
    if !is_tcp(s.id) {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok((f, s))
}

/// `read`/`recv` on a TCP socket: up to `len` bytes to user address `buf`,
/// waiting for the first; 0 at end of stream.
pub fn recv(s: Sock, buf: usize, len: usize) -> Result<usize, Errno> {
    if len == 0 {
        return Ok(0);
    }
    let (timeout, nonblock) = waiting_opts(s)?;
    let pagetable = myproc().data().pagetable;
    let mut copy = |chunk: &[u8], off: usize| vm::copyout(pagetable, buf + off, chunk);
    block(s, timeout, nonblock, Errno::EAGAIN, |net| {
        net.tcp_recv(&mut s.env(), s.id, len, &mut copy)
    })
}

/// `write`/`send` on a TCP socket: queues all `len` bytes from user
/// address `buf`, waiting for room as the peer acknowledges. Returns fewer
/// only when the wait ends early (non-blocking, killed, the connection
/// failed) after some were taken.
pub fn send(s: Sock, buf: usize, len: usize) -> Result<usize, Errno> {
    let (_, nonblock) = waiting_opts(s)?;
    let pagetable = myproc().data().pagetable;
    let mut done = 0;
    while done < len {
        let at = buf + done;
        let mut fill = |chunk: &mut [u8], off: usize| vm::copyin(pagetable, chunk, at + off);
        match block(s, 0, nonblock, Errno::EAGAIN, |net| {
            net.tcp_send(&mut s.env(), s.id, len - done, &mut fill)
        }) {
            Ok(n) => done += n,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// `connect` on a TCP socket: sends the SYN and waits for the handshake
/// to finish or fail. Non-blocking, or when SO_RCVTIMEO passes first:
/// EINPROGRESS, and the handshake goes on (poll for POLLOUT).
pub fn connect(s: Sock, to: &SockAddrIn) -> Result<usize, Errno> {
    let (timeout, nonblock) = waiting_opts(s)?;
    s.stack().tcp_connect(&mut s.env(), s.id, to)?;
    block(s, timeout, nonblock, Errno::EINPROGRESS, |net| {
        match net.tcp_connected(s.id)? {
            true => Ok(0),
            false => Err(Errno::EAGAIN),
        }
    })
}

/// listen(fd, backlog)
pub fn sys_listen() -> Result<usize, Errno> {
    let (_f, s) = argtcp()?;
    let backlog = argint(1).max(0) as usize;
    s.stack().tcp_listen(s.id, backlog)?;
    Ok(0)
}

/// accept(fd, addr or 0, addrlen ptr or 0) -> the new connection's fd
pub fn sys_accept() -> Result<usize, Errno> {
    let (_f, s) = argtcp()?;
    let (addr, lenp) = (argaddr(1), argaddr(2));
    let (timeout, nonblock) = waiting_opts(s)?;
    // The new connection starts blocking, whatever the listener's mode.
    let (conn, peer) = block(s, timeout, nonblock, Errno::EAGAIN, |net| {
        net.tcp_accept(s.id)
    })?;
    // From here on, dropping the file (on any error) closes the connection;
    // it is on the listener's stack.
    let conn = Sock { ns: s.ns, id: conn };
    let f = File::new(FileKind::Socket(Socket(conn)), true, true)?;
    copyout_addr(addr, lenp, &peer)?;
    fdalloc(f)
}

/// shutdown(fd, SHUT_RD | SHUT_WR | SHUT_RDWR)
pub fn sys_shutdown() -> Result<usize, Errno> {
    let (_f, s) = argtcp()?;
    let how = argaddr(1);
    if ![SHUT_RD, SHUT_WR, SHUT_RDWR].contains(&how) {
        return Err(Errno::EINVAL);
    }
    s.stack().tcp_shutdown(&mut s.env(), s.id, how)?;
    Ok(0)
}

/// getpeername(fd, addr, addrlen ptr): the connected peer, for either kind.
pub fn sys_getpeername() -> Result<usize, Errno> {
    let (_f, s) = argsock(0)?;
    let a = {
        let mut net = s.stack();
        if is_tcp(s.id) {
            net.tcp_peer(s.id)?
        } else {
            net.getpeername(s.id)?
        }
    };
    if argaddr(1) == 0 {
        return Err(Errno::EFAULT);
    }
    copyout_addr(argaddr(1), argaddr(2), &a)?;
    Ok(0)
}
