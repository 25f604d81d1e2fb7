"""Remembered steps: what a query's text and the policy's decisions determine.

Researchers re-run the same notebook cells, so each campus remembers two pure steps:

* the **analysis** of a query text against the catalog: the datasets it uses, the
  columns it reads and its shape, which is all the policy is asked about; and
* the **rewrite** of a query text under the policy's decisions: the statistics SQL of
  every protected aggregate and the SQL over the checked cells.

The analysis is keyed by the text. The rewrite is keyed by the text, the action, each
use's dataset, columns and shape, the decisions' full content (grant, mode, columns,
masks, row filter, disclosure, row cap, export, reasons) and the data files, which is
everything `rewrite` reads. Both keys also carry the *generation*: the catalog and the
policy in force. When either changes (the policy store reloaded its files, the campus
got another catalog), everything is forgotten.

Both keys also name the requester (user, groups, project). Nothing a rewrite makes
depends on who asks beyond the decisions, but shared entries would let one researcher
time a query to learn whether another ran the same text; a notebook re-run by its own
author, the case worth remembering, hits all the same.

Everything else runs for every query: the policy decides (its grants and today's date
change its answer, so its answer is part of the rewrite's key, never remembered here),
the guard computes the cells from the data and checks them, and the audit records.
Results and the guard's verdicts are never remembered. The key combinations of a public
domain are (by the SQL that lists them): they come from constants only, never the data.

>>> lru = LRU(2)
>>> lru.put("a", 1); lru.put("b", 2); lru.get("a"); lru.put("c", 3)
1
>>> lru.get("b") is None, len(lru), lru.hits, lru.misses
(True, 2, 1, 1)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from sqlglot.schema import Schema

from ..catalog import Catalog
from .analyse import schema_of

SIZE = 512  # entries in each LRU: the distinct queries (per requester) a campus's researchers re-run
SCHEMA_USES = 256  # a sqlglot schema remembers every table reference it resolved: renew it this often


class LRU:
    """A bounded map that forgets the least recently used entry first; thread-safe."""

    def __init__(self, size: int = SIZE):
        if size < 1:
            raise ValueError("an LRU holds at least one entry")
        self.size = size
        self.hits = self.misses = 0
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class Memory:
    """One campus's remembered analyses and rewrites (see the module's docstring)."""

    def __init__(self, size: int = SIZE):
        self.analyses = LRU(size)
        self.rewrites = LRU(size)
        self.domains = LRU(size)  # a public domain's key combinations, by the SQL over constants that lists them
        self.generation = 0
        self._in_force: tuple | None = None  # the catalog and policy the entries were made under
        self._schema: tuple[Catalog, Schema] | None = None
        self._schema_uses = 0
        self._lock = threading.Lock()

    def current(self, catalog: Catalog, policy) -> int:
        """The generation for this catalog and policy; a new one forgets everything."""
        in_force = (catalog, policy_in_force(policy))
        if self._in_force is not None and all(a is b for a, b in zip(in_force, self._in_force)):
            return self.generation
        with self._lock:
            if self._in_force is None or not all(a is b for a, b in zip(in_force, self._in_force)):
                self.analyses.clear()
                self.rewrites.clear()
                self.domains.clear()
                self._schema = None
                self._in_force = in_force
                self.generation += 1
            return self.generation

    def schema(self, catalog: Catalog) -> Schema:
        """The catalog as sqlglot's schema, built once per generation and renewed every
        `SCHEMA_USES` analyses (it keeps every table reference it resolved)."""
        with self._lock:
            if self._schema is None or self._schema[0] is not catalog or self._schema_uses >= SCHEMA_USES:
                self._schema, self._schema_uses = (catalog, schema_of(catalog)), 0
            self._schema_uses += 1
            return self._schema[1]



def policy_in_force(policy) -> object:
    """What identifies the policy in force: the source its store last loaded."""
    store = getattr(policy, "store", None)
    return getattr(store, "source", None) if store is not None else policy
