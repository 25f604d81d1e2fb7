"""Campus accounts (``CAMPUS_HUB_AUTH=native``): `Passwords`, argon2 hashes that admins set
with ``campus users password``, and `FailedLogins`, the lock that follows too many wrong
passwords. The hub's authenticator (``hub/jupyterhub_config.py``) uses both.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import OrderedDict
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import ConfigError

MIN_PASSWORD = 10


class Passwords:
    """The campus accounts' passwords: argon2id hashes, one ``name:hash`` a line, in a file
    only the hub's user can read (``<state_dir>/passwords``, mode 0600).

    Admins set them (``campus users password``); the hub's authenticator checks them.
    Nothing but the hash is stored.

    >>> import tempfile
    >>> passwords = Passwords(Path(tempfile.mkdtemp()) / "passwords")
    >>> passwords.set("alice", "correct horse battery")
    >>> attempts = [("alice", "correct horse battery"), ("alice", "wrong"), ("bob", "x")]
    >>> [passwords.verify(name, password) for name, password in attempts]
    [True, False, False]
    >>> "correct" in passwords.path.read_text(), oct(passwords.path.stat().st_mode & 0o777)
    (False, '0o600')
    """

    hasher = PasswordHasher()
    _dummy = None

    def __init__(self, path: Path):
        self.path = Path(path)

    def _read(self) -> dict[str, str]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return {}
        return dict(line.split(":", 1) for line in lines if ":" in line)

    def _write(self, hashes: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(f"{name}:{digest}\n" for name, digest in hashes.items())
        os.replace(tmp, self.path)

    def names(self) -> set[str]:
        return set(self._read())

    def set(self, name: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise ConfigError(f"a password needs at least {MIN_PASSWORD} characters (a few words make a good one); "
                              "or let the campus make one: campus users password NAME --generate")
        hashes = self._read()
        hashes[name] = self.hasher.hash(password)
        self._write(hashes)

    def generate(self, name: str) -> str:
        """Give `name` a new strong password; returns it (it is kept only as a hash)."""
        password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
        self.set(name, password)
        return password

    def remove(self, *names: str) -> list[str]:
        hashes = self._read()
        gone = [name for name in names if hashes.pop(name, None) is not None]
        if gone:
            self._write(hashes)
        return gone

    def verify(self, name: str, password: str) -> bool:
        """Whether `password` is `name`'s; as slow for unknown names as for known ones."""
        digest = self._read().get(name)
        if digest is None:
            if Passwords._dummy is None:
                Passwords._dummy = self.hasher.hash(secrets.token_hex(16))
            digest, password = Passwords._dummy, password + "\0"  # spend the same time, never match
        try:
            return self.hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return False


class FailedLogins:
    """Wrong passwords in a row lock a name (and, four times as many, an address) for a while.

    A lock holds even against the right password. When it ends, one more wrong password
    locks again at once; a right one clears the count. Kept in the hub's memory.

    >>> now = [0.0]
    >>> limit = FailedLogins(max_failures=3, lockout_seconds=60, clock=lambda: now[0])
    >>> for _ in range(3):
    ...     limit.failed("alice", "10.0.0.1")
    >>> limit.locked("alice", "10.0.0.1"), limit.locked("bob", "10.0.0.2")
    (60.0, 0.0)
    >>> now[0] = 61.0
    >>> limit.locked("alice", "10.0.0.1")
    0.0
    >>> limit.failed("alice", "10.0.0.1"); limit.locked("alice", "10.0.0.1")
    60.0
    """

    def __init__(self, max_failures: int, lockout_seconds: float, *, per_address: int = 4,
                 clock=time.monotonic, remember: int = 10_000):
        self.max_failures, self.lockout, self.per_address = max_failures, float(lockout_seconds), per_address
        self.clock, self.remember = clock, remember
        self._seen: OrderedDict[str, list[float]] = OrderedDict()  # key -> [failures, locked until]
        self._lock = threading.Lock()

    def locked(self, name: str, address: str | None = None) -> float:
        """Seconds until `name` (or `address`) may try again; 0 if it may now."""
        now = self.clock()
        with self._lock:
            waits = [entry[1] - now for key in self._keys(name, address) if (entry := self._seen.get(key))]
        return max([0.0, *waits])

    def failed(self, name: str, address: str | None = None) -> None:
        now = self.clock()
        with self._lock:
            for key in self._keys(name, address):
                entry = self._seen.pop(key, [0, 0.0])
                entry[0] += 1
                limit = self.max_failures * (self.per_address if key.startswith("address:") else 1)
                if entry[0] >= limit:
                    entry[1] = now + self.lockout
                self._seen[key] = entry
            while len(self._seen) > self.remember:
                self._seen.popitem(last=False)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._seen.pop(f"name:{name}", None)

    @staticmethod
    def _keys(name: str, address: str | None) -> list[str]:
        return [f"name:{name}"] + ([f"address:{address}"] if address else [])

