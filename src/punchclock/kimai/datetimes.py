"""Datetimes at the API edge: everything is stored in UTC and shown in a timezone.

Output is Kimai's ``Y-m-d\\TH:i:sO`` (``2024-05-01T09:00:00+0200``, offset without colon).
Input times without an offset are wall-clock times in a named zone. A time that does not exist
(the hour skipped when DST starts) moves forward by the gap, as PHP does; an ambiguous time (the
hour repeated when DST ends) means its first occurrence.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

_STRICT_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def timezone_names() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


def is_timezone(name: str) -> bool:
    return name in timezone_names()


def format_datetime(instant: dt.datetime | None, tz: str) -> str | None:
    if instant is None:
        return None
    return instant.astimezone(zone(tz)).strftime("%Y-%m-%dT%H:%M:%S%z")


def format_date(instant: dt.datetime | None, tz: str) -> str | None:
    if instant is None:
        return None
    return instant.astimezone(zone(tz)).strftime("%Y-%m-%d")


def wall_clock(local: dt.datetime, tz: str) -> dt.datetime:
    """Attach ``tz`` to a naive wall-clock time and return the UTC instant."""
    aware = local.replace(tzinfo=zone(tz), fold=0)
    return aware.astimezone(dt.UTC)


def _build(parts: tuple[str, ...]) -> dt.datetime | None:
    try:
        year, month, day, hour, minute, second = (int(p) for p in parts)
        return dt.datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - wall clock; caller adds the zone
    except ValueError:
        return None


def parse_strict_datetime(value: str, tz: str) -> dt.datetime | None:
    """``Y-m-d\\TH:i:s`` in ``tz`` (query parameters); None when malformed."""
    match = _STRICT_DATETIME.match(value)
    local = _build(match.groups()) if match else None
    return wall_clock(local, tz) if local else None


def parse_date(value: str) -> dt.date | None:
    match = _DATE.match(value)
    if not match:
        return None
    try:
        return dt.date(*(int(p) for p in match.groups()))
    except ValueError:
        return None


def parse_date_or_datetime(value: str, tz: str) -> dt.datetime | None:
    """``Y-m-d\\TH:i:s`` or ``Y-m-d`` (midnight) in ``tz``; None when malformed."""
    day = parse_date(value)
    if day is not None:
        return start_of_day(day, tz)
    return parse_strict_datetime(value, tz)


def start_of_day(day: dt.date, tz: str) -> dt.datetime:
    return wall_clock(dt.datetime(day.year, day.month, day.day), tz)  # noqa: DTZ001


def end_of_day(day: dt.date, tz: str) -> dt.datetime:
    return wall_clock(dt.datetime(day.year, day.month, day.day, 23, 59, 59), tz)  # noqa: DTZ001
