"""Secrets the campus keeps in its state folder: made once, readable by the service only.

The noise secret, the audit anchor's key, the service's signing key: each is a file of
random hex, created on first use with mode 0600 (by whichever process gets there first,
so several service workers share one), and read by every process after.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def kept_secret(path: Path, nbytes: int = 32) -> bytes:
    """The secret in `path`, made there first if missing.

    >>> import tempfile
    >>> where = Path(tempfile.mkdtemp()) / "k"
    >>> kept_secret(where) == kept_secret(where), oct(where.stat().st_mode & 0o777), len(kept_secret(where))
    (True, '0o600', 32)
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(nbytes))
        except FileExistsError:
            pass  # another process made it first
    return bytes.fromhex(path.read_text().strip())
