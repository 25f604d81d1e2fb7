"""The campus's front page and SQL guide, at the data service's root (``/services/data/`` in the hub).

::

    GET /          what the campus is, and where to go: the SQL guide, the export requests (the
                   review queue for a steward), the disclosure budgets, the notebook templates
    GET /guide     the SQL guide (`campus.gateway.guide`, as ``campus.guide()`` prints it)

They are pages like the airlock's (`campus.airlock.web`): the same sign-in (a browser session,
`campus.service.browser`), the same headers (no framing, nothing loaded from elsewhere) and the
same look; they have no forms but the header's sign-out.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from markdown_it import MarkdownIt

from campus.airlock import permissions
from campus.airlock.states import FINAL, Status
from campus.airlock.web import PageRoute
from campus.gateway import guide

from .app import campus_of
from .pages import render

MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")  # the guide's own HTML is never passed through


def router(airlock, page_user: Callable[..., Any], *, hub_url: str | None = None,
           templates: list[str] = ()) -> APIRouter:
    """The front page and the guide. `hub_url` is the hub's base URL (None: no hub, so no links
    into notebooks); `templates` are the notebook templates' file names in a new home's templates/."""
    pages = APIRouter(route_class=PageRoute, include_in_schema=False)
    # the signed-in user, as a type FastAPI resolves (so this module has no `from __future__ import annotations`)
    Viewer = Annotated[Any, Depends(page_user)]  # noqa: N806

    @pages.get("/", name="campus_home")
    def home(request: Request, user: Viewer):
        reviewer = permissions.is_reviewer(user, airlock.policy)
        mine = airlock.mine(user)
        queue = airlock.queue(user) if reviewer else []
        return render(request, "home.html", user, title="Big Data Campus", reviewer=reviewer, hub=hub_url,
                     templates=templates, returned=[r for r in mine if r.status is Status.RETURNED],
                     waiting=sum(r.status not in FINAL and r.status is not Status.RETURNED for r in mine),
                     to_review=sum(r.status is Status.NEEDS_REVIEW for r in queue),
                     to_release=sum(r.status is Status.APPROVED for r in queue))

    @pages.get("/guide", name="campus_guide")
    def sql_guide(request: Request, user: Viewer):
        body = MARKDOWN.render(guide.render(campus_of(request).catalog))
        return render(request, "guide.html", user, title="The campus SQL guide", body=body)

    return pages

