"""The airlock's operations: export, review, release, download — one method each.

Every method that changes a request takes the audit log as a required keyword
argument and records one event per change (and one per refusal, so a steward sees
attempts too); downloads are recorded the same way. The rules live beside this
module: who may (`permissions`), in what state (`policies`), the moves (`states`).

A table export is never a file the notebook wrote: the airlock asks the gateway to
run the query again (``session.sql(sql, action="export")``), which aggregates every
dataset under the disclosure rules whatever the grant's mode and refuses row-level
results. The checked table is stored as Parquet under its sha256 with its disclosure
report and provenance, and that stored table is what a reviewer sees and what the
requester downloads.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import PurePath

import pyarrow as pa
import pyarrow.parquet as pq

from campus.audit import AuditLog
from campus.errors import CampusError
from campus.settings import AirlockSettings

from . import checks, notify, permissions, policies
from .errors import InvalidExport, QuotaExceeded, StaleReview
from .provenance import data_version, policy_version
from .request import (
    AIRLOCK,
    CampusUser,
    Decision,
    ExportRequest,
    Review,
    Transition,
    User,
)
from .states import FINAL, TRANSITIONS, Status
from .store import ExportStore, SqlExportStore

NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Seen:
    """What a reviewer looked at: the content's sha256, and the round."""

    content_sha256: str | None
    round: int | None

    def check(self, request: ExportRequest) -> None:
        if self.content_sha256 is None or self.round is None:
            raise InvalidExport("a review names the content and round it was given for: send content_sha256 and "
                                "round as the request shows them (GET /api/exports/{id})")
        if (self.content_sha256, self.round) != (request.content_sha256, request.round):
            raise StaleReview(
                f"export request {request.id} changed since you looked at it (it is now round {request.round}, "
                f"content {request.content_sha256[:12]}…); reload its page and review what it holds now"
            )


@dataclass(frozen=True)
class Download:
    filename: str
    media_type: str
    content: bytes
    sha256: str


