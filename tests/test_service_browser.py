"""Browser sign-in to the review pages, standalone: a server-side session, never a token in a cookie.

(Under the hub, ``test_airlock_browser.py`` signs a steward in through OAuth in Chromium.)
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from campus.service.auth import Identity
from campus.service.browser import COOKIE
from campus.service.sessions import SessionStore
from test_airlock_browser import browser  # noqa: F401 (a fixture: Chromium)

pytest_plugins = ["service_fixtures"]


@pytest.fixture(scope="module")
def sejin_token(service) -> str:
    return service.token("sejin")


def plain_browser(service) -> httpx.Client:
    return httpx.Client(base_url=service.url, follow_redirects=False, timeout=30)


def form_of(page: httpx.Response) -> dict:
    return {name: value for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', page.text)}


def sign_in(client: httpx.Client, token: str, **headers) -> httpx.Response:
    page = client.get("sign-in", params={"next": "/airlock"})
    assert page.status_code == 200
    return client.post("sign-in", data=form_of(page) | {"token": token}, headers=headers)


def test_signing_in_opens_a_session_whose_cookie_holds_no_token(service, sejin_token):
    with plain_browser(service) as client:
        assert client.get("airlock").status_code == 303  # to the sign-in page
        signed = sign_in(client, sejin_token)
        assert signed.status_code == 303 and signed.headers["location"] == "/airlock"
        cookie = client.cookies.get(COOKIE)
        assert cookie and sejin_token not in cookie and sejin_token.split("_", 2)[2] not in cookie
        page = client.get("airlock")
        assert page.status_code == 200 and "sejin" in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert client.get("api/exports").status_code == 401, "a session opens pages, never the JSON API"


def test_the_sign_in_form_is_refused_from_another_site_or_without_its_own_token(service, sejin_token):
    with plain_browser(service) as client:
        page = client.get("sign-in")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        forged = client.post("sign-in", data=form_of(page) | {"token": sejin_token},
                             headers={"Origin": "http://evil.example"})
        assert forged.status_code == 403 and COOKIE not in forged.cookies
        blind = client.post("sign-in", data={"token": sejin_token, "next": "/airlock"})
        assert blind.status_code == 403 and "out of date or came from another site" in blind.text
        assert COOKIE not in client.cookies


def test_signing_out_ends_the_session_on_the_server(service, sejin_token):
    with plain_browser(service) as client:
        sign_in(client, sejin_token)
        stolen = client.cookies.get(COOKIE)
        assert client.post("sign-out").status_code == 200
    with plain_browser(service) as thief:
        thief.cookies.set(COOKIE, stolen)
        assert thief.get("airlock").status_code == 303, "the old cookie opens nothing once signed out"


def test_a_session_ends_when_its_time_is_up(service):
    sessions = SessionStore(service.campus.audit.engine)
    ended = sessions.open(Identity("sejin", ["stewards"]), until=datetime.now(timezone.utc) - timedelta(seconds=1))
    live = sessions.open(Identity("sejin", ["stewards"]))
    with plain_browser(service) as client:
        client.cookies.set(COOKIE, ended.secret)
        assert client.get("airlock").status_code == 303
        client.cookies.set(COOKIE, live.secret)
        assert client.get("airlock").status_code == 200
    assert sessions.revoke_user("sejin") >= 1 and sessions.identity(live.secret) is None


def test_a_bad_token_in_the_form_says_why(service):
    with plain_browser(service) as client:
        refused = sign_in(client, "campus_000000000000_notavalidsecretnotavalidsecret")
        assert refused.status_code == 401 and "not valid" in refused.text and COOKIE not in client.cookies


def test_no_page_loads_anything_from_another_site(service, sejin_token):
    with plain_browser(service) as client:
        assert client.get("api/docs").status_code == 404, "no Swagger UI from a CDN; the spec is at api/openapi.json"
        assert client.get("api/openapi.json").status_code == 200
        sign_in(client, sejin_token)
        for path in ("", "guide", "airlock", "sign-in", "sign-out"):
            page = client.get(path)
            assert "default-src 'none'" in page.headers["content-security-policy"]
            assert not re.search(r'(src|href)="(https?:)?//', page.text), f"{path} links another site"


# --- the campus's front page and guide ----------------------------------------------------------


def test_the_front_page_says_what_the_campus_is_and_links_everything_a_steward_needs(service, sejin_token):
    with plain_browser(service) as client:
        assert client.get("").status_code == 303, "the front page asks a browser to sign in, like the airlock's"
        sign_in(client, sejin_token)
        page = client.get("")
        assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["content-security-policy"]
        links = set(re.findall(r'href="([^"]+)"', page.text))
        assert {"/guide", "/airlock", "/budget"} <= links
        assert "The review queue" in page.text and "sensitive data" in page.text
        assert "card_usage.ipynb" in page.text and "request_an_export.ipynb" in page.text
        assert 'action="/sign-out"' in page.text, "every page can sign out"
        guide = client.get("guide")
        assert guide.status_code == 200 and "<h1>The campus SQL guide</h1>" in guide.text
        assert "<table>" in guide.text, "the guide's tables are tables"


def test_a_researcher_sees_their_own_requests_not_a_queue(service):
    with plain_browser(service) as client:
        sign_in(client, service.token("bob"))
        page = client.get("")
        assert page.status_code == 200 and "Your export requests" in page.text
        assert "The review queue" not in page.text


def test_every_page_of_the_airlock_can_sign_out(service, sejin_token):
    with plain_browser(service) as client:
        sign_in(client, sejin_token)
        for path in ("", "guide", "airlock"):
            assert '<form method="post" action="/sign-out"><button class="sign-out">' in client.get(path).text, path
        assert client.post("sign-out").status_code == 200
        assert client.get("").status_code == 303, "signed out: the front page asks to sign in again"


# --- in a real browser: a page on another site cannot sign the victim in -----------------------


ATTACKER = """<!doctype html><html><body>
<form id="f" method="post" action="{service}sign-in">
<input name="token" value="{token}"><input name="next" value="/airlock"><input name="form" value="guessed">
</form><script>document.getElementById("f").submit()</script></body></html>"""


@pytest.mark.slow
def test_a_page_on_another_site_cannot_sign_a_browser_in(service, serve, browser):
    """Login CSRF: another origin (here, another port of this host) auto-submits the sign-in
    form with the attacker's own token; the browser must not end up signed in as them."""
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    attacker_token = service.token("bob")
    evil = FastAPI()

    @evil.get("/")
    def page():
        return HTMLResponse(ATTACKER.format(service=service.url, token=attacker_token))

    with serve(evil) as evil_url:
        context = browser.new_context()
        page = context.new_page()
        landed = []
        page.on("response", lambda r: landed.append((r.url, r.status)) if "sign-in" in r.url else None)
        page.goto(evil_url)
        page.wait_for_load_state("networkidle")
        assert (service.url + "sign-in", 403) in landed, landed
        assert not [c for c in context.cookies() if c["name"] == COOKIE], "no session was opened"
        opened = page.goto(service.url + "sign-in")
        assert "frame-ancestors 'none'" in opened.headers["content-security-policy"]
        context.close()


