#!/usr/bin/env python3
"""Linux-side UDP helpers for the TAP interop test (xtask/src/tap.rs); run
inside the test's network namespace, like `nc -u` would be:

  udp.py send-expect IP PORT MSG   send MSG, print what comes back (exit 1 on timeout)
  udp.py sizes IP PORT N...        send one datagram of each N bytes, print
                                   `echoed N bytes` for each that came back
                                   byte for byte (exit 1 if one did not)
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
    if mode == "sizes":
        ip, port = sys.argv[2], int(sys.argv[3])
        s.settimeout(2.0)
        status = 0
        for k, n in enumerate(int(a) for a in sys.argv[4:]):
            msg = bytes((i * 31 + i // 256 + k) % 256 for i in range(n))
            for _ in range(3):
                s.sendto(msg, (ip, port))
                try:
                    while True:
                        data, _ = s.recvfrom(65536)
                        if data == msg:
                            break
                except socket.timeout:
                    continue
                print(f"echoed {n} bytes", flush=True)
                break
            else:
                print(f"no echo of {n} bytes", flush=True)
                status = 1
        return status
    if mode == "echo-server":
        s.bind(("0.0.0.0", int(sys.argv[2])))
        print("ready", flush=True)
        while True:
            data, peer = s.recvfrom(65536)
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
