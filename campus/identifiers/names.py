"""Personal names, as Korean files write them: in Hangul, Hanja or romanised, masked, with a
title, or in a note with an honorific.

A Hangul name is a surname (one syllable, or two: 남궁, 황보) and a given name whose
syllables are ones given names are made of; a word of ordinary Korean seldom is both
(배달, 주차장, 편의점 are not). A value ending like a place (역삼동, 강남구, 테헤란로) is
a place in a column most of whose values are places, and a name elsewhere (홍길동, 김유리).

>>> import polars as pl
>>> names(pl.Series(["김민준", "남궁민수", "홍길동", "金民俊", "김*준", "MINJUN KIM", "KIM MIN-JUN", "배달", "주차장"])).to_list()
[True, True, True, True, True, True, True, False, False]
>>> names(pl.Series(["역삼동", "성수동", "신사동", "홍길동"])).to_list()  # a column of places
[False, False, False, False]
>>> names(pl.Series(["김민준 고객 요청: 배송지 변경", "이서연님 전화 요망", "배송 메모 없음"])).to_list()
[True, True, False]
"""

from __future__ import annotations

import re

import polars as pl

from .kinds import in_python
from .places import KNOWN_PLACES
from .text import HONORIFIC, HONORIFICS, NAME_LABELS, bare_names

#: Korean surnames: the common ones (nine people in ten), then rarer ones.
SURNAMES = ("김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진지엄채원천방공현함변염"
            "여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부가복태목형피두감음빈동온호범좌팽승간상갈"
            "시단견당화창")
TWO_SYLLABLE_SURNAMES = ("남궁", "황보", "제갈", "선우", "독고", "사공", "서문", "동방", "어금", "망절", "장곡")
#: Syllables given names begin and end with (the commonest, modern and older), leaving out those far more
#: common in ordinary words than in names (소 of 주유소, 계 of 신세계, 의 of 한의원, 산 of 부동산).
FIRST_GIVEN = frozenset("가강건경계광교국규근금기길나남다단담덕도동두명무문미민범병보복봉분빈상서석선성세소솔수순승시신아애양여연영예옥완용우욱운원유윤율은이익인일자재정제종주준중지진차찬창채천철청춘충태택평필하한해향현형혜호홍화환효훈휘희")
LAST_GIVEN = frozenset("강건결경구국규근기길남녀님단덕동라란람래련렬령례로록룡률리린림명문미민범별봉빈석선섭성솔수숙순슬식아애연열엽영옥온완용우욱운웅원윤율은이익인일임자재정주준중지진찬창채천철춘태택하한향헌혁현협형혜호홍화환효후훈휘흠희")
#: Last syllables of places; in a column mostly of places, a value ending so is one.
PLACE_END = "동구시군읍면리로길가역"
KNOWN_SHARE = 0.25  # of a column's values ending like places, the share known by name that makes them places
#: Last syllables of shops, food and things, never of a name.
NOT_A_NAME_END = "점역밥탕집관읍면층실국"
HANJA_SURNAMES = "金李朴崔鄭姜趙尹張林韓吳徐申權黃安宋柳全洪高文梁孫裵白許劉南沈盧河郭成車朱禹具閔陳池嚴蔡元千方孔玄咸卞廉呂秋都蘇石宣薛馬吉延魏表明奇潘王琴玉陸印孟諸牟卓國魚殷片龍"
ROMAN_SURNAMES = ("Kim|Gim|Lee|Yi|Rhee|Park|Bak|Pak|Choi|Choe|Jung|Jeong|Chung|Kang|Cho|Jo|Yoon|Yun|Jang|Chang|Lim|Im|"
                  "Han|Oh|Seo|Suh|Shin|Sin|Kwon|Gwon|Hwang|Ahn|An|Song|Yoo|Yu|Ryu|Jeon|Jun|Hong|Ko|Go|Moon|Mun|"
                  "Yang|Son|Bae|Baek|Paik|Heo|Hur|Nam|Sim|Shim|Noh|Roh|Ha|Kwak|Sung|Seong|Cha|Joo|Ju|Woo|Koo|Min|"
                  "Jin|Ji|Eom|Um|Chae|Won|Cheon|Bang|Gong|Hyun|Ham|Byun|Yeom|Yeo|Choo|Do|So|Seok|Sun|Seol|Ma|Gil|"
                  "Yeon|Wi|Pyo|Myung|Ki|Ban|Wang|Geum|Ok|Yook|In|Maeng|Je|Mo|Tak|Kook|Eo|Eun|Pyun|Yong|Namgung|"
                  "Hwangbo|Jegal|Seonwoo|Sunwoo|Dokgo|Sagong")
#: One romanised Korean syllable: an initial, a vowel, a final.
ROMAN_SYLLABLE = (r"(?:kk|tt|pp|ss|jj|ch|[gkndtrlmbpsjhwy])?(?:h)?(?:yae|yeo|wae|ae|ya|eo|ye|wa|oe|yo|wo|we|wi|yu|eu|ui|"
                  r"oo|ee|ei|ou|a|e|i|o|u)(?:ng|n|m|k|l|p|t|r)?")
ROMAN_GIVEN = rf"{ROMAN_SYLLABLE}(?:[- ]?{ROMAN_SYLLABLE})"
ROMAN_NAME = rf"(?i)^(?:(?:{ROMAN_SURNAMES}),? {ROMAN_GIVEN}|{ROMAN_GIVEN} (?:{ROMAN_SURNAMES}))$"

#: Words for the parts people play (주문자, 예금주, 수령인), written where a name might be.
ROLES = (*NAME_LABELS, *HONORIFICS, "주문자", "수령인", "수취인", "예금주", "구매자", "판매자", "대표자", "보증인", "소유자",
         "임차인", "임대인", "가입자", "사용자", "이용자", "운전자", "배달원", "관리자", "작성자")

