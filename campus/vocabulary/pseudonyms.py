"""Pseudonyms: how an identifier is shown in rows of people, per project.

In rows mode an identifier column (catalog role ``identifier``: card numbers,
transaction and merchant ids) never leaves the engine as it is. It is shown as its
project's **pseudonym**: HMAC-SHA256 of the identifier's text (UTF-8; an integer in
decimal), keyed with the project's key, as the first 32 hexadecimal digits (128 bits;
RFC 2104 truncation). The same project sees the same pseudonym for the same id in every
query and session, so its researchers can follow a card through its transactions; two
projects see unrelated pseudonyms, so they cannot link their records.

**The keys.** The data service keeps one pseudonym secret, 32 random bytes in its state
folder (``pseudonym.secret``, mode 0600, readable by the service only, beside the noise
secret; `campus.keys.kept_secret`). A project's key is derived from it:
``key = HMAC-SHA256(secret, "pseudonym:" + project)`` (`project_key`). Keys are never
in SQL, in the audit or in a result. The mechanism is public; only the secret is not.

**In the engine.** Every engine computes the pseudonym inside the query, bit for bit this
module's `pseudonym`. HMAC is ``H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ text))``; the two padded
keys ``K ⊕ ipad`` and ``K ⊕ opad`` (64 bytes each, as secret as the key) are bound as the
query's parameters ``pseudonym_inner`` and ``pseudonym_outer`` (hexadecimal), so an
engine needs only SHA-256 over bytes, concatenation and hex (`parameters`). Researchers'
SQL can call none of these (the allow-list names no hash function and refuses
parameters), so nobody can hash a value of their choice under a key, theirs or ours.

**What it gives, and what it does not.** Without the secret, a pseudonym says nothing
about the identifier (HMAC is a pseudorandom function): knowing a card number does not
give its pseudonym, and a pseudonym cannot be looked up in a table of hashed card
numbers. It does not hide what the rest of a row says: rows of people are for sealed
sessions of approved projects only, and leave only as checked aggregates through the
airlock.

>>> key = project_key(bytes(32), "gangnam-retail")
>>> pseudonym(key, "C000123")
'035542320a152969df0a513cd6bfee9c'
>>> pseudonym(key, "C000123") == pseudonym(key, "C000123") != pseudonym(project_key(bytes(32), "other"), "C000123")
True
"""

from __future__ import annotations

import hashlib
import hmac

#: The query parameters an engine's pseudonym reads: the project key's two HMAC pads.
INNER, OUTER = "pseudonym_inner", "pseudonym_outer"
#: Hexadecimal digits of a pseudonym: 128 bits of HMAC-SHA256.
DIGITS = 32
BLOCK = 64  # SHA-256's block, in bytes: HMAC pads its key to it


def project_key(secret: bytes, project: str) -> bytes:
    """The key of `project`'s pseudonyms: ``HMAC-SHA256(secret, "pseudonym:" + project)``.

    >>> len(project_key(bytes(32), "a")), project_key(bytes(32), "a") != project_key(bytes(32), "b")
    (32, True)
    """
    return _derived(secret, f"pseudonym:{project}")


def text(value: str | int) -> bytes:
    """An identifier as hashed: its text in UTF-8, an integer in decimal."""
    return str(value).encode()


def pseudonym(key: bytes, value: str | int | None) -> str | None:
    """The pseudonym of `value` under a project's `key`: HMAC-SHA256, 32 hexadecimal digits."""
    if value is None:
        return None
    return hmac.new(key, text(value), hashlib.sha256).hexdigest()[:DIGITS]


def parameters(secret: bytes, project: str) -> dict[str, str]:
    """The bound parameters of a query showing `project`'s pseudonyms: the key's inner and
    outer HMAC pads, in hexadecimal. With them, SHA-256 alone computes the HMAC:

    >>> p = parameters(bytes(32), "gangnam-retail")
    >>> inner = hashlib.sha256(bytes.fromhex(p[INNER]) + b"C000123").digest()
    >>> hashlib.sha256(bytes.fromhex(p[OUTER]) + inner).hexdigest()[:DIGITS]
    '035542320a152969df0a513cd6bfee9c'
    """
    return pads(project_key(secret, project))


def intake_key(secret: bytes) -> bytes:
    """The key a steward's file's identifiers are replaced with on the way in (`campus.ingest`):
    ``HMAC-SHA256(secret, "intake")``, the same for every file and dataset, so monthly files
    (and datasets from one source) link; unlike any project's key.

    >>> intake_key(bytes(32)) != project_key(bytes(32), "intake")
    True
    """
    return _derived(secret, "intake")


def _derived(secret: bytes, label: str) -> bytes:
    """A key derived from the pseudonym secret for one use: ``HMAC-SHA256(secret, label)``."""
    if len(secret) < 32:
        raise ValueError("the pseudonym secret must be at least 256 bits")
    return hmac.new(secret, label.encode(), hashlib.sha256).digest()


def pads(key: bytes) -> dict[str, str]:
    """The bound parameters of an engine's HMAC under `key`: its inner and outer pads, in hexadecimal."""
    key = key.ljust(BLOCK, b"\0")
    return {INNER: bytes(b ^ 0x36 for b in key).hex(), OUTER: bytes(b ^ 0x5C for b in key).hex()}
