//! The generated register blocks against the VirtIO 1.2 tables: every
//! offset, width and direction of the virtio-mmio registers (section 4.2.2,
//! table 4.1), the virtio-net configuration space (5.1.4), and the values of
//! the device status (2.1), feature (6, 5.1.3) and interrupt bits.

use wire::regs::{Read, ReadWrite, Register, RegisterValue, Write};
use wire::virtio_mmio::{
    DeviceId, DeviceStatus, FeatureSelect, Features, InterruptStatus, MagicValue,
    MmioRegisters as R, MmioVersion, QueueReady,
};
use wire::virtio_net::{VirtioNetConfig, VirtioNetFeatures, VirtioNetStatus, RECEIVEQ, TRANSMITQ};

/// Offset and width in bytes of a register.
fn at<T: RegisterValue, A: wire::regs::Access>(r: Register<T, A>) -> (usize, usize) {
    (r.offset(), Register::<T, A>::WIDTH)
}

#[test]
fn mmio_register_offsets_match_table_4_1() {
    // Name, offset, direction as the spec's table gives them; all 32 bits.
    let read_only: [(&str, (usize, usize)); 8] = [
        ("MagicValue", at(R::MAGIC_VALUE)),
        ("Version", at(R::VERSION)),
        ("DeviceID", at(R::DEVICE_ID)),
        ("VendorID", at(R::VENDOR_ID)),
        ("DeviceFeatures", at(R::DEVICE_FEATURES)),
        ("QueueNumMax", at(R::QUEUE_NUM_MAX)),
        ("InterruptStatus", at(R::INTERRUPT_STATUS)),
        ("ConfigGeneration", at(R::CONFIG_GENERATION)),
    ];
    let write_only: [(&str, (usize, usize)); 13] = [
        ("DeviceFeaturesSel", at(R::DEVICE_FEATURES_SEL)),
        ("DriverFeatures", at(R::DRIVER_FEATURES)),
        ("DriverFeaturesSel", at(R::DRIVER_FEATURES_SEL)),
        ("QueueSel", at(R::QUEUE_SEL)),
        ("QueueNum", at(R::QUEUE_NUM)),
        ("QueueNotify", at(R::QUEUE_NOTIFY)),
        ("InterruptACK", at(R::INTERRUPT_ACK)),
        ("QueueDescLow", at(R::QUEUE_DESC_LOW)),
        ("QueueDescHigh", at(R::QUEUE_DESC_HIGH)),
        ("QueueDriverLow", at(R::QUEUE_DRIVER_LOW)),
        ("QueueDriverHigh", at(R::QUEUE_DRIVER_HIGH)),
        ("QueueDeviceLow", at(R::QUEUE_DEVICE_LOW)),
        ("QueueDeviceHigh", at(R::QUEUE_DEVICE_HIGH)),
    ];
    let read_write: [(&str, (usize, usize)); 2] = [
        ("QueueReady", at(R::QUEUE_READY)),
        ("Status", at(R::STATUS)),
    ];
    let spec: [(&str, usize); 23] = [
        ("MagicValue", 0x000),
        ("Version", 0x004),
        ("DeviceID", 0x008),
        ("VendorID", 0x00c),
        ("DeviceFeatures", 0x010),
        ("DeviceFeaturesSel", 0x014),
        ("DriverFeatures", 0x020),
        ("DriverFeaturesSel", 0x024),
        ("QueueSel", 0x030),
        ("QueueNumMax", 0x034),
        ("QueueNum", 0x038),
        ("QueueReady", 0x044),
        ("QueueNotify", 0x050),
        ("InterruptStatus", 0x060),
        ("InterruptACK", 0x064),
        ("Status", 0x070),
        ("QueueDescLow", 0x080),
        ("QueueDescHigh", 0x084),
        ("QueueDriverLow", 0x090),
        ("QueueDriverHigh", 0x094),
        ("QueueDeviceLow", 0x0a0),
        ("QueueDeviceHigh", 0x0a4),
        ("ConfigGeneration", 0x0fc),
    ];
    let generated: Vec<(&str, (usize, usize))> = read_only
        .into_iter()
        .chain(write_only)
        .chain(read_write)
        .collect();
    assert_eq!(generated.len(), spec.len());
    for (name, offset) in spec {
        let (_, got) = generated.iter().find(|(n, _)| *n == name).unwrap();
        assert_eq!(*got, (offset, 4), "{name}");
    }
    // The configuration space starts at 0x100 and runs to the end of the slot.
    assert_eq!(R::CONFIG.offset(), 0x100);
    assert_eq!(R::LEN, 0x1000);
}

