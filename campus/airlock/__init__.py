"""The export airlock: what leaves the campus, and who said it could.

A researcher asks to export a query's result (the gateway runs it again under the
export rules and the airlock keeps the checked table) or a file from the workspace;
the airlock checks it against the grant's export rule; export reviewers approve,
reject or return it; an approved export is released and only its requester can
download it. Every change and every download is in the audit trail.

Layers, one file each::

    states.py       the statuses, who acts next in each, the moves between them
    permissions.py  who may (requester, reviewer, nobody)
    policies.py     in what state (and the automatic check's routing table)
    store.py        the tables (campus.db.metadata) and content by sha256; the ExportStore Protocol
    checks.py       the automatic checks of a file: its kind, its content, its report (check_file)
    table_rules.py  the rules a table file is held to: identifiers, row-level data, small counts, ...
    airlock.py      the operations: export, export_file, review, release, download, ...
    web.py          the JSON API and the reviewers' pages: router(airlock, current_user)

Use::

    airlock = Airlock.open(cx)
    request = airlock.export(alice, "SELECT district, count(*) AS n FROM card_usage GROUP BY 1",
                             "cards-by-district", "for the paper's table 2", audit=cx.audit)
    airlock.review(request.id, sejin, "approve", audit=cx.audit)
    airlock.release(request.id, sejin, audit=cx.audit)
    airlock.download(request.id, alice_user, audit=cx.audit).content   # Parquet bytes

Only the errors are imported eagerly (the notebook client maps error codes to them);
the rest loads on first use, so importing an error does not pay for SQLAlchemy.
"""

from importlib import import_module

from .errors import (
    AirlockError,
    Conflict,
    ContentChanged,
    DuplicateExport,
    InvalidExport,
    NotPermitted,
    RequestNotFound,
    WrongState,
)

_LAZY = {
    "Airlock": ".airlock", "Download": ".airlock",
    "AIRLOCK": ".request", "CampusUser": ".request", "ExportRequest": ".request", "Review": ".request",
    "Transition": ".request", "User": ".request",
    "STATUSES": ".states", "TRANSITIONS": ".states", "Owner": ".states", "Status": ".states",
    "ExportStore": ".store", "SqlExportStore": ".store",
}

__all__ = ["AirlockError", "Conflict", "ContentChanged", "DuplicateExport", "InvalidExport", "NotPermitted",
           "RequestNotFound", "WrongState", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'campus.airlock' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
