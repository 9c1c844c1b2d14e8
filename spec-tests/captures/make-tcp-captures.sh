#!/usr/bin/env bash
# How the TCP frames of spec-tests/src/tcp_captures.rs were captured (run as
# root; needs ip, ethtool, python3, tshark). The same two network namespaces
# and veth pair as make-captures.sh; nothing leaves the machine. Linux builds
# every segment of one TCP conversation: the handshake with the options Linux
# offers (MSS, SACK permitted, timestamps, window scale), data both ways, the
# FIN exchange, and a SYN to a closed port answered by RST. Checksum offload
# is off so the captured checksums are the final ones.
set -euo pipefail
out=${1:-$(dirname "$0")/linux-veth-tcp.pcap}
. "$(dirname "$0")/veth-pair.sh"
ip -n $L neigh add 10.9.0.2 lladdr 02:00:00:00:00:02 dev veth-l
ip -n $R neigh add 10.9.0.1 lladdr 02:00:00:00:00:01 dev veth-r
ip netns exec $L tshark -q -i veth-l -w "$out" -F pcap -f tcp &
tshark=$!
sleep 4
# The server answers one line and closes; the client sends, reads, closes.
ip netns exec $R python3 -c '
import socket; s = socket.socket(); s.bind(("10.9.0.2", 8080)); s.listen(1)
c, _ = s.accept(); c.recv(100); c.sendall(b"hello from linux\n"); c.shutdown(socket.SHUT_WR); c.recv(100); c.close()' &
sleep 0.5
ip netns exec $L python3 -c '
import socket, time
s = socket.socket(); s.bind(("10.9.0.1", 40001)); s.connect(("10.9.0.2", 8080))
s.sendall(b"hello xv6net tcp\n"); time.sleep(0.3); s.recv(100); s.recv(100); s.close()
r = socket.socket(); r.bind(("10.9.0.1", 40002))
try: r.connect(("10.9.0.2", 9))
except ConnectionRefusedError: pass'
sleep 1
kill -INT $tshark
wait $tshark || true
chmod 644 "$out"
