"""The hub's relays out of a sealed session (`campus.hub.network`), on plain loopback: no
namespace, no hub. A relay admits at most its cap of connections at once and refuses the
rest unread, tells the log once a minute rather than once a refusal, closes a connection
quiet for its idle time, buffers a bounded number of bytes, and connects from the session's
own address; the hub reads a client's address from its proxy only (`campus.hub.clients`).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campus.hub.clients import client_address
from campus.hub.network import Gate, gated, is_session, relay_out, session_address

SOURCE = session_address(8890)
CAP = 4


class Target:
    """An echo server standing in for the hub's API: counts the connections it holds and their peers."""

    def __init__(self):
        self.holding = 0
        self.most = 0
        self.peers: set[str] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.holding += 1
        self.most = max(self.most, self.holding)
        self.peers.add(writer.get_extra_info("peername")[0])
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            self.holding -= 1
            writer.close()


async def relay(cap: int = CAP, idle: float = 600.0, target=None):
    """(target, its server, the gate, the relay's port)."""
    target = target or Target()
    served = await asyncio.start_server(target.serve, "127.0.0.1", 0)
    gate = Gate("campus-test-alice", "out (to the hub's API and the data service)", cap)
    relaying = await asyncio.start_server(gated(gate, relay_out(("127.0.0.1", port(served)), SOURCE, idle)),
                                          "127.0.0.1", 0)
    return target, served, gate, relaying


def port(server: asyncio.Server) -> int:
    return server.sockets[0].getsockname()[1]


async def relayed(relay_port: int) -> tuple[bool, asyncio.StreamWriter]:
    """Open a connection through the relay; whether it reaches the target (an echo comes back)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", relay_port)
    try:
        writer.write(b"ping")
        await writer.drain()
        return await asyncio.wait_for(reader.read(4), 30) == b"ping", writer
    except (ConnectionResetError, BrokenPipeError):
        return False, writer


async def until(condition, what: str) -> None:
    """Let the loop run until `condition()` holds (the relay notices a close on its next turn)."""
    for _ in range(100_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"never: {what}")


def test_a_relay_admits_its_cap_refuses_the_rest_at_once_and_admits_again_when_one_closes():
    async def run():
        target, served, gate, relaying = await relay()
        opened = [await relayed(port(relaying)) for _ in range(CAP + 3)]
        assert [ok for ok, _ in opened] == [True] * CAP + [False] * 3
        assert target.holding == CAP and gate.holding == CAP
        opened[0][1].close()
        await until(lambda: gate.holding == CAP - 1, "the relay lets the closed connection go")
        again, writer = await relayed(port(relaying))
        assert again and target.most == CAP
        assert target.peers == {SOURCE}  # the target sees the session's address, never 127.0.0.1
        for _, w in [*opened, (None, writer)]:
            w.close()
        relaying.close()
        served.close()
    asyncio.run(run())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 10)), min_size=1, max_size=30))
def test_no_sequence_of_opens_and_closes_relays_more_than_the_cap_at_once(steps):
    """Each step opens a connection, or closes the n-th still open; a new one is relayed
    exactly when fewer than the cap are held, and the target never holds more."""
    async def run():
        target, served, gate, relaying = await relay()
        held = []  # the writers of connections that were relayed
        for opens, which in steps:
            if opens or not held:
                ok, writer = await relayed(port(relaying))
                assert ok == (len(held) < CAP)
                if ok:
                    held.append(writer)
                else:
                    writer.close()
            else:
                held.pop(which % len(held)).close()
                await until(lambda: gate.holding == len(held), "the relay lets the closed connection go")
            assert target.holding <= CAP and gate.holding == len(held)
        assert target.most <= CAP
        for writer in held:
            writer.close()
        relaying.close()
        served.close()
    asyncio.run(run())


def test_a_flood_of_refused_connections_is_told_once_in_the_log(caplog):
    async def run():
        target, served, gate, relaying = await relay()
        held = [await relayed(port(relaying)) for _ in range(CAP)]
        with caplog.at_level(logging.WARNING, logger="campus.hub.network"):
            for _ in range(500):
                assert not (await relayed(port(relaying)))[0]
        for _, writer in held:
            writer.close()
        relaying.close()
        served.close()
        return gate
    gate = asyncio.run(run())
    told = [r for r in caplog.records if r.name == "campus.hub.network"]
    assert len(told) == 1 and "campus-test-alice" in told[0].getMessage() and "the cap" in told[0].getMessage()
    assert gate.refused == 499  # counted, to be told with the next note


def test_a_connection_quiet_for_its_idle_time_is_closed_and_a_busy_one_is_not():
    async def run():
        target, served, gate, relaying = await relay(idle=1.0)
        ok, quiet = await relayed(port(relaying))
        busy_reader, busy = await asyncio.open_connection("127.0.0.1", port(relaying))
        for _ in range(15):  # 1.5 s of traffic, a message every 0.1 s
            busy.write(b"x")
            assert await busy_reader.read(1) == b"x"
            await asyncio.sleep(0.1)
        await until(lambda: gate.holding == 1, "the quiet connection is closed")
        assert ok and target.holding == 1
        busy.close()
        relaying.close()
        served.close()
    asyncio.run(run())


def test_a_reader_that_never_reads_holds_the_sender_back():
    """The target sends without end to a client that reads nothing: what the sender gets
    out is bounded by the sockets' buffers and the relay's few chunks, not by the flood."""
    buffers = sum(int(Path(f"/proc/sys/net/ipv4/tcp_{kind}").read_text().split()[2]) for kind in ("wmem", "rmem"))
    flood = 4 * buffers

    class Flood(Target):
        sent = 0

        async def serve(self, reader, writer):
            chunk = b"x" * (1 << 20)
            try:
                while self.sent < flood:
                    writer.write(chunk)
                    await writer.drain()
                    Flood.sent += len(chunk)
            except OSError:
                pass

    async def run():
        target, served, gate, relaying = await relay(target=Flood())
        reader, writer = await asyncio.open_connection("127.0.0.1", port(relaying))
        writer.write(b"start")
        before = -1
        while Flood.sent != before:  # until the sender is held back
            before = Flood.sent
            await asyncio.sleep(0.5)
        writer.transport.abort()
        relaying.close()
        served.close()
    asyncio.run(run())
    assert Flood.sent <= 2 * buffers + (4 << 20) < flood


CASES = [
    # peer               X-Forwarded-For                   the client's address
    ("127.0.0.1", "198.51.100.7", "198.51.100.7"),  # the proxy, for a browser
    ("127.0.0.1", "10.9.9.9,198.51.100.7", "198.51.100.7"),  # a browser that sent its own header: the proxy's entry
    ("127.0.0.1", None, "127.0.0.1"),  # the proxy without the header: itself
    ("127.77.34.186", "198.51.100.7", "127.77.34.186"),  # a kernel through its relay: never the header
    ("127.77.34.186", None, "127.77.34.186"),
    ("10.1.2.3", "198.51.100.7", "10.1.2.3"),  # anyone else: never the header
]


@pytest.mark.parametrize("peer, forwarded, expected", CASES)
def test_the_client_address_comes_from_the_proxy_only(peer, forwarded, expected):
    assert client_address(peer, forwarded) == expected


@given(st.integers(1, 65535), st.text(max_size=80))
def test_a_session_is_its_own_address_whatever_it_claims(server_port, forwarded):
    address = session_address(server_port)
    assert is_session(address) and client_address(address, forwarded) == address
    assert client_address(address, forwarded, proxies=frozenset({address})) == address  # even if misconfigured
