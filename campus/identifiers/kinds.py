"""The kinds of value that identify a person, found anywhere in a value (a phone number in a
note, an e-mail address behind a display name), masked or not, each checked by its own
validator where one exists.

A kind is a pattern over normalised text (`campus.identifiers.text`) and, where the
pattern alone would take other numbers too, a check of each match: Luhn's digit for card
numbers, python-stdnum's for business registration numbers, the address itself for IPv6.
A kind's *bare* form (digits without separators, or with a leading zero a spreadsheet
dropped) counts only in a column most of whose values have it: ten digits are a phone
number with its zero lost only where the column is a column of them.

>>> import polars as pl
>>> [k.name for k in KINDS if k.found(pl.Series(["전화 (02) 123-4567 로 연락"])).any()]
['phone numbers']
>>> [k.name for k in KINDS if k.found(pl.Series(["1234-****-****-5678"])).any()]
['card numbers']
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
from stdnum import ean
from stdnum.kr import brn, rrn

D = "[0-9]"
M = "[0-9*xX#]"  # a digit, or a digit masked
SEP = r"[-. ]?"
BEFORE, AFTER = r"(?:^|[^0-9])", r"(?:$|[^0-9])"
DATE6 = rf"{D}{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]{D}|3[01])"
REGIONS = "서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주"
PLATE_LETTERS = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주바사아자배허하호"


@dataclass(frozen=True)
class Kind:
    """One kind of identifying value: where it is (`pattern`), what a match must also pass (`valid`),
    and its bare form, counted only in a column mostly of it."""

    name: str
    pattern: str
    valid: Callable[[str], bool] | None = None
    bare: str | None = None  # a full-value pattern
    bare_valid: Callable[[str], bool] | None = None

    def found(self, text: pl.Series) -> pl.Series:
        """Per value (normalised text), whether it holds one of this kind."""
        matching = text.str.contains(self.pattern).fill_null(False)
        if self.valid is None or not matching.any():
            return matching
        candidates = text.filter(matching).str.extract_all(self.pattern)
        checked = candidates.map_elements(lambda found: any(self.valid(m) for m in found), return_dtype=pl.Boolean)
        return matching.scatter(matching.arg_true(), checked)

    def redacted(self, text: str) -> str:
        """`text` with each value of this kind in it replaced by the kind's mark."""
        def mark(match: re.Match) -> str:
            return f"⟨{self.name}⟩" if self.valid is None or self.valid(match.group()) else match.group()
        return in_python(self.pattern).sub(mark, text)

    def found_bare(self, text: pl.Series) -> pl.Series:
        """Per value, whether it is wholly this kind's bare form."""
        if self.bare is None:
            return pl.Series(text.name, [False] * text.len())
        matching = text.str.contains(self.bare).fill_null(False)
        if self.bare_valid is None or not matching.any():
            return matching
        checked = text.filter(matching).map_elements(self.bare_valid, return_dtype=pl.Boolean)
        return matching.scatter(matching.arg_true(), checked)


#: Each pattern's bounds as Rust's regex (polars) writes them, and as lookarounds that take no character
#: (Python's re, to replace a match and nothing round it).
LOOKAROUNDS = {BEFORE: "(?<![0-9])", AFTER: "(?![0-9])", "(?:^|[^A-Za-z0-9])": "(?<![A-Za-z0-9])",
               "(?:^|[^0-9.])": "(?<![0-9.])", "(?:$|[^0-9.])": "(?![0-9.])", r"(?:$|[\s,(]|번지)": r"(?=$|[\s,(]|번지)",
               "(?:^|[^가-힣])": "(?<![가-힣])"}


@functools.cache
def in_python(pattern: str) -> re.Pattern:
    """`pattern` for Python's re, its bounds as lookarounds."""
    for bound, lookaround in LOOKAROUNDS.items():
        pattern = pattern.replace(bound, lookaround)
    return re.compile(pattern)


def digits(match: str) -> str:
    return "".join(ch for ch in match if ch.isdigit())


def core(match: str) -> str:
    """A match without the characters round it that bound it (a space, a bracket, a word)."""
    found = re.search(r"[0-9*xX#](?:[0-9*xX#. -]*[0-9*xX#])?", match)
    return found.group() if found else ""


