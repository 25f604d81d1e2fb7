"""Values that identify a person wherever they appear: one list, for what enters the campus
(a steward's file, `campus.ingest`) and for what leaves it (the airlock's file checks).

Values are normalised before they are judged (`text`), searched for each kind of
identifying value anywhere in them (`kinds`) and for personal names (`names`). A column
is personal data when more than a few of its values are of a kind, not only when most
are; and free text (long, varied values with spaces) is personal until a steward
declares what to do with it. A finding names a column, what its values look like and how
many do; never a value.

>>> import polars as pl
>>> found = identifying(pl.Series(["a@b.kr", "010-1234-5678", "4111 1111 1111 1111", "Seoul"]))
>>> [(f.what, f.count) for f in found]
[('e-mail addresses', 1), ('phone numbers', 1), ('card numbers', 1)]
>>> person_names(pl.Series(["김민준", "이서연", "역삼동", "김밥천국", "Mapo-gu"]))
2
>>> personal_headers(["소재지", "gildong.hong@naver.com", "amount"]), personal_headers(["김민준", "이서연"])
([2], [1, 2])
>>> named_like_a_person("customer_name"), named_like_a_person("수령인"), named_like_a_person("store_name")
(True, True, False)
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from .kinds import BY_NAME, KINDS, Kind
from .names import found_names, hangul_names, names, redacted_names
from .text import normalised

#: Column names that hold people's names (squashed: lower case, no spaces, dashes or underscores).
PERSON_NAME_WORDS = frozenset({
    "name", "names", "fullname", "firstname", "lastname", "surname", "givenname", "customername", "holdername",
    "cardholdername", "ownername", "patientname", "username", "membername", "custnm", "customer", "customers",
    "recipient", "receiver", "sender", "buyer", "orderer", "payee", "accountholder", "depositor", "contactname",
    "성명", "이름", "고객명", "고객이름", "성함", "예금주", "예금주명", "대표자명", "대표자", "소유자명", "환자명", "회원명",
    "수령인", "수령인명", "수취인", "받는사람", "받는분", "보내는사람", "주문자", "주문자명", "구매자", "신청인", "신청자",
    "담당자", "담당자명", "보호자", "고객성명", "회원이름", "가입자명", "사용자명", "이용자명", "카드소유자"})
NAMED_AFTER_A_PERSON = ("fullname", "holdername", "customername", "성명", "이름", "고객명", "수령인", "주문자", "예금주")
NOT_PERSON_NAME_WORDS = ("store", "shop", "merchant", "company", "firm", "business", "brand", "area", "station",
                         "district", "place", "street", "building", "product", "item", "file", "상호", "점포", "가맹점",
                         "상품", "제품", "메뉴", "매장", "업체", "업종", "지점", "지역", "건물", "도로", "시설", "파일")
FEW_NAMES = 3  # different names that make a column one of names (every value of a column of fewer)
NAME_SHARE = 0.02  # ... and at least this share of its values: a stray word of ordinary text is no column of names
SENTENCE_WORDS, SENTENCE_LENGTH = 4, 20  # a value of this many words and characters or more is a sentence
FREE_TEXT_SHARE = 0.25  # values that are sentences making a column free text
FREE_TEXT = "free text"


@dataclass(frozen=True)
class Finding:
    """How many of a column's values look like one kind of identifier."""

    what: str
    count: int


def identifying(values: pl.Series, times: pl.Series | None = None) -> list[Finding]:
    """The kinds of identifying values among `values` (text, or whole numbers as digits), found anywhere
    in a value, with counts; each value counted `times` over if given (a column's distinct values and how
    often each occurs)."""
    text = _as_text(values)
    if text is None or text.len() == 0:
        return []
    return [Finding(kind.name, count) for kind in KINDS if (count := _count(kind.found(text), times))]


def bare(values: pl.Series, times: pl.Series | None = None) -> list[Finding]:
    """The kinds whose bare form (digits only, a leading zero lost) `values` have, with counts: such a
    form is the kind's only in a column most of whose values have it."""
    text = _as_text(values)
    if text is None or text.len() == 0:
        return []
    return [Finding(kind.name, count) for kind in KINDS if (count := _count(kind.found_bare(text), times))]


