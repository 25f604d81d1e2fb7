"""Values that identify a person wherever they appear: one list, for what enters the campus
(a steward's file, `campus.ingest`) and for what leaves it (the airlock's file checks).

A finding names a column, what its values look like and how many do; never a value.

>>> import polars as pl
>>> found = identifying(pl.Series(["a@b.kr", "010-1234-5678", "4111 1111 1111 1111", "Seoul"]))
>>> [(f.what, f.count) for f in found]
[('e-mail addresses', 1), ('phone numbers', 1), ('card numbers', 1)]
>>> person_names(pl.Series(["김민준", "이서연", "역삼동", "김밥천국", "Mapo-gu"]))
2
>>> named_like_a_person("customer_name"), named_like_a_person("성명"), named_like_a_person("store_name")
(True, True, False)
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

#: Full-value patterns; a card number must also pass Luhn's check digit.
KINDS = (
    ("e-mail addresses", r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"),
    ("resident registration numbers", r"^\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])-?[1-8]\d{6}$"),
    ("phone numbers", r"^(\+82[-. ]?|0)(1[016789]|2|[3-6][1-5]|70)[-. )]?\d{3,4}[-. ]?\d{4}$"
                      r"|^\+[1-9]\d{0,2}[-. ]?\d{2,4}[-. ]?\d{3,4}[-. ]?\d{3,4}$"),
    ("card numbers", r"^(\d[- ]?){12,18}\d$"),
)
CARD = "card numbers"

#: The commonest Korean surnames (about nine people in ten), as a name's first syllable.
SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용"
#: Last syllables that make a place, a shop or a thing, not a person: 역삼동, 강남구, 김밥.
NOT_A_NAME_END = "동구시군읍면리로길역점밥탕"
PERSON_NAME = rf"^[{SURNAMES}][가-힣]{{1,2}}$"
#: The same surnames romanised, as passports and card companies write them.
ROMAN_SURNAMES = ("Kim|Gim|Lee|Yi|Rhee|Park|Bak|Pak|Choi|Choe|Jung|Jeong|Chung|Kang|Cho|Jo|Yoon|Yun|Jang|Chang|Lim|Im|"
                  "Han|Oh|Seo|Suh|Shin|Sin|Kwon|Gwon|Hwang|Ahn|An|Song|Yoo|Yu|Ryu|Jeon|Jun|Hong|Ko|Go|Moon|Mun|"
                  "Yang|Son|Bae|Baek|Paik|Heo|Hur|Nam|Sim|Shim|Noh|Roh|Ha|Kwak|Sung|Seong|Cha|Joo|Ju|Woo|Koo|Min|"
                  "Jin|Ji|Eom|Um|Chae|Won|Cheon|Bang|Gong|Hyun|Ham|Byun|Yeom|Yeo|Choo|Do|So|Seok|Sun|Seol|Ma|Gil|"
                  "Yeon|Wi|Pyo|Myung|Ki|Ban|Wang|Geum|Ok|Yook|In|Maeng|Je|Mo|Tak|Kook|Eo|Eun|Pyun|Yong")
ROMAN_GIVEN = r"[A-Z][a-z]+(?:[- ]?[A-Za-z][a-z]+)?"
ROMAN_NAME = rf"^(?:(?:{ROMAN_SURNAMES}),? {ROMAN_GIVEN}|{ROMAN_GIVEN} (?:{ROMAN_SURNAMES}))$"
#: Column names that hold people's names.
PERSON_NAME_WORDS = frozenset({
    "name", "names", "fullname", "firstname", "lastname", "surname", "givenname", "customername", "holdername",
    "cardholdername", "ownername", "patientname", "username", "membername", "성명", "이름", "고객명", "성함",
    "예금주", "대표자명", "소유자명", "환자명", "회원명"})
NOT_PERSON_NAME_WORDS = ("store", "shop", "merchant", "company", "firm", "business", "brand", "area", "station",
                         "district", "place", "street", "building", "product", "item", "file", "상호", "점포", "가맹점")


@dataclass(frozen=True)
class Finding:
    """How many of a column's values look like one kind of identifier."""

    what: str
    count: int


def identifying(values: pl.Series, times: pl.Series | None = None) -> list[Finding]:
    """The kinds of identifying values among `values` (text, or whole numbers as digits), with counts;
    each value counted `times` over if given (a column's distinct values and how often each occurs)."""
    text = _as_text(values)
    if text is None or text.len() == 0:
        return []
    found = []
    for what, pattern in KINDS:
        matching = text.str.contains(pattern).fill_null(False)
        if what == CARD and matching.any():
            matching = matching.scatter(matching.arg_true(), luhn(text.filter(matching)))
        count = _count(matching, times)
        if count:
            found.append(Finding(what, count))
    return found


