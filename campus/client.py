"""The notebook client: the campus's data service from a kernel, with nothing to configure.

::

    import campus
    r = campus.sql("SELECT district, sum(amount) AS total FROM card_usage GROUP BY district")
    r.pl(); r.df(); r.arrow(); r.report      # the same Result as in-process
    campus.datasets()                         # what you may use
    campus.describe("card_usage")             # its columns, with their roles
    campus.explain("card_usage", ["card_id"]) # may I? and why not

Inside a campus notebook the token is the kernel's ``JUPYTERHUB_API_TOKEN`` and the
service is the hub's ``services/data/``; elsewhere set ``CAMPUS_SERVICE_URL`` and
``CAMPUS_API_TOKEN`` (from ``campus tokens create``). The service's refusals are
raised as the same exceptions the gateway raises in-process (`campus.Denied`,
`campus.QueryRejected`, ...), with the service's reason. A query running longer than
a second shows its elapsed time; ``%load_ext campus`` adds the ``%%sql`` cell magic.
"""

from __future__ import annotations

import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote, urlsplit

import polars as pl

from .errors import CampusError
from .gateway.result import Result
from .service import wire
from .service.errors import from_body

T = TypeVar("T")
SERVICE = "data"
SHOW_AFTER = 1.0  # seconds before a running query shows its progress


class ServiceUnreachable(CampusError):
    """The data service did not answer."""

    code = "service_unreachable"


def service_url(env: Mapping[str, str] = os.environ) -> str:
    """Where the data service is: ``CAMPUS_SERVICE_URL``, else the hub's ``services/data/``.

    >>> service_url({"JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api", "JUPYTERHUB_BASE_URL": "/"})
    'http://127.0.0.1:8081/services/data/'
    >>> service_url({"CAMPUS_SERVICE_URL": "http://campus.example:8300"})
    'http://campus.example:8300/'
    """
    if env.get("CAMPUS_SERVICE_URL"):
        return env["CAMPUS_SERVICE_URL"].rstrip("/") + "/"
    if env.get("JUPYTERHUB_API_URL"):
        hub = urlsplit(env["JUPYTERHUB_API_URL"])
        base = "/" + env.get("JUPYTERHUB_BASE_URL", "/").strip("/")
        return f"{hub.scheme}://{hub.netloc}{base.rstrip('/')}/services/{SERVICE}/"
    raise ServiceUnreachable(
        "no data service is configured: in a campus notebook this is automatic; elsewhere set CAMPUS_SERVICE_URL "
        "(e.g. http://127.0.0.1:8300/) and CAMPUS_API_TOKEN"
    )


def api_token(env: Mapping[str, str] = os.environ) -> str:
    """The token to send: ``CAMPUS_API_TOKEN``, else the kernel's ``JUPYTERHUB_API_TOKEN``."""
    token = env.get("CAMPUS_API_TOKEN") or env.get("JUPYTERHUB_API_TOKEN")
    if not token:
        raise ServiceUnreachable(
            "no token to show the data service: in a campus notebook this is automatic; elsewhere ask an admin "
            "for one (campus tokens create) and set CAMPUS_API_TOKEN"
        )
    return token


@dataclass(frozen=True)
class Description:
    """A dataset as the service describes it to you."""

    name: str
    title: str
    description: str
    tier: str
    steward: str
    entity: str | None
    mode: str
    grant: str
    columns: pl.DataFrame
    reasons: list[str]
    row_cap: int | None = None
    export: str | None = None

    def __repr__(self) -> str:
        how = f"{self.mode}" + (f", at most {self.row_cap} rows" if self.row_cap else "")
        entity = f"; counts distinct {self.entity}" if self.entity else ""
        return f"{self.name}: {self.title} ({how}{entity})\n{self.description}\n{self.columns}"

    def _repr_html_(self) -> str:
        from html import escape

        how = escape(self.mode + (f", at most {self.row_cap} rows" if self.row_cap else ""))
        return (f"<p><b>{escape(self.name)}</b>: {escape(self.title)} ({how})</p><p>{escape(self.description)}</p>"
                + self.columns._repr_html_())


