"""The airlock over HTTP: a JSON API for notebooks and a review page for stewards.

Mount it in the data service::

    from campus.airlock import Airlock
    from campus.airlock.web import router

    airlock = Airlock.open(cx)
    app.include_router(router(airlock, current_user))   # current_user: the service's dependency

`current_user` is a FastAPI dependency returning an object with ``.name`` and
``.groups`` (the hub's user); the router trusts nothing else about who is asking.

JSON API (errors are ``{"code": ..., "reason": ...}`` with a matching HTTP status)::

    POST /api/exports                      {sql, name, description, project}   -> 201 the request
    POST /api/exports/files                multipart: file, name, description, project -> 201 (checks.py
                                           checks the file first: a refusal is 422 invalid_export)
    GET  /api/exports?view=mine|queue|decided    (reviewers default to the queue)
    GET  /api/exports/{id}                 the request, its report, reviews and timeline
    GET  /api/exports/{id}/history         earlier releases by its requester or project (reviewers)
    POST /api/exports/{id}/review          {decision: approve|reject|return, comment, release}
    POST /api/exports/{id}/release
    POST /api/exports/{id}/resubmit        {description, sql}   (a returned request, its requester)
    POST /api/exports/{id}/resubmit/file   multipart: file, description (a returned file, checked again)
    POST /api/exports/{id}/withdraw        {comment}
    GET  /api/exports/{id}/download        the released table (Parquet) or file, its requester only

Pages (server-rendered, no JavaScript)::

    GET  /airlock                          the queue (reviewers) and your own requests, what changed since you
                                           last looked at the top
    GET  /airlock/{id}?page=N              one request: the next step and its decision form at the top, then the
                                           table (every row, `page_rows` a page) or file, reports, query, history
    GET  /airlock/{id}/download            the released content, its requester only (a browser's link)
    POST /airlock/{id}/review              form: decision, comment, csrf (the approval that completes the
                                           approvals releases it too: one step for the last reviewer)
    POST /airlock/{id}/release             form: csrf (a request approved without releasing, through the API)

**Cross-site requests.** Every POST is refused when the browser says it comes from
another site: an ``Origin`` header whose host is not this request's ``Host``, or
``Sec-Fetch-Site: cross-site``/``same-site``. Requests without those headers (the
notebook client, curl) are not browsers acting for someone else and pass. The pages'
forms also carry a token, an HMAC of the user's name under a secret (`csrf_secret`;
by default new per process, so give replicas one shared secret), which a page on
another site cannot know. The service's login cookie should be ``SameSite=Lax`` as
well; the airlock does not rely on it.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

import jinja2
import pyarrow as pa
from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from campus.audit import AuditLog
from campus.errors import CampusError, InvalidRequest
from campus.text import Sql, Words
from extractguard import formatting
from extractguard.formatting import exact, missing
from extractguard.report import Measured

from . import checks, permissions, policies
from .airlock import Airlock, Seen
from .request import AIRLOCK, ExportRequest, User
from .states import STATUSES, Status

#: Files a reviewer's browser may show inline; anything else is described, not rendered.
INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
PAGE_SECURITY = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(FilePath(__file__).parent / "templates"),
    autoescape=True, trim_blocks=True, lstrip_blocks=True,
)


#: a page of a table on the review page, from 1
TablePage = Annotated[int, Query(ge=1, le=2**31, description="The page of the table to show, from 1.")]
#: an export request's number, as the database can hold it
RequestId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The export request's number.")]


class CrossSite(CampusError):
    """A browser sent this from another site (or an out-of-date form)."""

    code = "cross_site"
    http_status = 403


class ExportBody(BaseModel):
    sql: Sql = Field(description="The query to export; the gateway runs it again under the export rules.")
    name: Words = Field(description="A short name; the download is <name>.parquet.")
    description: Words = ""
    project: str | None = Field(None, max_length=200)


class ReviewBody(BaseModel):
    decision: Literal["approve", "reject", "return"]
    comment: Words = ""
    content_sha256: str | None = Field(None, description="The content you reviewed; an approval must name it.")
    round: int | None = Field(None, description="The round you reviewed; an approval must name it.")
    release: bool = Field(False, description="Release it too, if your approval completes the approvals.")


class ResubmitBody(BaseModel):
    description: Words | None = None
    sql: Sql | None = None


class WithdrawBody(BaseModel):
    comment: Words = ""


def router(
    airlock: Airlock,
    current_user: Callable[..., Any],
    *,
    page_user: Callable[..., Any] | None = None,
    audit: AuditLog | None = None,
    csrf_secret: bytes | None = None,
) -> APIRouter:
    """The airlock's API and pages, for ``app.include_router`` (optionally with a prefix).

    `current_user` is the service's dependency for the signed-in user (``.name``,
    ``.groups``); `page_user`, if given, is the pages' own (a browser signs in
    differently from a notebook); `audit` defaults to the campus's audit log.
    """
    audit = audit or airlock.campus.audit
    secret = csrf_secret or secrets.token_bytes(32)
    api = APIRouter(route_class=_ApiRoute, tags=["exports"])
    pages = APIRouter(route_class=PageRoute, tags=["export review"], include_in_schema=False)
    same_site = [Depends(same_origin)]
    # the signed-in user, as a type FastAPI resolves (so this module has no `from __future__ import annotations`)
    Who = Annotated[Any, Depends(current_user)]  # noqa: N806
    Viewer = Annotated[Any, Depends(page_user or current_user)]  # noqa: N806

    # --- JSON API ---------------------------------------------------------------

    @api.post("/api/exports", status_code=201, dependencies=same_site)
    def create_export(body: ExportBody, user: Who):
        session = airlock.campus.session(user.name, list(user.groups), body.project)
        request = airlock.export(session, body.sql, body.name, body.description, audit=audit)
        return as_json(request, airlock, user)

    @api.post("/api/exports/files", status_code=201, dependencies=same_site)
    def create_file_export(
        file: Annotated[UploadFile, File()], user: Who, description: Annotated[Words, Form()] = "",
        project: Annotated[str | None, Form(max_length=200)] = None,
        name: Annotated[Words | None, Form(description="The request's name; default: the file's stem.")] = None,
    ):
        content = file.file.read(airlock.settings.max_file_bytes + 1)
        request = airlock.export_file(user, file.filename or "", content, description, name=name or None,
                                      project=project or None, audit=audit)
        return as_json(request, airlock, user)

    @api.get("/api/exports")
    def list_exports(user: Who, view: Literal["mine", "queue", "decided"] | None = None):
        view = view or ("queue" if permissions.is_reviewer(user, airlock.policy) else "mine")
        found = {"mine": airlock.mine, "queue": airlock.queue, "decided": airlock.decided}[view](user)
        return {"view": view, "requests": [as_json(r, airlock, user, detail=False) for r in found]}

    @api.get("/api/exports/{request_id}")
    def get_export(request_id: RequestId, user: Who):
        return as_json(airlock.get(request_id, user), airlock, user)

    @api.get("/api/exports/{request_id}/history")
    def export_history(request_id: RequestId, user: Who):
        return {"requests": [as_json(r, airlock, user, detail=False) for r in airlock.history(request_id, user)]}

    @api.post("/api/exports/{request_id}/review", dependencies=same_site)
    def review_export(request_id: RequestId, body: ReviewBody, user: Who):
        seen = _seen(body.content_sha256, body.round, body.decision)
        return as_json(airlock.review(request_id, user, body.decision, body.comment, audit=audit, seen=seen,
                                      release=body.release), airlock, user)

    @api.post("/api/exports/{request_id}/release", dependencies=same_site)
    def release_export(request_id: RequestId, user: Who):
        return as_json(airlock.release(request_id, user, audit=audit), airlock, user)

    @api.post("/api/exports/{request_id}/resubmit", dependencies=same_site)
    def resubmit_export(request_id: RequestId, body: ResubmitBody, user: Who):
        request = airlock.resubmit(request_id, user, description=body.description, sql=body.sql, audit=audit)
        return as_json(request, airlock, user)

    @api.post("/api/exports/{request_id}/resubmit/file", dependencies=same_site)
    def resubmit_file_export(request_id: RequestId, file: Annotated[UploadFile, File()], user: Who,
                             description: Annotated[Words | None, Form()] = None):
        content = file.file.read(airlock.settings.max_file_bytes + 1)
        request = airlock.resubmit(request_id, user, description=description, content=content, audit=audit)
        return as_json(request, airlock, user)

    @api.post("/api/exports/{request_id}/withdraw", dependencies=same_site)
    def withdraw_export(request_id: RequestId, user: Who, body: WithdrawBody | None = None):
        return as_json(airlock.withdraw(request_id, user, body.comment if body else "", audit=audit), airlock, user)

    @api.get("/api/exports/{request_id}/download")
    def download_export(request_id: RequestId, user: Who):
        return _attachment(airlock.download(request_id, user, audit=audit))

    # --- pages ------------------------------------------------------------------

    @pages.get("/airlock", name="airlock_queue")
    def queue_page(request: Request, user: Viewer):
        reviewer = permissions.is_reviewer(user, airlock.policy)
        queue, mine = airlock.queue(user) if reviewer else [], airlock.mine(user)
        since = _last_seen(request)
        response = _page(request, "queue.html", user, title="Export requests", reviewer=reviewer, queue=queue,
                         decided=airlock.decided(user) if reviewer else [], mine=mine,
                         required=airlock.settings.reviewers_required, budgets=_standing(airlock) if reviewer else [],
                         changes=changed_since(since, user, mine, queue), since=since)
        response.set_cookie(SEEN_COOKIE, _now().isoformat(), max_age=365 * 86400, path=_base(request) + "/",
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response

    @pages.get("/airlock/{request_id}", name="airlock_request")
    def request_page(request: Request, request_id: RequestId, user: Viewer, page: TablePage = 1):
        return _request_page(request, airlock, user, request_id, _token(secret, user), audit=audit, page=page)

    @pages.get("/airlock/{request_id}/download", name="airlock_download")
    def download_page(request_id: RequestId, user: Viewer):
        return _attachment(airlock.download(request_id, user, audit=audit))

    @pages.get("/airlock/{request_id}/content", name="airlock_content")
    def content_for_review(request_id: RequestId, user: Viewer):
        export = airlock.get(request_id, user)
        content = airlock.content(request_id, user, audit=audit)
        media_type = export.media_type if export.media_type in INLINE_IMAGES else "application/octet-stream"
        return Response(content, media_type=media_type, headers={
            "Content-Security-Policy": "default-src 'none'; sandbox", "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store", "Content-Disposition": "inline",
        })

    @pages.post("/airlock/{request_id}/review", name="airlock_review", dependencies=same_site)
    def review_form(
        request: Request, request_id: RequestId, user: Viewer, decision: Annotated[str, Form(max_length=10)],
        comment: Annotated[Words, Form()] = "", csrf: Annotated[str, Form(max_length=100)] = "",
        content_sha256: Annotated[str, Form(max_length=64)] = "", round: Annotated[int, Form()] = 0,
    ):
        _check_token(secret, user, csrf)
        try:
            seen = Seen(content_sha256, round)  # the page's form always names what it showed
            airlock.review(request_id, user, decision, comment, audit=audit, seen=seen,  # type: ignore[arg-type]
                           release=True)
        except CampusError as e:
            return _request_page(request, airlock, user, request_id, _token(secret, user), error=e, comment=comment,
                                 audit=audit)
        return RedirectResponse(request.url_for("airlock_request", request_id=request_id).path, status_code=303)

    @pages.post("/airlock/{request_id}/release", name="airlock_release", dependencies=same_site)
    def release_form(request: Request, request_id: RequestId, user: Viewer, csrf: Annotated[str, Form()] = ""):
        _check_token(secret, user, csrf)
        try:
            airlock.release(request_id, user, audit=audit)
        except CampusError as e:
            return _request_page(request, airlock, user, request_id, _token(secret, user), error=e, audit=audit)
        return RedirectResponse(request.url_for("airlock_request", request_id=request_id).path, status_code=303)

    root = APIRouter()
    root.include_router(api)
    root.include_router(pages)
    return root


# --- JSON ------------------------------------------------------------------------


def as_json(request: ExportRequest, airlock: Airlock, user: User, *, detail: bool = True) -> dict:
    """A request as the API shows it to `user`."""
    out = {
        "id": request.id, "kind": request.kind, "name": request.name, "description": request.description,
        "requester": request.requester, "project": request.project, "status": str(request.status),
        "owner": str(request.owner), "next": request.next_step, "status_reason": request.status_reason,
        "export_rule": request.export_rule, "filename": request.filename, "content_sha256": request.content_sha256,
        "content_bytes": request.content_bytes, "round": request.round,
        "approvals": request.approvals, "reviewers_required": airlock.settings.reviewers_required,
        "created_at": _iso(request.created_at), "updated_at": _iso(request.updated_at),
        "released_at": _iso(request.released_at), "sql": request.sql,
        "report": {k: request.report.get(k) for k in ("cells", "suppressed", "summary", "rules", "notes")}
        if request.kind == "table" else request.report or None,  # a file's: the automatic checks (checks.py)
        "can_download": permissions.can_download(user, request, airlock.policy) and policies.can_download(request),
    }
    if detail:
        out |= {
            "withheld": request.report.get("withheld", []),
            "provenance": request.provenance,
            "reviews": [{"reviewer": r.reviewer, "decision": r.decision, "comment": r.comment, "round": r.round,
                         "at": _iso(r.at)} for r in request.reviews],
            "timeline": [{"actor": t.actor, "from": t.from_status and str(t.from_status), "to": str(t.to_status),
                          "note": t.note, "at": _iso(t.at)} for t in request.timeline],
        }
    return out


def _attachment(download) -> Response:
    return Response(download.content, media_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(download.filename)}",
        "X-Content-SHA256": download.sha256, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
    })


class _RefusalRoute(APIRoute):
    """Every refusal, malformed request bodies included, answered by `refuse`."""

    def refuse(self, request: Request, error: CampusError) -> Response:
        raise NotImplementedError

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except CampusError as e:
                return self.refuse(request, e)
            except RequestValidationError as e:
                return self.refuse(request, InvalidRequest(_validation_reason(e)))

        return route


class _ApiRoute(_RefusalRoute):
    """Refusals as ``{code, reason}``."""

    def refuse(self, request: Request, error: CampusError) -> Response:
        return JSONResponse({"code": error.code, "reason": error.reason}, status_code=error.http_status,
                            headers=getattr(error, "headers", None))


class PageRoute(_RefusalRoute):
    """Refusals on pages render the error page; one that names a ``location`` (sign in) goes
    there when a page was asked for (by a page of this site, if the error says `from_here`);
    a form sent without a sign-in is refused, saying why."""

    def refuse(self, request: Request, error: CampusError) -> Response:
        if getattr(error, "location", None) and request.method in ("GET", "HEAD"):
            if getattr(error, "from_here", False):
                html = TEMPLATES.get_template("again.html").render(location=error.location)
                return HTMLResponse(html, status_code=200, headers=PAGE_SECURITY | {"Cache-Control": "no-store"})
            return RedirectResponse(error.location, status_code=303)
        html = TEMPLATES.get_template("error.html").render(
            title="Not possible", error=error, base=_base(request), user=None)
        return HTMLResponse(html, status_code=error.http_status, headers=PAGE_SECURITY)


def _validation_reason(error: RequestValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {problem.get('msg')}" if where else str(problem.get("msg")))
    return "; ".join(parts) or "the request is malformed"


# --- cross-site protection ------------------------------------------------------------


def same_origin(request: Request) -> None:
    """Refuse a POST that a browser says comes from another site (see the module docstring)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site in ("cross-site", "same-site"):
        raise CrossSite("this request came from another site; use the campus's own pages or the notebook client")
    origin = request.headers.get("origin")
    if origin is not None and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise CrossSite(f"this request came from {origin}, not from the campus; use the campus's own pages")
    if origin == "null":
        raise CrossSite("this request came from an opaque origin; use the campus's own pages")


