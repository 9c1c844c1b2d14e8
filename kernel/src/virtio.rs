//! The virtio-mmio transport, modern interface (version 2).
//!
//! Shared by the block driver (`virtio_blk`) and the network driver
//! (`virtio_net`). A driver brings its device up in the order the virtio
//! spec (1.2, §3.1.1 and §4.2.3) prescribes:
//!
//! ```ignore
//! let dev = VirtioMmio::probe(VIRTIO0, DEVICE_ID_BLOCK)?; // magic, version 2, id
//! dev.begin_init();                                       // reset, ACKNOWLEDGE, DRIVER
//! dev.negotiate(|offered| offered & WANTED)?;             // + VERSION_1, FEATURES_OK
//! dev.setup_queue(0, &vq)?;                                // per queue (virtqueue.rs)
//! dev.driver_ok();                                         // device is live
//! ```
//!
//! then `notify(queue)` after posting buffers and `ack_interrupt()` in the
//! interrupt handler. QEMU only offers version 2 with
//! `-global virtio-mmio.force-legacy=false`.
//!
//! Registers are 32-bit, little-endian, accessed with volatile loads/stores.

use crate::virtqueue::Virtqueue;

/// MMIO base of virtio slot 0 (the disk, IRQ 1) and slot 1 (the NIC, IRQ 2).
pub const VIRTIO0: usize = 0x1000_1000;
pub const VIRTIO0_IRQ: u32 = 1;
pub const VIRTIO1: usize = 0x1000_2000;
pub const VIRTIO1_IRQ: u32 = 2;

/// Device IDs (virtio spec §5).
pub const DEVICE_ID_NET: u32 = 1;
pub const DEVICE_ID_BLOCK: u32 = 2;

// Register offsets (virtio spec §4.2.2).
const MAGIC_VALUE: usize = 0x000; // "virt" = 0x74726976
const VERSION: usize = 0x004; // 2 for the modern interface
const DEVICE_ID: usize = 0x008;
const DEVICE_FEATURES: usize = 0x010;
const DEVICE_FEATURES_SEL: usize = 0x014;
const DRIVER_FEATURES: usize = 0x020;
const DRIVER_FEATURES_SEL: usize = 0x024;
const QUEUE_SEL: usize = 0x030;
const QUEUE_NUM_MAX: usize = 0x034;
const QUEUE_NUM: usize = 0x038;
const QUEUE_READY: usize = 0x044;
const QUEUE_NOTIFY: usize = 0x050;
const INTERRUPT_STATUS: usize = 0x060;
const INTERRUPT_ACK: usize = 0x064;
const STATUS: usize = 0x070;
const QUEUE_DESC_LOW: usize = 0x080;
const QUEUE_DESC_HIGH: usize = 0x084;
const QUEUE_DRIVER_LOW: usize = 0x090;
const QUEUE_DRIVER_HIGH: usize = 0x094;
const QUEUE_DEVICE_LOW: usize = 0x0a0;
const QUEUE_DEVICE_HIGH: usize = 0x0a4;
const CONFIG_GENERATION: usize = 0x0fc;
const CONFIG: usize = 0x100;

const MAGIC: u32 = 0x7472_6976;

// Device status bits (virtio spec §2.1).
pub const STATUS_ACKNOWLEDGE: u32 = 1;
pub const STATUS_DRIVER: u32 = 2;
pub const STATUS_DRIVER_OK: u32 = 4;
pub const STATUS_FEATURES_OK: u32 = 8;
pub const STATUS_FAILED: u32 = 128;

// Device-independent feature bits (virtio spec §6).
pub const F_INDIRECT_DESC: u64 = 1 << 28;
pub const F_EVENT_IDX: u64 = 1 << 29;
/// Set by every modern device; a modern driver must accept it.
pub const F_VERSION_1: u64 = 1 << 32;

/// Interrupt status bits: a used buffer was returned / the config changed.
pub const INT_USED_BUFFER: u32 = 1;
pub const INT_CONFIG_CHANGE: u32 = 2;

/// Why bringing a device up failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VirtioError {
    /// No virtio device at this address (bad magic).
    NotVirtio,
    /// A legacy (version 1) device: QEMU needs `virtio-mmio.force-legacy=false`.
    Legacy,
    /// A virtio slot, but another device (or none: id 0).
    WrongDevice(u32),
    /// The device refused our feature set, or lacks VERSION_1.
    Features,
    /// The queue is in use or too small for the ring we built.
    Queue,
}

/// One virtio-mmio device, identified by its register base address.
#[derive(Clone, Copy, Debug)]
pub struct VirtioMmio {
    base: usize,
}

impl VirtioMmio {
    /// Checks that a modern virtio device of type `device_id` sits at `base`.
    pub fn probe(base: usize, device_id: u32) -> Result<VirtioMmio, VirtioError> {
        let dev = VirtioMmio { base };
        if dev.read(MAGIC_VALUE) != MAGIC {
            return Err(VirtioError::NotVirtio);
        }
        if dev.read(VERSION) != 2 {
            return Err(VirtioError::Legacy);
        }
        let id = dev.read(DEVICE_ID);
        if id != device_id {
            return Err(VirtioError::WrongDevice(id));
        }
        Ok(dev)
    }

