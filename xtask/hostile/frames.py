#!/usr/bin/env python3
"""Hostile peer for xv6net: the guest's only Ethernet neighbour.

`cargo xtask test` (xtask/src/hostile.rs) boots a guest whose NIC is a QEMU
`-netdev dgram` link on 127.0.0.1: QEMU sends every frame the guest
transmits as one UDP datagram to our port, and delivers every datagram we
send to its port as one frame. So this script sees the wire and can put
anything on it, with no root and nothing leaving the loopback interface.

We play an ordinary host (MY_IP, MY_MAC: the guest's gateway 10.0.2.2 by
default) that answers the guest's ARP requests, and between those we send
malformed frames, kind by kind. xtask drives us over stdin, one command per
line, and reads one JSON object per line back:

  kinds                 -> {"kinds": N}, then N lines {"name", "counter", "frames", "about"}
  burst NAME            -> {"kind", "sent", ...checks done on the way}
  alive                 -> {"ping": bool, "echo": bool}   (ping + UDP echo to port 7)
  flood N PORT          -> {"sent", "seconds", "rate", "tries_during", "pings_ok_during", "echoes_ok_during"}
  stats                 -> {"misdirected", "unreach_seen", "arp_replies_sent"}
  quit

`python3 frames.py --selftest` builds every kind offline and checks each
frame's defect is where it should be (no QEMU needed).

Every kind names the netstat counter it must move (`counter`) and by how
much (`frames`, the number of frames sent; `delta` when it differs), so
xtask can assert that the guest dropped it for the right reason.
"""

import argparse
import json
import os
import queue
import socket
import struct
import sys
import threading
import time

from scapy.all import ARP, Ether, ICMP, IP, UDP, Raw, fragment  # noqa: E402
from scapy.compat import raw  # noqa: E402

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
ECHO_PORT = 7  # the guest's udpecho
MY_PORT = 40007  # our UDP source port for echo checks
CLOSED_PORT = 9999  # nobody listens there in the guest


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def ip_bytes(ip):
    return socket.inet_aton(ip)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def fix_ip_checksum(frame):
    """Recomputes the IPv4 header checksum of an Ethernet frame in place
    (for headers we broke on purpose in some other field)."""
    b = bytearray(frame)
    ihl = (b[14] & 0x0F) * 4
    b[24:26] = b"\0\0"
    b[24:26] = struct.pack("!H", csum(bytes(b[14 : 14 + ihl])))
    return bytes(b)


# IPv4 option kinds (RFC 791, RFC 2113; proto-defs/ipv4.toml declares them).
OPT_NOP, OPT_RR, OPT_TS, OPT_RA = 1, 7, 68, 148