class Airlock:
    """Export requests over a campus: its policy decides who reviews, its gateway checks tables."""

    def __init__(self, campus, store: ExportStore, settings: AirlockSettings | None = None):
        self.campus = campus
        self.store = store
        self.settings = settings or AirlockSettings()

    @classmethod
    def open(cls, campus, settings: AirlockSettings | None = None) -> "Airlock":
        """The airlock in the campus's service database, content under the store directory."""
        settings = settings or AirlockSettings()
        directory = settings.store_dir or campus.settings.state_dir / "airlock"
        return cls(campus, SqlExportStore(campus.settings.database, directory), settings)

    @property
    def policy(self):
        return self.campus.policy

    # --- requesters -------------------------------------------------------------

    def export(self, session, sql: str, name: str, description: str = "", *, audit: AuditLog) -> ExportRequest:
        """Run `sql` again under the export rules and submit its checked table for export.

        Raises what the gateway raises (`campus.Denied`, `campus.QueryRejected`) when the
        query cannot be exported at all; the gateway has audited that refusal.
        """
        requester = CampusUser(session.user, tuple(session.groups))
        name = _clean_name(name)
        self._guarded(requester, "export_submitted", None, audit,
                      lambda: permissions.check_user_in_project(requester, session.project, self.policy))
        self._guarded(requester, "export_submitted", None, audit, lambda: (
            self._check_not_duplicate(requester, name=name, sql=sql), self._check_quota(requester)))
        checked = _CheckedTable.of(self.campus, session, sql)
        self._guarded(requester, "export_submitted", None, audit,
                      lambda: self._check_quota(requester, len(checked.parquet)))
        sha256 = self.store.put_content("table", checked.parquet)
        request = ExportRequest(
            id=None, kind="table", name=name, description=description.strip(), requester=requester.name,
            groups=requester.groups, project=session.project, status=Status.SUBMITTED, status_reason="",
            export_rule=checked.export_rule, sql=sql, filename=f"{name}.parquet",
            media_type="application/vnd.apache.parquet", content_sha256=sha256,
            content_bytes=len(checked.parquet), report=checked.report, provenance=checked.provenance(sha256),
        )
        return self._submit(request, audit)

    def export_file(
        self, requester: User, filename: str, content: bytes, description: str = "", *, name: str | None = None,
        project: str | None = None, audit: AuditLog,
    ) -> ExportRequest:
        """Submit a file from the workspace (a figure, a small table): `checks.check_file` refuses
        what must not leave, rewrites the rest and reports on it; a reviewer always looks at it.
        What is stored, reviewed and released is the rewritten file, never the upload.

        `name` names the request (default: the file's stem).
        """
        filename = _clean_filename(filename)
        name = _clean_name(name if name is not None else PurePath(filename).stem)
        self._check_file_size(filename, content)
        self._guarded(requester, "export_submitted", None, audit, lambda: (
            permissions.check_user_in_project(requester, project, self.policy),
            self._check_quota(requester, len(content))))
        report = self._guarded(requester, "export_submitted", None, audit,
                               lambda: self._check_file(requester, project, filename, content))
        content = report.content
        self._guarded(requester, "export_submitted", None, audit, lambda: self._check_not_duplicate(
            requester, name=name, content_sha256=hashlib.sha256(content).hexdigest()))
        sha256 = self.store.put_content("file", content)
        now = _now()
        request = ExportRequest(
            id=None, kind="file", name=name, description=description.strip(),
            requester=requester.name, groups=tuple(requester.groups), project=project, status=Status.SUBMITTED,
            status_reason="", export_rule="review", sql=None, filename=filename,
            media_type=report.kind.media_type, content_sha256=sha256, content_bytes=len(content),
            report=report.document(),
            provenance={"requester": requester.name, "groups": list(requester.groups), "project": project,
                        "at": now.isoformat(), "content_sha256": sha256, "content_bytes": len(content),
                        "filename": filename, "policy": policy_version(self.policy)},
        )
        return self._submit(request, audit)

    def resubmit(
        self, request_id: int, user: User, *, audit: AuditLog, description: str | None = None,
        sql: str | None = None, content: bytes | None = None,
    ) -> ExportRequest:
        """Send a returned request back, with a new description, query (tables) or content (files).

        A table is always computed again, under the policy in force now; new content of a file
        is checked again (`checks`).
        """
        request = self._find(request_id, user, "export_resubmitted", audit)
        self._guarded(user, "export_resubmitted", request, audit, lambda: (
            permissions.check_user_can_resubmit(user, request, self.policy), policies.check_can_resubmit(request),
            _check_what_changes(request, sql, content)))
        changes: dict = {"round": request.round + 1}
        if description is not None:
            changes["description"] = description.strip()
        if request.kind == "table":
            session = self.campus.session(user.name, list(user.groups), request.project)
            checked = _CheckedTable.of(self.campus, session, sql or request.sql)
            sha256 = self.store.put_content("table", checked.parquet)
            changes |= {"sql": sql or request.sql, "export_rule": checked.export_rule, "report": checked.report,
                        "content_sha256": sha256, "content_bytes": len(checked.parquet),
                        "provenance": checked.provenance(sha256)}
        elif content is not None:
            self._check_file_size(request.filename, content)
            report = self._guarded(user, "export_resubmitted", request, audit,
                                   lambda: self._check_file(user, request.project, request.filename, content))
            content = report.content
            sha256 = self.store.put_content("file", content)
            changes |= {"content_sha256": sha256, "content_bytes": len(content), "report": report.document(),
                        "provenance": request.provenance | {"content_sha256": sha256, "content_bytes": len(content),
                                                            "at": _now().isoformat()}}
        moved = self._move(request, Status.SUBMITTED, user.name, "resubmitted after review", audit, **changes)
        return self._auto_check(moved, audit)

    def withdraw(self, request_id: int, user: User, comment: str = "", *, audit: AuditLog) -> ExportRequest:
        request = self._find(request_id, user, "export_withdrawn", audit)
        self._guarded(user, "export_withdrawn", request, audit, lambda: (
            permissions.check_user_can_withdraw(user, request, self.policy), policies.check_can_withdraw(request)))
        return self._move(request, Status.WITHDRAWN, user.name, comment.strip() or "withdrawn by the requester", audit)

    def download(self, request_id: int, user: User, *, audit: AuditLog) -> Download:
        """The released content, for its requester only; every download is audited."""
        request = self._find(request_id, user, "export_downloaded", audit)
        self._guarded(user, "export_downloaded", request, audit, lambda: (
            permissions.check_user_can_download(user, request, self.policy), policies.check_can_download(request)))
        content = self._guarded(user, "export_downloaded", request, audit,
                                lambda: self.store.read_content(request.kind, request.content_sha256))
        audit.record(user.name, "export_downloaded", "ok", project=request.project, request=request.id,
                     filename=request.filename, content_sha256=request.content_sha256, bytes=len(content))
        return Download(request.filename, request.media_type, content, request.content_sha256)

    # --- reviewers --------------------------------------------------------------

    def review(
        self, request_id: int, user: User, decision: Decision, comment: str = "", *, audit: AuditLog,
        seen: Seen | None = None, release: bool = False,
    ) -> ExportRequest:
        """Approve, reject or return a request that needs review (policies.after_review).

        `seen` is what the reviewer looked at (the content's sha256 and the round): a
        decision given for other content, or an earlier round, is refused as stale. With
        `release`, the approval that completes the approvals also releases it (one step
        for the last reviewer; `release` checks the same rules).
        """
        request = self._find(request_id, user, "export_reviewed", audit)
        self._guarded(user, "export_reviewed", request, audit, lambda: (
            permissions.check_user_can_review(user, request, self.policy), policies.check_can_review(request),
            policies.check_review(decision, comment), seen is None or seen.check(request)))
        review = Review(user.name, decision, comment.strip(), request.round, _now(), request.content_sha256)
        to = policies.after_review(request, decision, self.settings.reviewers_required)
        if to is request.status:  # an approval that still waits for another reviewer
            saved = self.store.save(request, expected_version=request.version, review=review)
            audit.record(user.name, "export_reviewed", decision, project=request.project, request=request.id,
                         approvals=len(saved.approvals), required=self.settings.reviewers_required,
                         comment=review.comment, content_sha256=request.content_sha256)
            return saved
        note = review.comment or f"approved by {', '.join([*request.approvals, user.name])}"
        moved = self._move(request, to, user.name, note, audit, review=review, tell=not release)
        return self.release(request_id, user, audit=audit) if release and to is Status.APPROVED else moved

    def release(self, request_id: int, user: User, *, audit: AuditLog) -> ExportRequest:
        """Release an approved request: from now on its requester can download it."""
        request = self._find(request_id, user, "export_released", audit)
        self._guarded(user, "export_released", request, audit, lambda: (
            permissions.check_user_can_release(user, request, self.policy), policies.check_can_release(request)))
        return self._move(request, Status.RELEASED, user.name, f"released by {user.name}", audit,
                          released_at=_now())

    def finish_pending(self, *, audit: AuditLog) -> list[ExportRequest]:
        """Make the moves the airlock owes (after a crash between two of its own steps)."""
        done = []
        for request in self.store.find(statuses=[Status.SUBMITTED, Status.AUTO_APPROVED]):
            if request.status is Status.SUBMITTED:
                done.append(self._auto_check(request, audit))
            else:
                done.append(self._release_automatically(request, audit))
        return done

    # --- reading ----------------------------------------------------------------

    def get(self, request_id: int, user: User) -> ExportRequest:
        """The request, if `user` may see it; another's and a missing one are `RequestNotFound`
        alike, by the same one query."""
        return self.store.get(request_id, permissions.visible_requester(user, self.policy))

    def mine(self, user: User) -> list[ExportRequest]:
        return self.store.find(requester=user.name)

    def queue(self, user: User) -> list[ExportRequest]:
        """What reviewers act on next: requests that need review, then approved ones to release."""
        permissions.check_user_can_see_queue(user, self.policy)
        waiting = self.store.find(statuses=[Status.NEEDS_REVIEW, Status.APPROVED])
        return sorted(waiting, key=lambda r: (r.status is not Status.NEEDS_REVIEW, r.id))

    def decided(self, user: User, limit: int = 30) -> list[ExportRequest]:
        """Recently finished requests, for reviewers."""
        permissions.check_user_can_see_queue(user, self.policy)
        return self.store.find(statuses=FINAL, limit=limit)

    def history(self, request_id: int, user: User) -> list[ExportRequest]:
        """Earlier releases by the same requester or within the same project (reviewers only):
        what a reviewer compares a new export against, so differencing across exports shows."""
        request = self.get(request_id, user)
        permissions.check_user_can_see_queue(user, self.policy)
        return self.store.releases(requester=request.requester, project=request.project, excluding=request.id)

    def table(self, request_id: int, user: User, *, audit: AuditLog) -> pa.Table:
        """The stored table, as the review page shows it (`permissions.check_user_can_look_at`): the
        checked table of a query, or the table a CSV, TSV or Parquet file holds."""
        request = self._find(request_id, user, "export_previewed", audit)
        if request.kind == "table":
            return pq.ParquetFile(io.BytesIO(self._look_at(request, user, audit))).read()
        kind = checks.kind_of(request.filename)
        if not kind.table:
            raise InvalidExport(f"export request {request_id} is a {kind.name} file, not a table")
        return checks.read_table(kind, request.filename, self._look_at(request, user, audit))

    def content(self, request_id: int, user: User, *, audit: AuditLog) -> bytes:
        """The stored bytes, to look at (not a download; `permissions.check_user_can_look_at`)."""
        return self._look_at(self._find(request_id, user, "export_previewed", audit), user, audit)

    def _look_at(self, request: ExportRequest, user: User, audit: AuditLog) -> bytes:
        """The content, for someone who may look at it now; every look is audited."""
        self._guarded(user, "export_previewed", request, audit,
                      lambda: permissions.check_user_can_look_at(user, request, self.policy))
        content = self._guarded(user, "export_previewed", request, audit,
                                lambda: self.store.read_content(request.kind, request.content_sha256))
        audit.record(user.name, "export_previewed", "ok", project=request.project, request=request.id,
                     round=request.round, content_sha256=request.content_sha256, bytes=len(content))
        return content

    def _check_quota(self, user: User, adding: int = 0) -> None:
        """At most `requests_per_day` requests and `bytes_per_day` bytes per user in 24 hours."""
        count, size = self.store.submitted_since(user.name, _now() - timedelta(days=1))
        if count >= self.settings.requests_per_day:
            raise QuotaExceeded(
                f"{user.name} has made {count} export requests in the last 24 hours, the most a day allows; "
                "wait, or ask a steward to raise CAMPUS_AIRLOCK_REQUESTS_PER_DAY")
        if size + adding > self.settings.bytes_per_day:
            raise QuotaExceeded(
                f"{user.name}'s export requests of the last 24 hours hold {size + adding:,} bytes with this one, over "
                f"the {self.settings.bytes_per_day:,} a day allows; export smaller tables, or wait")

    def _check_not_duplicate(self, user: User, **export) -> None:
        """`policies.check_not_duplicate` against `user`'s own requests."""
        policies.check_not_duplicate(self.store.find(requester=user.name), pages_url=self.settings.pages_url,
                                     **export)

    def _check_file_size(self, filename: str, content: bytes) -> None:
        if not content:
            raise InvalidExport(f"{filename} is empty: there is nothing to export")
        if len(content) > self.settings.max_file_bytes:
            raise InvalidExport(
                f"{filename} is {len(content):,} bytes; files up to {self.settings.max_file_bytes:,} bytes can be "
                "exported. Export a smaller figure or the aggregate table behind it"
            )

    def _check_file(self, user: User, project: str | None, filename: str, content: bytes) -> checks.FileReport:
        """The automatic checks (`checks`), under the strictest thresholds of the datasets `user` may use."""
        rules = checks.rules_for(self.campus.catalog, self.policy, user, project)
        return checks.check_file(filename, content, rules)

    # --- the moves --------------------------------------------------------------

    def _submit(self, request: ExportRequest, audit: AuditLog) -> ExportRequest:
        created = self.store.create(request, Transition(request.requester, None, Status.SUBMITTED, "", _now()))
        audit.record(request.requester, "export_submitted", str(Status.SUBMITTED), project=request.project,
                     request=created.id, kind=request.kind, name=request.name, sql=request.sql,
                     filename=request.filename, content_sha256=request.content_sha256,
                     export_rule=request.export_rule, withheld=request.withheld)
        return self._auto_check(created, audit)

    def _auto_check(self, request: ExportRequest, audit: AuditLog) -> ExportRequest:
        to, reason = policies.auto_check(request)
        checked = self._move(request, to, AIRLOCK, reason, audit)
        if to is Status.AUTO_APPROVED:
            return self._release_automatically(checked, audit)
        return checked

    def _release_automatically(self, request: ExportRequest, audit: AuditLog) -> ExportRequest:
        return self._move(request, Status.RELEASED, AIRLOCK, "released automatically", audit, released_at=_now())

    def _move(self, request: ExportRequest, to: Status, actor: str, note: str, audit: AuditLog, *,
              review: Review | None = None, tell: bool = True, **changes) -> ExportRequest:
        """One move of `states.TRANSITIONS`: saved with its timeline step, audited, then the people it
        concerns are told (`notify`; not with `tell=False`, for a move the next one follows at once)."""
        policies.check_transition(request, to)
        action = TRANSITIONS[(request.status, to)][1]
        moved = replace(request, status=to, status_reason=note, **changes)
        saved = self.store.save(moved, expected_version=request.version, review=review,
                                transition=Transition(actor, request.status, to, note, _now()))
        audit.record(actor, action, str(to), project=request.project, request=request.id,
                     **{"from": str(request.status), "to": str(to)}, note=note, round=saved.round,
                     content_sha256=saved.content_sha256)
        if tell:
            notify.tell(saved, self.policy, self.settings)
        return saved

    def _find(self, request_id: int, user: User, action: str, audit: AuditLog) -> ExportRequest:
        try:
            return self.get(request_id, user)
        except CampusError as e:
            audit.record(user.name, action, "refused", request=request_id, code=e.code, reason=e.reason)
            raise

    def _guarded(self, user: User, action: str, request: ExportRequest | None, audit: AuditLog, check: Callable):
        """Run `check`; a refusal is audited (so attempts show in the trail) and raised."""
        try:
            return check()
        except CampusError as e:
            audit.record(user.name, action, "refused", project=request.project if request else None,
                         request=request.id if request else None, code=e.code, reason=e.reason)
            raise


