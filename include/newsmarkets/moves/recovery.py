"""How well the linking recovered the replay world's injected events (pure; for tests and the demo).

Truth positives, per event of the market world dated inside the linked
days: ``(event, asset)`` for each asset an ``asset`` event moved and
``(event, market)`` for a ``market`` event. Predicted positives: the
``is_significant`` rows of ``news_market_moves`` at one horizon, keyed by
the event of their article (``article:<id>`` for articles without one), so a
story counts once whichever copy the pipeline took as its original.
Articles are matched to the news world by the slug in their URL.

A ``market`` row of an asset event (bitcoin's own news moves a cap-weighted
index too) counts as a false positive: the truth says only the asset moved.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from newsmarkets.moves import MARKET


class RecoveryError(ValueError):
    """Inputs that cannot be scored (names the frame and column)."""


def _slug_candidates(url: str) -> list[str]:
    path = urlsplit(url).path if isinstance(url, str) else ""
    parts = [p[:-5] if p.endswith(".html") else p for p in path.split("/") if p]
    return parts[::-1]  # the slug is the last segment on every outlet's URL shape


def article_slugs(articles: pd.DataFrame, known_slugs: set[str]) -> dict[str, str]:
    """article_id -> news-world slug, found in ``url`` or ``canonical_url``."""
    missing = [c for c in ("article_id", "url") if c not in articles.columns]
    if missing:
        raise RecoveryError(f"articles frame is missing column(s) {', '.join(missing)}")
    out: dict[str, str] = {}
    canonical = articles["canonical_url"] if "canonical_url" in articles.columns else articles["url"]
    for article_id, url, canon in zip(articles["article_id"], articles["url"], canonical):
        for candidate in (*_slug_candidates(url), *_slug_candidates(canon)):
            if candidate in known_slugs:
                out[str(article_id)] = candidate
                break
    return out


def _event_keys(gold: pd.DataFrame, event_of: dict[str, str | None]) -> pd.Series:
    events = gold["article_id"].map(lambda a: event_of.get(a))
    fallback = "article:" + gold["article_id"].astype(str)
    return events.where(events.notna(), fallback).astype(str) + "|" + gold["asset_id"].astype(str)


def recovery(gold: pd.DataFrame, articles: pd.DataFrame, market_truth: dict, news_truth: dict, *,
             horizon: str = "1h", assets: set[str] | frozenset[str] | None = None) -> dict:
    """Precision and recall of significant links at ``horizon``, the misses, and averages by horizon.

    ``gold``: ``news_market_moves`` rows; ``articles``: the ``articles`` table
    (``article_id``, ``url``, ``canonical_url``); the truths are
    ``MarketWorld.truth()`` and ``NewsWorld.truth()`` (or their JSON).
    ``assets``: the tracked (priced) assets; events' other assets cannot be
    recovered and are counted in ``untracked_positives`` instead. None: the
    assets whose rows in ``gold`` all say ``asset not tracked`` are the
    untracked ones (pass ``cfg.prices.assets`` to be exact).
    """
    needed = ("article_id", "asset_id", "horizon", "horizon_minutes", "is_significant", "abnormal_return",
              "abnormal_z", "missing_reason", "dt")
    missing = [c for c in needed if c not in gold.columns]
    if missing:
        raise RecoveryError(f"news_market_moves frame is missing column(s) {', '.join(missing)}")
    truth_articles = {a["slug"]: a for a in news_truth["articles"]}
    slug_of = article_slugs(articles, set(truth_articles))
    event_of = {aid: truth_articles[slug]["event_id"] for aid, slug in slug_of.items()}

    days = sorted(set(gold["dt"].astype(str)))
    if days:
        first = pd.Timestamp(days[0], tz="UTC")
        last = pd.Timestamp(days[-1], tz="UTC") + timedelta(days=1)
    events = [e for e in market_truth["events"]
              if days and first <= pd.Timestamp(e["at"]) < last]
    if assets is None:
        reasons = gold.groupby("asset_id")["missing_reason"].agg(lambda r: set(r.dropna()) == {"asset not tracked"}
                                                                 and r.notna().all())
        not_tracked = set(reasons[reasons].index)
    else:
        not_tracked = None
    truth, untracked = {}, []
    for e in events:
        for asset in (e["asset_ids"] if e["kind"] == "asset" else [MARKET]):
            if asset != MARKET and (asset not in assets if assets is not None else asset in not_tracked):
                untracked.append(f"{e['event_id']}|{asset}")
                continue
            truth[f"{e['event_id']}|{asset}"] = e

    rows = gold[gold["horizon"] == horizon].copy()
    rows["_key"] = _event_keys(rows, event_of)
    predicted = set(rows.loc[rows["is_significant"].astype(bool), "_key"])
    hits = predicted & set(truth)
    by_key = rows.drop_duplicates("_key").set_index("_key")
    ingested_events = {ev for ev in event_of.values() if ev}
    misses = []
    for key, e in sorted(truth.items()):
        if key in hits:
            continue
        asset = key.split("|", 1)[1]
        if key in by_key.index:
            row = by_key.loc[key]
            why = (f"missing: {row['missing_reason']}" if isinstance(row["missing_reason"], str)
                   else f"not significant (z={row['abnormal_z']:.2f})")
        elif any(k.startswith(e["event_id"] + "|") for k in by_key.index):
            why = "article not linked to the asset"
        elif e["event_id"] in ingested_events:
            why = "its article was ingested but is no story's original (dedup merged it into another story?)"
        else:
            why = "no article of the event was ingested"
        misses.append({"event_id": e["event_id"], "at": e["at"], "kind": e["kind"], "asset_id": asset,
                       "effect_pct": e["effect_pct"], "why": why})
    false_positives = sorted(predicted - set(truth))

    return {
        "horizon": horizon,
        "days": days,
        "events": len(events),
        "truth_positives": len(truth),
        "untracked_positives": len(untracked),
        "predicted_positives": len(predicted),
        "true_positives": len(hits),
        "precision": round(len(hits) / len(predicted), 4) if predicted else None,
        "recall": round(len(hits) / len(truth), 4) if truth else None,
        "misses": misses,
        "false_positives": false_positives,
        "articles_matched": len(slug_of),
        "by_horizon": abnormal_by_horizon(gold, event_of, set(truth)),
        "by_window": abnormal_by_window(gold, event_of, set(truth)),
    }


def abnormal_by_horizon(gold: pd.DataFrame, event_of: dict[str, str | None], truth_keys: set[str]) -> list[dict]:
    """Mean abnormal return (signed and absolute), mean |z| and share significant, by horizon and group.

    Groups: ``event`` (rows that are truth positives), ``non-event`` (articles
    with no event behind them) and ``event, other link`` (the other rows of
    event articles, e.g. the market row of a one-coin event).
    """
    rows = gold[gold["missing_reason"].isna()].copy()
    if not len(rows):
        return []
    rows["_key"] = _event_keys(rows, event_of)
    has_event = rows["article_id"].map(lambda a: event_of.get(a) is not None)
    rows["group"] = np.where(rows["_key"].isin(truth_keys), "event", np.where(has_event, "event, other link", "non-event"))
    rows["_abs"] = rows["abnormal_return"].abs()
    rows["_absz"] = rows["abnormal_z"].abs()
    out = []
    for (minutes, horizon, group), part in rows.groupby(["horizon_minutes", "horizon", "group"], sort=True):
        out.append({
            "horizon": horizon, "horizon_minutes": int(minutes), "group": group, "rows": int(len(part)),
            "mean_abnormal_return": round(float(part["abnormal_return"].mean()), 6),
            "mean_abs_abnormal_return": round(float(part["_abs"].mean()), 6),
            "mean_abs_z": round(float(part["_absz"].mean()), 4),
            "share_significant": round(float(part["is_significant"].astype(bool).mean()), 4),
        })
    return out


def abnormal_by_window(gold: pd.DataFrame, event_of: dict[str, str | None], truth_keys: set[str]) -> list[dict]:
    """:func:`abnormal_by_horizon` with the event rows split by their window: ``event, clean`` (no other story on
    the asset inside the horizon, not a follow-up) vs ``event, confounded``; plus ``non-event``."""
    if not {"is_confounded", "is_follow_up"} <= set(gold.columns):
        return []
    rows = gold[gold["missing_reason"].isna()].copy()
    if not len(rows):
        return []
    keys = _event_keys(rows, event_of)
    has_event = rows["article_id"].map(lambda a: event_of.get(a) is not None)
    crowded = rows["is_confounded"].astype(bool) | rows["is_follow_up"].astype(bool)
    rows["group"] = np.where(keys.isin(truth_keys), np.where(crowded, "event, confounded", "event, clean"),
                             np.where(has_event, "event, other link", "non-event"))
    out = []
    for (minutes, horizon, group), part in rows.groupby(["horizon_minutes", "horizon", "group"], sort=True):
        out.append({"horizon": horizon, "horizon_minutes": int(minutes), "group": group, "rows": int(len(part)),
                    "mean_abs_abnormal_return": round(float(part["abnormal_return"].abs().mean()), 6),
                    "mean_abs_z": round(float(part["abnormal_z"].abs().mean()), 4),
                    "share_significant": round(float(part["is_significant"].astype(bool).mean()), 4)})
    return out
