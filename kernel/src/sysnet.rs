//! Socket system calls and socket files.
//!
//! A socket is a file descriptor whose `File` holds a [`Socket`]: a socket
//! of one namespace's stack (`netglue::Sock`: the stack, the id there).
//! It is made on the caller's namespace's stack and stays on it; `spawn`
//! does not carry socket descriptors into a container. `netstat`,
//! `ifconfig`, `arp` and the socket list act on the caller's namespace's
//! stack. Closing the last descriptor
//! (dropping the `File`) closes the socket, freeing its port and any queued
//! datagrams. `read`/`write` on a socket are `recv`/`send` to the connected
//! peer.
//!
//! The one copy on each path happens here: `sendto` copies the user's
//! payload into a fresh mbuf (with headroom for the headers) before taking
//! the stack lock; `recvfrom` takes the queued mbuf out of the stack and
//! copies its payload to the user after releasing the lock, through
//! `Mbuf::copy_out`, which counts it as `rx_bytes_to_user` (a copy of
//! received bytes anywhere else would count as `rx_bytes_copied`). A blocked
//! `recvfrom` sleeps on the socket's channel, woken by the RX interrupt;
//! with a receive timeout it is also woken every tick to check the clock;
//! a killed process returns EINTR (and exits on its way out).
//!
//! TCP sockets share the socket file and these calls; what differs for a
//! byte stream (listen, accept, connect's handshake, read and write,
//! shutdown) is in `systcp.rs`. Both wait through [`block`].
//!
//! Every user pointer goes through copyin/copyout (EFAULT when bad).

use alloc::sync::Arc;
use alloc::vec;

use abi::net::{
    ArpEntry, Counter, IfConfig, MMsg, SockAddrIn, SockInfo, AF_INET, ARP_FLUSH, ARP_LIST,
    ARP_RESOLVE, IFCONFIG_DHCP, IFCONFIG_GET, IFCONFIG_SET, MAX_COUNTERS, MAX_MMSG, SOL_SOCKET,
    SOL_TCP, SO_KEEPALIVE, SO_NONBLOCK, SO_RCVBUF, SO_RCVTIMEO_MS, SO_REUSEADDR, TCP_KEEPCNT,
    TCP_KEEPCNT_MAX, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEP_MAX_SECS, TCP_NODELAY,
};
use abi::Errno;
use net::socket::MAX_SOCKETS;
use net::tcp::table::MAX_CONNS;
use net::tcp::{is_tcp, PollState};
use net::{DropReason, Mbuf, SocketKind, Stack};
use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::file::{File, FileKind};
use crate::netglue::{self, now_ms, pool, KernelEnv, Sock};
use crate::ns::ROOT_NS;
use crate::proc::{self, myproc};
use crate::riscv::r_time;
use crate::syscall::{argaddr, argfd};
use crate::txprof::{self, TxStage};
use crate::vm;

/// The largest payload a socket sends: an MTU minus the IPv4 header (UDP
/// further subtracts its own header; the stack checks that).
const MAX_PAYLOAD: usize = net::ipv4::MTU - net::ipv4::HEADER_LEN;
/// Entries `arp` lists at most.
const MAX_ARP: usize = 64;

/// The socket a socket file refers to; closes it when the file goes.
pub struct Socket(pub Sock);

impl Drop for Socket {
    fn drop(&mut self) {
        let s = self.0;
        let mut net = s.stack();
        let _ = if is_tcp(s.id) {
            net.tcp_close(&mut s.env(), s.id)
        } else {
            net.close(s.id)
        };
    }
}

fn copyin_val<T: FromBytes + IntoBytes>(addr: usize) -> Result<T, Errno> {
    let mut v = T::new_zeroed();
    vm::copyin(myproc().data().pagetable, v.as_mut_bytes(), addr)?;
    Ok(v)
}

fn copyout_bytes(addr: usize, bytes: &[u8]) -> Result<(), Errno> {
    vm::copyout(myproc().data().pagetable, addr, bytes)
}

fn copyout_val<T: IntoBytes + Immutable>(addr: usize, v: &T) -> Result<(), Errno> {
    copyout_bytes(addr, v.as_bytes())
}

/// A `sockaddr_in` argument: its length must cover the structure.
fn copyin_addr(addr: usize, len: usize) -> Result<SockAddrIn, Errno> {
    if !(core::mem::size_of::<SockAddrIn>()..=SOCKADDR_MAX).contains(&len) {
        return Err(Errno::EINVAL);
    }
    copyin_val(addr)
}

