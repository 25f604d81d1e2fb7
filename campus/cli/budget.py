"""`campus budget`: the stewards' view of the disclosure ledger (campus/gateway/ledger.py).

``show`` lists every scope's spending per dataset and period; ``grant`` gives a scope
extra cells for the current period; ``reset`` clears what a scope spent this period.
Each change is an audit event, by the steward named.
"""

from __future__ import annotations

import getpass

import typer
from rich.console import Console

from ..audit import AuditLog
from ..gateway.ledger import PERIODS, Ledger
from ..settings import Settings
from .tables import whole

app = typer.Typer(help="Disclosure budgets: what each user and project has had released.", no_args_is_help=True)
out = Console()

Scope = typer.Option(..., "--scope", help="user:<name> or project:<name>.")
Dataset = typer.Option(..., "--dataset", help="A dataset of the catalog.")
Per = typer.Option("month", "--per", help=f"The budget's period: {', '.join(PERIODS)}.")
By = typer.Option(None, "--by", help="The steward deciding (default: the login name).")


def _opened() -> tuple[Ledger, AuditLog]:
    audit = AuditLog.of(Settings())
    return Ledger(audit.engine), audit


def _scope(scope: str) -> str:
    kind, _, name = scope.partition(":")
    if kind not in ("user", "project") or not name:
        raise typer.BadParameter(f"{scope!r}: write user:<name> or project:<name>")
    return scope


@app.command()
def show() -> None:
    """Every scope's released cells per dataset and period, newest period first."""
    ledger, _ = _opened()
    table = whole("period", "scope", "dataset", "cells charged", right=("cells charged",))
    for row in ledger.standing():
        table.add_row(row["period"], row["scope"], row["dataset"], f"{row['cells']:,}")
    out.print(table)


@app.command()
def grant(scope: str = Scope, dataset: str = Dataset, cells: int = typer.Option(..., min=1, help="Extra cells."),
          per: str = Per, by: str | None = By) -> None:
    """Give a scope extra cells of a dataset for the current period."""
    ledger, audit = _opened()
    left = ledger.grant(_scope(scope), dataset, cells, per)
    audit.record(by or getpass.getuser(), "budget_grant", "done", scope=scope, dataset=dataset, cells=cells, per=per)
    out.print(f"{scope} may have {cells:,} more cells of {dataset} released this {per} ({left:,} charged now)")


@app.command()
def reset(scope: str = Scope, dataset: str = Dataset, per: str = Per, by: str | None = By) -> None:
    """Clear what a scope spent on a dataset this period: its cells may be charged again."""
    ledger, audit = _opened()
    gone = ledger.reset(_scope(scope), dataset, per)
    audit.record(by or getpass.getuser(), "budget_reset", "done", scope=scope, dataset=dataset, per=per, cells=gone)
    out.print(f"{scope}: {gone:,} released cells of {dataset} forgotten for this {per}")
