"""Turn one fetched article page into an :class:`ArticleRecord` (pure: HTML text in).

trafilatura finds the story text; we parse the page once with lxml, read the
metadata ourselves (JSON-LD, meta tags, the article header), strip known news
boilerplate from the tree before trafilatura sees it (see
:mod:`newsmarkets.news.boilerplate`) and drop leftover junk lines after.

The publish time is the field event studies depend on, so its origin is
recorded: JSON-LD ``datePublished`` first, then meta tags / header
``<time>`` (also itemprop ``uploadDate``/``dateCreated`` on any element,
citation/bepress/Dublin Core names, RDFa ``dc:date``: all ``meta``), then the
feed or sitemap date, then a date printed on the page (read in the source's
timezone and the page's language; relative ones such as "2 hours ago"
against ``fetched_at``), last a ``datePublished`` of JSON-LD not typed as an
article (WebPage, VideoObject: ``json-ld``); only when none of these gave
a date, htmldate's publish day (its URL and wide-markup search: ``htmldate``,
a day without a time of day). A time of day beats a bare date
whatever its rank. A time later than ``fetched_at`` is impossible and falls
through to the next source. ``published_local_date`` is the publish day as
the page states it (its offset, or the source's timezone; a time stated in
UTC takes the site's day from the page or URL, see :func:`_local_day`), for
day-level comparisons; ``published_at`` stays the UTC instant.

A local time without an offset that a DST change repeats or skips has two
readings. The one that agrees with the feed's or sitemap's time for the page
(within :data:`DST_HINT_WINDOW`), or the only one not after ``fetched_at``,
is taken; failing both, the reading with the offset in force before the
change is kept and ``published_at_source`` gets the suffix ``-ambiguous``
(``visible-text-ambiguous``, ``json-ld-ambiguous``, ``meta-ambiguous``).
"""

from __future__ import annotations

import json
import re
from copy import deepcopy
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, Iterator

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from newsmarkets.intervals import as_utc
from newsmarkets.news.article_page import ARTICLE_LD_TYPES, has_sentence, judge_page, story_floor
from newsmarkets.news.boilerplate import (
    class_parts, looks_like_boilerplate, name_parts, postclean, preclean, protected_nodes,
)
from newsmarkets.news.dates import ParsedTime, find_visible_times, numeric_date_order, parse_timestamp, zone
from newsmarkets.news.titles import headline
from newsmarkets.news.urls import UrlError, canonicalize_url

# Fewer words than this is a teaser, paywall stub or error page, not an article (counted by
# count_words, so CJK text is measured too), unless the page is an article page: then a story down to
# article_page.SHORT_STORY_MIN_WORDS counts (see extract_article).
MIN_BODY_WORDS = 20

ARTICLE_TYPES = ARTICLE_LD_TYPES
_PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "article:published", "datepublished",
    "pubdate", "publishdate", "publish-date", "publish_date", "dc.date.issued", "dc.date", "dcterms.created",
    "dcterms.issued", "sailthru.date", "parsely-pub-date", "date",
    # markup that is not a news CMS's own: video pages, scholarly and repository pages, RDFa Dublin Core
    "uploaddate", "datecreated", "citation_publication_date", "citation_date", "citation_online_date",
    "bepress_citation_date", "bepress_citation_online_date", "dc:date", "dc.date.created", "dcterms.date",
    "dcterms:created", "dcterms:issued", "dcterms:date", "dcterms.available", "prism.publicationdate",
)
_MODIFIED_META = (
    "article:modified_time", "og:updated_time", "og:article:modified_time", "datemodified",
    "last-modified", "dcterms.modified", "dc.date.modified",
)
_DATE_CONTEXT = frozenset({"date", "time", "byline", "dateline", "published", "posted", "timestamp", "meta", "pubdate"})
# The label before a printed date that makes it the update time, not the publish time
# (English, German, French, Spanish, Japanese/Chinese); anything else is a publish time.
_UPDATED_WORDS = re.compile(
    r"(?:updated|modified|edited|aktualisiert|geändert|mis\s+à\s+jour|modifié|actualizado|modificado"
    r"|更新(?:日時|日期|时间|時間|日)?)\W{0,3}(?:on|at|am|um|le|el|à)?\W{0,3}$",
    re.I,
)
# Japanese/Chinese bylines may put the label after the date: 2024年5月3日 10時15分 更新; not the
# label of the next date ("…10:15 更新时间：2024年5月4日")
_UPDATED_AFTER = re.compile(
    r"^\s*[(（]?\s*(?:最終)?更新(?:済み?)?(?!\s*(?:日時|日期|时间|時間|日)?\s*[:：]|\s*\d)"
)
# A feed or sitemap time this close to one reading of a DST-ambiguous local time settles it.
DST_HINT_WINDOW = timedelta(hours=3)
AMBIGUOUS_SUFFIX = "-ambiguous"


