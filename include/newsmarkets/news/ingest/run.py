"""Every news_ingest step of one interval in this process, in the DAG's order (tests, one-off reruns)."""

from __future__ import annotations

from newsmarkets.config import Config
from newsmarkets.intervals import Interval
from newsmarkets.news.ingest.deduplicate import deduplicate
from newsmarkets.news.ingest.discover import discover
from newsmarkets.news.ingest.extract import extract
from newsmarkets.news.ingest.fetch import fetch_source
from newsmarkets.news.ingest.link import link
from newsmarkets.news.ingest.publish import publish
from newsmarkets.news.ingest.validate import validate


def run_interval(cfg: Config, interval: Interval, run_id: str) -> dict:
    """Every step of one interval in this process, in the DAG's order (tests, one-off reruns)."""
    discovered = discover(cfg, interval, run_id)
    fetched = [fetch_source(cfg, interval, run_id, d) for d in discovered]
    extracted = extract(cfg, interval, run_id, fetched)
    deduped = deduplicate(cfg, interval, run_id, extracted)
    linked = link(cfg, interval, run_id, deduped)
    validated = validate(cfg, interval, run_id, linked)
    published = publish(cfg, interval, run_id, validated)
    return {"discovered": discovered, "fetched": fetched, "extracted": extracted, "deduped": deduped,
            "linked": linked, "validated": validated, "built": published}
