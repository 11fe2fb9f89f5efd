"""Great Expectations Data Docs from a real warehouse: the site is built, and scraped markup stays text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from newsmarkets.config import parse_config
from newsmarkets.intervals import Interval
from newsmarkets.quality import datadocs
from newsmarkets.warehouse.writer import Warehouse

DAY = "2026-01-05"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
NEEDLES = (SCRIPT, IMG, "<img src=x", "<script>alert")


def config(tmp_path: Path, **maintenance):
    return parse_config({
        "warehouse": str(tmp_path / "wh"),
        "prices": {"provider": "coingecko", "base_url": "http://127.0.0.1:1/api/v3", "assets": ["bitcoin", "ethereum"]},
        "maintenance": {"data_docs_dir": str(tmp_path / "docs"), **maintenance},
    })


def article(n: int, body: str, title: str) -> dict:
    published = pd.Timestamp(f"{DAY}T0{n}:00:00Z")
    return {
        "article_id": f"{n:016x}", "url": f"https://coinwire.example/a/{n}?x=1&y=2", "canonical_url": f"https://coinwire.example/a/{n}",
        "source": "coinwire", "title": title, "authors": ["Ann"], "published_at": published,
        "published_at_source": "json-ld", "updated_at": None, "language": "en", "section": None, "body": body,
        "word_count": 120, "content_hash": f"h{n}", "story_id": f"s{n}", "is_original": True,
        "fetched_at": published + pd.Timedelta(minutes=5),
    }


def fill(wh: Warehouse) -> None:
    words = " ".join(["bitcoin"] * 120)
    hour = Interval(pd.Timestamp(f"{DAY}T00:00:00Z").to_pydatetime(), pd.Timestamp(f"{DAY}T10:00:00Z").to_pydatetime())
    wh.write("articles", pd.DataFrame([
        article(1, words, "A calm day"),
        # Scraped markup, and a boilerplate marker so the body is an unexpected value shown in the docs.
        article(2, f"{words} {SCRIPT} {IMG} Related posts", f"Title {IMG} {SCRIPT}"),
    ]), hour)
    wh.write("fetch_log", pd.DataFrame([{
        "url": f"https://coinwire.example/{IMG}", "source": "coinwire", "status": 200, "outcome": IMG, "reason": SCRIPT,
        "attempts": 1, "article_id": None, "fetched_at": pd.Timestamp(f"{DAY}T01:00:00Z"), "run_id": "r",
        "interval_start_at": pd.Timestamp(f"{DAY}T00:00:00Z")}]), hour)
    observed = pd.date_range(f"{DAY}T00:00:00Z", periods=12, freq="5min")
    wh.write("price_snapshots", pd.DataFrame({
        "asset_id": ["bitcoin"] * 12 + ["ethereum"] * 12, "symbol": ["btc"] * 12 + ["eth"] * 12,
        "name": ["Bitcoin"] * 12 + ["Ethereum"] * 12, "price_usd": [1.0] * 24, "market_cap_usd": [1.0] * 24,
        "volume_24h_usd": [1.0] * 24, "change_24h_pct": [0.0] * 24, "observed_at": list(observed) * 2,
        "snapshot_at": list(observed) * 2, "source": ["markets"] * 24, "ingested_at": list(observed) * 2,
    }), hour)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("datadocs")
    cfg = config(tmp_path)
    fill(Warehouse.from_config(cfg))
    out = datadocs.build_data_docs(cfg, Interval.for_day(DAY), run_id="scheduled__2026-01-05")
    return cfg, out


def test_the_site_is_built_with_every_table_of_the_day(built):
    cfg, out = built
    index = Path(out["index"])
    assert index == datadocs.docs_root(cfg) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert index.is_file() and out["days"] == [DAY]
    assert out["validations"] == 3  # articles, fetch_log, price_snapshots.markets (empty tables are skipped)
    # The scraped garbage fails its expectations; a day of markets snapshots passes the scaled row limit.
    assert sorted(out["failed"]) == [f"articles {DAY}", f"fetch_log {DAY}"]
    pages = list(index.parent.rglob("*.html"))
    assert len(pages) >= 4
    print(f"Data Docs: {out['validations']} validations in {out['seconds']} s -> {index}")


def test_scraped_markup_never_appears_unescaped(built):
    cfg, out = built
    root = datadocs.docs_root(cfg)
    assert datadocs.unsafe_html(root, NEEDLES) == []
    # ... while the values are there, as text: the check above is not vacuous.
    text = "".join(p.read_text(encoding="utf-8") for p in root.rglob("*.html"))
    assert "onerror" in text and "alert(1)" in text


def test_a_second_build_adds_to_the_same_site(built):
    cfg, first = built
    again = datadocs.build_data_docs(cfg, Interval.for_day(DAY), run_id="manual__2")
    assert again["index"] == first["index"] and again["validations"] == 3
    validations = Path(first["index"]).parent / "validations"
    assert len(list(validations.rglob("*.html"))) == 6
    assert datadocs.unsafe_html(datadocs.docs_root(cfg), NEEDLES) == []


def test_object_store_warehouses_keep_docs_in_a_local_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = parse_config({"warehouse": "s3://bucket/wh", "prices": {"provider": "coingecko",
                        "base_url": "http://127.0.0.1:1/api/v3", "assets": ["bitcoin"]}})
    assert datadocs.docs_root(cfg) == tmp_path / "data" / "_gx"
