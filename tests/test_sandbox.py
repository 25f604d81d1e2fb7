"""Sandboxed notebook servers (``CAMPUS_HUB_SPAWNER=sandbox``), for real.

A hub running as root starts alice's and bob's servers in bubblewrap, each as its own
Unix account (``cst<pid>-alice``, removed afterwards). Code runs in alice's kernel through
the server's REST API and kernel websocket, and checks what she can and cannot reach:

=========================================  ==========================================
from alice's kernel                        expected
=========================================  ==========================================
her uid, groups, capabilities              her own account; no other groups, no caps
the raw data, campus state, hub state      empty (a tmpfs covers them)
bob's home, the other homes                empty, or only hers
the same, outside the sandbox as her uid   permission denied (the folders' own modes)
``/files/``, terminals, nbconvert          refused (404/403), for an admin's token too
a file's body in the contents API          refused (403), in any format; rows in a notebook's cells too
20,000 printed rows                        200 shown, with one note; the saved notebook cut the same
``unshare -Ur true``                       Operation not permitted (seccomp)
``/sys/fs/cgroup/*/campus``                her own session's folders only
JupyterLab's download and export plugins   disabled and locked
the data service with her server's token   answers as alice; ``campus.sql`` works
her environment                            no CAMPUS_* but CAMPUS_SERVICE_URL
=========================================  ==========================================

The fast tests at the end check the refusals that keep it closed: missing tools, a hidden
folder open to everyone, a home that belongs to someone else.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import duckdb
import httpx
import pytest
import websocket
import yaml

from campus.hub.accounts import find_tools, make_home
from campus.hub.disk import image_of, unmount_home
from campus.hub.errors import SandboxUnavailable
from campus.hub.mounts import mount_args
from campus.hub.passwords import Passwords
from campus.hub.screen import ROWS
from campus.hub.seccomp import program_fd
from campus.hub.limits import CGROUPS, SessionGroup, SessionLimits
from campus.hub.network import NAMESPACES, check_sealed, interfaces, make_namespace, remove_namespace
from campus.hub.spawner import SandboxSpawner
from campus.settings import PROJECT_ROOT, SandboxSettings
from test_airlock_browser import browser  # noqa: F401  (a fixture: headless Chromium)
from test_hub import USERS_YAML, running_hub, sign_in, signed_in

pytestmark = pytest.mark.slow

PREFIX = f"cst{os.getpid()}-"  # the test's own Unix accounts
FOLDERS = "/var/tmp/campus-sandbox-"
PEOPLE = ("alice", "bob")
PLUGINS = ["@jupyterlab/docmanager-extension:download", "@jupyterlab/filebrowser-extension:download",
           "@jupyterlab/notebook-extension:export"]
NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def need_sandbox() -> None:
    if os.geteuid() != 0:
        pytest.skip("the sandboxed spawner needs root (it makes Unix accounts and runs bubblewrap)")
    try:
        find_tools()
    except SandboxUnavailable as e:
        pytest.skip(e.reason)


def account(name: str) -> pwd.struct_passwd:
    return pwd.getpwnam(PREFIX + name)


def remove_leftovers() -> None:
    """Accounts, sessions and folders of an earlier run that was killed before its teardown."""
    for entry in pwd.getpwall():
        made_by = re.fullmatch(r"cst(\d+)-[a-z]+", entry.pw_name)
        if made_by and entry.pw_dir.startswith(FOLDERS) and not Path(f"/proc/{made_by[1]}").exists():
            end_session(entry.pw_name, Path(entry.pw_dir))
            subprocess.run(["userdel", "--force", entry.pw_name], capture_output=True)
            shutil.rmtree(entry.pw_dir.split("/homes/")[0], ignore_errors=True)


def end_session(name: str, home_dir: Path) -> None:
    """What a session of account `name` may have left if its hub was killed: its namespace,
    cgroups and mounted home."""
    remove_namespace(name)
    SessionGroup(name).remove()
    unmount_home(home_dir)


# --------------------------------------------------------------------------- a hub with sandboxes


@contextmanager
def sandbox_place(demo_data: Path, folders: str, accounts: list[str]):
    """A folder outside /tmp (so the sandbox must hide each part itself), open to everyone;
    the data and the campus state in it are closed (mode 700), as an admin would leave them.
    Afterwards the folder and the Unix `accounts` are removed."""
    need_sandbox()
    folder = Path(tempfile.mkdtemp(prefix=Path(folders).name, dir=Path(folders).parent))
    try:
        folder.chmod(0o755)
        shutil.copytree(demo_data, folder / "data")
        (folder / "data").chmod(0o700)
        (folder / "hub" / "campus-state").mkdir(parents=True, mode=0o700)
        yield folder
    finally:
        for name in accounts:
            end_session(name, folder / "homes" / name)
            subprocess.run(["userdel", "--force", name], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def place(demo_data):
    need_sandbox()
    remove_leftovers()
    with sandbox_place(demo_data, FOLDERS, [PREFIX + name for name in PEOPLE]) as folder:
        (folder / "templates").mkdir()
        (folder / "templates" / "start-here.ipynb").write_text(json.dumps(NOTEBOOK))
        yield folder


MEMORY, CPUS, PROCESSES, HOME, TMP = 1536 * 2**20, 0.5, 300, 64 * 2**20, 64 * 2**20  # the hub's defaults
BOBS_MEMORY = 2 * 2**30  # his project's, in users.yaml


@pytest.fixture(scope="module")
def hub(place):
    users = yaml.safe_load(USERS_YAML.read_text())
    users["projects"]["bigger-sessions"] = {"members": ["bob"], "expires": "2999-12-31",
                                            "limits": {"memory": "2GiB", "cpus": 1}}
    (place / "users.yaml").write_text(yaml.safe_dump(users))
    with running_hub(place / "hub", place / "users.yaml", CAMPUS_HUB_SPAWNER="sandbox",
                     CAMPUS_HUB_DATA_SERVICE="true", CAMPUS_DATA_DIR=str(place / "data"),
                     CAMPUS_SANDBOX_HOMES_DIR=str(place / "homes"), CAMPUS_SANDBOX_ACCOUNT_PREFIX=PREFIX,
                     CAMPUS_SANDBOX_TEMPLATES_DIR=str(place / "templates"),
                     CAMPUS_SANDBOX_MAX_PROCESSES=str(PROCESSES), CAMPUS_SANDBOX_MEMORY=f"{MEMORY}",
                     CAMPUS_SANDBOX_CPUS=str(CPUS), CAMPUS_SANDBOX_HOME_SIZE=str(HOME),
                     CAMPUS_SANDBOX_TMP_SIZE=str(TMP)) as running:
        yield running


def admin(hub) -> dict[str, str]:
    return {"Authorization": f"token {hub.token}"}


def start_servers(hub, names) -> dict[str, float]:
    """Start the servers through the hub's REST API; {name: seconds until ready}."""
    began = time.monotonic()
    for name in names:
        started = httpx.post(hub.api + f"users/{name}/server", headers=admin(hub), timeout=60)
        assert started.status_code in (201, 202), f"{started.text}\n{hub.log()[-4000:]}"
    took, deadline = {}, time.monotonic() + 90
    while len(took) < len(names):
        for name in set(names) - set(took):
            user = httpx.get(hub.api + f"users/{name}", headers=admin(hub), timeout=30).json()
            server = user["servers"].get("")
            if server and server["ready"]:
                took[name] = round(time.monotonic() - began, 1)
            elif not server and not user.get("pending"):
                raise AssertionError(f"{name}'s server failed to start:\n{hub.log()[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the servers did not start in 90 s:\n{hub.log()[-4000:]}")
        time.sleep(0.2)
    return took


