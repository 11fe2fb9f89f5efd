"""Exactly one is_original per story when hours are published out of order or concurrently.

Real Delta warehouse (local disk, and the S3 endpoint for concurrent publishes), real deduplicate/link/validate/publish steps (Great
Expectations included); only fetching and extraction are replaced by staged
candidates, built here from one generated wire story and its syndicated copies.
"""

from __future__ import annotations

import multiprocessing
import random
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
import yaml

from newsmarkets.config import BUNDLED_CONFIG, parse_config
from newsmarkets.intervals import Interval
from newsmarkets.news.dedup import content_hash
from newsmarkets.news.ingest.deduplicate import deduplicate
from newsmarkets.news.ingest.frames import candidates_frame, fetch_log_frame, log_row
from newsmarkets.news.ingest.link import link
from newsmarkets.news.ingest.originals import interval_rows
from newsmarkets.news.ingest.publish import publish
from newsmarkets.news.ingest.validate import validate
from newsmarkets.news.urls import article_id, canonicalize_url
from newsmarkets.warehouse import rawstore
from newsmarkets.warehouse.writer import Warehouse

# Great Expectations' import and three spawned publishers take well over 10 s
pytestmark = pytest.mark.slow

DAY = datetime(2026, 1, 5, tzinfo=timezone.utc)
WORDS = ("market liquidity traders exchange token network upgrade validators protocol settlement "
         "regulator filing custody inflows outflows volatility derivatives funding basis spread "
         "analysts desk research quarter issuance treasury miners hashrate difficulty fees").split()


def _text(seed: int, words: int = 160) -> str:
    rng = random.Random(seed)
    sentences, left = [], words
    while left > 0:
        n = min(left, rng.randint(8, 14))
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + ".")
        left -= n
    return " ".join(sentences)


WIRE = _text(1)
OTHER = _text(2)


def _article(outlet: str, slug: str, published_at: datetime, body: str) -> dict:
    url = f"http://{outlet}.example/news/{slug}/"
    return {
        "article_id": article_id(url), "url": url, "canonical_url": canonicalize_url(url), "source": outlet,
        "title": f"{slug} headline", "authors": ["A. Writer"], "published_at": published_at,
        "published_at_source": "json-ld", "updated_at": None, "language": "en", "section": "markets",
        "body": body, "word_count": len(body.split()), "content_hash": content_hash(body),
        "fetched_at": published_at + timedelta(hours=30),
        "listed_url": url, "status": 200, "attempts": 1, "is_direct": True,
    }


# The wire story at 10:05, copies at 11:20 and 12:40 (each with its outlet's intro line), and
# in hour 11's run also an unrelated article published the day before (discovered late).
A = _article("wire", "story", DAY + timedelta(hours=10, minutes=5), WIRE)
B = _article("paper", "story-copy", DAY + timedelta(hours=11, minutes=20), "From our partners at the wire. " + WIRE)
C = _article("daily", "story-too", DAY + timedelta(hours=12, minutes=40), "Syndicated: " + WIRE + " Reporting by wire.")
D = _article("paper", "late", DAY - timedelta(hours=3), OTHER)
HOURS = {10: [A], 11: [B, D], 12: [C]}


def _hour(h: int) -> Interval:
    return Interval(DAY + timedelta(hours=h), DAY + timedelta(hours=h + 1))


@pytest.fixture
def cfg(tmp_path):
    raw = yaml.safe_load(BUNDLED_CONFIG.read_text())
    raw["warehouse"] = str(tmp_path / "warehouse")
    return parse_config(raw)


def _validated(cfg, h: int, run_id: str, articles: list[dict], gone: list[dict] = ()) -> dict:
    """Stage an hour's candidates as extract would, then deduplicate, link and validate them.

    ``gone``: articles whose pages answered 410 this run."""
    wh = Warehouse.from_config(cfg)
    interval = _hour(h)
    failures = [log_row({**a, "status": 410}, run_id, interval, "http_error", "HTTP 410", None) for a in gone]
    extracted = {
        "candidates": rawstore.write_staged_frame(wh, "extracted", interval, run_id, "candidates",
                                                  candidates_frame(articles)),
        "fetch_log": rawstore.write_staged_frame(wh, "extracted", interval, run_id, "fetch_log",
                                                 fetch_log_frame(failures)),
        "urls": len(articles) + len(gone),
    }
    deduped = deduplicate(cfg, interval, run_id, extracted)
    return validate(cfg, interval, run_id, link(cfg, interval, run_id, deduped))


def _publish(cfg, h: int, run_id: str, validated: dict) -> dict:
    return publish(cfg, _hour(h), run_id, validated)


def _story_rows(cfg) -> pd.DataFrame:
    articles = Warehouse.from_config(cfg).read("articles")
    return articles[articles["article_id"].isin([A["article_id"], B["article_id"], C["article_id"]])]


