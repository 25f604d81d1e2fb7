"""Signing in from a browser, for the airlock's review pages.

The API takes a token in the ``Authorization`` header, which a browser cannot send. The
pages take the same kind of token from a cookie, set when the browser signs in:

* inside JupyterHub, by OAuth with the hub (`HubOAuth`, with PKCE): a page asked for
  without a cookie sends the browser to ``<prefix>sign-in``, which sends it on to the
  hub; the hub asks who you are and sends you back to ``<prefix>oauth_callback`` with a
  code, exchanged here for a token;
* standalone, by a form where you paste your campus API token (``campus tokens create``).

The cookie holds the token (HttpOnly, SameSite=Lax, the service's path, Secure over
https). Every page checks it again with the service's authenticator, so a revoked or
expired token signs the browser out. A cookie never authenticates the JSON API.

>>> safe_next("/services/data/airlock/3", "/services/data"), safe_next("//evil.example/x", "/services/data")
('/services/data/airlock/3', '/services/data/airlock')
"""

from __future__ import annotations

import html
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .auth import Identity, token_header, token_of
from .errors import InvalidToken, TokenExpired, Unauthenticated

COOKIE = "campus-data-token"
STATE_COOKIE = "campus-data-oauth-state"
MAX_AGE = 8 * 3600  # seconds a browser stays signed in (the token may end sooner)


class SignInRequired(Unauthenticated):
    """A page was asked for by a browser that has not signed in; `location` signs it in."""

    def __init__(self, reason: str, location: str):
        super().__init__(reason)
        self.location = location


def root_of(request: Request) -> str:
    """The service's root path (the hub's prefix without its slash, or '')."""
    return request.app.state.base.removesuffix("/api")


def safe_next(target: str | None, root: str) -> str:
    """Where to go after signing in: a path of this service, never another site."""
    if target and target.startswith(root + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return root + "/airlock"


async def signed_in(request: Request, header: Annotated[str | None, Depends(token_header)]) -> Identity:
    """The browser's (or a client's) identity: the Authorization header, else the sign-in cookie."""
    token = token_of(header) or request.cookies.get(COOKIE)
    where = f"{root_of(request)}/sign-in?" + urlencode({"next": request.url.path})
    if token is None:
        raise SignInRequired("sign in to see the export requests", where)
    try:
        return await request.app.state.authenticator.identify(token)
    except (InvalidToken, TokenExpired):
        raise SignInRequired("your sign-in has ended; sign in again", where) from None


def router(hub_oauth=None) -> APIRouter:
    """``/sign-in``, ``/oauth_callback`` (with the hub) and ``/sign-out``, at the service's root."""
    pages = APIRouter(include_in_schema=False)

    @pages.get("/sign-in")
    def sign_in(request: Request, next: str | None = None):
        target = safe_next(next, root_of(request))
        if hub_oauth is None:
            return _token_form(request, target)
        verifier, challenge, method = hub_oauth.generate_pkce_code_challenge()
        state = hub_oauth.generate_state(target, code_verifier=verifier)
        url = hub_oauth.login_url + "&" + urlencode(
            {"state": state, "code_challenge": challenge, "code_challenge_method": method})
        response = RedirectResponse(url, status_code=302)
        _set(response, request, STATE_COOKIE, state, max_age=600)
        return response

    @pages.post("/sign-in")
    async def sign_in_with_token(request: Request, token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = ""):
        target = safe_next(next, root_of(request))
        if hub_oauth is not None:
            return RedirectResponse(f"{root_of(request)}/sign-in?" + urlencode({"next": target}), status_code=303)
        try:
            await request.app.state.authenticator.identify(token.strip())
        except (InvalidToken, TokenExpired, Unauthenticated) as e:
            return _token_form(request, target, error=e.reason, status_code=401)
        response = RedirectResponse(target, status_code=303)
        _set(response, request, COOKIE, token.strip(), max_age=MAX_AGE)
        return response

    @pages.get("/oauth_callback")
    async def oauth_callback(request: Request, code: str = "", state: str = ""):
        if hub_oauth is None or not code or not state or state != request.cookies.get(STATE_COOKIE):
            return _message(request, "Sign-in did not complete", "This sign-in link is out of date or was not "
                            "started here. Open the export requests again to sign in.", status_code=403)
        verifier, target = hub_oauth.get_code_verifier(state), hub_oauth.get_next_url(state)
        hub_oauth.clear_oauth_state(state)
        token = await hub_oauth.token_for_code(code, code_verifier=verifier, sync=False)
        response = RedirectResponse(safe_next(target, root_of(request)), status_code=302)
        _set(response, request, COOKIE, token, max_age=MAX_AGE)
        response.delete_cookie(STATE_COOKIE, path=root_of(request) + "/")
        return response

    @pages.get("/sign-out")
    def sign_out(request: Request):
        response = _message(request, "Signed out", "You are signed out of the export requests.")
        response.delete_cookie(COOKIE, path=root_of(request) + "/")
        return response

    return pages


def _set(response: Response, request: Request, name: str, value: str, *, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=root_of(request) + "/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}
input[type=password]{{width:100%;padding:.4rem}} .error{{color:#a40000}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _message(request: Request, title: str, text: str, *, status_code: int = 200) -> HTMLResponse:
    body = f'<p>{html.escape(text)}</p><p><a href="{html.escape(root_of(request))}/airlock">Export requests</a></p>'
    return HTMLResponse(PAGE.format(title=html.escape(title), body=body), status_code=status_code)


def _token_form(request: Request, target: str, *, error: str = "", status_code: int = 200) -> HTMLResponse:
    body = (
        (f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "")
        + f'<form method="post" action="{html.escape(root_of(request))}/sign-in">'
        '<p><label>Your campus API token (from <code>campus tokens create</code>)<br>'
        '<input type="password" name="token" autocomplete="off" required></label></p>'
        f'<input type="hidden" name="next" value="{html.escape(quote(target, safe="/"))}">'
        '<p><button type="submit">Sign in</button></p></form>'
    )
    return HTMLResponse(PAGE.format(title="Sign in to the campus airlock", body=body), status_code=status_code)
