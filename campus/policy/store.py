"""The policy in force, reloaded without a restart when its files change.

`PolicyStore` watches the grant files, the Rego, ``hub/users.yaml`` and the catalog
(their modification times and sizes, at most once per `interval` seconds). On a change
it validates everything again and loads it into the engine. A reload that fails keeps
the last good policy and records why in `last_error` (and the log); until a first
policy loads, every decision is a deny that says why.

Decisions are remembered until the next reload: the policy reads the clock only as
the calendar day of ``now`` (``campus.request.today``), so the same request on the same
day gets the same decision. Failures of the machinery are never remembered.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import CampusError
from . import files
from .decision import Decision, engine_failed
from .engines import Engine
from .files import PolicyPaths, PolicySource

log = logging.getLogger(__name__)
WELL_FORMED_NOW = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class PolicyStore:
    """The last good policy, and the engine it is loaded into."""

    def __init__(self, paths: PolicyPaths, engine: Engine, *, interval: float = 1.0, remember: int = 4096):
        self.paths = paths
        self.engine = engine
        self.interval = interval
        self.remember = remember
        self._decisions: dict[str, dict] = {}
        self.source: PolicySource | None = None
        self.last_error: str | None = None
        self.loaded_at: float | None = None
        self._stamp: tuple | None = None
        self._looked_at = float("-inf")
        self._lock = threading.Lock()
        self.on_load: list[Callable[[PolicySource], None]] = []  # told of each policy that comes into force
        self.refresh(force=True)

    def decide(self, input: dict) -> Decision:
        """The engine's decision on `input`, after picking up changed files."""
        self.refresh()
        if self.source is None:
            return engine_failed(f"no policy is loaded ({self.last_error})")
        key = _same_day_key(input) if self.remember else None
        remembered = self._decisions.get(key) if key else None
        if remembered is not None:
            return Decision.model_validate(remembered)  # a fresh copy: callers may change theirs
        try:
            decision = self.engine.decide(input)
        except Exception as e:  # an engine should not raise; if one does, deny
            decision = engine_failed(f"{type(e).__name__}: {e}")
        if key and not decision.failed:
            if len(self._decisions) >= self.remember:
                self._decisions = {}
            self._decisions[key] = decision.model_dump()
        return decision

    def refresh(self, *, force: bool = False) -> bool:
        """Reload if a watched file changed (or `force`); True if a new policy is in force."""
        if not force and time.monotonic() - self._looked_at < self.interval:
            return False
        with self._lock:
            self._looked_at = time.monotonic()
            stamp = self._files_stamp()
            if stamp == self._stamp and not force:
                return False
            self._stamp = stamp
            return self._reload()

    def _reload(self) -> bool:
        try:
            source = files.load(self.paths)
            self.engine.reload(source)
        except CampusError as e:
            self.last_error = e.reason
        except Exception as e:  # a bug in a loader must not take the last good policy away
            self.last_error = f"{type(e).__name__}: {e}"
        else:
            self.source, self.last_error, self.loaded_at = source, None, time.time()
            self._decisions = {}
            log.info("policy loaded: %d grants, %d modules", len(source.grants), len(source.modules))
            for listener in self.on_load:
                try:
                    listener(source)
                except Exception:  # a listener's failure must not take the new policy away
                    log.exception("a listener of policy loads failed")
            return True
        kept = "keeping the last good policy" if self.source else "no policy is loaded; every request is denied"
        log.warning("policy reload failed (%s): %s", kept, self.last_error)
        return False

    def _files_stamp(self) -> tuple:
        return tuple((str(p), *_stat(p)) for p in self.paths.watched())


def _same_day_key(input: dict) -> str | None:
    """`input` with `now` cut to its day, as a cache key; None when `now` is malformed."""
    now = input.get("now") if isinstance(input, dict) else None
    if not isinstance(now, str) or not WELL_FORMED_NOW.match(now):
        return None
    try:
        return json.dumps({**input, "now": now[:10]}, sort_keys=True)
    except (TypeError, ValueError):
        return None


def _stat(path: Path) -> tuple:
    try:
        st = path.stat()
    except OSError:
        return (None, None)
    return (st.st_mtime_ns, st.st_size)
