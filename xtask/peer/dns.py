#!/usr/bin/env python3
"""The DNS server of the name tests (xtask/src/dns_user.rs) and of the
captured vectors (spec-tests/captures/make-dns-captures.sh): a few fixed
names, standard library only, never a forwarder. It answers over UDP and
over TCP (RFC 1035, section 4.2) on the same port.

  dns.py ADDR PORT     serve on ADDR:PORT (PORT 0: pick one); prints
                       "dns: serving on PORT" once both sockets listen

The zone (every name under xv6.test; class IN):
  www.xv6.test     A 10.0.2.2 (the host, as the guest sees it)
  alias.xv6.test   CNAME web.xv6.test, which is CNAME www.xv6.test
  nope.xv6.test    does not exist (NXDOMAIN), like every name not here
  big.xv6.test     40 A records: over UDP the answer does not fit 512
                   bytes and is sent truncated (TC, no records); over TCP
                   whole
  loop.xv6.test    answered with an owner name whose compression pointer
                   points back into itself (a loop)
  flaky.xv6.test   A 10.0.2.2, but the first query for it is dropped
  short.xv6.test   truncated (TC) over UDP; over TCP the length
                   announces the whole reply, but the connection ends
                   inside its A record (a reply cut short)
  far.xv6.test     truncated (TC) over UDP; over TCP answered with an
                   owner name that points past the end of the message
  spoof.xv6.test   A 10.0.2.2 over UDP, after a first reply with another
                   id (one that answers another query)
  chain.xv6.test   a chain of 9 CNAMEs (c1.chain.xv6.test ... c9), one
                   more than the resolver follows, to A 10.0.2.2
The last two go malformed over TCP only, where the tests' tshark reads
every payload as plain data: a malformed DNS message over UDP would be
flagged there as a malformed frame. Answers compress names (RFC 1035, section 4.1.4). Each query is logged
to stderr as "dns: query NAME TYPE over udp|tcp".
"""
import socket
import struct
import sys
import threading

HOST = bytes([10, 0, 2, 2])
ZONE_A = {
    "www.xv6.test": [HOST],
    "flaky.xv6.test": [HOST],
    "big.xv6.test": [bytes([10, 0, 3, i]) for i in range(1, 41)],
}
ZONE_CNAME = {"alias.xv6.test": "web.xv6.test", "web.xv6.test": "www.xv6.test"}
CHAIN = ["chain.xv6.test"] + [f"c{i}.chain.xv6.test" for i in range(1, 10)]
ZONE_CNAME.update(zip(CHAIN, CHAIN[1:]))
ZONE_A[CHAIN[-1]] = [HOST]
for name in ("short.xv6.test", "spoof.xv6.test"):
    ZONE_A[name] = [HOST]
# Names whose owner name is written wrong on purpose (see `answer`).
HOSTILE_OWNER = ("loop.xv6.test", "far.xv6.test")
# Names answered malformed over TCP only (truncated over UDP).
OVER_TCP = ("short.xv6.test", "far.xv6.test")


class Cut:
    """A reply over TCP that ends early: its length announces `whole`
    bytes, `data` (fewer) follow, then the connection closes."""

    def __init__(self, whole, data):
        self.whole, self.data = whole, data
TYPE_A, TYPE_CNAME, CLASS_IN = 1, 5, 1
NXDOMAIN = 3
UDP_MAX = 512
TTL = 300

dropped = set()
lock = threading.Lock()


def read_name(msg, at):
    """The (uncompressed) question name at `at` and where it ends."""
    labels = []
    while True:
        n = msg[at]
        if n == 0:
            return ".".join(labels).lower(), at + 1
        if n >= 64:
            raise ValueError("compressed question")
        labels.append(msg[at + 1 : at + 1 + n].decode("ascii", "replace"))
        at += 1 + n


class Writer:
    """A message being built, compressing names against what it holds."""

    def __init__(self):
        self.buf = bytearray()
        self.seen = {}

    def name(self, text):
        labels = text.split(".")
        for i in range(len(labels)):
            suffix = ".".join(labels[i:]).lower()
            if suffix in self.seen:
                self.buf += struct.pack("!H", 0xC000 | self.seen[suffix])
                return
            if len(self.buf) < 0x3FFF:
                self.seen[suffix] = len(self.buf)
            self.buf += bytes([len(labels[i])]) + labels[i].encode()
        self.buf += b"\0"

    def record(self, owner, rtype, rdata_fn):
        self.name(owner)
        self.buf += struct.pack("!HHIH", rtype, CLASS_IN, TTL, 0)
        at = len(self.buf)
        rdata_fn()
        struct.pack_into("!H", self.buf, at - 2, len(self.buf) - at)


