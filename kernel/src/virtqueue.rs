//! A split virtqueue (virtio spec 1.2 §2.7), shared by the virtio drivers.
//!
//! A queue of `N` entries is three areas in one zeroed, page-aligned heap
//! allocation (direct-mapped, so its address is its DMA address):
//! - the descriptor table: `N` [`VirtqDesc`]s, each naming one buffer;
//!   descriptors of one request are chained with `NEXT`;
//! - the driver ("available") area: where we put the head of each chain we
//!   hand to the device, then bump `idx`;
//! - the device ("used") area: where the device puts the head of each chain
//!   it has finished, with the number of bytes it wrote, then bumps `idx`.
//!
//! All layouts are the generated ones in `wire::virtq`. The queue does not
//! know which device it belongs to: the driver gives it to
//! `VirtioMmio::setup_queue`, posts chains with [`Virtqueue::push_chain`]
//! (or `alloc_desc`/`set_desc`/`submit` when the buffers' addresses depend
//! on the head index), calls `VirtioMmio::notify`, and in its interrupt
//! handler drains [`Virtqueue::pop_used`] and frees each chain with
//! [`Virtqueue::free_chain`].
//!
//! Notifications both ways can be suppressed. By default the ring flags do
//! it (`NO_INTERRUPT`, `NO_NOTIFY`): the device is told on every submit
//! unless it set `NO_NOTIFY` while busy. With VIRTIO_F_EVENT_IDX negotiated
//! ([`Virtqueue::use_event_idx`]) the event words do (§2.7.7, §2.7.10):
//! the device publishes how far it has read the driver area
//! (`avail_event`), and [`Virtqueue::should_notify`] tells it only when a
//! submit crosses that point, i.e. when it has caught up and stopped
//! reading; the driver publishes how far it has read the device area
//! (`used_event`), so the device interrupts only for what comes after.
//!
//! Not thread-safe by itself: keep a `Virtqueue` under the driver's spin
//! lock. `N` must be a power of two (≤ 128 keeps the queue in one page).

use alloc::alloc::{alloc_zeroed, Layout};
use core::ptr::{addr_of, addr_of_mut, NonNull};
use core::sync::atomic::{fence, Ordering};

use wire::virtq::{
    VirtqAvailEntry, VirtqAvailEvent, VirtqAvailFlags, VirtqAvailHeader, VirtqDesc, VirtqDescFlags,
    VirtqUsedElem, VirtqUsedEvent, VirtqUsedFlags, VirtqUsedHeader,
};
use zerocopy::{FromBytes, IntoBytes};

/// One buffer of a chain: where it is, how long, and who writes it.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    /// Physical (= kernel virtual) address.
    pub addr: u64,
    pub len: u32,
    /// The device writes this buffer (e.g. a disk read, a received frame).
    pub device_writes: bool,
}

/// A chain the device has finished: its head index and bytes written.
#[derive(Clone, Copy, Debug)]
pub struct Used {
    pub id: u16,
    pub len: u32,
}

/// The memory shared with the device, laid out as §2.7 gives it: each
/// area is its generated parts in order. The device area must be 4-aligned.
/// The event words are used only with VIRTIO_F_EVENT_IDX; without it they
/// stay zero and the ring flags suppress notifications instead.
#[repr(C, align(4096))]
struct Rings<const N: usize> {
    desc: [VirtqDesc; N],
    avail: VirtqAvailHeader,
    avail_ring: [VirtqAvailEntry; N],
    used_event: VirtqUsedEvent,
    used: UsedArea<N>,
}

// The ring headers are accessed as one u32 (see `avail_header`).
const _: () = assert!(
    VirtqAvailHeader::LEN == core::mem::size_of::<u32>()
        && VirtqUsedHeader::LEN == core::mem::size_of::<u32>()
);

#[repr(C, align(4))]
struct UsedArea<const N: usize> {
    header: VirtqUsedHeader,
    ring: [VirtqUsedElem; N],
    avail_event: VirtqAvailEvent,
}

