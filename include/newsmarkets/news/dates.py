"""Parse the timestamps news sites and feeds publish into aware UTC datetimes.

Feeds use RFC 822 (``Mon, 05 Jan 2026 15:45:00 GMT``), pages and sitemaps ISO
8601 / W3C-DTF, and bylines free text (``January 5, 2026 at 3:45 PM ET``,
``05.01.2026 15:45``). A value without an offset is local time of the source,
so the caller says which zone that is; we never assume the machine's zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_tz
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class TimezoneError(ValueError):
    """A source timezone name is not a known IANA zone."""


@dataclass(frozen=True)
class ParsedTime:
    """A parsed timestamp and whether the source gave a time of day (not just a date)."""

    value: datetime  # aware, UTC
    has_time: bool


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The IANA zone ``name`` (``UTC``, ``Europe/Berlin``); a clear error when unknown."""
    if name.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimezoneError(f"unknown timezone {name!r}; use an IANA name such as 'Europe/Berlin'") from None


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    return naive.replace(tzinfo=tz).astimezone(timezone.utc)


_ISO_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}")
# Python 3.11 parses most ISO forms; these are the common near-misses seen in the wild.
_TZ_NO_COLON = re.compile(r"([+-]\d{2})(\d{2})$")
_FRACTION = re.compile(r"\.(\d+)")


def parse_iso(text: str, tz: tzinfo = timezone.utc) -> ParsedTime | None:
    """ISO 8601 / W3C-DTF (``2026-01-05``, ``2026-01-05T15:45+01:00``, ``...Z``) or None."""
    s = text.strip()
    if not s:
        return None
    if _ISO_DATE_ONLY.match(s):
        try:
            return ParsedTime(_localize(datetime.fromisoformat(s), tz), has_time=False)
        except ValueError:
            return None
    if not _ISO_DATE_TIME.match(s):
        return None
    s = s.replace("z", "Z").replace("Z", "+00:00")
    s = _TZ_NO_COLON.sub(r"\1:\2", s)
    # fromisoformat accepts only 3 or 6 fractional digits before 3.12 in some forms
    s = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], s, count=1)
    if re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d:", s):  # single-digit hour
        s = s[:11] + "0" + s[11:]
    try:
        value = datetime.fromisoformat(s)
    except ValueError:
        return None
    if value.tzinfo is None:
        return ParsedTime(_localize(value, tz), has_time=True)
    return ParsedTime(value.astimezone(timezone.utc), has_time=True)


def parse_rfc822(text: str, tz: tzinfo = timezone.utc) -> ParsedTime | None:
    """RFC 822/2822 dates as in RSS ``pubDate``; a missing zone means ``tz``."""
    s = text.strip()
    if not s or not re.search(r"[A-Za-z]{3}", s):
        return None
    parsed = parsedate_tz(s)
    if parsed is None:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    try:
        naive = datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return None
    offset = parsed[9]
    # parsedate_tz reports no zone as None; "-0000" (unknown local) is also None in practice
    has_zone = offset is not None and re.search(r"([+-]\d{4}|\b(?:GMT|UT|UTC|Z|[ECMP][SD]T)\b)\s*$", s) is not None
    if not has_zone:
        return ParsedTime(_localize(naive, tz), has_time=True)
    return ParsedTime(naive.replace(tzinfo=timezone.utc) - timedelta(seconds=offset), has_time=True)


def parse_timestamp(text: str | None, tz: tzinfo | str = timezone.utc) -> ParsedTime | None:
    """Structured timestamp (ISO 8601 first, then RFC 822); naive values are in ``tz``."""
    if not text:
        return None
    tzi = zone(tz) if isinstance(tz, str) else tz
    return parse_iso(text, tzi) or parse_rfc822(text, tzi)


