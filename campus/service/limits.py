"""Budgets the service keeps per key: a token bucket per user or address, and the
budget of strangers (requests that prove nobody) per client address.

A flood of bad tokens costs the service a token hash and a database lookup each, and
slows every researcher's query with them. `Strangers` answers an address that has spent
its budget of refused (401/403) and anonymous failed requests with 429 (after `TARPIT`, so a
client that sends the next as soon as it is answered is slowed), before the request is
routed, its body read or its token looked up — unless the request carries
a credential that signed in lately from anywhere (a keyed digest kept in memory), so the
researcher behind the same address is still answered. A remembered credential is only
let through to be checked as usual: a revoked token is still refused, and forgotten.

The address is the connection's client as uvicorn gives it: behind a trusted proxy
(uvicorn's ``--forwarded-allow-ips``, loopback by default) the address it forwards for.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict

import anyio

from starlette.responses import JSONResponse

from .errors import TooManyRequests, body

TARPIT = 1.0  # seconds a request refused for asking too much waits before its 429 goes out
FAILED = (401, 403)  # a refused credential, whatever the route
REMEMBERED = 10_000  # credentials that signed in lately, kept (as keyed digests) to pass a spent budget
REMEMBER_SECONDS = 600.0


class Buckets:
    """A token bucket per key: `rate` tokens a second, at most `burst`; one request takes one.

    Full buckets are forgotten once more than `keep` keys are held, so it stays small.

    >>> buckets = Buckets(rate=1.0, burst=2)
    >>> buckets.take("a"), buckets.take("a"), buckets.wait("a") > 0.9, buckets.wait("b")
    (None, None, True, 0.0)
    """

    def __init__(self, rate: float, burst: int, keep: int = 10_000):
        self.rate, self.burst, self.keep = rate, float(burst), keep
        self.held: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def level(self, key: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        tokens, counted = self.held.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - counted) * self.rate)

    def wait(self, key: str) -> float:
        """Seconds until `key` has a token (0: it has one now)."""
        return max(0.0, (1 - self.level(key)) / self.rate)

    def take(self, key: str) -> None:
        """Spend a token of `key` (never below empty)."""
        self._add(key, -1.0)

    def give(self, key: str) -> None:
        """Give back a token of `key` (never above `burst`)."""
        self._add(key, 1.0)

    def _add(self, key: str, tokens: float) -> None:
        now = time.monotonic()
        self.held[key] = (min(self.burst, max(0.0, self.level(key, now) + tokens)), now)
        if len(self.held) > self.keep:
            self.held = {k: v for k, v in self.held.items() if self.level(k, now) < self.burst}


class Strangers:
    """Per client address, at most `rate` a second (`burst` at once) of requests refused for
    their credential (401, 403) or failing without one (4xx); and the credentials that
    signed in lately, which pass a spent budget (and are still checked as usual).

    `remember`/`forget` are called where credentials are checked; `LimitStrangers` spends
    and enforces the budget.
    """

    def __init__(self, rate: float, burst: int):
        self.budget = Buckets(rate, burst)
        self.key = secrets.token_bytes(32)  # digests of credentials mean nothing outside this process
        self.signed_in: OrderedDict[bytes, float] = OrderedDict()  # digest -> until when it passes

    def admit(self, address: str, credential: str | None) -> tuple[float, bool]:
        """(seconds a request from `address` with `credential` must wait, 0 if none; whether it
        holds one of the address's budget while it runs, so a burst at once cannot overdraw)."""
        if self.known(credential):
            return 0.0, False
        wait = self.budget.wait(address)
        if not wait:
            self.budget.take(address)
        return wait, not wait

    def answered(self, address: str, credential: str | None, status: int, held: bool) -> None:
        """Spend the address's budget for a request refused (or failed without a credential);
        give back what `admit` held for any other."""
        spent = status in FAILED or (credential is None and 400 <= status < 500)
        if spent and not held:
            self.budget.take(address)
        elif held and not spent:
            self.budget.give(address)

    def remember(self, credential: str | None) -> None:
        """`credential` signed in: it passes a spent budget for `REMEMBER_SECONDS`."""
        if credential:
            digest = self.digest(credential)
            self.signed_in[digest] = time.monotonic() + REMEMBER_SECONDS
            self.signed_in.move_to_end(digest)
            while len(self.signed_in) > REMEMBERED:
                self.signed_in.popitem(last=False)

    def forget(self, credential: str | None) -> None:
        if credential:
            self.signed_in.pop(self.digest(credential), None)

    def known(self, credential: str | None) -> bool:
        until = self.signed_in.get(self.digest(credential)) if credential else None
        return until is not None and until > time.monotonic()

    def digest(self, credential: str) -> bytes:
        return hashlib.blake2b(credential.encode("utf-8", "surrogateescape"), key=self.key, digest_size=16).digest()


class LimitStrangers:
    """ASGI middleware: a request from an address over its `Strangers` budget gets 429 with
    Retry-After before it is routed, its body read or its token looked up."""

    def __init__(self, app, strangers: Strangers):
        self.app, self.strangers = app, strangers

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        address = scope["client"][0] if scope.get("client") else "unknown"
        credential = credential_of(scope["headers"])
        wait, held = self.strangers.admit(address, credential)
        if wait:
            await anyio.sleep(TARPIT)  # a client that does not wait as told is slowed, at no cost to others
            await refusal(wait)(scope, receive, send)
            return
        status = 0

        async def watched(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            self.strangers.answered(address, credential, status, held)


def credential_of(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The Authorization header a request carries, if any (as `authenticated` reads it)."""
    for name, value in headers:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


def refusal(wait: float) -> JSONResponse:
    refused = TooManyRequests("too many requests from this address were refused for their token or failed; wait "
                              f"{max(1, round(wait))} s, and check the token you send", retry_after=wait)
    return JSONResponse(body(refused.code, refused.reason), status_code=refused.http_status, headers=refused.headers)