def person_names(values: pl.Series, times: pl.Series | None = None) -> int:
    """How many values are shaped like a Korean personal name: a common surname, then one or two
    syllables, not ending like a place or a shop; or romanised, the surname first or last (Kim Min-jun,
    Minjun Kim). Each counted `times` over, if given.

    >>> person_names(pl.Series(["Kim Min-jun", "Lee, Seoyeon", "Minjun Park", "Jung-gu", "Department stores"]))
    3
    """
    text = _as_text(values)
    if text is None or text.dtype != pl.String:
        return 0
    hangul = text.str.contains(PERSON_NAME) & ~text.str.contains(rf"[{NOT_A_NAME_END}]$")
    return _count((hangul | text.str.contains(ROMAN_NAME)).fill_null(False), times)


def _count(matching: pl.Series, times: pl.Series | None) -> int:
    return int(matching.sum() if times is None else times.filter(matching).sum())


def named_like_a_person(column: str) -> bool:
    """Whether a column's name says it holds people's names (name, customer_name, 성명)."""
    squashed = re.sub(r"[\s_\-.]+", "", column.lower())
    if any(word in squashed for word in NOT_PERSON_NAME_WORDS):
        return False
    return squashed in PERSON_NAME_WORDS or squashed.endswith(("fullname", "holdername", "customername", "성명"))


def luhn(numbers: pl.Series) -> pl.Series:
    """Per value, whether its digits pass the card numbers' check digit (Luhn).

    >>> luhn(pl.Series(["4111 1111 1111 1111", "4111 1111 1111 1112"])).to_list()
    [True, False]
    """
    digits = numbers.str.replace_all(r"\D", "").str.reverse().str.split("").list.eval(pl.element().cast(pl.Int32))
    doubled = pl.element() * 2 - pl.when(pl.element() > 4).then(9).otherwise(0)
    weighted = digits.list.eval(pl.when(pl.int_range(pl.len()) % 2 == 1).then(doubled).otherwise(pl.element()))
    return (weighted.list.sum() % 10 == 0).alias(numbers.name)


def _as_text(values: pl.Series) -> pl.Series | None:
    """The values to match (nulls never match): text stripped, whole numbers as their digits; None for others."""
    if values.dtype == pl.String:
        return values.str.strip_chars()
    if values.dtype.is_integer():
        return values.cast(pl.String)
    return None


@dataclass
class Findings:
    """Values that identify people, by column: counts only."""

    kinds: dict[str, Counter] = field(default_factory=dict)  # column -> what -> count
    names: Counter = field(default_factory=Counter)  # column -> values shaped like personal names
    present: Counter = field(default_factory=Counter)  # column -> values present

    def add(self, column: str, values: pl.Series, text: bool) -> None:
        """Scan a batch's `values` of `column`: each distinct value once, counted as often as it occurs."""
        self.present[column] += values.len() - values.null_count()
        counts = values.drop_nulls().value_counts(name="times")
        distinct, times = counts[values.name], counts["times"]
        for finding in identifying(distinct, times):
            self.kinds.setdefault(column, Counter())[finding.what] += finding.count
        if text:
            self.names[column] += person_names(distinct, times)

    def merge(self, other: "Findings") -> None:
        for column, kinds in other.kinds.items():
            self.kinds.setdefault(column, Counter()).update(kinds)
        self.names.update(other.names)
        self.present.update(other.present)

    def names_most(self, column: str) -> bool:
        """Whether half the column's values or more are shaped like personal names."""
        return bool(self.names[column]) and 2 * self.names[column] >= self.present[column]

    def said(self, column: str) -> str:
        """What the column's values look like, in counts: '' if nothing."""
        found = [f"{n:,} values look like {what}" for what, n in self.kinds.get(column, {}).items()]
        if self.names[column]:
            found.append(f"{self.names[column]:,} of {self.present[column]:,} values are shaped like personal names")
        return ", ".join(found)

    def problems(self) -> list[str]:
        """The columns that hold values identifying people, and what they hold."""
        return [f"column {column}: {self.said(column)}" for column in sorted({*self.kinds, *self.names})
                if column in self.kinds or self.names_most(column)]
