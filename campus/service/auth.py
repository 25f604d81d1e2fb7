"""Who is asking: a token in the ``Authorization`` header, checked by an authenticator.

Two authenticators behind one Protocol, and no third: the service never trusts a
header that merely names a user.

* `HubAuthenticator` — inside JupyterHub. The hub says whose token it is, with the
  user's groups, and the token must carry the scope to use this service
  (``access:services!service=data``; the kernel gets it through
  ``c.Spawner.server_token_scopes``). The JSON API takes only the token of a campus
  notebook server (the hub notes it ``Server at /user/<name>/``; users cannot make
  tokens of their own), decided from the token whatever route the request took: a
  browser's OAuth token, or any other token of the user, is refused.
* `TokenAuthenticator` — standalone. Tokens issued by ``campus tokens create``
  (`campus.service.tokens`); the user's groups are the token's, if it was issued
  with some, else theirs in ``hub/users.yaml`` at each request.

A browser's sign-in (`campus.service.sessions`) is opened with a token, and each
authenticator's `recheck` says on every request whether it still stands: the token
it was opened with is still valid, the person is still a user, and with which groups.

>>> token_of("token campus_0a1b2c3d4e5f_abc"), token_of("Bearer xyz"), token_of("Basic dXNlcg==")
('campus_0a1b2c3d4e5f_abc', 'xyz', None)
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from urllib.parse import quote

import anyio
from fastapi.security import APIKeyHeader

from ..policy import Policy
from .errors import Forbidden, HubUnavailable, InvalidToken, SessionEnded, TokenExpired, Unauthenticated
from .tokens import TokenInfo, TokenStore

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
    token_id: str | None = None  # the token's id (never its secret): a sign-in opened with it ends with it
    expires_at: datetime | None = None  # when that token expires, if it does

    @property
    def name(self) -> str:
        """The user's name (as the airlock's routes ask for it)."""
        return self.user


class Authenticator(Protocol):
    """Turns the token of a request into an `Identity`, or raises a `CampusError`:
    ``invalid_token`` / ``token_expired`` (401), ``forbidden`` (403), ``hub_unavailable`` (502).

    With `api` (the JSON API), only the tokens of campus sessions pass; without (a browser
    signing in to the pages), any token of the user that may use this service does."""

    async def identify(self, token: str, *, api: bool = True) -> Identity: ...

    async def recheck(self, identity: Identity) -> Identity:
        """`identity` as it stands now, for a browser's sign-in opened with its token: the
        same user with today's groups; SessionEnded if the token or the user is gone."""
        ...


def token_of(header: str | None) -> str | None:
    """The token in an ``Authorization: token <t>`` (or ``Bearer <t>``) header."""
    match = HEADER.match(header or "")
    return match.group(1) if match else None


async def identify(authenticator: Authenticator, header: str | None, *, api: bool = True) -> Identity:
    """The identity behind an Authorization header; Unauthenticated if there is no token."""
    token = token_of(header)
    if token is None:
        raise Unauthenticated(
            "this request carries no token: send `Authorization: token <your token>` (in a campus notebook "
            "`campus.sql(...)` does it for you; elsewhere ask an admin for one: campus tokens create)"
        )
    return await authenticator.identify(token, api=api)


class TokenAuthenticator:
    """Campus API tokens from the service database."""

    def __init__(self, tokens: TokenStore, policy: Policy):
        self.tokens = tokens
        self.policy = policy

    async def identify(self, token: str, *, api: bool = True) -> Identity:
        return self._identity(await anyio.to_thread.run_sync(self.tokens.verify, token))

    async def recheck(self, identity: Identity) -> Identity:
        """The sign-in's token is still valid, and its user is still in hub/users.yaml."""
        try:
            info = await anyio.to_thread.run_sync(self.tokens.check, identity.token_id or "")
        except (InvalidToken, TokenExpired) as e:
            raise SessionEnded(f"your sign-in ended with the token it was opened with ({e.reason}); "
                               "sign in again with a valid one") from None
        if not self.policy.is_user(info.user):
            raise SessionEnded("your sign-in ended: you are no longer a campus user (hub/users.yaml does not list "
                               "you); ask a campus admin if that is a mistake")
        return self._identity(info)

    def _identity(self, info: TokenInfo) -> Identity:
        groups = info.groups if info.groups is not None else self.policy.groups_of(info.user)
        return Identity(info.user, list(groups), via="token", token_id=info.id, expires_at=info.expires_at)


