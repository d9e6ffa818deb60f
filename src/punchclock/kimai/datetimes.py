"""Datetimes at the API edge: everything is stored in UTC and shown in a timezone.

Output is Kimai's ``Y-m-d\\TH:i:sO`` (``2024-05-01T09:00:00+0200``, offset without colon).
Input times without an offset are wall-clock times in a named zone. A time that does not exist
(the hour skipped when DST starts) moves forward by the gap, as PHP does; an ambiguous time (the
hour repeated when DST ends) means its first occurrence. A time the zone would move before year 1
or after year 9999 in UTC cannot be held: parsing gives None, as for malformed input.
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import suppress
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from zoneinfo import TZPATH, ZoneInfo, available_timezones

# ASCII digits, whole value (``$`` would let a trailing newline through), as PHP's date parsing.
_STRICT_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})", re.ASCII)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# The regions of PHP's DateTimeZone::listIdentifiers() (besides UTC); US/…, Etc/…, Factory and the
# like are not offered there.
_REGIONS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)


def _zone_tab() -> frozenset[str]:
    """The zones of tzdata's zone.tab (one per location, no deprecated aliases such as Europe/Kiev or
    America/Buenos_Aires), from the same places zoneinfo loads from; empty when none is installed."""
    sources: list[Traversable] = [Path(directory, "zone.tab") for directory in TZPATH]
    with suppress(ModuleNotFoundError):  # the tzdata package, zoneinfo's fallback
        sources.append(resources.files("tzdata").joinpath("zoneinfo", "zone.tab"))
    for source in sources:
        try:
            lines = source.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        return frozenset(line.split("\t")[2] for line in lines if line and not line.startswith("#"))
    return frozenset()


@lru_cache(maxsize=1)
def timezone_names() -> frozenset[str]:
    """What PHP's DateTimeZone::listIdentifiers() accepts: the canonical zones (those in zone.tab,
    when it can be found) of the geographic regions, plus UTC."""
    names = available_timezones()
    canonical = _zone_tab() & names
    return frozenset({name for name in canonical or names if name.split("/", 1)[0] in _REGIONS} | {"UTC"})


def is_timezone(name: str) -> bool:
    return name in timezone_names()


def _shown_in(instant: dt.datetime, tz: str) -> dt.datetime:
    try:
        return instant.astimezone(zone(tz))
    except OverflowError:  # within a day of year 1 or 9999: the zone's wall clock cannot be held
        return instant.astimezone(dt.UTC)


@lru_cache(maxsize=1024)
def _php_offset(offset: dt.timedelta | None) -> str:
    """PHP's ``O`` (``+0200``): whole minutes, so a local mean time offset of +00:53:28 is +0053.
    Cached: a zone has few offsets, and lists format thousands of datetimes."""
    seconds = int((offset or dt.timedelta()).total_seconds())
    hours, rest = divmod(abs(seconds), 3600)
    return f"{'-' if seconds < 0 else '+'}{hours:02d}{rest // 60:02d}"


def format_datetime(instant: dt.datetime | None, tz: str) -> str | None:
    if instant is None:
        return None
    if tz == "UTC" and instant.tzinfo is dt.UTC:  # modifiedAt everywhere: no zone to look up
        return instant.isoformat()[:19] + "+0000"
    local = _shown_in(instant, tz)
    # The wall clock to the second: isoformat always writes 4-digit years (strftime("%Y") leaves
    # years before 1000 unpadded on glibc) and puts fractions and offset after the 19th character.
    return local.isoformat()[:19] + _php_offset(local.utcoffset())


def format_date(instant: dt.datetime | None, tz: str) -> str | None:
    if instant is None:
        return None
    return _shown_in(instant, tz).date().isoformat()


def wall_clock(local: dt.datetime, tz: str) -> dt.datetime | None:
    """Attach ``tz`` to a naive wall-clock time and return the UTC instant; None when that instant
    falls before year 1 or after year 9999 (0001-01-01T00:00:00 east of UTC, for instance)."""
    aware = local.replace(tzinfo=zone(tz), fold=0)
    try:
        return aware.astimezone(dt.UTC)
    except OverflowError:
        return None


def _build(parts: tuple[str, ...]) -> dt.datetime | None:
    try:
        year, month, day, hour, minute, second = (int(p) for p in parts)
        return dt.datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - wall clock; caller adds the zone
    except ValueError:
        return None


def parse_strict_datetime(value: str, tz: str) -> dt.datetime | None:
    """``Y-m-d\\TH:i:s`` in ``tz`` (query parameters); None when malformed."""
    match = _STRICT_DATETIME.fullmatch(value)
    local = _build(match.groups()) if match else None
    return wall_clock(local, tz) if local else None


def parse_date(value: str) -> dt.date | None:
    match = _DATE.fullmatch(value)
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


def start_of_day(day: dt.date, tz: str) -> dt.datetime | None:
    """The day's first second in ``tz`` (None when it cannot be held, see ``wall_clock``)."""
    return wall_clock(dt.datetime(day.year, day.month, day.day), tz)  # noqa: DTZ001


def end_of_day(day: dt.date, tz: str) -> dt.datetime | None:
    """The day's last second in ``tz`` (None when it cannot be held, see ``wall_clock``)."""
    return wall_clock(dt.datetime(day.year, day.month, day.day, 23, 59, 59), tz)  # noqa: DTZ001


# Form fields (timesheet begin/end): date and time with a "T" or a space, seconds (one or two
# digits, as PHP reads them) and fraction optional, then optionally an offset ("Z", "+02:00",
# "+0200", "+02"), which is honoured.
_FORM_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{1,2})(?:\.\d+)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII | re.IGNORECASE,
)


def parse_form_datetime(value: str, tz: str) -> dt.datetime | None:
    """A datetime form value read in ``tz`` unless it carries an offset; None when malformed."""
    match = _FORM_DATETIME.fullmatch(value.strip())
    if not match:
        return None
    *parts, offset = match.groups()
    local = _build((*parts[:5], parts[5] or "0"))
    if local is None:
        return None
    if offset is None:
        return wall_clock(local, tz)
    if offset.upper() == "Z":
        shift = dt.timedelta()
    else:
        digits = offset[1:].replace(":", "")
        shift = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        if offset[0] == "-":
            shift = -shift
    try:
        return local.replace(tzinfo=dt.timezone(shift)).astimezone(dt.UTC)
    except (ValueError, OverflowError):  # offsets of 24 h or more, instants beyond year 9999
        return None