def person_names(values: pl.Series, times: pl.Series | None = None) -> int:
    """How many values are (or hold) personal names (`campus.identifiers.names`); each counted `times`
    over, if given.

    >>> person_names(pl.Series(["Kim Min-jun", "Lee, Seoyeon", "Minjun Park", "Jung-gu", "Department stores"]))
    3
    """
    text = _as_text(values)
    if text is None or text.dtype != pl.String or text.len() == 0:
        return 0
    return _count(names(text), times)


def sentences(values: pl.Series, times: pl.Series | None = None) -> int:
    """How many values are free text: four words or more, and long."""
    text = _as_text(values)
    if text is None or text.dtype != pl.String or text.len() == 0:
        return 0
    return _count(_sentences(text), times)


def _sentences(text: pl.Series) -> pl.Series:
    long = text.str.len_chars() >= SENTENCE_LENGTH
    return long & (text.str.count_matches(r"\s+") >= SENTENCE_WORDS - 1)


def redacted(values: pl.Series) -> pl.Series:
    """Each value with what identifies a person in it replaced by the kind's mark (⟨phone numbers⟩):
    for free text a steward keeps (`redact: true`)."""
    distinct = values.drop_nulls().unique()
    cleaned = {value: _redacted(value) for value in distinct.to_list()}
    return values.replace_strict(cleaned, default=None, return_dtype=pl.String).alias(values.name)


def _redacted(value: str) -> str:
    text = normalised(pl.Series([value]))[0]
    for kind in KINDS:
        text = kind.redacted(text)
    return redacted_names(text)


def _count(matching: pl.Series, times: pl.Series | None) -> int:
    return int(matching.sum() if times is None else times.filter(matching).sum())


def named_like_a_person(column: str) -> bool:
    """Whether a column's name says it holds people's names (name, customer_name, 성명, 수령인).

    >>> [named_like_a_person(c) for c in ("cust_nm", "예금주명", "고객 이름", "store_name", "상품이름", "customer_type")]
    [True, True, True, False, False, False]
    """
    squashed = re.sub(r"[\s_\-.]+", "", column.lower())
    if squashed in PERSON_NAME_WORDS:
        return True
    return squashed.endswith(NAMED_AFTER_A_PERSON) and not any(w in squashed for w in NOT_PERSON_NAME_WORDS)


def personal_headers(headers: list[str]) -> list[int]:
    """The places (from 1) of the headers that are themselves someone's details: an e-mail address, a
    number, a name (gildong.hong@naver.com, 010-1234-5678, Minjun Kim, 김민준 님); a bare Hangul name
    only where two headers or more are (a table pivoted by people), since one is as likely a word (소재지)."""
    series = pl.Series(headers, dtype=pl.String)
    named = names(normalised(series)) & ~pl.Series([named_like_a_person(h) for h in headers], dtype=pl.Boolean)
    plain = hangul_names(series) & named
    strong = named & ~plain
    places = []
    for place, header in enumerate(headers, 1):
        one = pl.Series([header])
        if identifying(one) or bare(one) or strong[place - 1] or (plain[place - 1] and plain.sum() >= 2):
            places.append(place)
    return places


def _as_text(values: pl.Series) -> pl.Series | None:
    """The values to match, normalised (nulls never match); whole numbers as their digits; None for others."""
    if values.dtype == pl.String:
        return normalised(values.str.strip_chars())
    if values.dtype.is_integer():
        return values.cast(pl.String)
    return None


