"""The data service over real HTTP: who may call what, results, errors, prefix, concurrency.

Every test runs against a live service (uvicorn on 127.0.0.1) over the demo data, once
on SQLite and once on PostgreSQL, with tokens issued by the real token store.
"""

from __future__ import annotations

import itertools
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from typer.testing import CliRunner

import campus
from campus.cli import _mount, app as cli
from campus.gateway.cost import Cost
from campus.service import create_app, wire
from campus.service.auth import TokenAuthenticator
from export_files import png

pytest_plugins = ["service_fixtures"]

CARD_TOTALS = "SELECT district, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY district ORDER BY district"
GANGNAM_SALES = "SELECT industry, sum(sales_amount) AS total FROM sales_by_location GROUP BY industry"


@pytest.fixture(scope="module")
def tokens(service) -> dict[str, str | None]:
    """A token per caller of the truth table below."""
    alice = service.token("alice")
    token_id, secret = alice.split("_", 2)[1:]
    return {
        "alice": alice,                                       # researcher, member of project gangnam-retail
        "bob": service.token("bob"),                          # researcher, not a member
        "sejin": service.token("sejin"),                      # steward: reviews exports, no data grant
        "admin": service.token("admin"),                      # admin: no data grant
        "none": None,                                         # no Authorization header
        "bad": f"campus_{token_id}_{secret[::-1]}",           # alice's id with a wrong secret
        "expired": service.token("alice", expires_in=timedelta(minutes=-1)),
    }


CALLERS = ["alice", "bob", "sejin", "admin", "none", "bad", "expired"]

# (request, expected status per caller)
#                                                                     alice bob sejin admin none bad expired
MATRIX = [
    (("GET", "health", None),                                         (200, 200, 200, 200, 200, 200, 200)),
    (("GET", "openapi.json", None),                                   (200, 200, 200, 200, 200, 200, 200)),
    (("GET", "me", None),                                             (200, 200, 200, 200, 401, 401, 401)),
    (("GET", "datasets", None),                                       (200, 200, 200, 200, 401, 401, 401)),
    (("GET", "budget?project=gangnam-retail", None),                  (200, 200, 200, 200, 401, 401, 401)),
    (("GET", "datasets/card_usage", None),                            (200, 200, 403, 403, 401, 401, 401)),
    (("GET", "datasets/sales_by_location?project=gangnam-retail", None), (200, 403, 403, 403, 401, 401, 401)),
    (("GET", "datasets/no_such_dataset", None),                       (404, 404, 404, 404, 401, 401, 401)),
    (("POST", "sql", {"sql": CARD_TOTALS}),                           (200, 200, 403, 403, 401, 401, 401)),
    (("POST", "sql", {"sql": GANGNAM_SALES, "project": "gangnam-retail"}), (200, 403, 403, 403, 401, 401, 401)),
    (("POST", "sql", {"sql": "SELECT card_id, amount FROM card_usage"}), (403, 403, 403, 403, 401, 401, 401)),
    (("POST", "explain", {"dataset": "card_usage", "columns": ["district"]}), (200, 200, 200, 200, 401, 401, 401)),
    (("POST", "cost", {"sql": CARD_TOTALS}),                          (200, 200, 403, 403, 401, 401, 401)),
    (("POST", "cost", {"sql": GANGNAM_SALES, "project": "gangnam-retail"}), (200, 403, 403, 403, 401, 401, 401)),
    (("POST", "cost", {"sql": "SELECT card_id, amount FROM card_usage"}), (403, 403, 403, 403, 401, 401, 401)),
    # the export airlock: {submitted} is alice's request awaiting review, {returned} one a steward
    # returned to her, {approved} one approved, {released} one released; each made afresh per caller
    (("GET", "exports", None),                                        (200, 200, 200, 200, 401, 401, 401)),
    (("POST", "exports", {"sql": CARD_TOTALS, "name": "totals"}),     (201, 201, 403, 403, 401, 401, 401)),
    (("POST", "exports/files", "figure.png"),                         (201, 201, 201, 201, 401, 401, 401)),
    (("GET", "exports/{submitted}", None),                            (200, 404, 200, 404, 401, 401, 401)),
    (("GET", "exports/{submitted}/history", None),                    (403, 404, 200, 404, 401, 401, 401)),
    (("POST", "exports/{submitted}/review", {"decision": "approve", "seen": True}), (403, 404, 200, 404, 401, 401, 401)),
    (("POST", "exports/{approved}/release", None),                    (403, 404, 200, 404, 401, 401, 401)),
    (("POST", "exports/{returned}/resubmit", {"description": "again"}), (200, 404, 403, 404, 401, 401, 401)),
    # (the returned request is a table: its requester passes who-may, then is told a table takes a query, not a file)
    (("POST", "exports/{returned}/resubmit/file", "figure.png"),      (422, 404, 403, 404, 401, 401, 401)),
    (("POST", "exports/{returned}/withdraw", {"comment": "not needed"}), (200, 404, 403, 404, 401, 401, 401)),
    (("GET", "exports/{released}/download", None),                    (200, 404, 403, 404, 401, 401, 401)),
]