class ExtractionError(ValueError):
    """No article could be extracted from a page; ``reason`` says why."""

    def __init__(self, url: str | None, reason: str):
        self.url, self.reason = url, reason
        super().__init__(f"{url or '<no url>'}: cannot extract article: {reason}")


@dataclass
class ArticleRecord:
    url: str | None
    canonical_url: str | None
    title: str | None
    body: str
    published_at: datetime | None  # aware UTC, truncated to the minute
    # 'json-ld' | 'meta' | 'feed' | 'sitemap' | 'visible-text' | 'htmldate' | None; json-ld, meta and visible-text
    # get the suffix '-ambiguous' when a DST change left their local time with two readings
    published_at_source: str | None
    updated_at: datetime | None
    authors: list[str] = field(default_factory=list)
    language: str | None = None  # primary BCP 47 subtag, e.g. 'en'
    section: str | None = None
    description: str | None = None
    word_count: int = 0
    # the publish day as the page states it (its own offset or the source's timezone), which can differ
    # from published_at's UTC day; for comparing with day-level references, not stored in the tables
    published_local_date: date | None = None
    # whether the chosen publish time states a time of day (False: a date only, read as local midnight)
    published_at_has_time: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: datetimes and dates as ISO 8601 strings."""
        d = asdict(self)
        for key in ("published_at", "updated_at", "published_local_date"):
            d[key] = d[key].isoformat() if d[key] else None
        return d


@dataclass(frozen=True)
class _Candidate:
    parsed: ParsedTime
    source: str


# A body shorter than THIN_BODY_WORDS after a pre-cleaning that removed at least THIN_BODY_CUT of
# the page's text is checked against an extraction of the page as served, which replaces it when it
# holds THIN_BODY_RATIO times the words (a body under the minimum is always checked). On the real
# pages this lifts F1 by ~0.001 at no cost on the replay/synthetic sets (bench/bench_real_pages.py).
THIN_BODY_WORDS = 200
THIN_BODY_RATIO = 3
THIN_BODY_CUT = 0.5

# Chinese and Japanese print no spaces between words: their Han/kana characters count, in total, as
# one word per CJK_CHARS_PER_WORD characters, rounded up (a Chinese word averages 1.5-2 characters,
# a Japanese one about 2); other text counts whitespace-separated tokens. Hangul is space-separated.
CJK_CHARS_PER_WORD = 2
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def count_words(text: str) -> int:
    """Words in ``text``: whitespace tokens, plus CJK characters at :data:`CJK_CHARS_PER_WORD` per word."""
    cjk = len(_CJK.findall(text))
    if not cjk:
        return len(text.split())
    return len(_CJK.sub(" ", text).split()) + -(-cjk // CJK_CHARS_PER_WORD)


# Output of a failing server script before the page proper (PHP warnings and notices).
_DOCUMENT_START = re.compile(rb"<!doctype\s+html|<html[\s>]", re.I)
_LEADING_JUNK_MAX = 65536


def _without_leading_junk(html: str | bytes) -> str | bytes | None:
    """``html`` from its ``<!DOCTYPE html>``/``<html>`` on, when something else comes first; else None."""
    head = html[:_LEADING_JUNK_MAX]
    data = head.encode("utf-8", "replace") if isinstance(head, str) else head
    found = _DOCUMENT_START.search(data)
    if found is None or not data[: found.start()].strip():
        return None
    if isinstance(html, str):
        return html[len(data[: found.start()].decode("utf-8", "replace")):]
    return html[found.start():]


def _words(text: str | None) -> str | None:
    cleaned = " ".join((text or "").split())
    return cleaned or None


# --- JSON-LD ------------------------------------------------------------------


def _json_ld_items(tree: HtmlElement) -> Iterator[dict]:
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            # CMSes emit trailing commas often enough to be worth one repair attempt
            try:
                data = json.loads(re.sub(r",\s*([}\]])", r"\1", raw), strict=False)
            except ValueError:
                continue
        yield from _walk_json_ld(data)


def _walk_json_ld(node: Any, depth: int = 0) -> Iterator[dict]:
    if depth > 6:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk_json_ld(item, depth + 1)
    elif isinstance(node, dict):
        yield node
        if "@graph" in node:
            yield from _walk_json_ld(node["@graph"], depth + 1)
        main = node.get("mainEntity")
        if isinstance(main, (dict, list)):
            yield from _walk_json_ld(main, depth + 1)


def _types(item: dict) -> set[str]:
    t = item.get("@type")
    values = t if isinstance(t, list) else [t]
    return {v.lower() for v in values if isinstance(v, str)}


def _article_item(tree: HtmlElement, items: list[dict] | None = None) -> dict | None:
    items = list(_json_ld_items(tree)) if items is None else items
    articles = [item for item in items if _types(item) & ARTICLE_TYPES]
    if not articles:
        return None
    # a page can describe several articles (e.g. a live blog plus related items); the
    # one carrying a datePublished and a headline is the page's own
    return max(articles, key=lambda a: (bool(a.get("datePublished")), bool(a.get("headline"))))


def _ld_text(value: Any) -> str | None:
    if isinstance(value, str):
        return _words(value)
    if isinstance(value, list) and value:
        return _ld_text(value[0])
    if isinstance(value, dict):
        return _ld_text(value.get("name") or value.get("@value"))
    return None


def _ld_authors(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = _ld_text(item.get("name") if isinstance(item, dict) else item)
        if name:
            names.append(name)
    return names


# --- meta tags and header ------------------------------------------------------


def _meta_map(tree: HtmlElement) -> dict[str, str]:
    """First value of each <meta> by lower-cased name/property/itemprop/http-equiv."""
    found: dict[str, str] = {}
    for meta in tree.iter("meta"):
        content = meta.get("content")
        if content is None or not content.strip():
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = meta.get(attr)
            if key:
                found.setdefault(key.strip().lower(), content.strip())
    return found


def _in_boilerplate(el: HtmlElement, protected: set[HtmlElement]) -> bool:
    # bylines are "boilerplate" for the body but exactly where dates live
    return any(
        a not in protected and looks_like_boilerplate(a) and not (set(class_parts(a)) & _DATE_CONTEXT)
        and not _is_article_header(a)
        for a in el.iterancestors()
    )


_ARTICLE_PARTS = frozenset({"article", "entry", "post", "story"})


def _is_article_header(el: HtmlElement) -> bool:
    """A <header> its class names as the story's ("contentHeader--articleHeader", "entry-header"): the
    headline, byline and date, not the site's header, even with a share bar (<nav>) inside."""
    return (el.tag == "header" or "header" in class_parts(el)) and bool(set(class_parts(el)) & _ARTICLE_PARTS)


