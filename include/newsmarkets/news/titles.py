"""The article's headline, as the page shows it above the story.

Reference (what ``ArticleRecord.title`` means, and what the real-page
benchmark scores against trafilatura's annotations): the headline of the
story as printed on the page, usually its ``<h1>``; not the ``<title>``
with the site name before or after it, not a section or kicker in front of
it, not the site's logo or a navigation heading.

How it is found (pure, from the parsed tree and the metadata already read):

1. metadata candidates, most specific first: JSON-LD ``headline``,
   ``og:title``, ``twitter:title``, ``dc.title``, ``<title>``; HTML entities
   are unescaped (CMSes double-escape ``&#038;``, ``&raquo;``, ``&#8211;``);
2. an ``<h1>`` (of the first few) that is one of the candidates or a part
   of one is the headline: it is what the page prints, and the metadata
   confirms it is not the logo or a widget heading. This drops a section
   prefix or site suffix the metadata carries; a kicker marked up inside
   the ``<h1>`` (``class="kicker"``, ``dachzeile``, ``roofline``,
   visually-hidden separators) is not part of the headline;
3. a blog's name printed as its ``<h1>`` and after the story in the ``<title>`` ("Story | Blog") is
   the site, not the headline, when the story part is longer or printed as another ``<h1>``;
4. an ``<h1>`` that differs from the metadata title but is about the same story (three words or more,
   one word shared with a metadata title minus its site part) is the headline: sites print one
   headline and give search engines another ("… Gigafactory-Kapazität in Tennessee" printed, "…
   Gigafactory-Kapazität" in og:title and JSON-LD). A kicker the ``<h1>`` prints before the metadata
   headline, or a date or site after it, is dropped; a subtitle after it stays;
5. otherwise the first candidate other than ``<title>``, minus a site part: the title is split at
   separators (`` | ``, `` - ``, `` – ``, `` — ``, `` :: ``, `` « ``,
   `` » ``, `` · ``, `` • ``, `` › ``, `` : ``) and a leading or trailing segment is
   dropped only when it names the site (``og:site_name``,
   ``application-name``, the JSON-LD publisher or WebSite name, a label of
   the page's host, "Blog Archive") or is only a date; the segments after a trailing site
   name go with it (a tagline). A dash inside a real headline is kept: a segment
   that names nothing known stays; a leading segment must hold the whole
   site name (it is more often the start of a headline);
6. otherwise the first ``<h1>`` that is not the site's name, then the
   ``<title>`` minus a site part, or the part before its first pipe when no part names the site.

Soft hyphens and zero-width characters are dropped everywhere (hyphenation hints, not text).
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from lxml.html import HtmlElement

# A separator between headline and site name: spaced dashes, pipes (also unspaced), guillemets, dots.
_SEPARATOR = re.compile(r"(\s+(?:[-–—~·•›»«/:]|::)\s+|\s*[|│]\s*)")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]{2,8});")
# Host labels that name no site.
_GENERIC_LABELS = frozenset({"www", "news", "blog", "blogs", "home", "online", "com", "org", "net", "info", "html"})
# Segments that name a site's section of archives rather than a story ("Blog Archive » Headline").
_GENERIC_SITE_PARTS = frozenset({"blogarchive", "blogarchiv", "blog", "home", "startseite", "homepage"})
# A kicker or screen-reader text inside the <h1>, before the headline proper.
_KICKER = re.compile(
    r"kicker|roofline|dachzeile|overline|topline|eyebrow|spitzmarke|supertitle|titleheader|hidden|sr-only"
    r"|screen-reader", re.I)
_MAX_H1 = 5
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))


def clean(text: str | None) -> str | None:
    """Entities unescaped (twice for double-escaped ones), soft hyphens and zero-width characters
    dropped (hyphenation hints, not text), whitespace collapsed; None when empty."""
    if not text:
        return None
    for _ in range(2):
        if "&" not in text or not _ENTITY.search(text):
            break
        text = html.unescape(text)
    cleaned = " ".join(text.translate(_INVISIBLE).split())
    return cleaned or None


def _key(text: str) -> str:
    """Letters and digits only, case-folded: "St.Galler Tagblatt" == "St. Galler Tagblatt"."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def host_names(url: str | None) -> list[str]:
    """Keys of the host's distinctive labels: https://www.tageswoche.ch/x -> ['tageswochech', 'tageswoche']."""
    if not url:
        return []
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return []
    labels = [label for label in host.split(".") if label]
    if labels and labels[0] == "www":
        labels = labels[1:]
    if len(labels) < 2:
        return []
    names = [_key(".".join(labels))]
    names += [_key(label) for label in labels[:-1] if len(label) >= 4 and label not in _GENERIC_LABELS]
    return [n for n in names if len(n) >= 4]


