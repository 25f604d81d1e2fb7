"""Text that enters the campus from outside: one length cap for SQL, and no broken Unicode.

Every place a query or a researcher's words come in (the gateway, the service's
bodies, the airlock's forms) uses these, so a limit is stated once and a bad string is
a clear refusal where it enters, never a failure deep inside (a lone surrogate cannot
be stored or encoded, and used to surface as a 500).

>>> clean("Table 2 of the report")
'Table 2 of the report'
>>> clean("\\udfff")
Traceback (most recent call last):
ValueError: the text holds a lone surrogate (a broken character), which is not text; send it as UTF-8
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

MAX_SQL = 100_000  # characters of one query, wherever it enters
MAX_TEXT = 10_000  # characters of a description, a comment, a name
BROKEN = re.compile(r"[\ud800-\udfff\x00]")


def clean(text: str) -> str:
    """`text` if it is text that can be stored and shown; ValueError saying why not."""
    found = BROKEN.search(text)
    if found:
        what = "a NUL character" if found.group() == "\x00" else "a lone surrogate (a broken character)"
        raise ValueError(f"the text holds {what}, which is not text; send it as UTF-8")
    return text


Sql = Annotated[str, Field(min_length=1, max_length=MAX_SQL, description="One DuckDB SELECT over the campus's "
                                                                        "datasets."), AfterValidator(clean)]
Words = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(clean)]
