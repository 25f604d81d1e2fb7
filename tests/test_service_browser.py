"""Browser sign-in to the review pages, standalone: a server-side session, never a token in a cookie.

(Under the hub, ``test_airlock_browser.py`` signs a steward in through OAuth in Chromium.)
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from html import unescape

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campus.service.auth import Identity
from campus.service.browser import COOKIE
from campus.service.errors import SessionEnded
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
    token = service.tokens.verify(service.token("sejin"))
    sejin = Identity("sejin", ["stewards"], token_id=token.id)
    ended = sessions.open(sejin, until=datetime.now(timezone.utc) - timedelta(seconds=1))
    live = sessions.open(sejin)
    with plain_browser(service) as client:
        client.cookies.set(COOKIE, ended.secret)
        assert client.get("airlock").status_code == 303
        client.cookies.set(COOKIE, live.secret)
        assert client.get("airlock").status_code == 200
    assert sessions.revoke(live.secret) and not sessions.revoke(live.secret), "signed out once"
    with pytest.raises(SessionEnded, match="signed out"):
        sessions.identity(live.secret)


def test_a_session_opened_with_a_token_ends_when_the_token_does(service):
    """The session's end is the token's expiry, if that comes first; a session bound to no token opens nothing."""
    sessions = SessionStore(service.campus.audit.engine)
    token = service.tokens.verify(service.token("sejin", expires_in=timedelta(minutes=5)))
    opened = sessions.open(Identity("sejin", ["stewards"], token_id=token.id, expires_at=token.expires_at))
    assert opened.expires_at == token.expires_at
    unbound = sessions.open(Identity("sejin", ["stewards"]))
    with plain_browser(service) as client:
        client.cookies.set(COOKIE, unbound.secret)
        assert client.get("airlock").status_code == 303


def run(coroutine):
    """`coroutine`'s result, run on a thread of its own (Chromium's driver holds this thread's loop)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user=st.sampled_from(["sejin", "carol"]), revoked=st.booleans(), expired=st.booleans(),
       groups=st.none() | st.lists(st.sampled_from(["stewards", "researchers"]), unique=True))
def test_a_sign_in_stands_exactly_while_its_token_and_its_user_do(service, user, revoked, expired, groups):
    """The truth table of `TokenAuthenticator.recheck`: a session stands iff its token is neither
    revoked nor expired and hub/users.yaml lists its user (sejin: yes; carol: no); it acts with the
    token's groups, if it was issued with some, else the user's groups in users.yaml."""
    from campus.service.auth import TokenAuthenticator

    at = datetime.now(timezone.utc) + (timedelta(seconds=-1) if expired else timedelta(hours=1))
    issued = service.tokens.issue(user, audit=service.campus.audit, by="tests", groups=groups, expires_at=at)
    if revoked:
        service.tokens.revoke(issued.info.id, audit=service.campus.audit, by="tests")
    authenticator = TokenAuthenticator(service.tokens, service.campus.policy)
    opened = Identity(user, ["stewards"], token_id=issued.info.id)
    if revoked or expired or user == "carol":
        with pytest.raises(SessionEnded):
            run(authenticator.recheck(opened))
    else:
        now = run(authenticator.recheck(opened))
        assert now.user == user and now.groups == (groups if groups is not None else ["stewards"])


def test_the_session_cookie_is_strict_and_keeps_to_the_service(service, sejin_token):
    with plain_browser(service) as client:
        signed = sign_in(client, sejin_token)
    cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith(COOKIE + "="))
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert attributes["samesite"].lower() == "samesite=strict" and "httponly" in attributes
    assert attributes["path"] == "Path=/" and "domain" not in attributes
    assert int(attributes["max-age"].split("=")[1]) <= 86_400, "no longer than the token it was opened with"


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


@pytest.mark.slow
def test_a_link_from_another_site_opens_the_page_signed_in(service, serve, browser):
    """The session cookie is SameSite=Strict, so Chromium keeps it back when a link on another
    site (here localhost, another site than 127.0.0.1) opens a page; the page then asks for
    itself again from this site, and opens signed in."""
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    mail = FastAPI()

    @mail.get("/")
    def page():
        return HTMLResponse(f'<!doctype html><a id="review" href="{service.url}airlock">Your review is needed</a>')

    context = browser.new_context()
    page = context.new_page()
    page.goto(service.url + "sign-in?next=/airlock")
    page.fill("input[name=token]", service.token("sejin"))
    page.click("button[type=submit]")
    page.wait_for_url(service.url + "airlock")
    session = next(c for c in context.cookies() if c["name"] == COOKIE)
    assert session["sameSite"] == "Strict" and session["httpOnly"]
    with serve(mail) as mail_url:
        asked = []
        page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/airlock") else None)
        page.goto(mail_url.replace("127.0.0.1", "localhost"))
        page.click("#review")
        page.wait_for_url(service.url + "airlock")
        page.wait_for_selector("text=signed in as sejin")
    assert len(asked) == 2, "the cookie is kept back from the other site's link, and sent when asked from here"
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


# --- a session ends with what it was opened with ---------------------------------------------

COUNT_BY_GENDER = "SELECT gender, count(*) AS n FROM card_usage GROUP BY 1"


