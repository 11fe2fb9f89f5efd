"""Parse the timestamps news sites and feeds publish into aware UTC datetimes.

Feeds use RFC 822 (``Mon, 05 Jan 2026 15:45:00 GMT``), pages and sitemaps ISO
8601 / W3C-DTF, and bylines free text (``January 5, 2026 at 3:45 PM ET``,
``05.01.2026 15:45``, ``3. Mai 2024, 10:15 Uhr``, ``2024年5月3日 10時15分``,
``2 hours ago``). A value without an offset is local time of the source,
so the caller says which zone that is; we never assume the machine's zone.

A local time the clocks show twice (the repeated hour when summer time ends)
or never (the skipped hour when it starts) has two readings; the parsers
return the one with the offset in force before the change and keep the other
in :attr:`ParsedTime.alternative`, so the caller can settle it with other
evidence (the feed's time) or say that it could not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
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
    # the other UTC reading of a local time that a DST change repeats or skips; None when unique
    alternative: datetime | None = None
    # the calendar day as the source states it (its own offset or zone); None for elapsed times
    local_day: date | None = field(default=None, compare=False)
    # the UTC offset the text itself stated ("+02:00", "Z", "GMT"); None for a wall time read in a zone
    stated_offset: timedelta | None = field(default=None, compare=False)

    @property
    def is_ambiguous(self) -> bool:
        """The printed local time does not name one instant (a DST change repeats or skips it)."""
        return self.alternative is not None

    def settled(self, value: datetime) -> "ParsedTime":
        """This time with the ambiguity resolved to ``value`` (one of its readings)."""
        return ParsedTime(value, self.has_time, local_day=self.local_day, stated_offset=self.stated_offset)


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The IANA zone ``name`` (``UTC``, ``Europe/Berlin``); a clear error when unknown."""
    if name.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimezoneError(f"unknown timezone {name!r}; use an IANA name such as 'Europe/Berlin'") from None


def _local(naive: datetime, tz: tzinfo, has_time: bool = True) -> ParsedTime:
    """A wall-clock time in ``tz`` as UTC, with the second reading when a DST change makes it ambiguous.

    ``fold=0`` and ``fold=1`` give different instants exactly when the local
    time is repeated (autumn) or skipped (spring); the ``fold=0`` reading, with
    the offset in force before the change, is the value. A date without a time
    of day is nominal midnight and never ambiguous.
    """
    value = naive.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)
    if not has_time:
        return ParsedTime(value, False, local_day=naive.date())
    other = naive.replace(tzinfo=tz, fold=1).astimezone(timezone.utc)
    return ParsedTime(value, True, other if other != value else None, local_day=naive.date())


def is_nonexistent(naive: datetime, tz: tzinfo | str) -> bool:
    """``naive`` is a wall-clock time that ``tz`` skips (the hour lost when summer time starts)."""
    tzi = zone(tz) if isinstance(tz, str) else tz
    aware = naive.replace(tzinfo=tzi)
    return aware.astimezone(timezone.utc).astimezone(tzi).replace(tzinfo=None) != naive


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
            return _local(datetime.fromisoformat(s), tz, has_time=False)
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
        return _local(value, tz)
    return ParsedTime(value.astimezone(timezone.utc), has_time=True, local_day=value.date(),
                      stated_offset=value.utcoffset())


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
        return _local(naive, tz)
    return ParsedTime(naive.replace(tzinfo=timezone.utc) - timedelta(seconds=offset), has_time=True,
                      local_day=naive.date(), stated_offset=timedelta(seconds=offset))


def parse_timestamp(text: str | None, tz: tzinfo | str = timezone.utc) -> ParsedTime | None:
    """Structured timestamp (ISO 8601 first, then RFC 822); naive values are in ``tz``."""
    if not text:
        return None
    tzi = zone(tz) if isinstance(tz, str) else tz
    return parse_iso(text, tzi) or parse_rfc822(text, tzi)