def _token(secret: bytes, user: User) -> str:
    return hmac.new(secret, f"airlock-form:{user.name}".encode(), hashlib.sha256).hexdigest()


def _check_token(secret: bytes, user: User, token: str) -> None:
    if not hmac.compare_digest(_token(secret, user), token or ""):
        raise CrossSite("this form is out of date or came from another site; reload the page and try again")


# --- pages -------------------------------------------------------------------------


def _seen(content_sha256: str | None, round: int | None, decision: str) -> Seen | None:
    """What an API review says it looked at; an approval must say (`Seen.check`)."""
    if content_sha256 is None and round is None and decision != "approve":
        return None
    return Seen(content_sha256, round)


def _request_page(request: Request, airlock: Airlock, user: User, request_id: RequestId, token: str, *,
                  audit: AuditLog, error: CampusError | None = None, comment: str = "", page: int = 1) -> HTMLResponse:
    export = airlock.get(request_id, user)
    reviewer = permissions.is_reviewer(user, airlock.policy)
    look = permissions.can_look_at(user, export, airlock.policy)
    shows_table = export.kind == "table" or export.report.get("checked") == "table"
    table = _table_view(airlock.table(request_id, user, audit=audit), export, airlock.settings.page_rows, page) \
        if shows_table and look else None
    text = airlock.content(request_id, user, audit=audit).decode("utf-8") \
        if look and export.kind == "file" and not shows_table and checks.kind_of(export.filename).text else None
    return _page(
        request, "request.html", user, status_code=error.http_status if error else 200,
        title=f"Export request {export.id}: {export.name}", export=export, table=table, text=text, reviewer=reviewer,
        history=airlock.history(request_id, user) if reviewer else [],
        can_review=permissions.can_review(user, export, airlock.policy) and policies.can_review(export),
        can_release=permissions.can_release(user, export, airlock.policy) and policies.can_release(export),
        can_download=permissions.can_download(user, export, airlock.policy) and policies.can_download(export),
        inline_image=export.kind == "file" and export.media_type in INLINE_IMAGES and look, look=look,
        required=airlock.settings.reviewers_required, csrf=token, error=error, comment=comment,
        statuses=STATUSES,
    )