def test_hours_published_in_reverse_leave_one_original_and_a_stable_story_id(cfg):
    results = {}
    for h in (12, 11, 10):
        results[h] = _publish(cfg, h, f"run-{h}", _validated(cfg, h, f"run-{h}", HOURS[h]))
        rows = _story_rows(cfg)
        # after every run: one story, its id the first published copy's, one original (the earliest known)
        assert set(rows["story_id"]) == {C["article_id"]}
        assert rows["is_original"].sum() == 1
        assert rows.loc[rows["is_original"], "published_at"].iloc[0] == rows["published_at"].min()
    assert rows.set_index("article_id").loc[A["article_id"], "is_original"]
    # hour 11 took the flag from hour 12's copy, hour 10 took it from hour 11's
    assert results[11]["intervals_rewritten"] == [_hour(12).key] and results[11]["originals_fixed"] == 1
    assert results[10]["intervals_rewritten"] == [_hour(11).key] and results[10]["originals_fixed"] == 1
    assert not results[10]["stories_reassigned"]  # each dedupe ran after the hours before it had published

    wh = Warehouse.from_config(cfg)
    # rewriting hour 11 kept its other article, in its own (earlier) dt partition, untouched
    eleven = interval_rows(wh, _hour(11))
    assert sorted(eleven["article_id"]) == sorted([B["article_id"], D["article_id"]])
    assert sorted(set(eleven["dt"])) == ["2026-01-04", "2026-01-05"]
    late = wh.read("articles").set_index("article_id").loc[D["article_id"]]
    assert late["is_original"] and late["story_id"] == D["article_id"] and late["body"] == OTHER
    # dq_results say every batch was published
    dq = wh.read("dq_results")
    assert dq["is_published"].all() and set(dq["table_name"]) == {"articles", "article_assets", "fetch_log"}

    # a rerun of hour 10 that fetched nothing keeps what was published (issue 20: reruns keep what they
    # failed to re-fetch) ...
    kept = _publish(cfg, 10, "run-10a", _validated(cfg, 10, "run-10a", []))
    assert (kept["articles_kept"], kept["articles_removed"]) == (1, 0)
    assert rows.equals(_story_rows(cfg))
    # ... and one whose original's page now answers 410 removes it and hands the flag to the next copy
    again = _publish(cfg, 10, "run-10b", _validated(cfg, 10, "run-10b", [], gone=[A]))
    assert (again["articles_kept"], again["articles_removed"]) == (0, 1)
    rows = _story_rows(cfg)
    assert A["article_id"] not in set(rows["article_id"])
    assert rows.loc[rows["is_original"], "article_id"].tolist() == [B["article_id"]]
    assert again["intervals_rewritten"] == [_hour(11).key]


def _publish_in_child(args):
    cfg_path, h, run_id, validated = args
    from newsmarkets.config import load_config

    return _publish(load_config(cfg_path), h, run_id, validated)


@pytest.fixture(params=["local", "s3"])
def any_cfg(request, tmp_path, monkeypatch):
    """The warehouse on local disk, or on the S3 endpoint (moto on 127.0.0.1), where nothing can be locked."""
    if request.param == "local":
        return request.getfixturevalue("cfg")
    from newsmarkets.local.s3_server import S3Server

    s3 = S3Server(tmp_path / "s3", "newsmarkets")
    s3.start()
    request.addfinalizer(s3.stop)
    for name, value in s3.client_env.items():
        monkeypatch.setenv(name, value)  # spawned publishers inherit them
    raw = yaml.safe_load(BUNDLED_CONFIG.read_text())
    raw["warehouse"] = "s3://newsmarkets/warehouse"
    return parse_config(raw)


def test_concurrent_publishes_join_one_story_with_one_original(any_cfg, tmp_path):
    cfg = any_cfg
    # every deduplicate runs before any publish: each hour thinks its copy starts the story
    validated = {h: _validated(cfg, h, f"run-{h}", HOURS[h]) for h in (10, 11, 12)}
    wh = Warehouse.from_config(cfg)
    staged_ids = {h: set(wh.load_staged("articles", validated[h]["articles"])["story_id"]) for h in (10, 11, 12)}
    assert staged_ids[10] == {A["article_id"]} and staged_ids[12] == {C["article_id"]}

    cfg_path = tmp_path / "config.yaml"
    raw = yaml.safe_load(BUNDLED_CONFIG.read_text())
    raw["warehouse"] = cfg.warehouse
    cfg_path.write_text(yaml.safe_dump(raw))
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        results = pool.map(_publish_in_child, [(str(cfg_path), h, f"run-{h}", validated[h]) for h in (12, 11, 10)])

    rows = _story_rows(cfg)
    assert len(rows) == 3
    assert rows["story_id"].nunique() == 1, rows[["article_id", "story_id"]]
    assert rows.loc[rows["is_original"], "article_id"].tolist() == [A["article_id"]]
    # every publish but the first committed found another's copy (a conflict, then a new plan) and joined its story
    assert sum(r["stories_reassigned"] for r in results) == 2
    # every run's hand-offs are gone once it published
    assert not wh.storage.glob(wh.storage.path("_staging", "*", "*", "run-1*"))
    assert not wh.storage.glob(wh.storage.path("_staging", "*", "*", "run-1*.parquet"))
