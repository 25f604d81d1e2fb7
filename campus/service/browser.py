"""Signing in from a browser, for the airlock's review pages.

The API takes a token in the ``Authorization`` header, which a browser cannot send. A
browser signs in once instead, and gets a **session** (`campus.service.sessions`): an
opaque, revocable id in a cookie, never a token.

* Inside JupyterHub, by OAuth with the hub (`HubOAuth`, with PKCE): a page asked for
  without a session sends the browser to ``<prefix>sign-in``, which sends it on to the
  hub; the hub asks who you are and sends you back to ``<prefix>oauth_callback`` with a
  code. The service exchanges the code for a token, asks the hub whose it is, opens a
  session for that user bound to that token's id, and forgets the token itself.
* Standalone, by a form where you paste your campus API token (``campus tokens
  create``). The token is checked and forgotten but for its id; the session is what the
  cookie holds.

Either way the session lives only as long as what it was opened with: each request asks
the authenticator whether the token and the person still stand (`Authenticator.recheck`).

A sign-in under way keeps its OAuth state (the PKCE verifier, where to go next) in a
cookie signed with the service's key, not in process memory, so any worker of
``campus serve --workers N`` can finish it. The session cookie is HttpOnly,
SameSite=Strict, ``__Host-`` over https at a host's root and else limited to the
service's path (`cookie_name`); it opens the pages and nothing else (the JSON API never
reads it). Sessions end after eight hours or with their token, and signing out ends
them on the server. Every form, the sign-in form too,
is refused when a browser says it comes from another site, and carries a token only
this service's pages know; every page forbids framing and third-party content.

>>> safe_next("/services/data/airlock/3", "/services/data"), safe_next("//evil.example/x", "/services/data")
('/services/data/airlock/3', '/services/data/airlock')
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
from datetime import datetime, timezone
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from campus.airlock.web import PAGE_SECURITY, CrossSite, same_origin

from .auth import Identity, token_header, token_of
from .errors import InvalidToken, SessionEnded, TokenExpired, Unauthenticated
from .sessions import SessionStore

COOKIE = "campus-data-session"
HOST_COOKIE = "__Host-" + COOKIE  # its name where the browser can hold it to this origin (`cookie_name`)
STATE_COOKIE = "campus-data-oauth-state"
FORM_COOKIE = "campus-data-sign-in"  # the sign-in form's own token, for the double submit


class SignInRequired(Unauthenticated):
    """A page was asked for by a browser that has not signed in; `location` signs it in.
    With `from_here`, a page of this site goes there (not a redirect, which would still
    count as the other site's)."""

    def __init__(self, reason: str, location: str, *, from_here: bool = False):
        super().__init__(reason)
        self.location = location
        self.from_here = from_here


def root_of(request: Request) -> str:
    """The service's root path (the hub's prefix without its slash, or '')."""
    return request.app.state.base.removesuffix("/api")


def safe_next(target: str | None, root: str) -> str:
    """Where to go after signing in: a path of this service, never another site."""
    if target and target.startswith(root + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return root + "/airlock"


def sessions_of(request: Request) -> SessionStore:
    return request.app.state.sessions


async def signed_in(request: Request, header: Annotated[str | None, Depends(token_header)]) -> Identity:
    """Who is asking for a page: the Authorization header's token (a client), else the
    browser's session, if it and what it was opened with still stand."""
    token = token_of(header)
    if token is not None:
        return await request.app.state.authenticator.identify(token, api=False)
    where = f"{root_of(request)}/sign-in?" + urlencode({"next": request.url.path})
    secret = request.cookies.get(cookie_name(request))
    if secret is None and request.headers.get("sec-fetch-site") == "cross-site":
        # a link on another site (a mail, a chat): the browser kept the SameSite=Strict cookie back,
        # and sends it when this site's own page asks for the same address again
        again = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired("opening the page from this site", safe_next(again, root_of(request)), from_here=True)
    if secret is None:
        raise SignInRequired("sign in to see the export requests", where)
    try:
        opened = sessions_of(request).identity(secret)
        return await request.app.state.authenticator.recheck(opened)  # the token and the person, as they are now
    except SessionEnded as ended:
        sessions_of(request).revoke(secret)  # ended for good, even if the user or the token came back
        raise SignInRequired(ended.reason, where) from None


def router(hub_oauth=None) -> APIRouter:
    """``/sign-in``, ``/oauth_callback`` (with the hub) and ``/sign-out``, at the service's root."""
    pages = APIRouter(include_in_schema=False)

    @pages.get("/sign-in")
    def sign_in(request: Request, next: str | None = None):
        target = safe_next(next, root_of(request))
        if hub_oauth is None:
            return _token_form(request, target)
        verifier, challenge, method = hub_oauth.generate_pkce_code_challenge()
        state = secrets.token_urlsafe(24)
        url = hub_oauth.login_url + "&" + urlencode(
            {"state": state, "code_challenge": challenge, "code_challenge_method": method})
        response = RedirectResponse(url, status_code=302)
        pending = {"state": state, "verifier": verifier, "next": target}
        _set(response, request, STATE_COOKIE, signed(request, pending), max_age=600)
        return response

    @pages.post("/sign-in")
    async def sign_in_with_token(request: Request, token: Annotated[str, Form(max_length=200)] = "",
                                 next: Annotated[str, Form(max_length=2000)] = "",
                                 form: Annotated[str, Form(max_length=100)] = ""):
        target = safe_next(next, root_of(request))
        if hub_oauth is not None:
            return RedirectResponse(f"{root_of(request)}/sign-in?" + urlencode({"next": target}), status_code=303)
        try:
            same_origin(request)
            _check_form(request, form)
            identity = await request.app.state.authenticator.identify(token.strip(), api=False)
        except (InvalidToken, TokenExpired, Unauthenticated, CrossSite) as e:
            return _token_form(request, target, error=e.reason, status_code=e.http_status)
        return _signed_in(request, identity, target)

    @pages.get("/oauth_callback")
    async def oauth_callback(request: Request, code: str = "", state: str = ""):
        pending = unsigned(request, request.cookies.get(STATE_COOKIE, ""))
        if hub_oauth is None or not code or not state or pending is None or pending.get("state") != state:
            return _message(request, "Sign-in did not complete", "This sign-in link is out of date or was not "
                            "started here. Open the export requests again to sign in.", status_code=403)
        verifier, target = pending["verifier"], pending["next"]
        token = await hub_oauth.token_for_code(code, code_verifier=verifier, sync=False)
        identity = await request.app.state.authenticator.identify(token, api=False)  # whose; then forgotten
        response = _signed_in(request, identity, safe_next(target, root_of(request)))
        response.delete_cookie(STATE_COOKIE, path=root_of(request) + "/")
        return response

    @pages.get("/sign-out")
    def sign_out_page(request: Request):
        return _sign_out_form(request)

    @pages.post("/sign-out")
    def sign_out(request: Request):
        try:
            same_origin(request)
        except CrossSite as e:
            return _message(request, "Not signed out", e.reason, status_code=e.http_status)
        sessions_of(request).revoke(request.cookies.get(cookie_name(request), ""))
        response = _message(request, "Signed out", "You are signed out of the export requests.")
        response.delete_cookie(cookie_name(request), path=root_of(request) + "/", secure=request.url.scheme == "https",
                               httponly=True, samesite="strict")
        return response

    return pages


def signed(request: Request, value: dict) -> str:
    """`value` for a cookie, signed with the service's key (every worker shares it)."""
    body = base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    return f"{body}.{_mac(request, body)}"


def unsigned(request: Request, cookie: str) -> dict | None:
    """What `signed` put in a cookie, if this service signed it; else None."""
    body, _, mac = cookie.rpartition(".")
    if not body or not hmac.compare_digest(mac, _mac(request, body)):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None


def _mac(request: Request, body: str) -> str:
    return hmac.new(request.app.state.signing_key, body.encode(), hashlib.sha256).hexdigest()


def cookie_name(request: Request) -> str:
    """The session cookie's name. Over https, for a service at its host's root, it is
    ``__Host-`` prefixed: the browser takes it only Secure, host-only and for ``/``, so no
    other host or plain-http page can set or shadow it. Elsewhere the prefix cannot hold
    (plain http; or a service under the hub's prefix, where ``Path=/`` would hand it to
    every user's notebook server on the hub's origin), and the cookie keeps to the
    service's path. No cookie attribute keeps a browser from sending it to other ports of
    the same host: the campus has its host name to itself (README, the data service).

    >>> from starlette.requests import Request as R
    >>> from types import SimpleNamespace as S
    >>> def at(url, prefix=""):
    ...     scheme, _, rest = url.partition("://")
    ...     app = S(state=S(base=prefix + "/api"))
    ...     return cookie_name(R({"type": "http", "scheme": scheme, "server": (rest, 443), "path": "/", "headers": [],
    ...                           "app": app}))
    >>> at("https", ""), at("http", ""), at("https", "/services/data")
    ('__Host-campus-data-session', 'campus-data-session', 'campus-data-session')
    """
    return HOST_COOKIE if request.url.scheme == "https" and not root_of(request) else COOKIE


def _signed_in(request: Request, identity: Identity, target: str) -> Response:
    """Open a session for `identity`, bound to its token, and go on to `target` with its cookie."""
    opened = sessions_of(request).open(identity)
    response = RedirectResponse(target, status_code=303)
    lasts = (opened.expires_at - datetime.now(timezone.utc)).total_seconds()
    _set(response, request, cookie_name(request), opened.secret, max_age=max(1, int(lasts)), samesite="strict")
    response.delete_cookie(FORM_COOKIE, path=root_of(request) + "/")
    return response


def _check_form(request: Request, form: str) -> None:
    """The sign-in form came from a page this service served to this browser."""
    if not form or not hmac.compare_digest(form, request.cookies.get(FORM_COOKIE, "")):
        raise CrossSite("this sign-in form is out of date or came from another site; reload it and try again")


def _set(response: Response, request: Request, name: str, value: str, *, max_age: int, samesite: str = "lax") -> None:
    response.set_cookie(name, value, max_age=max_age, path=root_of(request) + "/", httponly=True, samesite=samesite,
                        secure=request.url.scheme == "https")


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}
input[type=password]{{width:100%;padding:.4rem}} .error{{color:#a40000}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _html(title: str, body: str, status_code: int) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=html.escape(title), body=body), status_code=status_code,
                        headers=PAGE_SECURITY | {"Cache-Control": "no-store"})


def _message(request: Request, title: str, text: str, *, status_code: int = 200) -> HTMLResponse:
    body = f'<p>{html.escape(text)}</p><p><a href="{html.escape(root_of(request))}/airlock">Export requests</a></p>'
    return _html(title, body, status_code)


def _sign_out_form(request: Request) -> HTMLResponse:
    body = (f'<form method="post" action="{html.escape(root_of(request))}/sign-out">'
            '<p><button type="submit">Sign out of the export requests</button></p></form>')
    return _html("Sign out", body, 200)


def _token_form(request: Request, target: str, *, error: str = "", status_code: int = 200) -> HTMLResponse:
    form = secrets.token_urlsafe(24)
    body = (
        (f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "")
        + f'<form method="post" action="{html.escape(root_of(request))}/sign-in">'
        '<p><label>Your campus API token (from <code>campus tokens create</code>)<br>'
        '<input type="password" name="token" autocomplete="off" required></label></p>'
        f'<input type="hidden" name="next" value="{html.escape(quote(target, safe="/"))}">'
        f'<input type="hidden" name="form" value="{form}">'
        '<p><button type="submit">Sign in</button></p></form>'
        '<p>Signing in opens a session of eight hours for these pages; the token itself is not kept.</p>'
    )
    response = _html("Sign in to the campus airlock", body, status_code)
    _set(response, request, FORM_COOKIE, form, max_age=1800, samesite="strict")
    return response
