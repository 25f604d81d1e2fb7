"""Personal data in the forms real files carry, ordinary columns beside them, and a harness that
loads each through the real loader and says what was stored.

Generated, seeded and deterministic: the same forms and columns every run.

- `FORMS`: per kind of personal data (name, phone, RRN, e-mail, ...), the spellings stewards'
  files carry (`김민준 고객님`, `010-****-5678`, `x at naver dot com`), each a `Form` whose
  `make(rng, person)` writes one cell for a generated `Person`;
- `clean_columns(folder)`: ordinary columns (the demo data's, Korean shop, menu, place and
  brand names, numbers), none of which holds personal data;
- `judged(form, folder)`: a 300-row file (100 people, three rows each) holding the form
  beside `card_no`, `store`, `amount`, `month`, loaded twice through `campus.ingest`:
  (a) as `campus datasets add --accept` does (profile, proposed entry, load) and (b) against
  an entry declaring the column a dimension; the outcome of each, read back from the Parquet.

The harness judges end to end (what reached the Parquet, the proposal, a refusal's text),
never the detection's internals.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import multiprocessing
import random
import re
import tempfile
import unicodedata
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from stdnum import ean

from campus.catalog import Dataset
from campus.errors import ConfigError, LoadRefused
from campus.ingest.load import load
from campus.ingest.profile import catalog_with, profile, proposed_entry
from campus.ingest.source import open_source

SEED = 31
PEOPLE, ROWS_EACH = 100, 3
KEY = bytes(range(32))  # the intake key of the scratch loads

# --- people -----------------------------------------------------------------------------------------

#: (hangul, romanised, hanja)
COMMON_SURNAMES = [("김", "Kim", "金"), ("이", "Lee", "李"), ("박", "Park", "朴"), ("최", "Choi", "崔"),
                   ("정", "Jung", "鄭"), ("강", "Kang", "姜"), ("조", "Cho", "趙"), ("윤", "Yoon", "尹"),
                   ("장", "Jang", "張"), ("임", "Lim", "林"), ("한", "Han", "韓"), ("오", "Oh", "吳"),
                   ("서", "Seo", "徐"), ("신", "Shin", "申"), ("권", "Kwon", "權"), ("황", "Hwang", "黃"),
                   ("안", "Ahn", "安"), ("송", "Song", "宋"), ("홍", "Hong", "洪"), ("전", "Jeon", "全")]
TWO_SYLLABLE_SURNAMES = [("남궁", "Namgung", "南宮"), ("황보", "Hwangbo", "皇甫"), ("제갈", "Jegal", "諸葛"),
                         ("선우", "Sunwoo", "鮮于"), ("독고", "Dokgo", "獨孤"), ("사공", "Sagong", "司空"),
                         ("서문", "Seomun", "西門")]
RARE_SURNAMES = [("빈", "Bin", "賓"), ("팽", "Paeng", "彭"), ("승", "Seung", "承"), ("봉", "Bong", "奉"),
                 ("간", "Gan", "簡"), ("경", "Kyung", "慶"), ("예", "Ye", "芮"), ("좌", "Jwa", "左"),
                 ("견", "Gyeon", "甄"), ("즙", "Jeup", "汁")]
#: (hangul, romanised with the syllables' hyphen, hanja)
COMMON_GIVEN = [("민준", "Min-jun", "民俊"), ("서연", "Seo-yeon", "瑞妍"), ("지훈", "Ji-hun", "志勳"),
                ("하은", "Ha-eun", "夏恩"), ("도윤", "Do-yun", "道允"), ("서준", "Seo-jun", "瑞俊"),
                ("지우", "Ji-woo", "智友"), ("예준", "Ye-jun", "睿俊"), ("수아", "Su-a", "秀雅"),
                ("지민", "Ji-min", "智敏"), ("현우", "Hyeon-u", "賢宇"), ("은서", "Eun-seo", "恩瑞"),
                ("민수", "Min-su", "敏洙"), ("영희", "Yeong-hui", "英姬"), ("철수", "Cheol-su", "哲洙"),
                ("수빈", "Su-bin", "秀彬"), ("정우", "Jeong-u", "正宇"), ("유진", "Yu-jin", "有眞"),
                ("태양", "Tae-yang", "太陽"), ("하린", "Ha-rin", "夏潾")]
GIVEN_ENDING_LIKE_A_PLACE = [("길동", "Gil-dong", "吉童"), ("유리", "Yu-ri", "有利"), ("성구", "Seong-gu", "成九"),
                             ("재길", "Jae-gil", "在吉"), ("세로", "Se-ro", "世路"), ("민구", "Min-gu", "敏求"),
                             ("기동", "Gi-dong", "基東"), ("아리", "A-ri", "雅利"), ("상로", "Sang-ro", "相路"),
                             ("영길", "Yeong-gil", "永吉")]
CROWDS = {  # who a form's people are: (surnames, given names)
    "common": (COMMON_SURNAMES, COMMON_GIVEN),
    "two-syllable surnames": (TWO_SYLLABLE_SURNAMES, COMMON_GIVEN),
    "rare surnames": (RARE_SURNAMES, COMMON_GIVEN),
    "given names ending 동/구/길/리/로": (COMMON_SURNAMES, GIVEN_ENDING_LIKE_A_PLACE),
    "mixed": (COMMON_SURNAMES + TWO_SYLLABLE_SURNAMES + RARE_SURNAMES, COMMON_GIVEN + GIVEN_ENDING_LIKE_A_PLACE),
}
MAIL_DOMAINS = ("naver.com", "gmail.com", "daum.net", "hanmail.net", "kakao.com", "nate.com")
ROADS = [("강남구", "테헤란로", "역삼동"), ("마포구", "양화로", "서교동"), ("송파구", "올림픽로", "잠실동"),
         ("종로구", "세종대로", "세종로"), ("서초구", "반포대로", "서초동"), ("용산구", "이태원로", "한남동"),
         ("성동구", "왕십리로", "성수동"), ("영등포구", "여의대로", "여의도동")]
AREA_CODES = ("02", "031", "032", "051", "053", "062", "042", "064")


@dataclass(frozen=True)
class Person:
    """A generated Korean person: names, numbers and places, all consistent with each other."""

    index: int
    surname: tuple[str, str, str]  # hangul, romanised, hanja
    given: tuple[str, str, str]
    birth: datetime.date
    female: bool
    serial: int  # the resident registration number's last digits but the check digit
    mobile: str  # 010-1234-5678
    landline: str  # 02-123-4567
    mail_user: str
    mail_domain: str
    card: str  # 16 digits, Luhn-valid
    road: tuple[str, str, str]  # district, road, dong
    number: int  # a house number
    flat: tuple[int, int]  # building, flat

    @property
    def name(self) -> str:
        return self.surname[0] + self.given[0]

    @property
    def hanja(self) -> str:
        return self.surname[2] + self.given[2]

    @property
    def roman_given(self) -> str:
        """Minjun (the hyphen dropped, as a card company writes it)."""
        return self.given[1].replace("-", "").capitalize()

    @property
    def rrn(self) -> str:
        """900101-1234567, with its check digit."""
        return rrn(self.birth, self.female, self.serial)

    @property
    def email(self) -> str:
        return f"{self.mail_user}@{self.mail_domain}"

    def identifying(self) -> list[str]:
        """Every text of this person that must never be stored raw, as it could appear within a cell."""
        digits = self.mobile.replace("-", "")
        return [self.name, self.hanja, f"{self.roman_given} {self.surname[1]}", f"{self.surname[1]} {self.roman_given}",
                self.mobile, digits, digits[1:], self.landline, self.rrn, self.rrn.replace("-", ""), self.rrn[:8],
                self.email, self.mail_user, self.card, self.road[1] + f" {self.number}"]


def rrn(birth: datetime.date, female: bool, serial: int) -> str:
    """A resident registration number with its check digit (born in the 2000s: 3 or 4).

    >>> from stdnum.kr import rrn as stdnum_rrn
    >>> stdnum_rrn.is_valid(rrn(datetime.date(1990, 1, 1), False, 23456))
    True
    """
    sex = (3 if birth.year >= 2000 else 1) + female
    body = f"{birth:%y%m%d}{sex}{serial:05d}"
    check = (11 - sum(int(d) * w for d, w in zip(body, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5))) % 11) % 10
    return f"{body[:6]}-{body[6:]}{check}"


def brn(rng: random.Random) -> str:
    """A business registration number, 123-45-67890, with its check digit.

    >>> from stdnum.kr import brn as stdnum_brn
    >>> stdnum_brn.is_valid(brn(random.Random(1)))
    True
    """
    body = f"{rng.randrange(101, 999)}{rng.choice((81, 86, 87, 88, 1, 5, 10, 20))}{rng.randrange(10000):04d}"
    body = body[:3] + body[3:].zfill(6)
    weighted = sum(int(d) * w for d, w in zip(body, (1, 3, 7, 1, 3, 7, 1, 3, 5))) + int(body[8]) * 5 // 10
    return f"{body[:3]}-{body[3:5]}-{body[5:]}{(10 - weighted % 10) % 10}"


def luhn_completed(digits: str) -> str:
    """`digits` with the Luhn check digit appended."""
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return digits + str((10 - total % 10) % 10)


@functools.cache
def people(crowd: str = "common", n: int = PEOPLE, seed: int = SEED) -> list[Person]:
    """`n` people of a crowd (`CROWDS`), the same for the same seed."""
    rng = random.Random(f"{seed}/{crowd}")
    surnames, given = CROWDS[crowd]
    found, names = [], set()
    while len(found) < n:
        person = _person(rng, len(found), rng.choice(surnames), rng.choice(given))
        if person.name in names and len(names) < len(surnames) * len(given):
            continue
        names.add(person.name)
        found.append(person)
    return found


def _person(rng: random.Random, index: int, surname, given) -> Person:
    birth = datetime.date(rng.randrange(1950, 2005), rng.randrange(1, 13), rng.randrange(1, 29))
    roman = given[1].replace("-", "").lower()
    return Person(
        index=index, surname=surname, given=given, birth=birth, female=rng.random() < 0.5,
        serial=rng.randrange(97) * 1000 + rng.randrange(1000),  # a place of birth (00-96), then a number
        mobile=f"010-{rng.randrange(2000, 9999)}-{rng.randrange(10000):04d}",
        landline=f"{rng.choice(AREA_CODES)}-{rng.randrange(200, 999)}-{rng.randrange(10000):04d}",
        mail_user=f"{roman}.{surname[1].lower()}{rng.randrange(70, 100)}", mail_domain=rng.choice(MAIL_DOMAINS),
        card=luhn_completed(f"{rng.choice(('4', '5'))}{rng.randrange(10**14):014d}"),
        road=rng.choice(ROADS), number=rng.randrange(1, 600), flat=(rng.randrange(101, 120), rng.randrange(101, 1505)))


# --- forms ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """One spelling of one kind of personal data, as one cell of a column `header`.

    `share`: the part of the column's people whose cell holds it (the rest: ordinary words);
    `numeric`: a column a spreadsheet made numbers of (declared BIGINT); `quasi`: a
    quasi-identifier, to be flagged rather than refused; `beside`: other columns the file
    holds with it; `people`: how many distinct people the column names."""

    kind: str
    label: str
    make: Callable[[random.Random, Person], str]
    header: str = "detail"
    crowd: str = "common"
    share: float = 1.0
    numeric: bool = False
    quasi: bool = False
    control: bool = False  # a canonical form already caught: the harness's own check
    encoding: str = "utf-8"
    beside: tuple[tuple[str, Callable[[random.Random, Person], str]], ...] = ()
    people: int = PEOPLE


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _masked_name(p: Person) -> str:
    return p.surname[0] + "*" * (len(p.given[0]) - 1) + p.given[0][-1]


def _masked_card(p: Person) -> str:
    return f"{p.card[:4]}-****-****-{p.card[-4:]}"


def _passport(rng: random.Random, p: Person) -> str:
    return f"M{p.serial:05d}{p.number % 1000:03d}"


def _new_passport(rng: random.Random, p: Person) -> str:
    return f"M{p.serial % 1000:03d}{'ABCDEFGHJK'[p.index % 10]}{p.number * 7 % 10000:04d}"


def _licence(rng: random.Random, p: Person) -> str:
    return f"{11 + p.index % 18}-{p.birth:%y}-{p.serial:05d}{p.index % 10}-{p.number % 100:02d}"


def _plate(p: Person) -> tuple[int, str, int]:
    return p.index % 90 + 10, "가나다라마거너더러머고노도로모구누두루무버서어저허"[p.index % 25], 1000 + p.serial % 9000


def _ipv4(rng: random.Random, p: Person) -> str:
    return f"{(211, 175, 121, 58)[p.index % 4]}.{p.serial % 256}.{p.number % 256}.{p.flat[1] % 254 + 1}"


def _ipv6(rng: random.Random, p: Person) -> str:
    return f"2001:2d8:{p.serial:x}:{p.number:x}::{p.flat[1]:x}:{p.index + 1:x}"


def _gps(p: Person, base: float) -> str:
    return f"{base + (p.serial % 100000) / 1e6 + p.index * 1e-3:.6f}"


def _free_text(p: Person, about: str) -> str:
    return f"배송 전 {about}로 연락 바랍니다"


FORMS: list[Form] = [
    # names
    Form("name", "김민준 (control)", lambda r, p: p.name, control=True),
    Form("name", "Minjun Kim (control)", lambda r, p: f"{p.roman_given} {p.surname[1]}", control=True),
    Form("name", "김민준 님", lambda r, p: f"{p.name} 님"),
    Form("name", "김민준씨", lambda r, p: f"{p.name}씨"),
    Form("name", "김민준 고객님", lambda r, p: f"{p.name} 고객님"),
    Form("name", "김민준 고객 요청: 배송지 변경", lambda r, p: f"{p.name} 고객 요청: 배송지 변경"),
    Form("name", "남궁민수 (two-syllable surnames)", lambda r, p: p.name, crowd="two-syllable surnames"),
    Form("name", "홍길동 (given names ending 동/구/길/리/로)", lambda r, p: p.name,
         crowd="given names ending 동/구/길/리/로"),
    Form("name", "rare surnames (빈, 팽, 승 ...)", lambda r, p: p.name, crowd="rare surnames"),
    Form("name", "hanja 金民俊", lambda r, p: p.hanja),
    Form("name", "masked 김*준", lambda r, p: _masked_name(p)),
    Form("name", "MINJUN KIM", lambda r, p: f"{p.roman_given} {p.surname[1]}".upper()),
    Form("name", "KIM MINJUN", lambda r, p: f"{p.surname[1]} {p.roman_given}".upper()),
    Form("name", "KIM MIN-JUN", lambda r, p: f"{p.surname[1]} {p.given[1]}".upper()),
    Form("name", "names in 10% of a column", lambda r, p: p.name, share=0.10),
    Form("name", "names in 25% of a column", lambda r, p: p.name, share=0.25),
    Form("name", "names in 40% of a column", lambda r, p: p.name, share=0.40),
    *[Form("name", f"header {h} with plain names (of every crowd)", lambda r, p: p.name, header=h, crowd="mixed")
      for h in ("수령인", "주문자", "예금주명", "고객이름", "cust_nm", "customer")],
    Form("name", "ten staff names, each on ten people's rows", lambda r, p: p.name, header="담당자", crowd="mixed",
         people=10),
    # phone numbers
    Form("phone", "010-1234-5678 (control)", lambda r, p: p.mobile, control=True),
    Form("phone", "(02) 123-4567", lambda r, p: "({}) {}-{}".format(*p.landline.split("-"))),
    Form("phone", "full-width digits", lambda r, p: full_width(p.mobile)),
    Form("phone", "1012345678 (leading zero lost, numeric)", lambda r, p: p.mobile.replace("-", "")[1:],
         numeric=True),
    Form("phone", "010-1234-5678(본인)", lambda r, p: f"{p.mobile}(본인)"),
    Form("phone", "masked 010-****-5678", lambda r, p: f"010-****-{p.mobile[-4:]}"),
    Form("phone", "in free text", lambda r, p: _free_text(p, p.mobile)),
    Form("phone", "in free text, CP949 file", lambda r, p: _free_text(p, p.mobile), encoding="cp949"),
    # resident registration numbers
    Form("rrn", "900101-1234567 (control)", lambda r, p: p.rrn, control=True),
    Form("rrn", "masked 900101-1******", lambda r, p: p.rrn[:8] + "******"),
    Form("rrn", "born in the 2000s, leading 0 lost (numeric)",
         lambda r, p: str(int(rrn(p.birth.replace(year=2000 + p.index % 10), p.female, p.serial).replace("-", ""))),
         numeric=True),
    Form("rrn", "900101 1234567", lambda r, p: p.rrn.replace("-", " ")),
    # e-mail addresses
    Form("email", "x@naver.com (control)", lambda r, p: p.email, control=True),
    Form("email", "김민준 <x@naver.com>", lambda r, p: f"{p.name} <{p.email}>"),
    Form("email", "<x@naver.com>", lambda r, p: f"<{p.email}>"),
    Form("email", "x @ naver.com", lambda r, p: f"{p.mail_user} @ {p.mail_domain}"),
    Form("email", "x at naver dot com", lambda r, p: f"{p.mail_user} at {p.mail_domain.replace('.', ' dot ')}"),
    Form("email", "x[at]naver.com", lambda r, p: f"{p.mail_user}[at]{p.mail_domain}"),
    # card numbers
    Form("card", "1234 5678 9012 3456 (control)", lambda r, p: " ".join(re.findall("....", p.card)), control=True),
    Form("card", "masked 1234-****-****-5678", lambda r, p: _masked_card(p)),
    # addresses
    Form("address", "서울특별시 강남구 테헤란로 123, 101동 202호",
         lambda r, p: f"서울특별시 {p.road[0]} {p.road[1]} {p.number}, {p.flat[0]}동 {p.flat[1]}호"),
    Form("address", "서울 마포구 합정동 123-45", lambda r, p: f"서울 {p.road[0]} {p.road[2]} {p.number}-{p.flat[1] % 90}"),
    Form("address", "서울시 송파구 올림픽로 300 (신천동)", lambda r, p: f"서울시 {p.road[0]} {p.road[1]} {p.number} ({p.road[2]})"),
    Form("address", "경기도 성남시 분당구 판교역로 235 A동 1203호",
         lambda r, p: f"경기도 성남시 분당구 판교역로 {p.number} {'ABC'[p.index % 3]}동 {p.flat[1]}호"),
    # business registration numbers, passports, driver's licences, vehicle plates, IP addresses
    Form("brn", "123-45-67890 (valid check digit)", lambda r, p: brn(random.Random(p.serial))),
    Form("passport", "M12345678", _passport),
    Form("passport", "M123A4567", _new_passport),
    Form("licence", "11-12-345678-90", _licence),
    Form("plate", "12가 3456", lambda r, p: "{}{} {}".format(*_plate(p))),
    Form("plate", "123가4567", lambda r, p: "{}{}{}".format(_plate(p)[0] + 100, *_plate(p)[1:])),
    Form("plate", "서울12가3456", lambda r, p: "서울{}{}{}".format(*_plate(p))),
    Form("ip", "IPv4 211.234.56.78", _ipv4),
    Form("ip", "IPv6 2001:2d8:...", _ipv6),
    # quasi-identifiers: flagged for the steward, never proposed silently as time or measure
    Form("quasi", "birth date beside sex", lambda r, p: p.birth.isoformat(), header="생년월일", quasi=True,
         beside=(("성별", lambda r, p: "여" if p.female else "남"),)),
    Form("quasi", "GPS latitude to six decimals", lambda r, p: _gps(p, 37.4), header="latitude", quasi=True,
         beside=(("longitude", lambda r, p: _gps(p, 126.8)),)),
    Form("quasi", "GPS longitude to six decimals", lambda r, p: _gps(p, 126.8), header="longitude", quasi=True,
         beside=(("latitude", lambda r, p: _gps(p, 37.4)),)),
    # a header that is itself personal data: a file whose header line is missing
    Form("header", "an e-mail address as the column's header", lambda r, p: p.email,
         header="gildong.hong@naver.com"),
]
KINDS = tuple(dict.fromkeys(f.kind for f in FORMS))


def cells(form: Form, crowd: list[Person] | None = None, rows_each: int = ROWS_EACH) -> list[tuple[Person, list[str]]]:
    """Per row, its person and the cells of the form's columns (the tested one first); each person's
    rows alike. Of those past the form's `share`, ordinary words."""
    crowd = crowd or people(form.crowd)
    named = [crowd[i % form.people] for i in range(len(crowd))]
    makers = [form.make, *(make for _, make in form.beside)]
    rows = []
    for i, person in enumerate(named):
        rng = random.Random(f"{form.label}/{person.index}")
        ordinary = i >= form.share * len(named)
        row = [ORDINARY[i % len(ORDINARY)] if ordinary and j == 0 else make(rng, person)
               for j, make in enumerate(makers)]
        rows.extend([(person, row)] * rows_each)
    return rows


