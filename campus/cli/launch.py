"""`campus up` and `campus down`: start the whole campus on this machine, and stop it."""

from __future__ import annotations

import typer
from rich.console import Console

out = Console()


def mount(app: typer.Typer) -> None:
    app.command("up")(up)
    app.command("down")(down)


def up(
    scale: float = typer.Option(1.0, "--scale", help="Scale of the demo data, if it has to be built (1: a million "
                                                     "card transactions)."),
) -> None:
    """Start the campus: demo data, accounts, JupyterHub with the data service; prints where to sign in."""
    from .. import launch
    from .datasets import build

    already = launch.running()
    if already:
        out.print(f"The campus is already running at {already.url} (hub pid {already.pid}); `campus down` stops it.",
                  highlight=False)
        return
    from ..settings import HubSettings, Settings

    launch.private_folders(Settings(), HubSettings())  # before the demo data is written into one of them
    build(scale=scale, seed=42, out_dir=None, only=None)
    launch.up(say=_say)


def down(
    purge: bool = typer.Option(False, "--purge", help="Also remove what the campus made on this machine: its "
                                                      "researchers' Unix accounts, homes (with their files), disk "
                                                      "images, cgroups and network namespaces."),
) -> None:
    """Stop the campus that `campus up` started (the hub, its proxy, services and notebook servers)."""
    from .. import launch

    launch.down(say=_say)
    if purge:
        launch.purge(say=_say)


def _say(line: str) -> None:
    out.print(line, highlight=False, markup=False)
