"""Text from a steward's file read into the catalog's types, as real files write them.

Spaces around a value are dropped, and an empty value (or NA, N/A, NULL, -) is missing.
Whole numbers may group thousands with commas (``1,234,567``), as Korean spreadsheets
export them; a number with a fraction is not a whole number. Days are written year
first, in any of the usual ways (``2025-01-05``, ``2025/1/5``, ``2025.01.05.``,
``20250105``, ``2025년 1월 5일``); a day that does not exist (February 30) is refused, never
rolled over. Days written month or day first (``01/05/2025``) are refused: which is which
cannot be told. A moment is a day then a time (``2025-01-05 13:04`` or ``T13:04:05.25``).

`read` gives the column in its type, or which values are not one (`Read.bad`, and
`Read.first_bad`), so the error can name the line; never the value.

>>> read(pa.array([" 1,234 ", "-5", "", None, "N/A"]), "BIGINT").values.to_pylist()
[1234, -5, None, None, None]
>>> read(pa.array(["12", "1,23", "7"]), "INTEGER").first_bad
1
>>> read(pa.array(["2025-01-05", "2025/1/6", "2025.01.07.", "20250108", "2025년 1월 9일"]), "DATE").values.to_pylist()[-1]
datetime.date(2025, 1, 9)
>>> read(pa.array(["2025-01-31", "2025-02-30"]), "DATE").first_bad
1
>>> read(pa.array(["7", "x", "", "1.5", "8"]), "BIGINT").bad.to_pylist()
[False, True, False, True, False]
>>> read(pa.array(["2025-01-05 13:04", "2025/01/05T07:00:01.5", "2025-01-05"]), "TIMESTAMP").values.to_pylist()[1]
datetime.datetime(2025, 1, 5, 7, 0, 1, 500000)
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ..storage import ARROW_TYPES

MISSING = ["", "NA", "N/A", "n/a", "NULL", "null", "None", "-", "NaN", "nan"]
WHOLE = r"^[+-]?(\d{1,3}(,\d{3})+|\d+)$"
DECIMAL = r"^[+-]?((\d{1,3}(,\d{3})+|\d+)(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
DAY = r"(?P<y>\d{4})[-/.]\s*(?P<m>\d{1,2})[-/.]\s*(?P<d>\d{1,2})\.?"
#: Other ways of writing a day, rewritten to the one above first: 20250105, 2025년 1월 5일.
DAY_SPELLINGS = ((r"^(\d{4})(\d{2})(\d{2})(?:$|(?P<rest>[ T].*))", r"\1-\2-\3\4"),
                 (r"^(\d{4})\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일", r"\1-\2-\3"))
TIME = r"(?:[ T]\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<F>\.\d{1,6})?)?)?"
NARROW = {pa.int8(): (-128, 127), pa.int16(): (-32768, 32767), pa.int32(): (-2**31, 2**31 - 1)}
ISO = {"TINYINT": pa.int64(), "SMALLINT": pa.int64(), "INTEGER": pa.int64(), "BIGINT": pa.int64(),
       "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us")}  # read fast when every value is written so
TRUE, FALSE = ["true", "t", "yes", "y", "1"], ["false", "f", "no", "n", "0"]
EXPECTED = {
    "BOOLEAN": "true or false", "TINYINT": "a whole number from -128 to 127",
    "SMALLINT": "a whole number from -32,768 to 32,767", "INTEGER": "a whole number (32 bits)",
    "BIGINT": "a whole number of at most 18 digits", "DOUBLE": "a number", "VARCHAR": "text",
    "DATE": "a day, year first (2025-01-05)", "TIMESTAMP": "a day and time, year first (2025-01-05 13:04:05)",
}


@dataclass(frozen=True)
class Read:
    """A column in its catalog type, or which of its values are not one."""

    values: pa.Array | None
    bad: pa.Array | None = None  # per value: present, and not of the type; None when every value is

    @property
    def first_bad(self) -> int | None:
        """The index of the first value that is not of the type, or None."""
        return None if self.bad is None else pc.index(self.bad, True).as_py()


def read(text: pa.Array, sql_type: str) -> Read:
    """The text column `text` as `sql_type` (a catalog type)."""
    trimmed = pc.utf8_trim_whitespace(text)
    if sql_type == "VARCHAR":
        return Read(pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed))
    present = pc.and_kleene(pc.is_valid(trimmed), pc.invert(pc.is_in(trimmed, pa.array(MISSING))))
    value = pc.if_else(present, trimmed, pa.scalar(None, pa.string()))
    if sql_type in ISO:
        try:  # most files write numbers and moments as Arrow reads them (and checks them: no February 30)
            return _in_range(pc.cast(value, ISO[sql_type]), sql_type)
        except pa.ArrowInvalid:
            pass  # some value is written otherwise: read each the long way, which finds them
    return READERS[sql_type](value, sql_type)


def day_shaped(text: pa.Array, sql_type: str) -> pa.Array:
    """Per value, whether it is written as a day (DATE) or a day and time (TIMESTAMP) are, whether or not
    that day exists.

    >>> day_shaped(pa.array(["2025-02-30", "2025-13-01", "yesterday"]), "DATE").to_pylist()
    [True, True, False]
    """
    return pc.is_valid(_day_parts(pc.utf8_trim_whitespace(text), sql_type == "TIMESTAMP"))


def _in_range(values: pa.Array, sql_type: str) -> Read:
    """Whole numbers read as 64 bits, in the catalog's narrower type if they fit; others as they are."""
    target = ARROW_TYPES[sql_type]
    if not pa.types.is_integer(target) or pa.types.is_int64(target):
        return Read(values)
    lo, hi = NARROW[target]
    return _unless(pc.or_(pc.less(values, lo), pc.greater(values, hi)), lambda: Read(pc.cast(values, target)))


