"""Where a request to the hub comes from, as the campus's own proxy saw it.

Tornado (``xheaders``, which JupyterHub turns on) takes ``X-Forwarded-For`` and ``X-Real-Ip``
from any client: through a session's relay a kernel could say it is anyone. The hub decides
here instead, from the TCP peer, which no header changes:

=================================  =====================================================
the peer (who opened the socket)   the client's address
=================================  =====================================================
the proxy (``proxy_addresses``)    the last ``X-Forwarded-For`` entry: the one the proxy
                                   added (configurable-http-proxy appends the address it
                                   was reached from); the peer if there is none
a session's relay (`is_session`)   the peer: the session's own address, headers ignored
anyone else                        the peer, headers ignored
=================================  =====================================================

``X-Real-Ip`` is never read: the proxy does not set it, so only a client could have.

`SessionsLogged` keeps a session's requests from filling the hub's log: JupyterHub logs
every request, and a kernel can make thousands a second through its relay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .network import is_session

LOGGED_PER_MINUTE = 60  # a session's requests logged a minute; the rest are counted

PROXY_ADDRESSES = frozenset({"127.0.0.1"})  # the hub starts its proxy on loopback; it connects from here


def client_address(peer: str, forwarded_for: str | None, proxies: frozenset[str] = PROXY_ADDRESSES) -> str:
    """The client's address of a request from `peer` carrying `forwarded_for`.

    >>> client_address("127.0.0.1", "203.0.113.9, 198.51.100.7")        # through the proxy
    '198.51.100.7'
    >>> client_address("127.77.34.186", "198.51.100.7")                  # a kernel, claiming another
    '127.77.34.186'
    >>> client_address("10.1.1.1", "198.51.100.7"), client_address("127.0.0.1", None)
    ('10.1.1.1', '127.0.0.1')
    """
    if peer in proxies and not is_session(peer) and forwarded_for:
        return forwarded_for.split(",")[-1].strip() or peer
    return peer


def request_client(request, proxies: frozenset[str] = PROXY_ADDRESSES) -> tuple[str, bool]:
    """A tornado request's client address, and whether it came from a sealed session."""
    address = getattr(request.connection.context, "address", None) if request.connection else None
    peer = address[0] if isinstance(address, tuple) and address else "unknown"
    return client_address(peer, request.headers.get("X-Forwarded-For"), proxies), is_session(peer)


class SessionsLogged:
    """The hub's request log (JupyterHub's `log_request`), at most `per_minute` lines a minute
    for each sealed session; after the minute, one line says how many were left out.

    >>> lines, now = [], [0.0]
    >>> class Request: pass
    >>> def request(peer):
    ...     r = Request(); r.connection = Request(); r.connection.context = Request()
    ...     r.connection.context.address = (peer, 1); r.headers = {}; return r
    >>> class Handler:
    ...     def __init__(self, peer): self.request = request(peer)
    >>> logged = SessionsLogged(lambda h: lines.append(h.request.connection.context.address[0]), per_minute=2,
    ...                         clock=lambda: now[0])
    >>> for peer in ["127.77.0.9"] * 5 + ["127.0.0.1"] * 3:
    ...     logged(Handler(peer))
    >>> lines
    ['127.77.0.9', '127.77.0.9', '127.0.0.1', '127.0.0.1', '127.0.0.1']
    >>> now[0] = 61.0; logged(Handler("127.77.0.9")); logged.left_out
    {'127.77.0.9': [61.0, 1, 0]}
    """

    def __init__(self, log_request: Callable, per_minute: int = LOGGED_PER_MINUTE, clock=time.monotonic,
                 log: logging.Logger = logging.getLogger("tornado.access")):
        self.log_request, self.per_minute, self.clock, self.log = log_request, per_minute, clock, log
        self.left_out: dict[str, list] = {}  # session address -> [minute began, logged, left out]

    def __call__(self, handler) -> None:
        address, from_session = request_client(handler.request)
        if not from_session:
            self.log_request(handler)
            return
        now = self.clock()
        window = self.left_out.setdefault(address, [now, 0, 0])
        if now - window[0] >= 60:
            if window[2]:
                self.log.warning("%s: %d requests of this sealed session were left out of the log in a minute "
                                 "(more than %d)", address, window[2], self.per_minute)
            window[:] = [now, 0, 0]
        if window[1] < self.per_minute:
            window[1] += 1
            self.log_request(handler)
        else:
            window[2] += 1
