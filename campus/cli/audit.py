"""`campus audit`: read and verify the audit trail."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from ..audit import AuditLog
from ..settings import Settings

app = typer.Typer(help="The audit trail of every query and decision.", no_args_is_help=True)
out = Console()


@app.command()
def verify() -> None:
    """Recompute the hash chain; exit 1 if any event was changed, removed or inserted."""
    result = AuditLog(Settings().database).verify()
    out.print(("[green]" if result.ok else "[red]") + str(result), highlight=False)
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def show(last: int = typer.Option(20, help="How many of the latest events.")) -> None:
    """The latest events: who asked what, and what was decided."""
    table = Table("id", "at", "actor", "action", "outcome", "detail")
    for event in reversed(AuditLog(Settings().database).events(limit=last)):
        detail = event["detail"]
        summary = detail.get("sql") or json.dumps(detail)[:80]
        table.add_row(str(event["id"]), str(event["at"])[:19], event["actor"], event["action"], event["outcome"], summary)
    out.print(table)
