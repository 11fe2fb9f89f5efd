"""Serve a :class:`NewsWorld` as four news web sites on the replay server.

Every outlet lives under its own path prefix on the one replay host:

- ``/outlets/<outlet>/feed.xml``: RSS 2.0 (``globalwire``: Atom), the last 24 h before the clock
  plus a few pinned oddities (below);
- ``/outlets/<outlet>/sitemap.xml``: sitemap index -> daily sitemaps ``sitemaps/<YYYY-MM-DD>.xml``
  (``coinwire``: ``.xml.gz``), everything up to the clock, for backfills;
- ``/outlets/ledgerpost/news-sitemap.xml``: a Google News sitemap (last 48 h);
- article pages in each outlet's own template; ``ledgerpost`` also serves an AMP copy under
  ``/outlets/ledgerpost/amp/...``. Article pages answer ETag/Last-Modified with 304.

robots.txt is per host, not per path, so ``/robots.txt`` combines every outlet's rules by
path prefix: coinwire's ``/outlets/coinwire/private/`` section is disallowed, and its
``Crawl-delay: 0.1`` necessarily applies to the whole host.

Deliberate oddities (``ODDITIES``, also in ``/_replay/news_truth``): a feed link that 404s,
an in-domain 301 to an article, a 301 to another host (``elsewhere.invalid``), a page over
6 MB, a PDF, and a robots-disallowed article listed in the sitemap. Nothing published after
the replay clock appears anywhere. Pure: request in, ``(status, headers, body)`` out.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from newsmarkets.replay.news_world import NewsArticle, NewsWorld, Outlet

PREFIX = "/outlets/"
FEED_WINDOW = timedelta(hours=24)
NEWS_SITEMAP_WINDOW = timedelta(hours=48)
OVERSIZED_BYTES = 6 * 1024 * 1024 + 300_000
ODDITY_DELAY = timedelta(hours=1)  # oddities appear this long after the world starts

# path -> (outlet, kind); the in-domain redirect target is resolved at request time.
ODDITIES: dict[str, dict[str, str]] = {
    "/outlets/coinwire/2026/01/01/story-that-was-pulled/": {"outlet": "coinwire", "kind": "not_found"},
    "/outlets/coinwire/live/markets-live-blog/": {"outlet": "coinwire", "kind": "oversized"},
    "/outlets/ledgerpost/go/latest": {"outlet": "ledgerpost", "kind": "redirect_in_domain"},
    "/outlets/marketdesk/partner/sponsored-outlook": {
        "outlet": "marketdesk", "kind": "redirect_off_domain", "location": "http://elsewhere.invalid/sponsored-outlook",
    },
    "/outlets/globalwire/reports/weekly-outlook.pdf": {"outlet": "globalwire", "kind": "pdf"},
}
DISALLOWED_PREFIXES = ("/outlets/coinwire/private/",)
CRAWL_DELAY_S = 0.1

Response = tuple[int, dict[str, str], bytes]


def _utc_iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(dt: datetime, outlet: Outlet) -> datetime:
    return dt.astimezone(ZoneInfo(outlet.timezone)) if outlet.timezone != "UTC" else dt.astimezone(timezone.utc)


def _http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(timezone.utc), usegmt=True)


def _x(text: str) -> str:
    return escape(text, quote=True)


def _not_found(what: str) -> Response:
    body = f"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>{_x(what)}</p></body></html>"
    return 404, {"Content-Type": "text/html; charset=utf-8"}, body.encode()


class NewsSite:
    """Renders the outlets of one :class:`NewsWorld`; ``handle`` answers one GET."""

    def __init__(self, news: NewsWorld) -> None:
        self.news = news
        self._by_path = {a.path: a for a in news.articles}
        self._amp = {"/outlets/ledgerpost/amp" + a.path[len("/outlets/ledgerpost"):]: a
                     for a in news.articles if a.outlet == "ledgerpost"}
        self._oversized: bytes | None = None
        self.oddity_at = news.start_at + ODDITY_DELAY

    def truth(self) -> dict[str, Any]:
        """The news world's truth plus where the oddities are."""
        return {**self.news.truth(), "oddities": [{"path": p, **v} for p, v in ODDITIES.items()],
                "robots_disallowed_prefixes": list(DISALLOWED_PREFIXES), "crawl_delay_s": CRAWL_DELAY_S}

    @staticmethod
    def owns(path: str) -> bool:
        return path == "/robots.txt" or path.startswith(PREFIX)

    # ---------------------------------------------------------------- routing
    def handle(self, path: str, request_headers: dict[str, str], now: datetime, root_url: str) -> Response:
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, self.robots_txt(root_url).encode()
        parts = path[len(PREFIX):].split("/", 1)
        outlet = self.news.outlets.get(parts[0])
        if outlet is None:
            return _not_found(f"no outlet at {path}")
        rest = "/" + (parts[1] if len(parts) > 1 else "")
        base = f"{root_url}{PREFIX}{outlet.name}"
        if rest == "/feed.xml":
            return self._feed(outlet, now, root_url)
        if rest == "/sitemap.xml":
            return self._sitemap_index(outlet, now, base)
        if rest.startswith("/sitemaps/"):
            return self._daily_sitemap(outlet, rest[len("/sitemaps/"):], now, root_url)
        if rest == "/news-sitemap.xml" and outlet.has_news_sitemap:
            return self._news_sitemap(outlet, now, root_url)
        if path in ODDITIES and now >= self.oddity_at:
            return self._oddity(path, now, root_url)
        article = self._by_path.get(path)
        if article is not None and article.published_at <= now:
            return self._page(article, now, root_url, request_headers, amp=False)
        article = self._amp.get(path)
        if article is not None and article.published_at <= now:
            return self._page(article, now, root_url, request_headers, amp=True)
        return _not_found(f"no page at {path}")

    # ----------------------------------------------------------------- robots
    def robots_txt(self, root_url: str) -> str:
        lines = [
            "# Replay news host: every outlet lives under /outlets/<outlet>/ and robots.txt is per host,",
            "# so the outlets' rules are combined here by path prefix.",
            "User-agent: *",
            *(f"Disallow: {p}" for p in DISALLOWED_PREFIXES),
            "Allow: /",
            f"Crawl-delay: {CRAWL_DELAY_S}",
            "",
        ]
        for name, outlet in self.news.outlets.items():
            lines.append(f"Sitemap: {root_url}{PREFIX}{name}/sitemap.xml")
            if outlet.has_news_sitemap:
                lines.append(f"Sitemap: {root_url}{PREFIX}{name}/news-sitemap.xml")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ feeds
    def _feed(self, outlet: Outlet, now: datetime, root: str) -> Response:
        items = [a for a in self.news.visible(now, outlet.name) if a.published_at > now - FEED_WINDOW]
        items.reverse()  # newest first, as feeds are
        entries = [(a.title, root + a.path, a.published_at, a.paragraphs[0]) for a in items]
        if now >= self.oddity_at:
            entries += self._feed_oddities(outlet, now, root)
        if outlet.feed_format == "atom":
            body = self._atom(outlet, entries, now, root)
            return 200, {"Content-Type": "application/atom+xml; charset=utf-8"}, body
        return 200, {"Content-Type": "application/rss+xml; charset=utf-8"}, self._rss(outlet, entries, now, root)

    def _feed_oddities(self, outlet: Outlet, now: datetime, root: str) -> list[tuple[str, str, datetime, str]]:
        out = []
        for path, spec in ODDITIES.items():
            if spec["outlet"] == outlet.name:
                title = path.rstrip("/").rsplit("/", 1)[-1].replace("-", " ").replace(".pdf", "").capitalize()
                out.append((title, root + path, self.oddity_at, f"{title}."))
        return out

    def _rss(self, outlet: Outlet, entries, now: datetime, root: str) -> bytes:
        items = "".join(
            f"<item><title>{_x(t)}</title><link>{_x(u)}</link><guid isPermaLink=\"true\">{_x(u)}</guid>"
            f"<pubDate>{format_datetime(_local(at, outlet))}</pubDate><description>{_x(d)}</description></item>\n"
            for t, u, at, d in entries
        )
        doc = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{_x(outlet.display_name)}</title><link>{root}{PREFIX}{outlet.name}/</link>"
            f"<description>Latest from {_x(outlet.display_name)}</description>"
            f"<lastBuildDate>{format_datetime(_local(now, outlet))}</lastBuildDate>\n{items}</channel></rss>\n"
        )
        return doc.encode()

    def _atom(self, outlet: Outlet, entries, now: datetime, root: str) -> bytes:
        items = "".join(
            f"<entry><title>{_x(t)}</title><link rel=\"alternate\" href=\"{_x(u)}\"/><id>{_x(u)}</id>"
            f"<published>{_local(at, outlet).isoformat()}</published><updated>{_local(at, outlet).isoformat()}</updated>"
            f"<summary>{_x(d)}</summary></entry>\n"
            for t, u, at, d in entries
        )
        doc = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{_x(outlet.display_name)}</title><id>{root}{PREFIX}{outlet.name}/</id>"
            f"<link rel=\"self\" href=\"{root}{PREFIX}{outlet.name}/feed.xml\"/><updated>{_utc_iso(now)}</updated>\n"
            f"{items}</feed>\n"
        )
        return doc.encode()

    # --------------------------------------------------------------- sitemaps
    @staticmethod
    def _modified(article: NewsArticle, now: datetime) -> datetime:
        # an edit after the clock has not happened yet
        return article.modified_at if article.modified_at <= now else article.published_at

    def _days(self, outlet: Outlet, now: datetime) -> dict[str, list[NewsArticle]]:
        days: dict[str, list[NewsArticle]] = {}
        for a in self.news.visible(now, outlet.name):
            days.setdefault(a.published_at.strftime("%Y-%m-%d"), []).append(a)
        return days

    def _sitemap_name(self, outlet: Outlet, day: str) -> str:
        return f"{day}.xml.gz" if outlet.is_sitemap_gz else f"{day}.xml"

    def _sitemap_index(self, outlet: Outlet, now: datetime, base: str) -> Response:
        days = self._days(outlet, now)
        entries = "".join(
            f"<sitemap><loc>{base}/sitemaps/{self._sitemap_name(outlet, day)}</loc>"
            f"<lastmod>{_utc_iso(max(self._modified(a, now) for a in arts))}</lastmod></sitemap>\n"
            for day, arts in sorted(days.items())
        )
        doc = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}</sitemapindex>\n')
        return 200, {"Content-Type": "application/xml; charset=utf-8"}, doc.encode()

    def _daily_sitemap(self, outlet: Outlet, name: str, now: datetime, root: str) -> Response:
        day = name.removesuffix(".gz").removesuffix(".xml")
        if name != self._sitemap_name(outlet, day):
            return _not_found(f"no sitemap {name} for {outlet.name}")
        articles = self._days(outlet, now).get(day)
        if not articles:
            return _not_found(f"no sitemap for {day} at {outlet.name}")
        rows = [(root + a.path, self._modified(a, now)) for a in articles]
        if outlet.name == "coinwire" and now >= self.oddity_at and day == self.oddity_at.strftime("%Y-%m-%d"):
            rows += [(root + p, self.oddity_at) for p, s in ODDITIES.items() if s["kind"] == "oversized"]
        entries = "".join(f"<url><loc>{_x(u)}</loc><lastmod>{_utc_iso(m)}</lastmod></url>\n" for u, m in rows)
        doc = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}</urlset>\n').encode()
        if outlet.is_sitemap_gz:
            return 200, {"Content-Type": "application/gzip"}, gzip.compress(doc, mtime=0)
        return 200, {"Content-Type": "application/xml; charset=utf-8"}, doc

    def _news_sitemap(self, outlet: Outlet, now: datetime, root: str) -> Response:
        recent = [a for a in self.news.visible(now, outlet.name) if a.published_at > now - NEWS_SITEMAP_WINDOW]
        entries = "".join(
            f"<url><loc>{_x(root + a.path)}</loc><news:news><news:publication><news:name>{_x(outlet.display_name)}"
            f"</news:name><news:language>en</news:language></news:publication>"
            f"<news:publication_date>{_local(a.published_at, outlet).isoformat()}</news:publication_date>"
            f"<news:title>{_x(a.title)}</news:title></news:news></url>\n"
            for a in reversed(recent)
        )
        doc = ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
               f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n{entries}</urlset>\n')
        return 200, {"Content-Type": "application/xml; charset=utf-8"}, doc.encode()

    # --------------------------------------------------------------- oddities
    def _oddity(self, path: str, now: datetime, root: str) -> Response:
        spec = ODDITIES[path]
        kind = spec["kind"]
        if kind == "not_found":
            return _not_found(f"the story at {path} was removed")
        if kind == "redirect_off_domain":
            return 301, {"Location": spec["location"], "Content-Type": "text/html; charset=utf-8"}, b"Moved"
        if kind == "redirect_in_domain":
            latest = self.news.visible(now, spec["outlet"])
            if not latest:
                return _not_found("no article yet")
            return 301, {"Location": root + latest[-1].path, "Content-Type": "text/html; charset=utf-8"}, b"Moved"
        if kind == "pdf":
            return 200, {"Content-Type": "application/pdf"}, _tiny_pdf()
        if kind == "oversized":
            if self._oversized is None:
                row = "<p>Live update: markets are quiet, desks are watching the order books for the next move.</p>\n"
                filler = row * (OVERSIZED_BYTES // len(row) + 1)
                self._oversized = f"<!DOCTYPE html><html><head><title>Markets live</title></head><body>{filler}</body></html>".encode()
            return 200, {"Content-Type": "text/html; charset=utf-8"}, self._oversized
        raise AssertionError(f"unhandled oddity kind {kind!r}")

    # ------------------------------------------------------------------ pages
    def _page(self, article: NewsArticle, now: datetime, root: str, request_headers: dict[str, str], *, amp: bool) -> Response:
        outlet = self.news.outlet(article.outlet)
        modified = self._modified(article, now)
        html = render_article(article, outlet, modified, root, self._related(article, now), amp=amp).encode()
        etag = '"' + hashlib.sha256(html).hexdigest()[:20] + '"'
        headers = {"Content-Type": "text/html; charset=utf-8", "ETag": etag, "Last-Modified": _http_date(modified)}
        if_none_match = request_headers.get("if-none-match")
        if if_none_match is not None:
            if etag in [t.strip() for t in if_none_match.split(",")] or if_none_match.strip() == "*":
                return 304, headers, b""
        elif request_headers.get("if-modified-since"):
            try:
                since = parsedate_to_datetime(request_headers["if-modified-since"])
            except (TypeError, ValueError):
                since = None
            if since is not None and since.tzinfo is not None and modified.replace(microsecond=0) <= since:
                return 304, headers, b""
        return 200, headers, html

    def _related(self, article: NewsArticle, now: datetime) -> list[NewsArticle]:
        others = [a for a in self.news.visible(now, article.outlet) if a.slug != article.slug]
        return others[-3:]


def _tiny_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


# ---------------------------------------------------------------- templates
def _paragraphs(article: NewsArticle) -> str:
    return "\n".join(f"<p>{_x(p)}</p>" for p in article.paragraphs)


def _ticker(article: NewsArticle) -> str:
    # widget numbers only need to look like a ticker; derived from the slug so pages are stable
    h = hashlib.sha256(article.slug.encode()).digest()
    quotes = (("BTC", 94_000 + h[0] * 10), ("ETH", 3_200 + h[1]), ("SOL", 180 + h[2] % 30))
    return "".join(f"<span class=\"tick\">{s} ${p:,} {'+' if h[3 + i] % 2 else '-'}{h[6 + i] % 5}.{h[9 + i] % 10}%</span>"
                   for i, (s, p) in enumerate(quotes))


def render_article(article: NewsArticle, outlet: Outlet, modified_at: datetime, root: str,
                   related: list[NewsArticle], *, amp: bool = False) -> str:
    """The article page in its outlet's template."""
    url = root + article.path
    title = _x(article.title)
    related_html = "".join(f'<li><a href="{_x(root + r.path)}">{_x(r.title)}</a></li>' for r in related)
    pub_local, mod_local = _local(article.published_at, outlet), _local(modified_at, outlet)
    if outlet.template == "wordpress":
        return f"""<!DOCTYPE html>
<html lang="en-US"><head><meta charset="utf-8"><title>{title} &#8211; {_x(outlet.display_name)}</title>
<meta property="og:type" content="article"><meta property="og:title" content="{title}">
<meta property="og:url" content="{_x(url)}"><link rel="canonical" href="{_x(url)}">
<meta property="article:published_time" content="{pub_local.isoformat()}">
<meta property="article:modified_time" content="{mod_local.isoformat()}">
<meta name="author" content="{_x(article.author)}"></head>
<body class="post-template-default single single-post">
<div id="cookie-notice" class="cookie-banner">We use cookies to give you the best experience on our site. <button>Accept all</button></div>
<header class="site-header"><a class="site-title" href="{root}/outlets/coinwire/">CoinWire</a>
<nav class="main-navigation"><ul><li><a href="#">Markets</a></li><li><a href="#">Policy</a></li><li><a href="#">Tech</a></li></ul></nav></header>
<div class="crypto-price-ticker">{_ticker(article)}</div>
<main id="primary" class="site-main"><article class="post type-post status-publish">
<header class="entry-header"><h1 class="entry-title">{title}</h1></header>
<div class="share-bar"><a href="#">Share on X</a> <a href="#">Share on Facebook</a> <a href="#">Copy link</a></div>
<div class="entry-content">
{_paragraphs(article)}
</div>
<div class="related-posts"><h3>Related posts</h3><ul>{related_html}</ul></div>
</article></main>
<footer class="site-footer"><p>&#169; 2026 CoinWire Media. All rights reserved. Prices are indicative only.</p></footer>
</body></html>
"""
    if outlet.template == "jsonld":
        amp_url = root + "/outlets/ledgerpost/amp" + article.path[len("/outlets/ledgerpost"):]
        ld = json.dumps({
            "@context": "https://schema.org", "@type": "NewsArticle", "headline": article.title,
            "datePublished": pub_local.isoformat(), "dateModified": mod_local.isoformat(),
            "author": {"@type": "Person", "name": article.author},
            "publisher": {"@type": "Organization", "name": outlet.display_name},
            "mainEntityOfPage": url, "inLanguage": "en",
        })
        if amp:
            head = (f'<link rel="canonical" href="{_x(url)}"><script async src="https://cdn.ampproject.org/v0.js"></script>'
                    '<style amp-boilerplate>body{visibility:hidden}</style>')
            html_tag = '<html amp lang="en">'
        else:
            head = f'<link rel="canonical" href="{_x(url)}"><link rel="amphtml" href="{_x(amp_url)}">'
            html_tag = '<html lang="en">'
        return f"""<!DOCTYPE html>
{html_tag}<head><meta charset="utf-8"><title>{title} | {_x(outlet.display_name)}</title>{head}
<script type="application/ld+json">{ld}</script></head>
<body><div class="masthead"><a href="{root}/outlets/ledgerpost/">Ledger Post</a></div>
<article class="story"><h1>{title}</h1><p class="author-name">By {_x(article.author)}</p>
<div class="article-body">
{_paragraphs(article)}
</div>
<aside class="newsletter-signup"><p>Get the Ledger Post morning briefing in your inbox.</p></aside>
</article>
<div class="more-stories"><h2>More stories</h2><ul>{related_html}</ul></div>
<footer><p>Ledger Post &#8212; independent markets journalism.</p></footer></body></html>
"""
    if outlet.template == "visible":
        hour = pub_local.strftime("%I").lstrip("0")
        printed = f"{pub_local.strftime('%B')} {pub_local.day}, {pub_local.year} at {hour}:{pub_local.strftime('%M %p')}"
        return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title} - Market Desk</title></head>
<body><div id="top-nav" class="nav"><a href="{root}/outlets/marketdesk/">Market Desk</a> | <a href="#">Stocks</a> | <a href="#">Crypto</a></div>
<div class="story-wrap"><h1 class="story-title">{title}</h1>
<div class="story-date">Published {printed}</div>
<div class="story-text">
{_paragraphs(article)}
</div></div>
<div class="sidebar"><h3>Trending</h3><ul>{related_html}</ul></div>
<div class="footer">Market Desk &#183; Terms &#183; Privacy</div></body></html>
"""
    if outlet.template == "wire":
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Global Wire</title>
<link rel="canonical" href="{_x(url)}"></head>
<body><header class="wire-header"><span class="wire-brand">GLOBAL WIRE</span></header>
<article><header><h1>{title}</h1><time datetime="{_utc_iso(article.published_at)}" pubdate>{pub_local.strftime('%d %b %Y %H:%M')} UTC</time></header>
<div class="wire-body">
{_paragraphs(article)}
</div></article>
<footer class="wire-footer"><p>(c) Global Wire. Redistribution only under licence.</p></footer></body></html>
"""
    raise ValueError(f"outlet {outlet.name}: unknown template {outlet.template!r}")
