#!/usr/bin/env python3
"""The wire between the guest and Linux in the TCP tests (xtask/src/tcp_tap.rs),
with netem's impairments done in user space: the kernels these tests run on
may lack sch_netem (`tc qdisc add ... netem` answers "Specified qdisc kind
is unknown"), so the frames pass through here instead.

  netem.py TAP GUEST_PORT WIRE_PORT

runs inside the test's network namespace: it attaches to the TAP device TAP
(Linux's end) and to QEMU's `dgram` netdev (the guest's end: QEMU sends each
frame as one datagram to 127.0.0.1:WIRE_PORT and receives on GUEST_PORT),
and forwards frames both ways. Commands on stdin, each answered `ok` on
stdout, set what happens to every frame in both directions:

  clean                           forward everything at once
  netem loss 5% reorder 25% duplicate 1% delay 20ms
                                  as `tc qdisc ... netem` would: drop with the
                                  loss probability, send a second copy with the
                                  duplicate probability, send at once with the
                                  reorder probability and otherwise after the
                                  delay (so delayed frames are overtaken)
  cut                             drop everything (the peer vanishes)
"""
import fcntl
import heapq
import os
import random
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


class Impairment:
    def __init__(self):
        self.loss = self.reorder = self.duplicate = 0.0
        self.delay = 0.0
        self.cut = False

    def set(self, words):
        """Applies one command; False when it is not understood."""
        fresh = Impairment()
        if words == ["cut"]:
            fresh.cut = True
        elif words and words[0] == "netem" and len(words) % 2 == 1:
            for name, value in zip(words[1::2], words[2::2]):
                if name in ("loss", "reorder", "duplicate") and value.endswith("%"):
                    setattr(fresh, name, float(value[:-1]) / 100)
                elif name == "delay" and value.endswith("ms"):
                    fresh.delay = float(value[:-2]) / 1000
                else:
                    return False
        elif words != ["clean"]:
            return False
        self.__dict__.update(fresh.__dict__)
        return True

    def schedule(self, now):
        """The times at which a frame offered now goes out (none: lost)."""
        if self.cut or random.random() < self.loss:
            return []
        copies = 2 if random.random() < self.duplicate else 1
        out = []
        for _ in range(copies):
            late = self.delay > 0 and random.random() >= self.reorder
            out.append(now + (self.delay if late else 0))
        return out


def main():
    tap_name, guest_port, wire_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tap = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH", tap_name.encode(), IFF_TAP | IFF_NO_PI))
    wire = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    wire.bind(("127.0.0.1", wire_port))
    guest = ("127.0.0.1", guest_port)
    impairment = Impairment()
    pending = []  # (when, order, to_guest, frame)
    order = 0
    stdin = sys.stdin.fileno()
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, to_guest, frame = heapq.heappop(pending)
            try:
                if to_guest:
                    wire.sendto(frame, guest)
                else:
                    os.write(tap, frame)
            except OSError:
                pass  # the guest is not listening yet, or the TAP is down
        timeout = max(0.0, pending[0][0] - now) if pending else 1.0
        ready, _, _ = select.select([tap, wire, stdin], [], [], timeout)
        now = time.monotonic()
        for fd in ready:
            if fd == stdin:
                line = sys.stdin.readline()
                if not line:
                    return
                ok = impairment.set(line.split())
                print("ok" if ok else f"bad command: {line.strip()}", flush=True)
                continue
            if fd == tap:
                frame, to_guest = os.read(tap, 65536), True
            else:
                frame, to_guest = wire.recv(65536), False
            if not frame:
                continue  # an empty datagram would end QEMU's link
            for when in impairment.schedule(now):
                order += 1
                heapq.heappush(pending, (when, order, to_guest, frame))


if __name__ == "__main__":
    main()