@dataclass
class Findings:
    """Values that identify people, by column: counts only."""

    kinds: dict[str, Counter] = field(default_factory=dict)  # column -> what -> values of it
    bare: dict[str, Counter] = field(default_factory=dict)  # column -> what -> values of its bare form
    shaped: dict[str, Counter] = field(default_factory=dict)  # column -> what -> values of its shape, valid or not
    names: Counter = field(default_factory=Counter)  # column -> values that are (or hold) personal names
    distinct_names: dict[str, set] = field(default_factory=dict)  # column -> the first few names that differ
    distinct: Counter = field(default_factory=Counter)  # column -> values that differ (per batch)
    sentences: Counter = field(default_factory=Counter)  # column -> values that are free text
    present: Counter = field(default_factory=Counter)  # column -> values present

    def add(self, column: str, values: pl.Series, text: bool) -> None:
        """Scan a batch's `values` of `column`: each distinct value once, counted as often as it occurs."""
        self.present[column] += values.len() - values.null_count()
        counts = values.drop_nulls().value_counts(name="times")
        distinct, times = _as_text(counts[values.name]), counts["times"]
        self.distinct[column] += counts.height
        if distinct is None or distinct.len() == 0:
            return
        for kind in KINDS:
            self._count(self.kinds, column, kind.name, _count(kind.found(distinct), times))
            if kind.chance:
                self._count(self.shaped, column, kind.name, _count(kind.shaped(distinct), times))
            if kind.bare and (kind.bare_in_numbers or values.dtype == pl.String):
                self._count(self.bare, column, kind.name, _count(kind.found_bare(distinct), times))
        if text and distinct.dtype == pl.String:
            named = found_names(distinct)
            self.names[column] += _count(named.list.len() > 0, times)
            seen = self.distinct_names.setdefault(column, set())
            for name in named.explode().drop_nulls().unique().head(FEW_NAMES).to_list():
                if len(seen) < FEW_NAMES:
                    seen.add(name)
            self.sentences[column] += _count(_sentences(distinct), times)

    @staticmethod
    def _count(counters: dict[str, Counter], column: str, what: str, n: int) -> None:
        if n:
            counters.setdefault(column, Counter())[what] += n

    def merge(self, other: "Findings") -> None:
        for column, kinds in other.kinds.items():
            self.kinds.setdefault(column, Counter()).update(kinds)
        for counters, theirs in ((self.bare, other.bare), (self.shaped, other.shaped)):
            for column, kinds in theirs.items():
                counters.setdefault(column, Counter()).update(kinds)
        self.names.update(other.names)
        for column, seen in other.distinct_names.items():
            mine = self.distinct_names.setdefault(column, set())
            mine.update(list(seen)[:max(0, FEW_NAMES - len(mine))])
        self.distinct.update(other.distinct)
        self.sentences.update(other.sentences)
        self.present.update(other.present)

    def found(self, column: str) -> dict[str, int]:
        """What of the column identifies people, by kind: any value of a kind found anywhere in it, a bare
        form where most values have it, names where more than a few values are names, free text where
        more than a few values are sentences."""
        present = self.present[column]
        found = {what: n for what, n in self.kinds.get(column, {}).items() if self._beyond_chance(column, what, n)}
        found.update({what: n for what, n in self.bare.get(column, {}).items() if 2 * n >= present})
        if (len(self.distinct_names.get(column, ())) >= min(FEW_NAMES, self.distinct[column])
                and self.names[column] >= NAME_SHARE * present):
            found["personal names"] = self.names[column]
        if self.sentences[column] >= min(FEW_NAMES, present) and self.sentences[column] >= FREE_TEXT_SHARE * present:
            found[FREE_TEXT] = self.sentences[column]
        return {what: n for what, n in found.items() if n}

    def _beyond_chance(self, column: str, what: str, valid: int) -> bool:
        """Whether more of the column's numbers of a kind's shape pass its check digit than chance would have
        pass (three standard deviations over): a tenth of any numbers pass Luhn's, and say nothing."""
        chance = BY_NAME[what].chance
        if not chance:
            return True
        shaped = self.shaped.get(column, Counter())[what]
        return valid + 1e-9 >= chance * shaped + 3 * math.sqrt(chance * (1 - chance) * shaped)

    def said(self, column: str, leave_out: tuple[str, ...] = ()) -> str:
        """What the column's values look like, in counts: '' if nothing."""
        present = self.present[column]
        return ", ".join(f"{n:,} of {present:,} values " + ("are" if what == FREE_TEXT else "look like") + f" {what}"
                         for what, n in self.found(column).items() if what not in leave_out)

    def problems(self, redacted: frozenset[str] = frozenset()) -> list[str]:
        """The columns that hold values identifying people, and what they hold (of a column whose text a
        steward has declared to be `redacted`, all but its being free text)."""
        said = {column: self.said(column, (FREE_TEXT,) if column in redacted else ()) for column in sorted(self.present)}
        return [f"column {column}: {what}" for column, what in said.items() if what]