# --- the clean corpus ------------------------------------------------------------------------------------

SHOPS = ("김밥천국 배달의민족 이삭토스트 홍콩반점 박가네 본죽 교촌치킨 파리바게뜨 뚜레쥬르 이디야커피 메가커피 빽다방 "
         "투썸플레이스 맘스터치 롯데리아 김가네김밥 고봉민김밥 한솥도시락 신전떡볶이 엽기떡볶이 명랑핫도그 새마을식당 "
         "한신포차 원할머니보쌈 놀부부대찌개 장충동왕족발 할매순대국 진주회관 을지면옥 우래옥 명동교자 김씨네과일 이가네 "
         "홍반장 조마루감자탕 신당동떡볶이 최고당돈가스 정육각 강남면옥 한우리 이마트24 GS25 CU 세븐일레븐 다이소 올리브영 "
         "쿠팡이츠 요기요 야놀자 여기어때 박승철헤어 준오헤어 이철헤어커커 정관장 설빙 공차 하삼동커피 백다방 "
         "오봉도시락 전주비빔밥 서울떡집 유가네닭갈비 하남돼지집 봉구스밥버거 김선생 고씨네 양평해장국 송가네").split()
MENUS = ("김치찌개 된장찌개 순두부찌개 부대찌개 고등어구이 갈치조림 제육볶음 불고기 비빔밥 김밥 라면 떡볶이 순대 튀김 짜장면 "
         "짬뽕 탕수육 볶음밥 냉면 칼국수 수제비 삼겹살 갈비 치킨 양념치킨 피자 햄버거 아메리카노 카페라떼 녹차 식혜 배달 "
         "포장 매장식사 도시락 김치 깍두기 두부 계란 우유 사과 배 귤 감자 고구마 양파 대파 마늘 생수 소주 맥주 막걸리 과자 "
         "아이스크림 빵 케이크 휴지 세제 샴푸 치약 오징어볶음 장어구이 조기구이 황태해장국 설렁탕 곰탕 육개장 편육 민어회 "
         "전복죽 호박죽 유부초밥 잡채 파전 김말이 소떡소떡 호떡 붕어빵 연어덮밥").split()