def stop_server(hub, name: str) -> None:
    httpx.delete(hub.api + f"users/{name}/server", headers=admin(hub), timeout=60)
    deadline = time.monotonic() + 60
    while httpx.get(hub.api + f"users/{name}", headers=admin(hub), timeout=30).json()["servers"]:
        assert time.monotonic() < deadline, f"{name}'s server did not stop"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def servers(hub):
    """alice's and bob's servers, started together; {name: seconds until ready}."""
    took = start_servers(hub, PEOPLE)
    print(f"sandboxed servers ready after {took} s")
    yield took
    for name in PEOPLE:
        stop_server(hub, name)


class Kernel:
    """A kernel in someone's server, driven through the server's REST API and websocket."""

    def __init__(self, hub, user: str):
        self.base = f"{hub.url}user/{user}/api/kernels"
        self.headers = admin(hub)
        started = httpx.post(self.base, headers=self.headers, json={}, timeout=60)
        assert started.status_code == 201, f"{started.text}\n{hub.log()[-4000:]}"
        self.id = started.json()["id"]
        self.url, self.token = self.base.replace("http", "ws", 1) + f"/{self.id}/channels", hub.token
        self.ws = self.connect()
        self.log = hub.log
        self.session = uuid.uuid4().hex

    def connect(self):
        """A websocket to the kernel's channels (again, if a dropped one broke: one test fails, not every next)."""
        return websocket.create_connection(self.url, header=[f"Authorization: token {self.token}"], timeout=60)

    def run(self, code: str) -> str:
        """Run `code`; its printed output, or AssertionError with the kernel's traceback."""
        out, error = self.attempt(code)
        if error is not None:
            raise AssertionError(error)
        return out

    def attempt(self, code: str, seconds: float = 120) -> tuple[str, str | None]:
        """Run `code`; what it printed (stdout and stderr) and its error (``Name: value``), if any."""
        msg_id = uuid.uuid4().hex
        if not self.ws.connected:
            self.ws = self.connect()
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "session": self.session, "username": "test", "msg_type": "execute_request",
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out: list[str] = []
        error = None
        deadline = time.monotonic() + seconds
        while True:
            assert time.monotonic() < deadline, f"no answer from the kernel in {seconds} s:\n{self.log()[-4000:]}"
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}\n" + "\n".join(content["traceback"])
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out), error

    def json(self, code: str):
        return json.loads(self.run(code).strip().splitlines()[-1])

    def close(self) -> None:
        self.ws.close()
        httpx.delete(f"{self.base}/{self.id}", headers=self.headers, timeout=30)


@pytest.fixture(scope="module")
def kernel(hub, servers):
    k = Kernel(hub, "alice")
    yield k
    k.close()


def home(place, name: str) -> Path:
    return place / "homes" / (PREFIX + name)


# --------------------------------------------------------------------------- who she is


def test_both_servers_start_in_their_sandboxes(servers):
    assert set(servers) == set(PEOPLE) and max(servers.values()) < 60


def test_the_server_runs_as_her_own_account_without_privileges(kernel):
    seen = kernel.json("""
import os, json, resource, socket
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
                  "no_new_privs": status["NoNewPrivs"].strip(), "cap_eff": status["CapEff"].strip(),
                  "cap_bnd": status["CapBnd"].strip(), "host": socket.gethostname(), "cwd": os.getcwd(),
                  "processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
                  "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
                  "data": resource.getrlimit(resource.RLIMIT_DATA)[0]}))
""")
    alice = account("alice")
    assert alice.pw_uid != 0 and alice.pw_shell == "/usr/sbin/nologin"
    assert (seen["uid"], seen["euid"], seen["gid"]) == (alice.pw_uid, alice.pw_uid, alice.pw_gid)
    assert set(seen["groups"]) <= {alice.pw_gid}
    assert seen["no_new_privs"] == "1" and int(seen["cap_eff"], 16) == 0 and int(seen["cap_bnd"], 16) == 0
    assert seen["host"] == "campus" and seen["cwd"] == alice.pw_dir
    assert seen["processes"] < 20  # its own PID namespace: the server and its kernels, not the machine
    assert seen["nproc"] == PROCESSES  # CAMPUS_SANDBOX_MAX_PROCESSES
    assert seen["data"] == MEMORY  # CAMPUS_SANDBOX_MEMORY


def test_her_home_is_private_hers_and_starts_with_the_templates(place, kernel):
    mine = home(place, "alice")
    info = mine.stat()
    assert (info.st_uid, info.st_mode & 0o777) == (account("alice").pw_uid, 0o700)
    copy = mine / "templates" / "start-here.ipynb"
    assert copy.stat().st_uid == account("alice").pw_uid
    listed = kernel.json("import os, json; open('mine.txt', 'w').write('x'); print(json.dumps(os.listdir()))")
    assert {"mine.txt", "templates"} <= set(listed)


# --------------------------------------------------------------------------- what she cannot see


def probe(kernel, paths: dict[str, Path]) -> dict[str, str]:
    """For each path, what her kernel finds: 'missing', 'denied', 'empty' or what it read."""
    return kernel.json(f"""
import json, os
def look(path):
    try:
        return "empty" if os.path.isdir(path) and not os.listdir(path) else (
            "lists " + ",".join(sorted(os.listdir(path))) if os.path.isdir(path) else "read " + open(path).read(20))
    except FileNotFoundError:
        return "missing"
    except PermissionError:
        return "denied"
print(json.dumps({{name: look(path) for name, path in {json.dumps({k: str(v) for k, v in paths.items()})}.items()}}))
""")


