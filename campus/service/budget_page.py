"""The budget page: a signed-in researcher's disclosure budgets and session limits.

``GET <service root>/budget`` (``/services/data/budget`` inside the hub) shows, for whoever
signed in through the browser sign-in (`browser.signed_in`, the airlock pages' own):

* every disclosure budget that applies to them, their own and each active project's they
  are a member of, one row each (`Session.standing`): what it counts, its limit a period,
  spent, left, and when it renews; a sentence when none applies;
* what their sealed sessions may use (memory, CPU, processes, home: `hub.limits.limits_of`
  over ``hub/users.yaml``'s ``limits:``, the sandbox's defaults where none is given), and
  what the data service allows each user (requests at once and a second, a query's time).

It reads nothing of the data, and nothing of anyone else's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from campus.airlock.web import PageRoute

from ..hub.limits import SessionLimits, limits_of
from ..hub.users import active_projects
from .auth import Identity
from .browser import signed_in
from .pages import render

Viewer = Annotated[Identity, Depends(signed_in)]


def router() -> APIRouter:
    """``/budget``, at the service's root."""
    pages = APIRouter(route_class=PageRoute, include_in_schema=False)

    @pages.get("/budget", name="budget_page")
    def budget_page(request: Request, user: Viewer) -> HTMLResponse:
        cx = request.app.state.campus
        return render(request, "budget.html", user, title="Your budgets and limits", budgets=budgets_of(cx, user),
                      session=session_limits(cx, user.user), service=service_limits(cx.settings))

    return pages


def budgets_of(cx, user: Identity) -> list:
    """The budgets that apply to `user`: their own, and each active project's they are a member of."""
    users = cx.policy.store.source.users if cx.policy.store.source else None
    projects = sorted(p for p, members in active_projects(users).items() if user.user in members) if users else []
    found = {}
    for project in [None, *projects]:
        for standing in cx.session(user.user, user.groups, project).standing():
            found[(standing.dataset, standing.scope, standing.budget, standing.counts)] = standing
    return list(found.values())


def session_limits(cx, user: str) -> SessionLimits:
    """What `user`'s sealed sessions may use: the sandbox's defaults, as users.yaml sets them for them."""
    defaults = SessionLimits.defaults()
    users = cx.policy.store.source.users if cx.policy.store.source else None
    return limits_of(user, users, defaults) if users else defaults


def service_limits(settings) -> dict[str, str]:
    """What the data service allows each user."""
    return {"requests in progress at once": f"{settings.user_concurrent}",
            "requests a second": f"{settings.user_requests_per_second:g}",
            "time limit of one query": f"{settings.query_seconds:g} seconds"}
