#!/usr/bin/env bash
# How spec-tests/captures/linux-veth.pcap was made (run as root; needs ip,
# ethtool, ping, python3, tshark). Two network namespaces joined by a veth
# pair; nothing leaves the machine. Linux builds every frame: ARP request and
# reply, ICMP echo request/reply (ping), a UDP datagram to a listener, and a
# UDP datagram to a closed port with the ICMP port-unreachable it provokes.
# Checksum offload is turned off so the captured checksums are the final ones.
set -euo pipefail
out=${1:-$(dirname "$0")/linux-veth.pcap}
L=xa-left R=xa-right
cleanup() { ip netns del $L 2>/dev/null || true; ip netns del $R 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add $L
ip netns add $R
ip link add veth-l netns $L address 02:00:00:00:00:01 type veth peer name veth-r netns $R address 02:00:00:00:00:02
ip -n $L addr add 10.9.0.1/24 dev veth-l
ip -n $R addr add 10.9.0.2/24 dev veth-r
for ns in $L $R; do ip -n $ns link set lo up; done
ip -n $L link set veth-l up
ip -n $R link set veth-r up
ip netns exec $L ethtool -K veth-l tx off rx off >/dev/null
ip netns exec $R ethtool -K veth-r tx off rx off >/dev/null
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