NEW = itertools.count(1)


@pytest.fixture(scope="module")
def callers(service, tokens):
    clients = {caller: service.client(tokens[caller]) for caller in CALLERS}
    yield clients
    for http in clients.values():
        http.close()


def export_request(callers, stage: str) -> int:
    """A new export request by alice, taken to `stage` (submitted, returned, approved, released) by sejin
    (named anew each time: the same export twice is refused while the first stands)."""
    made = callers["alice"].post("exports", json={"sql": CARD_TOTALS, "name": f"totals-{next(NEW)}"})
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    if stage == "returned":
        returned = callers["sejin"].post(f"exports/{request_id}/review", json={"decision": "return", "comment": "why?"})
        assert returned.status_code == 200, returned.text
    if stage in ("approved", "released"):
        approval = {"decision": "approve"} | seen(callers, request_id)
        assert callers["sejin"].post(f"exports/{request_id}/review", json=approval).status_code == 200
    if stage == "released":
        assert callers["sejin"].post(f"exports/{request_id}/release").status_code == 200
    return request_id


def seen(callers, request_id: int) -> dict:
    """What a reviewer looking at the request sees: its content's sha256 and its round."""
    shown = callers["sejin"].get(f"exports/{request_id}").json()
    return {"content_sha256": shown["content_sha256"], "round": shown["round"]}


def call(callers, caller: str, method: str, path: str, body):
    made = {}
    path = re.sub(r"\{(\w+)\}", lambda m: str(made.setdefault("id", export_request(callers, m.group(1)))), path)
    if isinstance(body, dict) and body.get("seen"):
        body = {k: v for k, v in body.items() if k != "seen"} | seen(callers, made["id"])
    if body == "figure.png":
        files = {"file": ("figure.png", png(64), "image/png")}
        return callers[caller].post(path, files=files, data={"description": "a map"})
    return callers[caller].request(method, path, json=body)


@pytest.mark.parametrize("request_, expected", MATRIX, ids=[f"{m} {p}" for (m, p, _), _ in MATRIX])
def test_authorization_matrix(callers, request_, expected):
    method, path, body = request_
    got = {caller: call(callers, caller, method, path, body).status_code for caller in CALLERS}
    assert got == dict(zip(CALLERS, expected))


def test_the_matrix_covers_every_endpoint_the_service_publishes(callers):
    spec = callers["none"].get("openapi.json").json()
    published = [(method.upper(), re.compile(re.sub(r"\{\w+\}", r"[^/]+", path.removeprefix("/api/")) + "$"))
                 for path, item in spec["paths"].items() for method in item]
    asked = [(method, path.split("?")[0]) for (method, path, _), _ in MATRIX]
    missing = [(method, endpoint.pattern) for method, endpoint in published
               if not any(m == method and endpoint.match(p) for m, p in asked)]
    assert missing == []


def test_the_services_docstring_lists_every_endpoint_it_publishes(callers):
    import campus.service

    spec = callers["none"].get("openapi.json").json()
    published = {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item}
    listed = {" ".join(row.split()) for row in re.findall(r"^``((?:GET|POST|PUT|PATCH|DELETE) +/api/\S+)``",
                                                          campus.service.__doc__, re.MULTILINE)}
    assert published | {"GET /api/openapi.json"} == listed


def test_datasets_list_only_what_the_policy_allows(service, tokens):
    with service.client(tokens["alice"]) as http:
        listed = {d["name"]: d for d in http.get("datasets").json()}
    assert set(listed) == {"card_usage", "sales_by_location", "air_quality"}
    assert listed["card_usage"]["mode"] == "aggregates" and listed["air_quality"]["mode"] == "rows"
    assert "card_id" not in listed["card_usage"]["columns"] and listed["card_usage"]["entity"] == "card_id"
    with service.client(tokens["sejin"]) as http:
        assert http.get("datasets").json() == []


