"""`campus`: the command line for researchers, stewards and admins.

Each group of commands lives in its own module and is mounted here.
"""

from __future__ import annotations

import getpass
import os
import sys

import typer
from rich.console import Console

from ..errors import CampusError

app = typer.Typer(
    help="Big Data Campus: sandboxed notebooks over policy-checked city data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def actor() -> str:
    """Who runs this command: the login name (under sudo, the one who called it)."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def audited(action: str, outcome: str = "done", *, by: str | None = None, **detail) -> None:
    """Record an admin's or steward's change in the audit trail (campus.audit)."""
    from ..audit import AuditLog
    from ..settings import Settings

    log = AuditLog.of(Settings())
    try:
        log.record(by or actor(), action, outcome, **detail)
    finally:
        log.close()


def _mount() -> None:
    """Attach every command group (once)."""
    if app.registered_groups:
        return
    from . import audit, budget, datasets, service

    app.add_typer(datasets.app, name="datasets")
    app.add_typer(audit.app, name="audit")
    app.add_typer(budget.app, name="budget")
    service.mount(app)
    from . import policy
    app.add_typer(policy.app, name="policy")
    from . import users
    users.mount(app)
    from . import launch
    launch.mount(app)
    from . import guide
    guide.mount(app)


def main() -> None:
    _mount()
    try:
        app()
    except CampusError as e:
        err.print(f"[red]error:[/red] {e.reason}", highlight=False)
        sys.exit(2)
