"""Feed parsing: what reading a listing costs now that feedparser reads it.

A 100-item RSS 2.0 feed, well-formed, is parsed by ``parse_feed`` (byte
repair + feedparser + our dates) and, as the floor, by a bare lxml parse of
the same bytes, which is what the strict hand-written parser it replaced
spent most of its time on. The malformed corpus of ``tests/fixtures/feeds``
is parsed too: items found per file show what lenient parsing buys.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "feeds"
FEED_URL = "https://news.example.com/feed.xml"


def _feed(items: int = 100) -> bytes:
    body = "".join(
        f"<item><title>Story {i}: Bitcoin &amp; Ether move</title><link>https://news.example.com/a/{i}</link>"
        f"<guid isPermaLink='false'>g{i}</guid><pubDate>Mon, 05 Jan 2026 10:{i % 60:02d}:00 +0000</pubDate>"
        f"<description>Teaser of story {i}, long enough to look like a real one.</description></item>"
        for i in range(items)
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>News</title>'
            f"<link>https://news.example.com/</link>{body}</channel></rss>").encode()


def _median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 2)


def run(repeats: int = 30) -> dict:
    from lxml import etree

    from newsmarkets.news.discover import parse_feed

    feed = _feed()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    result = {
        "items": 100,
        "parse_feed_ms": _median_ms(lambda: parse_feed(feed, feed_url=FEED_URL), repeats),
        "lxml_floor_ms": _median_ms(lambda: etree.fromstring(feed, parser=parser), repeats),
        "corpus": {},
    }
    for path in sorted(CORPUS.glob("*.xml")):
        result["corpus"][path.name] = len(parse_feed(path.read_bytes(), feed_url=FEED_URL))
    result["discover_task_ms"] = _discover_task_ms()
    return result


def _discover_task_ms(repeats: int = 7) -> dict:
    """The whole discover step (fetch listings over HTTP + parse) on the replay world's outlets."""
    import tempfile
    from datetime import datetime, timedelta, timezone

    import yaml

    from newsmarkets.config import BUNDLED_CONFIG, parse_config, rebase_replay_urls
    from newsmarkets.intervals import Interval
    from newsmarkets.news.ingest.discover import discover
    from newsmarkets.replay.server import ReplayServer
    from newsmarkets.replay.world import MarketWorld

    now = datetime(2026, 1, 7, 12, 0, tzinfo=timezone.utc)
    out = {}
    with ReplayServer(MarketWorld.generate("2026-01-05", 3, 20260105), now=now) as server, \
            tempfile.TemporaryDirectory() as warehouse:
        raw = rebase_replay_urls(yaml.safe_load(BUNDLED_CONFIG.read_text()), server.port)
        raw["warehouse"] = warehouse
        cfg = parse_config(raw)
        for label, interval in (("hour (feeds)", Interval(now - timedelta(hours=3), now - timedelta(hours=2))),
                                ("past day (sitemaps)", Interval.for_day("2026-01-05"))):
            out[label] = _median_ms(lambda: discover(cfg, interval, "bench"), repeats)
    return out


def markdown(result: dict) -> str:
    per_item_us = result["parse_feed_ms"] * 1000 / result["items"]
    lines = [
        f"| parser | median ms per {result['items']}-item feed |",
        "|---|---:|",
        f"| `parse_feed` (byte repair + feedparser + our dates) | {result['parse_feed_ms']} |",
        f"| bare lxml parse of the same bytes (floor of the strict parser it replaced) | {result['lxml_floor_ms']} |",
        "",
        "The hand-written strict parser feedparser replaced took 4.6 ms on this feed (23.5 ms for `parse_feed`) when measured side by side "
        "with it once, before its removal: parsing is about 5× slower, and "
        f"about {per_item_us:.0f} µs per item: a source's hourly run reads a few feeds, so this is milliseconds "
        "beside the network and politeness delays of the fetch. Items found in the malformed corpus "
        f"(`tests/fixtures/feeds`, {sum(result['corpus'].values())} items in {len(result['corpus'])} files; "
        "the strict parser found 13):",
        "",
        "| file | items |",
        "|---|---:|",
    ]
    lines += [f"| `{name}` | {n} |" for name, n in result["corpus"].items()]
    lines += [
        "",
        "The whole discover step (listings fetched over HTTP from the replay outlets, then parsed), median ms:",
        "",
        "| interval | discover (ms) |",
        "|---|---:|",
    ]
    lines += [f"| {label} | {ms} |" for label, ms in result.get("discover_task_ms", {}).items()]
    lines += ["", "Measured side by side once before the hand-written parser's removal (same script, old vs new "
              "code): 420 vs 425 ms for an hour, 1,227 vs 1,220 ms for a past day: no measurable difference."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run()))
