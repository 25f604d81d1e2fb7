"""Who is asking: a token in the ``Authorization`` header, checked by an authenticator.

Two authenticators behind one Protocol, and no third: the service never trusts a
header that merely names a user.

* `HubAuthenticator` — inside JupyterHub. The hub says whose token it is, with the
  user's groups, and the token must carry the scope to use this service
  (``access:services!service=data``; the kernel gets it through
  ``c.Spawner.server_token_scopes``).
* `TokenAuthenticator` — standalone. Tokens issued by ``campus tokens create``
  (`campus.service.tokens`); the user's groups are the token's, if it was issued
  with some, else theirs in ``hub/users.yaml`` at each request.

>>> token_of("token campus_0a1b2c3d4e5f_abc"), token_of("Bearer xyz"), token_of("Basic dXNlcg==")
('campus_0a1b2c3d4e5f_abc', 'xyz', None)
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from typing import Protocol

import anyio
from fastapi.security import APIKeyHeader

from ..policy import Policy
from .errors import Forbidden, HubUnavailable, InvalidToken, Unauthenticated
from .tokens import TokenStore

log = logging.getLogger(__name__)
token_header = APIKeyHeader(name="Authorization", auto_error=False,
                            description="`token <campus API token or JupyterHub token>`")
HEADER = re.compile(r"^\s*(?:token|bearer)\s+(\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Identity:
    """An authenticated user, and how we know."""

    user: str
    groups: list[str] = field(default_factory=list)
    via: str = "token"

    @property
    def name(self) -> str:
        """The user's name (as the airlock's routes ask for it)."""
        return self.user


class Authenticator(Protocol):
    """Turns the token of a request into an `Identity`, or raises a `CampusError`:
    ``invalid_token`` / ``token_expired`` (401), ``forbidden`` (403), ``hub_unavailable`` (502)."""

    async def identify(self, token: str) -> Identity: ...


def token_of(header: str | None) -> str | None:
    """The token in an ``Authorization: token <t>`` (or ``Bearer <t>``) header."""
    match = HEADER.match(header or "")
    return match.group(1) if match else None


async def identify(authenticator: Authenticator, header: str | None) -> Identity:
    """The identity behind an Authorization header; Unauthenticated if there is no token."""
    token = token_of(header)
    if token is None:
        raise Unauthenticated(
            "this request carries no token: send `Authorization: token <your token>` (in a campus notebook "
            "`campus.sql(...)` does it for you; elsewhere ask an admin for one: campus tokens create)"
        )
    return await authenticator.identify(token)


class TokenAuthenticator:
    """Campus API tokens from the service database."""

    def __init__(self, tokens: TokenStore, policy: Policy):
        self.tokens = tokens
        self.policy = policy

    async def identify(self, token: str) -> Identity:
        info = await anyio.to_thread.run_sync(self.tokens.verify, token)
        groups = info.groups if info.groups is not None else self.policy.groups_of(info.user)
        return Identity(info.user, list(groups), via="token")


class HubAuthenticator:
    """JupyterHub tokens, checked by the hub (`HubAuth`), scoped to this service."""

    def __init__(self, hub_auth=None, *, service: str | None = None, policy: Policy | None = None):
        from jupyterhub.services.auth import HubOAuth

        self.hub = hub_auth or HubOAuth(cache_max_age=60)  # OAuth too: browsers sign in to the review pages
        service = service or os.environ.get("JUPYTERHUB_SERVICE_NAME") or "data"
        self.required = set(self.hub.access_scopes or ()) or {f"access:services!service={service}"}
        self.policy = policy

    async def identify(self, token: str) -> Identity:
        from jupyterhub.services.auth import check_scopes

        try:
            model = await self.hub.user_for_token(token, sync=False)
        except Exception as e:  # the hub is down, or refuses our own token
            log.error("asking the hub about a token failed: %s", e)
            raise HubUnavailable("JupyterHub could not be asked who you are; try again in a minute, "
                                 "and tell the campus admins if it persists") from None
        if not model:
            raise InvalidToken("JupyterHub does not know this token; sign in again (a new notebook server "
                               "gets a fresh token)")
        if model.get("kind", "user") != "user":
            raise Forbidden(f"{model.get('name')} is a {model.get('kind')}, not a user: only users query data")
        if not check_scopes(self.required, set(model.get("scopes", []))):
            raise Forbidden(
                f"this token may not use the data service: it needs the scope {' or '.join(sorted(self.required))} "
                "(the campus admins add it to c.Spawner.server_token_scopes)"
            )
        groups = model.get("groups")
        if groups is None and self.policy is not None:  # the service's role lacks read:users:groups
            groups = self.policy.groups_of(model["name"])
        return Identity(model["name"], list(groups or []), via="hub")
