"""Is this page one story, or a page of links to stories? (pure: parsed page and its metadata in, verdict out)

:func:`newsmarkets.news.extract.extract_article` asks only when a body comes
out under the configured word floor (``news.min_words``). That floor exists to
keep home, section, tag, search and other navigation pages out; it also threw
away wire briefs and 30-word flashes, often the news that moves markets. A
short body is kept when the page itself says it is one article:

* article markup: ``og:type`` article, JSON-LD typed as an article
  (NewsArticle, ReportageNewsArticle, BlogPosting, ...), schema.org Article
  microdata or ``itemprop="articleBody"``, or an ``<article>`` element that
  holds the page's ``<h1>`` (or is the only one);
* a headline, and a byline or a publish date the page states (the caller
  knows both from its own extraction);
* no listing evidence: a listing URL (the site root, ``/tag/``,
  ``/category/``, ``/search``, ``/page/2``, a date archive ``/2011/``...), JSON-LD listing types
  (CollectionPage, ItemList, SearchResultsPage, or WebSite as the page's
  only description), an ``og:type`` other than article with no article
  JSON-LD behind it, several ``<article>`` teasers and no article holding
  the headline (with pagination, if any, named beside them), a paywall notice
  (``isAccessibleForFree`` false: the body is the teaser of a longer story).

Below :data:`SHORT_STORY_MIN_WORDS` words (and without one finished
sentence) nothing is a story, whatever the page says; see there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping
from urllib.parse import urlsplit

from lxml.html import HtmlElement

# A story must still be a sentence: news sentences run 20-25 words, a wire flash is one sentence of
# 15-30 ("Bitcoin fell 8% to $38,000 on Tuesday after the SEC sued the largest U.S. exchange,
# according to a court filing." is 20). Under 15 words what remains is a headline repeated, an
# image caption, "Subscribe to continue reading" or a cookie notice, not a story.
SHORT_STORY_MIN_WORDS = 15

# JSON-LD types (lower case) that describe one article; the same set extract.py reads dates from.
ARTICLE_LD_TYPES = frozenset(
    {
        "article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
        "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "liveblogposting",
        "techarticle", "report", "satiricalarticle", "scholarlyarticle", "socialmediaposting",
    }
)
# JSON-LD types that describe a page of links to other pages.
LISTING_LD_TYPES = frozenset({"collectionpage", "itemlist", "searchresultspage"})
# og:type values of an article page (og:type "article", and the "article:..." variants some CMSes write).
_OG_ARTICLE = re.compile(r"^(?:og:)?article\b", re.I)
# URL path segments of listing pages; the site root is one too. Not "archive": article URLs carry
# it (theatlantic.com/ideas/archive/2020/08/<slug>/).
LISTING_PATH_SEGMENTS = frozenset(
    {
        "tag", "tags", "category", "categories", "topic", "topics", "section", "sections", "search",
        "author", "authors", "page", "label", "labels", "rubrik", "thema", "themen", "schlagwort",
        "kategorie", "categorie", "categoria", "etiqueta", "tema",
    }
)
# A path of nothing but a year, month and day; an article's path goes on to a slug or an id.
_DATE_ARCHIVE = re.compile(r"(?:19|20)\d\d(?:/\d{1,2}){0,2}")
# An index shows this many <article> cards besides any article holding the headline.
TEASER_ARTICLES = 3
# Class/id words of pagination controls.
# Only reported beside teasers: single posts carry rel=prev/next and "nav-links" to adjacent posts too.
_PAGINATION = re.compile(r"(?:^|[\s_-])(?:pagination|pager|page-numbers|paginator)(?:$|[\s_-])", re.I)
# One finished sentence: terminal punctuation after a word (two letters or a digit: not the "U." or
# "S." of an abbreviation), then a space, a closing quote or the end; or CJK full stops.
_SENTENCE_END = re.compile(r"(?:[^\W\d_]{2}|[\d%)])[.!?…][\"'”’»)\]]*(?:\s|$)|[。！？]")


@dataclass(frozen=True)
class PageVerdict:
    """Whether a page is one article, and the evidence, for logs and error messages."""

    is_article: bool
    reason: str  # "og:type article, JSON-LD NewsArticle, byline, date" or "og:type website, 14 <article> teasers"


def story_floor(min_words: int) -> int:
    """Fewest words a story on an article page may have under a configured ``min_words`` floor."""
    return min(min_words, SHORT_STORY_MIN_WORDS)


def has_sentence(text: str) -> bool:
    """Whether ``text`` finishes at least one sentence (a headline or a list of links does not)."""
    return bool(_SENTENCE_END.search(text))


def listing_url(url: str | None) -> str | None:
    """What makes ``url`` a listing page's address ("site root", "/tag/"), or None."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    segments = [s.lower() for s in parts.path.split("/") if s]
    if not segments and not parts.query:
        return "site root URL"
    if _DATE_ARCHIVE.fullmatch("/".join(segments)):
        return "date archive URL"  # /2011/, /2011/03/: a blog's posts of a year or month
    for segment in segments:
        if segment in LISTING_PATH_SEGMENTS:
            return f"listing URL /{segment}/"
    return None


