"""Seoul as the generators see it: districts, dongs, regions, merchants, industries, stations.

Names are romanized ASCII as on the city's English pages. The geography is real (25
districts, a selection of their administrative dongs, the five regions of the Seoul
Plan); the weights are round figures that give each district its character (resident
population in thousands, a relative weight of commerce and offices).

>>> len(DISTRICTS), len(STATIONS), REGION_OF_DISTRICT["Gangnam-gu"]
(25, 25, 'Dongnam-gwon')
>>> commercial_areas("Mapo-gu")[:3]
('Hongdae area', 'Mangwon Market', 'Yeonnam-dong Gyeongui Line Forest Park')
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from math import exp

REGIONS = ("Dosim-gwon", "Dongbuk-gwon", "Seobuk-gwon", "Seonam-gwon", "Dongnam-gwon")


@dataclass(frozen=True)
class District:
    """A gu: where it is, how many live there, how much commerce it draws."""

    name: str
    region: str
    population: int  # residents, thousands
    business: float  # commerce and offices, relative (1 = an ordinary district)
    dongs: tuple[str, ...]
    landmarks: tuple[str, ...] = ()  # its best-known commercial areas


DISTRICTS = (
    District("Jongno-gu", "Dosim-gwon", 139, 3.0, (
        "Cheongunhyoja-dong", "Sajik-dong", "Samcheong-dong", "Buam-dong", "Pyeongchang-dong", "Gahoe-dong",
        "Jongno1-4ga-dong", "Ihwa-dong", "Hyehwa-dong", "Changsin1-dong", "Sungin1-dong", "Gyonam-dong"),
        ("Insadong", "Ikseon-dong Hanok Street", "Gwangjang Market", "Daehangno", "Seochon", "Jongno 3-ga")),
    District("Jung-gu", "Dosim-gwon", 121, 4.0, (
        "Sogong-dong", "Hoehyeon-dong", "Myeong-dong", "Pil-dong", "Jangchung-dong", "Gwanghui-dong",
        "Euljiro-dong", "Sindang-dong", "Dasan-dong", "Yaksu-dong", "Hwanghak-dong", "Jungnim-dong"),
        ("Myeong-dong Shopping Street", "Namdaemun Market", "Dongdaemun Fashion Town", "Euljiro Alley",
         "City Hall area", "Sindang Tteokbokki Town")),
    District("Yongsan-gu", "Dosim-gwon", 213, 1.4, (
        "Huam-dong", "Namyeong-dong", "Cheongpa-dong", "Wonhyoro1-dong", "Hyochang-dong", "Yongmun-dong",
        "Hangangno-dong", "Ichon1-dong", "Itaewon1-dong", "Hannam-dong", "Seobinggo-dong", "Bogwang-dong"),
        ("Itaewon", "Gyeongnidan-gil", "Yongsan Station area", "Hannam-dong Cafe Street", "Haebangchon")),
    District("Seongdong-gu", "Dongbuk-gwon", 281, 1.2, (
        "Wangsimni2-dong", "Majang-dong", "Sageun-dong", "Haengdang1-dong", "Eungbong-dong", "Geumho1ga-dong",
        "Oksu-dong", "Seongsu1ga1-dong", "Seongsu2ga3-dong", "Songjeong-dong", "Yongdap-dong"),
        ("Seongsu Cafe Street", "Wangsimni Station area", "Majang Meat Market", "Seoul Forest area")),
    District("Gwangjin-gu", "Dongbuk-gwon", 335, 1.1, (
        "Junggok1-dong", "Neung-dong", "Gunja-dong", "Hwayang-dong", "Jayang1-dong", "Guui1-dong",
        "Gwangjang-dong", "Noyu1-dong"),
        ("Konkuk Univ. area", "Children's Grand Park area", "Gangbyeon Station area")),
    District("Dongdaemun-gu", "Dongbuk-gwon", 342, 1.0, (
        "Yongsin-dong", "Jegi-dong", "Jeonnong1-dong", "Dapsimni1-dong", "Jangan1-dong", "Cheongnyangni-dong",
        "Hoegi-dong", "Hwigyeong1-dong", "Imun1-dong"),
        ("Gyeongdong Market", "Cheongnyangni Station area", "Hoegi Station area", "Dapsimni Antique Market")),
    District("Jungnang-gu", "Dongbuk-gwon", 382, 0.6, (
        "Myeonmokbon-dong", "Myeonmok2-dong", "Sangbong1-dong", "Junghwa1-dong", "Muk1-dong", "Mangu3-dong",
        "Sinnae1-dong", "Sinnae2-dong"),
        ("Sangbong Station area", "Dongbu Market")),
    District("Seongbuk-gu", "Dongbuk-gwon", 430, 0.7, (
        "Seongbuk-dong", "Samseon-dong", "Dongseon-dong", "Donam1-dong", "Anam-dong", "Bomun-dong",
        "Jeongneung1-dong", "Gireum1-dong", "Jongam-dong", "Wolgok1-dong", "Jangwi1-dong", "Seokgwan-dong"),
        ("Sungshin Women's Univ. Station area", "Anam Korea Univ. area", "Gireum Station area")),
    District("Gangbuk-gu", "Dongbuk-gwon", 288, 0.5, (
        "Samyang-dong", "Mia-dong", "Songjung-dong", "Songcheon-dong", "Samgaksan-dong", "Beon1-dong",
        "Suyu1-dong", "Ui-dong", "Insu-dong"),
        ("Mia Sageori area", "Suyu Station area")),
    District("Dobong-gu", "Dongbuk-gwon", 306, 0.4, (
        "Ssangmun1-dong", "Ssangmun2-dong", "Banghak1-dong", "Banghak2-dong", "Chang1-dong", "Chang4-dong",
        "Dobong1-dong"),
        ("Chang-dong Station area", "Banghak Dokkaebi Market")),
    District("Nowon-gu", "Dongbuk-gwon", 496, 0.7, (
        "Wolgye1-dong", "Gongneung1-dong", "Gongneung2-dong", "Hagye1-dong", "Junggyebon-dong", "Junggye1-dong",
        "Sanggye1-dong", "Sanggye2-dong"),
        ("Nowon Station area", "Gongneung Gyeongchun Line Forest Park", "Junggye Academy Street")),
    District("Eunpyeong-gu", "Seobuk-gwon", 462, 0.6, (
        "Nokbeon-dong", "Bulgwang1-dong", "Galhyeon1-dong", "Gusan-dong", "Daejo-dong", "Eungam1-dong",
        "Yeokchon-dong", "Sinsa1-dong", "Jeungsan-dong", "Susaek-dong", "Jingwan-dong"),
        ("Yeonsinnae Station area", "Bulgwang Station area", "Eunpyeong Hanok Village")),
    District("Seodaemun-gu", "Seobuk-gwon", 310, 1.0, (
        "Cheonyeon-dong", "Bugahyeon-dong", "Chunghyeon-dong", "Sinchon-dong", "Yeonhui-dong", "Hongje1-dong",
        "Hongeun1-dong", "Namgajwa1-dong", "Bukgajwa1-dong"),
        ("Sinchon area", "Ewha Womans Univ. area", "Yeonhui-dong Cafe Street", "Yeongcheon Market")),
    District("Mapo-gu", "Seobuk-gwon", 372, 2.2, (
        "Ahyeon-dong", "Gongdeok-dong", "Dohwa-dong", "Yonggang-dong", "Yeomni-dong", "Sinsu-dong",
        "Seogyo-dong", "Hapjeong-dong", "Mangwon1-dong", "Yeonnam-dong", "Seongsan1-dong", "Sangam-dong"),
        ("Hongdae area", "Mangwon Market", "Yeonnam-dong Gyeongui Line Forest Park", "Hapjeong Station area",
         "Gongdeok Station area", "Sangam DMC area")),
    District("Yangcheon-gu", "Seonam-gwon", 432, 0.8, (
        "Mok1-dong", "Mok2-dong", "Mok5-dong", "Sinjeong1-dong", "Sinjeong3-dong", "Sinwol1-dong", "Sinwol5-dong"),
        ("Mok-dong Academy Street", "Omokgyo Station area", "Sinjeong Station area")),
    District("Gangseo-gu", "Seonam-gwon", 562, 1.0, (
        "Yeomchang-dong", "Deungchon1-dong", "Hwagok1-dong", "Gayang1-dong", "Balsan1-dong", "Gonghang-dong",
        "Banghwa1-dong", "Ujangsan-dong"),
        ("Magok area", "Balsan Station area", "Hwagok Station area", "Gimpo Airport area")),
    District("Guro-gu", "Seonam-gwon", 398, 1.2, (
        "Sindorim-dong", "Guro1-dong", "Guro3-dong", "Garibong-dong", "Gocheok1-dong", "Gaebong1-dong",
        "Oryu1-dong", "Sugung-dong"),
        ("Guro Digital Complex area", "Sindorim Station area", "Guro Market", "Daerim Chinatown")),
    District("Geumcheon-gu", "Seonam-gwon", 230, 1.1, (
        "Gasan-dong", "Doksan1-dong", "Doksan2-dong", "Siheung1-dong", "Siheung2-dong", "Siheung4-dong"),
        ("Gasan Digital Complex area", "Gasan Outlet Street", "Doksan Station area")),
    District("Yeongdeungpo-gu", "Seonam-gwon", 376, 3.0, (
        "Yeongdeungpobon-dong", "Yeongdeungpo-dong", "Yeouido-dong", "Dangsan1-dong", "Dorim-dong",
        "Mullae-dong", "Yangpyeong1-dong", "Singil1-dong", "Daerim1-dong"),
        ("Yeouido Financial District", "Yeongdeungpo Station area", "Times Square area", "Mullae Art Village",
         "Dangsan Station area")),
    District("Dongjak-gu", "Seonam-gwon", 379, 0.7, (
        "Noryangjin1-dong", "Sangdo1-dong", "Sangdo2-dong", "Heukseok-dong", "Sadang1-dong", "Sadang2-dong",
        "Daebang-dong", "Sindaebang1-dong"),
        ("Noryangjin Fish Market", "Sadang Station area", "Noryangjin Exam Street")),
    District("Gwanak-gu", "Seonam-gwon", 486, 0.8, (
        "Boramae-dong", "Cheongnim-dong", "Seonghyeon-dong", "Haengun-dong", "Nakseongdae-dong",
        "Cheongnyong-dong", "Seorim-dong", "Sillim-dong", "Nanhyang-dong", "Jowon-dong", "Daehak-dong",
        "Namhyeon-dong"),
        ("Sillim Station area", "Seoul Nat'l Univ. Station area", "Sharosu-gil", "Sillim Sundae Town")),
    District("Seocho-gu", "Dongnam-gwon", 410, 3.0, (
        "Seocho1-dong", "Seocho2-dong", "Jamwon-dong", "Banpobon-dong", "Banpo1-dong", "Bangbae1-dong",
        "Yangjae1-dong", "Naegok-dong"),
        ("Express Bus Terminal area", "Seorae Village", "Gangnam Station area (Seocho)", "Yangjae Station area",
         "Bangbae Cafe Street")),
    District("Gangnam-gu", "Dongnam-gwon", 556, 4.5, (
        "Sinsa-dong", "Nonhyeon1-dong", "Apgujeong-dong", "Cheongdam-dong", "Samseong1-dong", "Daechi1-dong",
        "Yeoksam1-dong", "Yeoksam2-dong", "Dogok1-dong", "Gaepo1-dong", "Irwon1-dong", "Segok-dong"),
        ("Gangnam Station area", "Garosu-gil", "Apgujeong Rodeo Street", "Cheongdam Luxury Street",
         "COEX area", "Yeoksam Station area", "Daechi Academy Street", "Seolleung Station area")),
    District("Songpa-gu", "Dongnam-gwon", 654, 1.8, (
        "Pungnap1-dong", "Geoyeo1-dong", "Macheon1-dong", "Bangi1-dong", "Ogeum-dong", "Songpa1-dong",
        "Seokchon-dong", "Samjeon-dong", "Garak1-dong", "Munjeong1-dong", "Jamsilbon-dong", "Jamsil3-dong"),
        ("Jamsil Lotte World area", "Seokchon Lake Songnidan-gil", "Garak Market", "Munjeong Rodeo Street",
         "Bangi Food Alley")),
    District("Gangdong-gu", "Dongnam-gwon", 458, 0.9, (
        "Gangil-dong", "Sangil1-dong", "Myeongil1-dong", "Godeok1-dong", "Amsa1-dong", "Cheonho1-dong",
        "Seongnae1-dong", "Gil-dong", "Dunchon1-dong"),
        ("Cheonho Rodeo Street", "Gil-dong Market", "Amsa Station area", "Godeok Business District")),
)

DISTRICT_NAMES = tuple(d.name for d in DISTRICTS)
REGION_OF_DISTRICT = {d.name: d.region for d in DISTRICTS}
BUSINESS_WEIGHT = {d.name: d.business for d in DISTRICTS}
POPULATION_WEIGHT = {d.name: d.population / sum(x.population for x in DISTRICTS) for d in DISTRICTS}


def commercial_areas(district: str) -> tuple[str, ...]:
    """The district's commercial areas (sangkwon): its landmarks, then streets named after its dongs.

    A district has 8 to 20, more where there is more business.
    """
    gu = next(d for d in DISTRICTS if d.name == district)
    low, high = min(BUSINESS_WEIGHT.values()), max(BUSINESS_WEIGHT.values())
    wanted = 8 + round(12 * (gu.business - low) / (high - low))
    named = [
        f"{_stem(dong)}{suffix}"
        for suffix in (" Station area", " Market", " Alley")
        for dong in gu.dongs
    ]
    areas = list(dict.fromkeys(gu.landmarks + tuple(named)))
    return tuple(areas[:wanted])


def _stem(dong: str) -> str:
    """The dong's name without its number and suffix.

    >>> [_stem(d) for d in ("Yeoksam1-dong", "Seongsu1ga1-dong", "Jamsilbon-dong", "Gil-dong")]
    ['Yeoksam', 'Seongsu', 'Jamsil', 'Gil']
    """
    return re.sub(r"(bon)?(\d.*|-dong)$", "", dong)


# Public holidays of 2025 (Seollal, Chuseok and their substitutes included): people spend
# as on a Sunday.
HOLIDAYS = frozenset(dt.date(2025, m, d) for m, d in (
    (1, 1), (1, 27), (1, 28), (1, 29), (1, 30), (3, 3), (5, 5), (5, 6), (6, 3), (6, 6), (8, 15),
    (10, 3), (10, 6), (10, 7), (10, 8), (10, 9), (12, 25),
))


def _hours(*bumps: tuple[float, float, float], floor: float = 0.01, open_: tuple[float, float] = (0, 24)):
    """24 hourly weights: a floor plus bumps (peak hour, width, height), zero outside opening hours."""
    weights = []
    for hour in range(24):
        w = floor + sum(h * exp(-0.5 * (min(abs(hour - c), 24 - abs(hour - c)) / s) ** 2) for c, s, h in bumps)
        weights.append(w if open_[0] <= hour < open_[1] else 0.0)
    return tuple(weights)


MEALS = _hours((12.3, 0.9, 1.0), (18.8, 1.3, 0.8))
COFFEE = _hours((8.5, 1.0, 0.6), (13.0, 1.2, 1.0), (15.5, 1.5, 0.7), open_=(6, 24))
NIGHT = _hours((21.5, 1.8, 1.0), (0.5, 1.3, 0.6), floor=0.005)
ALL_DAY = _hours((8.0, 1.5, 0.5), (12.5, 1.5, 0.6), (19.5, 2.5, 0.9), floor=0.12)
SHOPS = _hours((15.0, 3.0, 1.0), floor=0.05, open_=(10, 21))
GROCERY = _hours((11.0, 2.0, 0.5), (18.0, 2.5, 1.0), floor=0.05, open_=(9, 24))
OFFICE = _hours((10.5, 1.5, 1.0), (15.0, 2.0, 0.9), floor=0.05, open_=(9, 19))
EVENING = _hours((15.0, 2.5, 0.6), (20.0, 2.0, 1.0), floor=0.02, open_=(9, 24))
COMMUTE = _hours((8.0, 1.0, 0.9), (18.5, 1.5, 1.0), (23.5, 1.5, 0.8), floor=0.04)
FUEL = _hours((8.0, 2.0, 0.7), (17.0, 3.0, 1.0), floor=0.04)
LODGING = _hours((15.0, 3.0, 1.0), (22.0, 2.0, 0.6), floor=0.03)
TEE_TIMES = _hours((7.0, 2.0, 1.0), (13.0, 3.0, 0.7), floor=0.0, open_=(5, 20))
# On a Sunday or holiday the morning starts later and the evening runs later.
DAY_OFF_HOURS = tuple(0.6 if 6 <= h < 10 else 1.2 if h >= 21 or h < 2 else 1.0 for h in range(24))


@dataclass(frozen=True)
class MerchantCategory:
    """What kind of shop a card was used at, and how people use it.

    `share` is its part of all transactions; an amount is log-normal with `median`
    (KRW) and `sigma`; `hours` is its hourly profile on a working day; `local` is how
    often people use it near home rather than in a business district; the tilts
    raise or lower its share on days off, for older cardholders and for women.
    """

    name: str
    share: float
    median: int
    sigma: float
    hours: tuple[float, ...]
    local: float
    day_off: float = 1.0
    older: float = 0.0
    female: float = 0.0
    luxury: bool = False


MERCHANT_CATEGORIES = (
    MerchantCategory("Restaurants", 0.22, 14_000, 0.55, MEALS, 0.45, 1.1),
    MerchantCategory("Cafes and bakeries", 0.13, 6_500, 0.50, COFFEE, 0.50, 1.0, -0.6, 0.3),
    MerchantCategory("Convenience stores", 0.16, 5_200, 0.70, ALL_DAY, 0.70, 1.0, -0.5),
    MerchantCategory("Supermarkets", 0.08, 32_000, 0.85, GROCERY, 0.80, 1.2, 0.5, 0.3),
    MerchantCategory("Bars and pubs", 0.04, 48_000, 0.70, NIGHT, 0.35, 1.2, -0.3, -0.3),
    MerchantCategory("Fast food", 0.04, 8_500, 0.45, MEALS, 0.50, 1.1, -0.8),
    MerchantCategory("Department stores", 0.025, 110_000, 1.00, SHOPS, 0.20, 1.6, 0.2, 0.5, luxury=True),
    MerchantCategory("Luxury goods", 0.002, 850_000, 0.90, SHOPS, 0.10, 1.5, 0.0, 0.4, luxury=True),
    MerchantCategory("Jewelry and watches", 0.002, 450_000, 1.00, SHOPS, 0.20, 1.4, 0.2, 0.3, luxury=True),
    MerchantCategory("Clothing", 0.03, 62_000, 0.80, SHOPS, 0.30, 1.4, -0.4, 0.5),
    MerchantCategory("Cosmetics", 0.02, 32_000, 0.70, SHOPS, 0.35, 1.2, -0.5, 1.0),
    MerchantCategory("Pharmacies", 0.03, 11_000, 0.60, OFFICE, 0.80, 0.6, 0.8, 0.2),
    MerchantCategory("Clinics and hospitals", 0.035, 22_000, 0.95, OFFICE, 0.70, 0.3, 0.9, 0.2),
    MerchantCategory("Fuel stations", 0.03, 62_000, 0.35, FUEL, 0.60, 1.0, 0.3, -0.8),
    MerchantCategory("Taxis and transport", 0.05, 13_000, 0.60, COMMUTE, 0.40, 0.9),
    MerchantCategory("Books and stationery", 0.01, 17_000, 0.70, SHOPS, 0.50, 1.1, -0.3, 0.2),
    MerchantCategory("Electronics", 0.008, 230_000, 1.10, SHOPS, 0.30, 1.5, 0.0, -0.5),
    MerchantCategory("Sports and fitness", 0.012, 70_000, 0.80, EVENING, 0.60, 1.2, -0.3),
    MerchantCategory("Academies", 0.01, 260_000, 0.60, OFFICE, 0.85, 0.5, 0.0, 0.4),
    MerchantCategory("Hotels", 0.004, 190_000, 0.60, LODGING, 0.05, 1.8, luxury=True),
    MerchantCategory("Cinemas and leisure", 0.015, 24_000, 0.50, EVENING, 0.40, 1.6, -0.6, 0.1),
    MerchantCategory("Beauty salons", 0.015, 35_000, 0.60, SHOPS, 0.65, 1.3, -0.1, 0.9),
    MerchantCategory("Golf", 0.002, 240_000, 0.60, TEE_TIMES, 0.20, 1.8, 0.8, -0.8, luxury=True),
    MerchantCategory("Furniture and interior", 0.003, 320_000, 1.10, SHOPS, 0.40, 1.4, 0.3, 0.2),
)

AGE_BANDS = ("20s", "30s", "40s", "50s", "60s", "70s")
CARDHOLDER_AGE_SHARE = (0.15, 0.20, 0.23, 0.22, 0.13, 0.07)
SPENDING_BY_AGE = (0.9, 1.1, 1.15, 1.05, 0.85, 0.6)  # how active a card is, relative
GENDERS = ("F", "M")

# Time bands of sales_by_location, and the share of a store's sales in each for the
# usual kinds of trade, with the part that falls on weekends.
TIME_BANDS = ("00_06", "06_11", "11_14", "14_17", "17_21", "21_24")


@dataclass(frozen=True)
class Trade:
    """When a kind of business sells: shares by time band, and its weekend share."""

    bands: tuple[float, float, float, float, float, float]
    weekend: float


TRADES = {
    "meals": Trade((0.01, 0.06, 0.38, 0.12, 0.35, 0.08), 0.30),
    "coffee": Trade((0.00, 0.22, 0.28, 0.27, 0.18, 0.05), 0.30),
    "night": Trade((0.22, 0.00, 0.03, 0.05, 0.35, 0.35), 0.38),
    "office": Trade((0.00, 0.18, 0.32, 0.32, 0.18, 0.00), 0.12),
    "retail": Trade((0.01, 0.10, 0.22, 0.27, 0.30, 0.10), 0.33),
    "all_day": Trade((0.08, 0.18, 0.20, 0.17, 0.22, 0.15), 0.28),
    "lessons": Trade((0.00, 0.03, 0.07, 0.30, 0.45, 0.15), 0.20),
    "leisure": Trade((0.15, 0.04, 0.08, 0.18, 0.30, 0.25), 0.40),
    "lodging": Trade((0.25, 0.10, 0.05, 0.15, 0.20, 0.25), 0.45),
}


@dataclass(frozen=True)
class ServiceIndustry:
    """A line of Seoul's service-industry list, and the size of its stores.

    `share` is its part of all stores; monthly sales are log-normal around `median`
    (KRW) with `sigma`, times a Pareto factor with exponent `tail` (the smaller, the
    more a few big stores dominate); `ticket` is a typical sale (KRW).
    """

    name: str
    share: float
    median: int
    sigma: float
    tail: float
    ticket: int
    trade: str


SERVICE_INDUSTRIES = (
    # Food service
    ServiceIndustry("Korean restaurant", 0.120, 28_000_000, 0.8, 2.0, 16_000, "meals"),
    ServiceIndustry("Chinese restaurant", 0.020, 30_000_000, 0.8, 2.0, 18_000, "meals"),
    ServiceIndustry("Japanese restaurant", 0.015, 35_000_000, 0.9, 1.8, 25_000, "meals"),
    ServiceIndustry("Western restaurant", 0.015, 38_000_000, 0.9, 1.8, 28_000, "meals"),
    ServiceIndustry("Bakery", 0.015, 25_000_000, 0.8, 1.8, 9_000, "coffee"),
    ServiceIndustry("Fast food", 0.012, 45_000_000, 0.7, 2.0, 9_500, "meals"),
    ServiceIndustry("Chicken restaurant", 0.030, 22_000_000, 0.7, 2.2, 24_000, "night"),
    ServiceIndustry("Snack bar", 0.030, 12_000_000, 0.7, 2.2, 8_000, "meals"),
    ServiceIndustry("Pub", 0.035, 25_000_000, 0.9, 1.8, 55_000, "night"),
    ServiceIndustry("Coffee and beverage", 0.070, 15_000_000, 0.9, 1.6, 6_000, "coffee"),
    # Services
    ServiceIndustry("General hospital", 0.0015, 8_000_000_000, 0.8, 1.5, 60_000, "office"),
    ServiceIndustry("General clinic", 0.025, 60_000_000, 0.9, 1.6, 25_000, "office"),
    ServiceIndustry("Dental clinic", 0.015, 70_000_000, 0.9, 1.6, 90_000, "office"),
    ServiceIndustry("Korean medicine clinic", 0.012, 35_000_000, 0.9, 1.8, 40_000, "office"),
    ServiceIndustry("Veterinary clinic", 0.005, 30_000_000, 0.8, 1.8, 70_000, "office"),
    ServiceIndustry("Law office", 0.008, 40_000_000, 1.1, 1.3, 800_000, "office"),
    ServiceIndustry("Tax accounting office", 0.008, 25_000_000, 0.9, 1.6, 400_000, "office"),
    ServiceIndustry("Tutoring academy", 0.040, 20_000_000, 1.0, 1.5, 300_000, "lessons"),
    ServiceIndustry("Foreign language academy", 0.012, 30_000_000, 1.0, 1.5, 250_000, "lessons"),
    ServiceIndustry("Arts academy", 0.010, 8_000_000, 0.8, 2.0, 150_000, "lessons"),
    ServiceIndustry("Sports academy", 0.010, 12_000_000, 0.8, 2.0, 150_000, "lessons"),
    ServiceIndustry("Golf practice range", 0.006, 30_000_000, 1.0, 1.5, 60_000, "leisure"),
    ServiceIndustry("Fitness center", 0.012, 20_000_000, 0.9, 1.8, 120_000, "lessons"),
    ServiceIndustry("Billiards hall", 0.008, 6_000_000, 0.6, 2.5, 15_000, "leisure"),
    ServiceIndustry("PC room", 0.010, 12_000_000, 0.6, 2.5, 5_000, "leisure"),
    ServiceIndustry("Karaoke", 0.012, 8_000_000, 0.7, 2.2, 25_000, "leisure"),
    ServiceIndustry("Real-estate agency", 0.040, 5_000_000, 1.1, 1.4, 500_000, "office"),
    ServiceIndustry("Hotel", 0.003, 300_000_000, 1.2, 1.2, 180_000, "lodging"),
    ServiceIndustry("Motel", 0.006, 25_000_000, 0.7, 2.0, 50_000, "lodging"),
    ServiceIndustry("Guesthouse", 0.004, 6_000_000, 0.8, 2.0, 60_000, "lodging"),
    ServiceIndustry("Goshiwon", 0.006, 7_000_000, 0.5, 2.5, 400_000, "lodging"),
    ServiceIndustry("Hair salon", 0.050, 9_000_000, 0.9, 1.8, 30_000, "retail"),
    ServiceIndustry("Nail salon", 0.012, 5_000_000, 0.7, 2.2, 40_000, "retail"),
    ServiceIndustry("Skin care shop", 0.012, 8_000_000, 0.9, 1.8, 70_000, "retail"),
    ServiceIndustry("Laundry", 0.015, 4_000_000, 0.6, 2.5, 12_000, "retail"),
    ServiceIndustry("Auto repair", 0.010, 25_000_000, 0.9, 1.8, 150_000, "office"),
    ServiceIndustry("Car wash", 0.003, 8_000_000, 0.7, 2.2, 20_000, "retail"),
    ServiceIndustry("Appliance repair", 0.004, 5_000_000, 0.7, 2.2, 60_000, "office"),
    ServiceIndustry("Photo studio", 0.004, 6_000_000, 0.8, 2.0, 50_000, "retail"),
    ServiceIndustry("Sauna", 0.003, 20_000_000, 0.7, 2.0, 12_000, "all_day"),
    # Retail
    ServiceIndustry("Department store", 0.0008, 25_000_000_000, 0.6, 2.5, 130_000, "retail"),
    ServiceIndustry("Hypermarket", 0.0015, 3_000_000_000, 0.4, 3.0, 70_000, "retail"),
    ServiceIndustry("Supermarket", 0.025, 80_000_000, 1.0, 1.5, 28_000, "retail"),
    ServiceIndustry("Convenience store", 0.060, 45_000_000, 0.5, 3.0, 6_000, "all_day"),
    ServiceIndustry("Computer store", 0.006, 20_000_000, 1.0, 1.6, 300_000, "retail"),
    ServiceIndustry("Mobile phone store", 0.015, 30_000_000, 0.9, 1.8, 250_000, "retail"),
    ServiceIndustry("Butcher", 0.010, 30_000_000, 0.8, 2.0, 35_000, "retail"),
    ServiceIndustry("Fruit and vegetables", 0.012, 18_000_000, 0.8, 2.0, 15_000, "retail"),
    ServiceIndustry("Side dish shop", 0.008, 12_000_000, 0.7, 2.2, 14_000, "retail"),
    ServiceIndustry("Rice cake shop", 0.006, 10_000_000, 0.7, 2.2, 12_000, "coffee"),
    ServiceIndustry("Fish shop", 0.006, 20_000_000, 0.8, 2.0, 30_000, "retail"),
    ServiceIndustry("Stationery", 0.006, 6_000_000, 0.7, 2.2, 8_000, "retail"),
    ServiceIndustry("Bookstore", 0.004, 12_000_000, 1.0, 1.6, 18_000, "retail"),
    ServiceIndustry("Florist", 0.006, 6_000_000, 0.8, 2.0, 40_000, "retail"),
    ServiceIndustry("Pharmacy", 0.020, 60_000_000, 0.7, 2.0, 15_000, "office"),
    ServiceIndustry("Optician", 0.008, 20_000_000, 0.7, 2.0, 120_000, "retail"),
    ServiceIndustry("Cosmetics", 0.015, 25_000_000, 1.0, 1.6, 30_000, "retail"),
    ServiceIndustry("Sporting goods", 0.006, 25_000_000, 1.0, 1.6, 80_000, "retail"),
    ServiceIndustry("Clothing", 0.040, 20_000_000, 1.0, 1.5, 60_000, "retail"),
    ServiceIndustry("Shoes", 0.008, 18_000_000, 0.9, 1.7, 80_000, "retail"),
    ServiceIndustry("Bags", 0.005, 20_000_000, 1.2, 1.3, 150_000, "retail"),
    ServiceIndustry("Jewelry", 0.006, 25_000_000, 1.3, 1.2, 400_000, "retail"),
    ServiceIndustry("Furniture", 0.006, 30_000_000, 1.0, 1.5, 500_000, "retail"),
    ServiceIndustry("Household goods", 0.012, 12_000_000, 0.8, 2.0, 20_000, "retail"),
    ServiceIndustry("Electronics", 0.006, 60_000_000, 1.1, 1.4, 400_000, "retail"),
    ServiceIndustry("Interior", 0.008, 20_000_000, 1.1, 1.5, 1_500_000, "office"),
)


@dataclass(frozen=True)
class Station:
    """An air-monitoring station; a roadside one sits by heavy traffic."""

    name: str
    district: str
    roadside: bool


ROADSIDE = frozenset({"Jongno-gu", "Jung-gu", "Gangnam-gu", "Seocho-gu", "Yeongdeungpo-gu", "Dongdaemun-gu"})
STATIONS = tuple(Station(d.name, d.name, d.name in ROADSIDE) for d in DISTRICTS)
