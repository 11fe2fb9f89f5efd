"""Exactly one original per story across the warehouse, whatever order hours are published in.

A story's copies are published by different hourly runs. When runs go out
of order (a backfill with several active runs, a rerun), the run holding the
earliest copy may publish after a later copy was already published as
``is_original``. So publishing hour H's articles ends with a reconciliation:
for every story H touches (its new rows and the rows its previous publish
had), the earliest copy (``published_at``, then ``article_id``, then slice)
across all intervals is flagged and every other copy is not; another
interval whose flags change gets them fixed in the same commit. Which interval's slice holds a row comes from
:meth:`Warehouse.read_owned`.

Where the copies are: in ``dt`` partitions within :data:`STORY_LOOKBACK` of
H's rows (dedup never joins copies further apart). The read window grows
while a touched story has a row within :data:`STORY_LOOKBACK` of its edge,
so a story chained over more days is still seen whole.

Concurrency. Deduplicate assigned this batch's stories against what was
published when it ran; a concurrent run may have published copies since.
It records a digest of the article ids it saw; when publish sees another
set, it assigns the batch's stories again (within the plan below), so
concurrent copies join one story instead of each starting its own. Story
ids never change once published.

No lock. A publish plans against one pinned
version of ``articles`` (every read above goes through
:meth:`Warehouse.pinned`) and commits its batch and every other
interval's flag fix in one MERGE whose predicate names each partition the
plan read. If any commit touched one of those partitions since the pinned
version, the MERGE fails to commit and the publish plans again from the new
version (bounded, then the task fails for Airflow to retry). So two hours
re-flagging one story, on local disk or on S3/MinIO, end as if one ran after
the other. Compaction (OPTIMIZE) changes no row; a plan that raced it just
plans again.

"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

import pandas as pd

from newsmarkets.intervals import Interval
from newsmarkets.news.ingest.common import ARTICLES

log = logging.getLogger("newsmarkets.news")

STORY_LOOKBACK = timedelta(days=3)  # dedup.MAX_GAP: copies further apart are never one story
FLAG_COLUMNS = ["article_id", "story_id", "published_at", "is_original"]


def story_days(published: Iterable[datetime], lookback: timedelta = STORY_LOOKBACK) -> list[str]:
    """The ``dt`` partitions that can hold copies of articles published at ``published`` (empty: none)."""
    stamps = [pd.Timestamp(t) for t in published if t is not None and not pd.isna(t)]
    if not stamps:
        return []
    first, last = (min(stamps) - lookback).date(), (max(stamps) + lookback).date()
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def flag_originals(rows: pd.DataFrame) -> pd.Series:
    """``True`` for the earliest row of each ``story_id`` (then smallest ``article_id``, then ``slice``).

    Pure: ``rows`` needs ``story_id``, ``published_at``, ``article_id`` and
    ``slice`` (``<dt>/<interval key>``: where the row is published, so the
    choice is the same whichever run makes it); the result is aligned to ``rows.index``.
    """
    if not len(rows):
        return pd.Series([], index=rows.index, dtype=bool)
    order = rows.sort_values(["story_id", "published_at", "article_id", "slice"], kind="mergesort")
    first = ~order["story_id"].duplicated()
    return first.reindex(rows.index).astype(bool)


def ids_digest(article_ids) -> str:
    """A short fingerprint of a set of article ids: tells publish whether the neighbourhood changed."""
    text = "\n".join(sorted({str(a) for a in article_ids}))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# ----------------------------------------------------------------------------- reading

def _typed(rows: pd.DataFrame) -> pd.DataFrame:
    if "published_at" in rows:
        rows["published_at"] = pd.to_datetime(rows["published_at"], utc=True)
    if "is_original" in rows:
        rows["is_original"] = rows["is_original"].astype(bool)
    return rows


def interval_rows(wh, interval: Interval, columns: list[str] | None = None) -> pd.DataFrame:
    """Every ``articles`` row interval ``interval`` published, in every ``dt``, with ``dt``."""
    return _typed(wh.read_interval(ARTICLES, interval, columns))


def read_articles(wh, days: Iterable[str] | None, columns: list[str], *,
                  exclude_interval: Interval | None = None) -> pd.DataFrame:
    """``columns`` of the ``articles`` rows in partitions ``days`` (None: all), with ``dt`` and ``interval_key``
    (the run interval whose slice holds the row).

    ``exclude_interval``: leave out that interval's own rows (the batch being built replaces them).
    """
    days = None if days is None else list(days)
    rows = _typed(wh.read_owned(ARTICLES, days, columns))
    if exclude_interval is not None:
        rows = rows[rows["interval_key"] != exclude_interval.key].reset_index(drop=True)
    return rows


# ----------------------------------------------------------------------------- publishing

def publish_articles(wh, articles: pd.DataFrame, interval: Interval, *,
                     neighbour_days: list[str] | None = None, neighbour_digest: str | None = None,
                     refreshed_urls: set[str] | None = None) -> dict:
    """Write ``articles`` as ``interval``'s batch with exact originals; fix other intervals' flags.

    ``neighbour_days`` / ``neighbour_digest``: the partitions deduplicate read
    and the digest of the article ids it found there (see the module docstring).
    ``refreshed_urls``: canonical URLs of the pages this run re-fetched (or the
    site said are gone); the interval's published articles outside it are
    kept as they are, those inside it and not in the batch are removed. None
    replaces the interval whole.
    Returns ``rows_written``, ``stories_reassigned``, ``originals_fixed`` (rows
    of other intervals whose flag changed), ``intervals_rewritten``, and the
    ``kept`` / ``removed`` published rows (article_id, canonical_url) as frames.
    """
    articles = articles.copy()
    articles["published_at"] = pd.to_datetime(articles["published_at"], utc=True)
    # Plan against one pinned version, commit the batch and every other interval's flag fix in one
    # MERGE; when a concurrent commit changed a partition the plan read, plan again.
    from newsmarkets.warehouse.delta import COMMIT_ATTEMPTS, CommitConflictError, PlanConflictError, backoff

    for attempt in range(COMMIT_ATTEMPTS):
        view = wh.pinned(ARTICLES)
        plan = _plan(view, articles, interval, neighbour_days, neighbour_digest, refreshed_urls)
        updates = plan.stale[["dt", "article_id", "interval_key", "want"]].rename(columns={"want": "is_original"})
        try:
            written = view.write_planned(ARTICLES, plan.articles, interval, updates=updates, columns=["is_original"],
                                         read_partitions=plan.days)
        except PlanConflictError as exc:
            log.info("articles %s: %s; planning again", interval, exc)
            backoff(attempt)
            continue
        return _summary(plan, written, interval, sorted(set(plan.stale["interval_key"])))
    raise CommitConflictError(f"articles {interval}: concurrent publishes changed the stories this run reads "
                              f"{COMMIT_ATTEMPTS} times; nothing was published (the task's retry publishes it)")


@dataclass
class _Plan:
    articles: pd.DataFrame  # the batch to write, is_original settled
    stale: pd.DataFrame  # other intervals' rows whose is_original must become ``want``
    days: list[str]  # the partitions the plan read
    reassigned: bool
    kept: pd.DataFrame
    removed: pd.DataFrame


def _plan(wh, articles: pd.DataFrame, interval: Interval, neighbour_days, neighbour_digest, refreshed_urls) -> _Plan:
    """What publishing ``articles`` as ``interval``'s batch writes, from what ``wh`` reads now."""
    seen_days = list(neighbour_days or [])
    previous = interval_rows(wh, interval, FLAG_COLUMNS)
    days = sorted(set(story_days([*articles["published_at"], *previous["published_at"]])) | set(seen_days))
    others = read_articles(wh, days, FLAG_COLUMNS, exclude_interval=interval)

    reassigned = False
    if neighbour_digest is not None and len(articles):
        seen = others[others["dt"].isin(set(seen_days))]
        if ids_digest(seen["article_id"]) != neighbour_digest:
            articles = _assign_again(wh, articles, interval, seen_days)
            reassigned = True

    kept = removed = articles.iloc[0:0][["article_id", "canonical_url"]]
    if refreshed_urls is not None:
        articles, kept, removed = _with_kept_rows(wh, articles, interval, refreshed_urls)
    articles = articles.copy()

    touched = set(articles["story_id"]) | set(previous["story_id"])
    others = _widen(wh, others, days, touched, articles, interval)

    # The writer keeps the first writer's row for a key another interval
    # already holds in the same dt: such rows of ours will not be on disk.
    own_dt = articles["published_at"].dt.strftime("%Y-%m-%d")
    held = set(zip(others["article_id"], others["dt"]))
    lands = pd.Series([(a, d) not in held for a, d in zip(articles["article_id"], own_dt)], index=articles.index)
    own_rows = articles.loc[lands, ["article_id", "story_id", "published_at", "is_original"]].copy()
    own_rows["dt"] = own_dt[lands]
    own_rows["interval_key"] = interval.key
    own_rows["is_ours"] = True
    candidates = others[others["story_id"].isin(touched)].assign(is_ours=False)
    union = pd.concat([candidates, own_rows], ignore_index=True)
    union["slice"] = union["dt"] + "/" + union["interval_key"]
    union["want"] = flag_originals(union)

    wanted_own = union.loc[union["is_ours"]].set_index("article_id")["want"]
    articles["is_original"] = articles["article_id"].map(wanted_own).fillna(False).astype(bool)
    stale = union[~union["is_ours"] & (union["is_original"] != union["want"])]
    return _Plan(articles, stale, list(days), reassigned, kept, removed)