def answer(query, tcp):
    """The replies to send to `query`, in order (None: drop it)."""
    qid, flags, qdcount = struct.unpack("!HHH", query[:6])
    name, end = read_name(query, 12)
    qtype, qclass = struct.unpack("!HH", query[end : end + 4])
    print(f"dns: query {name} {qtype} over {'tcp' if tcp else 'udp'}",
          file=sys.stderr, flush=True)
    if name == "flaky.xv6.test":
        with lock:
            if not dropped:
                dropped.add(qid)
                return None
    w = Writer()
    rd = flags & 0x0100
    w.buf += struct.pack("!HHHHHH", qid, 0x8400 | rd, 1, 0, 0, 0)
    w.name(name)
    w.buf += struct.pack("!HH", qtype, qclass)
    answers = 0
    rcode = 0
    owner = name
    while owner in ZONE_CNAME:
        target = ZONE_CNAME[owner]
        w.record(owner, TYPE_CNAME, lambda t=target: w.name(t))
        answers += 1
        owner = target
    if name == "loop.xv6.test":
        # The owner name: label "loop", then a pointer to that label.
        at = len(w.buf)
        w.buf += b"\x04loop" + struct.pack("!H", 0xC000 | at)
        w.buf += struct.pack("!HHIH", TYPE_A, CLASS_IN, TTL, 4) + HOST
        answers += 1
    elif name == "far.xv6.test":
        # The owner name: a pointer far past the end of the message.
        w.buf += struct.pack("!H", 0xC000 | 0x3FFF)
        w.buf += struct.pack("!HHIH", TYPE_A, CLASS_IN, TTL, 4) + HOST
        answers += 1
    elif owner in ZONE_A:
        if qtype == TYPE_A:
            for addr in ZONE_A[owner]:
                w.record(owner, TYPE_A, lambda a=addr: w.buf.extend(a))
                answers += 1
    elif owner not in ZONE_CNAME and name not in HOSTILE_OWNER:
        rcode = NXDOMAIN
    struct.pack_into("!HH", w.buf, 2, 0x8400 | rd | rcode, 1)
    struct.pack_into("!H", w.buf, 6, answers)
    msg = bytes(w.buf)
    if not tcp and (len(msg) > UDP_MAX or name in OVER_TCP):
        # Truncated: the header (TC set, no records) and the question.
        head = bytearray(query[: end + 4])
        struct.pack_into("!HH", head, 2, 0x8600 | rd, 1)
        struct.pack_into("!HHH", head, 6, 0, 0, 0)
        return [bytes(head)]
    if name == "short.xv6.test":
        # Cut inside the record's fixed part: its owner (a 2-byte pointer)
        # and 5 of its 10 bytes stay.
        return [Cut(len(msg), msg[: end + 4 + 2 + 5])]
    if name == "spoof.xv6.test" and not tcp:
        other = bytearray(msg)
        struct.pack_into("!H", other, 0, (qid + 1) & 0xFFFF)
        return [bytes(other), msg]
    return [msg]


def serve_udp(sock):
    while True:
        query, peer = sock.recvfrom(4096)
        try:
            reply = answer(query, tcp=False)
        except (ValueError, struct.error, IndexError) as e:
            print(f"dns: bad query from {peer}: {e}", file=sys.stderr, flush=True)
            continue
        for msg in reply or []:
            sock.sendto(msg, peer)


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        more = conn.recv(n - len(data))
        if not more:
            return None
        data += more
    return data


def serve_tcp_conn(conn):
    with conn:
        conn.settimeout(10)
        while True:
            head = read_exact(conn, 2)
            if head is None:
                return
            query = read_exact(conn, struct.unpack("!H", head)[0])
            if query is None:
                return
            try:
                reply = answer(query, tcp=True)
            except (ValueError, struct.error, IndexError):
                return
            for msg in reply or []:
                if isinstance(msg, Cut):
                    conn.sendall(struct.pack("!H", msg.whole) + msg.data)
                    return
                conn.sendall(struct.pack("!H", len(msg)) + msg)


def serve_tcp(sock):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve_tcp_conn, args=(conn,), daemon=True).start()


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    # UDP and TCP on one port: pick the UDP port, then take the same for TCP
    # (retrying with another when TCP has it).
    for _ in range(20):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((addr, port))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((addr, udp.getsockname()[1]))
            break
        except OSError:
            udp.close()
            tcp.close()
            if port != 0:
                raise
    tcp.listen(16)
    threading.Thread(target=serve_tcp, args=(tcp,), daemon=True).start()
    print(f"dns: serving on {udp.getsockname()[1]}", flush=True)
    serve_udp(udp)


if __name__ == "__main__":
    main()