def secrets_of(place, hub) -> dict[str, Path]:
    """What no kernel may see, each of which exists outside the sandbox."""
    bob = home(place, "bob")
    (bob / "notes.txt").write_text("bob's notes")
    os.chown(bob / "notes.txt", account("bob").pw_uid, account("bob").pw_gid)
    hub_state = Path(hub.env["CAMPUS_HUB_STATE_DIR"])
    campus_state = Path(hub.env["CAMPUS_STATE_DIR"])
    parquet = next((place / "data").rglob("*.parquet"))
    found = {"raw data": place / "data", "a parquet file": parquet, "campus state": campus_state,
             "hub state": hub_state, "admin token": hub_state / "admin-token",
             "hub database": hub_state / "jupyterhub.sqlite", "bob's home": bob, "bob's notes": bob / "notes.txt",
             "a file in the hub account's home": next(p for p in Path.home().iterdir() if p.is_file())}
    for name, path in found.items():
        assert path.exists(), f"{name} ({path}) should exist outside the sandbox"
    assert any(campus_state.iterdir()), "the data service keeps its database in the campus state"
    return found


def test_the_kernel_cannot_see_the_data_the_state_or_other_homes(place, hub, servers, kernel):
    seen = probe(kernel, secrets_of(place, hub))
    leaked = {name: what for name, what in seen.items() if what not in ("missing", "empty", "denied")}
    assert not leaked, f"visible in alice's kernel: {leaked}"
    homes = probe(kernel, {"homes": place / "homes"})["homes"]
    assert homes == f"lists {PREFIX}alice"  # her own home, and nobody else's


def test_permissions_keep_her_out_even_without_the_sandbox(place, hub, servers):
    """Outside bubblewrap, as alice's uid: each folder's own mode refuses her."""
    alice = account("alice")
    as_alice = ["setpriv", f"--reuid={alice.pw_uid}", f"--regid={alice.pw_gid}", "--clear-groups", "--"]
    for name, path in secrets_of(place, hub).items():
        done = subprocess.run([*as_alice, "ls", "-la", str(path)], capture_output=True, text=True)
        assert done.returncode != 0 and "Permission denied" in done.stderr, (name, done.stdout)


RAN = "import pathlib; pathlib.Path.home().joinpath('ran-{}').touch()\n"
UNDO_LOCKDOWN = {  # what a researcher might leave in her home to get downloads back
    ".jupyter/jupyter_server_config.py": RAN.format("jupyter-config") + "c.ServerApp.terminals_enabled = True\n",
    ".local/etc/jupyter/jupyter_server_config.py": RAN.format("user-site-config"),
    "jupyter_server_config.py": RAN.format("config-in-cwd"),
    ".local/lib/python3.11/site-packages/undo.pth": RAN.format("user-site-pth").replace("\n", "") + "\n",
    ".jupyter/labconfig/page_config.json": json.dumps({"disabledExtensions": {p: False for p in PLUGINS},
                                                       "lockedExtensions": {p: False for p in PLUGINS}}),
}


def test_a_restarted_server_keeps_the_home_and_ignores_config_left_in_it(place, hub, servers):
    """bob's server, stopped and started again: his edits stay (the home is not new), and
    Jupyter config he left in his home does not undo the lockdown."""
    bob, entry = home(place, "bob"), account("bob")
    (bob / "templates" / "start-here.ipynb").write_text("bob's edit")
    for name, text in UNDO_LOCKDOWN.items():
        (bob / name).parent.mkdir(parents=True, exist_ok=True)
        (bob / name).write_text(text)
    subprocess.run(["chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", str(bob)], check=True)
    stop_server(hub, "bob")
    took = start_servers(hub, ["bob"])
    print(f"bob's server restarted in {took['bob']} s")
    assert (bob / "templates" / "start-here.ipynb").read_text() == "bob's edit"
    assert (bob.stat().st_mode & 0o777) == 0o700
    assert sorted(p.name for p in bob.glob("ran-*")) == []  # none of it was even run
    base = f"{hub.url}user/bob/"
    with httpx.Client(headers=admin(hub), timeout=30) as client:
        assert client.get(base + "api/contents/jupyter_server_config.py?content=0").status_code == 200
        assert client.get(base + "api/contents/jupyter_server_config.py").status_code == 403  # no file's body
        assert client.get(base + "files/jupyter_server_config.py").status_code == 404
        assert client.get(base + "api/terminals").status_code == 404
        config = lab_config(client.get(base + "lab"))
        assert set(PLUGINS) <= set(config["disabledExtensions"]) & set(config["lockedExtensions"])


# --------------------------------------------------------------------------- no downloads


def test_files_terminals_and_nbconvert_are_refused_even_to_an_admin(hub, servers):
    base = f"{hub.url}user/alice/"
    with httpx.Client(headers=admin(hub), timeout=30) as client:
        saved = client.put(base + "api/contents/report.ipynb", json={"type": "notebook", "content": NOTEBOOK})
        assert saved.status_code in (200, 201), saved.text
        assert client.get(base + "api/contents/report.ipynb").status_code == 200  # the editor still works
        refused = answers(client, base, {
            "files": "files/report.ipynb", "terminals": "api/terminals", "new terminal": "POST api/terminals",
            "nbconvert download": "nbconvert/html/report.ipynb?download=true", "nbconvert exporters": "api/nbconvert"})
    assert let_through(refused) == {}


def answers(client: httpx.Client, base: str, requests: dict[str, str]) -> dict[str, httpx.Response]:
    """{name: the server's answer to GET base + path (or to "POST path")}."""
    found = {}
    for name, request in requests.items():
        method, path = request.split(" ", 1) if request.startswith("POST ") else ("GET", request)
        found[name] = client.request(method, base + path)
    return found


def let_through(found: dict[str, httpx.Response]) -> dict[str, int]:
    """The answers that were neither refused (403) nor absent (404)."""
    return {name: r.status_code for name, r in found.items() if r.status_code not in (403, 404)}


ROWS_CSV = """
rows = "".join(f"card{i:05d},Gangnam-gu,{i * 7 % 1000}\\n" for i in range(20_000))
open("rows.csv", "w").write(rows)
"""


def test_rows_her_kernel_wrote_reach_the_browser_only_as_listing(hub, servers, kernel):
    """The finding: 20,000 rows written to rows.csv and fetched whole through the contents
    API. Now its body is refused in every form, and a notebook of rows in its cells too."""
    kernel.run(ROWS_CSV + """
import json
cells = [{"cell_type": "markdown", "source": rows, "metadata": {}}]
json.dump({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, open("rows.ipynb", "w"))
""")
    base = f"{hub.url}user/alice/"
    with httpx.Client(headers=admin(hub), timeout=30) as client:
        refused = answers(client, base, {
            "contents": "api/contents/rows.csv", "contents as base64": "api/contents/rows.csv?format=base64",
            "contents as text": "api/contents/rows.csv?type=file&format=text&content=1",
            "rows in a notebook's cells": "api/contents/rows.ipynb", "files": "files/rows.csv",
            "download": "files/rows.csv?download=1", "nbconvert": "nbconvert/html/rows.ipynb?download=true"})
        listed = client.get(base + "api/contents/rows.csv?content=0")
    assert let_through(refused) == {}
    assert not [name for name, r in refused.items() if "card00001" in r.text]
    assert "campus.export_file" in refused["contents"].json()["message"]
    assert listed.status_code == 200 and listed.json()["size"] > 400_000