def _summary(plan: _Plan, written, interval: Interval, rewritten: list[str]) -> dict:
    if len(plan.stale):
        log.info("articles %s: fixed is_original of %d row(s) in interval(s) %s", interval, len(plan.stale),
                 ", ".join(rewritten))
    return {"rows_written": written.rows_written, "table_version": written.table_version,
            "stories_reassigned": plan.reassigned, "originals_fixed": int(len(plan.stale)),
            "intervals_rewritten": rewritten, "kept": plan.kept, "removed": plan.removed}


def _with_kept_rows(wh, articles: pd.DataFrame, interval: Interval,
                    refreshed_urls: set[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The batch plus the interval's published articles this run did not re-fetch; and the kept and removed rows.

    Kept rows join before originals are flagged, so their flags are
    reconciled with the rest; their story ids are the ones they were published with.
    """
    published = interval_rows(wh, interval)
    if not len(published):
        return articles, published[["article_id", "canonical_url"]], published[["article_id", "canonical_url"]]
    in_batch = published["article_id"].isin(set(articles["article_id"]))
    refreshed = published["canonical_url"].isin(refreshed_urls)
    kept = published[~refreshed & ~in_batch]
    removed = published[refreshed & ~in_batch]
    merged = pd.concat([articles, kept[articles.columns]], ignore_index=True) if len(kept) else articles
    return merged, kept[["article_id", "canonical_url"]], removed[["article_id", "canonical_url"]]


def _assign_again(wh, articles: pd.DataFrame, interval: Interval, days: list[str]) -> pd.DataFrame:
    """Assign the batch's stories against what is published now (another run published near it since)."""
    from newsmarkets.news.dedup import assign_stories

    existing = read_articles(wh, days, ["article_id", "published_at", "body", "story_id"], exclude_interval=interval)
    before = dict(zip(articles["article_id"], articles["story_id"]))
    again = assign_stories(articles.drop(columns=["story_id", "is_original"]),
                           existing=existing[["article_id", "published_at", "body", "story_id"]])
    changed = sum(before[a] != s for a, s in zip(again["article_id"], again["story_id"]))
    log.info("articles %s: neighbours changed since deduplicate; stories assigned again (%d row(s) moved)",
             interval, changed)
    return again


def _widen(wh, others: pd.DataFrame, days: list[str], touched: set, articles: pd.DataFrame,
           interval: Interval) -> pd.DataFrame:
    """Read more partitions while a touched story has a row near the window's edge."""
    if not touched or not days:
        return others
    known = wh.partitions(ARTICLES)
    while True:
        stamps = pd.concat([others.loc[others["story_id"].isin(touched), "published_at"],
                            articles.loc[articles["story_id"].isin(touched), "published_at"]])
        if not len(stamps):
            return others
        start = pd.Timestamp(days[0], tz="UTC")
        end = pd.Timestamp(days[-1], tz="UTC") + pd.Timedelta(days=1)
        grow_back = stamps.min() - start < STORY_LOOKBACK and any(d < days[0] for d in known)
        grow_on = end - stamps.max() < STORY_LOOKBACK and any(d > days[-1] for d in known)
        if not (grow_back or grow_on):
            return others
        first = pd.Timestamp(days[0]) - (STORY_LOOKBACK if grow_back else pd.Timedelta(0))
        last = pd.Timestamp(days[-1]) + (STORY_LOOKBACK if grow_on else pd.Timedelta(0))
        days[:] = [d.date().isoformat() for d in pd.date_range(first, last, freq="D")]
        others = read_articles(wh, days, FLAG_COLUMNS, exclude_interval=interval)