CATEGORIES = ("한식 중식 일식 양식 분식 카페 제과점 편의점 슈퍼마켓 대형마트 백화점 주유소 약국 병원 치과 한의원 미용실 "
              "네일샵 세탁소 노래방 PC방 헬스장 학원 서점 문구점 꽃집 안경점 정육점 반찬가게 떡집 호프 숙박 모텔 배달 택시 "
              "주차장 세차장 부동산 동물병원 정비소 여행사 사진관 전자제품 가구 인테리어 의류 신발 화장품 스포츠용품").split()
DISTRICTS = ("종로구 중구 용산구 성동구 광진구 동대문구 중랑구 성북구 강북구 도봉구 노원구 은평구 서대문구 마포구 양천구 "
             "강서구 구로구 금천구 영등포구 동작구 관악구 서초구 강남구 송파구 강동구").split()
DONGS = ("성수동 공덕동 연남동 방배동 신사동 한남동 역삼동 삼성동 대치동 잠실동 합정동 서교동 망원동 이태원동 청담동 압구정동 "
         "논현동 서초동 반포동 목동 신림동 봉천동 상도동 노량진동 여의도동 영등포동 구로동 가산동 신도림동 문래동 당산동 "
         "상암동 수유동 미아동 길음동 정릉동 성북동 혜화동 명륜동 사직동 삼청동 부암동 평창동 홍제동 연희동 아현동 후암동 "
         "이촌동 왕십리동 금호동 옥수동 장안동 회기동 이문동 면목동 상봉동 중계동 상계동 공릉동 창동 쌍문동 천호동 길동 "
         "고덕동 명일동 둔촌동 오금동 가락동 문정동 장지동 거여동 마천동 신림1동 역삼2동 화곡1동").split()