def _in_header_context(el: HtmlElement) -> bool:
    for node in (el, *el.iterancestors()):
        if node.tag in ("header", "article") or set(class_parts(node)) & _DATE_CONTEXT:
            return True
        if node.get("itemprop") in ("datePublished", "dateModified"):
            return True
    return False


def _in_masthead(el: HtmlElement, protected: set[HtmlElement]) -> bool:
    """Inside the site header, which prints today's date rather than the article's."""
    for node in (el, *el.iterancestors()):
        if node in protected:
            return False
        parts = set(class_parts(node))
        if "masthead" in parts:
            return True
        if (node.tag == "header" or "header" in parts) and node.find(".//nav") is not None \
                and not any(_is_article_header(a) for a in (node, *node.iterancestors())):
            return True
    return False


def _is_updated(el: HtmlElement) -> bool:
    marks = set(class_parts(el)) | {(el.get("itemprop") or "").lower()}
    return bool(marks & {"updated", "modified", "datemodified", "update"})


_PUBLISHED_PROPS = frozenset({"datePublished", "uploadDate", "dateCreated", "dc:date", "dcterms:created",
                              "dcterms:issued", "dc:created", "schema:datePublished", "schema:dateCreated",
                              "schema:uploadDate"})
_ITEMPROP_DATE_VALUES = frozenset({"datePublished", "dateModified", "uploadDate", "dateCreated"})
# RDFa: Dublin Core, and schema.org with its prefix or as RDFa Lite's bare property names
_PROPERTY_DATE_VALUES = frozenset({"dc:date", "dcterms:created", "dcterms:issued", "dc:created", "dcterms:modified",
                                   "schema:datePublished", "schema:dateCreated", "schema:uploadDate",
                                   "schema:dateModified", *_ITEMPROP_DATE_VALUES})
# the few elements with an itemprop/property, filtered in Python: faster than an or-chain predicate
_ITEMPROP_OR_PROPERTY = etree.XPath(".//*[@itemprop or @property]")


def _itemprop_dates(tree: HtmlElement) -> list[HtmlElement]:
    return [el for el in _ITEMPROP_OR_PROPERTY(tree)
            if el.get("itemprop") in _ITEMPROP_DATE_VALUES or el.get("property") in _PROPERTY_DATE_VALUES]


_Times = tuple[list[ParsedTime], list[ParsedTime]]


_HAS_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")