def test_a_huge_output_is_cut_with_a_note_and_the_saved_notebook_too(place, hub, servers, kernel):
    out = kernel.run(ROWS_CSV + "print(rows)")
    assert out.count("card") == ROWS and "[campus] Output cut" in out
    assert kernel.run("print(6 * 7)").strip() == "42"  # the next cell has its own budget
    cell = {"cell_type": "code", "source": "print(rows)", "metadata": {}, "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "card,district\n" * 20_000}]}
    saved = httpx.put(f"{hub.url}user/alice/api/contents/saved.ipynb", headers=admin(hub), timeout=30,
                      json={"type": "notebook", "content": {**NOTEBOOK, "cells": [cell]}})
    assert saved.status_code in (200, 201), saved.text
    on_disk = json.loads((home(place, "alice") / "saved.ipynb").read_text())
    assert "".join(on_disk["cells"][0]["outputs"][0]["text"]).count("card") == ROWS


SCREEN_NOTEBOOK = {**NOTEBOOK, "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                                            "display_name": "Python 3 (ipykernel)"}},
                   "cells": [{"cell_type": "code", "source": "print(open('rows.csv').read())", "metadata": {},
                              "execution_count": None, "outputs": [], "id": "rows"}]}


def test_her_browser_shows_a_screenful_of_rows_and_fetches_no_file(hub, servers, kernel, browser):
    """alice in Chromium: JupyterLab runs a cell printing 20,000 rows (JupyterLab's own
    websocket protocol): 200 are shown, with the note; her browser's fetch of rows.csv is
    refused, and the notebook she saves holds no more than was shown."""
    kernel.run(ROWS_CSV)
    put = httpx.put(f"{hub.url}user/alice/api/contents/screen.ipynb", headers=admin(hub), timeout=30,
                    json={"type": "notebook", "content": SCREEN_NOTEBOOK})
    assert put.status_code in (200, 201), put.text
    password = Passwords(Path(hub.env["CAMPUS_HUB_STATE_DIR"]) / "passwords").generate("alice")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(hub.url + "hub/login?next=%2Fhub%2Fhome")
        page.fill("#username_input", "alice")
        page.fill("#password_input", password)
        page.click("#login_submit")
        page.wait_for_url("**/hub/home", timeout=30_000)
        page.goto(hub.url + "user/alice/lab/tree/screen.ipynb")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        output = run_first_cell(page, ".jp-OutputArea-output:has-text('[campus] Output cut')")
        shown = output.inner_text()
        fetched = page.evaluate("""async () => {
            const answer = await fetch("/user/alice/api/contents/rows.csv");
            return [answer.status, await answer.text()];
        }""")
        page.wait_for_selector(".lm-TabBar-tab.jp-mod-dirty", timeout=30_000)  # run, not yet saved
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        page.wait_for_selector(".lm-TabBar-tab.jp-mod-dirty", state="detached", timeout=30_000)
    finally:
        context.close()
    assert shown.count("card") == ROWS
    assert fetched[0] == 403 and "card00001" not in fetched[1]
    saved = httpx.get(f"{hub.url}user/alice/api/contents/screen.ipynb", headers=admin(hub), timeout=30).json()
    assert "".join(saved["content"]["cells"][0]["outputs"][0]["text"]).count("card") == ROWS


def run_first_cell(page, shows: str, tries: int = 3):
    """Run the notebook's first cell until its output `shows` (a keypress a busy page dropped is sent again)."""
    for attempt in range(tries):
        page.click(".jp-Notebook .jp-Cell .jp-InputArea-editor")
        page.keyboard.press("Shift+Enter")
        try:
            return page.wait_for_selector(shows, timeout=60_000)
        except Exception:
            if attempt == tries - 1:
                raise


def test_her_kernel_cannot_make_a_user_namespace(kernel):
    seen = kernel.json("""
import json, subprocess
tried = subprocess.run(["unshare", "-Ur", "true"], capture_output=True, text=True)
print(json.dumps([tried.returncode, tried.stderr]))
""")
    assert seen[0] != 0 and "Operation not permitted" in seen[1]


def test_her_kernel_reads_her_own_cgroups_and_no_other_sessions(kernel, bob_kernel):
    seen = kernel.json(f"""
import json, os
from pathlib import Path
groups = {{c: sorted(os.listdir(f"{CGROUPS}/{{c}}/campus")) for c in ("memory", "cpu", "pids")}}
try:
    bobs = Path("{CGROUPS}/memory/campus/{PREFIX}bob/memory.usage_in_bytes").read_text()
except OSError as e:
    bobs = type(e).__name__
own = Path("{CGROUPS}/memory/campus/{PREFIX}alice/memory.oom_control").read_text()
named = [folder for folder, _, _ in os.walk("{CGROUPS}") if "{PREFIX}bob" in folder]
print(json.dumps({{"groups": groups, "bobs": bobs, "own": "oom_kill" in own, "named": named}}))
""")
    assert seen["groups"] == {c: [PREFIX + "alice"] for c in ("memory", "cpu", "pids")}
    assert seen["bobs"] == "FileNotFoundError" and seen["own"] and seen["named"] == []
    assert (SessionGroup(PREFIX + "bob").memory_folder / "memory.usage_in_bytes").exists()  # it is there, hidden


def lab_config(page: httpx.Response) -> dict:
    """JupyterLab's page config, with its extension lists as lists of names."""
    assert page.status_code == 200, page.text[:500]
    start = page.text.index('id="jupyter-config-data"')
    config = json.loads(page.text[page.text.index(">", start) + 1: page.text.index("</script>", start)])
    for key in ("disabledExtensions", "lockedExtensions"):
        if isinstance(config[key], dict):
            config[key] = [name for name, on in config[key].items() if on]
    return config


def test_jupyterlab_download_and_export_plugins_are_disabled_and_locked(hub, servers):
    config = lab_config(httpx.get(f"{hub.url}user/alice/lab", headers=admin(hub), timeout=30))
    assert set(PLUGINS) <= set(config["disabledExtensions"])
    assert set(PLUGINS) <= set(config["lockedExtensions"])


# --------------------------------------------------------------------------- the data service


def test_her_kernel_holds_her_token_and_no_campus_secrets(kernel):
    env = kernel.json("import os, json; print(json.dumps(sorted(os.environ)))")
    assert "JUPYTERHUB_API_TOKEN" in env and "CAMPUS_SERVICE_URL" in env
    assert [k for k in env if k.startswith("CAMPUS_")] == ["CAMPUS_SERVICE_URL", "CAMPUS_SESSION_LIMITS"]


def test_the_data_service_answers_her_kernel_as_alice(kernel):
    me = kernel.json("""
import os, json, httpx
answer = httpx.get(os.environ["CAMPUS_SERVICE_URL"] + "api/me", timeout=60,
                   headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]})
print(json.dumps(answer.json()))
""")
    assert me["user"] == "alice"
    assert set(me["groups"]) == {"researchers", "project:gangnam-retail"}


def test_campus_sql_works_in_her_kernel(kernel):
    rows = kernel.json("""
import campus, json
r = campus.sql("SELECT district, count(*) AS n FROM card_usage GROUP BY district")
print(json.dumps(r.pl().height))
""")
    assert rows == 25


# --------------------------------------------------------------------------- sealed: the network


@pytest.fixture(scope="module")
def bob_kernel(hub, servers):
    k = Kernel(hub, "bob")
    yield k
    k.close()


def port_of(url: str) -> int:
    return httpx.URL(url).port


def reach(kernel, targets: dict[str, int]) -> dict[str, str]:
    """For each loopback port, what a connection from the kernel meets: 'open' or the error's name."""
    return kernel.json(f"""
import errno, json, socket
def reach(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return "open"
    except OSError as e:
        return errno.errorcode.get(e.errno, type(e).__name__)
print(json.dumps({{name: reach(port) for name, port in {json.dumps(targets)}.items()}}))
""")


def test_her_namespace_holds_only_its_own_loopback(servers):
    assert interfaces(PREFIX + "alice") == ["lo"] and interfaces(PREFIX + "bob") == ["lo"]
    assert (NAMESPACES / (PREFIX + "alice")).exists()


def test_her_kernel_reaches_the_hub_api_and_the_data_service_and_nothing_else(hub, servers, kernel, bob_kernel):
    bobs_server = port_of(bob_kernel.run("import os; print(os.environ['JUPYTERHUB_SERVICE_URL'])").strip())
    env = kernel.json("import os, json; print(json.dumps({k: os.environ[k] for k in "
                      "['JUPYTERHUB_API_URL', 'CAMPUS_SERVICE_URL']}))")
    seen = reach(kernel, {
        "the hub's API": port_of(env["JUPYTERHUB_API_URL"]),
        "the data service": port_of(env["CAMPUS_SERVICE_URL"]),
        "PostgreSQL": 5432,
        "the proxy's API": port_of(hub.env["CAMPUS_HUB_PROXY_API_URL"]),
        "the campus's public port": port_of(hub.env["CAMPUS_HUB_BIND_URL"]),
        "bob's server": bobs_server,
    })
    assert seen == {"the hub's API": "open", "the data service": "open", "PostgreSQL": "ECONNREFUSED",
                    "the proxy's API": "ECONNREFUSED", "the campus's public port": "ECONNREFUSED",
                    "bob's server": "ECONNREFUSED"}
    # and outside her namespace, each of those refused ports is open: the lock, not an empty machine
    for name in ("PostgreSQL", "the proxy's API", "the campus's public port"):
        port = {"PostgreSQL": 5432, "the proxy's API": port_of(hub.env["CAMPUS_HUB_PROXY_API_URL"]),
                "the campus's public port": port_of(hub.env["CAMPUS_HUB_BIND_URL"])}[name]
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def machine_address() -> str:
    """One of this machine's own addresses beyond loopback (never sent to: only routes are asked)."""
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True,
                           text=True).stdout.split()
    return shown[shown.index("inet") + 1].split("/")[0] if "inet" in shown else "192.0.2.1"


