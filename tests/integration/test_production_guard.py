"""The shipped production configs refuse to scrape private, loopback, link-local and metadata addresses.

Each config users run live (the compose stack's and the example) is loaded as
shipped, given news sources whose listings point at such places, and run
through the real ``discover`` task function. A real site listens on
127.0.0.1 and serves a valid feed there, so a refusal is the guard's doing,
not a dead address; it must not receive a single request (not even
robots.txt). ``localhost`` is a DNS name that resolves to loopback, and
redirect hops from an allowed page go through the same guard
(``test_news_fetch.py::test_redirect_hops_pass_the_address_guard``).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from sitekit import LocalSite

from newsmarkets.config import NewsConfig, NewsSourceConfig, parse_config
from newsmarkets.intervals import Interval
from newsmarkets.news.ingest import discover as discover_step
from newsmarkets.news.ingest.common import NewsIngestError

CONFIG_DIR = Path(discover_step.__file__).resolve().parents[2] / "config"
HOUR = Interval(datetime(2026, 1, 6, 10, tzinfo=timezone.utc), datetime(2026, 1, 6, 11, tzinfo=timezone.utc))
PRODUCTION_CONFIGS = ("compose.yaml", "production.example.yaml")
FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>a</title><link>{link}</link><pubDate>Tue, 06 Jan 2026 10:30:00 GMT</pubDate></item>
</channel></rss>"""


@pytest.fixture
def site():
    with LocalSite() as s:
        s.page("/feed.xml", FEED.format(link=s.url("/a")), content_type="application/rss+xml")
        s.page("/a", "<html><body><p>article</p></body></html>")
        yield s


def _production_config(name: str, tmp_path: Path, sources: list[NewsSourceConfig]):
    raw = yaml.safe_load((CONFIG_DIR / name).read_text())
    cfg = parse_config(raw, source_path=name)
    assert cfg.http.allow_private_networks is False, f"{name} must not allow private networks"
    return dataclasses.replace(cfg, warehouse=str(tmp_path / "warehouse"),
                               news=dataclasses.replace(cfg.news or NewsConfig(), sources=tuple(sources)))


@pytest.mark.parametrize("name", PRODUCTION_CONFIGS)
def test_production_configs_refuse_non_public_sources(name, site, tmp_path):
    port = site.port
    sources = [
        NewsSourceConfig(name="by-name", feeds=(f"http://localhost:{port}/feed.xml",)),
        NewsSourceConfig(name="by-address", feeds=(site.url("/feed.xml"),)),
        NewsSourceConfig(name="private", feeds=("http://10.20.30.40/feed.xml",)),
        NewsSourceConfig(name="metadata", feeds=("http://169.254.169.254/latest/meta-data/",)),
    ]
    cfg = _production_config(name, tmp_path, sources)
    with pytest.raises(NewsIngestError) as caught:
        discover_step.discover(cfg, HOUR, "run-1")
    message = str(caught.value)
    assert "blocked" in message and "loopback" in message, message
    assert site.hits == [], [h.path for h in site.hits]


def test_the_same_site_is_read_when_private_networks_are_allowed(site, tmp_path):
    # The control: what the production configs refuse works once the flag is on.
    cfg = _production_config("compose.yaml", tmp_path, [NewsSourceConfig(name="local", feeds=(site.url("/feed.xml"),))])
    cfg = dataclasses.replace(cfg, http=dataclasses.replace(cfg.http, allow_private_networks=True))
    (found,) = discover_step.discover(cfg, HOUR, "run-1")
    assert found["urls"] == 1, found