SEEN_COOKIE = "campus-airlock-seen"  # when this browser last opened the list of requests


def changed_since(since: datetime | None, user: User, mine: list[ExportRequest],
                  queue: list[ExportRequest]) -> list[dict]:
    """What moved since `since` (None: nothing to compare with): `user`'s requests that a reviewer
    moved (the airlock's own moves answer the request itself), and requests that came to the
    queue; newest first."""
    if since is None:
        return []
    moves = [(r, t) for r in mine for t in r.timeline if t.at > since and t.actor not in (user.name, AIRLOCK)]
    moves += [(r, t) for r in queue for t in r.timeline
              if t.at > since and t.to_status is Status.NEEDS_REVIEW and r.requester != user.name]
    moves.sort(key=lambda move: move[1].at, reverse=True)
    return [{"request": r, "step": t} for r, t in moves]


def _last_seen(request: Request) -> datetime | None:
    try:
        at = datetime.fromisoformat(request.cookies.get(SEEN_COOKIE, ""))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _page(request: Request, template: str, user: User, *, status_code: int = 200, **context) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(base=_base(request), user=user, **context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_SECURITY)


def _base(request: Request) -> str:
    """The path the pages live under (the hub's service prefix, for example)."""
    return request.url_for("airlock_queue").path.removesuffix("/airlock")


