"""How a released value reads: the one place every table of released cells is formatted.

The numbers themselves never change here (a result's Arrow, polars and pandas tables hold
them exactly as released); this is only how they are written for a person.

* A value with an error bar is written to the precision the bar supports, the step a
  noisy sum is released to (`noise.precision`: a hundredth of the bar's power of ten,
  whole numbers for whole values), and its bar ``± half-width`` in the same units to the
  same precision, rounded up so it never looks narrower than it is.
* A count whose only protection is rounding gets no ``±``: the report says the base once.
* Numbers have thousands separators; strings have no quotes; a timestamp reads as a
  day and a time (a midnight as its day alone); nothing (null, NaN) is a dash.

>>> released(52345.678912, 1.5), released(123_460_000, 7_000_000), released(35, 4.0, rounded=True)
('52,345.68 ± 1.50', '123,460,000 ± 7,000,000', '35')
>>> plain("Jung-gu"), plain(datetime.datetime(2024, 3, 1)), plain(None), plural(1, "cell")
('Jung-gu', '2024-03-01', '—', '1 cell')
"""

from __future__ import annotations

import datetime
import decimal
import math

from .noise import precision

NOTHING = "—"  # no value: null, NaN


def plural(n: int, word: str, words: str | None = None) -> str:
    """`n` and the word for that many, with thousands separators.

    >>> plural(1, "cell"), plural(18, "cell"), plural(1200, "value"), plural(2, "entity", "entities")
    ('1 cell', '18 cells', '1,200 values', '2 entities')
    """
    return f"{n:,} {word if n == 1 else words or word + 's'}"


def step(half_width: float, integral: bool = False) -> float:
    """The step a value with this error bar is written to; 0 where the bar is 0.

    >>> step(1.5), step(7_000_000, integral=True), step(0.8, integral=True), step(0.0)
    (0.01, 10000.0, 1.0, 0.0)
    """
    return float(precision(abs(half_width), integral))


def decimals(step: float) -> int:
    """How many decimals a step shows.

    >>> decimals(0.01), decimals(10_000.0), decimals(1.0), decimals(0.0)
    (2, 0, 0, 0)
    """
    return max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0


def shown(value, half_width: float | None = None) -> str:
    """A released value to the precision its error bar supports (`step`), or as it is
    (`plain`) without a usable bar.

    >>> shown(52345.678912, 1.5), shown(52345.678912, 3000.0), shown(1234, 4.0), shown(0.5)
    ('52,345.68', '52,350', '1,234', '0.5')
    """
    if not _usable(half_width) or not _finite(value) or half_width == 0:
        return plain(value)
    at = step(half_width, _integral(value))
    steps = value / at
    return _number(round(steps) * at, decimals(at)) if math.isfinite(steps) else plain(value)


def bar(half_width: float | None, value=None) -> str:
    """An error bar's half-width to the precision of its value, rounded up to that step.

    >>> bar(1.5, 52345.678912), bar(7_000_000.0, 123_460_000), bar(14.98, 1235), bar(None)
    ('1.50', '7,000,000', '15', '—')
    """
    if not _usable(half_width):
        return NOTHING
    at = step(half_width, _integral(value))
    steps = half_width / at if at else math.inf
    return _number(math.ceil(steps - 1e-9) * at, decimals(at)) if math.isfinite(steps) else plain(half_width)


def released(value, half_width: float | None = None, *, rounded: bool = False) -> str:
    """A released value as it reads: ``value ± half-width``, or the value alone where it has
    no bar or (`rounded`) rounding is a count's only protection.

    >>> released(2.0, 0.0), released(None, 4.0), released(1000, None)
    ('2 ± 0', '—', '1,000')
    """
    if not _finite(value) or rounded or not _usable(half_width):
        return plain(value)
    return f"{shown(value, half_width)} ± {bar(half_width, value)}"


def plain(value, grouped: bool = True) -> str:
    """Any value for reading: numbers with separators (`grouped`; not for a key such as a
    year), a fraction to six significant digits, text without quotes, timestamps as day
    and time, nothing as a dash.

    >>> plain(1234567), plain(0.1 + 0.2), plain(2.5e-07), plain(True), plain(float("nan")), plain(2025, grouped=False)
    ('1,234,567', '0.3', '2.5e-07', 'true', '—', '2025')
    >>> plain(datetime.datetime(2024, 3, 1, 14, 30)), plain(datetime.date(2024, 3, 1)), plain(["a", 1])
    ('2024-03-01 14:30', '2024-03-01', 'a, 1')
    """
    if missing(value):
        return NOTHING
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}" if grouped else str(value)
    if isinstance(value, float):
        return _fraction(value) if grouped else _fraction(value).replace(",", "")
    if isinstance(value, decimal.Decimal):
        return f"{value:,}" if grouped else str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return when(value)
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, (list, tuple)):
        return ", ".join(plain(v, grouped) for v in value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def when(at: datetime.datetime | datetime.date | str | None) -> str:
    """A day or a moment for reading: the day, then the time to the minute (to the second
    where it has seconds), then its zone; a midnight without zone is its day alone. ISO
    text is read first.

    >>> when("2026-12-07T20:36:30.123456+00:00"), when("2026-12-07T20:36:00"), when(datetime.date(2026, 1, 2))
    ('2026-12-07 20:36:30 UTC', '2026-12-07 20:36', '2026-01-02')
    >>> when("not a time"), when(None)
    ('not a time', '')
    """
    if at is None:
        return ""
    if isinstance(at, str):
        try:
            at = datetime.datetime.fromisoformat(at)
        except ValueError:
            return at
    if not isinstance(at, datetime.datetime):
        return at.isoformat()
    if at.tzinfo is None and at.time() == datetime.time():
        return at.date().isoformat()
    text = at.strftime("%Y-%m-%d %H:%M:%S" if at.second or at.microsecond else "%Y-%m-%d %H:%M")
    if at.tzinfo is not None:
        offset = at.utcoffset()
        text += " UTC" if not offset else at.strftime(" UTC%z")
    return text


def exact(value) -> str:
    """The value exactly as released, for a hover (a float's every digit).

    >>> exact(0.1 + 0.2), exact(1234), exact("Jung-gu")
    ('0.30000000000000004', '1234', 'Jung-gu')
    """
    return repr(value) if isinstance(value, float) else str(value)


def missing(value) -> bool:
    """Whether there is no value: null or NaN.

    >>> missing(None), missing(float("nan")), missing(0)
    (True, True, False)
    """
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(text: str) -> float:
    """A number as `shown` wrote it, back (for tests and readers of the text).

    >>> number("52,345.68"), number("-1,000")
    (52345.68, -1000.0)
    """
    return float(text.replace(",", ""))


def _number(value: float, places: int) -> str:
    text = f"{value:,.{places}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # no "-0.00"


def _fraction(value: float) -> str:
    """A fraction to six significant digits, without trailing zeros."""
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"
    power = math.floor(math.log10(abs(value)))
    if power < -6 or power >= 15:
        return f"{value:.6g}"
    text = _number(value, max(0, 5 - power))
    return text.rstrip("0").rstrip(".") if "." in text else text


def _integral(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _usable(half_width) -> bool:
    return isinstance(half_width, (int, float)) and math.isfinite(half_width) and half_width >= 0
