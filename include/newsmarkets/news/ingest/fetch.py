"""The fetch step of news_ingest: one source's discovered URLs, fetched politely (one mapped task per source).

``fetch_log.dt`` is the UTC date of the attempt's ``fetched_at``.
Pages seen before are fetched conditionally (If-None-Match /
If-Modified-Since from ``_raw_html/_validators/``); a 304 rebuilds the
article from the raw HTML kept then, and its fetch_log row says status 304.
The fetcher itself (robots, rate limits, retries, address guard) is
:mod:`newsmarkets.news.fetch`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from newsmarkets.config import Config
from newsmarkets.intervals import Interval, as_utc
from newsmarkets.news.ingest.common import open_warehouse, polite_fetcher
from newsmarkets.warehouse import rawstore

log = logging.getLogger("newsmarkets.news")

MAX_FETCH_WORKERS = 4


def fetch_source(cfg: Config, interval: Interval, run_id: str, discovered: dict) -> dict:
    """Fetch one source's discovered URLs politely, keep raw HTML, stage the results."""
    source = cfg.news.source(discovered["source"])
    wh = open_warehouse(cfg)
    doc = rawstore.read_staged_json(wh, discovered["staged"])
    entries = doc["urls"]
    started = time.perf_counter()
    # Pages fetched before are asked for with If-None-Match / If-Modified-Since;
    # a 304 reuses the raw HTML we kept, so the site sends nothing twice.
    known = {e["url"]: rawstore.read_validators(wh, source.name, e["page_id"]) for e in entries}
    known = {url: doc for url, doc in known.items() if doc is not None}
    conditional = {url: (doc.get("etag"), doc.get("last_modified")) for url, doc in known.items()}
    with polite_fetcher(cfg, source, conditional) as fetcher:
        results = fetcher.fetch_many([e["url"] for e in entries], max_workers=MAX_FETCH_WORKERS)
    rows = []
    for entry, result in zip(entries, results):
        fetched_at = as_utc(result.fetched_at)
        raw_path, outcome, final_url, is_not_modified = None, result.outcome, result.final_url, False
        if result.outcome == "fetched" and result.html is not None:
            raw_path = rawstore.write_raw_html(wh, fetched_at, source.name, entry["page_id"], result.html)
            if result.etag or result.last_modified:
                rawstore.write_validators(wh, source.name, entry["page_id"], etag=result.etag,
                                          last_modified=result.last_modified, raw_path=raw_path,
                                          final_url=result.final_url)
        elif result.outcome == "not_modified" and entry["url"] in known:
            doc = known[entry["url"]]
            raw_path, outcome, is_not_modified = doc["raw_path"], "fetched", True
            final_url = doc.get("final_url") or result.final_url
        rows.append({
            **entry,
            "final_url": final_url,
            "is_not_modified": is_not_modified,
            "outcome": outcome,
            "status": result.status,
            "reason": result.reason or None,
            "attempts": result.attempts,
            "fetched_at": fetched_at.isoformat(),
            "content_type": result.content_type,
            "raw_path": raw_path,
        })
    outcomes = Counter("not_modified" if r["is_not_modified"] else r["outcome"] for r in rows)
    staged = rawstore.write_staged_json(
        wh, "fetched", interval, run_id, source.name,
        {"source": source.name, "run_id": run_id, "results": rows},
    )
    log.info("fetch %s %s: %s", source.name, interval, dict(sorted(outcomes.items())))
    return {"source": source.name, "staged": staged, "urls": len(rows), "outcomes": dict(sorted(outcomes.items())),
            "fetch_s": round(time.perf_counter() - started, 3)}
