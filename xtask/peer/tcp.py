#!/usr/bin/env python3
"""Linux-side TCP helpers for the TAP tests (xtask/src/tcp_tap.rs), run
inside the test's network namespace with scapy:

  tcp.py flood IFACE IP PORT MAC COUNT
      COUNT SYNs to IP:PORT (Ethernet MAC) from spoofed addresses
      10.0.9.100-199 and random ports, sent on IFACE.
  tcp.py inject IFACE IP PORT MAC
      a real connection to an echo server at IP:PORT (the guest's tcpecho),
      with segments injected into it on IFACE: an RST and data outside the
      receive window (ignored; the data is answered by an ACK), an RST
      inside the window but not at its left edge (answered by a challenge
      ACK, RFC 5961), then an RST at the left edge, which resets the
      connection. Prints one `ok:` line per check, exits 1 on the first
      that fails.
"""
import random
import socket
import sys
import time

from scapy.all import AsyncSniffer, Ether, IP, TCP, conf, sendp

conf.verb = 0
WAIT = 2.0
# The IP identification of every segment we inject, to tell them from the
# segments of the real socket on the link.
INJECTED = 0x7e57


def flood(iface, ip, port, mac, count):
    frames = [
        Ether(dst=mac)
        / IP(src=f"10.0.9.{random.randint(100, 199)}", dst=ip)
        / TCP(sport=random.randint(1024, 65535), dport=port, flags="S",
              seq=random.getrandbits(32), window=64240)
        for _ in range(count)
    ]
    sendp(frames, iface=iface)
    print(f"ok: {count} SYNs sent", flush=True)


def data_len(p):
    """Bytes of data in a captured segment (Ethernet padding aside)."""
    return p[IP].len - 4 * p[IP].ihl - 4 * p[TCP].dataofs


def fail(why):
    print(f"FAIL: {why}", flush=True)
    sys.exit(1)


class Conversation:
    """A connected socket and every segment of its connection seen on the link."""

    def __init__(self, iface, ip, port, mac):
        self.iface, self.ip, self.port, self.mac = iface, ip, port, mac
        self.seen = []
        self.sniffer = AsyncSniffer(
            iface=iface, filter=f"tcp and host {ip} and port {port}",
            prn=self.seen.append, store=False)
        self.sniffer.start()
        time.sleep(0.5)
        self.sock = socket.create_connection((ip, port), timeout=10)
        self.lport = self.sock.getsockname()[1]

    def echo(self, msg):
        self.sock.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = self.sock.recv(len(msg) - len(got))
            if not chunk:
                break
            got += chunk
        return got

    def ours(self):
        return [p for p in self.seen
                if p[TCP].sport == self.lport and p[IP].id != INJECTED]

    def theirs(self, since=0):
        return [p for p in self.seen[since:] if p[TCP].dport == self.lport]

    def left_edge(self):
        """The guest's RCV.NXT, as its latest segment acknowledges."""
        time.sleep(0.3)  # the sniffer's thread may lag the socket
        return self.theirs()[-1][TCP].ack

    def our_timestamps(self):
        """A timestamp option as our last segment carried it."""
        for name, value in self.ours()[-1][TCP].options:
            if name == "Timestamp":
                return [("NOP", None), ("NOP", None), ("Timestamp", value)]
        return []

    def send(self, seq, flags, payload=b"", options=()):
        last = self.theirs()[-1]
        frame = (Ether(dst=self.mac)
                 / IP(src=self.sock.getsockname()[0], dst=self.ip, id=INJECTED)
                 / TCP(sport=self.lport, dport=self.port, seq=seq & 0xffffffff,
                       # An RST without ACK carries no acknowledgment number.
                       ack=0 if flags == "R" else (last[TCP].seq + data_len(last)) & 0xffffffff,
                       flags=flags, window=502, options=list(options))
                 / payload)
        mark = len(self.seen)
        sendp(frame, iface=self.iface)
        return mark

    def acks_after(self, mark, ack):
        """Pure ACKs from the guest acknowledging `ack`, after `mark`."""
        time.sleep(WAIT)
        return [p for p in self.theirs(mark)
                if p[TCP].flags == "A" and p[TCP].ack == ack
                and data_len(p) == 0]


def inject(iface, ip, port, mac):
    c = Conversation(iface, ip, port, mac)
    if c.echo(b"one\n") != b"one\n":
        fail("no echo before any injection")
    time.sleep(0.5)
    edge = c.left_edge()

    c.send(edge + (1 << 30), "R")
    time.sleep(WAIT)
    if c.echo(b"two\n") != b"two\n":
        fail("an RST far outside the window broke the connection")
    print("ok: an RST outside the window is ignored", flush=True)

    edge = c.left_edge()
    mark = c.send(edge + (1 << 30), "PA", b"bogus\n", c.our_timestamps())
    if not c.acks_after(mark, edge):
        fail(f"no ACK of {edge} answered data outside the window")
    if c.echo(b"three\n") != b"three\n":
        fail("data outside the window was delivered or broke the connection")
    print("ok: data outside the window is answered by an ACK and dropped", flush=True)

    edge = c.left_edge()
    mark = c.send(edge + 1, "R")
    if not c.acks_after(mark, edge):
        fail("an RST inside the window but not at its edge got no challenge ACK")
    if c.echo(b"four\n") != b"four\n":
        fail("an RST inside the window but not at its edge reset the connection")
    print("ok: an RST inside the window is challenged (RFC 5961) and ignored", flush=True)

    edge = c.left_edge()
    c.send(edge, "R")
    time.sleep(WAIT)
    try:
        c.sock.sendall(b"five\n")
        got = c.sock.recv(100)
    except (ConnectionResetError, BrokenPipeError):
        got = None
    except socket.timeout:
        fail("after an exact RST the guest still holds the connection (no RST for data)")
    if got is not None:
        fail(f"after an exact RST the guest answered {got!r}")
    print("ok: an RST at the window's edge resets; later data is answered by RST", flush=True)
    c.sniffer.stop()


def main():
    mode = sys.argv[1]
    if mode == "flood":
        iface, ip, port, mac, count = sys.argv[2:7]
        flood(iface, ip, int(port), mac, int(count))
    elif mode == "inject":
        iface, ip, port, mac = sys.argv[2:6]
        inject(iface, ip, int(port), mac)
    else:
        fail(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