STATIONS = ("강남 홍대입구 신촌 서울역 시청 종각 을지로입구 명동 동대문 건대입구 왕십리 잠실 사당 교대 고속터미널 신림 "
            "구로디지털단지 가산디지털단지 여의도 노량진 용산 이태원 합정 망원 공덕 충정로 혜화 성신여대입구 미아사거리 수유 "
            "노원 창동 천호 강동 방이 오금 가락시장 수서 양재 선릉 역삼 삼성 신사 압구정 한티 도곡 매봉 학동 논현 반포 "
            "고속터미널역 강남역 홍대입구역 신도림역 김포공항 마곡나루 발산 우장산 화곡 까치산").split()
BRANDS = ("삼성 엘지 현대 기아 롯데 신세계 농심 오뚜기 빙그레 해태 동원 풀무원 오리온 크라운 청정원 비비고 하림 매일유업 "
          "남양유업 서울우유 아모레퍼시픽 이니스프리 설화수 라네즈 미샤 더페이스샵 나이키 아디다스 유니클로 자라 애플 구글 "
          "카카오 네이버 쿠팡 배민 토스 신한카드 국민카드 하나카드 우리카드 삼양 진라면 신라면 안성탕면 정관장 한샘 "
          "이케아 코웨이 쿠쿠 위니아 대우").split()