# --- dates printed on the page --------------------------------------------------
#
# Bylines are located and read by the patterns below: they give exact spans
# (so the caller can read the label before a date, "Updated" or "Published"),
# know whether a time of day was printed, and never fire on a bare number.
# Month names of languages other than English come from dateparser's locale
# data and relative times ("vor 2 Stunden") are read by dateparser itself;
# both are loaded lazily, only for a byline that needs them.
# (dateparser.search.search_dates was measured and not used: it reads
# "2024年5月3日 10時15分" as "15 minutes ago", "3 min read" as a time and
# "May I" as a date, and misses the second date of "Publié le …, mis à jour le …".)

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


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MONTH_RE = r"(?P<month>" + _alternation(_MONTHS) + r")\.?"
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
    "MEZ": "Europe/Berlin",
    "MESZ": "Europe/Berlin",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "HKT": "Asia/Hong_Kong",
    "SGT": "Asia/Singapore",
    "IST": "Asia/Kolkata",
}
# Between a date and its time: ", ", " at ", " um ", " à ", " a las ", " | ", " — " ...
_TIME_SEPARATOR = r"\s*,?\s*(?:(?:at|um|à|a\s+las|alle|om|kl\.?|@|\||-|–|—|·)\s*)?"
_TIME_CORE = (
    # 10:15, 10.15, 09h03, 10 h 00, 10:15 Uhr, 10時15分, 下午3点15分, 10 Uhr, 10時, 10h
    r"(?P<cjk_ampm>午前|午後|上午|下午|早上|晚上|中午|凌晨)?\s*"
    r"(?P<hour>\d{1,2})"
    r"(?:(?:[:.]|\s*(?:h|時|时|点|點)\s*)(?P<minute>\d{2})(?::(?P<second>\d{2}))?(?:\s*(?:分|Uhr\b|h\b))?"
    r"|\s*(?:Uhr\b|時|时|点|點|h\b))"
    r"\s*(?P<ampm>[ap]\.?\s?m\.?(?![a-z]))?"
    r"(?:\s*\(?(?P<zone>UTC|GMT|Z|MESZ|MEZ|[ECMP][SD]?T|BST|CEST|CET|JST|KST|HKT|SGT|IST)\b\)?"
    r"(?P<offset>\s*[+-]\d{1,2}(?::?\d{2})?)?)?"
)
_TIME_RE = r"(?:" + _TIME_SEPARATOR + _TIME_CORE + r")?"
_DAY_SUFFIX = r"(?:st|nd|rd|th|er|º|°)?"
_CJK_DATE = (
    r"(?<!\d)(?P<year>\d{4})\s*[年년]\s*(?P<month_num>\d{1,2})\s*[月월]\s*(?P<day>\d{1,2})\s*[日일号號]?"
    r"(?:\s*[(（][^)）\d]{1,4}[)）])?"  # weekday: 2024年5月3日(金)
)
_VISIBLE_PATTERNS = [
    # January 5, 2026 at 3:45 PM / Jan. 5 2026, 15:45 UTC
    re.compile(r"\b" + _MONTH_RE + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})\b" + _TIME_RE, re.I),
    # 5 January 2026 15:45
    re.compile(r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\.?\s+" + _MONTH_RE + r",?\s+(?P<year>\d{4})\b" + _TIME_RE, re.I),
    # 2024年5月3日 10時15分 / 2024年10月15日 09:03 / 2024년 5월 3일
    re.compile(_CJK_DATE + _TIME_RE, re.I),
    # 05.01.2026 15:45 (day first, the European convention for dotted dates)
    re.compile(r"\b(?P<day>\d{1,2})\.(?P<month_num>\d{1,2})\.(?P<year>\d{4})\b" + _TIME_RE, re.I),
    # 2026-01-05 15:45 / 2026/01/05 15:45 / 2024.10.15 09:03 (year first is read the same everywhere)
    re.compile(r"\b(?P<year>\d{4})(?P<sep>[-/.])(?P<month_num>\d{1,2})(?P=sep)(?P<day>\d{1,2})\b" + _TIME_RE, re.I),
    # 05/01/2026, 05-01-2026: day or month first, decided by the page's locale or a field > 12
    re.compile(r"\b(?P<first>\d{1,2})(?P<sep>[/-])(?P<second_num>\d{1,2})(?P=sep)(?P<year>\d{4})\b" + _TIME_RE, re.I),
]
# "Heute, 10:15 Uhr", "Yesterday at 3:45 PM", "昨日 10:15": a day word needs a printed time and the fetch time
_DAY_WORDS = {
    "today": 0, "heute": 0, "aujourd'hui": 0, "aujourd’hui": 0, "hoy": 0, "今日": 0, "今天": 0,
    "yesterday": 1, "gestern": 1, "hier": 1, "ayer": 1, "昨日": 1, "昨天": 1,
}
_DAY_WORD_PATTERN = re.compile(
    r"(?<!\w)(?P<dayword>" + _alternation(_DAY_WORDS) + r")(?!\w)" + _TIME_SEPARATOR + _TIME_CORE, re.I
)
# "2 hours ago" in the six languages of issue 21; read by dateparser against the fetch time
_SUB_DAY_UNITS = (
    r"seconds?|secs?|minutes?|mins?|hours?|hrs?|h|Sekunden?|Sek|Minuten?|Min|Stunden?|Std"
    r"|secondes?|heures?|segundos?|minutos?|horas?|秒钟|秒|分钟|分鐘|分|時間|小时|小時"
)
_AGO_PATTERNS = [
    ("en", re.compile(
        r"\b(?P<n>\d{1,3}|an?|one)\s*(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?|h|days?|weeks?|wks?)"
        r"\s+ago\b", re.I)),
    ("de", re.compile(
        r"\bvor\s+(?P<n>\d{1,3}|einer|einem|ein)\s*"
        r"(?P<unit>Sekunden?|Sek\.?|Minuten?|Min\.?|Stunden?|Std\.?|Tag(?:en)?|Wochen?)(?!\w)", re.I)),
    ("fr", re.compile(
        r"\bil\s+y\s+a\s+(?P<n>\d{1,3}|une?)\s*(?P<unit>secondes?|minutes?|min|heures?|h|jours?|semaines?)(?!\w)",
        re.I)),
    ("es", re.compile(
        r"\bhace\s+(?P<n>\d{1,3}|una?)\s*(?P<unit>segundos?|minutos?|min|horas?|h|días?|dias|semanas?)(?!\w)",
        re.I)),
    ("ja", re.compile(r"(?<!\d)(?P<n>\d{1,3})\s*(?P<unit>秒|分|時間|日|週間)\s*前")),
    ("zh", re.compile(r"(?<!\d)(?P<n>\d{1,3}|半)\s*(?P<unit>秒钟|秒|分钟|分鐘|小时|小時|天|周)\s*前")),
]
_SUB_DAY = re.compile(r"^(?:" + _SUB_DAY_UNITS + r")\.?$", re.I)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_FOUR_DIGITS = re.compile(r"\d{4}")
_DIGIT = re.compile(r"\d")
_MIN_YEAR, _MAX_YEAR = 1970, 2100
_FALLBACK_LANGUAGES = ("de", "fr", "es")  # month names tried when a page does not say its language
_CJK_PM = {"午後", "下午", "晚上"}
_CJK_AM = {"午前", "上午", "早上", "凌晨"}


