//! The virtio-mmio transport, modern interface (version 2).
//!
//! Shared by the block driver (`virtio_blk`), the network driver
//! (`virtio_net`) and the bridge's mirror card (`mirror`). A driver
//! brings its device up in the order the virtio spec (1.2, §3.1.1 and
//! §4.2.3) prescribes:
//!
//! ```ignore
//! let dev = VirtioMmio::probe(VIRTIO0, DeviceId::BLOCK)?; // magic, version 2, id
//! dev.begin_init();                                       // reset, ACKNOWLEDGE, DRIVER
//! dev.negotiate(|offered| offered & WANTED)?;             // + VERSION_1, FEATURES_OK
//! dev.setup_queue(REQUESTQ, &vq)?;                         // per queue (virtqueue.rs)
//! dev.driver_ok();                                         // device is live
//! ```
//!
//! then `notify(queue)` after posting buffers, `ack_interrupt()` in the
//! interrupt handler, and `read_config_array` for the device type's
//! configuration fields. QEMU only offers version 2 with
//! `-global virtio-mmio.force-legacy=false`.
//!
//! The registers, status and feature bits are declared in
//! `proto-defs/virtio_mmio.toml` (`wire::virtio_mmio`); this file holds the
//! only access to them: one volatile load or store per register.

use wire::regs::{Readable, Register, RegisterArray, RegisterValue, Writable};
use wire::virtio_mmio::{
    DeviceId, DeviceStatus, FeatureSelect, Features, InterruptStatus, MagicValue,
    MmioRegisters as Regs, MmioVersion, QueueReady,
};

use crate::virtqueue::Virtqueue;

/// A 64-bit value as the two 32-bit registers that carry it, low half
/// first (feature bits, queue addresses: §4.2.2).
fn halves(v: u64) -> (u32, u32) {
    (v as u32, (v >> u32::BITS) as u32)
}

/// The 64-bit value two 32-bit registers carry, low half first.
fn join(low: u32, high: u32) -> u64 {
    (u64::from(high) << u32::BITS) | u64::from(low)
}