def luhn(match: str) -> bool:
    """A card number's check digit (Luhn); a masked number cannot be checked, and is one all the same."""
    number = core(match)
    if any(ch in "*xX#" for ch in number):
        return sum(ch.isdigit() for ch in number) >= 4 and number[-1].isdigit()
    total = 0
    for i, ch in enumerate(reversed(digits(number))):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def resident_number(match: str) -> bool:
    """Thirteen digits written without a separator are a resident number unless they are a product's
    barcode (GS1's check digit right, the resident number's wrong); with a separator or masked, always."""
    written = core(match)
    number = digits(written)
    if len(number) != 13 or any(ch in "-. *xX#" for ch in written):
        return True
    return rrn.is_valid(number) or not ean.is_valid(number)


def business_number(match: str) -> bool:
    number = digits(match)
    return len(number) < 10 or brn.is_valid(number)  # masked: not checkable


def ip_address(match: str) -> bool:
    """Whether the match holds an IP address (a time, 12:30:45, is none)."""
    for candidate in re.findall(r"[0-9A-Fa-f:.]+", match) + re.findall(r"[0-9.]+", match):
        try:
            ipaddress.ip_address(candidate)
        except ValueError:
            continue
        return True
    return False


KINDS = (
    Kind("e-mail addresses", r"[A-Za-z0-9._%+*\-가-힣]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
    Kind("resident registration numbers",
         rf"{BEFORE}(?:{DATE6}\s?{SEP}\s?{D}{M}{{6}}|{DATE6}\s?-\s?{M}{{7}}){AFTER}", valid=resident_number,
         # born 2000-2009 with the leading zero lost: twelve digits
         bare=rf"^[1-9](?:0[1-9]|1[0-2])(?:0[1-9]|[12]{D}|3[01])[1-4]{D}{{6}}$"),
    Kind("phone numbers",
         rf"{BEFORE}(?:\+\s?82{SEP}\(?0?\)?{SEP}|\(?0)(?:1[016789]|2|[3-6][1-5]|70|50{D}?|80)\)?{SEP}\s?"
         rf"{M}{{3,4}}{SEP}{M}{{4}}{AFTER}"
         rf"|{BEFORE}\+[1-9]{D}{{0,2}}{SEP}{D}{{2,4}}{SEP}{D}{{3,4}}{SEP}{D}{{3,4}}{AFTER}",
         bare=rf"^1[016789]{D}{{7,8}}$"),  # a mobile number whose leading zero a spreadsheet dropped
    Kind("card numbers", rf"{BEFORE}{D}(?:[- ]?{M}){{12,18}}{AFTER}", valid=luhn),
    Kind("business registration numbers", rf"{BEFORE}{D}{{3}}-{D}{{2}}-{M}{{5}}{AFTER}", valid=business_number,
         bare=rf"^{D}{{10}}$", bare_valid=brn.is_valid),
    Kind("passport numbers", r"(?:^|[^A-Za-z0-9])(?:[MSRODmsrod][0-9]{8}|[MSROD][0-9]{3}[A-Z][0-9]{4})(?:$|[^0-9])"),
    Kind("driver's licence numbers",
         rf"{BEFORE}(?:(?:{REGIONS})\s?{D}{{2}}{SEP}{M}{{6}}{SEP}{M}{{2}}|(?:1[1-9]|2[0-8])[- ]{D}{{2}}[- ]{M}{{6}}[- ]"
         rf"{M}{{2}}){AFTER}"),
    Kind("vehicle plates", rf"{BEFORE}(?:(?:{REGIONS})\s?)?{D}{{2,3}}\s?[{PLATE_LETTERS}]\s?{D}{{4}}{AFTER}"),
    Kind("IP addresses",
         r"(?:^|[^0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|"
         r"[1-9]?[0-9])(?:$|[^0-9.])"
         r"|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|[0-9A-Fa-f:]*::[0-9A-Fa-f:]*[0-9A-Fa-f]", valid=ip_address),
    Kind("street addresses",
         r"[가-힣][가-힣0-9]*(?:로|길)\s?[0-9]+(?:-[0-9]+)?(?:번길\s?[0-9]+(?:-[0-9]+)?)?(?:$|[\s,(]|번지)"
         r"|[가-힣][가-힣]*[0-9]*(?:동|리|가)\s?[0-9]+(?:-[0-9]+)?(?:$|[\s,(]|번지)"
         r"|[0-9]+동\s?[0-9]+호"),
)
BY_NAME = {kind.name: kind for kind in KINDS}
