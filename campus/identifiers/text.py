"""Values put in one form before they are judged, so that a spelling hides nothing.

Unicode NFKC (full-width digits and letters, compatibility forms), mask symbols as ``*``
(a masked identifier is still an identifier), "at"/"dot" spellings of an e-mail address
as ``@`` and ``.``; honorifics and titles after a name, and what brackets hold, set apart.

>>> import polars as pl
>>> normalised(pl.Series(["０１０－１２３４－５６７８", "x [at] naver [dot] com", "김●준", "x @ naver.com"])).to_list()
['010-1234-5678', 'x@naver.com', '김*준', 'x@naver.com']
>>> bare_names(pl.Series(["김민준 님", "김민준씨", "이서연 고객님", "홍길동(본인)", "KIM MIN-JUN"])).to_list()
['김민준', '김민준', '이서연', '홍길동', 'KIM MIN-JUN']
"""

from __future__ import annotations

import polars as pl

DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"  # hyphens, en and em dashes, minus: all "-"
MASKS = "●○■□◆◇◎※●⚫"  # after NFKC; ＊ and ✱ become * or stay as symbols people mask with
#: Titles and honorifics written after a person's name (김민준 님, 김민준씨, 김민준 고객님).
HONORIFICS = ("고객님", "회원님", "선생님", "사장님", "대표님", "원장님", "교수님", "과장님", "부장님", "팀장님",
              "님", "씨", "고객", "회원", "선생", "사장", "대표", "원장", "교수", "과장", "부장", "차장", "대리",
              "팀장", "주임", "여사", "귀하", "보호자", "본인", "앞")
HONORIFIC = "(?:" + "|".join(HONORIFICS) + ")"
#: Words that say a name follows (수령인: 김민준).
NAME_LABELS = ("고객명", "성명", "이름", "수령인", "주문자", "예금주", "담당자", "신청인", "보호자", "받는분",
               "보내는분", "name")
AT = r"\s*(?:\[\s*at\s*\]|\(\s*at\s*\)|\{\s*at\s*\}|<\s*at\s*>|\s+at\s+|골뱅이|@)\s*"
DOT = r"\s*(?:\[\s*dot\s*\]|\(\s*dot\s*\)|\{\s*dot\s*\}|<\s*dot\s*>|\s+dot\s+|\s+\.\s*|\.\s+)\s*"


def normalised(text: pl.Series) -> pl.Series:
    """`text` in NFKC, masks as ``*``, e-mail spellings (at, dot, spaces round @) closed up."""
    text = only_where(text.str.contains(r"[^\x00-\x7F]"), text,  # ASCII is its own NFKC
                      lambda some: some.str.normalize("NFKC").str.replace_all(f"[{MASKS}]", "*")
                      .str.replace_all(f"[{DASHES}]", "-"))
    return only_where(text.str.contains(r"(?i)@|at|골뱅이"), text, _closed_up)


def _closed_up(text: pl.Series) -> pl.Series:
    at = text.str.replace_all(f"(?i){AT}", "@")
    # a dot spelled out counts only in what now holds an @ (x at naver dot com)
    return only_where(at.str.contains("@"), at, lambda some: some.str.replace_all(f"(?i){DOT}", "."))


def only_where(where: pl.Series, values: pl.Series, change) -> pl.Series:
    """`values` with `change` made to those `where` says (computed for them alone)."""
    where = where.fill_null(False)
    if not where.any():
        return values
    return values.scatter(where.arg_true(), change(values.filter(where)))


BRACKETS = r"\([^)]*\)|\[[^\]]*\]|<[^>]*>|\{[^}]*\}|「[^」]*」|『[^』]*』|《[^》]*》|〈[^〉]*〉|【[^】]*】|\"[^\"]*\"|'[^']*'"


def bare_names(text: pl.Series, unwrapped: bool = False) -> pl.Series:
    """What is left of a value written as a person is addressed: without what brackets hold (or, `unwrapped`,
    without the brackets alone: <김민준>), a trailing honorific or title, or a label before it (수령인: 김민준)."""
    label = "(?i)^(?:" + "|".join(NAME_LABELS) + r")\s*[:：]?\s*|(?i)^(?:mr|mrs|ms|miss|dr)\.?\s+"
    inside = text.str.replace_all(r"[()\[\]<>{}「」『』《》〈〉【】\"']", " ") if unwrapped else text.str.replace_all(BRACKETS, " ")
    return (inside.str.replace(label, "")
            .str.replace(rf"\s*{HONORIFIC}\s*[.,!]?\s*$", "")
            .str.strip_chars(" \t,.;:-/"))