class Client:
    """A connection to the data service (keep one: it reuses its HTTP connection)."""

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 600.0,
                 progress: bool = True):
        import httpx

        self.url = (url or service_url()).rstrip("/") + "/"
        self.token = token or api_token()
        self.progress = progress
        self._http = httpx.Client(
            base_url=self.url + "api/",
            headers={"Authorization": f"token {self.token}", "User-Agent": "campus-client"},
            timeout=httpx.Timeout(timeout, connect=10.0),
        )

    def sql(self, text: str, project: str | None = None) -> Result:
        """Run one query through the service; the same `Result` as `Session.sql`."""
        body = {"sql": text, "project": project}
        response = self._call(lambda: self._post("sql", body, accept=wire.ARROW), show=self.progress)
        return wire.from_arrow(response.content)

    def datasets(self, project: str | None = None) -> pl.DataFrame:
        """The datasets you may use: name, title, tier, mode, entity, grant, columns."""
        rows = self._get("datasets", project).json()
        schema = {"name": pl.String, "title": pl.String, "tier": pl.String, "mode": pl.String, "entity": pl.String,
                  "grant": pl.String, "columns": pl.List(pl.String)}
        return pl.DataFrame([{k: row.get(k) for k in schema} for row in rows], schema=schema)

    def describe(self, name: str, project: str | None = None) -> Description:
        """One dataset: its columns (those you may use) with type, role, unit and description."""
        info = self._get(f"datasets/{quote(name, safe='')}", project).json()
        columns = pl.DataFrame(info.pop("columns"), schema={
            "name": pl.String, "type": pl.String, "role": pl.String, "unit": pl.String, "grain": pl.String,
            "description": pl.String,
        })
        return Description(columns=columns, **{k: info.get(k) for k in (
            "name", "title", "description", "tier", "steward", "entity", "mode", "grant", "reasons", "row_cap",
            "export")})

    def explain(self, dataset: str, columns: Iterable[str] = (), shape: str = "aggregates",
                project: str | None = None, action: str = "query"):
        """What the policy decides for you, and why (a `campus.policy.Decision`)."""
        from .policy import Decision

        body = {"dataset": dataset, "columns": list(columns), "shape": shape, "project": project, "action": action}
        return Decision.model_validate(self._call(lambda: self._post("explain", body)).json())

    def me(self) -> dict:
        """Who the service takes you for."""
        return self._get("me").json()

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, project: str | None = None):
        params = {"project": project} if project else None
        return self._call(lambda: self._http.get(path, params=params))

    def _post(self, path: str, body: dict, accept: str = wire.JSON):
        return self._http.post(path, json=body, headers={"Accept": accept})

    def _call(self, request: Callable, show: bool = False):
        """Make a request; raise the server's error as the campus exception it names."""
        import httpx

        try:
            response = waiting(request) if show else request()
        except httpx.TransportError as e:
            raise ServiceUnreachable(f"the data service at {self.url} did not answer ({type(e).__name__}); "
                                     "try again, and tell the campus admins if it persists") from None
        if response.is_success:
            return response
        try:
            payload = response.json()
        except ValueError:
            payload = None
        raise from_body(response.status_code, payload) from None


# --- the module-level functions (campus.sql, ...) use one client per token and URL -----------

_default: Client | None = None
_lock = threading.Lock()


def default() -> Client:
    """The client for this kernel's environment (made again if its URL or token changed)."""
    global _default
    url, token = service_url(), api_token()
    with _lock:
        if _default is None or (_default.url, _default.token) != (url.rstrip("/") + "/", token):
            if _default is not None:
                _default.close()
            _default = Client(url, token)
        return _default


def sql(text: str, project: str | None = None) -> Result:
    """Run one query on the campus (see `Client.sql`)."""
    return default().sql(text, project)


