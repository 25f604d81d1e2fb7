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
"""

from __future__ import annotations

from .network import is_session

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
