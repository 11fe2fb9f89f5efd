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
3. otherwise the first candidate other than ``<title>``, minus a site part: the title is split at
   separators (`` | ``, `` - ``, `` – ``, `` — ``, `` :: ``, `` « ``,
   `` » ``, `` · ``, `` • ``, `` › ``, `` : ``) and a leading or trailing segment is
   dropped only when it names the site (``og:site_name``,
   ``application-name``, the JSON-LD publisher or WebSite name, a label of
   the page's host, "Blog Archive"); the segments after a trailing site
   name go with it (a tagline). A dash inside a real headline is kept: a segment
   that names nothing known stays; a leading segment must hold the whole
   site name (it is more often the start of a headline);
4. otherwise the first ``<h1>`` that is not the site's name, then the
   ``<title>`` minus a site part.
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


def clean(text: str | None) -> str | None:
    """Entities unescaped (twice for double-escaped ones), whitespace collapsed; None when empty."""
    if not text:
        return None
    for _ in range(2):
        if "&" not in text or not _ENTITY.search(text):
            break
        text = html.unescape(text)
    cleaned = " ".join(text.split())
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


def _site_like(segment: str, sites: list[str], hosts: list[str], *, leading: bool = False) -> bool:
    """Whether a title segment names the site. A leading segment must hold the whole name (it is more
    often the start of a real headline: "Welpen kaufen – …" on welpenkaufen24.de stays)."""
    key = _key(segment)
    if len(key) < 2 or key in _GENERIC_SITE_PARTS:
        return True  # a stray separator leftover ("Headline -"), "Blog Archive"
    short = len(segment.split()) <= 6
    for name in sites + hosts:
        if key == name or (short and len(name) >= 4 and name in key):
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
            if not _site_like(stripped, site_keys, hosts):
                h1s.append(stripped)
        if len(raw_h1s) >= _MAX_H1:
            break
    folded = [" ".join(m.casefold().split()) for m in metas]
    for h1 in raw_h1s + h1s:
        if h1.casefold() in folded:
            return h1
    for h1 in h1s:
        h = h1.casefold()
        if len(_key(h1)) >= 4 and any(h in m for m in folded):
            return h1
    if structured:
        return strip_site(structured[0], site_keys, hosts)
    if h1s:
        return h1s[0]
    return strip_site(page_title, site_keys, hosts) if page_title else None