ENGLISH = ["Americano", "Cafe Latte", "Green Tea", "Cheese Burger", "Fried Chicken", "Pizza Margherita",
           "Kimchi Fried Rice", "Bibimbap", "Bulgogi", "Tteokbokki", "Instant Noodles", "Bottled Water", "Orange Juice",
           "Ice Cream", "Croissant", "Bagel", "Shampoo", "Toothpaste", "Tissue", "Detergent", "Phone Case",
           "USB Cable", "Power Bank", "Earphones", "T-Shirt", "Sneakers", "Backpack", "Notebook", "Ballpoint Pen",
           "Umbrella", "Face Mask", "Hand Cream", "Sunscreen", "Lipstick", "Vitamin C", "Pain Relief", "Band Aid",
           "Cat Food", "Dog Treats", "Gift Card", "Han River Cafe", "Seoul Forest Bakery", "Lotte Mart", "Emart",
           "Paris Baguette", "Kim's Kitchen", "Namsan Tower Shop", "Gangnam Style Bar", "Jung Coffee Roasters",
           "Mapo Galbi House", "Seongsu Leather", "Insadong Tea House", "Hongdae Records", "Park Avenue Deli"]
ORDINARY = MENUS  # what a column holds where it holds no person
FAMILIES = {  # family -> (values, headers)
    "shop": (SHOPS, ("상호명", "store_name", "가맹점명", "brand_shop")),
    "menu": (MENUS, ("메뉴", "product", "상품명", "item")),
    "category": (CATEGORIES, ("업종", "category", "업태", "industry_kr")),
    "district": (DISTRICTS, ("자치구", "district_kr", "구")),
    "dong": (DONGS, ("행정동", "dong_kr", "법정동")),
    "station": (STATIONS, ("역명", "station_name", "지하철역")),
    "brand": (BRANDS, ("브랜드", "brand", "제조사")),
    "english": (ENGLISH, ("product_en", "item_name", "description_en")),
}


