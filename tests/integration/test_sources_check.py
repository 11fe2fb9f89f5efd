"""``newsmarkets sources check`` against the replay outlets and three bad sources, all on 127.0.0.1.

The four replay outlets must come out healthy; a source whose host is down, one
whose feed robots.txt disallows and one whose pages state no publish date must
be flagged, each for its own reason. Real HTTP, real robots.txt, real extraction.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import yaml
from sitekit import LocalSite, Reply

from newsmarkets.cli import main
from newsmarkets.config import BUNDLED_CONFIG, rebase_replay_urls
from newsmarkets.news.source_check import FAIL, OK, WARN, SourceHealth
from newsmarkets.replay.server import ReplayServer
from newsmarkets.replay.world import MarketWorld

NOW = datetime(2026, 1, 7, 12, 0, tzinfo=timezone.utc)
OUTLETS = ("coinwire", "ledgerpost", "marketdesk", "globalwire")
UNDATED_PAGES = 2
STORY = ("Bitcoin traders watched the order books closely as liquidity thinned across the major venues. "
         "Analysts said the move reflected positioning ahead of the weekend rather than any single headline. ") * 6


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on return: nothing listens there


def _undated_site(site: LocalSite) -> None:
    """An RSS feed with dated items, but article pages that state no date anywhere."""
    site.robots(f"User-agent: *\nAllow: /\nSitemap: {site.url('/sitemap.xml')}\n")
    items = []
    for n in range(UNDATED_PAGES):
        url = site.url(f"/news/story-{n}")
        items.append(f"<item><title>Story {n}</title><link>{url}</link>"
                     f"<pubDate>{format_datetime(NOW - timedelta(hours=2 + n))}</pubDate></item>")
        site.page(f"/news/story-{n}", f"<html><head><title>Story {n}: bitcoin liquidity thins</title></head><body>"
                                      f"<article><h1>Story {n}: bitcoin liquidity thins</h1><p>{STORY}</p></article>"
                                      "</body></html>")
    site.route("/feed.xml", Reply(body=f'<?xml version="1.0"?><rss version="2.0"><channel><title>Undated</title>'
                                       f'<link>{site.url("/")}</link>{"".join(items)}</channel></rss>',
                                  content_type="application/rss+xml"))


@pytest.fixture(scope="module")
def config_path(tmp_path_factory):
    base = tmp_path_factory.mktemp("sources-check")
    with ReplayServer(MarketWorld.generate("2026-01-05", 3, 20260105), now=NOW) as server, LocalSite() as site:
        _undated_site(site)
        raw = rebase_replay_urls(yaml.safe_load(BUNDLED_CONFIG.read_text()), server.port)
        raw["warehouse"] = str(base / "warehouse")
        raw["news"]["sources"] += [
            {"name": "downsite", "feeds": [f"http://127.0.0.1:{_closed_port()}/feed.xml"]},
            {"name": "private", "feeds": [f"http://127.0.0.1:{server.port}/outlets/coinwire/private/feed.xml"]},
            {"name": "undated", "feeds": [site.url("/feed.xml")]},
        ]
        path = base / "sources.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        yield path


def _rows(text: str) -> dict[str, dict[str, str]]:
    """The table's rows by source, cut at the header's column starts."""
    import re

    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("source "))
    header = lines[at]
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=  ))\S", header)]
    names = [header[a:b].strip() for a, b in zip(starts, [*starts[1:], None])]
    rows = {}
    for line in lines[at + 1:]:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None])]
        rows[cells[0]] = dict(zip(names, cells))
    return rows


def test_the_health_table_passes_the_outlets_and_flags_each_bad_source_for_its_reason(config_path, capsys):
    code = main(["sources", "check", str(config_path), "--now", NOW.isoformat()])
    out = capsys.readouterr().out
    assert code == 1, out  # a source FAILs: scripts notice
    rows = _rows(out)
    assert set(rows) == {*OUTLETS, "downsite", "private", "undated"}, out
    for outlet in OUTLETS:
        row = rows[outlet]
        assert (row["status"], row["robots"]) == (OK, "allowed"), out
        sampled = row["extracted"].split("/")[1]
        assert int(row["items 24h"]) >= 1 and row["extracted"] == row["dated"] == row["with time"] == \
            f"{sampled}/{sampled}", out
    assert (rows["downsite"]["status"], rows["downsite"]["reachable"], rows["downsite"]["robots"]) == (FAIL, "no", "-")
    assert (rows["private"]["status"], rows["private"]["robots"]) == (FAIL, "1 refused"), out
    pages = f"{UNDATED_PAGES}/{UNDATED_PAGES}"
    assert (rows["undated"]["status"], rows["undated"]["items 24h"], rows["undated"]["extracted"],
            rows["undated"]["dated"]) == (WARN, str(UNDATED_PAGES), pages, f"0/{UNDATED_PAGES}"), out
    problems = out[out.index("downsite (FAIL):"):]
    assert "no feed or sitemap could be read" in problems
    assert "robots.txt could not be fetched (host down or 5xx)" in problems
    assert "Disallow: /outlets/coinwire/private/" in problems
    assert "the page states no publish date" in problems
    # no sitemaps configured: the hint names the one robots.txt lists
    assert "backfills reach back only as far as the feeds (robots.txt lists http://127.0.0.1:" in problems


def test_json_for_one_source(config_path, capsys):
    code = main(["sources", "check", str(config_path), "--now", NOW.isoformat(), "--source", "undated",
                 "--sample", "1", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out  # WARN is not FAIL
    (undated,) = json.loads(out)
    assert undated["source"] == "undated" and undated["status"] == WARN and undated["is_reachable"]
    assert (undated["sampled"], undated["extracted"], undated["dated"]) == (1, 1, 0)
    assert len(undated["robots_sitemaps"]) == 1 and undated["robots_sitemaps"][0].endswith("/sitemap.xml")


def test_bad_arguments_are_named(config_path, capsys):
    assert main(["sources", "check", str(config_path), "--source", "nosuch"]) == 2
    assert "no source named 'nosuch'" in capsys.readouterr().err
    assert main(["sources", "check", str(config_path), "--now", "2026-01-07T12:00"]) == 2
    assert "--now" in capsys.readouterr().err
    assert main(["sources", "check", str(config_path), "--sample", "-1"]) == 2


@pytest.mark.parametrize("fields, status", [
    (dict(listings_read=0), FAIL),  # down or refused: nothing to ingest
    (dict(sampled=3, extracted=0, dated=0, timed=0, linked=0), FAIL),  # listed, but no article comes out
    (dict(items_last_day=0, sampled=0, extracted=0, dated=0, timed=0, linked=0), WARN),  # quiet
    (dict(timed=2), WARN),  # a page with a date but no time of day
    (dict(robots_refused=1), WARN),  # some pages disallowed
    ({}, OK),
])
def test_status_rules(fields, status):
    health = dict(source="s", listings=2, listings_read=2, robots_refused=0, items_last_day=5, sampled=3,
                  extracted=3, dated=3, timed=3, linked=1)
    assert SourceHealth(**{**health, **fields}).status == status