_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
# Zone abbreviations that bylines print after the time; US ones follow DST via the IANA zone.
_ABBREVIATIONS = {
    "UTC": "UTC",
    "GMT": "UTC",
    "Z": "UTC",
    "ET": "America/New_York",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "CT": "America/Chicago",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "MT": "America/Denver",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "PT": "America/Los_Angeles",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "BST": "Europe/London",
    "CET": "Europe/Paris",
    "CEST": "Europe/Paris",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "HKT": "Asia/Hong_Kong",
    "SGT": "Asia/Singapore",
    "IST": "Asia/Kolkata",
}
_TIME_RE = (
    r"(?:\s*(?:,|at|@|\||-|–|—)?\s*"
    r"(?P<hour>\d{1,2})[:.h](?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"\s*(?P<ampm>[ap]\.?\s?m\.?)?"
    r"(?:\s*\(?(?P<zone>UTC|GMT|Z|[ECMP][SD]?T|BST|CEST|CET|JST|KST|HKT|SGT|IST)\)?"
    r"(?P<offset>\s*[+-]\d{1,2}(?::?\d{2})?)?)?"
    r")?"
)
_VISIBLE_PATTERNS = [
    # January 5, 2026 at 3:45 PM / Jan. 5 2026, 15:45 UTC
    re.compile(r"\b" + _MONTH_RE + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})\b" + _TIME_RE, re.I),
    # 5 January 2026 15:45
    re.compile(r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\.?\s+" + _MONTH_RE + r",?\s+(?P<year>\d{4})\b" + _TIME_RE, re.I),
    # 05.01.2026 15:45 (day first, the European convention for dotted dates)
    re.compile(r"\b(?P<day>\d{1,2})\.(?P<month_num>\d{1,2})\.(?P<year>\d{4})\b" + _TIME_RE, re.I),
    # 2026-01-05 15:45 / 2026/01/05 15:45
    re.compile(r"\b(?P<year>\d{4})[-/](?P<month_num>\d{1,2})[-/](?P<day>\d{1,2})\b" + _TIME_RE, re.I),
]


@dataclass(frozen=True)
class VisibleTime:
    parsed: ParsedTime
    start: int  # character offset of the match, so callers can look at the words before it
    end: int


def find_visible_times(text: str, tz: tzinfo | str = timezone.utc) -> list[VisibleTime]:
    """Every human-written date(+time) in ``text``, in order of appearance.

    A zone abbreviation printed after the time (``ET``, ``UTC``, ``CET``) wins
    over ``tz``; slash dates other than year-first are skipped because
    05/01 is January 5 in one country and May 1 in the next.
    """
    tzi = zone(tz) if isinstance(tz, str) else tz
    found: dict[int, VisibleTime] = {}
    for pattern in _VISIBLE_PATTERNS:
        for m in pattern.finditer(text):
            if any(v.start <= m.start() < v.end for v in found.values()):
                continue
            parsed = _visible_match(m, tzi)
            if parsed is not None:
                found[m.start()] = VisibleTime(parsed, m.start(), m.end())
    return [found[k] for k in sorted(found)]


def _visible_match(m: re.Match, tz: tzinfo) -> ParsedTime | None:
    g = m.groupdict()
    month = _MONTHS[g["month"].lower().rstrip(".")] if g.get("month") else int(g["month_num"])
    try:
        day, year = int(g["day"]), int(g["year"])
        if g.get("hour") is None:
            return ParsedTime(_localize(datetime(year, month, day), tz), has_time=False)
        hour, minute = int(g["hour"]), int(g["minute"])
        ampm = (g.get("ampm") or "").replace(".", "").replace(" ", "").lower()
        if ampm:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        naive = datetime(year, month, day, hour, minute, int(g.get("second") or 0))
    except ValueError:
        return None
    offset = (g.get("offset") or "").strip()
    if offset:
        sign = -1 if offset.startswith("-") else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
        return ParsedTime(naive.replace(tzinfo=timezone.utc) - sign * timedelta(hours=hours, minutes=minutes), True)
    abbreviation = (g.get("zone") or "").upper()
    if abbreviation:
        return ParsedTime(_localize(naive, zone(_ABBREVIATIONS[abbreviation])), has_time=True)
    return ParsedTime(_localize(naive, tz), has_time=True)
