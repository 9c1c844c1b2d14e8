//! Driver for the virtio-blk disk (QEMU `virtio-blk-device` on virtio-mmio
//! slot 0), interrupt-driven, after xv6's virtio_disk.c.
//!
//! [`rw`] is the only entry point the buffer cache uses: it posts one request
//! — a chain of three descriptors: the request header (device reads), the
//! 1024-byte block (device reads for a write, writes for a read), and a
//! one-byte status (device writes) — then sleeps until [`intr`] sees the
//! device return the chain. Several processes may have requests in flight;
//! a process that finds no free descriptors sleeps until one is freed.
//!
//! Headers and status bytes live in this module's static state, indexed by
//! the chain's head descriptor, so their addresses are fixed physical
//! addresses while the device uses them (kernel stacks are not
//! direct-mapped, so they cannot hold DMA buffers).

use abi::fs::BSIZE;
use wire::virtio_blk::{
    VirtioBlkReqHeader, VirtioBlkReqHeaderRepr, VirtioBlkReqType, VirtioBlkStatus, REQUESTQ,
    SECTOR_SIZE,
};
use wire::virtio_mmio::DeviceId;
use wire::Emit;
use zerocopy::IntoBytes;

use crate::memlayout::VIRTIO0;
use crate::proc;
use crate::spinlock::Spinlock;
use crate::virtio::VirtioMmio;
use crate::virtqueue::{Segment, Virtqueue};

/// Descriptors in the queue; each request uses three.
const NUM: usize = 8;

/// What we put in the status byte before submitting, so a request the
/// device never completed is not mistaken for success: a value the spec
/// gives no status (the driver's choice, not the device's).
const STATUS_PENDING: u8 = u8::MAX;
const _: () = assert!(VirtioBlkStatus(STATUS_PENDING).name().is_none());

/// Per-request bookkeeping, indexed by head descriptor.
struct Info {
    /// The device has returned this chain (set by `intr`).
    done: bool,
    /// Written by the device: a `VirtioBlkStatus`.
    status: u8,
}

struct Disk {
    dev: Option<VirtioMmio>,
    vq: Option<Virtqueue<NUM>>,
    /// Request headers, indexed by head descriptor; the device reads them.
    ops: [VirtioBlkReqHeader; NUM],
    info: [Info; NUM],
}

/// `disk.lock` in xv6: guards the queue, headers and info.
static DISK: Spinlock<Disk> = Spinlock::new(
    "virtio_disk",
    Disk {
        dev: None,
        vq: None,
        ops: [const { zeroed_header() }; NUM],
        info: [const {
            Info {
                done: false,
                status: 0,
            }
        }; NUM],
    },
);

const fn zeroed_header() -> VirtioBlkReqHeader {
    // SAFETY: VirtioBlkReqHeader derives zerocopy's FromBytes/FromZeros:
    // every bit pattern, including all zeroes, is a valid value.
    unsafe { core::mem::zeroed() }
}

/// Sleep/wakeup channel for "a descriptor was freed".
fn free_chan() -> usize {
    &DISK as *const _ as usize
}

/// Sleep/wakeup channel for "request with head `id` finished".
fn done_chan(disk: &Disk, id: usize) -> usize {
    &disk.info[id] as *const Info as usize
}

/// Finds and sets up the disk. Called once on hart 0 before the first
/// process runs; panics if there is no usable disk, as xv6 does.
pub fn init() {
    let dev = match VirtioMmio::probe(VIRTIO0, DeviceId::BLOCK) {
        Ok(d) => d,
        Err(e) => panic!("virtio_blk: no disk at {:#x}: {:?}", VIRTIO0, e),
    };
    dev.begin_init();
    // The simplest device will do: one request queue, no indirect
    // descriptors, no event index, no packed ring. Accepting only features
    // we know (none besides VERSION_1) keeps a newer device from switching
    // on a protocol change we do not implement.
    dev.negotiate(|_offered| 0)
        .expect("virtio_blk: feature negotiation");
    let vq = Virtqueue::<NUM>::new();
    dev.setup_queue(REQUESTQ, &vq)
        .expect("virtio_blk: request queue");
    let mut disk = DISK.lock();
    disk.vq = Some(vq);
    disk.dev = Some(dev);
    dev.driver_ok();
}

