"""Dates of birth: date values (typed, or text in a common format) whose ages look like a
population's, told apart from event dates (flights, orders, log times) that cluster in a
few recent years."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

_TEXT_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%m-%Y",
    "%B %d, %Y",
)
_DATE_SHAPE = (
    r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|[A-Za-z]+ \d{1,2}, \d{4})$"
)


@dataclass(frozen=True)
class AgeProfile:
    """The dates of a sample read as ages (in years, on the scan's day)."""

    dates: int  # values that are dates
    plausible: int  # of which 0-120 years in the past
    median_age: float
    spread_years: float  # between the 5th and 95th percentiles of the ages


def _as_dates(values: pa.Array) -> pa.Array:
    if pa.types.is_timestamp(values.type):
        # ages need no time of day or zone: drop both before comparing with the scan's day
        return (
            values.cast(pa.int64())
            .cast(pa.timestamp(values.type.unit))
            .cast(pa.timestamp("s"), safe=False)
        )
    if pa.types.is_date(values.type):
        return values.cast(pa.timestamp("s"))
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return pa.array([], pa.timestamp("s"))
    shaped = values.filter(pc.match_substring_regex(values, _DATE_SHAPE))
    if len(shaped) == 0:
        return pa.array([], pa.timestamp("s"))
    best = pa.array([], pa.timestamp("s"))
    for fmt in _TEXT_FORMATS:
        parsed = pc.strptime(shaped, format=fmt, unit="s", error_is_null=True).drop_null()
        if len(parsed) > len(best):
            best = parsed
        if len(best) == len(shaped):
            break
    return best


def age_profile(values: pa.Array, today: dt.date) -> AgeProfile:
    """Read a column's sampled values as dates and describe the ages they imply."""
    dates = _as_dates(values).drop_null()
    if len(dates) == 0:
        return AgeProfile(0, 0, 0.0, 0.0)
    now = pa.scalar(dt.datetime(today.year, today.month, today.day), pa.timestamp("s"))
    seconds = pc.subtract(now, dates).cast(pa.int64())
    ages = pc.divide(seconds.cast(pa.float64()), 365.25 * 86400)
    plausible = ages.filter(pc.and_(pc.greater_equal(ages, 0), pc.less_equal(ages, 120)))
    if len(plausible) == 0:
        return AgeProfile(len(dates), 0, 0.0, 0.0)
    low, median, high = pc.quantile(plausible, q=[0.05, 0.5, 0.95]).to_pylist()
    return AgeProfile(len(dates), len(plausible), float(median), float(high - low))


def looks_like_birth_dates(profile: AgeProfile, named: bool) -> bool:
    """Birth dates: nearly all in the past 120 years; unless the column is named for birth,
    also spread over decades around an adult median (event dates cluster in recent years)."""
    if profile.dates == 0 or profile.plausible < 0.9 * profile.dates:
        return False
    if named:
        return True
    return profile.spread_years >= 30 and 16 <= profile.median_age <= 90
