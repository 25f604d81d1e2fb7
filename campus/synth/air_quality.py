"""air_quality: hourly readings of the 25 district air-monitoring stations.

The size is fixed: 25 stations x every hour of the year (about 219,000 rows). It does
not grow with the scale factor, which only the other datasets follow.

Particulate matter follows Seoul's year: high in winter and spring, highest in March
and April when yellow dust blows in (PM10 well above PM2.5 for a day or three), low
in late summer. All stations share a city-wide weather factor that drifts from hour
to hour (stagnant days are bad everywhere at once), plus their own noise; the day has
rush-hour peaks. Roadside stations read higher NO2 and CO and lower ozone; ozone
peaks on summer afternoons. About 0.5% of readings are missing (null): a station
sometimes drops out for an hour, and single instruments now and then.
Particulates are whole ug/m3, gases are rounded to 0.001 ppm.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import seoul
from .partition import YEAR_STREAM, Month, random_stream
from .schema import table
from .text import labels

DATASET = 3  # this dataset's place in the seed: never renumber

# Monthly means, January to December.
PM25 = (27, 29, 31, 24, 20, 17, 13, 11, 11, 15, 21, 25)  # ug/m3
PM10_RATIO = (1.6, 1.7, 1.9, 2.0, 1.9, 1.7, 1.5, 1.5, 1.5, 1.6, 1.7, 1.6)  # PM10 / PM2.5 without dust
YELLOW_DUST = (0.1, 0.4, 1.5, 1.2, 0.5, 0, 0, 0, 0, 0, 0.2, 0.1)  # expected dust episodes
NO2 = (0.032, 0.030, 0.028, 0.024, 0.021, 0.018, 0.015, 0.015, 0.018, 0.023, 0.028, 0.031)  # ppm
O3 = (0.016, 0.021, 0.029, 0.035, 0.041, 0.044, 0.034, 0.031, 0.028, 0.022, 0.017, 0.015)  # ppm
CO = (0.55, 0.50, 0.45, 0.40, 0.35, 0.32, 0.30, 0.30, 0.32, 0.38, 0.45, 0.52)  # ppm
SO2 = 0.003  # ppm

WEATHER_PERSISTENCE = 0.97  # hour-to-hour correlation of the city-wide factor
WEATHER_SPREAD = 0.45  # its log-sd
STATION_PERSISTENCE = 0.85
STATION_SPREAD = 0.18
STATION_OUTAGE = 0.003  # chance a station's whole reading is missing
INSTRUMENT_GAP = 0.002  # chance one value is missing

HOURS = np.arange(24)


def _day_shape(*bumps: tuple[float, float, float]) -> np.ndarray:
    """A daily cycle with mean 1: one plus bumps (hour, width, height; negative dips)."""
    shape = 1 + sum(h * np.exp(-0.5 * ((HOURS - c) / w) ** 2) for c, w, h in bumps)
    return shape / shape.mean()


RUSH_HOURS = _day_shape((9, 1.5, 0.25), (21, 2, 0.2), (15, 2, -0.15))  # particulates
TRAFFIC = _day_shape((8.5, 1.5, 0.6), (19.5, 2, 0.5))  # NO2
SUNSHINE = _day_shape((15, 2.5, 3.5))  # ozone

STATIONS = seoul.STATIONS
ROADSIDE = np.array([s.roadside for s in STATIONS])


@dataclass(frozen=True)
class Stations:
    """The stations' standing differences: some sit where the air is usually worse."""

    seed: int
    level: np.ndarray  # a multiplier per station


def population(seed: int, scale: float) -> Stations:
    """The 25 stations; `scale` is ignored (the dataset has a fixed size)."""
    rng = random_stream(seed, DATASET, YEAR_STREAM, 0)
    return Stations(seed, rng.lognormal(0.0, 0.12, len(STATIONS)) * np.where(ROADSIDE, 1.1, 1.0))


def partition(schema: pa.Schema, stations: Stations, month: Month) -> Iterator[pa.Table]:
    """Every station's reading for every hour of the month, hour by hour."""
    rng = random_stream(stations.seed, DATASET, month.number, 1)
    yield table(schema, _readings(rng, stations, month))


