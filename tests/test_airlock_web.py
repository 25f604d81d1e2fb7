"""The airlock over HTTP: the JSON API and the review pages (``test_airlock_browser.py``
has a steward in a real browser, through the real hub and service).

The app here is a test-only FastAPI app that mounts `campus.airlock.web.router`
with a current-user dependency reading a header this test signs (HMAC under a key made
per run). It stands in for the data service's hub authentication; nothing like it
exists outside the tests.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import itertools
import re
import secrets
from html import unescape

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from fastapi import FastAPI, Header, HTTPException
from fastapi.testclient import TestClient

from campus.audit import AuditLog
from campus.airlock import Airlock, CampusUser, SqlExportStore
from campus.airlock.web import router
from export_files import aggregate, with_hidden
from export_files import png as a_png
from extractguard import formatting

KEY = secrets.token_bytes(32)
ALICE = CampusUser("alice", ("researchers",))
BOB = CampusUser("bob", ("researchers",))
SEJIN = CampusUser("sejin", ("stewards",))
JIWOO = CampusUser("jiwoo", ("stewards",))

BY_DISTRICT = (
    "SELECT district, category, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY ALL ORDER BY 1, 2"
)
BY_GENDER = "SELECT gender, count(*) AS n FROM card_usage GROUP BY 1"
NEW = itertools.count(1)


def signed(user: CampusUser) -> dict[str, str]:
    """The header the test app believes: name;groups;hmac."""
    payload = f"{user.name};{','.join(user.groups)}"
    return {"X-Test-User": f"{payload};{hmac.new(KEY, payload.encode(), hashlib.sha256).hexdigest()}"}


def make_app(airlock: Airlock, audit: AuditLog) -> FastAPI:
    def current_user(x_test_user: str | None = Header(None)) -> CampusUser:
        payload, _, mac = (x_test_user or "").rpartition(";")
        if not payload or not hmac.compare_digest(mac, hmac.new(KEY, payload.encode(), hashlib.sha256).hexdigest()):
            raise HTTPException(401, "not signed in")
        name, _, groups = payload.partition(";")
        return CampusUser(name, tuple(g for g in groups.split(",") if g))

    app = FastAPI()
    app.include_router(router(airlock, current_user, audit=audit))
    return app


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    log = AuditLog(f"sqlite:///{tmp_path_factory.mktemp('web-db') / 'campus.db'}")
    yield log
    log.close()


@pytest.fixture(scope="module")
def airlock(cx, audit, tmp_path_factory):
    opened = Airlock(cx, SqlExportStore(audit.engine, tmp_path_factory.mktemp("web-store")))
    yield opened


@pytest.fixture(scope="module")
def client(airlock, audit):
    with TestClient(make_app(airlock, audit)) as c:
        yield c


def submit(client, sql=BY_GENDER, name=None, user=ALICE, **extra) -> dict:
    """A new export request (named anew unless `name` is given: the same one twice is refused)."""
    name = name or f"by-gender-{next(NEW)}"
    response = client.post("/api/exports", json={"sql": sql, "name": name, "description": "table 2"} | extra,
                           headers=signed(user))
    assert response.status_code == 201, response.text
    return response.json()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


# --- the JSON API ---------------------------------------------------------------------


def test_an_export_through_the_api(client, audit):
    request = submit(client, name="by-gender")
    assert request["status"] == "needs_review" and request["owner"] == "reviewers"
    url = f"/api/exports/{request['id']}"

    assert request["id"] in [r["id"] for r in client.get("/api/exports", headers=signed(SEJIN)).json()["requests"]]
    assert client.get("/api/exports", headers=signed(SEJIN)).json()["view"] == "queue"
    assert request["id"] in [r["id"] for r in client.get("/api/exports", headers=signed(ALICE)).json()["requests"]]

    steps = [
        # (who, method, path, body, status, code)
        (BOB, "get", url, None, 404, "not_found"),
        (ALICE, "post", f"{url}/review", {"decision": "approve"}, 403, "not_permitted"),
        (ALICE, "get", f"{url}/download", None, 409, "wrong_state"),
        (SEJIN, "post", f"{url}/release", None, 409, "wrong_state"),
        (SEJIN, "post", f"{url}/review", {"decision": "approve", "comment": "fine"}, 422, "invalid_export"),
        (SEJIN, "post", f"{url}/review", {"decision": "approve", "comment": "fine", "round": 1,
                                          "content_sha256": "0" * 64}, 409, "stale_review"),
        (SEJIN, "post", f"{url}/review", {"decision": "approve", "comment": "fine", "round": 1,
                                          "content_sha256": request["content_sha256"]}, 200, None),
        (ALICE, "post", f"{url}/release", None, 403, "not_permitted"),
        (SEJIN, "post", f"{url}/release", None, 200, None),
        (BOB, "get", f"{url}/download", None, 404, "not_found"),
        (SEJIN, "get", f"{url}/download", None, 403, "not_permitted"),
    ]
    for who, method, path, body, status, code in steps:
        response = client.request(method.upper(), path, json=body, headers=signed(who))
        assert response.status_code == status, (who.name, path, response.text)
        if code:
            assert response.json()["code"] == code and response.json()["reason"]

    download = client.get(f"{url}/download", headers=signed(ALICE))
    assert download.status_code == 200
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''by-gender.parquet"
    assert hashlib.sha256(download.content).hexdigest() == download.headers["x-content-sha256"]
    assert pq.ParquetFile(io.BytesIO(download.content)).read().column_names == ["gender", "n", "±n"]

    detail = client.get(url, headers=signed(ALICE)).json()
    assert detail["status"] == "released" and detail["reviews"][0]["comment"] == "fine"
    assert [t["to"] for t in detail["timeline"]] == ["submitted", "needs_review", "approved", "released"]
    assert audit.verify().ok


REFUSED = [
    # (body, status, code, words in the reason)
    ({"sql": "SELECT * FROM air_quality", "name": "rows"}, 403, "denied", "rows never leave"),
    ({"sql": "SELECT card_id, count(*) AS n FROM card_usage GROUP BY 1", "name": "ids"}, 403, "denied", "identifier"),
    ({"sql": "SELEC district", "name": "typo"}, 400, "query_rejected", ""),
    ({"sql": BY_GENDER}, 422, "invalid_request", "name"),
    ({"sql": BY_GENDER, "name": "  "}, 422, "invalid_export", "needs a name"),
    ({"sql": BY_GENDER, "name": "x", "project": "gangnam-retail"}, 403, "not_permitted", "not a member"),  # as bob
]


@pytest.mark.parametrize("body,status,code,words", REFUSED, ids=[r[2] + "-" + r[0].get("name", "") for r in REFUSED])
def test_api_refusals_say_why_as_json(client, body, status, code, words):
    response = client.post("/api/exports", json=body, headers=signed(BOB))
    assert response.status_code == status, response.text
    assert response.json()["code"] == code and words in response.json()["reason"]


def test_reviews_are_checked(client):
    url = f"/api/exports/{submit(client)['id']}/review"
    for body, code in [({"decision": "maybe"}, "invalid_request"), ({"decision": "reject"}, "invalid_export")]:
        response = client.post(url, json=body, headers=signed(SEJIN))
        assert (response.status_code, response.json()["code"]) == (422, code)
    assert client.get("/api/exports/999999", headers=signed(SEJIN)).json()["code"] == "not_found"
    assert client.get("/api/exports?view=queue", headers=signed(ALICE)).json()["code"] == "not_permitted"


def test_only_signed_users_get_in(client):
    assert client.get("/api/exports").status_code == 401
    forged = {"X-Test-User": "sejin;stewards;" + "0" * 64}
    assert client.get("/api/exports", headers=forged).status_code == 401


def test_a_figure_is_uploaded_and_shown_to_the_reviewer(client):
    png = a_png(7)
    response = client.post("/api/exports/files", files={"file": ("../chart.png", png, "image/png")},
                           data={"description": "figure 1"}, headers=signed(ALICE))
    assert response.status_code == 201, response.text
    request = response.json()
    assert (request["kind"], request["status"], request["filename"]) == ("file", "needs_review", "chart.png")
    page = client.get(f"/airlock/{request['id']}", headers=signed(SEJIN)).text
    assert f'src="/airlock/{request["id"]}/content"' in page
    content = client.get(f"/airlock/{request['id']}/content", headers=signed(SEJIN))
    assert content.content == png and "sandbox" in content.headers["content-security-policy"]
    assert client.get(f"/airlock/{request['id']}/content", headers=signed(BOB)).status_code == 404


def test_cross_site_posts_are_refused(client):
    body = {"sql": BY_GENDER, "name": "x"}
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        response = client.post("/api/exports", json=body, headers=signed(ALICE) | headers)
        assert (response.status_code, response.json()["code"]) == (403, "cross_site")
    same = client.post("/api/exports", json=body, headers=signed(ALICE) | {"Origin": "http://testserver",
                                                                           "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 201


# --- the review pages ----------------------------------------------------------------------


def test_the_review_page_shows_table_report_query_and_history(client, airlock, audit):
    earlier = submit(client, name="earlier")
    airlock.review(earlier["id"], SEJIN, "approve", audit=audit)
    airlock.release(earlier["id"], SEJIN, audit=audit)
    request = submit(client, BY_DISTRICT, name="by-district", description="<script>alert(1)</script>")

    page = client.get(f"/airlock/{request['id']}", headers=signed(SEJIN))
    assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert 'class="withheld"' in html and "dominance" in html, "withheld values are marked with their rule"
    assert "count(*) AS n, sum(amount) AS total FROM card_usage" in html
    assert "cells shown" in html and "values withheld" in html
    assert f'href="/airlock/{earlier["id"]}"' in html, "earlier releases are listed"
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'value="approve"' in html and 'value="reject"' in html and 'value="return"' in html

    mine = client.get(f"/airlock/{request['id']}", headers=signed(ALICE)).text
    assert 'value="approve"' not in mine and "Earlier releases" not in mine
    assert client.get(f"/airlock/{request['id']}", headers=signed(BOB)).status_code == 404
    queue = client.get("/airlock", headers=signed(SEJIN)).text
    assert "Waiting for you" in queue and "by-district" in queue
    assert "Disclosure budgets" in queue and "<td>user:alice</td><td>card_usage</td>" in queue, (
        "reviewers see what each user has had released, beside the queue")
    assert "Disclosure budgets" not in client.get("/airlock", headers=signed(ALICE)).text
    assert "Waiting for you" not in client.get("/airlock", headers=signed(ALICE)).text


def test_review_forms_need_the_users_own_token(client):
    request = submit(client)
    url = f"/airlock/{request['id']}/review"
    token = csrf_of(client.get(f"/airlock/{request['id']}", headers=signed(SEJIN)).text)
    for form in ({"decision": "approve"}, {"decision": "approve", "csrf": "0" * 64}):
        assert client.post(url, data=form, headers=signed(SEJIN)).status_code == 403
    jiwoos_token = csrf_of(client.get(f"/airlock/{request['id']}", headers=signed(JIWOO)).text)
    assert jiwoos_token != token
    borrowed = client.post(url, data={"decision": "approve", "csrf": jiwoos_token}, headers=signed(SEJIN))
    assert borrowed.status_code == 403

    empty = client.post(url, data={"decision": "reject", "comment": "", "csrf": token}, headers=signed(SEJIN))
    assert empty.status_code == 422 and "say why you reject it" in empty.text
    assert client.get(f"/api/exports/{request['id']}", headers=signed(SEJIN)).json()["status"] == "needs_review"

    shown = {"content_sha256": request["content_sha256"], "round": request["round"]}
    done = client.post(url, data={"decision": "approve", "csrf": token} | shown, headers=signed(SEJIN),
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/airlock/{request['id']}"
    released = client.get(f"/api/exports/{request['id']}", headers=signed(ALICE)).json()
    assert released["status"] == "released" and released["can_download"] is True, (
        "the last reviewer's approval on the page releases it in the same step")
    assert [t["to"] for t in released["timeline"]][-2:] == ["approved", "released"], "both moves are recorded"


# --- what a reviewer sees is what is released; who may look at content -------------------------


MEANS = "SELECT district, avg(amount) AS mean, count(*) AS n FROM card_usage GROUP BY 1 ORDER BY 1"


def cells_of(html: str) -> list[list[str]]:
    """The checked table's rows as the page holds them: each cell's exact value (its title)."""
    table = html.split("<h2>Checked table</h2>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    return [re.findall(r'<td[^>]*title="([^"]*)"', row) for row in rows]


def texts_of(html: str) -> list[list[str]]:
    """The checked table's rows as the page shows them: each cell's text."""
    table = html.split("<h2>Checked table</h2>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    return [[unescape(t) for t in re.findall(r"<td[^>]*>([^<]*)</td>", row)] for row in rows]


def test_the_page_shows_every_value_exactly_as_stored(client, airlock):
    request = submit(client, MEANS, name="means")
    page = client.get(f"/airlock/{request['id']}", headers=signed(SEJIN)).text
    stored = pq.ParquetFile(io.BytesIO(airlock.store.read_content("table", request["content_sha256"]))).read()
    head = page.split("<h2>Checked table</h2>", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<th>([^<]*?) ?(?:<span|</th>)", head) == stored.column_names == ["district", "mean", "±mean",
                                                                                        "n", "±n"]
    assert re.findall(r'class="unit">\(([^)]*)\)', head) == ["KRW", "KRW"], "the mean and its bar are in won"
    shown = cells_of(page)
    stored_rows = list(zip(*(stored.column(i).to_pylist() for i in range(stored.num_columns))))
    assert shown == [[d, repr(m), repr(pm), str(n), repr(pn)] for d, m, pm, n, pn in stored_rows], (
        "every value exact, in its own column, on hover")
    assert any(len(row[1].split(".")[-1]) > 2 for row in shown), "the means have more than 2 decimals to show"
    texts = texts_of(page)
    for (district, mean, bar, n, _), (shown_district, shown_mean, shown_bar, shown_n, _) in zip(stored_rows, texts):
        assert (shown_district, shown_n) == (district, f"{n:,}")
        assert shown_mean == formatting.shown(mean, bar) and shown_bar == formatting.bar(bar, mean)
        step = formatting.step(bar)
        assert abs(formatting.number(shown_mean) - mean) <= step / 2 + 1e-9, "the value read back, within its step"
        assert formatting.number(shown_bar) >= bar, "a bar never reads narrower than it is"
    assert any(len(t[1]) < len(repr(m)) for t, (_, m, *_) in zip(texts, stored_rows)), "the digits past the bar are gone"


def test_a_stale_review_form_is_refused(client):
    request = submit(client)
    page = client.get(f"/airlock/{request['id']}", headers=signed(SEJIN)).text
    form = dict(re.findall(r'name="(csrf|content_sha256|round)" value="([^"]*)"', page))
    returned = client.post(f"/api/exports/{request['id']}/review", json={"decision": "return", "comment": "finer"},
                           headers=signed(SEJIN))
    assert returned.status_code == 200
    again = client.post(f"/api/exports/{request['id']}/resubmit", json={"sql": BY_DISTRICT}, headers=signed(ALICE))
    assert again.status_code == 200 and again.json()["round"] == 2
    stale = client.post(f"/airlock/{request['id']}/review", data=form | {"decision": "approve"}, headers=signed(SEJIN))
    assert stale.status_code == 409 and "changed since you looked at it" in stale.text
    assert client.get(f"/api/exports/{request['id']}", headers=signed(SEJIN)).json()["status"] == "needs_review"


def test_content_is_shown_to_reviewers_and_to_its_requester_only_once_released(client, audit):
    request = submit(client, name="content-check")
    content, page = f"/airlock/{request['id']}/content", f"/airlock/{request['id']}"
    assert client.get(content, headers=signed(ALICE)).status_code == 403
    assert "stays in the campus" in client.get(page, headers=signed(ALICE)).text
    assert client.get(content, headers=signed(BOB)).status_code == 404
    assert client.get(content, headers=signed(SEJIN)).status_code == 200
    previewed = [(e["actor"], e["outcome"]) for e in audit.events(limit=20)
                 if e["action"] == "export_previewed" and e["detail"].get("request") == request["id"]]
    assert ("sejin", "ok") in previewed and ("alice", "refused") in previewed
    approval = {"decision": "approve", "content_sha256": request["content_sha256"], "round": 1}
    assert client.post(f"/api/exports/{request['id']}/review", json=approval, headers=signed(SEJIN)).status_code == 200
    assert client.post(f"/api/exports/{request['id']}/release", headers=signed(SEJIN)).status_code == 200
    assert client.get(content, headers=signed(ALICE)).status_code == 200
    assert "stays in the campus" not in client.get(page, headers=signed(ALICE)).text


# --- files: the automatic checks beside the file ------------------------------------------------------

SMALL_COUNTS = "\ufeffdistrict,cards\nGangnam-gu,25\nJung-gu,3\nGuro-gu,0\nMapo-gu,40\n".encode()


def upload(client, filename: str, content: bytes, user=ALICE, **form):
    return client.post("/api/exports/files", files={"file": (filename, content, "application/octet-stream")},
                       data={"description": "table 3"} | form, headers=signed(user))


def test_a_csv_with_small_counts_is_flagged_beside_the_file_on_the_review_page(client):
    response = upload(client, "cards.csv", SMALL_COUNTS, name="cards-by-district")
    assert response.status_code == 201, response.text
    request = response.json()
    assert (request["name"], request["status"], request["filename"]) == ("cards-by-district", "needs_review",
                                                                         "cards.csv")
    checks = {c["name"]: c for c in request["report"]["checks"]}
    assert (checks["small counts"]["outcome"], checks["small counts"]["columns"], checks["small counts"]["rows"]) == (
        "flag", ["cards"], 1)
    assert checks["rounding"]["outcome"] == "flag" and "Jung-gu" not in response.text, "no values in the report"

    html = client.get(f"/airlock/{request['id']}", headers=signed(SEJIN)).text
    flagged = html.split('<section class="card flagged" role="alert">', 1)[1].split("</section>", 1)[0]
    assert "small counts" in flagged and "rounding" in flagged and "below the disclosure threshold of 20" in flagged
    beside = html.split('<div class="beside">', 1)[1]
    assert beside.index("<h2>File</h2>") < beside.index("Jung-gu") < beside.index("<h2>Automatic checks</h2>"), (
        "the reviewer reads the file's table, with the checks beside it")
    assert '<span class="outcome flag">flag</span>' in beside

    mine = client.get(f"/airlock/{request['id']}", headers=signed(ALICE)).text
    assert "small counts" in mine and "Jung-gu" not in mine, "the requester sees the report, not yet the content"
    queue = client.get("/airlock", headers=signed(SEJIN)).text
    assert "2 flagged for the reviewer (small counts, rounding)" in queue


def test_a_refused_file_is_a_422_saying_why(client):
    for filename, content, words in [("ids.csv", b"card_id,n\nC01,25\n", "card_id is named like an identifier"),
                                     ("chart.png", b"district,n\na,25\n", "named as PNG but holds text"),
                                     ("chart.svg", b"<svg/>", "an SVG can carry scripts")]:
        response = upload(client, filename, content)
        assert (response.status_code, response.json()["code"]) == (422, "invalid_export"), response.text
        assert words in response.json()["reason"] and "C01" not in response.json()["reason"]


def test_a_returned_file_is_resubmitted_with_a_new_file_and_checked_again(client):
    request = upload(client, "cards.csv", SMALL_COUNTS + b"Seocho-gu,15\n").json()
    url = f"/api/exports/{request['id']}"
    returned = client.post(f"{url}/review", json={"decision": "return", "comment": "round the counts"},
                           headers=signed(SEJIN))
    assert returned.status_code == 200
    refused = client.post(f"{url}/resubmit/file", files={"file": ("cards.csv", b"card_id,n\nC1,25\n")},
                          headers=signed(ALICE))
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_export")
    assert client.post(f"{url}/resubmit/file", files={"file": ("cards.csv", b"district,cards\na,25\n")},
                       headers=signed(BOB)).status_code == 404
    again = client.post(f"{url}/resubmit/file", files={"file": ("cards.csv", b"district,cards\na,25\n")},
                        data={"description": "rounded"}, headers=signed(ALICE))
    assert again.status_code == 200, again.text
    answer = again.json()
    assert (answer["round"], answer["status"], answer["description"]) == (2, "needs_review", "rounded")
    assert answer["content_sha256"] != request["content_sha256"] and answer["report"]["outcome"] == "pass"


# --- what changed since the last look; the same export twice ---------------------------------


def test_the_list_says_what_changed_since_the_requester_last_looked(client):
    client.cookies.clear()  # a browser that has not looked before
    request = submit(client, name="watched")
    first = client.get("/airlock", headers=signed(ALICE))
    assert first.status_code == 200 and 'id="changes"' not in first.text, "a first look has nothing to compare with"
    assert "campus-airlock-seen" in first.cookies
    returned = client.post(f"/api/exports/{request['id']}/review", json={"decision": "return", "comment": "finer"},
                           headers=signed(SEJIN))
    assert returned.status_code == 200
    again = client.get("/airlock", headers=signed(ALICE)).text
    changes = again[again.index('id="changes"'):again.index("</section>", again.index('id="changes"'))]
    assert f"export request {request['id']}, watched" in changes and "<strong>returned</strong>" in changes
    assert "sejin" in changes and "finer" in changes
    assert 'id="changes"' not in client.get("/airlock", headers=signed(ALICE)).text, "seen once, it is not news"
    client.cookies.clear()


def test_the_same_export_twice_is_refused_with_the_first_named(client):
    first = submit(client, name="once")
    again = client.post("/api/exports", json={"sql": BY_GENDER.lower() + ";", "name": "once"}, headers=signed(ALICE))
    assert again.status_code == 409 and again.json()["code"] == "duplicate_export"
    assert f"export request {first['id']}" in again.json()["reason"]


def test_in_two_reviewer_mode_the_first_approves_and_the_second_approves_and_releases(cx, audit, tmp_path):
    from campus.settings import AirlockSettings

    two = Airlock(cx, SqlExportStore(audit.engine, tmp_path / "store"), AirlockSettings(reviewers_required=2))
    with TestClient(make_app(two, audit)) as pages:
        request = submit(pages)
        url = f"/airlock/{request['id']}"
        shown = {"content_sha256": request["content_sha256"], "round": request["round"]}
        first = pages.get(url, headers=signed(SEJIN)).text
        assert "Approve (1 of 2)</button>" in first and "a second reviewer then approves and releases it" in first
        done = pages.post(f"{url}/review", data={"decision": "approve", "csrf": csrf_of(first)} | shown,
                          headers=signed(SEJIN))
        assert done.status_code == 200 and "needs review" in done.text and "(1 of 2 approvals: sejin)" in done.text
        assert "Next step: your decision" not in pages.get(url, headers=signed(SEJIN)).text, "sejin has decided"
        second = pages.get(url, headers=signed(JIWOO)).text
        assert "Approve and release to alice</button>" in second
        pages.post(f"{url}/review", data={"decision": "approve", "csrf": csrf_of(second)} | shown,
                   headers=signed(JIWOO))
        assert pages.get(f"/api/exports/{request['id']}", headers=signed(ALICE)).json()["status"] == "released"


# --- what leaves is what the reviewer saw (issue 24) ------------------------------------------------


def test_the_reviewer_approves_the_bytes_that_are_downloaded_not_the_upload(client):
    dressed = with_hidden(a_png(99, size=(64, 64)), b"C000123,41000\n" * 2_000, b"after IEND" * 100)
    request = upload(client, "map.png", dressed, name="map-64").json()
    seen = client.get(f"/airlock/{request['id']}/content", headers=signed(SEJIN)).content
    assert seen != dressed and hashlib.sha256(seen).hexdigest() == request["content_sha256"]
    approved = client.post(f"/api/exports/{request['id']}/review", headers=signed(SEJIN), json={
        "decision": "approve", "content_sha256": request["content_sha256"], "round": 1, "release": True})
    assert approved.json()["status"] == "released", approved.text
    download = client.get(f"/api/exports/{request['id']}/download", headers=signed(ALICE))
    assert download.content == seen and b"C000123" not in download.content and b"after IEND" not in download.content


def test_a_long_table_is_shown_whole_a_page_at_a_time(client, airlock, audit):
    rows = 5_600
    table = aggregate(rows)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    request = upload(client, "long.parquet", sink.getvalue(), name="long-table").json()
    assert request["report"]["rows"] == rows, request
    first = client.get(f"/airlock/{request['id']}", headers=signed(SEJIN)).text
    pages = int(re.search(r"page 1 of (\d+)", first).group(1))
    assert pages == 12 and f"{rows:,} rows, every one on one of 12 pages" in first
    shown = []
    for page in range(1, pages + 1):
        html = client.get(f"/airlock/{request['id']}?page={page}", headers=signed(SEJIN)).text
        shown += re.findall(r"<tr><td[^>]*>([^<]*)</td>", html)
    assert shown == table.column("district").to_pylist(), "every row the checks read is on a page, once, in order"
    assert client.get(f"/airlock/{request['id']}?page=0", headers=signed(SEJIN)).status_code == 422


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60), min_size=1,
                      max_size=30))
def test_a_text_is_shown_to_the_reviewer_whole_exactly_as_it_leaves(client, lines):
    text = "\n".join(lines).encode("utf-8")
    writer = CampusUser(f"writer{next(NEW)}", ("researchers",))  # a requester of their own: a day's limit each
    response = upload(client, "notes.txt", text, user=writer, name="notes")
    if response.status_code != 201:
        assert response.json()["code"] == "invalid_export", response.text  # e.g. a table in the text
        return
    request = response.json()
    released = client.get(f"/airlock/{request['id']}/content", headers=signed(SEJIN)).content
    page = client.get(f"/airlock/{request['id']}", headers=signed(SEJIN)).text
    shown = re.search(r'<pre class="text-file">(.*?)</pre>', page, re.S)
    assert shown and unescape(shown.group(1)) == released.decode("utf-8")


def test_a_text_longer_than_the_page_shows_whole_is_refused(client):
    long = "".join(f"Paragraph {i} of the report says what the figures show and why. " * 8 + "\n\n"
                   for i in range(600)).encode()
    refused = upload(client, "report.txt", long, name="long-report")
    assert refused.status_code == 422 and "shown whole" in refused.json()["reason"]