def _site_like(segment: str, sites: list[str], hosts: list[str], *, leading: bool = False,
               whole: bool = False) -> bool:
    """Whether a title segment names the site. A leading segment must hold the whole name (it is more
    often the start of a real headline: "Welpen kaufen – …" on welpenkaufen24.de stays); a ``whole``
    text (an <h1>) must be mostly the name ("Tote Hummeln unter Linden" is not the site "Hummeln")."""
    key = _key(segment)
    if len(key) < 2 or key in _GENERIC_SITE_PARTS or not any(ch.isalpha() for ch in key):
        return True  # a stray separator leftover ("Headline -"), "Blog Archive", a date ("23.01.2022 - …")
    short = len(segment.split()) <= 6
    for name in sites + hosts:
        if key == name or (short and len(name) >= 4 and name in key and (not whole or 2 * len(name) >= len(key))):
            return True
        if not leading and short and len(key) >= 5 and key in name:
            return True
    return False


def _segments(text: str) -> tuple[list[str], list[str]]:
    parts = _SEPARATOR.split(text)
    return parts[0::2], parts[1::2]


def _join(segments: list[str], seps: list[str]) -> str:
    out = segments[0]
    for sep, seg in zip(seps, segments[1:]):
        out += sep + seg
    return out.strip()


def strip_site(text: str, sites: list[str], hosts: list[str]) -> str:
    """``text`` without a leading or trailing segment that names the site (see the module doc)."""
    segments, seps = _segments(text)
    if len(segments) < 2:
        return text
    marks = [_site_like(seg, sites, hosts, leading=i == 0) for i, seg in enumerate(segments)]
    start, end = 0, len(segments)
    while start < end - 1 and marks[start]:
        start += 1
    # trailing: cut at the first site-like segment after the headline (site, then its tagline)
    for i in range(start + 1, end):
        if marks[i]:
            end = i
            break
    if (start, end) == (0, len(segments)):
        return text
    kept = _join(segments[start:end], seps[start : end - 1])
    return kept if _key(kept) else text


def _h1_text(el: HtmlElement) -> str:
    """The <h1>'s text without a kicker ("Klimaschutz") or screen-reader separator inside it."""
    parts = []

    def walk(node: HtmlElement) -> None:
        if node is not el and (node.tag in ("rt", "rp") or _KICKER.search(node.get("class") or "")):
            return  # a kicker, or ruby readings (furigana) over the headline's characters
        if node.text:
            parts.append(node.text)
        for child in node:
            if isinstance(child.tag, str):
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(el)
    text = " ".join("".join(parts).split())
    return text or el.text_content()


def headline(
    tree: HtmlElement,
    candidates: list[str | None],
    sites: list[str | None],
    url: str | None = None,
    page_title: str | None = None,
) -> str | None:
    """The page's headline from metadata ``candidates`` (most specific first), its ``<h1>``s and
    ``<title>`` (``page_title``)."""
    structured = [c for c in (clean(c) for c in candidates) if c]
    page_title = clean(page_title)
    metas = structured + ([page_title] if page_title else [])
    site_keys = [k for k in (_key(s) for s in (clean(s) for s in sites) if s) if len(k) >= 3]
    hosts = host_names(url)
    raw_h1s: list[str] = []  # as printed
    h1s: list[str] = []  # minus a site part ("Headline | Site" printed in the <h1>)
    for el in tree.iter("h1"):
        text = clean(_h1_text(el))
        if text and len(text) <= 400:
            raw_h1s.append(text)
            stripped = strip_site(text, site_keys, hosts)
            if not _site_like(stripped, site_keys, hosts, whole=True):
                h1s.append(stripped)
        if len(raw_h1s) >= _MAX_H1:
            break
    folded = [" ".join(m.casefold().split()) for m in metas]
    for h1 in raw_h1s + h1s:
        if h1.casefold() in folded:
            return h1
    # A blog's name printed as its <h1> and after the story in the <title> ("Story | Blog") is the site.
    named = [h1 for h1 in h1s if _names_site_in(h1, h1s, metas, site_keys, hosts)]
    if named:
        site_keys = site_keys + [_key(h1) for h1 in named]
        h1s = [h1 for h1 in h1s if h1 not in named]
    for h1 in h1s:
        h = h1.casefold()
        if len(_key(h1)) >= 4 and any(h in m for m in folded):
            return h1
    printed = _printed_headline(h1s, [strip_site(m, site_keys, hosts) for m in metas], site_keys)
    if printed:
        return printed
    if structured:
        return strip_site(structured[0], site_keys, hosts)
    if h1s:
        return h1s[0]
    return _title_headline(page_title, site_keys, hosts) if page_title else None