@dataclass(frozen=True)
class VisibleTime:
    parsed: ParsedTime
    start: int  # character offset of the match, so callers can look at the words before it
    end: int


# Regions whose numeric dates put the month first (05/01/2026 = May 1).
_MONTH_FIRST_REGIONS = frozenset({"US", "PH", "FM", "MH", "PW", "GU", "AS", "MP", "PR", "VI", "UM"})
# Languages written year first (2024/5/3), and regions that mix both orders: there 05/01 stays unread.
_YEAR_FIRST_LANGUAGES = frozenset({"ja", "zh", "ko", "hu", "lt", "mn"})
_MIXED_REGIONS = frozenset({"CA"})


def numeric_date_order(locale: str | None) -> str | None:
    """'MDY', 'DMY' or None (undecidable) for numeric dates on a page in ``locale`` (``en-US``, ``de``, ``fr_FR``)."""
    if not locale:
        return None
    parts = [p for p in re.split(r"[-_]", locale.strip()) if p]
    if not parts or not re.fullmatch(r"[A-Za-z]{2,3}", parts[0]):
        return None
    language = parts[0].lower()
    region = next((p.upper() for p in parts[1:] if re.fullmatch(r"[A-Za-z]{2}|\d{3}", p)), None)
    if region in _MONTH_FIRST_REGIONS:
        return "MDY"
    if region in _MIXED_REGIONS or (language in _YEAR_FIRST_LANGUAGES and region is None):
        return None
    if language == "en" and region is None:
        return None  # en alone: could be the US or anywhere else
    return "DMY"


