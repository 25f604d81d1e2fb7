"""`campus serve`, `campus tokens` and `campus db`: run the data service and keep its state."""

from __future__ import annotations

import getpass
import typer
from rich.console import Console

from ..settings import Settings
from .tables import whole

tokens_app = typer.Typer(help="API tokens for using the data service outside JupyterHub.", no_args_is_help=True)
db_app = typer.Typer(help="The service database (audit trail, tokens): its schema migrations.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def mount(app: typer.Typer) -> None:
    """Attach `serve`, `tokens` and `db` to the campus command line."""
    app.command("serve")(serve)
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(db_app, name="db")


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default: 127.0.0.1, or the hub's service URL)."),
    port: int | None = typer.Option(None, help="Port to listen on (default: 8300, or the hub's service URL)."),
    auth: str = typer.Option("auto", help="hub (JupyterHub tokens), tokens (campus API tokens), or auto: hub when "
                                          "run as a JupyterHub service."),
    log_level: str = typer.Option("info", help="uvicorn's log level."),
    workers: int = typer.Option(1, min=1, help="Processes sharing the port, each with its own campus: about one "
                                               "per core for throughput."),
) -> None:
    """Start the data service (migrates the service database first)."""
    from ..service.server import serve as run

    if auth not in ("auto", "hub", "tokens"):
        raise typer.BadParameter("use hub, tokens or auto", param_hint="--auth")
    run(Settings(), host, port, auth, log_level, workers)  # type: ignore[arg-type]


@tokens_app.command("create")
def create_token(
    user: str = typer.Option(..., "--user", help="Who the token acts for."),
    groups: list[str] | None = typer.Option(
        None, "--groups", help="The groups it acts with (repeat, or comma-separated; default: the user's groups in "
                               "hub/users.yaml, looked up at each request)."),
    expires: str = typer.Option("90d", "--expires", help="How long it is valid: 90m, 12h, 30d, 2w, or never."),
) -> None:
    """Issue a token and print it once; only its hash is kept."""
    from ..service.tokens import expiry

    try:
        expires_at = expiry(expires)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--expires") from None
    names = [g.strip() for entry in groups or [] for g in entry.split(",") if g.strip()] if groups else None
    store, audit = _stores()
    issued = store.issue(user, audit=audit, by=getpass.getuser(), groups=names, expires_at=expires_at)
    known = _known_user(user)
    out.print(issued.token, highlight=False, soft_wrap=True)
    until = f"until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "without expiry"
    acts = f"groups {', '.join(names)}" if names is not None else "the user's groups in hub/users.yaml"
    err.print(f"token {issued.info.id} for {user} ({acts}), valid {until}. It is shown only this once.", highlight=False)
    if not known:
        err.print(f"[yellow]warning:[/yellow] {user} is not in hub/users.yaml; the policy may grant them nothing",
                  highlight=False)


@tokens_app.command("list")
def list_tokens(user: str | None = typer.Option(None, "--user", help="Only this user's tokens.")) -> None:
    """Every token: id, user, groups, when it was made and expires, and whether it is active."""
    store, _ = _stores()
    table = whole("user", "groups", "created", "by", "expires", "status", "id", keep=("id",))
    for info in store.list(user):
        table.add_row(info.user, ", ".join(info.groups) if info.groups is not None else "(users.yaml)",
                      f"{info.created_at:%Y-%m-%d}", info.created_by,
                      f"{info.expires_at:%Y-%m-%d %H:%M}" if info.expires_at else "never", info.status(), info.id)
    out.print(table)


@tokens_app.command("revoke")
def revoke_token(token_id: str = typer.Argument(..., metavar="ID", help="The token's id, as `campus tokens list` "
                                                                      "shows it.")) -> None:
    """Revoke a token: from now on it is refused."""
    store, audit = _stores()
    info = store.revoke(token_id, audit=audit, by=getpass.getuser())
    out.print(f"token {info.id} of {info.user} is revoked", highlight=False)


@db_app.command("upgrade")
def upgrade(url: str | None = typer.Option(None, help="The database (default: the campus settings' CAMPUS_DB_URL, "
                                                      "else SQLite in the state directory).")) -> None:
    """Migrate the service database to the newest schema."""
    from .. import migrations
    from ..db import connect

    engine = connect(url or Settings().database)
    try:
        migrations.upgrade(engine)
        with engine.connect() as db:
            out.print(f"the service database is at revision {migrations.current(db)}", highlight=False)
    finally:
        engine.dispose()


@db_app.command("current")
def current(url: str | None = typer.Option(None, help="The database (default: the campus settings').")) -> None:
    """The revision the service database is at, and the newest one."""
    from .. import migrations
    from ..db import connect

    engine = connect(url or Settings().database)
    try:
        with engine.connect() as db:
            at = migrations.current(db)
    finally:
        engine.dispose()
    out.print(f"at {at or 'nothing (never migrated)'}; newest {migrations.head()}", highlight=False)


def _stores():
    from ..audit import AuditLog
    from ..service.tokens import TokenStore

    audit = AuditLog.of(Settings())
    return TokenStore(audit.engine), audit


def _known_user(user: str) -> bool:
    from .. import provisioning

    try:
        return user in provisioning.load(Settings().root / "hub" / "users.yaml").users
    except Exception:
        return True  # no users file to check against: no warning
