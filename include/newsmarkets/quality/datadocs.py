"""Great Expectations Data Docs: a static HTML site of each table's recent partitions, validated.

The site is built by a GX *file* context in ``maintenance.data_docs_dir``
(default ``<warehouse>/_gx``; ``data/_gx`` when the warehouse is on an object
store, since Data Docs are a local static site), so validation results
accumulate across runs and the index lists them all::

    <docs root>/gx/uncommitted/data_docs/local_site/index.html

Each (table, day) is one batch validated against the table's suite from
:data:`newsmarkets.quality.suites.SUITES` with the parameters the pipelines
use, through a checkpoint whose :class:`UpdateDataDocsAction` renders it.
A day is many pipeline batches, so the per-batch row limit of the ``markets``
snapshot suite is scaled to a day of snapshots (:data:`SNAPSHOTS_PER_DAY`).

Scraped text (article bodies, titles, URLs) reaches the pages only as
observed or unexpected values, and GX 1.24 writes unexpected values of a
failed expectation into the page unescaped (a body with ``<script>`` stays a
live script). So string values containing ``<`` or ``>`` are HTML-escaped
before validation (:func:`_sanitized`; none of our expectations looks at
those characters), so the pages can only ever show them as text.
:func:`unsafe_html` is the check the tests run over every generated file.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import inspect
import logging
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from newsmarkets.intervals import Interval

log = logging.getLogger("newsmarkets.quality.datadocs")

SITE_NAME = "local_site"
DATASOURCE = "newsmarkets_warehouse"
# prices_snapshot runs every 5 minutes: a day holds this many markets batches.
SNAPSHOTS_PER_DAY = 288
# History points are at most 5 minutes apart within a day (the provider's finest step).
HISTORY_POINTS_PER_DAY = 288


class DataDocsError(RuntimeError):
    """Data Docs cannot be built where configured; the message names the folder and why."""


def docs_root(cfg) -> Path:
    """Where the GX project (and its Data Docs site) lives for ``cfg``."""
    if cfg.maintenance.data_docs_dir:
        return Path(cfg.maintenance.data_docs_dir).expanduser().resolve()
    if "://" in cfg.warehouse:
        return Path("data", "_gx").resolve()
    return Path(cfg.warehouse, "_gx").resolve()


def site_index(root: Path) -> Path:
    return root / "gx" / "uncommitted" / "data_docs" / SITE_NAME / "index.html"


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    # GX's file stores are not safe against two concurrent builds.
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".build.lock", "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _file_context(root: Path) -> Any:
    from newsmarkets.quality.gate import gx_context, load_gx

    gx = load_gx()
    # Suite builders need the gate's ephemeral context; create it first so the
    # file context is the one GX treats as the current project from here on.
    gx_context()
    context = gx.get_context(mode="file", project_root_dir=str(root))
    from great_expectations.data_context.types.base import ProgressBarsConfig

    changed = False
    bars = context.variables.progress_bars
    globally = bars.get("globally") if isinstance(bars, dict) else getattr(bars, "globally", None)
    if globally is not False:  # tqdm bars would flood task logs
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        changed = True
    if context.variables.analytics_enabled is not False:
        context.variables.analytics_enabled = False
        changed = True
    if changed:
        context.variables.save()
    return context


def _scale_row_limit(suite: Any, batches: int) -> Any:
    """A day holds ``batches`` pipeline batches: scale the per-batch row-count ceiling."""
    for expectation in suite.expectations:
        if (expectation.meta or {}).get("check") == "non_empty_within_max" and expectation.max_value is not None:
            expectation.max_value = expectation.max_value * batches
            expectation.meta = {**expectation.meta, "why": expectation.meta.get("why", "") +
                                f" (scaled to a day: {batches} batches)"}
    return suite


def _build_suite(builder, table: str, known: dict) -> Any:
    """``builder`` called with the parameters it names; None (logged) if it needs one we cannot give."""
    params = inspect.signature(builder).parameters
    missing = [n for n, p in params.items() if p.default is p.empty and n not in known
               and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if missing:
        log.warning("Data Docs: the %s suite needs %s, which a day batch cannot give; skipped", table, missing)
        return None
    return builder(**{n: known[n] for n in params if n in known})


def day_batches(cfg, wh, day: str) -> Iterator[tuple[str, str, Any, Any]]:
    """``(table, batch name, frame, suite)`` for every table with a suite and rows on ``day``."""
    from newsmarkets.quality import suites as S
    from newsmarkets.warehouse.schemas import TABLES

    interval = Interval.for_day(day)
    tolerance = timedelta(minutes=cfg.quality.observed_at_tolerance_minutes)
    # What a day batch's suite builders may ask for, by parameter name.
    linking = getattr(cfg, "linking", None)
    known = {"interval": interval, "tolerance": tolerance, "min_words": cfg.news.min_words,
             "expected_assets": len(cfg.prices.assets),
             **({"horizons": list(linking.horizons)} if linking is not None else {})}
    for table in sorted(S.SUITES):
        if table not in TABLES:
            continue  # a suite whose table is not published yet
        frame = wh.read(table, [day])
        if frame.empty:
            continue
        if table == "price_snapshots":
            for source in sorted(frame["source"].dropna().unique()):
                part = frame[frame["source"] == source].reset_index(drop=True)
                if source == "markets":
                    suite = _scale_row_limit(S.price_snapshots_suite(
                        interval=interval, expected_assets=len(cfg.prices.assets), tolerance=tolerance,
                        source=source), SNAPSHOTS_PER_DAY)
                else:
                    suite = S.price_snapshots_suite(
                        interval=interval, expected_assets=len(cfg.prices.assets), tolerance=tolerance,
                        source=source, max_points_per_asset=HISTORY_POINTS_PER_DAY)
                yield table, f"{table}.{source}", part, suite
            continue
        suite = _build_suite(S.SUITES[table], table, known)
        if suite is None:
            continue
        yield table, table, frame, suite


def _sanitized(frame):
    """The batch with scraped text made inert for display: values that look like markup are escaped.

    Only string values containing ``<`` or ``>`` change; a check that
    depended on those characters (none of our suites does) would see the
    escaped text.
    """
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(
                lambda v: html.escape(v, quote=True) if isinstance(v, str) and re.search(r"[<>]", v) else v)
    return out


def unsafe_html(root: Path, needles: tuple[str, ...] = ()) -> list[str]:
    """Generated HTML files holding ``needles`` verbatim (scraped markup rendered unescaped)."""
    found = []
    for page in sorted(root.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        if any(n in text for n in needles):
            found.append(str(page))
    return found


def build_data_docs(cfg, interval: Interval, run_id: str | None = None) -> dict:
    """Validate the last ``maintenance.data_docs_days`` days of every table and update the static site."""
    from newsmarkets.warehouse.writer import Warehouse

    started = time.perf_counter()
    days_back = cfg.maintenance.data_docs_days
    last = interval.start.date()
    days = [(last - timedelta(days=i)).isoformat() for i in reversed(range(days_back))]
    root = docs_root(cfg)
    wh = Warehouse.from_config(cfg)
    outcomes: list[dict] = []
    with _locked(root):
        context = _file_context(root)
        import great_expectations as gx
        from great_expectations.checkpoint import UpdateDataDocsAction
        from great_expectations.core.run_identifier import RunIdentifier

        source = context.data_sources.add_or_update_pandas(DATASOURCE)
        for day in days:
            for table, name, frame, suite in day_batches(cfg, wh, day):
                asset = next((a for a in source.assets if a.name == table), None) or source.add_dataframe_asset(table)
                batch_definition = next((b for b in asset.batch_definitions if b.name == "day"), None) \
                    or asset.add_batch_definition_whole_dataframe("day")
                suite = context.suites.add_or_update(suite)
                definition = context.validation_definitions.add_or_update(
                    gx.ValidationDefinition(name=name, data=batch_definition, suite=suite))
                checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
                    name=name, validation_definitions=[definition], result_format="SUMMARY",
                    actions=[UpdateDataDocsAction(name="update_data_docs", site_names=[SITE_NAME])]))
                run_time = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
                result = checkpoint.run(
                    batch_parameters={"dataframe": _sanitized(frame)},
                    run_id=RunIdentifier(run_name=f"{name} {day}" + (f" ({run_id})" if run_id else ""), run_time=run_time),
                )
                outcomes.append({"table": table, "batch": name, "dt": day, "rows": len(frame),
                                 "success": bool(result.success)})
        index = site_index(root)
        if not index.exists():
            context.build_data_docs(site_names=[SITE_NAME])
    seconds = round(time.perf_counter() - started, 2)
    log.info("Data Docs: %d batch(es) validated in %.1f s; site %s", len(outcomes), seconds, index)
    return {
        "index": str(index),
        "days": days,
        "validations": len(outcomes),
        "failed": [f"{o['batch']} {o['dt']}" for o in outcomes if not o["success"]],
        "seconds": seconds,
    }
