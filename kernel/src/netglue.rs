//! Glue between the network stack library (`net`) and the kernel: one
//! [`Stack`] per namespace, each in its own spin lock, the mbuf pool they
//! share, and the [`NetEnv`] each stack runs against (clock, where its
//! frames go, wake-ups).
//!
//! The root namespace's stack (slot 0) owns the NIC: `virtio_net` hands it
//! every received frame and it transmits on the card. Its second
//! interface, `br0` (10.0.3.1), is the bridge's root port ([`init`]): it
//! forwards between the two, translating containers' addresses to the
//! NIC's, and the ports `spawn -p` publishes ([`publish`]) to them. A container's stack
//! is brought [`up`] by `spawn` with an address of its own on the bridge
//! (`bridge.rs`: 10.0.3.N/24 for slot N − 1, gateway 10.0.3.1) and taken
//! [`down`] when the container's last process has exited: by then every
//! socket descriptor of it is closed, and resetting the stack frees what
//! is left (connections still closing, ARP and loopback queues, fragments
//! waiting), so every mbuf is back in the pool. Its frames go to the
//! bridge, never to the card.
//!
//! A socket remembers its stack ([`Sock`]). `spawn` does not carry socket
//! descriptors into a container (as it does not carry directories), so a
//! process only ever holds sockets of its own namespace's stack.
//!
//! Who calls a stack, always through its lock (interrupts off):
//! - `virtio_net::intr()` with each received frame (`Stack::input`, root);
//! - `bridge::flush` with each frame the bridge delivers to a container;
//! - the timer, every tick on hart 0: [`tick`] (ARP retries and expiry,
//!   receive timeouts, TCP's timers) for every stack that is up;
//! - the socket system calls in `sysnet.rs`, `systcp.rs`, `syspoll.rs`,
//!   on the stack of the socket (or of the caller's namespace).
//!
//! Lock order: the bridge's `DRAIN` → one stack's lock → `virtio_net`'s
//! `NIC` (the root stack transmits while held) or the bridge's mirror
//! then its queue (a container's does) → `syspoll`'s `POLL` → a process's `p.lock`
//! (wake-ups). No code holds two stacks' locks at once: a frame from one
//! stack to another waits on the bridge's queue until the sender's lock
//! is released.

use core::sync::atomic::{AtomicBool, Ordering};

use abi::net::{PublishedPort, SOCK_DGRAM, SOCK_STREAM};
use abi::Errno;
use net::{Buf, IfId, Ipv4Addr, MacAddr, Mbuf, NatProto, NetEnv, Pool, SocketId, Stack};

use crate::ns::{NNS, ROOT_NS};
use crate::proc;
use crate::spinlock::{Spinlock, SpinlockGuard};

/// Packet buffers: 512 × 2 KiB, in .bss, shared by every stack.
pub const NMBUF: usize = 512;
static POOL: Pool<[Buf; NMBUF]> = Pool::new();

/// The pool every mbuf comes from.
pub fn pool() -> &'static Pool {
    &POOL
}

/// The stacks, one per namespace slot. A `Stack` is about 860 KiB (most
/// of it the TCP connection blocks), so the eight take 7 MiB of .bss: the
/// kernel has no allocator for a block that size, and a slot's stack is
/// reset in place rather than built anew.
static NETS: [Spinlock<Stack>; NNS] = [const { Spinlock::new("net", FRESH) }; NNS];

/// Which stacks are up (the root's always): the tick skips the others.
static UP: [AtomicBool; NNS] = {
    let mut up = [const { AtomicBool::new(false) }; NNS];
    up[ROOT_NS] = AtomicBool::new(true);
    up
};

/// The stack of namespace `ns`, locked.
pub fn stack(ns: usize) -> SpinlockGuard<'static, Stack> {
    NETS[ns].lock()
}

/// The root namespace's stack (the NIC's), locked.
pub fn root() -> SpinlockGuard<'static, Stack> {
    stack(ROOT_NS)
}

/// A socket: the namespace whose stack holds it, and its id there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sock {
    pub ns: usize,
    pub id: SocketId,
}

impl Sock {
    /// Its stack, locked.
    pub fn stack(self) -> SpinlockGuard<'static, Stack> {
        stack(self.ns)
    }

    /// Its sleep channel: an address inside its stack's lock, so channels
    /// are distinct across stacks (a stack is far larger than the ids).
    pub fn chan(self) -> usize {
        &NETS[self.ns] as *const _ as usize + 1 + self.id.0 as usize
    }

    /// The environment its stack runs against.
    pub fn env(self) -> KernelEnv {
        KernelEnv { ns: self.ns }
    }
}

/// The `mtime` timebase of QEMU's virt machine: 10 MHz.
const TIMEBASE_PER_MS: u64 = 10_000;

/// Milliseconds since boot, from the `time` CSR (no lock).
pub fn now_ms() -> u64 {
    crate::riscv::r_time() as u64 / TIMEBASE_PER_MS
}

/// The kernel's side of namespace `ns`'s stack: the root's frames go to
/// the NIC, a container's to its port on the bridge.
pub struct KernelEnv {
    ns: usize,
}

impl KernelEnv {
    /// The environment of namespace `ns`'s stack.
    pub fn of(ns: usize) -> KernelEnv {
        KernelEnv { ns }
    }

    /// The root stack's (the NIC's).
    pub fn root() -> KernelEnv {
        KernelEnv { ns: ROOT_NS }
    }
}

impl NetEnv for KernelEnv {
    fn now_ms(&self) -> u64 {
        now_ms()
    }