pub struct Virtqueue<const N: usize> {
    rings: NonNull<Rings<N>>,
    /// Which descriptors are free.
    free: [bool; N],
    num_free: usize,
    /// Our copy of the driver area's `idx`: the next slot we fill.
    avail_idx: u16,
    /// How far we have read the device area.
    last_used: u16,
    /// `avail_idx` when the device was last notified or found not to need
    /// it: the submits since are what [`Virtqueue::should_notify`] judges.
    notified_idx: u16,
    /// VIRTIO_F_EVENT_IDX was negotiated: the event words, not the ring
    /// flags, suppress notifications.
    event_idx: bool,
    /// The driver wants no interrupt for used buffers.
    quiet: bool,
}

// SAFETY: the rings are a private heap allocation owned by this queue (and
// the device); nothing ties them to the hart that made them.
unsafe impl<const N: usize> Send for Virtqueue<N> {}

impl<const N: usize> Virtqueue<N> {
    const OK: () = assert!(N.is_power_of_two() && N <= 32768);

    /// Allocates and zeroes the rings. Panics when the heap is exhausted
    /// (drivers set up at boot).
    pub fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let _ = Self::OK;
        let layout = Layout::new::<Rings<N>>();
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { alloc_zeroed(layout) } as *mut Rings<N>;
        let rings = NonNull::new(p).expect("virtqueue: out of memory");
        Virtqueue {
            rings,
            free: [true; N],
            num_free: N,
            avail_idx: 0,
            last_used: 0,
            notified_idx: 0,
            event_idx: false,
            quiet: false,
        }
    }

    /// Suppress notifications with the event words from now on: call once
    /// VIRTIO_F_EVENT_IDX is negotiated, before the queue is used.
    pub fn use_event_idx(&mut self) {
        self.event_idx = true;
        let quiet = self.quiet;
        self.suppress_interrupts(quiet);
    }

    /// Addresses for `VirtioMmio::setup_queue`.
    pub fn desc_addr(&self) -> u64 {
        // SAFETY: `rings` points at our live allocation; no reference is made.
        unsafe { addr_of!((*self.rings.as_ptr()).desc) as u64 }
    }
    pub fn driver_addr(&self) -> u64 {
        // SAFETY: as in desc_addr.
        unsafe { addr_of!((*self.rings.as_ptr()).avail) as u64 }
    }
    pub fn device_addr(&self) -> u64 {
        // SAFETY: as in desc_addr.
        unsafe { addr_of!((*self.rings.as_ptr()).used) as u64 }
    }

    pub fn num_free(&self) -> usize {
        self.num_free
    }

    /// Takes a free descriptor.
    pub fn alloc_desc(&mut self) -> Option<u16> {
        let i = self.free.iter().position(|&f| f)?;
        self.free[i] = false;
        self.num_free -= 1;
        Some(i as u16)
    }

    /// Returns a descriptor to the free set.
    pub fn free_desc(&mut self, i: u16) {
        let i = i as usize;
        assert!(i < N && !self.free[i], "virtqueue: free_desc");
        // A free descriptor points nowhere.
        *self.desc_mut(i as u16) = VirtqDesc::default();
        self.free[i] = true;
        self.num_free += 1;
    }

    /// Frees a whole chain, following `NEXT` links from its head.
    pub fn free_chain(&mut self, head: u16) {
        let mut i = head;
        loop {
            let d = self.desc_mut(i);
            let (flags, next) = (d.flags(), d.next());
            self.free_desc(i);
            if !flags.contains(VirtqDescFlags::NEXT) {
                break;
            }
            i = next;
        }
    }

    fn desc_mut(&mut self, i: u16) -> &mut VirtqDesc {
        assert!((i as usize) < N, "virtqueue: bad descriptor");
        // SAFETY: in bounds; the device only reads descriptors, and only
        // those we have submitted, which we do not rewrite until it returns
        // them; `&mut self` makes this the only reference.
        unsafe { &mut (*self.rings.as_ptr()).desc[i as usize] }
    }

    /// Fills descriptor `i` with `seg`, linking it to `next` if given.
    pub fn set_desc(&mut self, i: u16, seg: Segment, next: Option<u16>) {
        let d = self.desc_mut(i);
        d.set_addr(seg.addr);
        d.set_len(seg.len);
        let mut flags = if seg.device_writes {
            VirtqDescFlags::WRITE
        } else {
            VirtqDescFlags::empty()
        };
        if next.is_some() {
            flags |= VirtqDescFlags::NEXT;
        }
        d.set_flags(flags);
        d.set_next(next.unwrap_or(0));
    }

    /// Allocates and fills a chain for `segs`; None (nothing allocated) if
    /// there are not enough free descriptors.
    pub fn alloc_chain(&mut self, segs: &[Segment]) -> Option<u16> {
        if segs.is_empty() || segs.len() > self.num_free {
            return None;
        }
        let mut idx = [0u16; 16];
        assert!(segs.len() <= idx.len(), "virtqueue: chain too long");
        for slot in idx.iter_mut().take(segs.len()) {
            *slot = self.alloc_desc()?;
        }
        for (k, seg) in segs.iter().enumerate() {
            let next = if k + 1 < segs.len() {
                Some(idx[k + 1])
            } else {
                None
            };
            self.set_desc(idx[k], *seg, next);
        }
        Some(idx[0])
    }

    /// Hands the chain starting at `head` to the device. The caller then
    /// notifies the device (if [`Virtqueue::should_notify`]).
    pub fn submit(&mut self, head: u16) {
        let slot = self.avail_idx as usize % N;
        let rings = self.rings.as_ptr();
        let mut entry = VirtqAvailEntry::default();
        entry.set_id(head);
        // SAFETY: the avail ring entry is in bounds; the device reads only
        // entries below the published idx, and this one is not yet published.
        unsafe { (*rings).avail_ring[slot] = entry };
        self.avail_idx = self.avail_idx.wrapping_add(1);
        // The descriptors and ring entry must be visible before the idx.
        fence(Ordering::SeqCst);
        let mut h = self.avail_header();
        h.set_idx(self.avail_idx);
        self.set_avail_header(h);
        fence(Ordering::SeqCst);
    }

    // The ring headers are read and written as one aligned 32-bit access
    // (the generated structs are byte-aligned, and a byte-wise access to
    // `idx` could tear while the device updates it), then decoded with the
    // generated accessors.

    fn avail_header(&self) -> VirtqAvailHeader {
        // SAFETY: `avail` is 4-aligned (it follows the 16-aligned descriptor
        // table at a multiple of 16 bytes) and 4 bytes long, in our allocation.
        let w = unsafe {
            core::ptr::read_volatile(addr_of!((*self.rings.as_ptr()).avail) as *const u32)
        };
        VirtqAvailHeader::read_from_bytes(&w.to_ne_bytes()).unwrap()
    }

    fn set_avail_header(&mut self, h: VirtqAvailHeader) {
        let w = u32::from_ne_bytes(h.as_bytes().try_into().unwrap());
        // SAFETY: as in avail_header; the driver area is ours to write.
        unsafe {
            core::ptr::write_volatile(addr_of_mut!((*self.rings.as_ptr()).avail) as *mut u32, w)
        };
    }

    /// `alloc_chain` + `submit`: returns the head, or None if the ring is full.
    pub fn push_chain(&mut self, segs: &[Segment]) -> Option<u16> {
        let head = self.alloc_chain(segs)?;
        self.submit(head);
        Some(head)
    }

    fn used_header(&self) -> VirtqUsedHeader {
        // SAFETY: `used` is repr(align(4)) and starts with the 4-byte header,
        // in our allocation; volatile because the device writes it.
        let w = unsafe {
            core::ptr::read_volatile(addr_of!((*self.rings.as_ptr()).used.header) as *const u32)
        };
        VirtqUsedHeader::read_from_bytes(&w.to_ne_bytes()).unwrap()
    }

    /// Has the device returned chains we have not popped yet?
    pub fn has_used(&self) -> bool {
        self.used_header().idx() != self.last_used
    }

    /// Takes the next chain the device has finished, if any. The caller
    /// frees it with `free_chain` when done with its buffers.
    pub fn pop_used(&mut self) -> Option<Used> {
        if !self.has_used() {
            return None;
        }
        // Read the element only after seeing the idx that covers it.
        fence(Ordering::SeqCst);
        let slot = self.last_used as usize % N;
        // SAFETY: in bounds; the device finished writing this element
        // before publishing the idx we just read.
        let e: VirtqUsedElem =
            unsafe { core::ptr::read_volatile(addr_of!((*self.rings.as_ptr()).used.ring[slot])) };
        self.last_used = self.last_used.wrapping_add(1);
        if self.event_idx {
            self.publish_used_event();
        }
        Some(Used {
            id: e.id() as u16,
            len: e.len(),
        })
    }

    /// Asks the device not to interrupt for used buffers (a hint only, e.g.
    /// while a driver drains a busy ring); `false` turns interrupts back on,
    /// for buffers used from now on: the caller then checks
    /// [`Virtqueue::has_used`] once more, for those used before.
    pub fn suppress_interrupts(&mut self, suppress: bool) {
        self.quiet = suppress;
        if self.event_idx {
            // The flags must stay 0 with event index (§2.7.7.1).
            self.publish_used_event();
            return;
        }
        let mut h = self.avail_header();
        h.set_flags(if suppress {
            VirtqAvailFlags::NO_INTERRUPT
        } else {
            VirtqAvailFlags::empty()
        });
        self.set_avail_header(h);
        fence(Ordering::SeqCst);
    }

    /// With event index: asks for an interrupt when the device uses the
    /// buffer after the last one we popped, or, when quiet, at an index
    /// the device cannot reach (it holds at most `N` buffers past
    /// `last_used`, and the word moves on with every pop).
    fn publish_used_event(&mut self) {
        let at = if self.quiet {
            self.last_used.wrapping_sub(1)
        } else {
            self.last_used
        };
        let mut e = VirtqUsedEvent::default();
        e.set_used_event(at);
        let w = u16::from_ne_bytes(e.as_bytes().try_into().unwrap());
        // SAFETY: `used_event` follows the 2-byte avail entries at an even
        // offset, in our allocation; the driver area is ours to write.
        unsafe {
            core::ptr::write_volatile(
                addr_of_mut!((*self.rings.as_ptr()).used_event) as *mut u16,
                w,
            )
        };
        // Published before we next read the used idx, so a buffer used
        // after that read is seen by the device against this word.
        fence(Ordering::SeqCst);
    }

    /// The device's `avail_event`: how far it has read the driver area.
    fn avail_event(&self) -> u16 {
        // SAFETY: `avail_event` follows the 8-byte used elements in the
        // 4-aligned device area, in our allocation; volatile because the
        // device writes it.
        let w = unsafe {
            core::ptr::read_volatile(addr_of!((*self.rings.as_ptr()).used.avail_event) as *const u16)
        };
        VirtqAvailEvent::read_from_bytes(&w.to_ne_bytes())
            .unwrap()
            .avail_event()
    }

    /// Chains submitted since [`Virtqueue::should_notify`] last judged.
    pub fn unjudged(&self) -> u16 {
        self.avail_idx.wrapping_sub(self.notified_idx)
    }

    /// Does the device want a notification for the chains submitted since
    /// the last call? Without event index: unless it set `NO_NOTIFY`. With
    /// it: only if those submits moved `idx` past `avail_event`.
    pub fn should_notify(&mut self) -> bool {
        // Our idx must be visible before we read what the device wants.
        fence(Ordering::SeqCst);
        let (old, new) = (self.notified_idx, self.avail_idx);
        self.notified_idx = new;
        if self.event_idx {
            need_event(self.avail_event(), new, old)
        } else {
            !self
                .used_header()
                .flags()
                .contains(VirtqUsedFlags::NO_NOTIFY)
        }
    }
}

/// §2.7.10 (and §2.7.7 the other way): an index moving from `old` to `new`
/// has passed `event` when `event` is in `[old, new)`, modulo 2^16.
fn need_event(event: u16, new: u16, old: u16) -> bool {
    new.wrapping_sub(event).wrapping_sub(1) < new.wrapping_sub(old)
}

impl<const N: usize> Default for Virtqueue<N> {
    fn default() -> Self {
        Self::new()
    }
}
