"""`campus guide`: the campus SQL guide, generated from the gateway's allow-lists."""

from __future__ import annotations

from typing import Annotated

import typer

from ..settings import Settings


def mount(app: typer.Typer) -> None:
    app.command()(guide)


def guide(write: Annotated[bool, typer.Option(help="Write docs/sql-guide.md in the campus root.")] = False) -> None:
    """What a campus query may say (the guide refusals point to)."""
    from .. import catalog
    from ..gateway.guide import GUIDE_PATH, render

    settings = Settings()
    text = render(catalog.load(settings.catalog_path))
    if write:
        target = settings.root / GUIDE_PATH
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {target}")
    else:
        typer.echo(text, nl=False)