CELL = re.compile(r"(?:^| )(\w+)=")


def _table_view(table: pa.Table, export: ExportRequest, limit: int, page: int = 1) -> dict:
    """Page `page` of `limit` rows (every row is on a page: the page links to all of them) as the
    reviewer reads them: every column in its place under its
    own name (with its unit), every value formatted as the notebook shows it
    (`extractguard.formatting`: a measure to the precision of the error bar beside it; a
    file's fractions whole, as nothing checked their precision) and exact in the cell's
    title, withheld cells marked with the rules that withheld them (a
    file's empty cells marked empty)."""
    rules_by_cell: dict[frozenset, list[str]] = {}
    for row in export.report.get("withheld", []):
        rules_by_cell.setdefault(_cell_keys(row["cell"]), []).append(
            f"{row['measure']}: {row['rule']} ({row['reason']})")
    measures = {name: Measured.of(m) for name, m in (export.report.get("measures") or {}).items()}
    columns = table.column_names
    pages = max(1, -(-table.num_rows // limit))
    page = min(page, pages)
    shown = table.slice((page - 1) * limit, limit)
    rows = []
    for values in zip(*(shown.column(i).to_pylist() for i in range(shown.num_columns))):
        named = {name: value for name, value in zip(columns, values) if columns.count(name) == 1}
        cells = []
        for name, value in zip(columns, values):
            if missing(value) and export.kind == "file":
                cells.append({"text": "empty", "withheld": True, "number": False, "title": "no value in the file"})
            elif missing(value):
                why = next((rules for key, rules in rules_by_cell.items()
                            if key and all(k in named and str(named[k]) == v for k, v in key)), None)
                cells.append({"text": "withheld" if why else "withheld or empty", "withheld": True, "number": False,
                              "title": "; ".join(why) if why else "no value: withheld by the rules, or empty"})
            else:
                text = exact(value) if export.kind == "file" and isinstance(value, float) else \
                    _readable(name, value, named, measures, grouped=export.kind == "file")
                cells.append({"text": text, "withheld": False, "title": exact(value),
                              "number": isinstance(value, (int, float)) and not isinstance(value, bool)})
        rows.append(cells)
    headings = [{"name": c, "unit": _unit(c, measures)} for c in columns]
    return {"columns": headings, "rows": rows, "shown": len(rows), "total": table.num_rows, "page": page,
            "pages": pages, "first": (page - 1) * limit + 1}


def _readable(column: str, value, row: dict, measures: dict[str, Measured], grouped: bool) -> str:
    """A value as it reads: a measure to the precision of its error bar (the ``±`` column
    beside it), that error bar to its measure's, anything else plainly (a key, such as a
    year, without thousands separators unless `grouped`)."""
    if isinstance(row.get(f"±{column}"), (int, float)):
        return formatting.shown(value, row[f"±{column}"])
    if column.startswith("±") and column[1:] in row:
        return formatting.bar(value, row[column[1:]])
    return formatting.plain(value, grouped or column in measures)


def _unit(column: str, measures: dict[str, Measured]) -> str | None:
    """The unit of a measure's column, or of its error bar's."""
    measured = measures.get(column.removeprefix("±"))
    return measured.unit if measured else None


def _standing(airlock) -> list[dict]:
    """Every user's and project's released cells per dataset and period (the disclosure ledger)."""
    ledger = airlock.campus.gateway.ledger
    return ledger.standing() if ledger is not None else []


def _cell_keys(cell: str) -> frozenset:
    """``"district=Guro-gu category=Golf"`` → its keys and values (the guard's cell label)."""
    marks = list(CELL.finditer(cell))
    return frozenset(
        (m.group(1), cell[m.end(): marks[i + 1].start() if i + 1 < len(marks) else len(cell)])
        for i, m in enumerate(marks)
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


TEMPLATES.filters |= {"when": formatting.when, "size": _size}
TEMPLATES.globals |= {"Status": Status}
