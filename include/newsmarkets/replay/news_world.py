"""Generated news articles around a :class:`MarketWorld`, with known ground truth.

``NewsWorld.generate(market, seed)`` writes, deterministically from its
arguments:

- for every market event, one report published at the event time or a few
  minutes before it, naming the affected assets (name, ticker, cashtag);
- background market notes that mention assets with no event behind them;
- non-crypto stories (war, election, central-bank rates) that name no coin
  but use "near", "link", "one" and "a ton of";
- wire stories from ``globalwire`` that 1-2 other outlets republish later
  with their own intro line (same body otherwise).

Every article's exact body text, publish time, event and assets are kept, so
extraction, dedup and linking can be scored against them (``truth()``).
:mod:`newsmarkets.replay.news_site` renders these articles as web sites.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from newsmarkets.replay import news_templates as tpl
from newsmarkets.replay.world import MarketWorld


class NewsWorldError(ValueError):
    """Invalid generator arguments or an unknown article/outlet."""


@dataclass(frozen=True)
class Outlet:
    name: str
    display_name: str
    timezone: str  # IANA zone the outlet prints local times in
    template: str  # 'wordpress' | 'jsonld' | 'visible' | 'wire' (see news_site)
    feed_format: str  # 'rss' | 'atom'
    is_sitemap_gz: bool = False  # daily sitemaps served as .xml.gz
    has_news_sitemap: bool = False  # a Google News sitemap (news:publication_date)
    is_wire: bool = False


DEFAULT_OUTLETS: tuple[Outlet, ...] = (
    Outlet("coinwire", "CoinWire", "UTC", "wordpress", "rss", is_sitemap_gz=True),
    Outlet("ledgerpost", "Ledger Post", "Europe/Berlin", "jsonld", "rss", has_news_sitemap=True),
    Outlet("marketdesk", "Market Desk", "America/New_York", "visible", "rss"),
    Outlet("globalwire", "Global Wire", "UTC", "wire", "atom", is_wire=True),
)


@dataclass(frozen=True)
class NewsArticle:
    slug: str  # unique across outlets; the ground-truth key
    outlet: str
    path: str  # absolute path on the replay server, e.g. /outlets/coinwire/2026/01/05/<slug>/
    title: str
    paragraphs: tuple[str, ...]  # the exact story text, one entry per <p>
    published_at: datetime  # aware UTC, whole minutes
    modified_at: datetime  # >= published_at
    author: str
    kind: str  # 'event' | 'follow_up' | 'asset' | 'general'
    event_id: str | None
    asset_ids: tuple[str, ...]  # assets the text mentions
    story_key: str  # shared by a wire story and its syndicated copies
    is_original: bool
    is_robots_disallowed: bool = False
    topic: str | None = None  # general stories: 'war' | 'election' | 'rates'

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "outlet": self.outlet,
            "path": self.path,
            "title": self.title,
            "paragraphs": list(self.paragraphs),
            "published_at": _iso(self.published_at),
            "modified_at": _iso(self.modified_at),
            "author": self.author,
            "kind": self.kind,
            "event_id": self.event_id,
            "asset_ids": list(self.asset_ids),
            "story_key": self.story_key,
            "is_original": self.is_original,
            "is_robots_disallowed": self.is_robots_disallowed,
            "topic": self.topic,
        }


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].rstrip("-")


def article_path(outlet: str, slug: str, published_at: datetime, *, is_private: bool = False) -> str:
    """Where each outlet's CMS puts an article; the URL shapes differ on purpose."""
    day = published_at.strftime("%Y/%m/%d")
    if outlet == "coinwire":
        return f"/outlets/coinwire/{'private' if is_private else day}/{slug}/"
    if outlet == "ledgerpost":
        return f"/outlets/ledgerpost/news/{slug}"
    if outlet == "marketdesk":
        return f"/outlets/marketdesk/markets/{slug}.html"
    if outlet == "globalwire":
        return f"/outlets/globalwire/wire/{published_at.strftime('%Y-%m-%d')}/{slug}"
    return f"/outlets/{outlet}/{day}/{slug}"


