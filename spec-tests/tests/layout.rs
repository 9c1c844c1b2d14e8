//! Layouts against the specs' own numbers: the virtio structures' sizes and
//! offsets as VirtIO 1.2 gives them (sections 2.7.5-2.7.8, 5.1.6, 5.2.6),
//! their little-endian byte order, and every header's `LEN`.

use core::mem::{offset_of, size_of};

use wire::virtio_blk::{VirtioBlkReqHeader, VirtioBlkReqType, VirtioBlkStatus, SECTOR_SIZE};
use wire::virtio_net::{VirtioNetHdr, VirtioNetHdrFlags};
use wire::virtq::{
    VirtqAvailEntry, VirtqAvailEvent, VirtqAvailHeader, VirtqDesc, VirtqDescFlags, VirtqUsedElem,
    VirtqUsedEvent, VirtqUsedHeader,
};
use zerocopy::IntoBytes;

#[test]
fn virtq_desc() {
    // struct virtq_desc { le64 addr; le32 len; le16 flags; le16 next; };
    assert_eq!((size_of::<VirtqDesc>(), VirtqDesc::LEN), (16, 16));
    assert_eq!(offset_of!(VirtqDesc, addr), 0);
    assert_eq!(offset_of!(VirtqDesc, len), 8);
    assert_eq!(offset_of!(VirtqDesc, flags), 12);
    assert_eq!(offset_of!(VirtqDesc, next), 14);
    let mut d = VirtqDesc::default();
    d.set_addr(0x1122_3344_5566_7788);
    d.set_len(0x0102_0304);
    d.set_flags(VirtqDescFlags::NEXT | VirtqDescFlags::WRITE);
    d.set_next(0x0a0b);
    assert_eq!(
        d.as_bytes(),
        [
            0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x04, 0x03, 0x02, 0x01, 0x03, 0x00,
            0x0b, 0x0a
        ]
    );
    // VIRTQ_DESC_F_NEXT 1, VIRTQ_DESC_F_WRITE 2, VIRTQ_DESC_F_INDIRECT 4.
    assert_eq!(
        (
            VirtqDescFlags::NEXT.0,
            VirtqDescFlags::WRITE.0,
            VirtqDescFlags::INDIRECT.0
        ),
        (1, 2, 4)
    );
    assert!(d.flags().contains(VirtqDescFlags::WRITE));
    assert!(!d.flags().contains(VirtqDescFlags::INDIRECT));
    assert_eq!(format!("{:?}", d.flags()), "NEXT | WRITE");
    assert_eq!(format!("{:?}", VirtqDescFlags(0x0011)), "NEXT | 0x0010");
    assert_eq!(format!("{:?}", VirtqDescFlags::empty()), "0x0000");
}

#[test]
fn virtq_rings() {
    // struct virtq_avail { le16 flags; le16 idx; le16 ring[]; le16 used_event; };
    assert_eq!(size_of::<VirtqAvailHeader>(), 4);
    assert_eq!(
        (
            offset_of!(VirtqAvailHeader, flags),
            offset_of!(VirtqAvailHeader, idx)
        ),
        (0, 2)
    );
    assert_eq!(size_of::<VirtqAvailEntry>(), 2);
    // struct virtq_used { le16 flags; le16 idx; struct virtq_used_elem ring[]; le16 avail_event; };
    assert_eq!(size_of::<VirtqUsedHeader>(), 4);
    assert_eq!(
        (
            offset_of!(VirtqUsedHeader, flags),
            offset_of!(VirtqUsedHeader, idx)
        ),
        (0, 2)
    );
    // struct virtq_used_elem { le32 id; le32 len; };
    assert_eq!(size_of::<VirtqUsedElem>(), 8);
    assert_eq!(
        (
            offset_of!(VirtqUsedElem, id),
            offset_of!(VirtqUsedElem, len)
        ),
        (0, 4)
    );
    let mut e = VirtqUsedElem::default();
    e.set_id(3);
    e.set_len(0x0600);
    assert_eq!(e.as_bytes(), [3, 0, 0, 0, 0x00, 0x06, 0, 0]);
    let mut h = VirtqAvailHeader::default();
    h.set_idx(0x0102);
    assert_eq!(h.as_bytes(), [0, 0, 0x02, 0x01]);
    // le16 used_event after the available ring, le16 avail_event after the
    // used ring (2.7.7, 2.7.10).
    assert_eq!(
        (size_of::<VirtqUsedEvent>(), size_of::<VirtqAvailEvent>()),
        (2, 2)
    );
    let mut u = VirtqUsedEvent::default();
    u.set_used_event(0x0304);
    let mut a = VirtqAvailEvent::default();
    a.set_avail_event(0x0506);
    assert_eq!((u.as_bytes(), a.as_bytes()), (&[4, 3][..], &[6, 5][..]));
}