/// The largest address length accepted, as Linux's `sockaddr_storage`:
/// anything longer is a caller's mistake, not a bigger address.
const SOCKADDR_MAX: usize = 128;

/// Writes an address and, if `lenp` is not null, its length.
pub fn copyout_addr(addr: usize, lenp: usize, a: &SockAddrIn) -> Result<(), Errno> {
    if addr != 0 {
        copyout_val(addr, a)?;
    }
    if lenp != 0 {
        copyout_val(lenp, &(core::mem::size_of::<SockAddrIn>() as u32))?;
    }
    Ok(())
}

/// Argument `n` as a socket descriptor: the file (kept alive for the call)
/// and the socket.
pub fn argsock(n: usize) -> Result<(Arc<File>, Sock), Errno> {
    let (_, f) = argfd(n)?;
    let id = match &f.kind {
        FileKind::Socket(s) => s.0,
        _ => return Err(Errno::ENOTSOCK),
    };
    Ok((f, id))
}

pub fn fdalloc(f: Arc<File>) -> Result<usize, Errno> {
    let d = myproc().data();
    let fd = d
        .ofile
        .iter()
        .position(|o| o.is_none())
        .ok_or(Errno::EMFILE)?;
    d.ofile[fd] = Some(f);
    Ok(fd)
}

/// Sends `len` bytes at user address `buf` from socket `s`.
fn send(s: Sock, buf: usize, len: usize, to: Option<SockAddrIn>) -> Result<usize, Errno> {
    let entered = r_time() as u64;
    let kind = s.stack().kind(s.id)?;
    let max = match kind {
        SocketKind::Udp => net::udp::MAX_PAYLOAD,
        SocketKind::Icmp => net::ipv4::MAX_PAYLOAD,
        SocketKind::Tcp => MAX_PAYLOAD,
    };
    if len > max {
        return Err(Errno::EMSGSIZE);
    }
    // A UDP datagram or an echo request is copied in pieces cut where its
    // IPv4 fragments will be (one piece when it fits a frame), chained.
    let (mut head, mut done, mut k): (Option<Mbuf>, usize, usize) = (None, 0, 0);
    loop {
        let n = match kind {
            SocketKind::Udp => (len - done).min(net::udp::piece_len(k)),
            SocketKind::Icmp => (len - done).min(net::ipv4::FRAGMENT_ROOM),
            SocketKind::Tcp => len,
        };
        let mut m = pool().alloc().ok_or(Errno::ENOBUFS)?;
        let piece = m.append(n).map_err(|_| Errno::EMSGSIZE)?;
        vm::copyin(myproc().data().pagetable, piece, buf + done)?;
        done += n;
        k += 1;
        match head.as_mut() {
            None => head = Some(m),
            Some(h) => h.chain(m),
        }
        if done == len {
            break;
        }
    }
    let m = head.ok_or(Errno::EINVAL)?;
    txprof::record(TxStage::Copyin, entered);
    let copied = r_time() as u64;
    // No room on the NIC's transmit ring for its `k` frames (the device is
    // behind): say so, as sendto(2)'s "output queue for a network interface
    // was full", rather than hand over what the driver would drop.
    if kind != SocketKind::Tcp && !crate::virtio_net::tx_room(k) {
        return Err(Errno::ENOBUFS);
    }
    let sent = s.stack().sendto(&mut s.env(), s.id, m, to.as_ref());
    txprof::record(TxStage::Stack, copied);
    sent
}

/// Runs `attempt` on socket `s`'s stack until it stops answering EAGAIN,
/// sleeping on the socket's channel in between (the stack wakes it).
/// Gives up with `gave_up` at once in non-blocking mode or after
/// `timeout_ms` (0: no timeout); EINTR when the process is killed.
/// `attempt` is tried under the lock the process sleeps with, so no
/// wake-up is lost between. Frames an attempt left on the bridge (a
/// container's SYN, its ACKs) are delivered before the process sleeps,
/// with the lock let go and the attempt made again after.
pub fn block<T>(
    s: Sock,
    timeout_ms: u64,
    nonblock: bool,
    gave_up: Errno,
    mut attempt: impl FnMut(&mut Stack) -> Result<T, Errno>,
) -> Result<T, Errno> {
    let deadline = (timeout_ms > 0).then(|| now_ms() + timeout_ms);
    let (id, mut net) = (s.id, s.stack());
    loop {
        match attempt(&mut net) {
            Err(Errno::EAGAIN) => {}
            r => return r,
        }
        if nonblock || deadline.is_some_and(|d| now_ms() >= d) {
            return Err(gave_up);
        }
        if proc::killed() {
            return Err(Errno::EINTR);
        }
        if crate::bridge::pending() {
            drop(net);
            crate::bridge::flush();
            net = s.stack();
            continue;
        }
        net.wait_begin(id, deadline.is_some());
        net = proc::sleep(s.chan(), net);
        net.wait_end(id, deadline.is_some());
    }
}