def test_no_address_beyond_loopback_has_a_route_from_her_session(kernel):
    addresses = ["192.0.2.1", "10.0.0.1", machine_address(), "2001:db8::1"]
    seen = kernel.json(f"""
import errno, json, socket, subprocess
found = {{}}
for address in {json.dumps(addresses)}:
    route = subprocess.run(["/usr/sbin/ip", "route", "get", address], capture_output=True, text=True)
    if route.returncode == 0:
        found[address] = "routed: " + route.stdout.strip()  # stop here: never send to it
        continue
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    error = s.connect_ex((address, 9))
    found[address] = errno.errorcode.get(error, str(error))
print(json.dumps(found))
""")
    assert seen == {address: "ENETUNREACH" for address in addresses}


def test_the_machines_unix_sockets_are_not_in_her_session(kernel):
    sockets = [p for p in (Path("/run/postgresql/.s.PGSQL.5432"), Path("/run/mysqld/mysqld.sock")) if p.exists()]
    seen = probe(kernel, {"/run": Path("/run"), **{str(p): p for p in sockets}})
    assert seen == {"/run": "empty", **{str(p): "missing" for p in sockets}}


# --------------------------------------------------------------------------- sealed: what the relays hold

FLOOD = 10_000
CAP = 64  # CAMPUS_SANDBOX_RELAY_CONNECTIONS, by default


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_ten_thousand_connections_from_her_kernel_are_refused_beyond_the_cap_while_the_hub_answers_bob(
        hub, servers, kernel, bob_kernel):
    """alice's kernel opens 10,000 connections to the hub's API relay and holds what it gets:
    at most the cap is relayed, the rest are closed at once, the hub's descriptors stay
    bounded, the log does not grow per attempt, and bob's call to the hub is answered."""
    before, log_before = descriptors(hub.process.pid), len(hub.log())
    opened = kernel.json(f"""
import json, os, resource, select, socket, urllib.parse
resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
api = urllib.parse.urlsplit(os.environ["JUPYTERHUB_API_URL"])
held, refused, failed = [], 0, 0

def prune():
    global held, refused
    poll = select.poll()
    for s in held:
        poll.register(s, select.POLLIN)
    closed = {{fd for fd, _ in poll.poll(0)}}
    kept = []
    for s in held:
        if s.fileno() in closed:  # the relay closed it: EOF or reset, nothing to read
            refused += 1
            s.close()
        else:
            kept.append(s)
    held = kept

for i in range({FLOOD}):
    try:
        held.append(socket.create_connection((api.hostname, api.port), timeout=10))
    except OSError:
        failed += 1
    if i % 200 == 199:
        prune()
import time; time.sleep(2); prune()
print(json.dumps({{"held": len(held), "refused": refused, "failed": failed}}))
""")
    during = descriptors(hub.process.pid)
    bobs = bob_kernel.json("""
import httpx, json, os
answer = httpx.get(os.environ["JUPYTERHUB_API_URL"] + "/user", timeout=60,
                   headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]})
print(json.dumps([answer.status_code, answer.json().get("name")]))
""")
    kernel.run("for s in held: s.close()\nheld.clear()")
    grown = hub.log()[log_before:]
    print(f"the flood: {opened}; the hub's descriptors {before} -> {during}; its log grew {len(grown)} bytes")
    assert 0 < opened["held"] <= CAP and opened["held"] + opened["refused"] + opened["failed"] == FLOOD
    assert opened["refused"] >= FLOOD - CAP - opened["failed"] and opened["failed"] < FLOOD // 10
    assert during <= before + 3 * CAP + 50  # three per relayed connection, and no more
    assert bobs == [200, "bob"]
    assert len(grown) < 20_000 and grown.count("refused since the last note") <= 2, grown[-4000:]


