"""Fixtures for the data service: a fresh database (SQLite or PostgreSQL), a live service.

Loaded by the service and client tests with ``pytest_plugins = ["service_fixtures"]``.
The service is the real app on a real socket (uvicorn in a thread), over the demo data,
with tokens issued by the real token store.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import httpx
import pytest
from ruamel.yaml import YAML

import campus
from campus.settings import Settings
from campus.service.server import app_for
from campus.service.auth import TokenAuthenticator
from campus.service.tokens import TokenStore
from databases import DATABASES, POSTGRES, fresh_database, postgres_available  # noqa: F401 (re-exported)

CAMPUS_BIN = Path(sys.executable).with_name("campus")
TLS = ssl.create_default_context()  # made once: httpx would load the CA bundle for every client


def free_socket() -> socket.socket:
    """A bound socket on a free port; IPPROTO_TCP so asyncio sets TCP_NODELAY on its connections
    (with protocol 0 it does not, and every response waits ~40 ms for a delayed ACK)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with free_socket() as sock:
        return sock.getsockname()[1]


@contextmanager
def serving(app):
    """Serve `app` on a free port of 127.0.0.1 in a thread; yields its root URL."""
    import uvicorn

    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="service")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def own_campus_root(root: Path, change_users: Callable[[dict], None]) -> Path:
    """A campus root at `root`: the shipped policies and datasets, and hub/users.yaml as
    `change_users` changes it (a test may then change it again, as `campus users` does)."""
    shipped = Settings().root
    for folder in ("policies", "datasets"):
        shutil.copytree(shipped / folder, root / folder)
    (root / "hub").mkdir()
    users = YAML().load(shipped / "hub" / "users.yaml")
    change_users(users)
    YAML().dump(users, root / "hub" / "users.yaml")
    return root


@dataclass
class Service:
    """A live data service and what is needed to talk to it."""

    url: str  # the root; the API is under url + "api/"
    campus: campus.Campus
    tokens: TokenStore
    database: str

    def token(self, user: str, groups: list[str] | None = None, expires_in: timedelta | None = timedelta(days=1)) -> str:
        expires_at = datetime.now(timezone.utc) + expires_in if expires_in is not None else None
        return self.tokens.issue(user, audit=self.campus.audit, by="tests", groups=groups, expires_at=expires_at).token

    def client(self, token: str | None = None, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"token {token}"} if token else {}
        return http_client(self.url + "api/", headers=headers, **kwargs)


def http_client(base_url: str = "", **kwargs) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=60, verify=TLS, **kwargs)


@pytest.fixture(scope="session", params=DATABASES)
def database(request, tmp_path_factory):
    """A fresh service database of each kind, for the session."""
    with fresh_database(request.param, tmp_path_factory.mktemp(f"db-{request.param}")) as url:
        yield url


# Per-user limits far above what the suites send, so that only the tests of the limits meet them.
ROOMY = {"user_requests_per_second": 10_000, "user_request_burst": 100_000, "user_concurrent": 256,
         "stranger_requests_per_second": 10_000, "stranger_request_burst": 100_000}


def roomy_airlock():
    from campus.settings import AirlockSettings

    return AirlockSettings(requests_per_day=100_000)


@pytest.fixture(scope="session")
def service(database, demo_data, tmp_path_factory):
    """The data service over the demo data, on `database`, accepting campus API tokens (the app
    `campus serve` runs: the export airlock and browser sign-in mounted)."""
    cx = campus.open(data_dir=demo_data, state_dir=tmp_path_factory.mktemp("service-state"), db_url=database, **ROOMY)
    tokens = TokenStore(cx.audit.engine)
    with serving(app_for(cx, TokenAuthenticator(tokens, cx.policy), airlock_settings=roomy_airlock())) as url:
        yield Service(url, cx, tokens, database)
    cx.close()


@pytest.fixture(scope="session")
def serve():
    """`serving`: a context manager serving an app on a free port in a thread."""
    return serving


def service_env(data_dir: Path, state_dir: Path, database: str) -> dict[str, str]:
    """The environment of a `campus serve` subprocess on this data and database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAMPUS_", "JUPYTERHUB_"))}
    roomy = {f"CAMPUS_{name.upper()}": str(value) for name, value in ROOMY.items()}
    return env | roomy | {"CAMPUS_DATA_DIR": str(data_dir), "CAMPUS_STATE_DIR": str(state_dir), "CAMPUS_DB_URL": database}


def start_service(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """`campus serve` as a process of its own (stdout and stderr to `log`)."""
    with open(log, "ab") as out:
        return subprocess.Popen([str(CAMPUS_BIN), "serve", "--port", str(port), "--log-level", "warning"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with http_client() as http:
                if http.get(url + "api/health", timeout=1).status_code == 200:
                    return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the service did not come up in {seconds} s:\n{log.read_text()[-3000:]}")