class _CheckedTable:
    """A query's result as the gateway checked it for export, ready to store."""

    def __init__(self, campus, session, sql: str, result):
        self.campus, self.session, self.sql, self.result = campus, session, sql, result
        table = self.table = result.with_errors().to_arrow()  # each released value leaves with its error bar
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        self.parquet = sink.getvalue()
        self.datasets = sorted({d["dataset"] for d in result.decisions})
        self.export_rule = result.export_rule
        self.report = report_document(result.report)
        self.identifiers = identifier_columns(session.gateway.catalog, self.datasets, table.column_names)

    @classmethod
    def of(cls, campus, session, sql: str) -> "_CheckedTable":
        if not sql or not sql.strip():
            raise InvalidExport("an export names the query to run: sql is empty")
        return cls(campus, session, sql, session.sql(sql, action="export"))

    def provenance(self, sha256: str) -> dict:
        table = self.table
        return {
            "query": self.sql, "requester": self.session.user, "groups": list(self.session.groups),
            "project": self.session.project, "at": _now().isoformat(),
            "policy": policy_version(self.session.gateway.policy),
            "data": data_version(self.campus, self.datasets),
            "content_sha256": sha256, "content_bytes": len(self.parquet),
            "rows": table.num_rows, "columns": table.column_names, "types": [str(t) for t in table.schema.types],
            "decisions": self.result.decisions, "notes": self.result.notes,
            "identifier_columns": self.identifiers,
        }