def test_what_one_worker_hands_out_another_accepts(demo_data, tmp_path, serve):
    """`campus serve --workers 2`: two processes, each its own campus over one state folder and
    database. A session opened by one and a review form served by one work on the other."""
    import campus
    from campus.service.auth import TokenAuthenticator
    from campus.service.server import app_for, prepare
    from campus.service.tokens import TokenStore
    from campus.settings import Settings

    database = f"sqlite:///{tmp_path / 'campus.db'}"
    prepare(Settings(state_dir=tmp_path, data_dir=demo_data, db_url=database))
    workers = [campus.open(data_dir=demo_data, state_dir=tmp_path, db_url=database) for _ in range(2)]
    tokens = TokenStore(workers[0].audit.engine)
    alice, sejin = (tokens.issue(u, audit=workers[0].audit, by="tests").token for u in ("alice", "sejin"))
    apps = [app_for(cx, TokenAuthenticator(TokenStore(cx.audit.engine), cx.policy)) for cx in workers]
    try:
        with serve(apps[0]) as one, serve(apps[1]) as two:
            made = httpx.post(one + "api/exports", json={"sql": "SELECT gender, count(*) AS n FROM card_usage "
                                                                "GROUP BY 1", "name": "g"},
                              headers={"Authorization": f"token {alice}"}, timeout=60).json()
            with httpx.Client(base_url=one, timeout=30) as first:
                sign_in(first, sejin)
                session = first.cookies.get(COOKIE)
                page = first.get(f"airlock/{made['id']}").text
            form = dict(re.findall(r'name="(csrf|content_sha256|round)" value="([^"]*)"', page))
            with httpx.Client(base_url=two, timeout=30) as second:
                second.cookies.set(COOKIE, session)
                assert second.get("airlock").status_code == 200, "the session opened on one worker holds on another"
                decided = second.post(f"airlock/{made['id']}/review", data=form | {"decision": "approve"})
                assert decided.status_code == 303, decided.text
    finally:
        for cx in workers:
            cx.close()


# --- the budget page -------------------------------------------------------------------------


def test_the_budget_page_lists_the_signed_in_users_budgets_and_limits(service):
    with plain_browser(service) as client:
        asked = client.get("budget")
        assert asked.status_code == 303 and asked.headers["location"] == "/sign-in?next=%2Fbudget"
        sign_in(client, service.token("alice"))
        page = client.get("budget")
    assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    text = re.sub(r"\s+", " ", page.text)
    assert "signed in as alice" in text
    assert "<td>user:alice</td><td>researchers-card-usage-monthly</td><td>cells</td>" in text
    assert "<td>project:gangnam-retail</td><td>gangnam-retail-sales-monthly</td>" in text, "her project's too"
    assert "None" not in text, "no empty cell in a budget's row"
    for limit in ("memory", "CPU cores", "processes", "home", "time limit of one query"):
        assert f"<dt>{limit}</dt>" in text
    with plain_browser(service) as client:
        sign_in(client, service.token("sejin"))
        steward = re.sub(r"\s+", " ", client.get("budget").text)
    assert "No disclosure budget applies to you" in steward and "gangnam-retail" not in steward


def test_the_budget_page_in_a_browser(service, browser):
    """Chromium signs in with the token form and reads the page: a table of budgets, the limits."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(service.url + "budget")
    page.fill("input[name=token]", service.token("bob"))
    page.click("button[type=submit]")
    page.wait_for_url("**/budget")
    assert page.locator("h1").inner_text() == "Your budgets and limits"
    rows = page.locator("table.budgets tr").all_inner_texts()
    assert len(rows) == 2 and "researchers-card-usage-monthly" in rows[1] and "project:" not in rows[1]
    assert "GiB" in page.locator("dl.session").inner_text()
    context.close()
