"""The service killed mid-flight: what it acknowledged survives, and the audit chain holds.

`campus serve` runs as a process of its own, on SQLite and on PostgreSQL (the two run
side by side, to pay for process start-up once). Clients keep queries in flight; the
process is SIGKILLed; a new one starts on the same database. Every query the first
process answered (allowed or denied) must be in the audit trail, `campus audit verify`
must pass, and the new process must answer.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campus.audit import AuditLog
from campus.cli import _mount, app as cli
from campus.service.tokens import TokenStore

pytest_plugins = ["service_fixtures"]

CLIENTS, ACKNOWLEDGED_BEFORE_KILL = 12, 40
OUTCOME = {200: "allowed", 403: "denied"}


def query(i: int) -> tuple[str, int]:
    """The i-th client query (unique text) and its expected status: every fifth is denied."""
    if i % 5 == 4:
        return f"SELECT card_id AS denied_{i} FROM card_usage", 403
    return f"SELECT category, count(*) AS n_{i} FROM card_usage WHERE district = 'Jung-gu' GROUP BY 1", 200


@dataclass
class Run:
    """A service process on one database, its clients, and what it acknowledged."""

    database: str
    folder: Path
    token: str = ""
    port: int = 0
    process: object = None
    acknowledged: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: object = field(default_factory=lambda: iter(range(10**6)))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, demo_data: Path) -> None:
        from service_fixtures import free_port, service_env, start_service

        self.port = self.port or free_port()
        env = service_env(demo_data, self.folder / "state", self.database)
        self.process = start_service(env, self.port, self.folder / "service.log")

    def wait(self) -> None:
        from service_fixtures import wait_until_up

        wait_until_up(self.url, self.process, self.folder / "service.log")

    def client(self) -> None:
        """Send queries until the service is gone; remember every answer."""
        from service_fixtures import http_client

        with http_client(self.url + "api/", headers={"Authorization": f"token {self.token}"}) as http:
            while not self.stop.is_set():
                with self.lock:
                    sql, expected = query(next(self.counter))
                try:
                    response = http.post("sql", json={"sql": sql})
                except Exception:
                    return
                assert response.status_code == expected, response.text
                with self.lock:
                    self.acknowledged[sql] = response.status_code

    def missing_from_audit(self) -> dict[str, int]:
        audit = AuditLog(self.database)
        recorded = {e["detail"].get("sql"): e["outcome"] for e in audit.events()}
        audit.close()
        return {sql: s for sql, s in self.acknowledged.items() if recorded.get(sql) != OUTCOME[s]}


@pytest.mark.slow
def test_killed_service_loses_nothing_it_acknowledged(demo_data, tmp_path, monkeypatch):
    from service_fixtures import fresh_database, http_client, postgres_available

    kinds = ["sqlite"] + (["postgresql"] if postgres_available() else [])
    with ExitStack() as stack:
        runs = [Run(stack.enter_context(fresh_database(kind, tmp_path / kind)), tmp_path / kind) for kind in kinds]
        for run in runs:
            run.folder.mkdir(exist_ok=True)
            audit = AuditLog(run.database)
            run.token = TokenStore(audit.engine).issue("alice", audit=audit, by="tests").token
            audit.close()
            run.start(demo_data)
            stack.callback(_kill, run)
        for run in runs:
            run.wait()

        with ThreadPoolExecutor(CLIENTS * len(runs)) as pool:
            clients = {id(run): [pool.submit(run.client) for _ in range(CLIENTS)] for run in runs}
            for run in runs:
                while len(run.acknowledged) < ACKNOWLEDGED_BEFORE_KILL and not any(f.done() for f in clients[id(run)]):
                    time.sleep(0.02)
                run.process.send_signal(signal.SIGKILL)  # queries are in flight
                run.process.wait(timeout=30)
                run.stop.set()
            for f in [f for futures in clients.values() for f in futures]:
                f.result()

        for run in runs:
            assert len(run.acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
            run.start(demo_data)  # the same port and database
        for run in runs:
            run.wait()
            with http_client(run.url + "api/", headers={"Authorization": f"token {run.token}"}) as http:
                assert http.post("sql", json={"sql": query(0)[0]}).status_code == 200
            _stop(run)

        _mount()
        for run in runs:
            missing = run.missing_from_audit()
            assert not missing, f"{run.database}: {len(missing)} acknowledged queries are not in the audit trail"
            monkeypatch.setenv("CAMPUS_DB_URL", run.database)
            monkeypatch.setenv("CAMPUS_STATE_DIR", str(run.folder / "state"))  # where its anchor is
            verified = CliRunner().invoke(cli, ["audit", "verify"])
            assert verified.exit_code == 0 and "audit chain intact" in verified.stdout, verified.output
            assert "anchored at event" in verified.stdout, "the service anchored the chain outside the database"


def _stop(run: Run) -> None:
    run.process.send_signal(signal.SIGTERM)
    run.process.wait(timeout=60)


def _kill(run: Run) -> None:
    if run.process is not None and run.process.poll() is None:
        run.process.kill()
        run.process.wait()