/// Reads (`write == false`) or writes block `blockno` to/from `data`, which
/// must be direct-mapped kernel memory (a buffer-cache block, not the stack).
/// Sleeps until the device is done; panics on a device error, like xv6
/// (the file system cannot recover from a failed write).
pub fn rw(blockno: u32, data: &mut [u8; BSIZE], write: bool) {
    let sector = blockno as u64 * (BSIZE / SECTOR_SIZE as usize) as u64;
    let mut disk = DISK.lock();

    // Three descriptors, or wait until a request completes and frees some.
    let idx = loop {
        let vq = disk.vq.as_mut().expect("virtio_blk: not initialised");
        if vq.num_free() >= 3 {
            let a = vq.alloc_desc().unwrap();
            let b = vq.alloc_desc().unwrap();
            let c = vq.alloc_desc().unwrap();
            break [a, b, c];
        }
        disk = proc::sleep(free_chan(), disk);
    };
    let head = idx[0] as usize;

    let hdr = &mut disk.ops[head];
    let request = VirtioBlkReqHeaderRepr {
        req_type: if write {
            VirtioBlkReqType::OUT
        } else {
            VirtioBlkReqType::IN
        },
        sector,
        ..VirtioBlkReqHeaderRepr::default() // reserved: zero
    };
    request
        .emit(hdr.as_mut_bytes(), ())
        .expect("virtio_blk: a request header fits its own size");
    let hdr_addr = hdr as *const VirtioBlkReqHeader as u64;
    disk.info[head] = Info {
        done: false,
        status: STATUS_PENDING,
    };
    let status_addr = &disk.info[head].status as *const u8 as u64;

    let d = &mut *disk;
    let vq = d.vq.as_mut().unwrap();
    let hdr_seg = Segment {
        addr: hdr_addr,
        len: VirtioBlkReqHeader::LEN as u32,
        device_writes: false,
    };
    let data_seg = Segment {
        addr: data.as_mut_ptr() as u64,
        len: BSIZE as u32,
        device_writes: !write,
    };
    let status_seg = Segment {
        addr: status_addr,
        len: 1,
        device_writes: true,
    };
    vq.set_desc(idx[0], hdr_seg, Some(idx[1]));
    vq.set_desc(idx[1], data_seg, Some(idx[2]));
    vq.set_desc(idx[2], status_seg, None);
    vq.submit(idx[0]);
    d.dev.unwrap().notify(REQUESTQ);

    // Wait for intr() to say the request has finished. `data` stays
    // borrowed (and its buffer locked by the caller) until then.
    while !disk.info[head].done {
        let chan = done_chan(&disk, head);
        disk = proc::sleep(chan, disk);
    }
    // SAFETY: the status byte is in our static; the device wrote it before
    // returning the chain. Volatile: the compiler did not see that write.
    let status = unsafe { core::ptr::read_volatile(&disk.info[head].status) };
    if VirtioBlkStatus::from(status) != VirtioBlkStatus::OK {
        panic!(
            "virtio_blk: {} block {} failed, status {:?}",
            if write { "write" } else { "read" },
            blockno,
            VirtioBlkStatus::from(status)
        );
    }
    disk.vq.as_mut().unwrap().free_chain(idx[0]);
    proc::wakeup(free_chan());
}

/// The disk interrupt (PLIC IRQ 1): mark every returned request done and
/// wake its process.
pub fn intr() {
    let mut disk = DISK.lock();
    let Some(dev) = disk.dev else { return };
    // Acknowledge first: a completion that arrives while we drain the ring
    // then raises a new interrupt instead of being lost.
    dev.ack_interrupt();
    let d = &mut *disk;
    let vq = d.vq.as_mut().unwrap();
    while let Some(used) = vq.pop_used() {
        let id = used.id as usize;
        if id >= NUM {
            panic!("virtio_blk: bad used id {}", id);
        }
        d.info[id].done = true;
        proc::wakeup(&d.info[id] as *const Info as usize);
    }
}