@dataclass(frozen=True)
class CleanColumn:
    """An ordinary column of 300 values: no personal data in any."""

    label: str
    header: str
    values: tuple[str, ...]
    numeric: bool = False


def clean_columns(folder: Path, rows: int = PEOPLE * ROWS_EACH) -> list[CleanColumn]:
    """Every ordinary column of the corpus: the demo data's (built small under `folder`), then the
    Korean words' families in several samplings and combinations, then numbers."""
    return [*demo_columns(folder, rows), *word_columns(rows), *combined_columns(rows), *number_columns(rows)]


def demo_columns(folder: Path, rows: int) -> list[CleanColumn]:
    """Each column of the three demo datasets, `rows` values sampled from a tiny build."""
    from campus import catalog
    from campus.settings import Settings
    from campus.synth.build import build

    cat = catalog.load(Settings().catalog_path)
    build(cat, folder, scale=0.001, seed=7)
    found = []
    for dataset in cat:
        table = pa.concat_tables(pq.read_table(f) for f in sorted((folder / dataset.source).rglob("*.parquet")))
        picked = random.Random(f"demo/{dataset.name}").sample(range(table.num_rows), rows)
        for name in table.column_names:
            values = table.column(name).take(picked).to_pylist()
            found.append(CleanColumn(f"demo {dataset.name}.{name}", name, tuple(_text(v) for v in values),
                                     numeric=all(isinstance(v, int) for v in values)))
    return found


def _text(value) -> str:
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def word_columns(rows: int) -> list[CleanColumn]:
    """Each family under each of its headers, sampled three ways: evenly, ten values only, heavy-headed."""
    found = []
    for family, (values, headers) in FAMILIES.items():
        for header in headers:
            rng = random.Random(f"{family}/{header}")
            few = rng.sample(values, 10)
            weights = [1 / (i + 1) for i in range(len(values))]
            samplings = {"even": [rng.choice(values) for _ in range(rows)],
                         "ten values": [rng.choice(few) for _ in range(rows)],
                         "heavy-headed": rng.choices(values, weights, k=rows)}
            found += [CleanColumn(f"{family} under {header}, {how}", header, tuple(v)) for how, v in samplings.items()]
    return found


def combined_columns(rows: int) -> list[CleanColumn]:
    """Words as files combine them: a branch (스타벅스 성수점), a menu with its price, a place, a path."""
    rng = random.Random("combined")
    made = {
        ("branch", "지점명"): lambda: f"{rng.choice(SHOPS)} {rng.choice(DONGS).removesuffix('동')}점",
        ("menu and price", "주문내역"): lambda: f"{rng.choice(MENUS)} {rng.randrange(3, 40) * 500:,}원",
        ("menu times count", "order_items"): lambda: f"{rng.choice(MENUS)} x{rng.randrange(1, 5)}",
        ("district and dong", "소재지"): lambda: f"{rng.choice(DISTRICTS)} {rng.choice(DONGS)}",
        ("category path", "분류"): lambda: f"{rng.choice(CATEGORIES)} > {rng.choice(MENUS)}",
        ("station exit", "출구"): lambda: f"{rng.choice(STATIONS)} {rng.randrange(1, 12)}번 출구",
        ("brand product", "상품"): lambda: f"{rng.choice(BRANDS)} {rng.choice(MENUS)}",
        ("english with size", "sku_name"): lambda: f"{rng.choice(ENGLISH)} {rng.choice(('S', 'M', 'L', 'XL'))}",
        ("delivery status", "배송상태"): lambda: rng.choice(("배송완료", "배송중", "주문접수", "취소", "반품요청", "교환")),
        ("payment method", "결제수단"): lambda: rng.choice(("신용카드", "체크카드", "계좌이체", "간편결제", "현금", "포인트")),
        ("weekday", "요일"): lambda: rng.choice("월화수목금토일") + "요일",
        ("age band", "연령대"): lambda: f"{rng.randrange(2, 8)}0대",
        ("time band", "시간대"): lambda: rng.choice(("00~06시", "06~11시", "11~14시", "14~17시", "17~21시", "21~24시")),
        ("order number", "order_no"): lambda: f"2025{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}-{rng.randrange(10**6):06d}",
        ("product code", "product_code"): lambda: f"P{rng.randrange(10**5):05d}-{rng.choice('ABCDEFG')}",
        ("version label", "version"): lambda: f"v{rng.randrange(1, 4)}.{rng.randrange(10)}.{rng.randrange(20)}",
    }
    found = []
    for (label, header), make in made.items():
        pool = [make() for _ in range(60)]  # a column of repeated values, as real files are
        found.append(CleanColumn(label, header, tuple(rng.choice(pool) for _ in range(rows))))
    return found