def find_visible_times(
    text: str,
    tz: tzinfo | str = timezone.utc,
    *,
    language: str | None = None,
    date_order: str | None = None,
    relative_base: datetime | None = None,
) -> list[VisibleTime]:
    """Every human-written date(+time) in ``text``, in order of appearance.

    A zone abbreviation printed after the time (``ET``, ``UTC``, ``CET``) wins
    over ``tz``. ``language`` (primary subtag, ``de``) adds that language's
    month names (unknown: German, French and Spanish are tried); numeric
    dates like 05/01/2026 are read in ``date_order`` ('DMY'/'MDY', see
    :func:`numeric_date_order`) unless a field over 12 decides, and skipped
    when neither does. Relative times ("2 hours ago", "vor 2 Stunden",
    "Heute, 10:15 Uhr") are read only against ``relative_base``, the aware
    time the page was fetched.
    """
    tzi = zone(tz) if isinstance(tz, str) else tz
    found: dict[int, VisibleTime] = {}

    def add(pattern: re.Pattern, read) -> None:
        for m in pattern.finditer(text):
            if any(m.start() < v.end and v.start < m.end() for v in found.values()):
                continue
            parsed = read(m)
            if parsed is not None:
                found[m.start()] = VisibleTime(parsed, m.start(), m.end())

    # every dated pattern needs a four-digit year, the day-word one an hour: skip them on text without
    has_year = _FOUR_DIGITS.search(text) is not None
    if has_year:
        for pattern in _VISIBLE_PATTERNS:
            add(pattern, lambda m: _visible_match(m, tzi, date_order))
    if has_year and language != "en" and _uncovered_year(text, found.values()):
        localized = _localized_pattern(tuple([language] if language else _FALLBACK_LANGUAGES))
        if localized is not None:
            add(localized[0], lambda m: _visible_match(m, tzi, date_order, localized[1]))
    if relative_base is not None:
        base = relative_base.astimezone(timezone.utc)
        if has_year or _DIGIT.search(text) is not None:
            add(_DAY_WORD_PATTERN, lambda m: _day_word_match(m, tzi, base))
        for lang, pattern in _AGO_PATTERNS:
            add(pattern, lambda m, lang=lang: _ago_match(m, lang, tzi, base))
    return [found[k] for k in sorted(found)]


def _uncovered_year(text: str, spans) -> bool:
    spans = list(spans)
    return any(not any(v.start <= y.start() < v.end for v in spans) for y in _YEAR.finditer(text))


@lru_cache(maxsize=32)
def _localized_pattern(languages: tuple[str, ...]) -> tuple[re.Pattern, dict[str, int]] | None:
    """'3. Mai 2024', '15 octobre 2024 à 09h03', '15 de octubre de 2024': month names from dateparser's locales."""
    words: dict[str, int] = {}
    clashes: set[str] = set()
    for language in languages:
        for word, month in _locale_months(language).items():
            if words.get(word, month) != month:
                clashes.add(word)
            words[word] = month
    for word in clashes:
        del words[word]
    if not words:
        return None
    month_re = r"(?P<month>" + _alternation(words) + r")\.?"
    pattern = re.compile(
        r"\b(?P<day>\d{1,2})" + _DAY_SUFFIX + r"\.?\s+(?:de\s+)?" + month_re
        + r",?\s+(?:de\s+|del\s+)?(?P<year>\d{4})\b" + _TIME_RE,
        re.I,
    )
    return pattern, words


_MONTH_KEYS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
               "october", "november", "december")


@lru_cache(maxsize=64)
def _locale_months(language: str) -> dict[str, int]:
    """Month words (names and abbreviations, lower case) of ``language`` from dateparser; {} if it has none."""
    try:
        from dateparser.languages.loader import default_loader

        info = default_loader.get_locale(language).info
    except Exception:  # an unknown language code: dateparser raises ValueError, older versions KeyError
        return {}
    months: dict[str, int] = {}
    for number, key in enumerate(_MONTH_KEYS, start=1):
        for word in info.get(key, []):
            word = word.lower().rstrip(".")
            if len(word) >= 3 and word.isalpha():
                months[word] = number
    return months