def _markup_time(value: str | None, tz: tzinfo, date_order: str | None = None) -> ParsedTime | None:
    """A machine-readable date: ISO 8601 / RFC 822 first, then the forms markup also carries
    (``2019/10/16`` in citation metadata, ``2019-10-16 10:00 CDT``, ``16.10.2019``) read like a
    printed date, when the value is nothing but that date."""
    parsed = parse_timestamp(value, tz)
    if parsed is not None or not value or len(value) > 80 or not _HAS_YEAR.search(value):
        return parsed
    found = find_visible_times(value, tz, date_order=date_order)
    if len(found) == 1 and not re.search(r"\w", value[: found[0].start]):
        return found[0].parsed
    return None


def _structured_times(tree: HtmlElement, tz: tzinfo, protected: set[HtmlElement]) -> _Times:
    """(published, updated) from itemprop attributes and header <time datetime> elements."""
    published: list[ParsedTime] = []
    updated: list[ParsedTime] = []
    for el in _itemprop_dates(tree):
        prop = el.get("itemprop") or el.get("property")
        if el.tag == "meta":
            continue
        parsed = _markup_time(el.get("datetime") or el.get("content") or el.text_content(), tz)
        if parsed and not _in_boilerplate(el, protected):
            (published if prop in _PUBLISHED_PROPS else updated).append(parsed)
    for el in tree.iter("time"):
        value = el.get("datetime")
        if not value or _in_boilerplate(el, protected) or _in_masthead(el, protected):
            continue
        if not (el.get("pubdate") is not None or _in_header_context(el)):
            continue
        parsed = _markup_time(value, tz)
        if parsed:
            (updated if _is_updated(el) or _is_updated(el.getparent()) else published).append(parsed)
    return published, updated


_DATE_ATTR = re.compile(r"date|time|byline|publish|posted|meta|updated|modified", re.I)
_VISIBLE_CONTEXT = _DATE_CONTEXT | {"updated", "modified"}


@lru_cache(maxsize=65536)
def _date_context_name(class_attr: str, id_attr: str) -> bool:
    """Whether a class/id names a date context (memoised: pages repeat their class names)."""
    # cheap substring test first; the word test rejects "candidate" and the like
    if not _DATE_ATTR.search(f"{class_attr} {id_attr}"):
        return False
    return bool(set(name_parts(class_attr or None, id_attr or None)) & _VISIBLE_CONTEXT)


def _visible_times(
    tree: HtmlElement,
    tz: tzinfo,
    protected: set[HtmlElement],
    *,
    language: str | None = None,
    date_order: str | None = None,
    fetched: datetime | None = None,
) -> _Times:
    """Dates printed in bylines/datelines/headers, split into published and updated by their label."""
    texts: list[str] = []
    # <time>, <header> and elements with a class/id naming a date context, in document order (one walk
    # with the name test memoised by value: cheaper than an XPath selecting every element with a class)
    for el in tree.iter(etree.Element):
        if el is tree:
            continue
        if el.tag not in ("time", "header"):
            class_attr, id_attr = el.get("class"), el.get("id")
            if (class_attr is None and id_attr is None) or not _date_context_name(class_attr or "", id_attr or ""):
                continue
        if el.tag != "time" and len(el) > 12:
            continue  # a layout block, not a byline
        if not _in_boilerplate(el, protected) and not _in_masthead(el, protected):
            texts.append(el.text_content())
    published: list[ParsedTime] = []
    updated: list[ParsedTime] = []
    seen: dict[str, list] = {}  # nested bylines repeat the same text
    for text in texts:
        byline = text[:600]
        times = seen.get(byline)
        if times is None:
            times = seen[byline] = find_visible_times(
                byline, tz, language=language, date_order=date_order, relative_base=fetched)
        for found in times:
            before = byline[max(0, found.start - 30) : found.start]
            is_update = _UPDATED_WORDS.search(before) or _UPDATED_AFTER.match(byline[found.end : found.end + 8])
            (updated if is_update else published).append(found.parsed)
    return published, updated


def _locales(tree: HtmlElement, meta: dict[str, str], ld: dict | None) -> list[str]:
    """The page's declared locales, most authoritative first (``en-US``, ``de``, ``fr_FR``)."""
    raws = [tree.get("lang"), tree.get("xml:lang"), meta.get("content-language"), meta.get("og:locale"),
            _ld_text(ld.get("inLanguage")) if ld else None]
    return [r.strip().split(",")[0].strip() for r in raws if r and r.strip()]


