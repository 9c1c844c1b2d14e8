#!/usr/bin/env bash
# How spec-tests/captures/dns-veth.pcap was made (run as root; needs ip,
# ethtool, python3, tshark): the name tests' own server (xtask/peer/dns.py)
# on 10.9.0.2:53 in one namespace of a veth pair, asked by Linux's UDP
# stack in the other for alias.xv6.test (A, recursion desired, id 0xbeef):
# the answer is a CNAME chain to www.xv6.test and its A record, names
# compressed. Nothing leaves the machine. Then prints tshark's reading of
# every DNS field, which spec-tests/src/dns_captures.rs records.
set -euo pipefail
here=$(dirname "$0")
out=${1:-$here/dns-veth.pcap}
. "$here/veth-pair.sh"
ip netns exec $R python3 "$here/../../xtask/peer/dns.py" 10.9.0.2 53 >/dev/null 2>&1 &
server=$!
ip netns exec $L tshark -q -i veth-l -w "$out" -F pcap -f udp &
tshark=$!
sleep 4
ip netns exec $L python3 -c '
import socket, struct
q = struct.pack("!HHHHHH", 0xbeef, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in "alias.xv6.test".split(".")) + b"\0"
q += struct.pack("!HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.9.0.1", 40053)); s.settimeout(5)
s.sendto(q, ("10.9.0.2", 53)); print(s.recvfrom(600)[0].hex())'
sleep 1
kill -INT $tshark
wait $tshark || true
kill $server
chmod 644 "$out"
tshark -r "$out" -Y dns -T fields -E header=y -e frame.number -e udp.payload \
    -e dns.id -e dns.flags.response -e dns.flags.opcode -e dns.flags.authoritative \
    -e dns.flags.truncated -e dns.flags.recdesired -e dns.flags.recavail -e dns.flags.z \
    -e dns.flags.authenticated -e dns.flags.checkdisable -e dns.flags.rcode \
    -e dns.count.queries -e dns.count.answers -e dns.count.auth_rr -e dns.count.add_rr \
    -e dns.qry.name -e dns.qry.type -e dns.qry.class \
    -e dns.resp.name -e dns.resp.type -e dns.resp.class -e dns.resp.ttl -e dns.resp.len \
    -e dns.cname -e dns.a
