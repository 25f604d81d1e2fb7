"""Personal data in the forms real files carry, judged value by value and column by column
(`campus.identifiers`); the end-to-end corpus through the loader is tests/test_personal_corpus.py."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from campus.identifiers import FREE_TEXT, Findings, named_like_a_person, personal_headers, redacted
from campus.identifiers.kinds import KINDS

FORMS = {
    "phone numbers": ["010-1234-5678", "(02) 123-4567", "０１０－１２３４－５６７８", "010-1234-5678(본인)", "010-****-5678",
                      "연락처 010 1234 5678 로 전화", "+82 10-1234-5678", "02.123.4567"],
    "resident registration numbers": ["900101-1******", "900101 1234567", "900101-1234567", "030405-4123456"],
    "e-mail addresses": ["김민준 <minjun@naver.com>", "<minjun@naver.com>", "minjun @ naver.com",
                         "minjun at naver dot com", "minjun[at]naver.com", "mj***@naver.com"],
    "card numbers": ["1234-****-****-5678", "4111 1111 1111 1111", "3782 822463 10005"],
    "street addresses": ["서울특별시 강남구 테헤란로 123, 101동 202호", "서울 마포구 합정동 123-45", "세종대로 110",
                         "역삼동 823-1번지"],
    "business registration numbers": ["116-82-00276"],
    "passport numbers": ["M12345678", "M123A4567"],
    "driver's licence numbers": ["11-12-345678-90", "서울 12-345678-90"],
    "vehicle plates": ["12가 3456", "123가4567", "서울12가3456"],
    "IP addresses": ["192.168.0.1", "접속 IP 10.0.0.25", "2001:db8::1"],
}
CLEAN = ["김밥천국", "배달", "편의점", "주차장", "강남역 2번 출구", "을지로3가역", "12:30:45", "2025-01-15", "1,234,000",
         "Apple iPhone 15 Pro", "2호선", "3.5", "GS25 역삼점", "50000", "A-12", "v1.2.3", "20대", "강남구", "성수동"]


@pytest.mark.parametrize("kind,value", [(k, v) for k, values in FORMS.items() for v in values])
def test_every_form_of_a_kind_is_found(kind, value):
    findings = Findings()
    findings.add("c", pl.Series("c", [value]), text=True)
    assert kind in findings.found("c")


@pytest.mark.parametrize("value", CLEAN)
def test_ordinary_values_are_no_personal_data(value):
    findings = Findings()
    findings.add("c", pl.Series("c", [value] * 5), text=True)
    assert findings.found("c") == {}


NAMES = {  # a form, in three people's names
    "plain": ["김민준", "이서연", "박지훈"], "two-syllable surname": ["남궁민수", "황보혜정", "제갈성렬"],
    "ending like a place": ["홍길동", "김유리", "최철구"], "hanja": ["金民俊", "李瑞妍", "朴志勳"], "masked": ["김*준", "이*연", "박**"],
    "capitals": ["MINJUN KIM", "SEOYEON LEE", "JIHOON PARK"], "surname first": ["KIM MINJUN", "LEE SEOYEON", "PARK JIHOON"],
    "hyphenated": ["KIM MIN-JUN", "LEE SEO-YEON", "PARK JI-HOON"], "comma": ["Kim, Minjun", "Lee, Seoyeon", "Park, Jihoon"],
    "title": ["김민준 님", "이서연씨", "박지훈 고객님"], "brackets": ["김민준(본인)", "이서연 (대리수령)", "박지훈[VIP]"],
    "label": ["수령인: 김민준", "주문자: 이서연", "고객명: 박지훈"], "in a note": ["김민준 고객 요청: 배송지 변경",
                                                                  "이서연님 부재시 경비실", "박지훈 회원 재주문"]}
WORDS = ["배달", "포장", "매장", "한식", "카페", "편의점", "주유소", "약국", "음식점", "배송지 변경"]


@pytest.mark.parametrize("form", NAMES)
@pytest.mark.parametrize("share", [0.1, 0.4, 1.0])
def test_names_at_any_share_flag_the_column(form, share):
    people = [NAMES[form][i % 3] for i in range(30)]
    others = [WORDS[i % len(WORDS)] for i in range(int(30 / share) - 30)]
    findings = Findings()
    findings.add("c", pl.Series("c", people + others), text=True)
    assert "personal names" in findings.found("c"), findings.said("c")


def test_a_column_of_places_is_no_column_of_names_and_a_column_of_names_ending_like_places_is():
    places, people = Findings(), Findings()
    places.add("dong", pl.Series("dong", ["성수동", "공덕동", "연남동", "방배동", "신사동", "합정동"] * 10), text=True)
    people.add("who", pl.Series("who", ["홍길동", "최철구", "박영길", "김유리", "이하로", "정민동"] * 10), text=True)
    assert places.found("dong") == {} and "personal names" in people.found("who")


def test_free_text_is_personal_until_declared():
    notes = Findings()
    notes.add("memo", pl.Series("memo", ["배송 전에 문 앞에 두고 연락 부탁드립니다", "포장 꼼꼼하게 해주세요 감사합니다"] * 20), text=True)
    assert FREE_TEXT in notes.found("memo")
    assert notes.problems(redacted=frozenset({"memo"})) == []


def test_bare_forms_count_where_the_column_is_of_them():
    lost = Findings()
    lost.add("phone", pl.Series("phone", [1012345678 + i for i in range(50)]), text=False)
    assert "phone numbers" in lost.found("phone")
    amounts = Findings()
    amounts.add("amount", pl.Series("amount", [1012345678] + list(range(1000, 50000, 1000))), text=False)
    assert amounts.found("amount") == {}


def test_redaction_leaves_the_text_and_takes_what_identifies():
    notes = pl.Series("memo", ["김민준 고객 요청: 010-1234-5678 로 연락, x at naver dot com", None, "문 앞에 두세요"])
    out = redacted(notes).to_list()
    assert "010-1234-5678" not in out[0] and "naver" not in out[0] and "김민준" not in out[0]
    assert "⟨phone numbers⟩" in out[0] and out[1] is None and out[2] == "문 앞에 두세요"


@pytest.mark.parametrize("header", ["수령인", "주문자", "예금주명", "고객이름", "cust_nm", "customer", "고객 이름"])
def test_name_headers_off_the_old_list(header):
    assert named_like_a_person(header) and not personal_headers([header, "amount"])


@pytest.mark.parametrize("header", ["gildong.hong@naver.com", "gildong hong at naver dot com", "010-1234-5678", "김민준 님",
                                    "Minjun Kim"])
def test_a_header_that_is_someones_details(header):
    assert personal_headers([header, "amount"]) == [1]


@pytest.mark.parametrize("header", ["연령대", "성별", "금액", "가맹점명", "업종", "amount", "store_name", "district"])
def test_ordinary_headers(header):
    assert not personal_headers([header, "소재지"]) and not named_like_a_person(header)


IDENTIFIERS = st.sampled_from([  # each as written, and masked as people mask it
    ("010-2345-6789", "010-****-6789"), ("900101-1234567", "900101-1******"), ("minjun@naver.com", "mi****@naver.com"),
    ("4111 1111 1111 1111", "4111 **** **** 1111"), ("02-123-4567", "02-***-4567")])
WRAPS = st.sampled_from([
    lambda v: v.translate(str.maketrans("0123456789@-", "０１２３４５６７８９＠－")), lambda v: f"{v}(본인)", lambda v: f"<{v}>",
    lambda v: f"김민준 <{v}>", lambda v: v.replace("@", " at ").replace(".", " dot "), lambda v: v.replace("@", "[at]"),
    lambda v: v.replace("@", " @ "), lambda v: f"고객 요청 {v} 로 연락 바랍니다", lambda v: v.upper(), lambda v: f" {v}\t"])


@given(IDENTIFIERS, st.booleans(), st.lists(WRAPS, max_size=3))
@settings(max_examples=200, deadline=None)
def test_an_identifier_in_any_wrapping_is_found(identifier, masked, wraps):
    value = identifier[masked]
    for wrap in wraps:
        value = wrap(value)
    findings = Findings()
    findings.add("c", pl.Series("c", [value, "배달", "포장"]), text=True)
    assert findings.found("c"), value
    assert identifier[0] not in redacted(pl.Series([value]))[0]


def test_every_kind_has_a_form_here():
    assert {k.name for k in KINDS} == set(FORMS)