def with_ip_options(frame, options):
    """An Ethernet/IPv4 frame with `options` (whole words) after the fixed
    header: IHL, total length and the header checksum follow."""
    assert len(options) % 4 == 0
    b = bytearray(frame[:34] + options + frame[34:])
    b[14] = 0x40 | ((b[14] & 0x0F) + len(options) // 4)
    b[16:18] = struct.pack("!H", struct.unpack("!H", b[16:18])[0] + len(options))
    return fix_ip_checksum(bytes(b))


class Kinds:
    """The catalogue of bad (and a few tricky-but-valid) frames."""

    def __init__(self, my_mac, my_ip, guest_mac, guest_ip, netmask_bits=24):
        self.my_mac, self.my_ip = my_mac, my_ip
        self.guest_mac, self.guest_ip = guest_mac, guest_ip
        net = struct.unpack("!I", ip_bytes(guest_ip))[0]
        mask = (0xFFFFFFFF << (32 - netmask_bits)) & 0xFFFFFFFF
        self.subnet_bcast = socket.inet_ntoa(struct.pack("!I", (net & mask) | (~mask & 0xFFFFFFFF)))
        self.stranger_ip = socket.inet_ntoa(struct.pack("!I", (net & mask) | 99))

    # Building blocks --------------------------------------------------
    def eth(self, dst=None, src=None, type=0x0800):
        return Ether(dst=dst or self.guest_mac, src=src or self.my_mac, type=type)

    def ip(self, **kw):
        kw.setdefault("src", self.my_ip)
        kw.setdefault("dst", self.guest_ip)
        return IP(**kw)

    def ping(self, seq=1, payload=b"xv6net-hostile", **ipkw):
        return raw(self.eth() / self.ip(**ipkw) / ICMP(type=8, id=0x4242, seq=seq) / Raw(payload))

    def udp(self, dport=ECHO_PORT, payload=b"hostile", **ipkw):
        return raw(self.eth() / self.ip(**ipkw) / UDP(sport=MY_PORT, dport=dport) / Raw(payload))

    def arp(self, op=1, hwsrc=None, psrc=None, pdst=None, hwdst="00:00:00:00:00:00", dst=None, **kw):
        # The Ethernet source is the ARP sender when that is a plain unicast
        # MAC, else ours, so only the ARP layer carries the defect.
        esrc = hwsrc if hwsrc and not mac_bytes(hwsrc)[0] & 1 and any(mac_bytes(hwsrc)) else self.my_mac
        return raw(
            Ether(dst=dst or BROADCAST_MAC, src=esrc, type=0x0806)
            / ARP(op=op, hwsrc=hwsrc or self.my_mac, psrc=psrc or self.my_ip, pdst=pdst or self.guest_ip, hwdst=hwdst, **kw)
        )

    # The catalogue ------------------------------------------------------
    def all(self):
        """The kinds, each a dict: name, counter, frames, about, delta, check."""
        if not hasattr(self, "_all"):
            self._all = self.build()
        return self._all

    def build(self):
        K = []

        def kind(name, counter, frames, about, delta=None, check=None):
            K.append(dict(name=name, counter=counter, frames=frames, about=about, delta=delta, check=check))

        good_ip = raw(self.eth() / self.ip() / UDP(sport=MY_PORT, dport=ECHO_PORT) / Raw(b"x" * 40))
        # Ethernet
        kind("eth_runt", "drop_eth_too_short", [b"\x01\x02\x03", raw(self.eth())[:13], raw(self.eth())[:6]],
             "frames shorter than an Ethernet header")
        big = raw(self.eth() / self.ip() / ICMP(type=8, id=0x4242, seq=1) / Raw(b"O" * 1600))
        kind("eth_oversized", "drop_eth_oversized", [big[:1515], big[:1600], big[:1800]],
             "frames longer than 1514 bytes (MTU 1500 + header)")
        kind("eth_src_multicast", "drop_eth_bad_source",
             [raw(self.eth(src="01:00:5e:00:00:01") / self.ip() / ICMP(type=8)),
              raw(self.eth(src=BROADCAST_MAC) / self.ip() / ICMP(type=8)),
              raw(self.eth(src="33:33:00:00:00:01") / self.ip() / ICMP(type=8))],
             "group (multicast/broadcast) source MAC")
        kind("eth_not_for_us", "drop_eth_not_for_us",
             [raw(self.eth(dst="52:54:00:99:99:99") / self.ip() / ICMP(type=8)),
              raw(self.eth(dst="01:00:5e:00:00:fb") / self.ip() / ICMP(type=8))],
             "destination MAC neither ours nor broadcast")
        kind("eth_unknown_type", "drop_eth_unknown_type",
             [raw(self.eth(type=0x86DD) / Raw(b"\x60" + b"\0" * 39)),
              raw(self.eth(type=0x88CC) / Raw(b"\0" * 46)),
              raw(self.eth(type=0x0030) / Raw(b"\0" * 46))],
             "EtherTypes we do not speak (IPv6, LLDP, an 802.3 length)")
        # ARP
        a = self.arp()
        kind("arp_truncated", "drop_arp_too_short", [a[:14 + 20], a[:14 + 27], a[:14 + 1]],
             "ARP packets cut short of 28 bytes")
        kind("arp_bad_sizes", "drop_arp_bad_format",
             [self.arp(hwlen=8), self.arp(plen=16), self.arp(hwtype=6), self.arp(ptype=0x86DD)],
             "ARP with wrong hardware/protocol types or sizes")
        kind("arp_bad_opcode", "drop_arp_bad_oper",
             [self.arp(op=0), self.arp(op=3), self.arp(op=0xFFFF)],
             "ARP operations other than request/reply")
        kind("arp_bad_sender", "drop_arp_bad_sender",
             [self.arp(hwsrc="01:00:5e:00:00:01"), self.arp(psrc=self.guest_ip, hwsrc="52:54:00:99:00:01"),
              self.arp(psrc="255.255.255.255", hwsrc="52:54:00:99:00:02"),
              self.arp(hwsrc="00:00:00:00:00:00")],
             "ARP from a group/zero MAC, or claiming the guest's own or a broadcast IP")
        kind("arp_not_for_us", "drop_arp_not_for_us", [self.arp(pdst=self.stranger_ip)] * 2,
             "ARP requests for somebody else's address")
        kind("arp_poison", "drop_arp_unsolicited",
             [self.arp(op=2, hwsrc="de:ad:be:ef:00:01", psrc=self.my_ip, dst=self.guest_mac, hwdst=self.guest_mac),
              self.arp(op=2, hwsrc="de:ad:be:ef:00:01", psrc=self.my_ip, dst=BROADCAST_MAC),
              self.arp(op=2, hwsrc="de:ad:be:ef:00:02", psrc=self.stranger_ip, dst=self.guest_mac,
                       hwdst=self.guest_mac)],
             "unsolicited ARP replies: re-pointing the gateway's entry, adding a new one")
        # IPv4
        kind("ipv4_truncated", "drop_ipv4_too_short", [good_ip[:14 + 10], good_ip[:14 + 19], good_ip[:14 + 1]],
             "IPv4 headers cut short of 20 bytes")
        b = bytearray(good_ip)
        b[14] = 0x65
        kind("ipv4_bad_version", "drop_ipv4_bad_version", [fix_ip_checksum(bytes(b))],
             "version 6 in an IPv4 (EtherType 0x0800) header")

        def with_ihl(ihl, frame=good_ip):
            b = bytearray(frame)
            b[14] = 0x40 | ihl
            return bytes(b)

        kind("ipv4_ihl_small", "drop_ipv4_bad_ihl", [with_ihl(4), with_ihl(0), with_ihl(1)],
             "IHL below 5 words")
        short = raw(self.eth() / self.ip() / Raw(b"\0" * 4))  # a 24-byte IP packet
        kind("ipv4_ihl_past_frame", "drop_ipv4_bad_ihl", [with_ihl(15, short), with_ihl(7, short)],
             "IHL pointing past the end of the frame")
        kind("ipv4_bad_checksum", "drop_ipv4_bad_checksum",
             [raw(self.eth() / self.ip(chksum=0x1234) / ICMP(type=8)),
              raw(self.eth() / self.ip(chksum=0) / UDP(sport=MY_PORT, dport=ECHO_PORT) / Raw(b"hi"))],
             "IPv4 header checksum wrong")
        kind("ipv4_len_over_frame", "drop_ipv4_bad_length",
             [raw(self.eth() / self.ip(len=1000) / ICMP(type=8)), raw(self.eth() / self.ip(len=65535) / ICMP(type=8))],
             "total length larger than the frame")
        kind("ipv4_len_under_header", "drop_ipv4_bad_length",
             [raw(self.eth() / self.ip(len=10) / ICMP(type=8)), raw(self.eth() / self.ip(len=0) / ICMP(type=8))],
             "total length smaller than the header")
        cut = raw(self.eth() / self.ip(len=20 + 8 + 2) / UDP(sport=MY_PORT, dport=ECHO_PORT, len=8 + 20) / Raw(b"A" * 20))
        kind("ipv4_len_cuts_udp", "drop_udp_bad_length", [cut, cut],
             "total length smaller than the frame, ending inside the UDP datagram")
        tcp_syn = b"\x9c\x47\x00\x50" + b"\0" * 8 + b"\x50\x02" + b"\0" * 6
        kind("ipv4_tcp_fragments", "drop_ipv4_frag_tcp",
             [raw(self.eth() / self.ip(flags="MF", id=7, proto=6) / Raw(tcp_syn + b"F" * 4)),
              raw(self.eth() / self.ip(flags="MF", id=8, proto=6) / Raw(tcp_syn + b"F" * 12)),
              raw(self.eth() / self.ip(frag=185, id=8, proto=6) / Raw(b"F" * 16)),
              raw(self.eth() / self.ip(frag=100, id=9, proto=6) / Raw(b"F" * 16))],
             "TCP segments in fragments (first and later), which TCP does not take")
        # Fragment attacks on reassembly (UDP, ICMP and the rest are reassembled).
        kind("ipv4_ping_of_death", "drop_ipv4_frag_too_long",
             [raw(self.eth() / self.ip(frag=8189, id=10, proto=1) / Raw(b"D" * 24)),
              raw(self.eth() / self.ip(frag=8191, id=11, proto=17) / Raw(b"D" * 16))],
             "ping of death: last fragments reaching past 65,535 bytes")

        def udp_frag(ident, offset, more, data):
            return raw(self.eth() / self.ip(id=ident, proto=17, frag=offset // 8, flags="MF" if more else 0)
                       / Raw(data))

        head = raw(UDP(sport=MY_PORT, dport=ECHO_PORT, len=8 + 40) / Raw(b"T" * 40))[:8 + 24]
        kind("ipv4_teardrop", "drop_ipv4_frag_overlap",
             [udp_frag(20, 0, True, head), udp_frag(20, 8, False, b"T" * 8),
              udp_frag(21, 0, True, head), udp_frag(21, 16, True, b"T" * 24)],
             "teardrop: second fragments inside the first (each datagram dropped whole)")
        def icmp_frag(ident, offset, more, data):
            return raw(self.eth() / self.ip(id=ident, proto=1, frag=offset // 8, flags="MF" if more else 0)
                       / Raw(data))

        echo_head = raw(ICMP(type=8, id=0x4343, seq=1) / Raw(b"E" * 40))[:8 + 24]
        kind("ipv4_teardrop_icmp", "drop_ipv4_frag_overlap",
             [icmp_frag(22, 0, True, echo_head), icmp_frag(22, 16, False, b"E" * 16),
              icmp_frag(23, 24, False, b"E" * 24), icmp_frag(23, 0, True, echo_head + b"E" * 8)],
             "teardrop with ICMP echo fragments: later pieces inside earlier ones, either order")
        tcp_head = b"\x9c\x47\x00\x50" + b"\0" * 4
        kind("ipv4_tiny_fragment", "drop_ipv4_frag_tiny",
             [raw(self.eth() / self.ip(id=30, proto=6, flags="MF") / Raw(tcp_head)),
              raw(self.eth() / self.ip(id=31, proto=6, frag=1) / Raw(b"\x02" + b"\0" * 11))],
             "tiny fragments (RFC 1858): 8 bytes of a TCP header, and TCP at offset 8 rewriting the flags")
        kind("ipv4_fragment_bad_length", "drop_ipv4_frag_bad_length",
             [udp_frag(40, 0, True, head[:8 + 5]), udp_frag(41, 0, True, b"")],
             "fragments with MF set whose length is not a whole number of 8-byte units")
        kind("ipv4_fragment_flood", "drop_ipv4_frag_evicted",
             [udp_frag(1000 + i, 0, True, head[:16]) for i in range(100)],
             "fragment flood: 100 datagrams that never complete (the oldest give way, the rest time out)",
             check="frag_flood")
        kind("ipv4_src_broadcast", "drop_ipv4_bad_source",
             [raw(self.eth() / self.ip(src="255.255.255.255") / ICMP(type=8)),
              raw(self.eth() / self.ip(src=self.subnet_bcast) / ICMP(type=8))],
             "broadcast source address (limited and directed)")
        kind("ipv4_src_multicast", "drop_ipv4_bad_source",
             [raw(self.eth() / self.ip(src="224.0.0.1") / ICMP(type=8)),
              raw(self.eth() / self.ip(src="239.255.255.250") / UDP(sport=1900, dport=ECHO_PORT))],
             "multicast source address")
        kind("ipv4_not_for_us", "drop_ipv4_not_for_us",
             [raw(self.eth() / self.ip(dst=self.stranger_ip) / ICMP(type=8)),
              raw(self.eth() / self.ip(dst="127.0.0.1") / ICMP(type=8))],
             "destination address not ours")
        kind("ipv4_unknown_protocol", "drop_ipv4_unknown_protocol",
             [raw(self.eth() / self.ip(proto=253) / Raw(b"\0" * 20)), raw(self.eth() / self.ip(proto=254) / Raw(b"\0" * 40))],
             "IP protocols we do not speak (experimental 253 and 254): protocol unreachable sent")
        opt = lambda o, seq: with_ip_options(self.ping(seq=seq), bytes(o))
        kind("ipv4_option_bad_length", "drop_ipv4_option_bad_length",
             [opt([OPT_RA, 0, 0, 0], 1), opt([OPT_RR, 1, 0, 0], 2), opt([OPT_RA, 3, 0, OPT_NOP], 3)],
             "IPv4 options of length 0, 1, or shorter than their kind (router alert of 3 bytes)")
        kind("ipv4_option_past_end", "drop_ipv4_option_past_end",
             [opt([OPT_NOP, OPT_RR, 8, 4], 4), opt([OPT_NOP, OPT_NOP, OPT_NOP, OPT_TS], 5)],
             "IPv4 options running past the header, or a kind without its length byte")
        kind("ipv4_option_bad_pointer", "drop_ipv4_option_bad_pointer",
             [opt([OPT_RR, 7, 2, 0, 0, 0, 0, 0], 6), opt([OPT_TS, 8, 10, 1, 0, 0, 0, 0], 7)],
             "record-route and timestamp options whose pointer is outside the option")
        kind("ipv4_ttl_zero", "ipv4_ttl_zero",
             [self.ping(seq=900 + i, ttl=0) for i in range(3)],
             "echo requests with TTL 0: a host must accept them (RFC 1122 3.2.1.7) and reply",
             check="ttl0_replies")
        # UDP
        kind("udp_truncated", "drop_udp_too_short",
             [raw(self.eth() / self.ip(proto=17) / Raw(b"\x9c\x47\x00")), raw(self.eth() / self.ip(proto=17) / Raw(b"\x9c\x47\x00\x07\x00\x08\x00"))],
             "UDP headers cut short of 8 bytes")
        kind("udp_len_over", "drop_udp_bad_length",
             [raw(self.eth() / self.ip() / UDP(sport=MY_PORT, dport=ECHO_PORT, len=200) / Raw(b"B" * 10))] * 2,
             "UDP length past the IP payload")
        kind("udp_len_under", "drop_udp_bad_length",
             [raw(self.eth() / self.ip() / UDP(sport=MY_PORT, dport=ECHO_PORT, len=4) / Raw(b"B" * 10)),
              raw(self.eth() / self.ip() / UDP(sport=MY_PORT, dport=ECHO_PORT, len=0) / Raw(b"B" * 10))],
             "UDP length below the 8-byte header")
        kind("udp_bad_checksum", "drop_udp_bad_checksum",
             [raw(self.eth() / self.ip() / UDP(sport=MY_PORT, dport=ECHO_PORT, chksum=0xBEEF) / Raw(b"bad sum")),
              raw(self.eth() / self.ip() / UDP(sport=MY_PORT, dport=ECHO_PORT, chksum=0xFFFF) / Raw(b"bad sum 2"))],
             "UDP checksum wrong (to udpecho: nothing may come back)", check="no_echo")
        # ICMP
        kind("icmp_truncated", "drop_icmp_too_short",
             [raw(self.eth() / self.ip(proto=1) / Raw(b"\x08\x00\xf7")), raw(self.eth() / self.ip(proto=1) / Raw(b"\x08\x00\xf7\xff\x00\x00"))],
             "ICMP messages cut short of their header")
        kind("icmp_bad_checksum", "drop_icmp_bad_checksum",
             [raw(self.eth() / self.ip() / ICMP(type=8, chksum=0x1111, id=1, seq=1) / Raw(b"sum"))] * 3,
             "ICMP checksum wrong")
        kind("icmp_unsupported", "drop_icmp_unsupported",
             [raw(self.eth() / self.ip() / ICMP(type=13)), raw(self.eth() / self.ip() / ICMP(type=5, code=1)),
              raw(self.eth() / self.ip() / ICMP(type=200))],
             "ICMP types we do not handle (timestamp, redirect, unassigned)")
        kind("icmp_broadcast_echo", "drop_icmp_broadcast_echo",
             [raw(self.eth(dst=BROADCAST_MAC) / self.ip(dst="255.255.255.255") / ICMP(type=8, id=5, seq=1)),
              raw(self.eth(dst=BROADCAST_MAC) / self.ip(dst=self.subnet_bcast) / ICMP(type=8, id=5, seq=2))],
             "echo requests to broadcast addresses (smurf)")
        kind("icmp_unreach_garbage", "drop_icmp_too_short",
             [raw(self.eth() / self.ip() / ICMP(type=3, code=3) / Raw(b"\x40" + b"\0" * 7)),
              raw(self.eth() / self.ip() / ICMP(type=3, code=3) / Raw(b"\x4f" + b"\0" * 23))],
             "destination unreachable quoting a header with a bad IHL")
        kind("icmp_echo_max", "icmp_echo_replies_out",
             [self.ping(seq=1000 + i, payload=bytes((i + j) & 0xFF for j in range(1472))) for i in range(2)],
             "echo requests with the largest unfragmented payload (1472 bytes): answered intact",
             check="max_replies")
        huge = self.eth() / self.ip(id=4242) / ICMP(type=8, id=0x4242, seq=2000) / Raw(b"H" * 65000)
        frags = [raw(Ether(dst=self.guest_mac, src=self.my_mac) / f) for f in fragment(huge[IP], fragsize=1480)]
        kind("icmp_echo_huge_fragmented", "ipv4_fragments_in", frags,
             "a 65,000-byte echo request in %d fragments: answered in fragments, intact" % len(frags),
             check="huge_reply")
        # Valid but unusual: link padding past the IP total length must be cut off.
        padded = raw(self.eth() / self.ip() / UDP(sport=MY_PORT, dport=ECHO_PORT) / Raw(b"padded-echo")) + b"\xee" * 30
        kind("udp_echo_padded", "udp_in", [padded], "UDP with 30 bytes of trailing link padding: echoed without it",
             check="padded_echo")
        storm = [self.udp(dport=CLOSED_PORT, payload=b"closed %d" % i) for i in range(300)]
        kind("udp_closed_port_storm", "drop_udp_no_socket", storm,
             "300 datagrams to a closed port back to back: port unreachables rate-limited",
             check="unreach_rate")
        return K


def host_udp_rcvbuf_errors():
    """Datagrams the host kernel dropped because a UDP socket's receive
    buffer was full (here: QEMU's, while the guest's RX ring was full and
    QEMU stopped reading). From /proc/net/snmp; 0 where unavailable."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [l.split() for l in f if l.startswith("Udp:")]
        return int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return 0


class Peer:
    """The link: a UDP socket on 127.0.0.1 that QEMU's dgram netdev talks to."""

    def __init__(self, args, kinds):
        self.args, self.kinds = args, kinds
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", args.port))
        self.qemu = ("127.0.0.1", args.qemu_port)
        self.my_mac = mac_bytes(args.my_mac)
        self.my_ip = ip_bytes(args.my_ip)
        self.guest_ip = ip_bytes(args.guest_ip)
        self.icmp = queue.Queue()  # (id, seq, payload, ttl-ish) echo replies
        self.udp = queue.Queue()  # payloads from the guest's port 7
        self.misdirected = 0  # guest unicasts not to our MAC (ARP poisoned?)
        self.unreach_seen = 0
        self.unreach_times = []
        self.arp_replies_sent = 0
        self.frames_seen = 0
        self.frags = {}  # IPv4 identification -> {offset: payload, "end": length}
        threading.Thread(target=self.receiver, daemon=True).start()

    def send(self, frame):
        assert len(frame) > 0, "a zero-length datagram would end QEMU's link"
        self.sock.sendto(frame, self.qemu)

    def receiver(self):
        bcast = b"\xff" * 6
        while True:
            f, _ = self.sock.recvfrom(65536)
            self.frames_seen += 1
            if len(f) < 14:
                continue
            dst, etype = f[0:6], struct.unpack("!H", f[12:14])[0]
            if dst not in (self.my_mac, bcast):
                self.misdirected += 1
                continue
            if etype == 0x0806 and len(f) >= 42:
                op = struct.unpack("!H", f[20:22])[0]
                if op == 1 and f[38:42] == self.my_ip:
                    sha, spa = f[22:28], f[28:32]
                    reply = (sha + self.my_mac + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x02"
                             + self.my_mac + self.my_ip + sha + spa)
                    self.send(reply)
                    self.arp_replies_sent += 1
            elif etype == 0x0800 and len(f) >= 34:
                ihl = (f[14] & 0x0F) * 4
                total = struct.unpack("!H", f[16:18])[0]
                proto = f[23]
                body = f[14 + ihl : 14 + total]
                frag = struct.unpack("!H", f[20:22])[0]
                if frag & 0x3FFF:  # MF or an offset: a piece of a big reply
                    body = self.defragment(f[18:20], frag, body)
                    if body is None:
                        continue
                if proto == 1 and len(body) >= 8:
                    t = body[0]
                    if t == 0:
                        ident, seq = struct.unpack("!HH", body[4:8])
                        self.icmp.put((ident, seq, body[8:]))
                    elif t == 3:
                        self.unreach_seen += 1
                        self.unreach_times.append(time.monotonic())
                elif proto == 17 and len(body) >= 8:
                    sport = struct.unpack("!H", body[0:2])[0]
                    if sport == ECHO_PORT:
                        self.udp.put(body[8:])

    def defragment(self, ident, frag, piece):
        """Keeps a fragment the guest sent; the datagram's payload once
        every piece from 0 to the end has come, else None."""
        parts = self.frags.setdefault(ident, {})
        offset = (frag & 0x1FFF) * 8
        parts[offset] = piece
        if not frag & 0x2000:
            parts["end"] = offset + len(piece)
        end, whole = parts.get("end"), b""
        if end is None:
            return None
        while len(whole) < end:
            nxt = parts.get(len(whole))
            if not nxt:
                return None
            whole += nxt
        del self.frags[ident]
        return whole

    @staticmethod
    def drain(q):
        while True:
            try:
                q.get_nowait()
            except queue.Empty:
                return

    def wait_for(self, q, pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                item = q.get(timeout=left)
            except queue.Empty:
                return None
            if pred(item):
                return item

    def ping_once(self, seq, timeout=1.0, payload=b"alive?"):
        self.send(self.kinds.ping(seq=seq, payload=payload))
        return self.wait_for(self.icmp, lambda r: r[1] == seq and r[2] == payload, timeout) is not None

    def echo_once(self, tag, timeout=1.0):
        payload = b"echo check %d" % tag
        self.send(self.kinds.udp(payload=payload))
        return self.wait_for(self.udp, lambda p: p == payload, timeout) is not None

    def alive(self, tries=3):
        seq = int(time.monotonic() * 1000) & 0x7FFF
        ping = any(self.ping_once(seq + i) for i in range(tries))
        echo = any(self.echo_once(seq + i) for i in range(tries))
        return {"ping": ping, "echo": echo, "misdirected": self.misdirected}

    def burst(self, name):
        k = next((k for k in self.kinds.all() if k["name"] == name), None)
        if k is None:
            return {"error": "no kind %s" % name}
        self.drain(self.icmp)
        self.drain(self.udp)
        before_unreach = self.unreach_seen
        t0 = time.monotonic()
        for i, f in enumerate(k["frames"]):
            self.send(f)
            if i % 20 == 19:
                # Bursts of 20 (still ~20,000 frames/s): back to back, 300
                # frames overrun the guest's 128-slot RX ring and QEMU's
                # socket, and the host, not the guest, would drop some.
                time.sleep(0.001)
        sent_s = time.monotonic() - t0
        out = {"kind": name, "sent": len(k["frames"]), "send_seconds": round(sent_s, 4)}
        check = k["check"]
        if check == "ttl0_replies":
            got = [self.wait_for(self.icmp, lambda r: 900 <= r[1] < 903, 2.0) for _ in range(3)]
            out["replies"] = sum(r is not None for r in got)
            out["ok"] = out["replies"] == 3
        elif check == "max_replies":
            want = {1000 + i: bytes((i + j) & 0xFF for j in range(1472)) for i in range(2)}
            got = 0
            for _ in range(2):
                r = self.wait_for(self.icmp, lambda r: r[1] in want, 2.0)
                if r is not None and r[2] == want[r[1]]:
                    got += 1
            out["replies_intact"] = got
            out["ok"] = got == 2
        elif check == "huge_reply":
            want = b"H" * 65000
            r = self.wait_for(self.icmp, lambda r: r[0] == 0x4242 and r[1] == 2000, 3.0)
            out["reply_bytes"] = None if r is None else len(r[2])
            out["ok"] = r is not None and r[2] == want
        elif check == "no_echo":
            r = self.wait_for(self.udp, lambda p: p.startswith(b"bad sum"), 0.5)
            out["ok"] = r is None
        elif check == "padded_echo":
            r = self.wait_for(self.udp, lambda p: p.startswith(b"padded"), 2.0)
            out["echoed"] = None if r is None else r.decode("latin-1")
            out["ok"] = r == b"padded-echo"
        elif check == "unreach_rate":
            time.sleep(0.5)
            n = self.unreach_seen - before_unreach
            elapsed = time.monotonic() - t0
            # Token bucket: 10 at once, then 10 per second.
            limit = 10 + int(elapsed * 10) + 1
            out.update(unreach_seen=n, limit=limit, elapsed=round(elapsed, 3))
            out["ok"] = 0 < n <= limit
        else:
            out["ok"] = True
        out["misdirected"] = self.misdirected
        return out

    def flood(self, n, port):
        """n datagrams to `port` as fast as a plain socket sends them, while
        the main thread pings every 100 ms."""
        frames = [self.kinds.udp(dport=port, payload=b"F" * 18 + struct.pack("!I", i)) for i in range(16)]
        done = threading.Event()
        result = {}

        def blast():
            send, dst = self.sock.sendto, self.qemu
            t0 = time.monotonic()
            sent = 0
            for i in range(n):
                try:
                    send(frames[i & 15], dst)
                    sent += 1
                except (BlockingIOError, OSError):
                    pass
            result["seconds"] = time.monotonic() - t0
            result["sent"] = sent
            done.set()

        host_before = host_udp_rcvbuf_errors()
        th = threading.Thread(target=blast)
        th.start()
        tries, pings, echoes, seq = 0, 0, 0, 3000
        while not done.is_set():
            tries += 1
            seq += 1
            pings += self.ping_once(seq, timeout=0.3, payload=b"during flood")
            echoes += self.echo_once(seq, timeout=0.3)
        th.join()
        time.sleep(0.5)  # let QEMU drain its socket before counting
        host_drops = host_udp_rcvbuf_errors() - host_before
        secs = result["seconds"]
        return {"sent": result["sent"], "seconds": round(secs, 3), "rate": int(result["sent"] / max(secs, 1e-6)),
                "tries_during": tries, "pings_ok_during": pings, "echoes_ok_during": echoes,
                "host_rcvbuf_drops": host_drops}


def selftest(kinds):
    """Offline: every kind builds, and each frame carries its defect."""
    ks = kinds.all()
    names = [k["name"] for k in ks]
    assert len(set(names)) == len(names), "duplicate kind names"
    for k in ks:
        assert k["frames"], k["name"]
        for f in k["frames"]:
            assert isinstance(f, bytes) and len(f) > 0, k["name"]
    by = {k["name"]: k for k in ks}
    assert all(len(f) < 14 for f in by["eth_runt"]["frames"])
    assert all(len(f) > 1514 for f in by["eth_oversized"]["frames"])
    assert all(f[6] & 1 for f in by["eth_src_multicast"]["frames"])
    assert all(len(f) - 14 < 28 for f in by["arp_truncated"]["frames"])
    assert all(f[14] & 0x0F < 5 for f in by["ipv4_ihl_small"]["frames"])
    for f in by["ipv4_ihl_past_frame"]["frames"]:
        assert (f[14] & 0x0F) * 4 > len(f) - 14
    for f in by["ipv4_bad_checksum"]["frames"]:
        assert csum(f[14:34]) != 0
    for name in ("ipv4_len_over_frame", "ipv4_len_under_header", "ipv4_truncated"):
        for f in by[name]["frames"]:
            if len(f) >= 34:
                total = struct.unpack("!H", f[16:18])[0]
                assert total > len(f) - 14 or total < 20, name
                assert csum(f[14:34]) == 0, name + ": the checksum must be right"
    for f in by["ipv4_tcp_fragments"]["frames"]:
        flags = struct.unpack("!H", f[20:22])[0]
        assert (flags & 0x2000 or flags & 0x1FFF) and f[23] == 6
        # Past the tiny-fragment checks: a whole header first, no offset 8.
        assert flags & 0x1FFF > 1 or len(f) - 34 >= 20
    for f in by["ipv4_teardrop_icmp"]["frames"]:
        assert f[23] == 1 and struct.unpack("!H", f[20:22])[0] & 0x3FFF
    for f in by["udp_bad_checksum"]["frames"]:
        ip = IP(f[14:])
        good = raw(IP(src=ip.src, dst=ip.dst) / UDP(sport=ip[UDP].sport, dport=ip[UDP].dport) / Raw(bytes(ip[UDP].payload)))
        assert good[26:28] != f[14 + 26 : 14 + 28]
    for f in by["icmp_bad_checksum"]["frames"]:
        assert csum(f[34:]) != 0
    for f in by["ipv4_ping_of_death"]["frames"]:
        ip = IP(f[14:])
        assert ip.frag * 8 + len(ip.payload) + 20 > 65535
    for f in by["ipv4_fragment_flood"]["frames"]:
        assert IP(f[14:]).flags == "MF"
    frags = by["icmp_echo_huge_fragmented"]["frames"]
    assert len(frags) >= 40 and all(len(f) <= 1514 for f in frags)
    assert all(len(f) == 14 + 20 + 8 + 1472 for f in by["icmp_echo_max"]["frames"])
    assert by["ipv4_ttl_zero"]["frames"][0][22] == 0
    for name in ("ipv4_option_bad_length", "ipv4_option_past_end", "ipv4_option_bad_pointer"):
        for f in by[name]["frames"]:
            assert f[14] & 0x0F > 5 and csum(f[14 : 14 + (f[14] & 0x0F) * 4]) == 0, name
    total = sum(len(k["frames"]) for k in ks)
    print("selftest: %d kinds, %d frames, all defects in place" % (len(ks), total))
    for k in ks:
        print("  %-26s %-28s %4d  %s" % (k["name"], k["counter"], len(k["frames"]), k["about"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, help="our UDP port (QEMU's dgram remote.port)")
    ap.add_argument("--qemu-port", type=int, help="QEMU's dgram local.port")
    ap.add_argument("--guest-mac", default="52:54:00:12:34:56")
    ap.add_argument("--guest-ip", default="10.0.2.15")
    ap.add_argument("--my-mac", default="52:54:00:0e:ff:01")
    ap.add_argument("--my-ip", default="10.0.2.2")
    ap.add_argument("--selftest", action="store_true")
    args = ap.parse_args()
    kinds = Kinds(args.my_mac, args.my_ip, args.guest_mac, args.guest_ip)
    if args.selftest:
        selftest(kinds)
        return
    if not (args.port and args.qemu_port):
        ap.error("--port and --qemu-port are needed (or --selftest)")
    peer = Peer(args, kinds)
    reply = lambda obj: (sys.stdout.write(json.dumps(obj) + "\n"), sys.stdout.flush())
    reply({"ready": True})
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd = words[0]
        try:
            if cmd == "kinds":
                ks = kinds.all()
                reply({"kinds": len(ks)})
                for d in ks:
                    reply({"name": d["name"], "counter": d["counter"], "frames": len(d["frames"]), "about": d["about"]})
            elif cmd == "burst":
                reply(peer.burst(words[1]))
            elif cmd == "alive":
                reply(peer.alive())
            elif cmd == "flood":
                reply(peer.flood(int(words[1]), int(words[2])))
            elif cmd == "stats":
                reply({"misdirected": peer.misdirected, "unreach_seen": peer.unreach_seen,
                       "arp_replies_sent": peer.arp_replies_sent, "frames_seen": peer.frames_seen})
            elif cmd == "quit":
                reply({"bye": True})
                break
            else:
                reply({"error": "unknown command %s" % cmd})
        except Exception as e:  # report, keep serving
            reply({"error": "%s: %r" % (cmd, e)})
    os._exit(0)


if __name__ == "__main__":
    main()
