"""Strip news-site boilerplate: before trafilatura sees the DOM, and from its text after.

trafilatura is good at finding the main text block, but on news sites the
block often contains price tickers, share bars, newsletter boxes, "Read
more:" promos and "Source link" trailers, and sidebars full of headlines can
outscore a short story. We remove what the markup gives away (class/id names,
link-dense lists, ticker widgets) while protecting the element that holds the
story paragraphs and its ancestors, then drop leftover junk lines from the text.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lxml import etree
from lxml.html import HtmlElement

# Class/id words that mark boilerplate; matched against the parts of each
# class/id token split on '-', '_' and camelCase, so "related-articles" and
# "shareBar" match but "headline" (contains "ad") does not.
_BOILERPLATE_PARTS = frozenset(
    {
        "nav", "navbar", "navigation", "menu", "breadcrumb", "breadcrumbs", "skiplink",
        "share", "sharing", "sharebar", "social", "ticker", "tickers", "marquee",
        "cookie", "cookies", "consent", "gdpr", "newsletter", "newsletters", "subscribe", "subscription",
        "signup", "related", "recommended", "recommendations", "recirc", "outbrain", "taboola",
        "promo", "promoted", "sponsored", "sponsor", "advert", "advertisement", "ad", "ads", "adslot",
        "dfp", "footer", "sidebar", "trending", "popular", "mostread", "comments", "comment", "disqus",
        "bio", "authorbox", "tags", "paywall", "byline", "dateline", "sronly", "toolbar",
    }
)
# Two-word names whose parts alone are too generic to act on.
_BOILERPLATE_PAIRS = frozenset(
    {
        ("read", "more"), ("most", "read"), ("more", "stories"), ("you", "may"), ("sign", "up"),
        ("author", "box"), ("about", "author"), ("sr", "only"), ("visually", "hidden"),
        ("screen", "reader"), ("skip", "link"), ("post", "meta"), ("entry", "meta"), ("article", "meta"),
        ("price", "widget"), ("coin", "widget"), ("market", "widget"),
    }
)
_REMOVED_TAGS = frozenset({"nav", "footer", "aside", "form", "button", "noscript", "select", "input", "dialog"})
_CONTENT_TAGS = frozenset({"article", "main", "body", "html"})
_REMOVED_ROLES = frozenset({"navigation", "complementary", "contentinfo", "search", "dialog", "alertdialog"})
_SPLIT = re.compile(r"[\s_\-:]+|(?<=[a-z0-9])(?=[A-Z])")

TICKER = re.compile(
    r"\b[A-Z][A-Z0-9]{1,9}(?:/USDT?)?\s*:?\s*\$?\s?\d[\d,]*(?:\.\d+)?\s*\(?\s*[+\-−–▲▼]?\s?\d+(?:\.\d+)?\s?%\)?"
)


def class_parts(el: HtmlElement) -> list[str]:
    """Lower-cased words of an element's class and id attributes."""
    return list(name_parts(el.get("class"), el.get("id")))


# Pages repeat the same class/id values on many elements (and across pages of a site), so the
# split and the verdict are memoised by the attribute values.
@lru_cache(maxsize=65536)
def name_parts(class_attr: str | None, id_attr: str | None) -> tuple[str, ...]:
    words: list[str] = []
    for attr in (class_attr, id_attr):
        if attr:
            words.extend(w.lower() for w in _SPLIT.split(attr) if w)
    return tuple(words)


@lru_cache(maxsize=65536)
def _boilerplate_names(class_attr: str | None, id_attr: str | None) -> bool:
    parts = name_parts(class_attr, id_attr)
    if not parts:
        return False
    if any(p in _BOILERPLATE_PARTS for p in parts):
        return True
    return any(pair in _BOILERPLATE_PAIRS for pair in zip(parts, parts[1:]))