def _month_number(g: dict, months: dict[str, int] | None, date_order: str | None) -> tuple[int, int] | None:
    """(month, day) of a match, or None when a numeric date cannot be ordered."""
    if g.get("month"):
        word = g["month"].lower().rstrip(".")
        month = (months or {}).get(word) or _MONTHS.get(word)
        return (month, int(g["day"])) if month else None
    if g.get("first"):
        a, b = int(g["first"]), int(g["second_num"])
        order = "DMY" if a > 12 else "MDY" if b > 12 else date_order
        if order == "DMY":
            return b, a
        if order == "MDY":
            return a, b
        return None
    return int(g["month_num"]), int(g["day"])


def _time_of_day(g: dict) -> tuple[int, int, int] | None:
    """(hour, minute, second) of a match's printed time, or None when impossible."""
    hour, minute, second = int(g["hour"]), int(g.get("minute") or 0), int(g.get("second") or 0)
    ampm = (g.get("ampm") or "").replace(".", "").replace(" ", "").lower()
    cjk = g.get("cjk_ampm")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif cjk in _CJK_PM or (cjk == "中午" and hour < 11):
        if hour > 12:
            return None
        hour = hour % 12 + 12
    elif cjk in _CJK_AM:
        if hour > 12:
            return None
        hour = hour % 12
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second


def _with_zone(naive: datetime, g: dict, tz: tzinfo) -> ParsedTime:
    offset = (g.get("offset") or "").strip()
    if offset:
        sign = -1 if offset.startswith("-") else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
        return ParsedTime(naive.replace(tzinfo=timezone.utc) - sign * timedelta(hours=hours, minutes=minutes), True,
                          local_day=naive.date())
    abbreviation = (g.get("zone") or "").upper()
    if abbreviation:
        return _local(naive, zone(_ABBREVIATIONS[abbreviation]))
    return _local(naive, tz)


def _visible_match(
    m: re.Match, tz: tzinfo, date_order: str | None = None, months: dict[str, int] | None = None
) -> ParsedTime | None:
    g = m.groupdict()
    month_day = _month_number(g, months, date_order)
    if month_day is None:
        return None
    month, day = month_day
    year = int(g["year"])
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        if g.get("hour") is None:
            return _local(datetime(year, month, day), tz, has_time=False)
        clock = _time_of_day(g)
        if clock is None:
            return None
        naive = datetime(year, month, day, *clock)
    except ValueError:
        return None
    return _with_zone(naive, g, tz)


def _day_word_match(m: re.Match, tz: tzinfo, base: datetime) -> ParsedTime | None:
    g = m.groupdict()
    clock = _time_of_day(g)
    if clock is None:
        return None
    day = base.astimezone(tz).date() - timedelta(days=_DAY_WORDS[g["dayword"].lower()])
    naive = datetime(day.year, day.month, day.day, *clock)
    if g.get("zone") or g.get("offset"):
        return None  # "today" is the source's today; a foreign zone makes the day itself uncertain
    return _local(naive, tz)


_dateparser_parse = None


@lru_cache(maxsize=256)  # a page's nested byline elements repeat the same span with the same base
def _parse_relative(span: str, language: str, base_naive: datetime) -> datetime | None:
    """dateparser's reading of a relative span ("vor einer Stunde", "半小时前"), about 0.3 ms warm."""
    global _dateparser_parse
    if _dateparser_parse is None:
        import dateparser  # ~0.3 s to import; only bylines with a relative time pay it

        _dateparser_parse = dateparser.parse
    return _dateparser_parse(
        span, languages=[language],
        settings={"RELATIVE_BASE": base_naive, "RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DATES_FROM": "past"},
    )


def _ago_match(m: re.Match, language: str, tz: tzinfo, base: datetime) -> ParsedTime | None:
    """'2 hours ago' -> the fetch time minus two hours; '3 days ago' -> that local date (no time of day)."""
    local_base = base.astimezone(tz).replace(tzinfo=None)
    parsed = _parse_relative(m.group(0), language, local_base)
    if parsed is None or parsed > local_base:
        return None
    ago = local_base - parsed
    if _SUB_DAY.match(m.group("unit")):
        return ParsedTime(base - ago, True)  # an elapsed time: no wall clock involved, so no DST question
    day = parsed.date()
    return _local(datetime(day.year, day.month, day.day), tz, has_time=False)