def test_her_kernels_requests_take_at_most_their_share_of_the_hubs_log(hub, servers, kernel):
    """JupyterHub logs every request; from a session, at most 60 a minute are (the rest counted)."""
    log_before = len(hub.log())
    kernel.run("""
import httpx, os
with httpx.Client(timeout=30) as client:
    for _ in range(500):
        client.get(os.environ["JUPYTERHUB_API_URL"] + "/", headers={"X-Forwarded-For": "198.51.100.7"})
""")
    grown = hub.log()[log_before:]
    assert 0 < grown.count("GET /hub/api/") <= 60, grown[-4000:]  # logged, up to its share


def test_a_forged_x_forwarded_for_from_her_kernel_locks_no_one_out(hub, servers, kernel):
    """Her kernel posts wrong passwords to the hub's sign-in through its relay, claiming to be
    bob's browser's address (the proxy's view of it: 127.0.0.1) and another: it may not sign in
    from a session at all, so neither the address nor bob's name is locked."""
    seen = kernel.json("""
import httpx, json, os, re
hub = os.environ["JUPYTERHUB_API_URL"].rsplit("/api", 1)[0]
codes = []
with httpx.Client(timeout=30) as client:
    for victim in ["127.0.0.1", "198.51.100.7"] * 15:
        claim = {"X-Forwarded-For": victim, "X-Real-Ip": victim}  # on both: the form's token is bound to the address
        page = client.get(hub + "/login", headers=claim)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
        posted = client.post(hub + "/login", headers=claim,
                             data={"username": "bob", "password": "not-his-password", "_xsrf": xsrf})
        codes.append([posted.status_code, "not allowed" in posted.text and "notebook session" in posted.text])
print(json.dumps(sorted(set(map(tuple, codes)))))
""")
    assert seen == [[403, True]]  # refused, saying why, and not counted
    as_bob(hub)  # bob signs in from 127.0.0.1 through the proxy with his password: 302


def test_an_address_is_locked_as_the_proxy_saw_it(hub):
    """What the proxy says (from its own address, 127.0.0.1) is the client's address: wrong
    passwords from one address lock that address only, and the right one from another passes."""
    internal = hub.api.rsplit("hub/api/", 1)[0]  # the hub itself, where the proxy sends requests

    def from_address(address: str) -> httpx.Client:  # as the proxy passes on a browser at `address`
        return httpx.Client(base_url=internal, timeout=60, headers={"X-Forwarded-For": address})

    with from_address("198.51.100.9") as stranger:
        for n in range(4 * 5):  # CAMPUS_HUB_MAX_FAILED_LOGINS (5), four times, for an address
            assert not signed_in(sign_in(stranger, f"nobody{n}", "not-a-password"))
        assert sign_in(stranger, "nobody", "not-a-password").status_code == 429
    password = Passwords(Path(hub.env["CAMPUS_HUB_STATE_DIR"]) / "passwords").generate("bob")
    with from_address("198.51.100.10") as neighbour:
        assert signed_in(sign_in(neighbour, "bob", password))


# --------------------------------------------------------------------------- sealed: the limits


def test_each_session_has_its_limits_from_the_settings_and_users_yaml(servers):
    def limits(name: str) -> dict[str, int]:
        group = SessionGroup(PREFIX + name).folders
        return {"memory": int((group["memory"] / "memory.limit_in_bytes").read_text()),
                "cpu quota": int((group["cpu"] / "cpu.cfs_quota_us").read_text()),
                "processes": int((group["pids"] / "pids.max").read_text()),
                "running": len((group["memory"] / "cgroup.procs").read_text().split())}
    alice, bob = limits("alice"), limits("bob")
    assert alice | {"running": 0} == {"memory": MEMORY, "cpu quota": int(CPUS * 100_000), "processes": PROCESSES,
                                      "running": 0}
    assert (bob["memory"], bob["cpu quota"]) == (BOBS_MEMORY, 100_000)  # his project's limits
    assert alice["running"] >= 1 and bob["running"] >= 1  # bwrap, the server, its kernels


def everyone_else_works(hub, bob_kernel) -> None:
    """The hub, the data service and bob's session answer."""
    assert httpx.get(hub.api, headers=admin(hub), timeout=30).status_code == 200
    assert bob_kernel.json("""
import campus, json
print(json.dumps(campus.sql("SELECT count(*) AS n FROM card_usage GROUP BY district").pl().height))
""") == 25


def test_a_cell_that_asks_for_more_memory_than_the_session_has_gets_a_memory_error(hub, kernel, bob_kernel):
    kernel.run("import campus; campus.load_ipython_extension(get_ipython())")  # its own display of refusals too
    out, error = kernel.attempt(f"hoard = bytearray({2 * MEMORY})")
    assert error is not None and error.startswith("MemoryError")
    assert "[campus] This session may use 1.5 GiB of memory in all" in out
    assert kernel.run("print(6 * 7)").strip() == "42"  # her kernel lives on
    everyone_else_works(hub, bob_kernel)


def test_a_session_out_of_memory_loses_its_biggest_process_only(hub, servers, kernel, bob_kernel):
    """Three processes of alice's, each well within a process's limit, together over her
    session's: the OOM killer stops one of hers, and nothing of anyone else's."""
    before = SessionGroup(PREFIX + "alice").oom_kills()
    codes = kernel.json(f"""
import json, subprocess, sys
hog = "import time; b = b'x' * {int(MEMORY * 0.45)}; print('holding', flush=True); time.sleep(300)"
hogs = [subprocess.Popen([sys.executable, "-c", hog], stdout=subprocess.PIPE, text=True) for _ in range(3)]
said = [h.stdout.readline().strip() for h in hogs]  # 'holding', or nothing: the OOM killer stopped it
for h in hogs:
    h.kill()
    h.wait()
print(json.dumps(said))
""")
    assert SessionGroup(PREFIX + "alice").oom_kills() > before
    assert len(codes) == 3  # the cell ran to its end: the OOM killer took a hog, not her kernel
    assert kernel.run("print(6 * 7)").strip() == "42"
    everyone_else_works(hub, bob_kernel)
    fresh = Kernel(hub, "alice")
    try:
        told = fresh.run("print('first cell')")
        assert "[campus] This session ran out of its 1.5 GiB of memory" in told and "first cell" in told
        assert "[campus]" not in fresh.run("print('second cell')")  # said once
    finally:
        fresh.close()