/// Waits for a datagram on socket `s`, honouring its timeout and
/// non-blocking mode.
fn recv(s: Sock) -> Result<(Mbuf, SockAddrIn), Errno> {
    let opts = s.stack().options(s.id)?;
    block(s, opts.rcvtimeo_ms, opts.nonblock, Errno::EAGAIN, |net| {
        net.recvfrom(s.id)
    })
}

/// Copies a received payload to user address `buf` (at most `len` bytes;
/// the rest of the datagram is discarded, as for UDP elsewhere).
/// Called as soon as `recv` returned, so it also marks when the process
/// took the datagram, for the receive-path profile.
fn deliver(m: Mbuf, buf: usize, len: usize) -> Result<usize, Errno> {
    let (stamps, taken) = (m.stamps(), r_time() as u64);
    // A datagram reassembled from fragments comes in pieces, in order.
    let mut at = buf;
    let r = m.copy_out(len, |piece| {
        copyout_bytes(at, piece)?;
        at += piece.len();
        Ok(())
    });
    crate::rxprof::record(stamps, taken, r_time() as u64);
    r
}

/// A datagram taken off a socket but not handed over (bad user pointer)
/// is consumed, as on Linux, and counted.
fn count_copy_fault<T>(s: Sock, r: Result<T, Errno>) -> Result<T, Errno> {
    if r.is_err() {
        s.stack().count_drop(DropReason::SocketCopyFault);
    }
    r
}

/// `read` on a socket file.
pub fn sock_read(s: &Socket, buf: usize, len: usize) -> Result<usize, Errno> {
    let s = s.0;
    if is_tcp(s.id) {
        return crate::systcp::recv(s, buf, len);
    }
    let (m, _) = recv(s)?;
    count_copy_fault(s, deliver(m, buf, len))
}

/// `write` on a socket file: send to the connected peer.
pub fn sock_write(s: &Socket, buf: usize, len: usize) -> Result<usize, Errno> {
    let s = s.0;
    if is_tcp(s.id) {
        return crate::systcp::send(s, buf, len);
    }
    send(s, buf, len, None)
}

/// What `poll` sees of socket `s`: for a datagram socket, readable when a
/// datagram (or an error) is queued, and always writable.
pub fn poll_socket(s: Sock) -> Result<PollState, Errno> {
    let (id, mut net) = (s.id, s.stack());
    if is_tcp(id) {
        return net.tcp_poll(id);
    }
    net.kind(id)?;
    Ok(PollState {
        readable: net.readable(id),
        writable: true,
        ..PollState::default()
    })
}

/// socket(domain, type, protocol) -> fd
pub fn sys_socket() -> Result<usize, Errno> {
    if argaddr(0) != AF_INET as usize {
        return Err(Errno::EAFNOSUPPORT);
    }
    let kind = SocketKind::from_abi(argaddr(1)).ok_or(Errno::EINVAL)?;
    if argaddr(2) != 0 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let ns = proc::my_ns();
    let id = netglue::stack(ns).socket(kind)?;
    // From here on, dropping `Socket` (on any error) closes it.
    let f = File::new(FileKind::Socket(Socket(Sock { ns, id })), true, true)?;
    fdalloc(f)
}

/// bind(fd, addr, addrlen)
pub fn sys_bind() -> Result<usize, Errno> {
    let (_f, s) = argsock(0)?;
    let a = copyin_addr(argaddr(1), argaddr(2))?;
    s.stack().bind(s.id, &a)?;
    Ok(0)
}

/// connect(fd, addr, addrlen)
pub fn sys_connect() -> Result<usize, Errno> {
    let (_f, s) = argsock(0)?;
    let a = copyin_addr(argaddr(1), argaddr(2))?;
    if is_tcp(s.id) {
        return crate::systcp::connect(s, &a);
    }
    s.stack().connect(s.id, &a)?;
    Ok(0)
}

/// sendto(fd, buf, len, flags, addr or 0, addrlen) -> bytes; a stream
/// socket sends to its peer whatever the address says, as on Linux.
pub fn sys_sendto() -> Result<usize, Errno> {
    let (_f, s) = argsock(0)?;
    let (buf, len, addr) = (argaddr(1), argaddr(2), argaddr(4));
    if is_tcp(s.id) {
        return crate::systcp::send(s, buf, len);
    }
    let to = if addr != 0 {
        Some(copyin_addr(addr, argaddr(5))?)
    } else {
        None
    };
    send(s, buf, len, to)
}