def open_review_form(client: httpx.Client, url: str, requester: str, steward: str, name: str) -> tuple[dict, dict]:
    """`client`, a steward's browser signed in with `steward` (a token), looks at the review form
    of a new request by `requester`: (the request, the form's fields)."""
    made = httpx.post(url + "api/exports", json={"sql": COUNT_BY_GENDER, "name": name},
                      headers={"Authorization": f"token {requester}"}, timeout=60)
    assert made.status_code == 201, made.text
    request = made.json()
    sign_in(client, steward)
    page = client.get(f"airlock/{request['id']}")
    assert page.status_code == 200 and "Approve" in page.text
    return request, dict(re.findall(r'name="(csrf|content_sha256|round)" value="([^"]*)"', page.text))


def assert_refused_and_kept(client: httpx.Client, url: str, requester: str, request: dict, form: dict, why: str):
    """Approving and releasing on the open form are refused, the first saying `why` (the session then
    stays ended, whatever comes back); the request is not released."""
    approve = client.post(f"airlock/{request['id']}/review", data=form | {"decision": "approve"})
    assert approve.status_code == 401 and why in unescape(approve.text), approve.text
    release = client.post(f"airlock/{request['id']}/release", data={"csrf": form["csrf"]})
    assert release.status_code == 401 and "signed out" in release.text
    status = httpx.get(url + f"api/exports/{request['id']}", headers={"Authorization": f"token {requester}"},
                       timeout=30).json()["status"]
    assert status == "needs_review"
    assert client.get("airlock").status_code == 303, "the next page asks to sign in again"


def test_revoking_a_stewards_token_ends_their_open_review_form(service):
    steward = service.token("sejin")
    with plain_browser(service) as client:
        request, form = open_review_form(client, service.url, service.token("alice"), steward, "revoked-steward")
        service.tokens.revoke(service.tokens.verify(steward).id, audit=service.campus.audit, by="tests")
        assert_refused_and_kept(client, service.url, service.token("alice"), request, form, "was revoked")


def test_a_stewards_expired_token_ends_their_open_review_form(service):
    steward = service.token("sejin", expires_in=timedelta(seconds=3))
    with plain_browser(service) as client:
        request, form = open_review_form(client, service.url, service.token("alice"), steward, "expired-steward")
        kept = client.cookies.get(COOKIE)
        time.sleep(max(0.0, (service.tokens.verify(steward).expires_at - datetime.now(timezone.utc)).total_seconds())
                   + 0.2)
        client.cookies.set(COOKIE, kept)  # the cookie ends with the token; a browser that keeps it anyway is refused
        assert_refused_and_kept(client, service.url, service.token("alice"), request, form, "sign-in has ended")


@pytest.fixture
def own_campus(demo_data, tmp_path, serve):
    """A service over a campus whose hub/users.yaml this test may change: jiwoo is a steward."""
    import campus
    from campus.service.auth import TokenAuthenticator
    from campus.service.server import app_for
    from campus.service.tokens import TokenStore
    from service_fixtures import Service, own_campus_root, roomy_airlock

    def with_jiwoo(users: dict) -> None:
        users["users"]["jiwoo"] = {"full_name": "Jiwoo Han", "groups": ["stewards"]}

    cx = campus.open(own_campus_root(tmp_path, with_jiwoo), data_dir=demo_data, state_dir=tmp_path / "state",
                     db_url=f"sqlite:///{tmp_path / 'campus.db'}")
    tokens = TokenStore(cx.audit.engine)
    try:
        with serve(app_for(cx, TokenAuthenticator(tokens, cx.policy), airlock_settings=roomy_airlock())) as url:
            yield Service(url, cx, tokens, "sqlite")
    finally:
        cx.close()


def changed_users(service, change) -> None:
    """`change` hub/users.yaml as `campus users` does, and wait for the policy to see it."""
    from campus.hub.users import UsersFile

    users = UsersFile(service.campus.settings.root / "hub" / "users.yaml")
    change(users)
    users.save()
    service.campus.policy.reload()


def test_removing_a_steward_ends_their_open_review_form(own_campus):
    alice = own_campus.token("alice")
    with plain_browser(own_campus) as client:
        request, form = open_review_form(client, own_campus.url, alice, own_campus.token("jiwoo"), "removed-steward")
        changed_users(own_campus, lambda users: users.remove_user("jiwoo"))
        assert_refused_and_kept(client, own_campus.url, alice, request, form, "no longer a campus user")


def test_a_steward_taken_off_the_reviewers_cannot_approve_on_their_open_form(own_campus):
    alice = own_campus.token("alice")
    with plain_browser(own_campus) as client:
        request, form = open_review_form(client, own_campus.url, alice, own_campus.token("jiwoo"), "demoted-steward")
        changed_users(own_campus, lambda users: users.remove_from_group("stewards", ["jiwoo"]))
        refused = client.post(f"airlock/{request['id']}/review", data=form | {"decision": "approve"})
        assert refused.status_code == 404 and "that you can see" in unescape(refused.text), (
            "to one who is no longer a reviewer, another's request does not exist")
    status = httpx.get(own_campus.url + f"api/exports/{request['id']}",
                       headers={"Authorization": f"token {alice}"}, timeout=30).json()["status"]
    assert status == "needs_review"