def test_a_fork_bomb_stops_at_the_sessions_process_limit(hub, kernel, bob_kernel):
    out, error = kernel.attempt("""
import subprocess
children = []
while len(children) < 2000:
    children.append(subprocess.Popen(["sleep", "60"]))
""")
    started = kernel.json("""
import json
for child in children:
    child.kill()
    child.wait()
print(len(children))
""")
    assert error is not None and error.startswith("BlockingIOError")
    assert f"[campus] This session may run {PROCESSES} processes and threads at once" in out
    assert 100 < started < PROCESSES
    everyone_else_works(hub, bob_kernel)


def test_filling_the_home_or_tmp_stops_at_its_size(place, hub, kernel, bob_kernel):
    filled = kernel.json("""
import errno, json, os
def fill(path):
    written = 0
    try:
        with open(path, "wb") as f:
            while written < 1 << 30:
                f.write(b"x" * (1 << 20))
                f.flush()
                written += 1 << 20
    except OSError as e:
        return [written, errno.errorcode[e.errno]]
    finally:
        os.remove(path)
    return [written, None]
print(json.dumps({"home": fill(os.path.expanduser("~/filler")), "tmp": fill("/tmp/filler")}))
""")
    assert filled["home"][1] == "ENOSPC" and filled["home"][0] < HOME
    assert filled["tmp"][1] == "ENOSPC" and filled["tmp"][0] <= TMP
    out, error = kernel.attempt("open('big', 'wb').write(b'x' * (100 << 20))")
    kernel.run("import os; os.remove('big')")
    assert error is not None and "No space left on device" in error
    assert "[campus] Your home is full: it holds 64 MiB" in out
    assert image_of(home(place, "alice")).stat().st_size == HOME
    everyone_else_works(hub, bob_kernel)


def test_her_session_gets_half_a_core(kernel):
    used = kernel.json("""
import json, resource, subprocess, sys, time
spin = "import time\\nend = time.time() + 3\\nwhile time.time() < end: pass"
began = time.monotonic()
for p in [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(2)]:
    p.wait()
print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime, time.monotonic() - began]))
""")
    cpu, wall = used
    assert cpu < CPUS * wall * 1.3 + 0.5, f"{cpu:.1f} s of CPU in {wall:.1f} s, over a quota of {CPUS} cores"


# --------------------------------------------------------------------------- sealed: files leave only through the airlock


def test_the_airlock_checks_the_files_her_kernel_hands_it(kernel):
    """From her sealed kernel the one way out is the airlock; a table file is checked there:
    small counts are flagged for the reviewer, an identifier column is refused outright."""
    seen = kernel.json("""
import campus, json
open("small.csv", "w").write("district,cards\\n" + "".join(f"d{i},{n}\\n" for i, n in enumerate([40, 13, 55, 20])))
open("ids.csv", "w").write("card_id,amount\\n" + "".join(f"c{i:06d},{i * 10}\\n" for i in range(150)))
flagged = campus.export_file("small.csv", "cards by district", name="cards-by-district")
try:
    campus.export_file("ids.csv", "spending per card")
    refused = None
except campus.CampusError as e:
    refused = [type(e).__name__, e.reason]
print(json.dumps({"name": flagged.name, "status": flagged.status, "flags": flagged.flags, "refused": refused}))
""")
    assert seen["name"] == "cards-by-district" and seen["status"] == "needs_review"
    assert any("small" in flag.lower() for flag in seen["flags"]), seen["flags"]
    assert "13" not in " ".join(seen["flags"])  # the reviewer's flags never carry a value of the file
    kind, reason = seen["refused"]
    assert kind == "InvalidExport" and "card_id" in reason and "c000001" not in reason


def test_her_project_reads_rows_of_card_usage_with_pseudonyms_in_her_sealed_session(place, kernel):
    """gangnam-retail's rows grant: rows of people, in a sealed session only, each card and
    merchant as the project's own pseudonym; the raw ids never reach her kernel."""
    seen = kernel.json("""
import campus, json
rows = campus.sql("SELECT card_id, merchant_id, district, amount FROM card_usage LIMIT 200",
                  project="gangnam-retail").pl()
print(json.dumps({"n": rows.height, "districts": sorted(set(rows["district"])),
                  "cards": rows["card_id"].to_list(), "merchants": rows["merchant_id"].to_list()}))
""")
    assert seen["n"] == 200 and seen["districts"] == ["Gangnam-gu"]
    assert all(re.fullmatch(r"[0-9a-f]{32}", card) for card in seen["cards"] + seen["merchants"])
    raw = set(duckdb.sql(f"SELECT card_id FROM read_parquet('{place}/data/card_usage/**/*.parquet') "
                         "WHERE district = 'Gangnam-gu'").pl()["card_id"])
    assert raw and not raw & set(seen["cards"])


# --------------------------------------------------------------------------- a session that cannot be sealed


def as_bob(hub) -> httpx.Client:
    """bob's browser, signed in with a password an admin set."""
    password = Passwords(Path(hub.env["CAMPUS_HUB_STATE_DIR"]) / "passwords").generate("bob")
    client = httpx.Client(base_url=hub.url, timeout=60)
    assert sign_in(client, "bob", password).status_code == 302
    return client


def test_a_refused_spawn_shows_the_reason_and_leaves_nothing_behind(place, hub, servers, bob_kernel):
    stop_server(hub, "bob")
    bob = PREFIX + "bob"
    assert not (NAMESPACES / bob).exists() and not os.path.ismount(home(place, "bob"))
    assert not (CGROUPS / "memory" / "campus" / bob).exists()
    (place / "data").chmod(0o755)
    try:
        refused = httpx.post(hub.api + "users/bob/server", headers=admin(hub), timeout=60)
        page = as_bob(hub).get("hub/spawn-pending/bob")  # where his browser waits for his server
    finally:
        (place / "data").chmod(0o700)
    assert refused.status_code == 503, refused.text
    assert "could not be sealed" in refused.json()["message"] and "chmod o-rwx" in refused.json()["message"]
    assert page.status_code == 503 and "could not be sealed" in page.text and "Unhandled error" not in page.text
    assert not (NAMESPACES / bob).exists() and not os.path.ismount(home(place, "bob"))
    start_servers(hub, ["bob"])


