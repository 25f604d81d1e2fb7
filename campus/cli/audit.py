"""`campus audit`: read and verify the audit trail.

What researchers wrote (their SQL, names, comments) is printed literally: never read
as the terminal's markup, and with control characters shown as escapes, so no event
can restyle, hide or forge what a steward reads.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import typer
from rich.console import Console
from rich.text import Text

from extractguard.formatting import when

from ..audit import AuditLog
from ..settings import Settings

app = typer.Typer(help="The audit trail of every query and decision.", no_args_is_help=True)
out = Console()

# C0 and C1 controls (bar tab and newline) and the marks that reorder text (bidi overrides).
AGE = re.compile(r"(\d+)\s*([mhdw])")
AGE_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _log() -> AuditLog:
    return AuditLog.of(Settings())


@app.command()
def verify(
    expect: str = typer.Option(None, "--expect", metavar="ID:HASH",
                               help="An event's id and hash kept from an earlier verify: fail unless the chain still holds it."),
) -> None:
    """Recompute the hash chain and hold it against the anchor kept outside the database;
    exit 1 if any event was changed, removed or inserted, or the chain was rewritten.
    Prints the anchored event's hash: kept apart from the campus, ``--expect`` later shows
    a rewrite even by someone who could also write the campus's state folder."""
    result = _log().verify(expect=_kept(expect))
    out.print(Text(str(result), style="green" if result.ok else "red"))
    if result.ok and result.anchored_at:
        out.print(Text(f"keep apart from the campus: --expect {result.anchored_at}:{result.anchored_hash}"))
    raise typer.Exit(0 if result.ok else 1)


def _kept(text: str | None) -> tuple[int, str] | None:
    """An event's (id, hash) from ``ID:HASH``, as `verify` printed it."""
    if text is None:
        return None
    event_id, _, digest = text.strip().partition(":")
    if not (event_id.isdigit() and re.fullmatch(r"[0-9a-f]{64}", digest)):
        raise typer.BadParameter("write the event's id and hash as verify printed them: 192:3f2a…(64 hex digits)",
                                 param_hint="--expect")
    return int(event_id), digest


@app.command()
def show(
    last: int = typer.Option(20, help="How many of the latest events (0: all that match)."),
    user: str = typer.Option(None, "--user", help="Only what this user (or admin, or steward) did."),
    kind: str = typer.Option(None, "--kind", help="Only events of this kind: query, export_submitted, "
                                                  "user_added ... (* matches any text: export_*, user_*)."),
    since: str = typer.Option(None, "--since", help="From this time: 2026-12-01, 2026-12-01T09:00, or 30m, 2h, 7d ago."),
    until: str = typer.Option(None, "--until", help="Before this time (same forms as --since)."),
) -> None:
    """The latest events, oldest first: who asked or changed what, and what was decided.
    Each event's SQL (or other detail) is printed whole beneath it."""
    found = _log().events(limit=last or None, actor=user, action=kind, since=_when(since, "--since"),
                          until=_when(until, "--until"))
    for event in reversed(found):
        out.print(_heading(event))
        out.print(Text("    ") + literal(_detail(event).replace("\n", "\n    ")), soft_wrap=True)
    if not found:
        out.print("no event matches: widen --since/--until, or drop --user/--kind")


def _heading(event: dict) -> Text:
    at = event["at"] if event["at"].tzinfo else event["at"].replace(tzinfo=timezone.utc)
    project = f" [{event['project']}]" if event.get("project") else ""
    line = Text(f"#{event['id']}  {when(at.replace(microsecond=0))}  ", style="bold")
    return line + literal(f"{event['actor']}{project}  {event['action']}  {event['outcome']}")


def _detail(event: dict) -> str:
    """The event's SQL whole if it has one (with the rest after it), else its detail as JSON."""
    detail = event["detail"] if isinstance(event["detail"], dict) else {"detail": event["detail"]}
    sql, rest = detail.get("sql"), {k: v for k, v in detail.items() if k != "sql"}
    tail = json.dumps(rest, ensure_ascii=False, default=str) if rest else ""
    return f"{sql}\n{tail}" if sql and tail else (sql or tail)


def _when(text: str | None, option: str) -> datetime | None:
    """A point in time from `text`: an ISO date or time (local), or an age like 30m, 2h, 7d.

    >>> _when("2026-12-01T09:00Z", "--since").isoformat()
    '2026-12-01T09:00:00+00:00'
    """
    if text is None:
        return None
    age = AGE.fullmatch(text.strip())
    if age:
        return datetime.now(timezone.utc) - timedelta(**{AGE_UNITS[age[2]]: int(age[1])})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a time: write 2026-12-01, 2026-12-01T09:00, or an age like "
                                 "30m, 2h, 7d", param_hint=option) from None
    return (moment if moment.tzinfo else moment.astimezone()).astimezone(timezone.utc)


def literal(value) -> Text:
    """`value` as plain text for the terminal: no markup, control characters escaped.

    >>> literal("[red]x[/red]\\x1b[2J").plain
    '[red]x[/red]\\\\x1b[2J'
    """
    return Text(UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode(), str(value)))
