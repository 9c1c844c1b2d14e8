#!/usr/bin/env bash
# How spec-tests/src/dhcp_captures.rs was made (no root): one boot on QEMU's
# user-mode network, whose DHCP server (QEMU's slirp) gives the guest its
# address, halted once the shell is up. Prints the four frames of the
# exchange (DISCOVER, OFFER, REQUEST, ACK) as Rust arrays, then tshark's
# reading of the fields the tests check. OFFER and ACK are QEMU's frames, not
# ours: the generated views are held to what another implementation wrote.
# Boots QEMU: run it under the guests' lock (flock /tmp/xv6net-guest.lock).
set -euo pipefail
cd "$(dirname "$0")/../.."
img=build/dhcp-capture.img
pcap=build/dhcp-capture.pcap
rm -f "$pcap"
(sleep 20; echo halt; sleep 5) | cargo xtask qemu --fs "$img" --fresh-fs >/dev/null 2>&1
frames=$(tshark -r "$pcap" -Y dhcp -T fields -e frame.number 2>/dev/null | head -4 | paste -sd,)
python3 - "$pcap" "$frames" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
want = [int(n) for n in sys.argv[2].split(",")]
at, n, names = 24, 0, ["DISCOVER", "OFFER", "REQUEST", "ACK"]
while at < len(data):
    _, _, incl, _ = struct.unpack("<IIII", data[at:at + 16])
    frame, at, n = data[at + 16:at + 16 + incl], at + 16 + incl, n + 1
    if n in want:
        print(f"/// Frame {n}: the {names[want.index(n)]}.")
        print(f"pub const {names[want.index(n)]}: [u8; {len(frame)}] = [")
        for i in range(0, len(frame), 16):
            print("    " + " ".join(f"0x{b:02x}," for b in frame[i:i + 16]))
        print("];\n")
PY
tshark -r "$pcap" -Y dhcp -o udp.check_checksum:TRUE -T fields -E header=y \
    -e frame.number -e eth.src -e eth.dst -e ip.src -e ip.dst -e ip.id -e ip.checksum \
    -e udp.srcport -e udp.dstport -e udp.length -e udp.checksum -e udp.checksum.status \
    -e dhcp.type -e dhcp.hops -e dhcp.id -e dhcp.secs -e dhcp.flags.bc \
    -e dhcp.ip.client -e dhcp.ip.your -e dhcp.ip.server -e dhcp.ip.relay -e dhcp.hw.mac_addr \
    -e dhcp.option.dhcp -e dhcp.option.dhcp_server_id -e dhcp.option.subnet_mask \
    -e dhcp.option.router -e dhcp.option.domain_name_server -e dhcp.option.ip_address_lease_time \
    -e dhcp.option.requested_ip_address -e dhcp.option.request_list_item 2>/dev/null | head -5