def _own_article(tree: HtmlElement, articles: list[HtmlElement]) -> HtmlElement | None:
    """The <article> holding the page's headline or articleBody (the story's own), if any."""
    marks = tree.xpath('(.//h1)[1] | .//*[@itemprop="articleBody"]')
    for article in articles:
        for mark in marks:
            if mark is article or any(a is article for a in mark.iterancestors("article")):
                return article
    return articles[0] if len(articles) == 1 else None


def _is_paginated(tree: HtmlElement) -> bool:
    for link in tree.iterfind(".//link[@rel]"):
        if set(link.get("rel", "").lower().split()) & {"next", "prev"}:
            return True
    for el in tree.xpath(".//*[@class or @id][self::nav or self::div or self::ul or self::ol]"):
        if _PAGINATION.search(f"{el.get('class') or ''} {el.get('id') or ''}"):
            return True
    return False


def judge_page(
    tree: HtmlElement,
    *,
    url: str | None,
    meta: Mapping[str, str],
    ld_items: Iterable[Mapping],
    headline: str | None,
    byline: bool,
    dated: bool,
) -> PageVerdict:
    """Whether the page (``tree`` as served, not pre-cleaned) is one article, from its own evidence.

    ``meta``: the page's <meta> values by lower-cased name/property; ``ld_items``: its JSON-LD
    objects; ``headline``, ``byline`` and ``dated`` (a publish date stated by the page, not by a
    feed) come from the extraction.
    """
    ld_items = list(ld_items)
    ld_types = [t for item in ld_items for t in _types(item)]
    ld_article = [t for t in ld_types if t.lower() in ARTICLE_LD_TYPES]
    ld_listing = [t for t in ld_types if t.lower() in LISTING_LD_TYPES]
    og_type = (meta.get("og:type") or "").strip()
    articles = list(tree.iter("article"))
    own = _own_article(tree, articles)
    teasers = [a for a in articles if own is None
               or not (a is own or any(p is own for p in a.iterancestors("article"))
                       or any(p is a for p in own.iterancestors("article")))]

    markup: list[str] = []
    if og_type and _OG_ARTICLE.match(og_type):
        markup.append("og:type article")
    if ld_article:
        markup.append(f"JSON-LD {ld_article[0]}")
    if tree.xpath('.//*[@itemprop="articleBody"]'):
        markup.append("itemprop articleBody")
    elif tree.xpath('.//*[@itemtype][contains(@itemtype, "Article") or contains(@itemtype, "BlogPosting")]'):
        markup.append("microdata Article")
    if own is not None:
        markup.append("<article> element")

    against: list[str] = []
    where = listing_url(url)
    if where:
        against.append(where)
    if ld_listing:
        against.append(f"JSON-LD {ld_listing[0]}")
    elif not ld_article and ld_types and all(t.lower() in {"website", "organization", "newsmediaorganization",
                                                            "breadcrumblist", "searchaction"} for t in ld_types):
        against.append("JSON-LD WebSite only")
    if og_type and not _OG_ARTICLE.match(og_type) and not ld_article:
        against.append(f"og:type {og_type}")
    if own is None and len(teasers) >= TEASER_ARTICLES:
        against.append(f"{len(teasers)} <article> teasers")
        if _is_paginated(tree):
            against.append("pagination")
    if any(_free(item) is False for item in ld_items if {t.lower() for t in _types(item)} & ARTICLE_LD_TYPES):
        against.append("paywalled (isAccessibleForFree false)")

    missing: list[str] = []
    if not markup:
        missing.append("no article markup")
    if not headline:
        missing.append("no headline")
    if not (byline or dated):
        missing.append("no byline or publish date")

    if against or missing:
        return PageVerdict(False, ", ".join(against + missing))
    found = markup + (["byline"] if byline else []) + (["date"] if dated else [])
    return PageVerdict(True, ", ".join(found))


def _types(item: Mapping) -> list[str]:
    t = item.get("@type")
    values = t if isinstance(t, list) else [t]
    return [v for v in values if isinstance(v, str)]


def _free(item: Mapping) -> bool | None:
    value = item.get("isAccessibleForFree")
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("false", "true"):
        return value.strip().lower() == "true"
    return None
