"""Where an export came from: the versions of the policy and the data it was computed with.

A reviewer (and, later, anyone reading the audit trail) can tell whether two exports
were computed over the same data under the same policy.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from campus.errors import CampusError
from campus.ingest.versions import version_reading

#: The demo data's build manifest (campus.synth.build writes it beside the datasets).
BUILD_MANIFEST = "_build.json"


def policy_version(policy) -> dict:
    """The policy in force: its engine, when it loaded, and a sha256 over its files.

    When the files on disk failed to load, the last good policy decided: the hash of the
    files would describe a policy that is not in force, so it is left out and the note says so.
    """
    store = policy.store
    version = {
        "engine": policy.engine,
        "loaded_at": datetime.fromtimestamp(store.loaded_at, timezone.utc).isoformat() if store.loaded_at else None,
    }
    if policy.last_error:
        return version | {"note": f"the policy files failed to load, the last good policy decided: {policy.last_error}"}
    digest = hashlib.sha256()
    for path in store.paths.watched():
        digest.update(path.name.encode() + b"\0" + _read(path) + b"\0")
    return version | {"files_sha256": digest.hexdigest()}


def data_version(campus, datasets: list[str]) -> dict[str, str]:
    """Per dataset: the loaded version it was read at (`campus datasets versions`), else the sha256
    of its build-manifest entry, else the engine's version of its files."""
    manifest = _manifest(Path(campus.settings.data))
    versions = {}
    for name in sorted(set(datasets)):
        loaded = _loaded_version(campus, name)
        if loaded is not None:
            versions[name] = f"version {loaded.number} (sha256 {loaded.digest()})"
            continue
        if name in manifest:
            entry = json.dumps(manifest[name], sort_keys=True, separators=(",", ":")).encode()
            versions[name] = "build:" + hashlib.sha256(entry).hexdigest()
            continue
        try:
            dataset = campus.catalog[name]
            versions[name] = campus.engines[campus.holder(dataset)].data_version(campus.files(dataset))
        except (CampusError, KeyError, OSError) as e:
            versions[name] = f"unknown: {e}"
    return versions


def _loaded_version(campus, name: str):
    """The version of a dataset loaded by `campus datasets add` that the campus reads; None for others."""
    try:
        dataset = campus.catalog[name]
        where = dataset.location(campus.settings.data)
        return None if isinstance(where, str) else version_reading(where, campus.files(dataset))
    except (CampusError, KeyError, OSError):
        return None


def _manifest(data_dir: Path) -> dict:
    try:
        return json.loads((data_dir / BUILD_MANIFEST).read_text())["datasets"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b"(missing)"