def _primary(raw: str) -> str | None:
    primary = re.split(r"[-_,\s]", raw.strip())[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def _language(locales: list[str]) -> str | None:
    return _primary(locales[0]) if locales else None


def _date_order(locales: list[str]) -> str | None:
    """How the page orders day and month in numeric dates: a region from any declaration of its language decides."""
    language = _language(locales)
    if language is None:
        return None
    for raw in locales:
        if _primary(raw) == language and re.search(r"[-_][A-Za-z]{2}\b", raw):
            return numeric_date_order(raw)
    return numeric_date_order(language)


def _authors(tree: HtmlElement, meta: dict[str, str], ld: dict | None) -> list[str]:
    names = _ld_authors(ld.get("author")) if ld and ld.get("author") else []
    if not names:
        for key in ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator"):
            value = meta.get(key)
            if value and "://" not in value:
                names = [n.strip() for n in re.split(r"\s*(?:,|;|\band\b)\s*", value) if n.strip()]
                break
    if not names:
        for el in tree.xpath('.//*[@rel="author"]'):
            if _words(el.text_content()):
                names.append(_words(el.text_content()))
    seen: list[str] = []
    for name in names:
        name = re.sub(r"^by\s+", "", name, flags=re.I).strip()
        if name and name not in seen and len(name) <= 100:
            seen.append(name)
    return seen


_SITE_TYPES = frozenset({"website", "organization", "newsmediaorganization", "corporation"})


def _title(tree: HtmlElement, meta: dict[str, str], ld: dict | None, url: str | None = None,
           items: list[dict] = ()) -> str | None:
    """The headline as printed (see :mod:`newsmarkets.news.titles` for the reference and the rules)."""
    title_el = tree.find(".//title")
    candidates = [
        _ld_text(ld.get("headline")) if ld else None,
        meta.get("og:title"), meta.get("twitter:title"), meta.get("dc.title"),
    ]
    sites = [meta.get("og:site_name"), meta.get("application-name"), meta.get("apple-mobile-web-app-title"),
             (meta.get("twitter:site") or "").lstrip("@") or None]
    if ld and isinstance(ld.get("publisher"), dict):
        sites.append(_ld_text(ld["publisher"].get("name")))
    sites += [_ld_text(item.get("name")) for item in items if _types(item) & _SITE_TYPES]
    if url is None:
        url = meta.get("og:url")
    return headline(tree, candidates, sites, url, title_el.text_content() if title_el is not None else None)


# A day in the URL's path: /2023/11/08/, /2023-11-08-, /20231108/.
_URL_DAY = re.compile(r"/((?:19|20)\d{2})[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?=[/_.-]|$)")
_MAX_UTC_OFFSET = timedelta(hours=14)
_URL_DAY_REACH_HOURS = 10  # the UTC offsets of nearly every news site (Hawaii -10 to Australia +10/+11)


def _url_day(url: str | None) -> date | None:
    found = _URL_DAY.search(url or "")
    if not found:
        return None
    try:
        return date(*map(int, found.groups()))
    except ValueError:
        return None


def _local_day(chosen: _Candidate, published: list[_Candidate], url: str | None, tz: tzinfo) -> date:
    """The publish day on the page's own calendar.

    A time stated in UTC ("…Z", "+00:00", "GMT": how many CMSes store it) names the instant but not
    the site's day: 01:09 UTC on the 9th is the 8th in Denver. The site's day then comes from the same
    instant stated with the site's offset elsewhere on the page (another tag with "+02:00", or a wall
    time a whole number of hours away to the second: "2023-11-08 18:09:55" beside "…T01:09:55Z"), else
    from a day in the URL one day either side that an offset of at most 10 hours reaches ("/2023/11/08/"),
    else from the source's timezone.
    """
    parsed = chosen.parsed
    day = parsed.local_day or parsed.value.astimezone(tz).date()
    if not parsed.has_time or parsed.stated_offset != timedelta(0):
        return day
    for other in published:
        o = other.parsed
        if not o.has_time or o.local_day is None or o is parsed:
            continue
        if o.stated_offset is not None and o.stated_offset != timedelta(0):
            if abs(o.value - parsed.value) <= timedelta(minutes=1):
                return o.local_day
        elif o.stated_offset is None:  # a wall time read in ``tz``: is it this instant in some zone?
            wall = o.value.astimezone(tz).replace(tzinfo=None)
            shift = wall - parsed.value.replace(tzinfo=None)
            if (shift and abs(shift) <= _MAX_UTC_OFFSET and shift % timedelta(minutes=15) == timedelta(0)):
                return wall.date()
    in_url = _url_day(url)
    if in_url is not None and abs((in_url - day).days) == 1:
        # only when an offset of at most _URL_DAY_REACH puts the instant on that day: a URL can carry the
        # day the story was filed (washingtonpost.com /2020/07/08/ for a story published 10:04 UTC on the 9th)
        reach = [(parsed.value + timedelta(hours=h)).date() for h in (-_URL_DAY_REACH_HOURS, _URL_DAY_REACH_HOURS)]
        if in_url in reach:
            return in_url
    return parsed.value.astimezone(tz).date()


def _canonical(tree: HtmlElement, meta: dict[str, str], url: str | None) -> str | None:
    hint = None
    for link in tree.iterfind(".//link[@rel]"):
        if "canonical" in link.get("rel", "").lower().split() and link.get("href"):
            hint = link.get("href")
            break
    hint = hint or meta.get("og:url")
    try:
        if url:
            return canonicalize_url(url, canonical_hint=hint)
        return canonicalize_url(hint) if hint else None
    except UrlError:
        return None


# --- choosing the publish time ----------------------------------------------------


def _settle(candidate: _Candidate, hint: datetime | None, fetched_at: datetime | None) -> _Candidate:
    """Pick one reading of a DST-ambiguous local time, or keep the first and mark the source."""
    parsed = candidate.parsed
    if parsed.alternative is None:
        return candidate
    readings = [parsed.value, parsed.alternative]
    if fetched_at is not None:
        possible = [r for r in readings if r <= fetched_at]
        if len(possible) == 1:
            return _Candidate(parsed.settled(possible[0]), candidate.source)
    if hint is not None:
        near, far = sorted(readings, key=lambda r: abs(r - hint))
        if abs(near - hint) <= DST_HINT_WINDOW and abs(near - hint) < abs(far - hint):
            return _Candidate(parsed.settled(near), candidate.source)
    return _Candidate(parsed, candidate.source + AMBIGUOUS_SUFFIX)


_PAGE_CHROME = etree.XPath("//header[not(ancestor::article)] | //footer[not(ancestor::article)] | //nav | //aside")


def _drop_page_chrome(html: HtmlElement) -> HtmlElement:
    # The page's own header, navigation, sidebars and footer (outside the article) carry today's date in a
    # masthead, dates of other stories, copyright years: never the story's publish day.
    for node in _PAGE_CHROME(html):
        if node.getparent() is not None:
            node.drop_tree()
    return html


def _library_day(html: HtmlElement, url: str | None, tz: tzinfo, fetched: datetime | None,
                 served: str | bytes | None = None, *, language: str | None = None,
                 date_order: str | None = None) -> ParsedTime | None:
    """htmldate's publish day (earliest it trusts, never after the fetch), as a date without a time of day.

    ``html`` is a copy of the page tree, pruned here. When htmldate finds nothing there, ``served`` (the
    page as served, parsed afresh and pruned alike) is searched with htmldate's extensive search, whose
    day is kept only when the page's text prints that very day as we read dates (a day, month and year in
    an order the page's locale settles: no copyright year, no guessed numeric date)."""
    import htmldate

    max_date = fetched.date().isoformat() if fetched else None
    try:
        found = htmldate.find_date(_drop_page_chrome(html), url=url, original_date=True, extensive_search=False,
                                   max_date=max_date)
        if not found and served is not None:
            # the pre-cleaning drops the bylines many undated pages print their day in (issue 13): on the
            # real-page corpora this dates 70 more pages right, 12 wrong, and changes none already right
            page = _drop_page_chrome(load_html(served))
            found = htmldate.find_date(page, url=url, original_date=True, extensive_search=True, max_date=max_date)
            if found and not _prints_day(page, found, tz, language, date_order):
                found = None
    except Exception:  # a library's failure on one odd page is no date, not a failed extraction
        return None
    parsed = _markup_time(found, tz) if found else None
    return ParsedTime(parsed.value, False, local_day=parsed.local_day) if parsed else None


def _prints_day(tree: HtmlElement, day: str, tz: tzinfo, language: str | None, date_order: str | None) -> bool:
    """Whether the text of ``tree`` prints the day ``day`` (``YYYY-MM-DD``) as a full date we can read."""
    body = tree.find(".//body")
    text = " ".join((body if body is not None else tree).text_content().split())
    return any((t.parsed.local_day or t.parsed.value.astimezone(tz).date()).isoformat() == day[:10]
               for t in find_visible_times(text, tz, language=language, date_order=date_order))


def _choose(candidates: list[_Candidate], fetched_at: datetime | None) -> _Candidate | None:
    """First candidate with a time of day not after ``fetched_at``; date-only ones as a last resort.

    An elapsed time printed on the page ("4時間前", "vor 16 Stunden") does not beat a calendar date
    the page gives that names another day: it dates an item of a list of other stories, read against
    the fetch, not this page (a page printing "2020年07月03日" above its related list).
    """
    possible = [c for c in candidates if fetched_at is None or c.parsed.value <= fetched_at]
    days = [_day_of(c) for c in possible if not c.parsed.has_time]
    timed = [c for c in possible if c.parsed.has_time
             and not (_is_elapsed(c) and any(abs((c.parsed.value.date() - d).days) > 1 for d in days))]
    return timed[0] if timed else (possible[0] if possible else None)


def _is_elapsed(candidate: _Candidate) -> bool:
    """A relative time read on the page against the fetch ("2 hours ago"): no calendar day stated."""
    return candidate.source == "visible-text" and candidate.parsed.local_day is None


def _day_of(candidate: _Candidate) -> date:
    return candidate.parsed.local_day or candidate.parsed.value.date()


def _to_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


# --- body ---------------------------------------------------------------------------


def _run_trafilatura(tree: HtmlElement, url: str | None, *, recall: bool = False, precision: bool = False) -> str:
    # Balanced mode on the pre-cleaned tree: precision mode costs ~30% more time
    # and the pre-cleaning already removed what it would. bare_extraction copies
    # a tree it is handed, so the pre-cleaned tree can be reused for a retry.
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        favor_recall=recall,
        favor_precision=precision,
        include_comments=False,
        include_tables=True,
        with_metadata=False,
        output_format="python",
    )
    return (document.text or "") if document is not None else ""


