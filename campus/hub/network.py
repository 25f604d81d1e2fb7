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
  own loopback address on the machine. These connections leave from the session's own
  address, ``127.77.<port // 256>.<port % 256>`` for the server's port (`session_address`),
  never from ``127.0.0.1``: whatever the kernel writes, the hub knows a session's request
  from its proxy's (`campus.hub.clients`).

Nothing else crosses, and what crosses is bounded (`RelayLimits`): each relay of a session
holds at most `connections` at once and refuses more at once (closed unread, and told in
the hub's log at most once a minute per session, with the count); a connection quiet in
both directions for `idle_seconds` is closed; a relayed connection buffers at most a few
chunks each way (reads wait until the other side has taken what was written).

It fails closed: a namespace that cannot be made, or holds any interface but loopback, a
relay to a service off loopback, or a relay that cannot listen, and the server does not
start.
"""

from __future__ import annotations

import asyncio
import ctypes
import ipaddress
import logging
import os
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .accounts import SYSTEM_PATH
from .errors import SandboxUnavailable

NAMESPACES = Path("/run/netns")  # where `ip netns add` keeps them
INSIDE = "127.0.0.1"
CLONE_NEWNET = 0x40000000
CHUNK = 1 << 16  # read at once, and buffered at most, each way of a relayed connection
SESSIONS = ipaddress.ip_network("127.77.0.0/16")  # the loopback addresses sessions' connections leave from
TELL_EVERY = 60.0  # seconds between log lines about one session's refused connections
log = logging.getLogger("campus.hub.network")

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


def session_address(server_port: int) -> str:
    """The loopback address the relays of the session serving on `server_port` connect from.

    Each running session has a port of its own, so an address of its own; none is 127.0.0.1.

    >>> session_address(8890), session_address(65535)
    ('127.77.34.186', '127.77.255.255')
    """
    if not 0 < server_port < SESSIONS.num_addresses:
        raise SandboxUnavailable(f"port {server_port} is not a TCP port; the server's port must be 1-65535")
    return str(SESSIONS[server_port])


def is_session(address: str) -> bool:
    """Whether `address` is one a session's relay connects from.

    >>> is_session("127.77.34.186"), is_session("127.0.0.1"), is_session("::1"), is_session("")
    (True, False, False, False)
    """
    try:
        return ipaddress.ip_address(address) in SESSIONS
    except ValueError:
        return False


def check_loopback(host: str) -> None:
    """Refuse a relay target off the machine's loopback: a connection from a session's loopback
    address can only go there (and the hub could no longer tell a session's requests)."""
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)}
    except OSError:
        found = set()
    if not found or not all(ipaddress.ip_address(a).is_loopback for a in found):
        raise SandboxUnavailable(f"{host} is not on the machine's loopback: a sealed session reaches the hub's API "
                                 "and the data service on loopback only; set CAMPUS_HUB_INTERNAL_URL and "
                                 "CAMPUS_HUB_DATA_URL to 127.0.0.1 addresses")


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


INWARD_FACTOR = 8  # the proxy's door in holds this many times the cap of the kernel's door out


@dataclass(frozen=True)
class RelayLimits:
    """What one session's relays hold at most (`campus.settings.SandboxSettings`)."""

    connections: int = 64  # at once, per relay: the kernel's out together, the proxy's in
    idle_seconds: float = 600.0  # a connection quiet both ways this long is closed


@dataclass
class Gate:
    """Admits at most `cap` connections of a session at once through a relay; the rest are
    refused, and the hub's log says so at most once every `TELL_EVERY` seconds, with the count."""

    session: str
    door: str
    cap: int
    log: logging.Logger = log
    clock: Callable[[], float] = time.monotonic
    holding: int = 0
    refused: int = 0
    told_at: float | None = None

    def admit(self) -> bool:
        if self.holding < self.cap:
            self.holding += 1
            return True
        self.refused += 1
        now = self.clock()
        if self.told_at is None or now - self.told_at >= TELL_EVERY:
            self.log.warning("%s: %d connection(s) %s refused since the last note: the session holds %d at "
                             "once, the cap (CAMPUS_SANDBOX_RELAY_CONNECTIONS)", self.session, self.refused,
                             self.door, self.cap)
            self.told_at, self.refused = now, 0
        return False

    def leave(self) -> None:
        self.holding -= 1


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, heard: list[float]) -> None:
    try:
        while data := await reader.read(CHUNK):
            heard[0] = time.monotonic()
            writer.write(data)
            await writer.drain()  # no more is read until the other side has taken it
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass


