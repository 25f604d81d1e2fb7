"""The data service's own pages (the front page, the guide, the budgets): one place that renders them.

They share the airlock's look (its ``base.html``: the header with the campus's links and the
sign-out button) and its headers (`PAGE_SECURITY`: no framing, nothing loaded from elsewhere);
their templates are in ``campus/service/templates``, the airlock's are found after them.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from campus.airlock.web import PAGE_SECURITY, TEMPLATES

from .browser import root_of

PAGES = jinja2.Environment(
    loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(Path(__file__).parent / "templates"), TEMPLATES.loader]),
    autoescape=True, trim_blocks=True, lstrip_blocks=True,
)
PAGES.filters |= TEMPLATES.filters
PAGES.globals |= TEMPLATES.globals


def render(request: Request, template: str, user, **context) -> HTMLResponse:
    """`template` for `user` (whoever signed in), with the pages' headers; never cached."""
    html = PAGES.get_template(template).render(base=root_of(request), user=user, **context)
    return HTMLResponse(html, headers=PAGE_SECURITY | {"Cache-Control": "no-store"})