class NewsWorld:
    """The generated articles of all outlets; build with :meth:`generate`."""

    def __init__(self, *, seed: int, outlets: tuple[Outlet, ...], articles: list[NewsArticle], start_at: datetime,
                 end_at: datetime) -> None:
        self.seed = seed
        self.outlets = {o.name: o for o in outlets}
        self.articles = sorted(articles, key=lambda a: (a.published_at, a.slug))
        self.start_at, self.end_at = start_at, end_at
        self._by_slug = {a.slug: a for a in self.articles}
        if len(self._by_slug) != len(self.articles):
            raise NewsWorldError("generated two articles with the same slug; this is a generator bug")

    # ------------------------------------------------------------------ build
    @classmethod
    def generate(cls, market: MarketWorld, seed: int, outlets: Iterable[Outlet] = DEFAULT_OUTLETS) -> "NewsWorld":
        """Same market world, seed and outlets give the same articles, byte for byte."""
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise NewsWorldError(f"seed: expected a non-negative integer, got {seed!r}")
        outlets = tuple(outlets)
        names = [o.name for o in outlets]
        if len(outlets) < 2 or len(set(names)) != len(names):
            raise NewsWorldError(f"outlets: expected at least two outlets with distinct names, got {names}")
        return cls(seed=seed, outlets=outlets, articles=_Writer(market, seed, outlets).write(),
                   start_at=market.start_at, end_at=market.end_at)

    # ----------------------------------------------------------------- lookup
    def article(self, slug: str) -> NewsArticle:
        try:
            return self._by_slug[slug]
        except KeyError:
            raise NewsWorldError(f"unknown article slug {slug!r}") from None

    def article_text(self, slug: str) -> str:
        """The exact body text of an article, paragraphs joined by newlines."""
        return self.article(slug).body

    def outlet(self, name: str) -> Outlet:
        try:
            return self.outlets[name]
        except KeyError:
            raise NewsWorldError(f"unknown outlet {name!r} (known: {', '.join(self.outlets)})") from None

    def visible(self, now: datetime, outlet: str | None = None) -> list[NewsArticle]:
        """Articles published at or before ``now`` (oldest first); nothing later exists yet."""
        return [a for a in self.articles if a.published_at <= now and (outlet is None or a.outlet == outlet)]

    def truth(self) -> dict[str, Any]:
        """JSON-serialisable ground truth for every article."""
        return {
            "seed": self.seed,
            "start_at": _iso(self.start_at),
            "end_at": _iso(self.end_at),
            "outlets": [
                {"name": o.name, "display_name": o.display_name, "timezone": o.timezone, "template": o.template,
                 "feed_format": o.feed_format, "is_sitemap_gz": o.is_sitemap_gz,
                 "has_news_sitemap": o.has_news_sitemap, "is_wire": o.is_wire}
                for o in self.outlets.values()
            ],
            "articles": [a.to_dict() for a in self.articles],
        }