def _bounded(writer: asyncio.StreamWriter) -> None:
    writer.transport.set_write_buffer_limits(high=CHUNK)


async def _splice(a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                  b: tuple[asyncio.StreamReader, asyncio.StreamWriter], idle_seconds: float) -> None:
    """Carry bytes both ways until both ends close, or nothing has crossed for `idle_seconds`."""
    heard = [time.monotonic()]
    _bounded(a[1])
    _bounded(b[1])
    both = asyncio.gather(_pipe(a[0], b[1], heard), _pipe(b[0], a[1], heard))
    try:
        while not both.done():
            quiet_for = idle_seconds - (time.monotonic() - heard[0])
            if quiet_for <= 0:
                break
            await asyncio.wait([both], timeout=quiet_for)
    finally:
        ended = both.done()
        both.cancel()
        for writer in (a[1], b[1]):
            if ended:
                writer.close()
            else:
                writer.transport.abort()  # quiet too long: nothing is waited for
        await asyncio.gather(both, return_exceptions=True)


def gated(gate: Gate, relay):
    """`relay`, for the connections `gate` admits; the others closed at once, unread."""
    async def admitted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not gate.admit():
            writer.transport.abort()
            return
        try:
            await relay(reader, writer)
        finally:
            gate.leave()
            if not writer.transport.is_closing():
                writer.transport.abort()
    return admitted


@dataclass
class SessionNetwork:
    """A sealed session's namespace and the relays that cross it; `close` removes both."""

    name: str
    path: Path
    limits: RelayLimits = field(default_factory=RelayLimits)
    source: str = INSIDE  # the address its outward connections leave from
    relays: list[asyncio.Server] = field(default_factory=list)

    @classmethod
    async def open(cls, name: str, server_port: int, outwards: list[Outward],
                   limits: RelayLimits = RelayLimits(), logger: logging.Logger = log) -> "SessionNetwork":
        """The namespace `name`, relaying the machine's loopback `server_port` in and `outwards` out."""
        for out in outwards:
            await asyncio.to_thread(check_loopback, out.to[0])
        path = await asyncio.to_thread(make_namespace, name)
        network = cls(name, path, limits, session_address(server_port))
        # The proxy's connections carry her browser (JupyterLab loads and polls on many at once): the
        # proxy is the campus's own, so its door is wider; the kernel's door out holds the cap.
        inward = Gate(name, "in (from the proxy to its server)", limits.connections * INWARD_FACTOR, logger)
        outward_gate = Gate(name, "out (to the hub's API and the data service)", limits.connections, logger)
        try:
            network.relays.append(await asyncio.start_server(gated(inward, network._inward(server_port)), INSIDE,
                                                             server_port, limit=CHUNK))
            for out in outwards:
                listening = await socket_inside(path, out.port)
                relay = relay_out(out.to, network.source, limits.idle_seconds)
                network.relays.append(await asyncio.start_server(gated(outward_gate, relay), sock=listening,
                                                                 limit=CHUNK))
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
            await _splice((reader, writer), await asyncio.open_connection(sock=sock, limit=CHUNK),
                          self.limits.idle_seconds)
        return relay

    async def close(self) -> None:
        for relay in self.relays:
            relay.close()
        self.relays.clear()
        await asyncio.to_thread(remove_namespace, self.name)


def relay_out(to: tuple[str, int], source: str, idle_seconds: float):
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            other = await asyncio.open_connection(*to, local_addr=(source, 0), limit=CHUNK)
        except OSError:
            writer.close()
            return
        await _splice((reader, writer), other, idle_seconds)
    return relay
