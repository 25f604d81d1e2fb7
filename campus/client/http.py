"""The data service over HTTP: `Client`, and what it answers (`Description`, `Export`).

`service_url` and `api_token` find the service and the token in the environment
(``CAMPUS_SERVICE_URL``; ``CAMPUS_API_TOKEN``, else the kernel's ``JUPYTERHUB_API_TOKEN``).
The service's refusals are raised as the exceptions the gateway raises in-process
(`campus.Denied`, `campus.QueryRejected`, ...), with the service's reason; a service that
does not answer is `ServiceUnreachable`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

import polars as pl

from ..errors import CampusError
from ..gateway import display
from ..gateway.result import Result
from ..service import wire
from ..service.errors import from_body
from ..gateway.cost import Budgets, Cost
from ..service.models import CostRequest, ExplainRequest, SqlRequest
from .progress import waiting

SERVICE = "data"


class ServiceUnreachable(CampusError):
    """The data service did not answer."""

    code = "service_unreachable"


def service_url(env: Mapping[str, str] = os.environ) -> str:
    """Where the data service is: ``CAMPUS_SERVICE_URL`` (the campus hub sets it for every notebook).

    >>> service_url({"CAMPUS_SERVICE_URL": "http://campus.example:8300"})
    'http://campus.example:8300/'
    """
    if env.get("CAMPUS_SERVICE_URL"):
        return env["CAMPUS_SERVICE_URL"].rstrip("/") + "/"
    raise ServiceUnreachable(
        "no data service is configured: in a campus notebook the hub sets CAMPUS_SERVICE_URL (restart your server "
        "from the hub's home page if it is missing); elsewhere set CAMPUS_SERVICE_URL (e.g. http://127.0.0.1:8300/) "
        "and CAMPUS_API_TOKEN"
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
        return f"{self.name}: {self.title} ({how}{entity})\n{self.description}\n{display.frame(self.columns).text()}"

    def _repr_html_(self) -> str:
        from html import escape

        how = escape(self.mode + (f", at most {self.row_cap} rows" if self.row_cap else ""))
        table = display.frame(self.columns).html()  # every column, however many, each value whole
        return f"<p><b>{escape(self.name)}</b>: {escape(self.title)} ({how})</p><p>{escape(self.description)}</p>" + table


@dataclass(frozen=True)
class Export:
    """An export request as the airlock answered it: where it stands, and what happens next."""

    id: int
    name: str
    status: str
    next: str
    reason: str | None
    page: str  # the request's review page (download from there once released)
    report: dict | None = None

    @classmethod
    def of(cls, answer: dict, page: str) -> "Export":
        return cls(answer["id"], answer["name"], answer["status"], answer.get("next") or "",
                   answer.get("status_reason"), page, answer.get("report"))

    @property
    def flags(self) -> list[str]:
        """What the airlock's automatic checks of a file flagged for the reviewer, one sentence each."""
        return [f"{c['name']}: {c['reason']}" for c in (self.report or {}).get("checks") or []
                if c.get("outcome") == "flag"]

    def __repr__(self) -> str:
        summary = (self.report or {}).get("summary") or ""
        return (f"export request {self.id} ({self.name}): {self.status}" + (f" - {self.reason}" if self.reason else "")
                + (f"\n{summary}" if summary else "") + "".join(f"\n  flagged: {f}" for f in self.flags)
                + f"\nnext: {self.next}\nfollow it at {self.page}")

    def _repr_html_(self) -> str:
        from html import escape

        summary = (self.report or {}).get("summary") or ""
        flags = "".join(f"<li>{escape(f)}</li>" for f in self.flags)
        return (f"<p><b>Export request {self.id}</b> ({escape(self.name)}): <b>{escape(self.status)}</b>"
                + (f" &mdash; {escape(self.reason)}" if self.reason else "") + "</p>"
                + (f"<p>{escape(summary)}</p>" if summary else "") + (f"<ul>{flags}</ul>" if flags else "")
                + f"<p>Next: {escape(self.next)}. <a href=\"{escape(self.page)}\" target=\"_blank\">Follow it on "
                "the airlock page</a>.</p>")


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
        body = SqlRequest.model_construct(sql=text, project=project).model_dump()  # the service checks it
        response = self._call(lambda: self._post("sql", body, accept=wire.ARROW), show=self.progress)
        return wire.from_arrow(response.content)

    def datasets(self, project: str | None = None) -> pl.DataFrame:
        """The datasets you may use: name, title, tier, mode, entity, grant, columns."""
        rows = self._get("datasets", project).json()
        schema = {"name": pl.String, "title": pl.String, "tier": pl.String, "mode": pl.String, "entity": pl.String,
                  "grant": pl.String, "columns": pl.List(pl.String)}
        return pl.DataFrame([{k: row.get(k) for k in schema} for row in rows], schema=schema)

    def budget(self, project: str | None = None) -> Budgets:
        """The disclosure budgets that apply to you, one row each: spent this period, limit, left, and when it
        renews (``.pl()`` as a table); none, with a message saying so, when nothing caps you."""
        return Budgets(rows=self._get("budget", project).json())

    def cost(self, text: str, project: str | None = None) -> Cost:
        """The most cells `text` can charge, from its shape alone, against what is left of your budgets; a query
        the policy refuses is refused as `sql` would refuse it."""
        body = CostRequest.model_construct(sql=text, project=project).model_dump()
        return Cost.model_validate(self._call(lambda: self._post("cost", body)).json())

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
        from ..policy import Decision

        body = ExplainRequest.model_construct(dataset=dataset, columns=list(columns), shape=shape, project=project,
                                              action=action).model_dump()
        return Decision.model_validate(self._call(lambda: self._post("explain", body)).json())

    def me(self) -> dict:
        """Who the service takes you for."""
        return self._get("me").json()

    def export(self, sql: str, name: str, description: str = "", project: str | None = None) -> Export:
        """Ask to take a checked table out: the service runs `sql` again under the export rules
        (whatever your session's mode), keeps the checked table with its report, and opens a request."""
        body = {"sql": sql, "name": name, "description": description, "project": project}
        return self._export(self._call(lambda: self._post("exports", body), show=self.progress).json())

    def export_file(self, path: str | os.PathLike, description: str = "", project: str | None = None,
                    name: str | None = None) -> Export:
        """Ask to take a file from your workspace out (a figure, a small table), as request `name`
        (default: the file's name without its extension). The airlock checks it first: a CSV,
        TSV or Parquet table for identifiers, row-level data, small and unrounded counts; a
        figure or text always waits for a reviewer's eyes. A refusal says what to do instead."""
        data = {"description": description} | ({"project": project} if project else {}) | (
            {"name": name} if name else {})
        return self._export(self._upload("exports/files", path, data).json())

    def resubmit(self, request_id: int, description: str | None = None, sql: str | None = None,
                 path: str | os.PathLike | None = None) -> Export:
        """Send a returned request back: a table with a new query (`sql`), a file with new content
        (`path`, checked again), either with a new `description`."""
        if path is not None:
            data = {"description": description} if description is not None else {}
            return self._export(self._upload(f"exports/{int(request_id)}/resubmit/file", path, data).json())
        body = {"description": description, "sql": sql}
        return self._export(self._call(lambda: self._post(f"exports/{int(request_id)}/resubmit", body),
                                       show=self.progress).json())

    def withdraw(self, request_id: int, comment: str = "") -> Export:
        """Withdraw a returned request you no longer want: it ends there."""
        return self._export(self._call(lambda: self._post(f"exports/{int(request_id)}/withdraw",
                                                          {"comment": comment})).json())

    def exports(self) -> pl.DataFrame:
        """Your export requests, newest first: id, name, status, what happens next."""
        found = self._get("exports", view="mine").json()["requests"]
        schema = {"id": pl.Int64, "name": pl.String, "kind": pl.String, "status": pl.String, "next": pl.String,
                  "status_reason": pl.String, "created_at": pl.String}
        return pl.DataFrame([{k: r.get(k) for k in schema} for r in found], schema=schema)

    def page(self, request_id: int) -> str:
        """The airlock page of a request, as a browser reaches it (through the hub, in a campus notebook)."""
        if os.environ.get("JUPYTERHUB_SERVICE_PREFIX") is not None and os.environ.get("JUPYTERHUB_BASE_URL"):
            return os.environ["JUPYTERHUB_BASE_URL"].rstrip("/") + f"/services/{SERVICE}/airlock/{request_id}"
        return self.url + f"airlock/{request_id}"

    def _export(self, answer: dict) -> Export:
        return Export.of(answer, self.page(answer["id"]))

    def _upload(self, path: str, file: str | os.PathLike, data: dict):
        from pathlib import Path

        file = Path(file)
        return self._call(lambda: self._http.post(path, data=data, files={"file": (file.name, file.read_bytes())}))

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, project: str | None = None, **params):
        params |= {"project": project} if project else {}
        return self._call(lambda: self._http.get(path, params=params or None))

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