def test_describe_shows_roles_types_and_units(service, tokens):
    with service.client(tokens["alice"]) as http:
        described = http.get("datasets/card_usage").json()
    columns = {c["name"]: c for c in described["columns"]}
    assert columns["amount"] == {"name": "amount", "type": "BIGINT", "role": "measure", "unit": "KRW", "grain": None,
                                 "description": "Amount charged, in won."}
    assert columns["card_id"]["role"] == "identifier"  # the entity: to count, never to show
    assert "merchant_id" not in columns and "txn_id" not in columns
    assert described["grant"] == "researchers-card-usage" and described["reasons"]


def test_a_result_over_http_is_the_result_in_process(service, tokens):
    service.campus.session("alice", ["researchers"]).sql(CARD_TOTALS)  # charged now: both below are charged 0
    in_process = service.campus.session("alice", ["researchers"]).sql(CARD_TOTALS)
    with service.client(tokens["alice"]) as http:
        arrow = http.post("sql", json={"sql": CARD_TOTALS})
        as_json = http.post("sql", json={"sql": CARD_TOTALS}, headers={"Accept": "application/json"})
    assert arrow.headers["content-type"] == wire.ARROW
    result = wire.from_arrow(arrow.content)
    assert result.table.equals(in_process.table)
    assert result.report.summary() == in_process.report.summary() and result.report.notes == in_process.report.notes
    assert result.notes == in_process.notes and result.decisions == in_process.decisions
    document = as_json.json()
    assert [c["name"] for c in document["columns"]] == ["district", "n", "total"]
    assert document["rows"] == [list(r.values()) for r in in_process.table.to_pylist()]
    assert document["report"]["cells"] == in_process.report.cells and document["decisions"][0]["dataset"] == "card_usage"


def test_a_cost_over_http_is_the_cost_in_process_and_refused_as_the_query_is(service, tokens):
    in_process = service.campus.session("bob", ["researchers"]).cost(CARD_TOTALS)
    with service.client(tokens["bob"]) as http:
        answered = http.post("cost", json={"sql": CARD_TOTALS})
        refused = http.post("cost", json={"sql": "SELECT card_id, amount FROM card_usage"})
        ran = http.post("sql", json={"sql": "SELECT card_id, amount FROM card_usage"})
        budgets = http.get("budget").json()
    assert answered.status_code == 200 and Cost.model_validate(answered.json()) == in_process
    assert answered.json()["cells"] == 26 and "of your" in answered.json()["sentence"]
    assert refused.status_code == ran.status_code == 403 and refused.json() == ran.json()
    assert budgets and all(None not in line.values() for line in budgets), "a budget line has no nulls"
    assert {(b["scope"], b["budget"], b["counts"]) for b in budgets} == {
        ("user:bob", "researchers-card-usage-monthly", "cells")}


def test_withheld_values_come_with_their_reasons(service, tokens):
    sql = "SELECT district, category, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY ALL"
    with service.client(tokens["alice"]) as http:
        result = wire.from_arrow(http.post("sql", json={"sql": sql}).content)
    assert result.report.suppressed > 0
    assert set(result.report.withheld["rule"]) <= {"dominance", "p_ratio", "zeros", "all_same", "secondary"}
    assert result.report.withheld["reason"].str.len_chars().min() > 10


def test_every_query_is_in_the_audit_trail_with_its_user_and_project(service, tokens):
    marker = "SELECT industry, sum(sales_amount) AS audited FROM sales_by_location GROUP BY industry"
    with service.client(tokens["alice"]) as http:
        assert http.post("sql", json={"sql": marker, "project": "gangnam-retail"}).status_code == 200
    with service.client(tokens["bob"]) as http:
        assert http.post("sql", json={"sql": marker, "project": "gangnam-retail"}).status_code == 403
    events = [e for e in service.campus.audit.events(limit=50) if e["detail"].get("sql") == marker]
    assert {(e["actor"], e["project"], e["outcome"]) for e in events} == {
        ("alice", "gangnam-retail", "allowed"), ("bob", "gangnam-retail", "denied")}
    assert service.campus.audit.verify().ok


# --- errors: JSON, a fitting status, nothing that leaks --------------------------------------