def _readings(rng: np.random.Generator, stations: Stations, month: Month) -> dict:
    """Every (hour, station) reading of the month as catalog columns, missing values masked."""
    hours = month.days * 24
    weather = _drift(rng, (hours, 1), WEATHER_PERSISTENCE, WEATHER_SPREAD)
    measures = _particulates(rng, stations, month, weather) | _gases(rng, month, weather)
    missing = _missing(rng, hours * len(STATIONS), len(measures))
    station = np.tile(np.arange(len(STATIONS)), hours)
    return {
        "station": labels([s.name for s in STATIONS], station),
        "district": labels([s.district for s in STATIONS], station),
        "measured_at": month.first.astype("datetime64[h]") + np.arange(hours).repeat(len(STATIONS)),
        **{
            name: np.ma.masked_array(values.ravel(), mask=missing[:, k])
            for k, (name, values) in enumerate(measures.items())
        },
    }


def _particulates(rng: np.random.Generator, stations: Stations, month: Month, weather: np.ndarray) -> dict:
    """PM10 and PM2.5 (hour, station), whole ug/m3: the weather, the station, the hour, yellow dust."""
    hours, m = len(weather), month.number - 1
    local = _drift(rng, (hours, len(STATIONS)), STATION_PERSISTENCE, STATION_SPREAD)
    air = np.exp(weather + local - (WEATHER_SPREAD**2 + STATION_SPREAD**2) / 2) * stations.level
    dust = _yellow_dust(rng, hours, YELLOW_DUST[m])[:, None] * rng.lognormal(0.0, 0.15, len(STATIONS))
    pm25 = PM25[m] * air * RUSH_HOURS[_hour_of_day(hours)] + 0.2 * dust
    pm10 = pm25 * PM10_RATIO[m] * rng.lognormal(0.0, 0.1, pm25.shape) + dust
    return {"pm10": np.maximum(1, np.round(pm10)), "pm25": np.maximum(1, np.round(pm25))}


def _gases(rng: np.random.Generator, month: Month, weather: np.ndarray) -> dict:
    """O3, NO2, CO and SO2 (hour, station), to 0.001 ppm: traffic by the road, ozone in the sun."""
    hour, m = _hour_of_day(len(weather)), month.number - 1
    road = np.where(ROADSIDE, 1.4, 1.0)
    no2 = NO2[m] * road * TRAFFIC[hour] * _around_one(rng, 0.6 * weather, 0.2)
    co = CO[m] * np.where(ROADSIDE, 1.2, 1.0) * _around_one(rng, 0.5 * weather, 0.15)
    o3 = O3[m] * SUNSHINE[hour] / road**0.5 * _around_one(rng, -0.3 * weather, 0.2)
    so2 = SO2 * (1.2 if m in (0, 1, 11) else 1.0) * rng.lognormal(0.0, 0.25, no2.shape)
    return {
        "o3": np.maximum(0.001, np.round(o3, 3)),
        "no2": np.maximum(0.001, np.round(no2, 3)),
        "co": np.maximum(0.1, np.round(co, 3)),
        "so2": np.maximum(0.001, np.round(so2, 3)),
    }


def _hour_of_day(hours: int) -> np.ndarray:
    return np.arange(hours)[:, None] % 24


def _around_one(rng: np.random.Generator, shared: np.ndarray, spread: float) -> np.ndarray:
    """A multiplier around 1: the shared weather (log) plus each station's own noise."""
    return np.exp(shared + rng.normal(-(spread**2) / 2, spread, (len(shared), len(STATIONS))))


def _drift(rng: np.random.Generator, shape: tuple[int, int], persistence: float, spread: float) -> np.ndarray:
    """An AR(1) series per column, stationary with log-sd `spread` (a loop over hours, not rows)."""
    shocks = rng.normal(0.0, spread * np.sqrt(1 - persistence**2), shape)
    series = np.empty(shape)
    series[0] = rng.normal(0.0, spread, shape[1])
    for hour in range(1, shape[0]):
        series[hour] = persistence * series[hour - 1] + shocks[hour]
    return series


def _yellow_dust(rng: np.random.Generator, hours: int, expected: float) -> np.ndarray:
    """Extra PM10 (ug/m3) per hour from the month's yellow-dust episodes: rise and fall over 1-3 days."""
    dust = np.zeros(hours)
    for _ in range(rng.poisson(expected)):
        start, length = rng.integers(0, hours), rng.integers(24, 72)
        span = np.arange(start, min(start + length, hours))
        dust[span] += rng.uniform(120, 400) * np.sin(np.pi * (span - start + 0.5) / length)
    return dust


def _missing(rng: np.random.Generator, readings: int, measures: int) -> np.ndarray:
    """(reading, measure): which values are missing, from station outages and single gaps."""
    outage = rng.random((readings, 1)) < STATION_OUTAGE
    return outage | (rng.random((readings, measures)) < INSTRUMENT_GAP)