#[test]
fn mmio_directions_are_the_tables() {
    // The access type is part of each constant's type: these only compile
    // with the spec's R / W / RW.
    let _: Register<MagicValue, Read> = R::MAGIC_VALUE;
    let _: Register<u32, Write> = R::QUEUE_NOTIFY;
    let _: Register<QueueReady, ReadWrite> = R::QUEUE_READY;
    let _: Register<FeatureSelect, Write> = R::DRIVER_FEATURES_SEL;
    let _: Register<DeviceStatus, ReadWrite> = R::STATUS;
    let _: Register<InterruptStatus, Write> = R::INTERRUPT_ACK;
}

#[test]
fn mmio_values_match_the_spec() {
    // 4.2.2: "virt", version 2 (legacy 1); 5: device IDs.
    assert_eq!(
        R::MAGIC_VALUE.decode(u32::from_le_bytes(*b"virt")),
        MagicValue::VIRT
    );
    assert_eq!(MmioVersion::MODERN.0, 2);
    assert_eq!(MmioVersion::LEGACY.0, 1);
    assert_eq!((DeviceId::NET.0, DeviceId::BLOCK.0), (1, 2));
    // 2.1: device status bits.
    assert_eq!(
        [
            DeviceStatus::ACKNOWLEDGE,
            DeviceStatus::DRIVER,
            DeviceStatus::DRIVER_OK,
            DeviceStatus::FEATURES_OK,
            DeviceStatus::DEVICE_NEEDS_RESET,
            DeviceStatus::FAILED,
        ]
        .map(|s| s.0),
        [1, 2, 4, 8, 64, 128]
    );
    // 6: device-independent feature bits, by bit number.
    assert_eq!(
        [
            Features::INDIRECT_DESC,
            Features::EVENT_IDX,
            Features::VERSION_1,
            Features::ACCESS_PLATFORM,
            Features::RING_PACKED,
            Features::IN_ORDER,
        ]
        .map(|f| f.0.trailing_zeros()),
        [28, 29, 32, 33, 34, 35]
    );
    // 4.2.2: interrupt status bit 0 (used buffer), bit 1 (config change).
    assert_eq!(
        (
            InterruptStatus::USED_BUFFER.0,
            InterruptStatus::CONFIG_CHANGE.0
        ),
        (1, 2)
    );
    assert_eq!(
        format!("{:?}", R::STATUS.decode(0x0000_000f_u32.to_le())),
        "ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK"
    );
}

#[test]
fn net_config_space_matches_struct_virtio_net_config() {
    // struct virtio_net_config { u8 mac[6]; le16 status; le16
    // max_virtqueue_pairs; le16 mtu; le32 speed; u8 duplex; ... }
    let mac: [usize; 6] = VirtioNetConfig::MAC.registers().map(|r| r.offset());
    assert_eq!(mac, [0, 1, 2, 3, 4, 5]);
    assert_eq!(at(VirtioNetConfig::STATUS), (6, 2));
    assert_eq!(at(VirtioNetConfig::MAX_VIRTQUEUE_PAIRS), (8, 2));
    assert_eq!(at(VirtioNetConfig::MTU), (10, 2));
    assert_eq!(at(VirtioNetConfig::SPEED), (12, 4));
    assert_eq!(at(VirtioNetConfig::DUPLEX), (16, 1));
    assert_eq!(VirtioNetConfig::LEN, 17);
    // VIRTIO_NET_S_LINK_UP 1, VIRTIO_NET_S_ANNOUNCE 2.
    assert_eq!(
        (VirtioNetStatus::LINK_UP.0, VirtioNetStatus::ANNOUNCE.0),
        (1, 2)
    );
    // 5.1.3 feature bits, by bit number.
    assert_eq!(
        [
            VirtioNetFeatures::CSUM,
            VirtioNetFeatures::GUEST_CSUM,
            VirtioNetFeatures::MTU,
            VirtioNetFeatures::MAC,
            VirtioNetFeatures::MRG_RXBUF,
            VirtioNetFeatures::STATUS,
            VirtioNetFeatures::CTRL_VQ,
            VirtioNetFeatures::MQ,
            VirtioNetFeatures::SPEED_DUPLEX,
        ]
        .map(|f| f.0.trailing_zeros()),
        [0, 1, 3, 5, 15, 16, 17, 22, 63]
    );
    // 5.1.2: receiveq1 is queue 0, transmitq1 queue 1.
    assert_eq!((RECEIVEQ, TRANSMITQ), (0, 1));
}