def _parse(html: str | bytes, url: str | None) -> HtmlElement | None:
    try:
        return load_html(html)
    except (TypeError, ValueError) as exc:
        raise ExtractionError(url, f"not parseable as HTML ({exc})") from None


def extract_article(
    html: str | bytes,
    url: str | None = None,
    *,
    fetched_at: datetime | None = None,
    source_timezone: str = "UTC",
    feed_published_at: datetime | None = None,
    feed_date_source: str = "feed",
    listing_time: datetime | None = None,
    min_words: int = MIN_BODY_WORDS,
) -> ArticleRecord:
    """Extract the story, its metadata and a publish time from one HTML page.

    ``source_timezone`` (IANA name) is how to read times printed without an
    offset; ``feed_published_at`` is the date the feed (or, with
    ``feed_date_source='sitemap'``, the sitemap) gave for this URL, a
    candidate publish time. ``listing_time`` is a feed or sitemap time that is
    not a candidate (a sitemap's lastmod) but may still settle a local time
    made ambiguous by a DST change; ``feed_published_at`` does that too.
    ``fetched_at`` also anchors relative times ("2 hours ago").
    Raises :class:`ExtractionError` when the input is not HTML, or its body
    has fewer than ``min_words`` words and the page is not an article page
    (:func:`newsmarkets.news.article_page.judge_page`: navigation, index, tag
    and home pages) or its story is shorter than
    :data:`~newsmarkets.news.article_page.SHORT_STORY_MIN_WORDS` words or has
    no finished sentence. Pages over ``min_words`` are not judged.
    """
    if feed_date_source not in ("feed", "sitemap"):
        raise ValueError(f"feed_date_source must be 'feed' or 'sitemap', got {feed_date_source!r}")
    tz = zone(source_timezone)
    fetched = as_utc(fetched_at) if fetched_at is not None else None
    if not isinstance(html, (str, bytes)):
        raise ExtractionError(url, f"expected HTML text, got {type(html).__name__}")
    if not html.strip():
        raise ExtractionError(url, "document is empty")
    tree = _parse(html, url)
    if tree is None or tree.find(".//body") is None:
        # PHP warnings and the like before <html> make lxml see a fragment: parse from <html> on
        rest = _without_leading_junk(html)
        tree = _parse(rest, url) if rest is not None else None
        if tree is None or tree.find(".//body") is None:
            raise ExtractionError(url, "not an HTML document")
        html = rest

    meta = _meta_map(tree)
    ld_items = list(_json_ld_items(tree))
    ld = _article_item(tree, ld_items)

    published: list[_Candidate] = []
    updated: list[_Candidate] = []
    if ld:
        for key, bucket in (("datePublished", published), ("dateCreated", published), ("dateModified", updated)):
            parsed = _markup_time(_ld_text(ld.get(key)), tz)
            if parsed:
                bucket.append(_Candidate(parsed, "json-ld"))
    for key in _PUBLISHED_META:
        parsed = _markup_time(meta.get(key), tz)
        if parsed:
            published.append(_Candidate(parsed, "meta"))
    for key in _MODIFIED_META:
        parsed = _markup_time(meta.get(key), tz)
        if parsed:
            updated.append(_Candidate(parsed, "meta"))
    protected = protected_nodes(tree)
    header_published, header_updated = _structured_times(tree, tz, protected)
    published += [_Candidate(p, "meta") for p in header_published]
    updated += [_Candidate(p, "meta") for p in header_updated]
    page_dated = bool(published)  # a date from the page's article markup, not from a feed
    if feed_published_at is not None:
        published.append(_Candidate(ParsedTime(as_utc(feed_published_at), True), feed_date_source))
    locales = _locales(tree, meta, ld)
    visible_published, visible_updated = _visible_times(
        tree, tz, protected, language=_language(locales), date_order=_date_order(locales), fetched=fetched)
    published += [_Candidate(p, "visible-text") for p in visible_published]
    updated += [_Candidate(p, "visible-text") for p in visible_updated]
    page_dated = page_dated or bool(visible_published)
    # last: dates JSON-LD gives a page that is not typed as an article (WebPage, VideoObject, ...)
    for item in ld_items:
        if item is ld:
            continue
        for key in ("datePublished", "uploadDate", "dateCreated"):
            parsed = _markup_time(_ld_text(item.get(key)), tz)
            if parsed:
                published.append(_Candidate(parsed, "json-ld"))
                break
    hint = feed_published_at if feed_published_at is not None else listing_time
    hint = as_utc(hint) if hint is not None else None
    published = [_settle(c, hint, fetched) for c in published]
    updated = [_settle(c, hint, fetched) for c in updated]

    title = _title(tree, meta, ld, url, ld_items)
    record_meta = dict(
        url=url,
        canonical_url=_canonical(tree, meta, url),
        title=title,
        authors=_authors(tree, meta, ld),
        language=_language(locales),
        section=(_ld_text(ld.get("articleSection")) if ld else None) or _words(meta.get("article:section")),
        description=_words(meta.get("og:description") or meta.get("description")),
    )

    page_body = tree.find(".//body")
    text_before = len(page_body.text_content()) if THIN_BODY_WORDS else 0
    preclean(tree, protected)
    if not published:
        # Nothing in the markup or the text we read: htmldate's wider search (the URL, other elements and
        # attributes) finds a publish day on most such pages. On the pre-cleaned copy, so the dates of
        # related-story lists and mastheads are gone (failing that, the page as served, searched wider).
        # A day only: it never beats a time of day.
        parsed = _library_day(deepcopy(tree), url, tz, fetched, served=html,
                              language=_language(locales), date_order=_date_order(locales))
        if parsed:
            published.append(_Candidate(parsed, "htmldate"))
    # share of the page's text the pre-cleaning removed; a thin result after a large cut is re-checked
    cut = 1 - len(page_body.text_content()) / text_before if text_before else 0.0
    body = postclean(_run_trafilatura(tree, url), title)
    tried = [body]  # the bodies extracted, most precise first
    if count_words(body) < min_words:
        # a short story in an unusual layout: let trafilatura reach further before giving up
        body = postclean(_run_trafilatura(tree, url, recall=True), title)
        tried.append(body)
    words = count_words(body)
    if words < min_words or (words < THIN_BODY_WORDS and cut >= THIN_BODY_CUT):
        # the pre-cleaning may have taken the story with the boilerplate (a story inside a wrapper
        # named like a sidebar, say): extract from the page as served and keep what holds far more
        fresh = _parse(html, url)
        if fresh is not None:
            unprecleaned = postclean(_run_trafilatura(fresh, url), title)
            tried.append(unprecleaned)
            more = count_words(unprecleaned)
            if (words < min_words and more > words) or more >= THIN_BODY_RATIO * max(words, 1):
                body = unprecleaned
    word_count = count_words(body)
    if word_count < min_words:
        # The floor keeps navigation pages out; a short story on a page that is one article (a wire
        # brief, a flash) is kept. Judged on the page as served: the pre-cleaning cut the tree.
        served = _parse(html, url)
        verdict = judge_page(served, url=url, meta=meta, ld_items=ld_items, headline=title,
                             byline=bool(record_meta["authors"]), dated=page_dated)
        if not verdict.is_article:
            raise ExtractionError(url, f"not an article page: {word_count} words, {verdict.reason}")
        floor = story_floor(min_words)
        # Under ~250 characters trafilatura's balanced mode swaps in its whole-<article> baseline (the
        # headline glued to the story) and the retries above reach for more text still: the headline,
        # the dateline, the footer. The most precise extraction that holds a story is the story.
        tried.insert(0, postclean(_run_trafilatura(tree, url, precision=True), title))
        story = next((t for t in tried if count_words(t) >= floor and has_sentence(t)), None)
        if story is None:
            raise ExtractionError(url, f"no article body found ({word_count} words on an article page, "
                                       f"need {floor} and a finished sentence; {min_words} elsewhere)")
        body, word_count = story, count_words(story)

    chosen = _choose(published, fetched)
    published_at = _to_minute(chosen.parsed.value) if chosen else None
    later = [c for c in updated if published_at is None or c.parsed.value >= published_at]
    chosen_update = _choose(later, fetched)
    updated_at = _to_minute(chosen_update.parsed.value) if chosen_update else None

    return ArticleRecord(
        body=body,
        published_at=published_at,
        published_at_source=chosen.source if chosen else None,
        published_local_date=_local_day(chosen, published, url, tz) if chosen else None,
        published_at_has_time=chosen.parsed.has_time if chosen else None,
        updated_at=updated_at,
        word_count=word_count,
        **record_meta,
    )
