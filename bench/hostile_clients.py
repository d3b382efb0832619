#!/usr/bin/env python3
"""Clients that hold a server's connections without asking much of it, for the load tests.

  bench/hostile_clients.py PORT slowloris N SECONDS  N clients that send a request head one
      byte every second (reconnecting when the server ends them), for SECONDS
  bench/hostile_clients.py PORT idle N SECONDS       N connections opened and left idle

Prints how many connections were open at the end and how many the server closed meanwhile.
"""
import resource
import socket
import sys
import time

HEAD = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    return s


def main():
    port, mode, n, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    clients = [[connect(port), 0] for _ in range(n)]
    closed = 0
    end = time.time() + seconds
    while time.time() < end:
        for c in clients:
            sock, sent = c
            try:
                if mode == "slowloris":
                    sock.send(HEAD[sent:sent + 1])
                    c[1] = sent + 1
                data = sock.recv(4096)
                if data == b"" or data:  # closed, or answered (a 408): start again
                    raise ConnectionError
            except BlockingIOError:
                pass
            except (ConnectionError, OSError):
                closed += 1
                sock.close()
                c[0], c[1] = connect(port), 0
        time.sleep(1.0)
    print(f"{mode}: {n} connections open at the end; {closed} ended by the server meanwhile")


if __name__ == "__main__":
    main()
