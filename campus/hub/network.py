"""The egress lock: each sandboxed server in a network namespace of its own.

For the account ``campus-alice`` the hub makes the namespace ``campus-alice`` (``ip netns
add``). It holds one interface, its own loopback, and no route: every address beyond it is
unreachable (``connect`` fails at once, "Network is unreachable"), and its loopback is
its own, so PostgreSQL, the proxy's API and the other researchers' servers on the
machine's loopback are not there to reach. Unix sockets in ``/run`` are hidden by the
mounts (`campus.hub.mounts`); abstract ones belong to the namespace.

The hub relays exactly what the notebook server needs, in its own process:

* **in**: the machine's ``127.0.0.1:<server port>`` → the server inside (the proxy reaches it);
* **out**: ``127.0.0.1:<port>`` inside → the hub's API and the data service, each at its
  own address on the machine.

Nothing else crosses. It fails closed: a namespace that cannot be made, or holds any
interface but loopback, or a relay that cannot listen, and the server does not start.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .accounts import SYSTEM_PATH
from .errors import SandboxUnavailable

NAMESPACES = Path("/run/netns")  # where `ip netns add` keeps them
INSIDE = "127.0.0.1"
CLONE_NEWNET = 0x40000000
CHUNK = 1 << 16

_libc = ctypes.CDLL(None, use_errno=True)
_hub_namespace = os.open("/proc/self/ns/net", os.O_RDONLY)  # the hub's own, to come back to
# Sockets are made inside a namespace on this one thread, which does nothing else: a
# thread that entered a namespace never runs other code while it is there.
_entering = ThreadPoolExecutor(max_workers=1, thread_name_prefix="campus-netns")


@dataclass(frozen=True)
class Outward:
    """A loopback port inside the namespace relayed to a service on the machine."""

    port: int
    to: tuple[str, int]


def outward(url: str) -> tuple[str, Outward]:
    """`url` as the server inside should use it (loopback, the same port), and its relay.

    >>> outward("http://localhost:8081/hub/api")
    ('http://127.0.0.1:8081/hub/api', Outward(port=8081, to=('localhost', 8081)))
    """
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    inside = parts._replace(netloc=f"{INSIDE}:{port}")
    return urlunsplit(inside), Outward(port, (parts.hostname or INSIDE, port))


# --------------------------------------------------------------------------- the namespace


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, env={"PATH": SYSTEM_PATH})


def make_namespace(name: str) -> Path:
    """A new namespace `name` with only its loopback, up; an older one of that name is removed first."""
    _ip("netns", "delete", name)
    for step in (("netns", "add", name), ("-n", name, "link", "set", "lo", "up")):
        done = _ip(*step)
        if done.returncode != 0:
            _ip("netns", "delete", name)
            raise SandboxUnavailable(f"could not make the network namespace {name} (ip {' '.join(step)}: "
                                     f"{done.stderr.strip()}); the hub needs root and iproute2 to seal a session")
    check_sealed(name)
    return NAMESPACES / name


def interfaces(name: str) -> list[str]:
    """The interfaces in namespace `name`."""
    done = _ip("-n", name, "-o", "link", "show")
    if done.returncode != 0:
        raise SandboxUnavailable(f"could not list the interfaces of namespace {name}: {done.stderr.strip()}")
    return [line.split(":")[1].strip().split("@")[0] for line in done.stdout.splitlines() if line.strip()]


def check_sealed(name: str) -> None:
    """Refuse a namespace with any interface but its loopback: a route could lead out of it."""
    found = interfaces(name)
    if found != ["lo"]:
        remove_namespace(name)
        raise SandboxUnavailable(f"the network namespace {name} holds {', '.join(found)}, not only its loopback: "
                                 "the session would not be sealed, so the server does not start")


def remove_namespace(name: str) -> None:
    _ip("netns", "delete", name)


# --------------------------------------------------------------------------- sockets inside it


def _enter(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def _socket_inside(namespace: Path, listen_on: int | None) -> socket.socket:
    """A TCP socket made in `namespace` (listening on its loopback port `listen_on`, if given)."""
    fd = os.open(namespace, os.O_RDONLY)
    try:
        _enter(fd)
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if listen_on is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((INSIDE, listen_on))
                sock.listen(128)
            sock.setblocking(False)
            return sock
        finally:
            _enter(_hub_namespace)
    finally:
        os.close(fd)


async def socket_inside(namespace: Path, listen_on: int | None = None) -> socket.socket:
    return await asyncio.get_running_loop().run_in_executor(_entering, _socket_inside, namespace, listen_on)


# --------------------------------------------------------------------------- the relays


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass


async def _splice(a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                  b: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    try:
        await asyncio.gather(_pipe(a[0], b[1]), _pipe(b[0], a[1]))
    finally:
        for writer in (a[1], b[1]):
            writer.close()


@dataclass
class SessionNetwork:
    """A sealed session's namespace and the relays that cross it; `close` removes both."""

    name: str
    path: Path
    relays: list[asyncio.Server] = field(default_factory=list)

    @classmethod
    async def open(cls, name: str, server_port: int, outwards: list[Outward]) -> "SessionNetwork":
        """The namespace `name`, relaying the machine's loopback `server_port` in and `outwards` out."""
        path = await asyncio.to_thread(make_namespace, name)
        network = cls(name, path)
        try:
            network.relays.append(await asyncio.start_server(network._inward(server_port), INSIDE, server_port))
            for out in outwards:
                listening = await socket_inside(path, out.port)
                network.relays.append(await asyncio.start_server(_outward(out.to), sock=listening))
        except OSError as e:
            await network.close()
            raise SandboxUnavailable(f"could not relay the sealed session's ports ({e}); the server does not "
                                     "start. Another process may hold the port: start the server again") from None
        return network

    def _inward(self, port: int):
        async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = await socket_inside(self.path)
            try:
                await asyncio.get_running_loop().sock_connect(sock, (INSIDE, port))
            except OSError:
                sock.close()
                writer.close()  # the server is not listening yet: the proxy or the hub asks again
                return
            await _splice((reader, writer), await asyncio.open_connection(sock=sock))
        return relay

    async def close(self) -> None:
        for relay in self.relays:
            relay.close()
        self.relays.clear()
        await asyncio.to_thread(remove_namespace, self.name)


def _outward(to: tuple[str, int]):
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            other = await asyncio.open_connection(*to)
        except OSError:
            writer.close()
            return
        await _splice((reader, writer), other)
    return relay