#[test]
fn virtio_net_hdr() {
    // struct virtio_net_hdr { u8 flags; u8 gso_type; le16 hdr_len; le16 gso_size;
    //   le16 csum_start; le16 csum_offset; le16 num_buffers; };
    assert_eq!((size_of::<VirtioNetHdr>(), VirtioNetHdr::LEN), (12, 12));
    assert_eq!(offset_of!(VirtioNetHdr, flags), 0);
    assert_eq!(offset_of!(VirtioNetHdr, gso_type), 1);
    assert_eq!(offset_of!(VirtioNetHdr, hdr_len), 2);
    assert_eq!(offset_of!(VirtioNetHdr, gso_size), 4);
    assert_eq!(offset_of!(VirtioNetHdr, csum_start), 6);
    assert_eq!(offset_of!(VirtioNetHdr, csum_offset), 8);
    assert_eq!(offset_of!(VirtioNetHdr, num_buffers), 10);
    assert_eq!(VirtioNetHdrFlags::NEEDS_CSUM.0, 1);
    let mut h = VirtioNetHdr::default();
    h.set_num_buffers(1);
    assert_eq!(h.as_bytes(), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
}

#[test]
fn virtio_blk_req() {
    // struct virtio_blk_req { le32 type; le32 reserved; le64 sector; u8 data[]; u8 status; };
    assert_eq!(
        (size_of::<VirtioBlkReqHeader>(), VirtioBlkReqHeader::LEN),
        (16, 16)
    );
    assert_eq!(offset_of!(VirtioBlkReqHeader, req_type), 0);
    assert_eq!(offset_of!(VirtioBlkReqHeader, reserved), 4);
    assert_eq!(offset_of!(VirtioBlkReqHeader, sector), 8);
    // VIRTIO_BLK_T_IN 0, VIRTIO_BLK_T_OUT 1; VIRTIO_BLK_S_OK 0, IOERR 1, UNSUPP 2.
    assert_eq!((VirtioBlkReqType::IN.0, VirtioBlkReqType::OUT.0), (0, 1));
    assert_eq!(
        (
            VirtioBlkStatus::OK.0,
            VirtioBlkStatus::IOERR.0,
            VirtioBlkStatus::UNSUPP.0
        ),
        (0, 1, 2)
    );
    assert_eq!(SECTOR_SIZE, 512);
    let mut r = VirtioBlkReqHeader::default();
    r.set_req_type(VirtioBlkReqType::OUT);
    r.set_sector(2);
    assert_eq!(
        r.as_bytes(),
        [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]
    );
}

#[test]
fn network_header_sizes() {
    use wire::{arp, ethernet, icmpv4, ipv4, udp};
    assert_eq!(ethernet::EthernetHeader::LEN, 14);
    assert_eq!(arp::ArpPacket::LEN, 28);
    assert_eq!(ipv4::Ipv4Header::LEN, 20);
    assert_eq!(ipv4::Ipv4Header::VERSION, 4);
    assert_eq!(icmpv4::Icmpv4Header::LEN, 4);
    assert_eq!(icmpv4::Icmpv4Echo::LEN, 4);
    assert_eq!(icmpv4::Icmpv4DestUnreachable::LEN, 4);
    assert_eq!(udp::UdpHeader::LEN, 8);
    // Every view is byte-aligned, so it can sit anywhere in a frame.
    assert_eq!(core::mem::align_of::<ipv4::Ipv4Header>(), 1);
}