def _title_headline(page_title: str, sites: list[str], hosts: list[str]) -> str:
    """The <title> minus a site part; when no part names the site, the story before a pipe
    ("Alles Neue mach der Mai… | Bibliothek 2.0 und mehr"): a pipe separates the page from the site or
    its sections far more often than it sits inside a headline."""
    stripped = strip_site(page_title, sites, hosts)
    if stripped != page_title:
        return stripped
    head = re.split(r"\s*[|│]\s*", page_title, maxsplit=1)[0].strip()
    return head if len(head.split()) >= 3 else page_title


def _names_site_in(h1: str, h1s: list[str], metas: list[str], sites: list[str], hosts: list[str]) -> bool:
    """Whether ``h1`` is the trailing part of a metadata title after the story ("Story | Blog name"):
    the story before it is longer or printed as another <h1>, and does not name the site ("Zoll online -
    Fachmeldungen - Story" keeps the story; in "Kicker: Long headline" the headline is longer)."""
    key = _key(h1)
    others = {_key(other) for other in h1s if other != h1}
    for meta in metas:
        segments, seps = _segments(meta)
        for i in range(1, len(segments)):
            if _key(_join(segments[i:], seps[i:])) == key:
                lead = _join(segments[:i], seps[: i - 1])
                if _site_like(segments[0], sites, hosts, leading=True):
                    return False
                return len(lead) > len(h1) or _key(lead) in others
    return False


_WORD = re.compile(r"\w{4,}")


def _printed_headline(h1s: list[str], metas: list[str], sites: list[str]) -> str | None:
    """The first <h1> that reads as a headline about what the metadata title (site part dropped) is
    about, when the two differ (an SEO title beside the printed headline): three words or more, one of
    its words (at least four letters; compounds match on a shared six-letter start) in a metadata title
    and not in the site's name (a slogan <h1> "El Mostrador, el primer diario …" is not the story)."""
    meta_words = {w.casefold() for m in metas for w in _WORD.findall(m)} - set(sites)
    if not meta_words:
        return None
    stems = {w[:6] for w in meta_words if len(w) >= 6}
    for h1 in h1s:
        words = [w.casefold() for w in _WORD.findall(h1)]
        if len(h1.split()) < 3:
            continue
        if any(w in meta_words or (len(w) >= 6 and w[:6] in stems) for w in words):
            return _without_kicker_or_tail(h1, metas)
    return None


def _without_kicker_or_tail(h1: str, metas: list[str]) -> str:
    """The metadata headline as the <h1> prints it when the <h1> only adds a kicker before it
    ("Investitionen in IT-Sicherheit Cyber-Angriffe: …", "Politics | …") or a date or site after it
    ("… 02.02.2022 • Verband", "… | FASSETTE.NET"); a subtitle after it stays (it is printed as one)."""
    folded = h1.lower()  # not casefold(): positions must map back onto the <h1> ("ß" folds to "ss")
    if len(folded) != len(h1):  # a letter whose lower case is longer ("İ"): positions would not map
        return h1
    for meta in metas:
        m = meta.lower()
        at = folded.find(m)
        if len(_key(meta)) < 8 or at < 0 or len(m) == len(folded):
            continue
        if at > 0 and at + len(m) == len(folded):
            return h1[at:].strip()
        tail = h1[at + len(m):].lstrip()
        if at == 0 and tail and (tail[0].isdigit() or tail[0] in "|│•·»–—-/"):
            return h1[: len(m)].strip()
    return h1