def _whole(value: pa.Array, sql_type: str) -> Read:
    not_whole = _bad(value, pc.match_substring_regex(value, WHOLE))
    value = pc.if_else(not_whole, pa.scalar(None, pa.string()), value)
    digits = pc.replace_substring(value, ",", "")
    significant = pc.utf8_ltrim(pc.utf8_ltrim(digits, "+-"), "0")
    overflow = pc.fill_null(pc.greater(pc.utf8_length(significant), 18), False)  # beyond what 64 bits surely hold
    wide = pc.cast(pc.if_else(overflow, "0", pc.utf8_ltrim(digits, "+")), pa.int64())
    bad = pc.or_(not_whole, overflow)
    if not pc.any(bad).as_py():
        return _in_range(wide, sql_type)
    narrow = _in_range(pc.if_else(bad, pa.scalar(None, pa.int64()), wide), sql_type).bad
    return Read(None, bad if narrow is None else pc.or_(bad, narrow))


def _decimal(value: pa.Array, sql_type: str) -> Read:
    bad = _bad(value, pc.match_substring_regex(value, DECIMAL))
    return _unless(bad, lambda: Read(pc.cast(pc.replace_substring(value, ",", ""), pa.float64())))


def _boolean(value: pa.Array, sql_type: str) -> Read:
    lower = pc.utf8_lower(value)
    is_true, is_false = pc.is_in(lower, pa.array(TRUE)), pc.is_in(lower, pa.array(FALSE))
    return _unless(_bad(value, pc.or_(is_true, is_false)), lambda: Read(pc.if_else(pc.is_null(value), None, is_true)))


def _day_parts(value: pa.Array, with_time: bool) -> pa.Array:
    """Year, month, day (and hour, minute, second, fraction) of each value written as a day; null if not."""
    for spelling, rewritten in DAY_SPELLINGS:
        value = pc.replace_substring_regex(value, spelling, rewritten)
    return pc.extract_regex(value, f"^{DAY}{TIME if with_time else ''}$")


def _day(value: pa.Array, sql_type: str) -> Read:
    with_time = sql_type == "TIMESTAMP"
    parts = _day_parts(value, with_time)  # a value not written as a day has none: not real, below
    y, m, d = (pc.cast(pc.struct_field(parts, k), pa.int32()) for k in "ymd")
    iso = pc.binary_join_element_wise(pc.cast(y, pa.string()), _two(m), _two(d), "-")
    day = pc.strptime(iso, format="%Y-%m-%d", unit="s", error_is_null=True)
    real = pc.and_(pc.and_(pc.equal(pc.year(day), y), pc.equal(pc.month(day), m)), pc.equal(pc.day(day), d))
    if not with_time:
        return _unless(_bad(value, real), lambda: Read(pc.cast(day, pa.date32())))
    hour, minute, second = (_number(parts, k) for k in "HMS")
    fraction = pc.struct_field(parts, "F")
    micros = pc.cast(pc.utf8_rpad(pc.utf8_ltrim(fraction, "."), 6, "0"), pa.int64())  # .25 is 250000 µs, exactly
    in_range = pc.and_(pc.and_(pc.less(hour, 24), pc.less(minute, 60)), pc.less(second, 60))
    seconds = pc.add(pc.add(pc.multiply(hour, 3600), pc.multiply(minute, 60)), second)
    total = pc.add(pc.multiply(pc.cast(day, pa.int64()), 1_000_000),
                   pc.add(pc.multiply(seconds, 1_000_000), micros))
    return _unless(_bad(value, pc.and_kleene(real, in_range)), lambda: Read(pc.cast(total, pa.timestamp("us"))))


def _number(parts: pa.Array, key: str) -> pa.Array:
    text = pc.struct_field(parts, key)
    return pc.cast(pc.if_else(pc.equal(text, ""), "0", text), pa.int64())


def _two(number: pa.Array) -> pa.Array:
    return pc.utf8_lpad(pc.cast(number, pa.string()), 2, "0")


def _bad(value: pa.Array, ok: pa.Array) -> pa.Array:
    """Per value, whether it is present and not `ok` (an unknown `ok` is not ok)."""
    return pc.and_(pc.is_valid(value), pc.invert(pc.fill_null(ok, False)))


def _unless(bad: pa.Array, values) -> Read:
    """`values()` if no value is `bad`; else which are."""
    bad = pc.fill_null(bad, False)
    return Read(None, bad) if pc.any(bad).as_py() else values()


READERS = {
    "BOOLEAN": _boolean, "TINYINT": _whole, "SMALLINT": _whole, "INTEGER": _whole, "BIGINT": _whole,
    "DOUBLE": _decimal, "DATE": _day, "TIMESTAMP": _day,
}