    /// The root stack's `eth0` is the NIC, its `br0` the bridge's root
    /// port; a container's one interface is its own port.
    fn transmit(&mut self, iface: IfId, frame: Mbuf) -> Result<(), Mbuf> {
        match (self.ns == ROOT_NS, iface) {
            (true, IfId::Eth0) => crate::virtio_net::transmit(frame),
            (true, IfId::Br0) => {
                crate::bridge::transmit(crate::bridge::ROOT_PORT, frame);
                Ok(())
            }
            (false, _) => {
                crate::bridge::transmit(self.ns, frame);
                Ok(())
            }
        }
    }

    fn wakeup(&mut self, sock: SocketId) {
        proc::wakeup(
            Sock {
                ns: self.ns,
                id: sock,
            }
            .chan(),
        );
        crate::syspoll::notify();
    }

    fn clock(&self) -> u64 {
        crate::riscv::r_time() as u64
    }
}

/// The bridge's subnet: namespace slot N is 10.0.3.(N + 1), the root
/// namespace's port 10.0.3.1 the containers' gateway.
pub const BRIDGE_NET: Ipv4Addr = [10, 0, 3, 0];
pub const BRIDGE_MASK: Ipv4Addr = [255, 255, 255, 0];

/// The address of namespace `ns` on the bridge.
pub fn bridge_addr(ns: usize) -> Ipv4Addr {
    let [a, b, c, _] = BRIDGE_NET;
    [a, b, c, ns as u8 + 1]
}

/// The MAC of namespace `ns`'s port: locally administered (02:…), the
/// last octets the bridge address, so `arp` output reads at a glance.
pub fn bridge_mac(ns: usize) -> MacAddr {
    let [a, b, c, d] = bridge_addr(ns);
    [0x02, 0x00, a, b, c, d]
}

/// Brings container `ns`'s stack up (from `spawn`): its address, netmask
/// and gateway on the bridge, its MAC, and its port.
pub fn up(ns: usize) {
    let mac = bridge_mac(ns);
    {
        let mut s = stack(ns);
        s.set_mac(mac);
        let c = abi::net::IfConfig {
            addr: bridge_addr(ns),
            netmask: BRIDGE_MASK,
            gateway: bridge_addr(ROOT_NS),
            ..abi::net::IfConfig::default()
        };
        // A fixed, valid configuration: `set_config` cannot refuse it.
        let _ = s.set_config(&c);
    }
    UP[ns].store(true, Ordering::Release);
    crate::bridge::attach(ns, mac, deliver);
}

/// Takes container `ns`'s stack down (its last process has exited, so
/// no descriptor names a socket of it): off the bridge, then everything
/// it still holds is dropped and its buffers go back to the pool.
pub fn down(ns: usize) {
    // No frame is being delivered to it meanwhile (see `bridge::detach`).
    let _drain = crate::bridge::detach(ns);
    UP[ns].store(false, Ordering::Release);
    reset(&mut stack(ns));
    // Its published ports and translated flows go with it.
    root().nat_forget(bridge_addr(ns));
}

/// Joins the root stack to the bridge (at boot): its `br0` at 10.0.3.1/24
/// on the bridge's root port, and forwarding on, so that containers reach
/// the NIC's network through it (source NAT) and the ports they publish
/// are reached from there (`net::nat`).
pub fn init() {
    let mac = bridge_mac(ROOT_NS);
    {
        let mut s = root();
        s.attach_bridge(mac, bridge_addr(ROOT_NS), BRIDGE_MASK);
        s.set_forwarding(true);
    }
    crate::bridge::attach(crate::bridge::ROOT_PORT, mac, deliver);
}

/// `spawn -p`: publishes `ports` of container `ns` on the NIC's address.
/// EINVAL for a kind that is neither TCP nor UDP or a port 0, EADDRINUSE
/// for a port published already; then none of them is.
pub fn publish(ns: usize, ports: &[PublishedPort]) -> Result<(), Errno> {
    let inside = bridge_addr(ns);
    let mut s = root();
    for p in ports {
        let proto = match p.kind as usize {
            SOCK_STREAM => Some(NatProto::Tcp),
            SOCK_DGRAM => Some(NatProto::Udp),
            _ => None,
        };
        let published = proto
            .ok_or(Errno::EINVAL)
            .and_then(|proto| s.nat_publish(proto, p.host_port, (inside, p.port)));
        if let Err(e) = published {
            s.nat_forget(inside);
            return Err(e);
        }
    }
    Ok(())
}

/// A fresh stack, as every slot starts.
const FRESH: Stack = Stack::new(&POOL);

/// A fresh stack in place: copied from [`FRESH`], a constant in the
/// kernel image, because building one on the kernel stack (16 KiB) would
/// take 1.7 MiB of it (`*s = Stack::new(..)` does, as `llvm-objdump -d`
/// shows of this function's frame).
#[inline(never)]
fn reset(s: &mut Stack) {
    *s = FRESH;
}

/// What the bridge delivers to a port: the frame goes up the stack of
/// the port's namespace (the bridge's queue lock is not held).
fn deliver(ns: usize, m: Mbuf) {
    // The root stack's port is its `br0`; a container's is its `eth0`.
    let iface = if ns == ROOT_NS { IfId::Br0 } else { IfId::Eth0 };
    stack(ns).input_from(&mut KernelEnv::of(ns), iface, m);
}

/// Timer hook (hart 0, every tick).
pub fn tick() {
    for (ns, up) in UP.iter().enumerate() {
        if up.load(Ordering::Acquire) {
            stack(ns).tick(&mut KernelEnv::of(ns));
        }
    }
    crate::bridge::flush();
    crate::virtio_net::tick();
    crate::mirror::tick();
}