/// sendmmsg(fd, msgs, n, flags) -> datagrams sent, as Linux's: the first
/// `n` (at most `MAX_MMSG`) datagrams of `msgs` each as `sendto` would
/// send them, `sent` filled in for each one sent. It stops at the first
/// that fails: its error is returned if it was the first, else the count
/// so far. The device is notified once for the batch (`TxBatch`), not per
/// datagram: one trap and one VM exit for many datagrams. Datagram sockets
/// only (EOPNOTSUPP on a stream).
pub fn sys_sendmmsg() -> Result<usize, Errno> {
    let (_f, s) = argsock(0)?;
    let (addr, n) = (argaddr(1), argaddr(2).min(MAX_MMSG));
    if is_tcp(s.id) {
        return Err(Errno::EOPNOTSUPP);
    }
    let mut msgs = vec![MMsg::default(); n];
    vm::copyin(myproc().data().pagetable, msgs.as_mut_bytes(), addr)?;
    let batch = crate::virtio_net::TxBatch::begin();
    let mut sent = 0;
    for m in msgs.iter_mut() {
        let one = |m: &MMsg| {
            let to = match m.addr {
                0 => None,
                a => Some(copyin_addr(a as usize, m.addrlen as usize)?),
            };
            send(s, m.buf as usize, m.len as usize, to)
        };
        match one(m) {
            Ok(bytes) => {
                m.sent = bytes as u32;
                sent += 1;
            }
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    drop(batch);
    copyout_bytes(addr, msgs[..sent].as_bytes())?;
    Ok(sent)
}

/// recvfrom(fd, buf, len, flags, addr or 0, addrlen ptr or 0) -> bytes
pub fn sys_recvfrom() -> Result<usize, Errno> {
    let (_f, s) = argsock(0)?;
    let (buf, len, addr, lenp) = (argaddr(1), argaddr(2), argaddr(4), argaddr(5));
    if is_tcp(s.id) {
        let n = crate::systcp::recv(s, buf, len)?;
        if addr != 0 {
            let peer = s.stack().tcp_peer(s.id)?;
            copyout_addr(addr, lenp, &peer)?;
        }
        return Ok(n);
    }
    let (m, from) = recv(s)?;
    count_copy_fault(
        s,
        deliver(m, buf, len).and_then(|n| copyout_addr(addr, lenp, &from).map(|_| n)),
    )
}

/// getsockname(fd, addr, addrlen ptr)
pub fn sys_getsockname() -> Result<usize, Errno> {
    let (_f, s) = argsock(0)?;
    let a = s.stack().getsockname(s.id)?;
    if argaddr(1) == 0 {
        return Err(Errno::EFAULT);
    }
    copyout_addr(argaddr(1), argaddr(2), &a)?;
    Ok(0)
}

/// setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO_MS | SO_NONBLOCK | SO_RCVBUF |
/// SO_REUSEADDR, &u64, 8), or on a stream socket (fd, SOL_SOCKET,
/// SO_KEEPALIVE, ...) and (fd, SOL_TCP, TCP_NODELAY | TCP_KEEPIDLE |
/// TCP_KEEPINTVL | TCP_KEEPCNT, &u64, 8).
pub fn sys_setsockopt() -> Result<usize, Errno> {
    let (_f, s) = argsock(0)?;
    let id = s.id;
    let (level, opt, optval, optlen) = (argaddr(1), argaddr(2), argaddr(3), argaddr(4));
    let tcp_opts = [TCP_NODELAY, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT];
    let known = match level {
        SOL_SOCKET => {
            [SO_RCVTIMEO_MS, SO_NONBLOCK, SO_RCVBUF, SO_REUSEADDR].contains(&opt)
                || (opt == SO_KEEPALIVE && is_tcp(id))
        }
        SOL_TCP => tcp_opts.contains(&opt) && is_tcp(id),
        _ => false,
    };
    if !known {
        return Err(Errno::ENOPROTOOPT);
    }
    if optlen < core::mem::size_of::<u64>() {
        return Err(Errno::EINVAL);
    }
    let v: u64 = copyin_val(optval)?;
    let mut net = s.stack();
    if opt == SO_RCVBUF {
        net.set_rcvbuf(id, v)?;
        return Ok(0);
    }
    let mut o = net.options(id)?;
    // Keep-alive's times and count, in Linux's ranges.
    let ranged = |max: u64| match (1..=max).contains(&v) {
        true => Ok(v as u32),
        false => Err(Errno::EINVAL),
    };
    match (level, opt) {
        (SOL_SOCKET, SO_RCVTIMEO_MS) => o.rcvtimeo_ms = v,
        (SOL_SOCKET, SO_NONBLOCK) => o.nonblock = v != 0,
        (SOL_SOCKET, SO_KEEPALIVE) => o.keepalive.on = v != 0,
        (SOL_SOCKET, _) => o.reuseaddr = v != 0,
        (_, TCP_KEEPIDLE) => o.keepalive.idle_s = ranged(TCP_KEEP_MAX_SECS)?,
        (_, TCP_KEEPINTVL) => o.keepalive.intvl_s = ranged(TCP_KEEP_MAX_SECS)?,
        (_, TCP_KEEPCNT) => o.keepalive.cnt = ranged(TCP_KEEPCNT_MAX)?,
        _ => o.nodelay = v != 0,
    }
    net.set_options(id, o)?;
    Ok(0)
}

/// netstat(counters, max) -> count
pub fn sys_netstat() -> Result<usize, Errno> {
    let (addr, max) = (argaddr(0), argaddr(1));
    let mut v = vec![Counter::default(); max.min(MAX_COUNTERS)];
    let ns = proc::my_ns();
    let mut n = netglue::stack(ns).export_counters(&mut v);
    n += crate::rxprof::export(&mut v[n..]);
    n += crate::txprof::export(&mut v[n..]);
    n += crate::boottime::export(&mut v[n..]);
    n += crate::hartprof::export(&mut v[n..]);
    // The bridge and the NIC are the host's: a container sees its own
    // stack only.
    if ns == ROOT_NS {
        n += crate::bridge::export(&mut v[n..]);
        n += crate::mirror::export(&mut v[n..]);
        n += crate::virtio_net::export(&mut v[n..]);
    }
    copyout_bytes(addr, v[..n].as_bytes())?;
    Ok(n)
}

/// ifconfig(cfg, op): read the configuration and the DHCP lease, set a
/// static one (address, netmask, gateway; the MAC is the card's; the DHCP
/// client stops), or start the DHCP client (`cfg` unused).
pub fn sys_ifconfig() -> Result<usize, Errno> {
    let addr = argaddr(0);
    let ns = proc::my_ns();
    match argaddr(1) {
        IFCONFIG_GET => {
            let c = netglue::stack(ns).if_config(now_ms());
            copyout_val(addr, &c)?;
        }
        // A container's address is its place on the bridge.
        IFCONFIG_SET | IFCONFIG_DHCP if ns != ROOT_NS => return Err(Errno::EPERM),
        IFCONFIG_SET => {
            let c: IfConfig = copyin_val(addr)?;
            netglue::root().set_config(&c)?;
        }
        IFCONFIG_DHCP => netglue::root().dhcp_start(&mut KernelEnv::root()),
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// arp(op, ip, entries, max) -> count
pub fn sys_arp() -> Result<usize, Errno> {
    let (op, ip, out, max) = (argaddr(0), argaddr(1), argaddr(2), argaddr(3));
    let ns = proc::my_ns();
    match op {
        ARP_LIST => {
            let mut v = vec![ArpEntry::default(); max.min(MAX_ARP)];
            let n = netglue::stack(ns).arp_list(now_ms(), &mut v);
            copyout_bytes(out, v[..n].as_bytes())?;
            Ok(n)
        }
        ARP_RESOLVE => {
            let ip: [u8; 4] = copyin_val(ip)?;
            let Some(mac) = netglue::stack(ns).arp_resolve(&mut KernelEnv::of(ns), ip)? else {
                return Ok(0);
            };
            if max == 0 {
                return Ok(0);
            }
            let e = ArpEntry {
                ip,
                mac,
                resolved: 1,
                ..ArpEntry::default()
            };
            copyout_val(out, &e)?;
            Ok(1)
        }
        ARP_FLUSH => Ok(netglue::stack(ns).arp_flush()),
        _ => Err(Errno::EINVAL),
    }
}

/// socklist(infos, max) -> count
pub fn sys_socklist() -> Result<usize, Errno> {
    let (addr, max) = (argaddr(0), argaddr(1));
    // Datagram sockets, then every TCP connection (those without a socket
    // too: closing, in TIME-WAIT, waiting for accept).
    let mut v = vec![SockInfo::default(); max.min(MAX_SOCKETS + MAX_CONNS)];
    let n = netglue::stack(proc::my_ns()).socklist(&mut v);
    copyout_bytes(addr, v[..n].as_bytes())?;
    Ok(n)
}
