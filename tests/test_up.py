"""The README's first command on a fresh clone: `scripts/up` installs what it needs, builds the
demo data, starts the hub with the data service, and `campus down` leaves no process behind.

The clone is of the committed HEAD, with its own virtualenv, state and ports; it shares
only the machine's package caches.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from campus.settings import PROJECT_ROOT
from test_hub import free_port, need_node, sign_in, signed_in

pytestmark = pytest.mark.slow


def processes_under(folder: Path) -> list[str]:
    """The command lines of running processes that run something from `folder`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(folder) in cmdline:
                found.append(f"{entry.name}: {cmdline}")
    return found


def test_up_then_down_from_a_fresh_clone_leaves_no_process_behind(tmp_path):
    need_node()
    clone = tmp_path / "campus"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(clone)], check=True, timeout=120)
    ports = {name: f"http://127.0.0.1:{free_port()}" for name in ("BIND", "INTERNAL", "PROXY_API", "DATA")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAMPUS_", "JUPYTERHUB_", "VIRTUAL_ENV"))}
    env |= {f"CAMPUS_HUB_{name}_URL": url for name, url in ports.items()}
    env |= {"CAMPUS_STATE_DIR": str(tmp_path / "state"), "CAMPUS_HUB_CULL_IDLE": "600"}
    campus = str(clone / ".venv" / "bin" / "campus")
    try:
        up = subprocess.run([str(clone / "scripts" / "up"), "--scale", "0.05"], env=env, capture_output=True,
                            text=True, timeout=900)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        assert f"The campus is up: open {ports['BIND']}/" in up.stdout
        passwords = dict(re.findall(r"demo account (\w+): password (\S+)", up.stdout))
        assert set(passwords) == {"alice", "bob", "sejin", "admin"}

        assert httpx.get(ports["BIND"] + "/hub/api", timeout=10).status_code == 200
        assert httpx.get(ports["DATA"] + "/services/data/api/health", timeout=10).json() == {"status": "ok"}
        with httpx.Client(base_url=ports["BIND"] + "/", timeout=30) as browser:  # a demo account signs in
            assert signed_in(sign_in(browser, "alice", passwords["alice"]))
        again = subprocess.run([campus, "up"], env=env, capture_output=True, text=True, timeout=120)
        assert "already running" in again.stdout
        assert processes_under(clone), "nothing of the campus was running"
    finally:
        down = subprocess.run([campus, "down"], env=env, capture_output=True, text=True, timeout=180)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "The campus is stopped" in down.stdout
    assert processes_under(clone) == []
    assert "not running" in subprocess.run([campus, "down"], env=env, capture_output=True, text=True,
                                           timeout=60).stdout
