"""What sealing a session costs on the path a query's answer takes: the hub's relay out of the
session's network namespace (`campus.hub.network`), against the same connection on plain loopback.

    sudo .venv/bin/python bench/sessions.py [--megabytes 512] [--round-trips 2000]

A sender on the machine's loopback stands in for the data service: it writes the asked number
of megabytes (an Arrow answer's bytes), or echoes small messages (a query's round trip). The
same client runs once on the machine and once inside a sealed session's namespace, through the
relay. Prints throughput and round-trip time for each, and their ratio. Needs root.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys

from campus.hub.network import INSIDE, Outward, SessionNetwork

NAMESPACE = f"campus-bench-{os.getpid()}"
CLIENT = """
import socket, sys, time
port, mode, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
began = time.perf_counter()
if mode == "bulk":
    s.sendall(b"B" + n.to_bytes(8, "big"))
    left = n
    while left:
        left -= len(s.recv(1 << 20))
else:
    for _ in range(n):
        s.sendall(b"E")
        s.recv(1)
print(time.perf_counter() - began)
"""


async def sender(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """b'B' + n: send n bytes; b'E': echo one byte, again and again."""
    writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    first = await reader.read(1)
    if first == b"B":
        left = int.from_bytes(await reader.readexactly(8), "big")
        chunk = b"x" * (1 << 20)
        while left:
            writer.write(chunk[:min(left, len(chunk))])
            left -= min(left, len(chunk))
            await writer.drain()
    else:
        while first:
            writer.write(first)
            await writer.drain()
            first = await reader.read(1)
    writer.close()


async def client(port: int, mode: str, n: int, namespace: str | None) -> float:
    enter = ["nsenter", f"--net=/run/netns/{namespace}", "--"] if namespace else []
    done = await asyncio.create_subprocess_exec(*enter, sys.executable, "-c", CLIENT, str(port), mode, str(n),
                                                stdout=subprocess.PIPE)
    out, _ = await done.communicate()
    return float(out)


async def main(megabytes: int, round_trips: int) -> None:
    server = await asyncio.start_server(sender, INSIDE, 0)
    port = server.sockets[0].getsockname()[1]
    network = await SessionNetwork.open(NAMESPACE, server_port=_free_port(), outwards=[Outward(port, (INSIDE, port))])
    try:
        size = megabytes << 20
        print(f"{'path':<34}{'MB/s':>10}{'round trip µs':>16}")
        results = {}
        for name, namespace in (("plain loopback", None), ("sealed session, through the relay", NAMESPACE)):
            await client(port, "bulk", 1 << 20, namespace)  # warm
            bulk = min([await client(port, "bulk", size, namespace) for _ in range(3)])
            trips = min([await client(port, "echo", round_trips, namespace) for _ in range(3)])
            results[name] = (megabytes / bulk, trips / round_trips * 1e6)
            print(f"{name:<34}{results[name][0]:>10.0f}{results[name][1]:>16.0f}")
        plain, sealed = results["plain loopback"], results["sealed session, through the relay"]
        print(f"relay / plain: throughput {sealed[0] / plain[0]:.2f}x, round trip {sealed[1] / plain[1]:.1f}x "
              f"({megabytes} MB answers, {round_trips} one-byte round trips; best of 3)")
    finally:
        await network.close()
        server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((INSIDE, 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("bench/sessions.py makes a network namespace: run it as root")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=512)
    parser.add_argument("--round-trips", type=int, default=2000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.megabytes, arguments.round_trips))