ERRORS = [
    # (what, method, path, body or raw bytes, status, code)
    ("identifier selected", "POST", "sql", {"sql": "SELECT card_id FROM card_usage"}, 403, "denied"),
    ("not SQL", "POST", "sql", {"sql": "DROP TABLE card_usage"}, 400, "query_rejected"),
    ("two statements", "POST", "sql", {"sql": "SELECT 1; SELECT 2"}, 400, "query_rejected"),
    ("a file path", "POST", "sql", {"sql": "SELECT * FROM read_parquet('/etc/passwd')"}, 400, "query_rejected"),
    ("a quoted file", "POST", "sql", {"sql": "SELECT count(*) FROM '/root/.ssh/id_rsa'"}, 400, "query_rejected"),
    ("a bad cast", "POST", "sql", {"sql": "SELECT CAST(station AS INTEGER) AS s FROM air_quality"}, 400,
     "query_rejected"),
    ("unknown column", "POST", "sql", {"sql": "SELECT nope FROM air_quality"}, 400, "query_rejected"),
    ("no sql field", "POST", "sql", {"query": "SELECT 1"}, 422, "invalid_request"),
    ("sql not a string", "POST", "sql", {"sql": 42}, 422, "invalid_request"),
    ("empty sql", "POST", "sql", {"sql": ""}, 422, "invalid_request"),
    ("sql too long", "POST", "sql", {"sql": "SELECT " + "1+" * 60_000 + "1"}, 422, "invalid_request"),
    ("body too large", "POST", "sql", {"sql": "x" * 2_000_000}, 413, "request_too_large"),
    ("not JSON", "POST", "sql", b"{SELECT", 422, "invalid_request"),
    ("project not a name", "POST", "sql", {"sql": CARD_TOTALS, "project": "../etc"}, 422, "invalid_request"),
    ("no such project", "POST", "sql", {"sql": CARD_TOTALS, "project": "nope"}, 403, "denied"),
    ("unknown dataset", "POST", "explain", {"dataset": "secrets"}, 404, "not_found"),
    ("bad shape", "POST", "explain", {"dataset": "card_usage", "shape": "everything"}, 422, "invalid_request"),
    ("no such endpoint", "GET", "admin", None, 404, "not_found"),
    ("wrong method", "DELETE", "sql", None, 405, "method_not_allowed"),
]
PATHLIKE = re.compile(r"(/tmp/|/root|/home/|/work/|/etc/passwd|site-packages|\.parquet|\.py\b)")