def number_columns(rows: int) -> list[CleanColumn]:
    """Amounts, counts, years, prices, codes and measurements: numbers of every width."""
    rng = random.Random("numbers")
    made = {
        ("amount in won", "amount_krw"): lambda: str(rng.randrange(1, 90000) * 10),
        ("amount with commas", "결제금액"): lambda: f"{rng.randrange(1, 900) * 1000:,}",
        ("price", "price"): lambda: str(rng.choice((3500, 4500, 5000, 8000, 9000, 12000, 15000, 23000))),
        ("count", "count"): lambda: str(rng.randrange(1, 50)),
        ("sales count", "매출건수"): lambda: str(rng.randrange(0, 5000)),
        ("year", "year"): lambda: str(rng.randrange(1990, 2026)),
        ("year and month", "기준년월"): lambda: f"2025{rng.randrange(1, 13):02d}",
        ("quantity", "수량"): lambda: str(rng.randrange(1, 12)),
        ("rating", "rating"): lambda: str(rng.randrange(1, 6)),
        ("hour", "hour_of_day"): lambda: str(rng.randrange(24)),
        ("percentage", "share_pct"): lambda: f"{rng.uniform(0, 100):.1f}",
        ("distance in km", "distance_km"): lambda: f"{rng.uniform(0.1, 30):.2f}",
        ("temperature", "기온"): lambda: f"{rng.uniform(-15, 35):.1f}",
        ("floor area", "면적"): lambda: f"{rng.uniform(10, 500):.2f}",
        ("large sales", "sales_total"): lambda: str(rng.randrange(10**6, 10**10)),
        ("barcode EAN-13", "barcode"): lambda: _ean(f"880{rng.randrange(10**9):09d}"),
        ("approval number", "승인번호"): lambda: f"{rng.randrange(10**8):08d}",
        ("store count", "점포수"): lambda: str(rng.randrange(1, 300)),
        ("population", "인구수"): lambda: str(rng.randrange(5000, 700000)),
        ("coordinates to two decimals", "lat_2dp"): lambda: f"{rng.uniform(37.45, 37.69):.2f}",
        ("discount", "discount"): lambda: str(rng.choice((0, 500, 1000, 2000, 3000))),
        ("points", "포인트"): lambda: str(rng.randrange(0, 100000)),
        ("negative refunds", "refund"): lambda: str(-rng.randrange(0, 50000)),
        ("ten-digit totals", "yearly_sales"): lambda: str(rng.randrange(10**9, 2 * 10**9)),
    }
    found = []
    for (label, header), make in made.items():
        values = tuple(make() for _ in range(rows))
        found.append(CleanColumn(label, header, values, numeric=all(re.fullmatch(r"-?\d+", v) for v in values)))
    return found


# --- the harness ---------------------------------------------------------------------------------------

BASE = ("card_no", "store", "amount", "month")
REFUSED, PSEUDONYMISED, FLAGGED, STORED_RAW, CRASHED = "refused", "pseudonymised", "flagged", "stored raw", "crashed"
LOADED = "loaded"  # a clean column, stored
CAUGHT = (REFUSED, PSEUDONYMISED)


@dataclass
class Outcome:
    """What happened to one column: (a) loaded as `datasets add --accept` would, (b) against an entry
    declaring it a dimension; `written`: where a personal value or header was written (the proposed
    entry, a refusal's message), if anywhere; `findings`: what the profile said of the column."""

    label: str
    kind: str
    proposed: str = ""
    declared: str = ""
    written: list[str] = field(default_factory=list)
    findings: str = ""
    role: str = ""  # the role proposed for the column
    why: str = ""  # a crash's type, never its message (it may hold a value)

    @property
    def caught(self) -> bool:
        """Refused or pseudonymised both ways (a quasi-identifier: flagged when proposed), nothing written."""
        ok = (*CAUGHT, FLAGGED) if self.kind == "quasi" else CAUGHT
        return self.proposed in ok and (self.kind == "quasi" or self.declared in CAUGHT) and not self.written


@dataclass
class Table:
    """A file's columns and rows, and the personal texts it holds (`secrets`)."""

    header: list[str]
    rows: list[list[str]]
    secrets: set[str]
    tested: str  # the tested column's header
    numeric: bool
    encoding: str = "utf-8"

    def write(self, path: Path) -> Path:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        path.write_bytes(text.getvalue().encode(self.encoding))
        return path