def datasets(project: str | None = None) -> pl.DataFrame:
    """The datasets you may use (see `Client.datasets`)."""
    return default().datasets(project)


def describe(name: str, project: str | None = None) -> Description:
    """One dataset and its columns (see `Client.describe`)."""
    return default().describe(name, project)


def explain(dataset: str, columns: Iterable[str] = (), shape: str = "aggregates", project: str | None = None,
            action: str = "query"):
    """What the policy decides for you on a dataset, and why (see `Client.explain`)."""
    return default().explain(dataset, columns, shape, project, action)


# --- progress: elapsed time while a query runs ---------------------------------------------------


def waiting(call: Callable[[], T]) -> T:
    """`call()`, showing the elapsed time once it has run for a second (notebook or terminal)."""
    kind = _display_kind()
    if kind is None:
        return call()
    box: dict = {}
    done = threading.Event()

    def run():
        try:
            box["value"] = call()
        except BaseException as e:  # handed to the caller below
            box["error"] = e
        finally:
            done.set()

    started = time.monotonic()
    threading.Thread(target=run, daemon=True, name="campus-query").start()
    display = None
    try:
        while not done.wait(SHOW_AFTER if display is None else 0.5):
            display = display or kind()
            display.show(time.monotonic() - started)
    finally:  # also when interrupted: the service stops the query at its time limit
        if display is not None:
            display.close(time.monotonic() - started)
    if "error" in box:
        raise box["error"]
    return box["value"]


class _Notebook:
    def __init__(self):
        from IPython.display import display

        self.handle = display({"text/plain": ""}, raw=True, display_id=True)

    def show(self, seconds: float) -> None:
        self.handle.update({"text/plain": f"{_spin(seconds)} query running on the campus: {seconds:.0f} s"}, raw=True)

    def close(self, seconds: float) -> None:
        self.handle.update({"text/plain": ""}, raw=True)


class _Terminal:
    def show(self, seconds: float) -> None:
        sys.stderr.write(f"\r{_spin(seconds)} query running on the campus: {seconds:.0f} s")
        sys.stderr.flush()

    def close(self, seconds: float) -> None:
        sys.stderr.write("\r" + " " * 48 + "\r")
        sys.stderr.flush()


def _display_kind():
    """Where progress can be shown: a notebook's output, a terminal, or nowhere (None)."""
    shell = _ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        return _Notebook
    if sys.stderr is not None and sys.stderr.isatty():
        return _Terminal
    return None


def _spin(seconds: float) -> str:
    return "|/-\\"[int(seconds * 2) % 4]


def _ipython():
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


# --- %%sql ---------------------------------------------------------------------------------------


def load_ipython_extension(ipython) -> None:
    """``%load_ext campus``: adds ``%sql`` and ``%%sql``."""
    ipython.register_magic_function(sql_magic, magic_kind="line_cell", magic_name="sql")


def sql_magic(line: str, cell: str | None = None):
    """``%%sql [--project NAME] [VARIABLE]`` runs the cell as a campus query and shows the
    result (stored in VARIABLE too, if given); ``%sql SELECT ...`` runs one line."""
    if cell is None:
        return sql(line)
    project, name = magic_arguments(line)
    result = sql(cell, project=project)
    if name:
        _ipython().user_ns[name] = result
    return result


def magic_arguments(line: str) -> tuple[str | None, str | None]:
    """(project, variable) from a ``%%sql`` line.

    >>> magic_arguments("--project gangnam-retail totals"), magic_arguments("")
    (('gangnam-retail', 'totals'), (None, None))
    """
    words, project, name = shlex.split(line), None, None
    while words:
        word = words.pop(0)
        if word in ("--project", "-p") and words:
            project = words.pop(0)
        elif word.startswith("--project="):
            project = word.split("=", 1)[1]
        elif word.isidentifier() and name is None:
            name = word
        else:
            raise CampusError(f"%%sql does not understand {word!r}: use %%sql [--project NAME] [VARIABLE]")
    return project, name
