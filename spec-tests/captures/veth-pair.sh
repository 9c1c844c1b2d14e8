# Sourced by the make-*captures.sh scripts: two network namespaces, $L and
# $R, joined by a veth pair (veth-l 02:00:00:00:00:01 10.9.0.1/24, veth-r
# 02:00:00:00:00:02 10.9.0.2/24) with checksum offload off, so captured
# checksums are the final ones; removed again when the script exits.
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
