"""The validate step of ``news_ingest``: the three staged batches against their suites.

The only news step that imports Great Expectations (seconds of import per
task process), so the other tasks stay light. It publishes nothing: a batch
passing every critical expectation goes on to the publish task with its
``dq_results`` rows staged; a failing run quarantines each failing batch,
records every table's outcome in ``dq_results`` (``is_published`` false)
and raises :class:`~newsmarkets.quality.gate.QualityGateError`, so the
publish task never runs and none of the three tables changes.
"""

from __future__ import annotations

import logging
import time

import pandas as pd

from newsmarkets.config import Config
from newsmarkets.intervals import Interval
from newsmarkets.news.ingest.common import (
    ARTICLE_ASSETS,
    ARTICLES,
    DQ_RESULTS,
    FETCH_LOG,
    PUBLISHED_TABLES,
    open_warehouse,
)

log = logging.getLogger("newsmarkets.news")


def validate(cfg: Config, interval: Interval, run_id: str, linked: dict) -> dict:
    """Validate the staged ``articles``, ``article_assets`` and ``fetch_log`` batches; stage their dq rows.

    ``linked`` is :func:`newsmarkets.news.ingest.link.link`'s result; the return
    value is the same plus ``dq_results`` (staged rows) and ``warnings``.
    """
    from newsmarkets.quality.gate import QualityGateError, validate_frame
    from newsmarkets.quality.results import dq_rows
    from newsmarkets.quality.suites import article_assets_suite, articles_suite, fetch_log_suite

    started = time.perf_counter()
    wh = open_warehouse(cfg)
    suites = {
        ARTICLES: articles_suite(min_words=cfg.news.min_words),
        ARTICLE_ASSETS: article_assets_suite(),
        FETCH_LOG: fetch_log_suite(),
    }
    outcomes, frames, warnings = {}, {}, []
    for table in PUBLISHED_TABLES:
        frames[table] = wh.load_staged(table, linked[table])
        outcomes[table] = validate_frame(table, frames[table], suites[table], interval=interval, run_id=run_id)
        for r in outcomes[table].failed_warnings:
            warnings.append(f"{table}: {r.describe()}")
            log.warning("%s %s (run %s): %s", table, interval, run_id, r.describe())

    failed = [t for t in PUBLISHED_TABLES if not outcomes[t].success]
    if failed:
        errors = []
        for table in PUBLISHED_TABLES:
            if table in failed:
                path = wh.quarantine(table, frames[table], interval, run_id, outcomes[table].report())
                errors.append(QualityGateError.for_outcome(outcomes[table], path))
            wh.write(DQ_RESULTS, dq_rows(outcomes[table], is_published=False), interval,
                     file_tag=f"{table}-{run_id}")
        for error in errors:
            log.error("%s", error)
        if len(errors) > 1:
            others = "; ".join(f"{e.outcome.table} quarantined at {e.quarantine_path}" for e in errors[1:])
            raise QualityGateError(f"{errors[0]}\n(also failed: {others})", outcome=errors[0].outcome,
                                   quarantine_path=errors[0].quarantine_path)
        raise errors[0]

    rows = pd.concat([dq_rows(outcomes[t], is_published=True) for t in PUBLISHED_TABLES], ignore_index=True)
    log.info("validate %s: %s", interval, ", ".join(
        f"{t} {outcomes[t].row_count} row(s) passed {len(outcomes[t].results)} expectation(s)" for t in PUBLISHED_TABLES))
    return {**linked, DQ_RESULTS: wh.stage(DQ_RESULTS, rows, interval, run_id), "warnings": warnings,
            "validate_s": round(time.perf_counter() - started, 3)}