/// Why bringing a device up failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VirtioError {
    /// No virtio device at this address (bad magic).
    NotVirtio,
    /// A legacy (version 1) device: QEMU needs `virtio-mmio.force-legacy=false`.
    Legacy,
    /// A virtio slot, but another device (or none: `PLACEHOLDER`).
    WrongDevice(DeviceId),
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
    pub fn probe(base: usize, device_id: DeviceId) -> Result<VirtioMmio, VirtioError> {
        let dev = VirtioMmio { base };
        if dev.read(Regs::MAGIC_VALUE) != MagicValue::VIRT {
            return Err(VirtioError::NotVirtio);
        }
        if dev.read(Regs::VERSION) != MmioVersion::MODERN {
            return Err(VirtioError::Legacy);
        }
        let id = dev.read(Regs::DEVICE_ID);
        if id != device_id {
            return Err(VirtioError::WrongDevice(id));
        }
        Ok(dev)
    }

    /// Loads register `r`, `at` bytes into the block (its offset, or a
    /// configuration field's offset past `CONFIG`).
    fn load<T: RegisterValue, A: Readable>(&self, at: usize, r: Register<T, A>) -> T {
        assert!(
            at + Register::<T, A>::WIDTH <= Regs::LEN,
            "virtio: register outside the slot"
        );
        // SAFETY: `base` is a virtio-mmio register block (checked by probe's
        // magic number, or the constant slots above), mapped in the kernel
        // page table; `at` is inside it (asserted) and, being a generated
        // register's offset (validated aligned) or CONFIG (0x100) plus one,
        // aligned to the access width.
        r.decode(unsafe { core::ptr::read_volatile((self.base + at) as *const T::Raw) })
    }

    fn read<T: RegisterValue, A: Readable>(&self, r: Register<T, A>) -> T {
        self.load(r.offset(), r)
    }

    fn write<T: RegisterValue, A: Writable>(&self, r: Register<T, A>, v: T) {
        // SAFETY: as in `load`; every writable register is a control
        // register of `MmioRegisters`, inside the slot.
        unsafe { core::ptr::write_volatile((self.base + r.offset()) as *mut T::Raw, r.encode(v)) }
    }

    pub fn status(&self) -> DeviceStatus {
        self.read(Regs::STATUS)
    }

    fn set_status_bit(&self, bit: DeviceStatus) {
        self.write(Regs::STATUS, self.read(Regs::STATUS) | bit);
    }

    /// Resets the device and says that a driver has found it and knows how to
    /// drive it (steps 1–3 of §3.1.1).
    pub fn begin_init(&self) {
        self.write(Regs::STATUS, DeviceStatus::empty());
        self.set_status_bit(DeviceStatus::ACKNOWLEDGE);
        self.set_status_bit(DeviceStatus::DRIVER);
    }

    /// The 64 feature bits the device offers.
    pub fn device_features(&self) -> u64 {
        self.write(Regs::DEVICE_FEATURES_SEL, FeatureSelect::LOW);
        let low = self.read(Regs::DEVICE_FEATURES);
        self.write(Regs::DEVICE_FEATURES_SEL, FeatureSelect::HIGH);
        join(low, self.read(Regs::DEVICE_FEATURES))
    }

    /// Feature negotiation (steps 4–6): `choose` picks, from what the device
    /// offers, the features this driver uses; VERSION_1 is always added.
    /// Pick from a list of known features (a whitelist): accepting an
    /// unknown bit (e.g. RING_PACKED) would change the protocol.
    /// Returns the accepted set once the device confirms FEATURES_OK.
    pub fn negotiate(&self, choose: impl FnOnce(u64) -> u64) -> Result<u64, VirtioError> {
        let offered = self.device_features();
        if !Features(offered).contains(Features::VERSION_1) {
            self.set_status_bit(DeviceStatus::FAILED);
            return Err(VirtioError::Features);
        }
        let accepted = (choose(offered) & offered) | Features::VERSION_1.0;
        let (low, high) = halves(accepted);
        self.write(Regs::DRIVER_FEATURES_SEL, FeatureSelect::LOW);
        self.write(Regs::DRIVER_FEATURES, low);
        self.write(Regs::DRIVER_FEATURES_SEL, FeatureSelect::HIGH);
        self.write(Regs::DRIVER_FEATURES, high);
        self.set_status_bit(DeviceStatus::FEATURES_OK);
        // The device may refuse the subset; it then clears FEATURES_OK.
        if !self.status().contains(DeviceStatus::FEATURES_OK) {
            self.set_status_bit(DeviceStatus::FAILED);
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
        self.write(Regs::QUEUE_SEL, index);
        if self.read(Regs::QUEUE_READY) != QueueReady::OFF {
            return Err(VirtioError::Queue);
        }
        let max = self.read(Regs::QUEUE_NUM_MAX) as usize;
        if max == 0 || max < N {
            return Err(VirtioError::Queue);
        }
        self.write(Regs::QUEUE_NUM, N as u32);
        let (desc, driver, device) = (vq.desc_addr(), vq.driver_addr(), vq.device_addr());
        let ((desc_low, desc_high), (driver_low, driver_high), (device_low, device_high)) =
            (halves(desc), halves(driver), halves(device));
        self.write(Regs::QUEUE_DESC_LOW, desc_low);
        self.write(Regs::QUEUE_DESC_HIGH, desc_high);
        self.write(Regs::QUEUE_DRIVER_LOW, driver_low);
        self.write(Regs::QUEUE_DRIVER_HIGH, driver_high);
        self.write(Regs::QUEUE_DEVICE_LOW, device_low);
        self.write(Regs::QUEUE_DEVICE_HIGH, device_high);
        self.write(Regs::QUEUE_READY, QueueReady::READY);
        Ok(())
    }

    /// The driver is set up: the device may start using its queues (step 8).
    pub fn driver_ok(&self) {
        self.set_status_bit(DeviceStatus::DRIVER_OK);
    }

    /// Tells the device that queue `index` has new available buffers.
    pub fn notify(&self, index: u32) {
        self.write(Regs::QUEUE_NOTIFY, index);
    }

    /// Reads and acknowledges the interrupt cause, so the device may raise
    /// the next one. Call at the start of the handler.
    pub fn ack_interrupt(&self) -> InterruptStatus {
        let status = self.read(Regs::INTERRUPT_STATUS);
        self.write(
            Regs::INTERRUPT_ACK,
            status & (InterruptStatus::USED_BUFFER | InterruptStatus::CONFIG_CHANGE),
        );
        status
    }

    /// Reads a run of fields of the device-specific configuration space (a
    /// MAC address: registers of the device type's config block, e.g.
    /// `wire::virtio_net::VirtioNetConfig`), each with an access as wide as
    /// the field (§4.2.2.2), all from one version of the configuration space.
    pub fn read_config_array<T: RegisterValue, A: Readable, const N: usize>(
        &self,
        a: RegisterArray<T, A, N>,
    ) -> [T; N] {
        self.consistent(|| {
            a.registers()
                .map(|r| self.load(Regs::CONFIG.offset() + r.offset(), r))
        })
    }

    /// Runs `read` until the config generation is the same before and after
    /// it, so what it read is consistent (§4.2.2.1).
    fn consistent<R>(&self, read: impl Fn() -> R) -> R {
        loop {
            let gen = self.read(Regs::CONFIG_GENERATION);
            let v = read();
            if self.read(Regs::CONFIG_GENERATION) == gen {
                return v;
            }
        }
    }
}
