"""The notebook side of the client: ``campus.sql(...)`` and its siblings, ``%%sql``, and
refusals shown plainly.

The module-level functions use one `Client` for the kernel's environment, made again
if its URL or token changes. In a notebook a campus refusal shows as its kind and
reason, without a traceback; ``%load_ext campus`` adds the ``%sql`` and ``%%sql`` magics.
"""

from __future__ import annotations

import os
import shlex
import sys
import threading
from collections.abc import Iterable

import polars as pl

from ..errors import CampusError
from ..gateway.cost import Budgets, Cost
from ..gateway.result import Result
from .http import Client, Description, Export, api_token, service_url
from .progress import running_shell


# --- the module-level functions (campus.sql, ...) use one client per token and URL -----------

_default: Client | None = None
_lock = threading.Lock()


def default() -> Client:
    """The client for this kernel's environment (made again if its URL or token changed)."""
    global _default
    url, token = service_url(), api_token()
    _show_refusals_plainly()
    with _lock:
        if _default is None or (_default.url, _default.token) != (url.rstrip("/") + "/", token):
            if _default is not None:
                _default.close()
            _default = Client(url, token)
        return _default


def sql(text: str, project: str | None = None) -> Result:
    """Run one query on the campus (see `Client.sql`)."""
    return default().sql(text, project)


def datasets(project: str | None = None) -> pl.DataFrame:
    """The datasets you may use (see `Client.datasets`)."""
    return default().datasets(project)


def budget(project: str | None = None) -> Budgets:
    """The disclosure budgets that apply to you (see `Client.budget`)."""
    return default().budget(project)


def cost(text: str, project: str | None = None) -> Cost:
    """The most cells a query can charge, before you run it (see `Client.cost`)."""
    return default().cost(text, project)


def describe(name: str, project: str | None = None) -> Description:
    """One dataset and its columns (see `Client.describe`)."""
    return default().describe(name, project)


def explain(dataset: str, columns: Iterable[str] = (), shape: str = "aggregates", project: str | None = None,
            action: str = "query"):
    """What the policy decides for you on a dataset, and why (see `Client.explain`)."""
    return default().explain(dataset, columns, shape, project, action)


def export(sql: str, name: str, description: str = "", project: str | None = None) -> Export:
    """Ask to take a checked table out of the campus (see `Client.export`)."""
    return default().export(sql, name, description, project)


def export_file(path: str | os.PathLike, description: str = "", project: str | None = None,
                name: str | None = None) -> Export:
    """Ask to take a file from your workspace out, checked first (see `Client.export_file`)."""
    return default().export_file(path, description, project, name)


def resubmit(request_id: int, description: str | None = None, sql: str | None = None,
             path: str | os.PathLike | None = None) -> Export:
    """Send a returned export request back with a new query or file (see `Client.resubmit`)."""
    return default().resubmit(request_id, description, sql, path)


def withdraw(request_id: int, comment: str = "") -> Export:
    """Withdraw a returned export request (see `Client.withdraw`)."""
    return default().withdraw(request_id, comment)


def exports() -> pl.DataFrame:
    """Your export requests and where they stand (see `Client.exports`)."""
    return default().exports()


def guide():
    """The campus SQL guide: what a query may say (refusals point here). Markdown in a notebook."""
    from ..catalog import load
    from ..gateway.guide import render
    from ..settings import Settings

    text = render(load(Settings().catalog_path))
    shell = running_shell()
    if shell is not None:
        from IPython.display import Markdown

        return Markdown(text)
    print(text)


def _show_refusals_plainly() -> None:
    """In a notebook, a campus refusal shows as its kind and reason, without a traceback
    through this module (the reason says what to do; the traceback would only bury it)."""
    shell = running_shell()
    if shell is None or getattr(shell, "_campus_refusals", False):
        return

    def show(shell, kind, error, tb, tb_offset=None):
        print(f"{kind.__name__}: {error.reason}", file=sys.stderr)

    shell.set_custom_exc((CampusError,), show)
    shell._campus_refusals = True


# --- %%sql ---------------------------------------------------------------------------------------


def load_ipython_extension(ipython) -> None:
    """``%load_ext campus``: adds ``%sql`` and ``%%sql``."""
    _show_refusals_plainly()
    ipython.register_magic_function(sql_magic, magic_kind="line_cell", magic_name="sql")


def sql_magic(line: str, cell: str | None = None):
    """``%%sql [--project NAME] [VARIABLE]`` runs the cell as a campus query and shows the
    result (stored in VARIABLE too, if given); ``%sql SELECT ...`` runs one line."""
    if cell is None:
        return sql(line)
    project, name = magic_arguments(line)
    result = sql(cell, project=project)
    if name:
        running_shell().user_ns[name] = result
    return result


def magic_arguments(line: str) -> tuple[str | None, str | None]:
    """(project, variable) from a ``%%sql`` line.

    >>> magic_arguments("--project gangnam-retail totals"), magic_arguments("")
    (('gangnam-retail', 'totals'), (None, None))
    """
    words, project, name = shlex.split(line), None, None
    while words:
        word = words.pop(0)
        if word in ("--project", "-p") and words:
            project = words.pop(0)
        elif word.startswith("--project="):
            project = word.split("=", 1)[1]
        elif word.isidentifier() and name is None:
            name = word
        else:
            raise CampusError(f"%%sql does not understand {word!r}: use %%sql [--project NAME] [VARIABLE]")
    return project, name
