"""Start the data service: migrate the database, open the campus, serve with uvicorn.

As a JupyterHub managed service it finds everything in its environment: its URL
(``JUPYTERHUB_SERVICE_URL``: where to listen), its prefix (``JUPYTERHUB_SERVICE_PREFIX``:
where the API lives), and the hub's API and token for `HubAuthenticator`. Standalone,
it listens on 127.0.0.1:8300 and accepts campus API tokens.
"""

from __future__ import annotations

import os
import socket
from typing import Literal
from urllib.parse import urlsplit

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..campus import Campus, noise_secret, pseudonym_secret
from ..db import connect, ensure_schema
from ..errors import ConfigError
from ..keys import kept_secret
from ..settings import SandboxSettings, Settings
from .auth import Authenticator, HubAuthenticator, TokenAuthenticator
from .tokens import TokenStore

Auth = Literal["auto", "hub", "tokens"]
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8300
AUTH_ENV = "CAMPUS_SERVE_AUTH"  # how `serve` tells its worker processes which authenticator to use


class CampusH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with TCP_NODELAY on every connection, and a deadline for
    receiving each request whole.

    asyncio sets TCP_NODELAY only on sockets made with IPPROTO_TCP, and uvicorn's own sockets
    (``--workers``) are made without: each response would then wait ~40 ms for the
    client's delayed ACK.

    uvicorn has no timeout on reading a request: ``timeout_keep_alive`` runs only between
    requests, and not before the first. A client that sends half a header (or half a body)
    would hold its connection for ever, and thousands of them the process's sockets. Here
    the client must have sent the whole request `receive_seconds` after connecting or after
    its last answer (``CAMPUS_RECEIVE_SECONDS``), else the connection is closed. A request
    received whole is never cut short, however long its answer takes.
    """

    receive_seconds = 10.0  # set from the settings by `serve` and each worker

    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self.receive_deadline = None
        self._arm_receive_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_receive_deadline()

    def connection_lost(self, exc) -> None:
        if self.receive_deadline is not None:
            self.receive_deadline.cancel()
        super().connection_lost(exc)

    def _arm_receive_deadline(self) -> None:
        if self.receive_deadline is not None:
            self.receive_deadline.cancel()
        self.receive_deadline = self.loop.call_later(self.receive_seconds, self._receive_deadline_passed)

    def _receive_deadline_passed(self) -> None:
        """Close the connection if a request is still coming in (or none has started)."""
        self.receive_deadline = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.logger.info("closing a connection that did not send its request within %g s", self.receive_seconds)
            self.transport.close()


def in_hub() -> bool:
    """Whether this process runs as a JupyterHub service (the hub gave it a name and a token)."""
    return bool(os.environ.get("JUPYTERHUB_SERVICE_NAME") and os.environ.get("JUPYTERHUB_API_TOKEN"))


def address(host: str | None, port: int | None) -> tuple[str, int]:
    """Where to listen: as given, else the hub's service URL, else 127.0.0.1:8300."""
    url = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", ""))
    return host or url.hostname or DEFAULT_HOST, port or url.port or DEFAULT_PORT


def authenticator_for(cx: Campus, auth: Auth, tokens: TokenStore) -> Authenticator:
    if auth == "hub" or (auth == "auto" and in_hub()):
        return HubAuthenticator(policy=cx.policy)
    if cx.gateway.sealed:
        raise ConfigError("CAMPUS_SESSIONS_SEALED is true, but this data service answers its own API tokens, "
                          "which work from anywhere, not from sealed sessions only: run it behind the hub's "
                          "sandboxed spawner (campus serve --auth hub), or unset CAMPUS_SESSIONS_SEALED")
    return TokenAuthenticator(tokens, cx.policy)


def prepare(settings: Settings) -> None:
    """What must exist before any worker opens the campus: the migrated database, the secrets."""
    engine = connect(settings.database)
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()
    noise_secret(settings.state_dir)
    pseudonym_secret(settings.state_dir)
    signing_key(settings.state_dir)


def build(settings: Settings, auth: Auth = "auto"):
    """The app, ready to serve: database migrated, campus opened."""
    prepare(settings)
    cx = Campus(settings)
    return app_for(cx, authenticator_for(cx, auth, TokenStore(cx.audit.engine)),
                   prefix=os.environ.get("JUPYTERHUB_SERVICE_PREFIX"))


def app_for(cx: Campus, authenticator: Authenticator, *, prefix: str | None = None, airlock_settings=None):
    """The data service with the export airlock (its owed moves made) and browser sign-in mounted."""
    from campus.airlock import Airlock
    from campus.airlock.web import router as airlock_router

    from . import browser, budget_page, home
    from .app import authenticated, create_app
    from .sessions import SessionStore

    airlock = Airlock.open(cx, airlock_settings)
    airlock.finish_pending(audit=cx.audit)
    hub_oauth = authenticator.hub if isinstance(authenticator, HubAuthenticator) else None
    key = signing_key(cx.settings.state_dir)
    templates = sorted(p.name for p in SandboxSettings().templates_dir.glob("*.ipynb"))
    routers = [airlock_router(airlock, authenticated, page_user=browser.signed_in, csrf_secret=key),
               browser.router(hub_oauth), budget_page.router(),
               home.router(airlock, browser.signed_in, templates=templates,
                           hub_url=os.environ.get("JUPYTERHUB_BASE_URL", "/") if hub_oauth else None)]
    app = create_app(cx, authenticator, prefix=prefix, routers=routers, sessions_only=hub_oauth is not None)
    app.state.sessions = SessionStore(cx.audit.engine)
    app.state.signing_key = key
    return app


def signing_key(state_dir) -> bytes:
    """The key that signs the pages' form tokens and sign-in state, shared by every worker."""
    return kept_secret(state_dir / "service.key")


def worker_app():
    """The app of one worker process (``--workers N``): settings and auth from the environment.

    The campus closes with the process (an in-memory DuckDB, database connections)."""
    settings = Settings()
    CampusH11.receive_seconds = settings.receive_seconds
    return build(settings, os.environ.get(AUTH_ENV, "auto"))  # type: ignore[arg-type]


def serve(settings: Settings, host: str | None = None, port: int | None = None, auth: Auth = "auto",
          log_level: str = "info", workers: int = 1) -> None:
    """Serve until stopped. With `workers` > 1, that many processes (each its own campus and
    DuckDB) share the port: Python work in the gateway holds one core per process."""
    import uvicorn

    CampusH11.receive_seconds = settings.receive_seconds
    host, port = address(host, port)
    options = {"host": host, "port": port, "log_level": log_level, "timeout_graceful_shutdown": 10, "http": CampusH11}
    if workers > 1:
        prepare(settings)
        os.environ[AUTH_ENV] = auth
        uvicorn.run(f"{__name__}:worker_app", factory=True, workers=workers, **options)
        return
    app = build(settings, auth)
    try:
        uvicorn.run(app, **options)
    finally:
        app.state.campus.close()