def looks_like_boilerplate(el: HtmlElement) -> bool:
    """True for elements whose tag, role or class/id says they are not the story."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in _CONTENT_TAGS:
        return False  # CMSes put taxonomy classes ("tag-bitcoin") on the article element itself
    if tag in _REMOVED_TAGS or (el.get("role") or "").lower() in _REMOVED_ROLES:
        return True
    return _boilerplate_names(el.get("class"), el.get("id"))


def story_container(body: HtmlElement) -> HtmlElement | None:
    """The element directly holding the most paragraph text: our best guess at the story."""
    scores: dict[HtmlElement, int] = {}
    for p in body.iter("p"):
        parent = p.getparent()
        if parent is None:
            continue
        length = len(p.text_content().strip())
        if length >= 40:  # one-liners are captions and promos, not story prose
            scores[parent] = scores.get(parent, 0) + length
    if not scores:
        return None
    return max(scores, key=scores.__getitem__)


def _link_density(el: HtmlElement) -> tuple[int, float]:
    text_len = len(el.text_content().strip())
    links = el.findall(".//a")
    if not links or not text_len:
        return len(links), 0.0
    link_len = sum(len(a.text_content().strip()) for a in links)
    return len(links), link_len / text_len


def _is_ticker_block(el: HtmlElement) -> bool:
    text = el.text_content()
    if len(text) > 2000:
        return False
    hits = TICKER.findall(text)
    return len(hits) >= 3 and sum(len(h) for h in hits) >= 0.5 * len(text.strip())


_LISTS = etree.XPath(".//ul|.//ol")
_PERCENT_TEXT = etree.XPath(".//text()[contains(., '%')]")


def _ticker_blocks(body: HtmlElement) -> list[HtmlElement]:
    """The outermost elements (up to 4 levels above a quote) made mostly of price quotes."""
    found: list[HtmlElement] = []
    seen: set[HtmlElement] = set()
    for text in _PERCENT_TEXT(body):
        if not TICKER.search(text):
            continue
        el = text.getparent()
        if text.is_tail:
            el = el.getparent()
        best = None
        for _ in range(4):
            if el is None or el is body or el in seen:
                break
            seen.add(el)
            if _is_ticker_block(el):
                best = el
            el = el.getparent()
        if best is not None:
            found.append(best)
    return found


_HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
_LINKED_HEADINGS = etree.XPath(".//*[self::h2 or self::h3 or self::h4 or self::h5 or self::h6][a]")
_SIGNUP_INPUTS = etree.XPath(".//input[@type='email'] | .//form")
# a sign-up box is a heading, a sentence and a form; more text than this is a page region
_SIGNUP_MAX_CHARS = 500


def _card_grids(body: HtmlElement, protected: set[HtmlElement]) -> list[HtmlElement]:
    """Teaser grids: two or more cards, each led by a heading that is a link to another story.

    Story subheadings are not links, so a block of linked headings with
    blurbs is recirculation even when its class name says nothing.
    """
    cards_by_grid: dict[HtmlElement, set[HtmlElement]] = {}
    for heading in _LINKED_HEADINGS(body):
        link_text = " ".join(a.text_content() for a in heading.iterfind("a")).strip()
        if len(link_text) < 0.8 * len(heading.text_content().strip()):
            continue  # a subheading with a link inside, not a headline link
        card = heading.getparent()
        if card is None:
            continue
        grid = card.getparent() if card not in protected else card
        if grid is None:
            continue
        cards_by_grid.setdefault(grid, set()).add(card if grid is not card else heading)
    found = []
    for grid, cards in cards_by_grid.items():
        if len(cards) < 2:
            continue
        if grid not in protected:
            found.append(grid)
        else:
            # cards sit directly in the story container: drop the cards, keep the container
            found.extend(card for card in cards if card not in protected and card.tag not in _HEADINGS)
    return found


def _signup_boxes(body: HtmlElement, protected: set[HtmlElement]) -> list[HtmlElement]:
    """The smallish block around an e-mail field or form: newsletter and sign-up boxes."""
    found = []
    for field in _SIGNUP_INPUTS(body):
        best = None
        node = field.getparent()
        while node is not None and node not in protected and node is not body:
            if len(node.text_content()) > _SIGNUP_MAX_CHARS:
                break
            best = node
            node = node.getparent()
        if best is not None:
            found.append(best)
    return found


def protected_nodes(tree: HtmlElement) -> set[HtmlElement]:
    """The story container, its ancestors and its long direct paragraphs: never boilerplate.

    Whatever their class says: a wrapper called "no-sidebar" or a WordPress
    ``<article class="... tag-bitcoin">`` must not take the story with it.
    """
    body = tree.find(".//body")
    container = story_container(body if body is not None else tree)
    protected: set[HtmlElement] = set()
    if container is not None:
        protected.update(container.iterancestors())
        protected.add(container)
        protected.update(p for p in container if p.tag == "p" and len(p.text_content()) >= 120)
    return protected


def preclean(tree: HtmlElement, protected: set[HtmlElement] | None = None) -> int:
    """Remove boilerplate elements from the page body in place; returns how many were removed.

    ``protected`` (default: :func:`protected_nodes`) is never removed.
    """
    body = tree.find(".//body")
    if body is None:
        body = tree
    if protected is None:
        protected = protected_nodes(tree)

    doomed: list[HtmlElement] = []
    # looks_like_boilerplate inlined: one walk over the elements, the class/id verdict memoised by
    # value (cheaper than an XPath pre-selection, which keeps most elements anyway)
    for el in body.iter(etree.Element):
        tag = el.tag
        if el is body or tag in _CONTENT_TAGS or el in protected:
            continue
        if tag in _REMOVED_TAGS:
            doomed.append(el)
            continue
        role = el.get("role")
        if (role and role.lower() in _REMOVED_ROLES) or _boilerplate_names(el.get("class"), el.get("id")):
            doomed.append(el)
    for el in _LISTS(body):
        if el not in protected:
            n_links, density = _link_density(el)
            # lists of headlines (related, most read) even without telling class names
            if n_links >= 3 and density >= 0.75:
                doomed.append(el)
    doomed.extend(el for el in _ticker_blocks(body) if el not in protected)
    doomed.extend(_card_grids(body, protected))
    doomed.extend(_signup_boxes(body, protected))
    doomed_set = set(doomed)
    removed = 0
    for el in doomed:
        # nested matches go with their removed ancestor
        if el.getparent() is None or any(a in doomed_set for a in el.iterancestors()):
            continue
        _drop_keep_tail(el)
        removed += 1
    return removed


def _drop_keep_tail(el: HtmlElement) -> None:
    """Remove ``el`` but keep the text that follows it (lxml stores it on the element)."""
    parent = el.getparent()
    tail = el.tail
    if tail and tail.strip():
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


_JUNK_LINE = re.compile(
    r"""^(?:
        source\s+link|back\s+to\s+top|advertisement|advertising|sponsored(?:\s+content)?|ad
      | share(?:\s+this)?(?:\s+(?:article|story|post))?(?:\s+on\s+\S+)?|copy\s+link|print(?:\s+this\s+article)?
      | (?:read|see)\s+(?:more|also|next)(?:\s*[:»›>|-].*)?|also\s+read\s*[:»›>|-].*
      | related(?:\s+(?:stories|articles|coverage|reading))?(?:\s*:.*)?
      | recommended(?:\s+for\s+you)?|more\s+from\s+\S+(?:\s+\S+){0,3}|follow\s+us\s+on\b.*|click\s+here\s+to\b.*
      | sign\s+up\s+(?:for|to)\b.*|subscribe(?:\s+(?:now|today|to\s+.*))?|get\s+the\s+latest\b.*newsletter.*
      | all\s+rights\s+reserved.*|©.*|\(c\)\s*\d{4}.*|copyright\s+\d{4}.*
      | (?:image|photo|picture)(?:\s+(?:source|credit))?\s*:.*|getty\s+images
      | this\s+article\s+(?:was\s+)?(?:originally\s+)?(?:appeared|published)\s+(?:on|in)\b.*
      | .*\b(?:to|in)\s+your\s+inbox\b.*|we\s+use\s+cookies\b.*|accept(?:\s+all)?(?:\s+cookies)?
      | manage\s+(?:settings|cookies|preferences)
    )[.!]?$""",
    re.I | re.X,
)
# Above this length a line is prose that merely starts like a promo ("More from
# the note suggests..."), not the promo itself.
_JUNK_MAX_CHARS = 160


def is_junk_line(line: str) -> bool:
    stripped = line.strip().strip("|·•-–—» ").strip()
    if not stripped:
        return True
    if len(stripped) <= _JUNK_MAX_CHARS and _JUNK_LINE.match(stripped):
        return True
    hits = TICKER.findall(stripped)
    # "BTC $97,123 +2.1% ETH $3,300 -0.4% ..." with little else on the line
    return len(hits) >= 2 and sum(len(h) for h in hits) >= 0.6 * len(stripped)


def postclean(text: str, title: str | None = None) -> str:
    """Drop junk lines, a repeated headline and consecutive duplicates; keep story lines intact."""
    kept: list[str] = []
    norm_title = " ".join(title.split()).lower() if title else None
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if is_junk_line(line):
            continue
        if norm_title and not kept and line.lower() == norm_title:
            continue
        if kept and kept[-1] == line:
            continue
        kept.append(line)
    return "\n".join(kept)