class HubAuthenticator:
    """JupyterHub tokens, checked by the hub (`HubAuth`), scoped to this service."""

    def __init__(self, hub_auth=None, *, service: str | None = None, policy: Policy | None = None):
        from jupyterhub.services.auth import HubOAuth

        self.hub = hub_auth or HubOAuth(cache_max_age=60)  # OAuth too: browsers sign in to the review pages
        service = service or os.environ.get("JUPYTERHUB_SERVICE_NAME") or "data"
        self.required = set(self.hub.access_scopes or ()) or {f"access:services!service={service}"}
        self.policy = policy
        self.server_tokens: dict[str, bool] = {}  # token id -> whether a notebook server holds it
        self.hub_base_url = os.environ.get("JUPYTERHUB_BASE_URL") or "/"  # where the hub serves users' servers

    async def identify(self, token: str, *, api: bool = True) -> Identity:
        model = await self._model(token)
        if api and not await self._of_a_server(model):
            raise Forbidden(
                "the data API answers the tokens of campus notebook servers only: run this in a campus notebook "
                "(campus.sql(...)); the review pages are at the service's /airlock"
            )
        groups = model.get("groups")
        if groups is None and self.policy is not None:  # the service's role lacks read:users:groups
            groups = self.policy.groups_of(model["name"])
        return Identity(model["name"], list(groups or []), via="hub", token_id=model.get("token_id"))

    async def recheck(self, identity: Identity) -> Identity:
        """The hub still has the user, and the token the browser signed in with (signing out of
        the hub, removing the user or the token's expiry end it); groups as the hub has them now."""
        user = await self._ask_hub(f"/users/{quote(identity.user, safe='')}")
        token = identity.token_id and await self._ask_hub(
            f"/users/{quote(identity.user, safe='')}/tokens/{quote(identity.token_id, safe='')}")
        if user is None:
            raise SessionEnded("your sign-in ended: you are no longer a user of this campus; ask a campus admin "
                               "if that is a mistake")
        if not token or (token.get("expires_at") and _passed(token["expires_at"])):
            raise SessionEnded("your sign-in ended with your hub sign-in (signed out, or it expired); sign in again")
        groups = user.get("groups")
        if groups is None and self.policy is not None:
            groups = self.policy.groups_of(identity.user)
        return Identity(identity.user, list(groups or []), via="hub", token_id=identity.token_id)

    async def _ask_hub(self, path: str) -> dict | None:
        """The hub API's answer at `path`, asked with the service's own token; None if it has
        nothing there it will show us (refusals are logged)."""
        import httpx

        try:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.get(self.hub.api_url + path,
                                        headers={"Authorization": f"token {self.hub.api_token}"})
        except httpx.HTTPError as e:
            log.error("asking the hub for %s failed: %s", path, e)
            raise HubUnavailable("JupyterHub could not be asked about this token; try again in a minute") from None
        if answer.status_code not in (200, 404):
            log.error("the hub answered %s for %s", answer.status_code, path)
        return answer.json() if answer.status_code == 200 else None

    async def _of_a_server(self, model: dict) -> bool:
        """Whether the token is a notebook server's: not from a browser sign-in (no session),
        and noted by the hub as the token of the user's server."""
        token_id = model.get("token_id")
        if model.get("session_id") or not token_id:
            return False
        if token_id not in self.server_tokens:
            found = await self._ask_hub(f"/users/{model['name']}/tokens/{token_id}")
            note = (found or {}).get("note") or ""
            if len(self.server_tokens) > 10_000:
                self.server_tokens.clear()
            self.server_tokens[token_id] = note.startswith(f"Server at {self.server_prefix(model['name'])}")
        return self.server_tokens[token_id]

    def server_prefix(self, user: str) -> str:
        """Where the hub serves `user`'s notebook servers (their tokens are noted with it)."""
        from jupyterhub.utils import url_escape_path

        return f"{self.hub_base_url.rstrip('/')}/user/{url_escape_path(user)}/"

    async def _model(self, token: str) -> dict:
        """The hub's model of the token's owner, checked to be a user who may use this service."""
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
        return model


def _passed(at: str) -> bool:
    """Whether the hub's ISO time `at` is past."""
    from datetime import timezone

    when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)) <= datetime.now(timezone.utc)