@pytest.mark.parametrize("what,method,path,body,status,code", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_are_json_with_a_status_and_leak_nothing(service, tokens, what, method, path, body, status, code):
    with service.client(tokens["alice"]) as http:
        sent = {"content": body} if isinstance(body, bytes) else {"json": body}
        response = http.request(method, path, **sent)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert set(response.json()) == {"code", "reason"} and len(response.json()["reason"]) > 10
    assert "Traceback" not in response.text and tokens["alice"] not in response.text
    assert not PATHLIKE.search(response.text), response.text


def test_a_refused_token_is_audited_with_its_id_but_never_its_secret(service, tokens, serve):
    token_id = tokens["bad"].split("_")[1]
    app = create_app(service.campus, TokenAuthenticator(service.tokens, service.campus.policy))  # its own throttle
    with serve(app) as url, service.client(tokens["bad"]) as http:
        http.base_url = url + "api/"
        assert http.get("me").status_code == 401
    refused = next(e for e in service.campus.audit.events(limit=50) if e["action"] == "sign_in")
    assert (refused["outcome"], refused["detail"]["token"], refused["detail"]["path"]) == (
        "invalid_token", token_id, "/api/me")
    assert tokens["bad"].split("_", 2)[2] not in str(refused)


def test_inside_the_hub_the_api_refuses_what_came_through_the_public_proxy(service, tokens, serve):
    """A token copied out of a session cannot query from outside: the proxy marks what it passes on."""
    app = create_app(service.campus, TokenAuthenticator(service.tokens, service.campus.policy), sessions_only=True)
    with serve(app) as url, service.client(tokens["alice"]) as http:
        http.base_url = url + "api/"
        assert http.post("sql", json={"sql": CARD_TOTALS}).status_code == 200
        outside = http.post("sql", json={"sql": CARD_TOTALS}, headers={"X-Forwarded-For": "203.0.113.9"})
        assert outside.status_code == 403 and "only inside campus sessions" in outside.json()["reason"]


class Broken:
    """An authenticator that fails unexpectedly, with a path and the token in its message."""

    async def identify(self, token: str):
        raise RuntimeError(f"cannot open /srv/campus/state/campus.db for {token}")


def test_an_unexpected_failure_is_an_incident_id_and_nothing_else(service, serve):
    with serve(create_app(service.campus, Broken())) as url:
        with service.client("campus_0123456789ab_s3cr3t-s3cr3t-s3cr3t") as http:
            response = http.get(url + "api/me")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error" and "incident" in response.json()["reason"]
    assert "/srv" not in response.text and "s3cr3t" not in response.text and "RuntimeError" not in response.text


def test_under_the_hub_prefix_every_path_moves_with_it(service, tokens, serve):
    app = create_app(service.campus, TokenAuthenticator(service.tokens, service.campus.policy), prefix="/services/data/")
    with serve(app) as url, service.client(tokens["alice"]) as http:
        assert http.get(url + "services/data/api/me").json()["user"] == "alice"
        assert http.get(url + "api/me").status_code == 404
        spec = http.get(url + "services/data/api/openapi.json").json()
    assert "/services/data/api/sql" in spec["paths"] and all(p.startswith("/services/data/api/") for p in spec["paths"])


def test_32_concurrent_clients_are_all_answered(service, tokens):
    districts = ["Jung-gu", "Gangnam-gu", "Mapo-gu", "Jongno-gu"]

    def client(i: int) -> int:
        sql = f"SELECT category, count(*) AS n FROM card_usage WHERE district = '{districts[i % 4]}' GROUP BY 1"
        with service.client(tokens["alice" if i % 2 else "bob"]) as http:
            return http.post("sql", json={"sql": sql}).status_code

    with ThreadPoolExecutor(32) as pool:
        assert list(pool.map(client, range(32))) == [200] * 32


def test_tokens_issued_listed_and_revoked_with_the_cli(service, monkeypatch):
    monkeypatch.setenv("CAMPUS_DB_URL", service.database)
    _mount()
    runner = CliRunner()
    created = runner.invoke(cli, ["tokens", "create", "--user", "bob", "--groups", "researchers", "--expires", "1d"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    token_id, secret = token.split("_", 2)[1:]
    with service.client(token) as http:
        assert http.get("me").json() == {"user": "bob", "groups": ["researchers"], "via": "token"}
        listed = runner.invoke(cli, ["tokens", "list", "--user", "bob"])
        assert token_id in listed.stdout and "active" in listed.stdout and secret not in listed.stdout
        assert runner.invoke(cli, ["tokens", "revoke", token_id]).exit_code == 0
        refused = http.get("me")
    assert refused.status_code == 401 and "revoked" in refused.json()["reason"]
    assert runner.invoke(cli, ["tokens", "revoke", "000000000000"]).exit_code != 0
    issued = [e for e in service.campus.audit.events(limit=20) if e["detail"].get("token") == token_id]
    # the revoked token's refusal is audited as a sign-in unless the address's refusals this minute were many
    assert {e["action"] for e in issued} - {"sign_in"} == {"token_issue", "token_revoke"}


def test_a_chunked_body_over_the_limit_is_refused_too(service, tokens):
    def chunks():
        for _ in range(30):
            yield b"x" * 50_000

    with service.client(tokens["alice"]) as http:
        response = http.post("sql", content=chunks(), headers={"Content-Type": "application/json"})
        assert (response.status_code, response.json()["code"]) == (413, "request_too_large")
        assert http.get("me").status_code == 200


def test_a_query_over_the_time_limit_is_a_504_that_says_what_to_do(service, tokens, demo_data, tmp_path, serve):
    slow = campus.open(data_dir=demo_data, state_dir=tmp_path, db_url=service.database, query_seconds=0.2)
    try:
        with serve(create_app(slow, TokenAuthenticator(service.tokens, slow.policy))) as url, \
                service.client(tokens["alice"]) as http:
            response = http.post(url + "api/sql", json={
                "sql": "SELECT count(*) AS n FROM air_quality a, air_quality b WHERE a.pm25 < b.pm25"})
    finally:
        slow.close()
    assert (response.status_code, response.json()["code"]) == (504, "query_timeout")
    assert "over the 0.2 s limit" in response.json()["reason"]
