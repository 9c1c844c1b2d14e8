#!/usr/bin/env bash
# How spec-tests/captures/linux-veth.pcap was made (run as root; needs ip,
# ethtool, ping, python3, tshark). Two network namespaces joined by a veth
# pair; nothing leaves the machine. Linux builds every frame: ARP request and
# reply, ICMP echo request/reply (ping), a UDP datagram to a listener, and a
# UDP datagram to a closed port with the ICMP port-unreachable it provokes.
# Checksum offload is turned off so the captured checksums are the final ones.
set -euo pipefail
out=${1:-$(dirname "$0")/linux-veth.pcap}
. "$(dirname "$0")/veth-pair.sh"
ip netns exec $L tshark -q -i veth-l -w "$out" -F pcap &
tshark=$!
sleep 4
ip netns exec $L ping -c 2 -i 0.2 -p 78763657 10.9.0.2 >/dev/null
ip netns exec $R python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.9.0.2", 7777)); s.settimeout(5); print(s.recvfrom(100))' &
sleep 0.5
ip netns exec $L python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.9.0.1", 40000))
s.sendto(b"hello xv6net", ("10.9.0.2", 7777)); s.sendto(b"anyone?", ("10.9.0.2", 9))'
sleep 1
kill -INT $tshark
wait $tshark || true
chmod 644 "$out"