class _Writer:
    """One generation run: a seeded RNG walked in a fixed order."""

    def __init__(self, market: MarketWorld, seed: int, outlets: tuple[Outlet, ...]) -> None:
        self.market = market
        self.seed = seed
        self.rng = random.Random(seed * 7919 + market.seed)
        self.outlets = outlets
        wires = [o.name for o in outlets if o.is_wire]
        self.wire = wires[0] if wires else None
        self.papers = [o.name for o in outlets if not o.is_wire]
        self.assets = {a["id"]: a for a in market.assets}
        self.articles: list[NewsArticle] = []
        self.counter = 0

    def _price(self, asset_id: str, at: datetime) -> float:
        return self.market.price_at(asset_id, max(at, self.market.first_at))

    def _slug(self, title: str, outlet: str) -> str:
        self.counter += 1
        digest = hashlib.sha1(f"{self.seed}/{self.counter}/{outlet}".encode()).hexdigest()[:6]
        return f"{_slugify(title)}-{digest}"

    def _add(self, *, outlet: str, title: str, paragraphs: list[str], published_at: datetime, kind: str,
             event_id: str | None, asset_ids: list[str], story_key: str | None = None, is_original: bool = True,
             is_private: bool = False, topic: str | None = None) -> NewsArticle:
        slug = self._slug(title, outlet)
        edited = self.rng.random() < 0.25
        modified = published_at + timedelta(minutes=self.rng.randint(20, 180)) if edited else published_at
        article = NewsArticle(
            slug=slug, outlet=outlet, path=article_path(outlet, slug, published_at, is_private=is_private),
            title=title, paragraphs=tuple(paragraphs), published_at=published_at, modified_at=modified,
            author=self.rng.choice(tpl.PEOPLE), kind=kind, event_id=event_id, asset_ids=tuple(asset_ids),
            story_key=story_key or slug, is_original=is_original, is_robots_disallowed=is_private, topic=topic,
        )
        self.articles.append(article)
        return article

    def _syndicate(self, original: NewsArticle) -> None:
        partners = [p for p in self.papers if p in tpl.SYNDICATION_INTROS]
        count = min(len(partners), self.rng.randint(1, 2))
        at = original.published_at
        for partner in self.rng.sample(partners, count):
            at = at + timedelta(minutes=self.rng.randint(15, 90))
            self._add(outlet=partner, title=original.title,
                      paragraphs=[tpl.SYNDICATION_INTROS[partner], *original.paragraphs], published_at=at,
                      kind=original.kind, event_id=original.event_id, asset_ids=list(original.asset_ids),
                      story_key=original.story_key, is_original=False, topic=original.topic)

    def _follow_ups(self, original: NewsArticle, event: dict, count: int) -> None:
        """A burst: more stories on the event's coins within the hour after the first report."""
        ids = list(original.asset_ids)
        for k in range(count):
            published = original.published_at + timedelta(minutes=self.rng.randint(5, 60))
            title, paragraphs = tpl.asset_background(
                self.rng, [self.assets[a] for a in ids], [self._price(a, published) for a in ids],
                tpl.WEEKDAYS[published.weekday()])
            self._add(outlet=self.papers[(k + 1) % len(self.papers)], title=title, paragraphs=paragraphs,
                      published_at=published, kind="follow_up", event_id=event["event_id"], asset_ids=ids)

    def write(self) -> list[NewsArticle]:
        rng = self.rng
        shape = self.market.shape
        early, late = shape.publish_offset_minutes
        for i, event in enumerate(self.market.events):
            at = datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
            published = at - timedelta(minutes=rng.randint(-late, -early))
            is_market = event["kind"] == "market"
            ids = [a for a in event["asset_ids"] if a in self.assets]
            mentioned = ids[:3] if is_market else ids
            title, paragraphs = tpl.event_article(
                rng, [self.assets[a] for a in mentioned], [self._price(a, published) for a in mentioned],
                event["headline_hint"], event["effect_pct"] > 0, is_market, tpl.WEEKDAYS[published.weekday()],
            )
            # every third event breaks on the wire and is picked up by others later
            outlet = self.wire if self.wire and i % 3 == 2 else self.papers[i % len(self.papers)]
            original = self._add(outlet=outlet, title=title, paragraphs=paragraphs, published_at=published,
                                 kind="event", event_id=event["event_id"], asset_ids=mentioned)
            if outlet == self.wire:
                self._syndicate(original)
            if shape.follow_ups_per_event[1] > 0:
                self._follow_ups(original, event, rng.randint(*shape.follow_ups_per_event))

        asset_ids = list(self.assets)
        for day in range(self.market.days):
            day_at = self.market.start_at + timedelta(days=day)
            weekday = tpl.WEEKDAYS[day_at.weekday()]
            for k in range(shape.notes_per_day):
                published = day_at + timedelta(minutes=rng.randint(30, 23 * 60))
                picked = rng.sample(asset_ids, min(len(asset_ids), rng.randint(1, 2)))
                title, paragraphs = tpl.asset_background(
                    rng, [self.assets[a] for a in picked], [self._price(a, published) for a in picked], weekday
                )
                # one market note a world lives in the robots-disallowed section (but is in the sitemap)
                is_private = day == 0 and k == 0 and "coinwire" in self.papers
                outlet = "coinwire" if is_private else self.papers[(day + k) % len(self.papers)]
                self._add(outlet=outlet, title=title, paragraphs=paragraphs, published_at=published,
                          kind="asset", event_id=None, asset_ids=picked, is_private=is_private)
            for k, topic in enumerate(tpl.GENERAL_TOPICS):
                published = day_at + timedelta(minutes=rng.randint(30, 23 * 60))
                title, paragraphs = tpl.general_story(rng, topic, weekday)
                is_wire = self.wire is not None and (day + k) % 2 == 0
                outlet = self.wire if is_wire else self.papers[(day + k + 1) % len(self.papers)]
                original = self._add(outlet=outlet, title=title, paragraphs=paragraphs, published_at=published,
                                     kind="general", event_id=None, asset_ids=[], topic=topic)
                if is_wire:
                    self._syndicate(original)
        return self.articles