def form_table(form: Form, crowd: list[Person] | None = None, rows_each: int = ROWS_EACH) -> Table:
    """The file holding `form` beside the base columns; its secrets: every cell of the form (and of
    the columns beside it), every piece of a person found in one, a personal header."""
    rows, secrets = [], set()
    for i, (person, made) in enumerate(cells(form, crowd, rows_each)):
        rows.append(_base(i, i // rows_each) + made)
        tested = made[0]
        if tested not in ORDINARY:
            secrets.add(tested)
            secrets.update(piece for piece in person.identifying() if len(piece) >= 3 and piece in _nfkc(tested))
    if "@" in form.header:  # and the column name a proposal would make of it
        secrets.update({form.header, re.sub(r"[^0-9a-z]+", "_", form.header.lower())})
    header = [*BASE, _unclashed(form.header), *(h for h, _ in form.beside)]
    return Table(header, rows, secrets, header[len(BASE)], form.numeric, form.encoding)


def clean_table(column: CleanColumn) -> Table:
    rows = [_base(i, i // ROWS_EACH) + [v] for i, v in enumerate(column.values)]
    header = [*BASE, _unclashed(column.header)]
    return Table(header, rows, set(), header[-1], column.numeric)


def _base(row: int, who: int) -> list[str]:
    """A month's card transactions (one month: one Parquet file a load)."""
    rng = random.Random(row)
    return [f"C{who:06d}", f"가맹점{rng.randrange(30)}", str(rng.randrange(1, 900) * 100), "2025-03-01"]


def _unclashed(header: str) -> str:
    return f"{header}_x" if header in BASE else header


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def judged(form: Form, folder: Path, crowd: list[Person] | None = None, rows_each: int = ROWS_EACH) -> Outcome:
    """`form` loaded both ways under `folder` (a fresh scratch campus each)."""
    return judge(form_table(form, crowd, rows_each), form.label, form.kind, folder, quasi=form.quasi)


def judged_clean(column: CleanColumn, folder: Path) -> Outcome:
    return judge(clean_table(column), column.label, "clean", folder)


def judged_clean_all(columns: list[CleanColumn], folder: Path, workers: int = 2) -> list[Outcome]:
    """Each clean column judged, in `workers` processes (a 300-row load's time is mostly Python's)."""
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(judged_clean, columns, [folder] * len(columns), chunksize=8))


def judge(table: Table, label: str, kind: str, folder: Path, quasi: bool = False) -> Outcome:
    """Load `table` (a) as proposed and (b) as a declared dimension, each in a scratch catalog and data
    folder of its own; what reached the Parquet, the proposal and any refusal."""
    outcome = Outcome(label, kind)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        scratch = Path(scratch)
        file = table.write(scratch / "shop_orders.csv")
        outcome.proposed = _as_proposed(file, table, scratch / "a", outcome, quasi)
        outcome.declared = _as_declared(file, table, scratch / "b", outcome)
    return outcome


def _as_proposed(file: Path, table: Table, scratch: Path, outcome: Outcome, quasi: bool) -> str:
    """What `campus datasets add corpus --from file --accept` stores."""
    scratch.mkdir()
    catalog_path = scratch / "catalog.yaml"
    catalog_path.write_text("datasets:\n", encoding="utf-8")  # an empty catalog: the entry proposed is its only one
    try:
        sources = [open_source(file)]
        found = profile(sources)
        column = next(c for c in found.columns if c.header == table.tested)
        outcome.findings = found.findings.said(column.name)
        outcome.role = found.roles()[column.name]
        entry = proposed_entry("corpus", found, sources, "sejin")
        _written(outcome, "the proposed entry", entry, table.secrets)
        _, with_entry = catalog_with(catalog_path, entry)
        if found.typed_but_for():  # as `datasets add` refuses before it loads
            return REFUSED
        load(with_entry["corpus"], sources, scratch / "data", KEY, action="add")
    except (LoadRefused, ConfigError) as e:
        _written(outcome, "a refusal (proposed)", e.reason, table.secrets)
        return REFUSED
    except Exception as e:  # noqa: BLE001 - a crash is an outcome to report, without its message
        outcome.why = type(e).__name__
        return CRASHED
    if not table.secrets:
        return LOADED
    if _stored(scratch / "data", table.secrets):
        return FLAGGED if quasi and (outcome.role == "quasi_identifier" or outcome.findings) else STORED_RAW
    return PSEUDONYMISED


def _as_declared(file: Path, table: Table, scratch: Path, outcome: Outcome) -> str:
    """What a load against an entry declaring the column `role: dimension` stores."""
    dataset = Dataset(
        name="corpus", title="Corpus", description="-", steward="sejin", tier="restricted", source="corpus",
        partitioned_by="month", entity="card_no", columns={
            "card_no": {"type": "VARCHAR", "role": "identifier", "description": "-"},
            "store": {"type": "VARCHAR", "role": "dimension", "description": "-"},
            "amount": {"type": "BIGINT", "role": "measure", "description": "-"},
            "month": {"type": "DATE", "role": "time", "grain": "month", "description": "-"},
            **{f"column_{i}": {"type": "BIGINT" if table.numeric and i == 0 else "VARCHAR", "role": "dimension",
                               "description": "-", "header": name}
               for i, name in enumerate(table.header[len(BASE):])}})
    try:
        load(dataset, [open_source(file)], scratch / "data", KEY, action="add")
    except (LoadRefused, ConfigError) as e:
        _written(outcome, "a refusal (declared)", e.reason, table.secrets)
        return REFUSED
    except Exception as e:  # noqa: BLE001
        outcome.why = outcome.why or type(e).__name__
        return CRASHED
    if not table.secrets:
        return LOADED
    return STORED_RAW if _stored(scratch / "data", table.secrets) else PSEUDONYMISED


def _written(outcome: Outcome, where: str, text: str, secrets: set[str]) -> None:
    if any(s in text for s in secrets):
        outcome.written.append(where)


HASHED = re.compile(r"[0-9a-f]+")


def _stored(data: Path, secrets: set[str]) -> bool:
    """Whether any secret is in the Parquet under `data`: a value or column name equal to one, or
    (in text that is not a keyed hash's hex) holding one."""
    if not secrets:
        return False
    texts = set()
    for path in data.rglob("*.parquet"):
        table = pq.read_table(path)
        texts.update(table.column_names)
        for column in table.columns:
            texts.update(_text(v) for v in column.to_pylist())
    if texts & secrets:
        return True
    words = "\n".join(t for t in texts if not HASHED.fullmatch(t))
    return any(s in words for s in secrets)


def recall(outcomes: list[Outcome]) -> dict[str, tuple[int, int]]:
    """Per kind, (forms caught, forms)."""
    found: dict[str, tuple[int, int]] = {}
    for o in outcomes:
        caught, total = found.get(o.kind, (0, 0))
        found[o.kind] = (caught + o.caught, total + 1)
    return found


def false_positive(outcome: Outcome) -> bool:
    """Whether an ordinary column was taken for personal data: refused as a declared dimension, or
    said by the profile to hold identifying values."""
    return outcome.declared == REFUSED or bool(outcome.findings)


def _ean(twelve: str) -> str:
    """A GS1 barcode: twelve digits and their check digit, as every real one has."""
    return twelve + ean.calc_check_digit(twelve)
