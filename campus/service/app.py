"""The data service as a FastAPI app: `create_app(campus, authenticator)`.

Routes are small: authenticate (a dependency), run the campus's synchronous work in
the query thread pool (`in_pool`), shape the answer. Errors become JSON, with the
status `campus.service.errors` gives their code, through the handlers installed here;
a catch-all turns anything unexpected into an incident id and nothing else.

Other parts of the campus (the export airlock) add routes by passing APIRouters as
``routers``: they are mounted at the service's root (under the hub's prefix), so they
name their own paths (``/api/exports``, ``/airlock``), and use `authenticated` (an
`Identity` with ``.name``/``.user`` and ``.groups``), `campus_of` and `in_pool` as these
routes do. A `CampusError` answers with its class's ``http_status``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from functools import partial
from typing import Annotated, TypeVar

import anyio
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..campus import Campus
from ..catalog import Dataset
from ..errors import CampusError
from ..policy.decision import Decision, PolicyRequest
from ..text import MAX_SQL
from . import wire
from .auth import Authenticator, Identity, identify, token_header, token_of
from .errors import (
    Forbidden,
    InternalError,
    InvalidRequest,
    InvalidToken,
    NotFound,
    RequestTooLarge,
    TokenExpired,
    TooManyRequests,
    body,
    scrub,
)
from .models import (
    PROJECT,
    ArrowResult,
    BudgetLine,
    ColumnInfo,
    Cost,
    CostRequest,
    DatasetDescription,
    DatasetSummary,
    Error,
    ExplainRequest,
    Health,
    Me,
    SqlRequest,
)
from .limits import TARPIT, Buckets, LimitStrangers, Strangers
from .tokens import claimed_id

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BODY = 1_000_000  # bytes of a JSON body (a query is at most text.MAX_SQL characters)
QUERY_THREADS = 32
ERRORS = {status: {"model": Error} for status in (401, 403, 404, 422, 500)}
REFUSALS_AUDITED = 10  # refused tokens audited per minute and address
FORWARDED = {"x-forwarded-for", "x-forwarded-host", "forwarded"}  # set by the hub's proxy on what it passes on
PROJECT_QUERY = Query(None, max_length=200, pattern=PROJECT, description="Answer as within this project.")



def base_path(prefix: str | None) -> str:
    """Where the API lives: ``<prefix>api`` (JupyterHub's service prefix, or ``/``).

    >>> base_path(None), base_path("/services/data/"), base_path("/services/data")
    ('/api', '/services/data/api', '/services/data/api')
    """
    prefix = "/" + (prefix or "").strip("/")
    return prefix.rstrip("/") + "/api"


def create_app(campus: Campus, authenticator: Authenticator, *, prefix: str | None = None,
               routers: Iterable[APIRouter] = (), query_threads: int = QUERY_THREADS,
               sessions_only: bool = False) -> FastAPI:
    """The data service over `campus`, authenticating with `authenticator`, under `prefix`.

    With `sessions_only`, the JSON API answers only callers that reach the service
    directly (campus notebooks), not through the hub's public proxy: a token copied out
    of a session cannot query from outside. The review pages are reached through the proxy.
    """
    base = base_path(prefix)
    root = base.removesuffix("/api")
    app = FastAPI(
        title="Big Data Campus data service",
        summary="Policy-checked queries over the campus's datasets; only checked aggregates leave.",
        version="1",
        openapi_url=f"{base}/openapi.json",
        docs_url=None,  # Swagger UI would load its scripts from a public CDN; a campus has no internet
        redoc_url=None,
    )
    app.state.campus = campus
    app.state.authenticator = authenticator
    app.state.query_threads = anyio.CapacityLimiter(query_threads)
    app.state.base = base
    app.state.sessions_only = sessions_only
    app.state.refusals = Throttle(REFUSALS_AUDITED, 60.0)
    settings = campus.settings
    app.state.fairness = Fairness(settings.user_requests_per_second, settings.user_request_burst,
                                  settings.user_concurrent)
    app.state.queries = FairQueries(settings.queries_at_once, app.state.query_threads)
    app.state.strangers = Strangers(settings.stranger_requests_per_second, settings.stranger_request_burst)
    install_error_handlers(app)
    app.add_middleware(LimitBody, limit=MAX_BODY)
    app.add_middleware(LimitStrangers, strangers=app.state.strangers)  # the outermost: before anything else runs
    app.include_router(router, prefix=base)
    for extra in routers:
        app.include_router(extra, prefix=root)
    return app


# --- what every route uses -------------------------------------------------------------


def campus_of(request: Request) -> Campus:
    return request.app.state.campus


async def authenticated(request: Request, header: Annotated[str | None, Depends(token_header)]):
    """The caller's identity (a dependency), admitted by `Fairness` for the request's life;
    401/403 JSON if there is none, 429 when the caller asks too much.

    A token that is wrong, expired or not allowed here is refused and audited (at most
    `REFUSALS_AUDITED` a minute from one address, so a flood cannot swamp the trail)."""
    identity = await identified(request, header)
    fairness: Fairness = request.app.state.fairness
    try:
        fairness.admit(identity.user)
    except TooManyRequests as refused:
        await anyio.sleep(TARPIT)  # a client that does not wait as told is slowed, at no cost to others
        raise refused
    try:
        yield identity
    finally:
        fairness.release(identity.user)


async def identified(request: Request, header: str | None) -> Identity:
    if request.app.state.sessions_only and any(name in request.headers for name in FORWARDED):
        raise Forbidden("the data API answers only inside campus sessions: run this in a campus notebook "
                        "(the review pages are at the service's /airlock)")
    strangers: Strangers = request.app.state.strangers
    try:
        identity = await identify(request.app.state.authenticator, header)
    except (InvalidToken, TokenExpired, Forbidden) as refused:
        strangers.forget(header)
        address = request.client.host if request.client else "unknown"
        if request.app.state.refusals.allow(address):
            await anyio.to_thread.run_sync(partial(
                campus_of(request).audit.record, "unknown", "sign_in", refused.code, address=address,
                path=request.url.path, token=claimed_id(token_of(header) or "")))
        raise
    strangers.remember(header)
    return identity


async def in_pool(request: Request, work: Callable[..., T], *args, **kwargs) -> T:
    """Run synchronous campus work (DuckDB, policy, database) in the query thread pool."""
    return await anyio.to_thread.run_sync(partial(work, *args, **kwargs), limiter=request.app.state.query_threads)


User = Annotated[Identity, Depends(authenticated)]
router = APIRouter()


# --- routes -----------------------------------------------------------------------------


@router.get("/health", response_model=Health)
async def health() -> dict:
    """Whether the service is up (no token needed)."""
    return {"status": "ok"}


@router.get("/me", response_model=Me, responses=ERRORS)
async def me(identity: User) -> dict:
    """Who the service takes you for: your user name and groups."""
    return {"user": identity.user, "groups": identity.groups, "via": identity.via}


@router.get("/datasets", response_model=list[DatasetSummary], responses=ERRORS)
async def datasets(request: Request, identity: User, project: str | None = PROJECT_QUERY) -> list[dict]:
    """The datasets you may use, each with its mode (aggregates or rows) and your columns."""
    return await in_pool(request, usable_datasets, campus_of(request), identity, project)


@router.get("/datasets/{name}", response_model=DatasetDescription, responses=ERRORS)
async def describe(request: Request, identity: User, name: Annotated[str, Path(max_length=100)],
                   project: str | None = PROJECT_QUERY) -> dict:
    """One dataset: what it holds, and each column you may use with its role, type and unit."""
    cx = campus_of(request)
    dataset = dataset_named(cx, name)
    decision = (await in_pool(request, access, cx, identity, dataset, project)).check()
    return description(dataset, decision)


@router.post("/sql", response_class=Response, responses={200: {
    "description": "The result: an Arrow IPC stream (the default) whose schema metadata `campus` holds the report, "
                   "notes and decisions as JSON; or, with `Accept: application/json`, one JSON document.",
    "model": ArrowResult,
    "content": {wire.ARROW: {"schema": {"type": "string", "format": "binary"}}},
}, 400: {"model": Error}, 504: {"model": Error}, **ERRORS})
async def sql(request: Request, identity: User, query: SqlRequest) -> Response:
    """Run one query under the policy; only checked aggregates (or capped rows where granted) come back."""
    session = campus_of(request).session(identity.user, identity.groups, query.project)
    result = await request.app.state.queries.run(identity.user, partial(session.sql, query.sql))
    if wire.wants_json(request.headers.get("accept")):
        return Response(wire.to_json(result), media_type=wire.JSON)
    return Response(wire.to_arrow(result), media_type=wire.ARROW)


@router.get("/budget", response_model=list[BudgetLine], responses=ERRORS)
async def budget(request: Request, identity: User, project: str | None = PROJECT_QUERY) -> list[dict]:
    """The disclosure budgets that apply to you (yours, your project's), one each: what it counts, its limit a
    period, spent, left, and when it renews. Empty when none caps you."""
    session = campus_of(request).session(identity.user, identity.groups, project)
    return [line.model_dump() for line in (await in_pool(request, session.budget)).rows]


@router.post("/cost", response_model=Cost, responses={400: {"model": Error}, **ERRORS})
async def cost(request: Request, identity: User, query: CostRequest) -> dict:
    """The most cells a query can charge, from its shape alone (its keys' public values and the cell limit, never
    the data), with what is left of your budgets; refused as running it would be."""
    session = campus_of(request).session(identity.user, identity.groups, query.project)
    return (await request.app.state.queries.run(identity.user, partial(session.cost, query.sql))).model_dump()


@router.post("/explain", response_model=Decision, responses=ERRORS)
async def explain(request: Request, identity: User, question: ExplainRequest) -> dict:
    """What the policy decides for you on a dataset, columns and shape — and why."""
    cx = campus_of(request)
    dataset = dataset_named(cx, question.dataset)
    asked = PolicyRequest(user=identity.user, groups=identity.groups, project=question.project, dataset=dataset.name,
                          columns=question.columns, shape=question.shape, action=question.action,
                          sealed=cx.gateway.sealed)
    decision = await in_pool(request, cx.policy.ask, asked)
    return decision.model_dump(mode="json")


# --- the work behind the routes ------------------------------------------------------------


def dataset_named(cx: Campus, name: str) -> Dataset:
    cx.refresh()  # a dataset loaded and granted a moment ago is described at once
    if name not in cx.catalog.datasets:
        raise NotFound(f"there is no dataset {name!r}; campus.datasets() (GET api/datasets) lists those you may use")
    return cx.catalog[name]


def access(cx: Campus, identity: Identity, dataset: Dataset, project: str | None) -> Decision:
    """May this user use the dataset at all (and in which mode, with which columns)?"""
    return cx.policy.ask(PolicyRequest(user=identity.user, groups=identity.groups, project=project,
                                       dataset=dataset.name, sealed=cx.gateway.sealed))


def usable_datasets(cx: Campus, identity: Identity, project: str | None) -> list[dict]:
    cx.refresh()  # a dataset loaded and granted a moment ago is listed at once
    found = []
    for dataset in cx.catalog:
        decision = access(cx, identity, dataset, project)
        if decision.allow:
            found.append({**summary(dataset, decision), "columns": decision.columns})
    return found


def summary(dataset: Dataset, decision: Decision) -> dict:
    return {"name": dataset.name, "title": dataset.title, "description": dataset.description, "tier": dataset.tier,
            "steward": dataset.steward, "entity": dataset.entity, "mode": decision.mode, "grant": decision.grant}


def description(dataset: Dataset, decision: Decision) -> dict:
    """The dataset with the columns the decision shows (and its entity, to count)."""
    shown = set(decision.columns) | ({dataset.entity} if dataset.entity else set())
    columns = [ColumnInfo(name=name, type=c.type, role=c.role, unit=c.unit, grain=c.grain, description=c.description)
               for name, c in dataset.columns.items() if name in shown]
    return {**summary(dataset, decision), "columns": columns, "reasons": decision.reasons,
            "row_cap": decision.row_cap if decision.mode == "rows" else None, "export": decision.export}


# --- errors --------------------------------------------------------------------------------


def install_error_handlers(app: FastAPI) -> None:
    """Every error as ``{"code", "reason"}``; nothing unexpected leaks."""
    app.add_exception_handler(CampusError, campus_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)


def error_response(error: CampusError) -> JSONResponse:
    """The error as JSON; the gateway's reasons (not the service's own) are scrubbed of paths."""
    status = error.http_status
    reason = error.reason if type(error).__module__.startswith(__package__) else scrub(error.reason)
    headers = dict(getattr(error, "headers", None) or {}) | ({"WWW-Authenticate": "token"} if status == 401 else {})
    return JSONResponse(body(error.code, reason), status_code=status, headers=headers or None)


async def campus_error(request: Request, error: CampusError) -> JSONResponse:
    return error_response(error)


async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in error.errors()[:5]
    )
    return error_response(InvalidRequest(f"{problems}; the API is described at {request.app.state.base}/openapi.json"))


async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    reasons = {404: ("not_found", "there is no such endpoint"), 405: ("method_not_allowed", "this endpoint does "
                                                                       "not take that method")}
    code, reason = reasons.get(error.status_code, ("http_error", "the request could not be served"))
    return JSONResponse(body(code, f"{reason}; the API is described at {request.app.state.base}/openapi.json"),
                        status_code=error.status_code, headers=getattr(error, "headers", None))


async def internal_error(request: Request, error: Exception) -> JSONResponse:
    incident = uuid.uuid4().hex[:12]
    log.error("incident %s: %s %s failed", incident, request.method, request.url.path, exc_info=error)
    return error_response(InternalError(
        f"the data service failed unexpectedly; tell the campus admins, quoting incident {incident}"
    ))


class FairQueries:
    """Queries run `slots` at once, and while another user waits no user holds more than
    half of the slots: the next free slot goes to the first waiting query whose user is
    under their share (all the slots, when nobody else waits). A user who sends many heavy
    queries then leaves room for everyone else, however many they queue (`Fairness` caps
    how many that is), and has the whole machine when alone.

    Only the event loop calls it, so it needs no lock.
    """

    def __init__(self, slots: int, threads: anyio.CapacityLimiter):
        self.slots, self.per_user, self.threads = slots, max(1, slots // 2), threads
        self.running: dict[str, int] = {}
        self.waiting: list[tuple[str, anyio.Event]] = []

    async def run(self, user: str, work: Callable[[], T]) -> T:
        if any(waiter == user for waiter, _ in self.waiting) or not self._may_start(user):
            turn = anyio.Event()
            self.waiting.append((user, turn))
            try:
                await turn.wait()
            except BaseException:  # the client went away while waiting
                if (user, turn) in self.waiting:
                    self.waiting.remove((user, turn))
                else:
                    self._finished(user)
                raise
        else:
            self.running[user] = self.running.get(user, 0) + 1
        try:
            return await anyio.to_thread.run_sync(work, limiter=self.threads)
        finally:
            self._finished(user)

    def _may_start(self, user: str) -> bool:
        """A free slot, and `user` under their share: half the slots while another user waits."""
        others_wait = any(waiter != user for waiter, _ in self.waiting)
        share = self.per_user if others_wait else self.slots
        return sum(self.running.values()) < self.slots and self.running.get(user, 0) < share

    def _finished(self, user: str) -> None:
        left = self.running.get(user, 1) - 1
        self.running.pop(user) if left <= 0 else self.running.__setitem__(user, left)
        for entry in list(self.waiting):  # first come, first served, each within their share
            waiter, turn = entry
            if self._may_start(waiter):
                self.waiting.remove(entry)
                self.running[waiter] = self.running.get(waiter, 0) + 1
                turn.set()


class Fairness:
    """Per user, at most `concurrent` requests in progress and `rate` a second on average
    (`burst` at once after a pause); the rest get 429 with a Retry-After. One researcher's
    flood then takes a few of the query threads, never all of them.

    Only the event loop calls it (from the `authenticated` dependency), so it needs no lock.
    """

    def __init__(self, rate: float, burst: int, concurrent: int):
        self.rate, self.concurrent = rate, concurrent
        self.running: dict[str, int] = {}
        self.buckets = Buckets(rate, burst)

    def admit(self, user: str) -> None:
        wait = self.buckets.wait(user)
        if wait:
            raise TooManyRequests(
                f"{user} has sent more than {self.rate:g} requests a second; wait a moment and send fewer at once",
                retry_after=wait)
        if self.running.get(user, 0) >= self.concurrent:
            raise TooManyRequests(
                f"{user} already has {self.concurrent} requests in progress, the most at once; wait for them to "
                "finish", retry_after=1)
        self.buckets.take(user)
        self.running[user] = self.running.get(user, 0) + 1

    def release(self, user: str) -> None:
        left = self.running.get(user, 1) - 1
        if left:
            self.running[user] = left
        else:
            self.running.pop(user, None)


class Throttle:
    """At most `limit` events per `seconds` for each key (the rest are let through unrecorded)."""

    def __init__(self, limit: int, seconds: float):
        self.limit, self.seconds = limit, seconds
        self.window: dict[str, tuple[float, int]] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        started, count = self.window.get(key, (now, 0))
        if now - started > self.seconds:
            started, count = now, 0
        if len(self.window) > 10_000:  # forget old windows rather than grow without bound
            self.window = {k: v for k, v in self.window.items() if now - v[0] <= self.seconds}
        self.window[key] = (started, count + 1)
        return count < self.limit


class LimitBody:
    """Refuse request bodies over `limit` bytes with 413, however they are sent (length or chunks).

    The body is read here, up to the limit, and handed on whole: routes read it whole anyway.
    """

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self.too_large(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay(message), send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await self.too_large(scope, receive, send)
                return
        await self.app(scope, _replay({"type": "http.request", "body": body, "more_body": False}, receive), send)

    async def too_large(self, scope, receive, send):
        too_large = RequestTooLarge(f"the request body is over {self.limit:,} bytes; a query is at most "
                                    f"{MAX_SQL:,} characters")
        await error_response(too_large)(scope, receive, send)


def _replay(first: dict, then=None):
    """An ASGI receive that returns `first`, then defers to `then` (for the disconnect)."""
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return first
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive
