#!/usr/bin/env python3
"""Linux-side UDP helpers for the TAP interop test (xtask/src/tap.rs); run
inside the test's network namespace, like `nc -u` would be:

  udp.py send-expect IP PORT MSG   send MSG, print what comes back (exit 1 on timeout)
  udp.py echo-server PORT          echo every datagram back, until killed
  udp.py chat PORT PEER_IP REPLY   wait for one datagram from PEER_IP:PORT,
                                   print it, answer REPLY to PEER_IP:PORT
"""
import socket
import sys


def main():
    mode = sys.argv[1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if mode == "send-expect":
        ip, port, msg = sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
        s.settimeout(1.0)
        for _ in range(5):
            s.sendto(msg, (ip, port))
            try:
                data, _ = s.recvfrom(4096)
            except socket.timeout:
                continue
            print(data.decode("latin-1"), flush=True)
            return 0 if data == msg else 1
        print("timeout", flush=True)
        return 1
    if mode == "echo-server":
        s.bind(("0.0.0.0", int(sys.argv[2])))
        print("ready", flush=True)
        while True:
            data, peer = s.recvfrom(4096)
            s.sendto(data, peer)
    if mode == "chat":
        port, peer_ip, reply = int(sys.argv[2]), sys.argv[3], sys.argv[4].encode()
        s.bind(("0.0.0.0", port))
        s.settimeout(20.0)
        print("ready", flush=True)
        while True:
            data, peer = s.recvfrom(4096)
            if peer[0] == peer_ip:
                break
        print("got: " + data.decode("latin-1").rstrip("\n"), flush=True)
        s.sendto(reply, (peer_ip, port))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
