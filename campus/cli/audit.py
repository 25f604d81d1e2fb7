"""`campus audit`: read and verify the audit trail.

What researchers wrote (their SQL, names, comments) is printed literally: never read
as the terminal's markup, and with control characters shown as escapes, so no event
can restyle, hide or forge what a steward reads.
"""

from __future__ import annotations

import json
import re

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..audit import AuditLog
from ..settings import Settings

app = typer.Typer(help="The audit trail of every query and decision.", no_args_is_help=True)
out = Console()

# C0 and C1 controls (bar tab and newline) and the marks that reorder text (bidi overrides).
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _log() -> AuditLog:
    return AuditLog.of(Settings())


@app.command()
def verify() -> None:
    """Recompute the hash chain and hold it against the anchor kept outside the database;
    exit 1 if any event was changed, removed or inserted, or the chain was rewritten."""
    result = _log().verify()
    out.print(Text(str(result), style="green" if result.ok else "red"))
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def show(last: int = typer.Option(20, help="How many of the latest events.")) -> None:
    """The latest events: who asked what, and what was decided."""
    table = Table("id", "at", "actor", "action", "outcome", "detail")
    for event in reversed(_log().events(limit=last)):
        detail = event["detail"] if isinstance(event["detail"], dict) else {"detail": event["detail"]}
        summary = detail.get("sql") or json.dumps(detail, ensure_ascii=False)[:80]
        table.add_row(*(literal(v) for v in (event["id"], str(event["at"])[:19], event["actor"], event["action"],
                                             event["outcome"], summary)))
    out.print(table)


def literal(value) -> Text:
    """`value` as plain text for the terminal: no markup, control characters escaped.

    >>> literal("[red]x[/red]\\x1b[2J").plain
    '[red]x[/red]\\\\x1b[2J'
    """
    return Text(UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode(), str(value)))