_S = f"[{SURNAMES}]"
_F, _L = ("[" + "".join(sorted(syllables)) + "]" for syllables in (FIRST_GIVEN, LAST_GIVEN))
_TWO = "(?:" + "|".join(TWO_SYLLABLE_SURNAMES) + ")"
_GIVEN = f"(?:{_F}{_L}|{_L})"
HANGUL_NAME = rf"^(?:{_S}\s?{_F}{_L}|{_TWO}\s?{_GIVEN})$"  # 김민준, 김 민준
MASKED_NAME = rf"^(?:{_S}|{_TWO})(?:\*[가-힣*]?|[가-힣]\*)$"
HANJA_NAME = rf"^[{HANJA_SURNAMES}][\u4e00-\u9fff]{{1,2}}$"
#: A name in a note: before an honorific (김민준 고객), or after a label (수령인: 김민준).
#: What Korean writes straight after a name (김민준입니다, 김민준에게, 김민준의).
PARTICLES = ("입니다", "이에요", "예요", "에게", "께서", "께", "한테", "의", "은", "는", "을", "를", "과", "와", "도")
#: A name among other words, set apart by spaces or punctuation, or followed by a particle.
NAME_AMONG_WORDS = rf"(?:^|[^가-힣*])(?:{_S}{_F}{_L}|{_TWO}{_GIVEN})(?:{'|'.join(PARTICLES)})?(?:$|[^가-힣])"
NAME_IN_TEXT = (rf"(?:^|[^가-힣])(?:{_S}{_F}{_L}|{_TWO}{_GIVEN}|{_S}\*[가-힣*])\s?{HONORIFIC}"
                rf"|(?i:{'|'.join(NAME_LABELS)})\s*[:：]\s*(?:{_S}[가-힣*]{{1,2}}|[A-Z][a-z]+ [A-Z][a-z]+)")


def names(values: pl.Series) -> pl.Series:
    """Per value, whether it is (or a note holds) a personal name."""
    return found_names(values).list.len() > 0


def found_names(values: pl.Series) -> pl.Series:
    """Per value, the personal names it is or holds (none in a value without a letter: a time, an amount)."""
    frame = pl.DataFrame({"value": values}).with_row_index("at")
    lettered = frame.filter(pl.col("value").str.contains("[가-힣\u4e00-\u9fffA-Za-z]"))
    named = lettered.select("at", _names_in(lettered["value"]).alias("names"))
    none = pl.lit([], dtype=pl.List(pl.String))
    return frame.join(named, on="at", how="left", maintain_order="left").select(pl.col("names").fill_null(none))["names"].alias(values.name)


def _names_in(values: pl.Series) -> pl.Series:
    """Per value, the personal names it is or holds: itself without title or brackets (김민준 님, <김민준>),
    or those among its words; a note's names only where a title or a label marks them, or where they
    stand apart as words (counted by how many differ: a word like 배송지 recurs, names vary)."""
    text = values.str.strip_chars()
    whole = [bare for bare in (bare_names(text), bare_names(text, unwrapped=True))]
    itself = pl.select(pl.when(_whole_names(whole[0])).then(whole[0])
                       .when(_whole_names(whole[1])).then(whole[1])).to_series()
    marked = text.str.extract(f"({NAME_IN_TEXT})")
    among = text.str.extract_all(NAME_AMONG_WORDS).list.eval(
        pl.element().str.replace_all(r"^[^가-힣]|[^가-힣]$", "").str.replace(f"(?:{'|'.join(PARTICLES)})$", ""))
    return pl.select(
        pl.when(itself.is_not_null()).then(pl.concat_list(itself))
        .when(marked.is_not_null()).then(pl.concat_list(marked))
        .when(text.str.contains("[^가-힣]"))  # among other words, not a word alone (a place, in a column of them)
        .then(among.list.filter(~pl.element().is_in(KNOWN_PLACES) & ~pl.element().is_in(ROLES)))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        .alias(values.name)).to_series()


def _whole_names(bare: pl.Series) -> pl.Series:
    hangul = bare.str.contains(HANGUL_NAME) & ~bare.str.contains(f"[{NOT_A_NAME_END}]$")
    hangul &= ~bare.is_in(KNOWN_PLACES) & ~bare.is_in(ROLES)
    if _places(bare):
        hangul &= ~bare.str.contains(f"[{PLACE_END}]$")
    return (hangul | bare.str.contains(MASKED_NAME) | bare.str.contains(HANJA_NAME)
            | bare.str.contains(ROMAN_NAME)).fill_null(False)


def hangul_names(values: pl.Series) -> pl.Series:
    """Per value, whether it is a name in Hangul and nothing more (no title, no mask): the form ordinary
    words take most often by chance (상호명, 소재지)."""
    return values.str.strip_chars().str.contains(HANGUL_NAME).fill_null(False)


def redacted_names(text: str) -> str:
    """`text` with each name a note gives (김민준 고객, 수령인: 김민준) replaced by a mark."""
    return in_python(NAME_IN_TEXT).sub("⟨personal names⟩", text)


def _places(bare: pl.Series) -> bool:
    """Whether a column's values are places: most end like one (역삼동, 강남구, 테헤란로), and of those a
    good share are places known by name (a column of people has a 신길동 by chance, not a quarter of them)."""
    present = bare.drop_nulls().unique()
    ending = present.filter(present.str.contains(f"[{PLACE_END}]$"))
    return 2 * ending.len() >= present.len() > 0 and KNOWN_SHARE * ending.len() <= ending.is_in(KNOWN_PLACES).sum()