# --------------------------------------------------------------------------- it fails closed (fast)


def test_without_bwrap_or_setpriv_no_server_starts(tmp_path):
    with pytest.raises(SandboxUnavailable) as refused:
        find_tools(str(tmp_path))
    assert "apt-get install bubblewrap" in refused.value.reason and "util-linux" in refused.value.reason


def under_the_filter(command: list[str]) -> subprocess.CompletedProcess:
    """`command` in bubblewrap under the session's seccomp filter, as nobody."""
    tools, seccomp = find_tools(), program_fd()
    try:
        return subprocess.run([tools["bwrap"], "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
                               "--unshare-pid", "--seccomp", str(seccomp), "--", tools["setpriv"], "--reuid=65534",
                               "--regid=65534", "--clear-groups", *command],
                              pass_fds=(seccomp,), capture_output=True, text=True, timeout=60)
    finally:
        os.close(seccomp)


def test_the_seccomp_filter_refuses_user_namespaces_and_lets_threads_and_processes_run():
    need_sandbox()
    refused = under_the_filter(["unshare", "-Ur", "true"])
    assert refused.returncode != 0 and "Operation not permitted" in refused.stderr
    works = under_the_filter(["/usr/bin/python3", "-c", "import subprocess, threading; t = threading.Thread(target=print, "
                                               "args=('thread',)); t.start(); t.join(); subprocess.run(['true'])"])
    assert (works.returncode, works.stdout) == (0, "thread\n"), works.stderr


def test_only_the_sessions_own_cgroups_are_shown_again(tmp_path):
    own = [CGROUPS / c / "campus" / "campus-alice" for c in ("memory", "pids")]
    args = " ".join(mount_args([], [], tmp_path, own_groups=own))
    assert args.endswith(f"--tmpfs {CGROUPS}/memory/campus --ro-bind {own[0]} {own[0]} "
                         f"--tmpfs {CGROUPS}/pids/campus --ro-bind {own[1]} {own[1]}")


def test_a_hidden_folder_open_to_everyone_is_refused(tmp_path):
    open_folder = Path(tempfile.mkdtemp(dir="/var/tmp"))
    try:
        open_folder.chmod(0o755)
        spawner = SandboxSpawner(hidden_paths=[str(open_folder)], sandbox=SandboxSettings(homes_dir=tmp_path / "homes"))
        with pytest.raises(SandboxUnavailable, match="chmod o-rwx"):
            spawner.check_hidden_folders()
        open_folder.chmod(0o750)
        assert spawner.check_hidden_folders() == [open_folder.resolve()]
    finally:
        open_folder.rmdir()


def test_a_new_home_gets_the_templates_once_and_keeps_her_edits(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("giving a home to another account needs root")
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "start.ipynb").write_text("template")
    home_dir, nobody = tmp_path / "homes" / "campus-x", pwd.getpwnam("nobody")
    assert make_home(home_dir, nobody.pw_uid, nobody.pw_gid, templates) is True
    assert (home_dir.stat().st_mode & 0o777, (home_dir / "templates" / "start.ipynb").stat().st_uid) == \
        (0o700, nobody.pw_uid)
    (home_dir / "templates" / "start.ipynb").write_text("her edit")
    assert make_home(home_dir, nobody.pw_uid, nobody.pw_gid, templates) is False
    assert (home_dir / "templates" / "start.ipynb").read_text() == "her edit"
    with pytest.raises(SandboxUnavailable, match="not a folder owned by uid"):
        make_home(home_dir, nobody.pw_uid + 1, nobody.pw_gid, templates)
    assert make_home(tmp_path / "homes" / "campus-y", nobody.pw_uid, nobody.pw_gid, tmp_path / "none") is True


def test_campus_up_makes_its_folders_private_and_refuses_to_start_with_open_ones():
    from campus.launch import LaunchError, check_private, private_folders
    from campus.settings import HubSettings, Settings

    place = Path(tempfile.mkdtemp(dir="/var/tmp"))
    try:
        place.chmod(0o755)  # a fresh CAMPUS_STATE_DIR under a folder everyone may enter
        folders = private_folders(Settings(state_dir=place / "state"), HubSettings(state_dir=place / "hub"))
        assert [(f.relative_to(place), f.stat().st_mode & 0o777) for f in folders] == \
            [(Path("state/data"), 0o700), (Path("state"), 0o700), (Path("hub"), 0o700)]
        check_private(folders)  # starts
        (place / "state").chmod(0o755)  # as an admin's chmod -R might leave them
        (place / "state" / "data").chmod(0o755)
        with pytest.raises(LaunchError, match=f"chmod o-rwx {place}/state/data {place}/state$"):
            check_private(folders)
    finally:
        shutil.rmtree(place)


def test_limits_in_users_yaml_are_checked_with_reasons():
    from pydantic import ValidationError

    from campus.provisioning import Provisioning

    base = {"users": {"alice": {"groups": ["researchers"]}}}
    with pytest.raises(ValidationError, match="too small for a notebook session"):
        Provisioning.model_validate(base | {"limits": {"researchers": {"memory": "1M"}}})
    with pytest.raises(ValidationError, match="Extra inputs"):
        Provisioning.model_validate(base | {"limits": {"researchers": {"gpus": 1}}})
    with pytest.raises(ValidationError, match="greater than 0"):
        Provisioning.model_validate(base | {"limits": {"researchers": {"cpus": 0}}})


def test_a_namespace_with_an_interface_besides_loopback_is_refused_and_removed():
    need_sandbox()
    name = f"{PREFIX}probe"
    path = make_namespace(name)
    try:
        assert path.exists() and interfaces(name) == ["lo"]
        added = subprocess.run(["ip", "-n", name, "link", "add", "leak0", "type", "veth", "peer", "name", "leak1"],
                               capture_output=True, text=True)
        assert added.returncode == 0, added.stderr
        with pytest.raises(SandboxUnavailable, match="not only its loopback"):
            check_sealed(name)
        assert not path.exists()
    finally:
        remove_namespace(name)


def test_limits_that_cannot_be_written_refuse_the_session():
    with pytest.raises(SandboxUnavailable, match="could not set the session's limits"):
        SessionGroup("campus-x", root=Path("/proc")).apply(SessionLimits(memory=2**30, cpus=1, processes=64,
                                                                        home=2**30))


def test_every_sandbox_setting_is_in_the_hub_readme():
    readme = (PROJECT_ROOT / "hub" / "README.md").read_text()
    for name in SandboxSettings.model_fields:
        variable = f"CAMPUS_SANDBOX_{name.upper()}"
        assert f"`{variable}`" in readme, f"hub/README.md does not document {variable}"
