"""The kinds of value that identify a person, found anywhere in a value (a phone number in a
note, an e-mail address behind a display name), masked or not, each checked by its own
validator where one exists.

A kind is a pattern over normalised text (`campus.identifiers.text`) and, where the
pattern alone would take other numbers too, a check of each match: Luhn's digit for card
numbers, the National Tax Service's for business registration numbers, GS1's (python-stdnum) for
barcodes, which are no resident numbers, the address itself for IPv6.
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

D = "[0-9]"
M = "[0-9*xX#]"  # a digit, or a digit masked
SEP = r"[-. ]?"
BEFORE, AFTER = r"(?:^|[^0-9])", r"(?:$|[^0-9])"
ADDRESS_END = r"(?:$|\s|,\s|,$|\(|번지)"  # a building's number ends: not 11,500 (원)
APART = r"(?:^|[^0-9*xX#-])"  # before a pattern that may begin with a mask: not inside a longer one
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
    all_valid: Callable[[pl.Series], pl.Series] | None = None  # `valid` over many matches at once
    bare_in_numbers: bool = True  # whether whole numbers (not text) may be of the bare form: a lost zero
    chance: float | None = None  # how often a number of the kind's shape passes `valid` by chance

    def shaped(self, text: pl.Series) -> pl.Series:
        """Per value, whether it holds something of this kind's shape, valid or not."""
        return text.str.contains(self.pattern).fill_null(False)

    def found(self, text: pl.Series) -> pl.Series:
        """Per value (normalised text), whether it holds one of this kind."""
        matching = text.str.contains(self.pattern).fill_null(False)
        if self.valid is None or not matching.any():
            return matching
        candidates = pl.DataFrame({"value": text.filter(matching).str.extract_all(self.pattern)})
        each = candidates.with_row_index("at").explode("value")
        checked = (self.all_valid(each["value"]) if self.all_valid else
                   each["value"].map_elements(self.valid, return_dtype=pl.Boolean))
        held = each.with_columns(checked.alias("valid")).group_by("at", maintain_order=True).agg(pl.col("valid").any())
        return matching.scatter(matching.arg_true(), held["valid"])

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
LOOKAROUNDS = {BEFORE: "(?<![0-9])", AFTER: "(?![0-9])", APART: "(?<![0-9*xX#-])", "(?:^|[^A-Za-z0-9])": "(?<![A-Za-z0-9])",
               "(?:^|[^0-9.])": "(?<![0-9.])", "(?:$|[^0-9.])": "(?![0-9.])", ADDRESS_END: r"(?=$|\s|,\s|,$|\(|번지)",
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
        return sum(ch.isdigit() for ch in number) >= 4
    total = 0
    for i, ch in enumerate(reversed(digits(number))):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def luhns(matches: pl.Series) -> pl.Series:
    """`luhn` of each match, at once.

    >>> luhns(pl.Series([" 4111 1111 1111 1111", "4111 1111 1111 1112", "1234-****-****-5678 "])).to_list()
    [True, False, True]
    """
    number = matches.str.replace_all(r"^[^0-9*xX#]+|[^0-9*xX#]+$", "")
    masked = number.str.contains("[*xX#]")
    digits = number.str.replace_all(r"[^0-9]", "")
    figures = digits.str.reverse().str.split("").list.eval(pl.element().cast(pl.Int32))
    doubled = pl.element() * 2 - pl.when(pl.element() > 4).then(9).otherwise(0)
    weighted = figures.list.eval(pl.when(pl.int_range(pl.len()) % 2 == 1).then(doubled).otherwise(pl.element()))
    checked = weighted.list.sum() % 10 == 0
    masked_card = digits.str.len_chars() >= 4
    return pl.select(pl.when(masked).then(masked_card).otherwise(checked)).to_series().alias(matches.name)


def resident_number(match: str) -> bool:
    """Thirteen digits written without a separator are a resident number unless they are a product's
    barcode (GS1's check digit right: a column of resident numbers has nine in ten that are not); with a
    separator or masked, always."""
    written = core(match)
    number = digits(written)
    if len(number) != 13 or any(ch in "-. *xX#" for ch in written):
        return True
    return not ean.is_valid(number)


def business_number(match: str) -> bool:
    """A business registration number's check digit (as the National Tax Service computes it, and
    Presidio's recognizer checks it); a masked one cannot be checked, and is one all the same."""
    number = digits(match)
    if len(number) < 10:
        return True
    weighted = sum(int(d) * w for d, w in zip(number, (1, 3, 7, 1, 3, 7, 1, 3, 5)))
    return (10 - (weighted + int(number[8]) * 5 // 10) % 10) % 10 == int(number[9])


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
         rf"{BEFORE}(?:{DATE6}\s?{SEP}\s?{D}{M}{{6}}|{DATE6}\s?-\s?{M}{{7}}){AFTER}"
         rf"|{APART}{M}{{6}}\s?-\s?{M}{{7}}{AFTER}", valid=resident_number,  # masked past its date: six and seven
         # born 2000-2009 with the leading zero lost: twelve digits
         bare=rf"^[1-9](?:0[1-9]|1[0-2])(?:0[1-9]|[12]{D}|3[01])[1-4]{D}{{6}}$"),
    Kind("phone numbers",
         rf"{BEFORE}(?:\+?\s?82{SEP}\(?0?\)?{SEP}|\(?0)(?:1[016789]|2|[3-6][1-5]|70|50{D}?|80)\)?{SEP}\s?"
         rf"{M}{{3,4}}{SEP}{M}{{4}}{AFTER}"
         rf"|{BEFORE}\+[1-9]{D}{{0,2}}{SEP}{D}{{2,4}}{SEP}{D}{{3,4}}{SEP}{D}{{3,4}}{AFTER}"
         rf"|{APART}[0*xX#]{M}{{1,2}}-{M}{{3,4}}-{M}{{4}}{AFTER}",  # its area code masked too: dashes say it
         bare=rf"^10{D}{{8}}$"),  # a mobile number (010) whose leading zero a spreadsheet dropped
    Kind("card numbers", rf"{BEFORE}{D}(?:[- ]?{M}){{12,18}}{AFTER}", valid=luhn, all_valid=luhns, chance=0.1),
    Kind("business registration numbers", rf"{BEFORE}{D}{{3}}-{D}{{2}}-{M}{{5}}{AFTER}",  # dashed: whatever its digit
         bare=rf"^[1-9]{D}{{9}}$", bare_valid=business_number, bare_in_numbers=False),
    Kind("passport numbers",  # not a running number padded with zeros (M00000277 is a merchant's code)
         r"(?:^|[^A-Za-z0-9])(?:[MSRODmsrod](?:[1-9][0-9]{7}|0[1-9][0-9]{6}|00[1-9][0-9]{5})|[MSROD][0-9]{3}[A-Z][0-9]{4})"
         r"(?:$|[^0-9])"),
    Kind("driver's licence numbers",
         rf"{BEFORE}(?:(?:{REGIONS})\s?{D}{{2}}{SEP}{M}{{6}}{SEP}{M}{{2}}|(?:1[1-9]|2[0-8])[- ]{D}{{2}}[- ]{M}{{6}}[- ]"
         rf"{M}{{2}}){AFTER}"),
    Kind("vehicle plates", rf"{BEFORE}(?:(?:{REGIONS})\s?)?{D}{{2,3}}\s?[{PLATE_LETTERS}]\s?{D}{{4}}{AFTER}"),
    Kind("IP addresses",
         r"(?:^|[^0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|"
         r"[1-9]?[0-9])(?:$|[^0-9.])"
         r"|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|[0-9A-Fa-f:]*::[0-9A-Fa-f:]*[0-9A-Fa-f]", valid=ip_address),
    Kind("street addresses",
         rf"[가-힣][가-힣0-9]*(?:로|길)\s?[1-9][0-9]*(?:-[0-9]+)?(?:번길\s?[1-9][0-9]*(?:-[0-9]+)?)?{ADDRESS_END}"
         rf"|[가-힣][가-힣]*[0-9]*(?:동|리|가)\s?[1-9][0-9]*(?:-[0-9]+)?{ADDRESS_END}"
         r"|[1-9][0-9]*동\s?[1-9][0-9]*호"
         r"|(?i:[a-z]+-(?:ro|gil|daero)(?:\s?[0-9]+(?:beon)?-?gil)?,?\s?[1-9][0-9]*)"  # Teheran-ro 123
         r"|(?i:[1-9][0-9]*(?:-[0-9]+)?,?\s[a-z]+-(?:ro|gil|daero))"),  # 123 Teheran-ro
)
BY_NAME = {kind.name: kind for kind in KINDS}