def report_document(report) -> dict:
    """An extractguard `Report` as JSON: what was withheld, by which rule, and why, and
    each released value's error bar."""
    return {
        "cells": report.cells, "suppressed": report.suppressed, "summary": report.summary(), "rules": report.rules,
        "notes": list(report.notes), "withheld": report.withheld.to_dicts(),
        "errors": json.loads(report.errors.write_json()), "measures": report.measures_json(),
    }


def identifier_columns(catalog, datasets: list[str], columns: list[str]) -> list[str]:
    """Output columns named like an identifier column of a dataset the query read.

    The gateway never outputs identifiers from checked aggregates; this second look
    stops one leaving under its own name whatever route it took.
    """
    identifiers = {c.lower() for name in datasets for c in catalog[name].roles("identifier")}
    return [c for c in columns if c.lower() in identifiers]


def _check_what_changes(request: ExportRequest, sql: str | None, content: bytes | None) -> None:
    """A table is resubmitted with a query, a file with content; not the other way round."""
    if (request.kind == "file" and sql is not None) or (request.kind == "table" and content is not None):
        changed = "a new query" if sql is not None else "new content"
        raise InvalidExport(f"export request {request.id} is a {request.kind}: it cannot take {changed}; resubmit it "
                            f"with {'a new query' if request.kind == 'table' else 'a new file'}, or make a new request")


def _clean_name(name: str) -> str:
    cleaned = NAME.sub("-", (name or "").strip()).strip("-.")[:100]
    if not cleaned:
        raise InvalidExport("an export needs a name (letters, digits, dots, dashes), e.g. spending-by-district")
    return cleaned


def _clean_filename(filename: str) -> str:
    base = PurePath((filename or "").replace("\\", "/")).name
    cleaned = NAME.sub("-", base).strip("-.")[-150:]
    if not cleaned:
        raise InvalidExport("the file needs a name, e.g. spending-by-district.png")
    return cleaned


def _now() -> datetime:
    return datetime.now(timezone.utc)