    fn read(&self, reg: usize) -> u32 {
        // SAFETY: `base` is a virtio-mmio register block (checked by probe's
        // magic number, or the constant slots above), mapped in the kernel
        // page table; registers are 32 bits wide and naturally aligned.
        unsafe { core::ptr::read_volatile((self.base + reg) as *const u32) }
    }

    fn write(&self, reg: usize, v: u32) {
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile((self.base + reg) as *mut u32, v) }
    }

    pub fn status(&self) -> u32 {
        self.read(STATUS)
    }

    fn set_status_bit(&self, bit: u32) {
        self.write(STATUS, self.read(STATUS) | bit);
    }

    /// Resets the device and says that a driver has found it and knows how to
    /// drive it (steps 1–3 of §3.1.1).
    pub fn begin_init(&self) {
        self.write(STATUS, 0);
        self.set_status_bit(STATUS_ACKNOWLEDGE);
        self.set_status_bit(STATUS_DRIVER);
    }

    /// The 64 feature bits the device offers.
    pub fn device_features(&self) -> u64 {
        self.write(DEVICE_FEATURES_SEL, 0);
        let lo = self.read(DEVICE_FEATURES) as u64;
        self.write(DEVICE_FEATURES_SEL, 1);
        let hi = self.read(DEVICE_FEATURES) as u64;
        (hi << 32) | lo
    }

    /// Feature negotiation (steps 4–6): `choose` picks, from what the device
    /// offers, the features this driver uses; VERSION_1 is always added.
    /// Pick from a list of known features (a whitelist): accepting an
    /// unknown bit (e.g. RING_PACKED, bit 34) would change the protocol.
    /// Returns the accepted set once the device confirms FEATURES_OK.
    pub fn negotiate(&self, choose: impl FnOnce(u64) -> u64) -> Result<u64, VirtioError> {
        let offered = self.device_features();
        if offered & F_VERSION_1 == 0 {
            self.set_status_bit(STATUS_FAILED);
            return Err(VirtioError::Features);
        }
        let accepted = (choose(offered) & offered) | F_VERSION_1;
        self.write(DRIVER_FEATURES_SEL, 0);
        self.write(DRIVER_FEATURES, accepted as u32);
        self.write(DRIVER_FEATURES_SEL, 1);
        self.write(DRIVER_FEATURES, (accepted >> 32) as u32);
        self.set_status_bit(STATUS_FEATURES_OK);
        // The device may refuse the subset; it then clears FEATURES_OK.
        if self.read(STATUS) & STATUS_FEATURES_OK == 0 {
            self.set_status_bit(STATUS_FAILED);
            return Err(VirtioError::Features);
        }
        Ok(accepted)
    }

    /// Tells the device where queue `index`'s three areas are (step 7,
    /// §4.2.3.2) and makes the queue live.
    pub fn setup_queue<const N: usize>(
        &self,
        index: u32,
        vq: &Virtqueue<N>,
    ) -> Result<(), VirtioError> {
        self.write(QUEUE_SEL, index);
        if self.read(QUEUE_READY) != 0 {
            return Err(VirtioError::Queue);
        }
        let max = self.read(QUEUE_NUM_MAX) as usize;
        if max == 0 || max < N {
            return Err(VirtioError::Queue);
        }
        self.write(QUEUE_NUM, N as u32);
        let (desc, driver, device) = (vq.desc_addr(), vq.driver_addr(), vq.device_addr());
        self.write(QUEUE_DESC_LOW, desc as u32);
        self.write(QUEUE_DESC_HIGH, (desc >> 32) as u32);
        self.write(QUEUE_DRIVER_LOW, driver as u32);
        self.write(QUEUE_DRIVER_HIGH, (driver >> 32) as u32);
        self.write(QUEUE_DEVICE_LOW, device as u32);
        self.write(QUEUE_DEVICE_HIGH, (device >> 32) as u32);
        self.write(QUEUE_READY, 1);
        Ok(())
    }

    /// The driver is set up: the device may start using its queues (step 8).
    pub fn driver_ok(&self) {
        self.set_status_bit(STATUS_DRIVER_OK);
    }

    /// Tells the device that queue `index` has new available buffers.
    pub fn notify(&self, index: u32) {
        self.write(QUEUE_NOTIFY, index);
    }

    /// Reads and acknowledges the interrupt cause (INT_* bits), so the
    /// device may raise the next one. Call at the start of the handler.
    pub fn ack_interrupt(&self) -> u32 {
        let status = self.read(INTERRUPT_STATUS);
        self.write(
            INTERRUPT_ACK,
            status & (INT_USED_BUFFER | INT_CONFIG_CHANGE),
        );
        status
    }

    /// Reads a 32-bit little-endian device-specific config field at byte
    /// offset `off` (4-aligned). Retries until the config generation is
    /// stable, so multi-word reads are consistent (§4.2.2.1).
    pub fn config_read_u32(&self, off: usize) -> u32 {
        loop {
            let gen = self.read(CONFIG_GENERATION);
            let v = self.read(CONFIG + off);
            if self.read(CONFIG_GENERATION) == gen {
                return v;
            }
        }
    }

    /// Reads one byte of the device-specific config (e.g. a MAC address).
    pub fn config_read_u8(&self, off: usize) -> u8 {
        // SAFETY: config space follows the registers in the same mapped
        // block; byte accesses are allowed there (§4.2.2.2).
        unsafe { core::ptr::read_volatile((self.base + CONFIG + off) as *const u8) }
    }
}
