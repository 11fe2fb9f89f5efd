"""Is a "significant" row of news_market_moves right when news is dense? Precision and recall by volume.

Replay worlds with known ground truth (``newsmarkets.replay.shape``): the
demo's small world (20 assets, about a dozen stories a day, 3-8 % jumps at
the minute of the report), a six-coin world (a tracked set bitcoin
dominates), and 250-coin worlds of about 137, 337 and 1,037 stories a day
with realistic events (30 a day, 1-3 % moves spread over 15 minutes and
starting up to 10 minutes before the report, one volatile day in three,
bursts of follow-up stories). Each world is run through the real event study
(:func:`newsmarkets.moves.event_study.compute_moves` with the bundled
config's linking settings and the whole world tracked), with the news
world's own asset links, so only the significance rule is measured, not
extraction or linking. Scored with :func:`newsmarkets.moves.recovery.recovery`
at 1h, side by side in one run:

* ``|z| >= 1.96``: the old ``is_significant`` (with the configured benchmark);
* ``q <= 0.05``: Benjamini-Hochberg per day and horizon (the ``q_value``
  column); with ``|z| >= 1.96`` this is today's ``is_significant``
  (``linking.significance_q``);
* ``q <= 0.05, clean``: and neither confounded (``is_confounded``) nor a follow-up.

``z spread (clean)``: the standard deviation of ``abnormal_z`` over asset
rows with no true event on the asset (or the market) from 15 minutes before
the report to the horizon's end; a calibrated model gives about 1.

Second table, the benchmark behind each abnormal return (issue 14, item 3),
every world run once per choice: the cap-weighted index of every tracked
asset (the old default), the same without the row's own asset
(``linking.benchmark_excludes_asset``), and equal-weighted and median
indexes without it (the median is the default). ``spill-over`` counts
significant rows (|z| >= 1.96) on a coin with no event of its own while
another coin's event lands inside the row's window: another coin's jump seen
through the benchmark. ``bitcoin recall``: bitcoin's own events recovered
(the coin that dominates a cap-weighted index).

Third table, the residual sigma behind each z (issue 14, item 4), with the
default benchmark: the whole 7-day window weighing alike (the old
estimator), recent returns weighing more (``linking.sigma_half_life_hours``)
and deviations capped at a few robust sigmas (``linking.sigma_clip``).
The z spread on clean rows is given per day: the dense worlds' third day is
twice as volatile as the two before (``volatility_by_day``), which a whole
window of calm days cannot know.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "bench_significance.json"
START, DAYS, SEED = "2026-01-05", 3, 20260105
HORIZON = "1h"
Q_LEVEL = 0.05


def worlds():
    from newsmarkets.replay.shape import WorldShape, scaled

    return [("demo: 20 assets, default shape", 20, WorldShape()),
            ("6 assets, default shape", 6, WorldShape()),
            ("250 assets, ~137 stories/day", 250, scaled(137)),
            ("250 assets, ~337 stories/day", 250, scaled(337)),
            ("250 assets, ~1,037 stories/day", 250, scaled(1037))]


def price_frame(world) -> pd.DataFrame:
    parts = []
    first, end = world.first_at.timestamp(), world.end_at.timestamp()
    for asset_id in world.asset_ids:
        ts, price, cap, _ = world.arrays(asset_id, first, end)
        parts.append(pd.DataFrame({"asset_id": asset_id, "observed_at": pd.to_datetime(ts, unit="s", utc=True),
                                   "price_usd": price, "market_cap_usd": cap, "source": "markets"}))
    return pd.concat(parts, ignore_index=True)


def news_frames(news) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(articles with article_id/story_id/published_at/url, links article_id/asset_id) from the news truth."""
    articles = pd.DataFrame([{"article_id": a.slug, "story_id": a.story_key, "published_at": a.published_at,
                              "url": "http://replay" + a.path} for a in news.articles])
    links = pd.DataFrame([{"article_id": a.slug, "asset_id": x} for a in news.articles for x in a.asset_ids],
                         columns=["article_id", "asset_id"])
    return articles, links


def clean_z_spread(rows: pd.DataFrame, market_truth: dict) -> tuple[float | None, int]:
    """Std of abnormal_z over asset rows with no true event on their asset (or the market) in their window."""
    from newsmarkets.moves import MARKET

    events = [(pd.Timestamp(e["at"]), e["kind"], set(e["asset_ids"])) for e in market_truth["events"]]
    keep = []
    for asset, t0, minutes, z in zip(rows["asset_id"], pd.to_datetime(rows["published_at"], utc=True),
                                     rows["horizon_minutes"], rows["abnormal_z"]):
        if asset == MARKET or not np.isfinite(z):
            continue
        lo, hi = t0 - timedelta(minutes=15), t0 + timedelta(minutes=int(minutes))
        if any(lo <= at <= hi and (kind == "market" or asset in ids) for at, kind, ids in events):
            continue
        keep.append(z)
    return (round(float(np.std(keep)), 3) if len(keep) > 1 else None), len(keep)


SIGMAS = [("whole window alike (the old estimator)", 0.0, 0.0), ("half-life 6 h", 6.0, 0.0),
          ("half-life 6 h, clipped at 4 robust sigmas (default)", 6.0, 4.0),
          ("half-life 3 h, clipped at 4", 3.0, 4.0), ("half-life 12 h, clipped at 4", 12.0, 4.0)]
BENCHMARKS = [("cap-weighted (the old default)", "cap_weighted", False),
              ("cap-weighted, without the asset", "cap_weighted", True),
              ("equal-weighted, without the asset", "equal_weighted", True),
              ("median, without the asset (default)", "median", True)]


def gold_rows(world, book, originals, links, params) -> pd.DataFrame:
    """news_market_moves rows of every day of ``world`` under ``params``."""
    from datetime import datetime, timezone

    from newsmarkets.moves.benchmark import Benchmark
    from newsmarkets.moves.event_study import compute_moves, event_rows

    bench = Benchmark(book, params.benchmark, world.asset_ids)
    gold = []
    for day in range(DAYS):
        start = world.start_at + timedelta(days=day)
        events = event_rows(originals, links, start, start + timedelta(days=1))
        context = event_rows(originals, links, start - timedelta(minutes=params.event_gap_minutes),
                             start + timedelta(days=1))
        rows = compute_moves(events, book, bench, params, tracked_assets=frozenset(world.asset_ids),
                             computed_at=datetime.now(timezone.utc), context=context)
        gold.append(rows.assign(dt=start.strftime("%Y-%m-%d")))
    return pd.concat(gold, ignore_index=True)


def by_z(rows: pd.DataFrame) -> pd.Series:
    """The old rule: a computed row with |abnormal_z| >= 1.96, whatever its q-value."""
    return rows["missing_reason"].isna() & (rows["abnormal_z"].abs().fillna(0) >= 1.96)


def spill_over(rows: pd.DataFrame, market_truth: dict) -> int:
    """Significant asset rows with no event of their own but another coin's event inside their window."""
    from newsmarkets.moves import MARKET

    events = [(pd.Timestamp(e["at"]), set(e["asset_ids"])) for e in market_truth["events"] if e["kind"] == "asset"]
    market_events = [pd.Timestamp(e["at"]) for e in market_truth["events"] if e["kind"] == "market"]
    count = 0
    picked = rows[by_z(rows) & (rows["asset_id"] != MARKET)]
    for asset, t0, minutes in zip(picked["asset_id"], pd.to_datetime(picked["published_at"], utc=True),
                                  picked["horizon_minutes"]):
        lo, hi = t0 - timedelta(minutes=15), t0 + timedelta(minutes=int(minutes))
        inside = [ids for at, ids in events if lo <= at <= hi]
        if any(asset in ids for ids in inside) or any(lo <= at <= hi for at in market_events):
            continue
        count += bool(inside)
    return count


def score_rules(rows: pd.DataFrame, articles: pd.DataFrame, market_truth: dict, news_truth: dict,
                assets: set[str]) -> dict:
    """Precision and recall at 1h of the old rule (|z|) and of today's (q)."""
    from newsmarkets.moves.recovery import recovery

    out = {}
    for rule, flag in (("|z| >= 1.96", by_z(rows)), (f"q <= {Q_LEVEL}", rows["q_value"].fillna(1.0) <= Q_LEVEL)):
        r = recovery(rows.assign(is_significant=flag), articles, market_truth, news_truth, horizon=HORIZON,
                     assets=assets)
        out[rule] = {"precision": r["precision"], "recall": r["recall"]}
    return out


def run_world(label: str, n_assets: int, shape) -> dict:
    from dataclasses import replace

    from newsmarkets.config import load_config
    from newsmarkets.moves.event_study import StudyParams, story_originals
    from newsmarkets.moves.prices import PriceBook
    from newsmarkets.moves.recovery import recovery
    from newsmarkets.replay.news_world import NewsWorld
    from newsmarkets.replay.world import MarketWorld

    world = MarketWorld.generate(START, DAYS, SEED, n_assets=n_assets, shape=shape)
    news = NewsWorld.generate(world, seed=world.seed)
    market_truth, news_truth = world.truth(), news.truth()
    articles, links = news_frames(news)
    params = StudyParams.from_config(load_config(None).linking)
    book = PriceBook(price_frame(world))
    originals = story_originals(articles)
    started = time.perf_counter()
    gold = gold_rows(world, book, originals, links, params)
    compute_s = time.perf_counter() - started
    at_h = gold[gold["horizon"] == HORIZON]
    q_ok = gold["q_value"].fillna(1.0) <= Q_LEVEL
    clean = ~gold["is_confounded"].astype(bool) & ~gold["is_follow_up"].astype(bool)
    rules = {"|z| >= 1.96": by_z(gold), f"q <= {Q_LEVEL}": q_ok,
             f"q <= {Q_LEVEL}, clean": q_ok & clean}
    scored = {}
    for name, flag in rules.items():
        r = recovery(gold.assign(is_significant=flag), articles, market_truth, news_truth, horizon=HORIZON,
                     assets=set(world.asset_ids))
        scored[name] = {k: r[k] for k in ("precision", "recall", "predicted_positives", "true_positives",
                                          "truth_positives")}
    spread, clean_rows = clean_z_spread(at_h, market_truth)
    benchmarks = {}
    for name, kind, loo in BENCHMARKS:
        rows = gold_rows(world, book, originals, links, replace(params, benchmark=kind, benchmark_excludes_asset=loo))
        by_rule = score_rules(rows, articles, market_truth, news_truth, set(world.asset_ids))
        one_h = rows[rows["horizon"] == HORIZON]
        btc_truth = [m for m in recovery(rows, articles, market_truth, news_truth, horizon=HORIZON,
                                         assets=set(world.asset_ids))["misses"] if m["asset_id"] == "bitcoin"]
        btc_events = sum(1 for e in market_truth["events"] if e["kind"] == "asset" and "bitcoin" in e["asset_ids"])
        benchmarks[name] = {"rules": by_rule, "spill_over_1h": spill_over(one_h, market_truth),
                            "bitcoin_events": btc_events, "bitcoin_missed": len(btc_truth),
                            "z_spread_clean_1h": clean_z_spread(one_h, market_truth)[0]}
    sigmas = {}
    for name, half_life, clip in SIGMAS:
        rows = gold_rows(world, book, originals, links, replace(params, sigma_half_life_hours=half_life,
                                                                  sigma_clip=clip))
        by_rule = score_rules(rows, articles, market_truth, news_truth, set(world.asset_ids))
        one_h = rows[rows["horizon"] == HORIZON]
        sigmas[name] = {"rules": by_rule, "z_spread_clean_1h_by_day": [
            clean_z_spread(part, market_truth)[0] for _, part in one_h.groupby("dt")]}
    stories = int(originals["published_at"].between(world.start_at, world.end_at, inclusive="left").sum())
    return {"world": label, "assets": n_assets, "stories_per_day": round(stories / DAYS), "events": len(
        market_truth["events"]), "rows_1h": int(len(at_h)),
            "confounded_asset_share_1h": round(float(at_h.loc[at_h["asset_id"] != "market", "is_confounded"].mean()), 3),
            "z_spread_clean_1h": spread, "clean_rows_1h": clean_rows, "rules": scored, "benchmarks": benchmarks,
            "sigmas": sigmas,
            "compute_s": round(compute_s, 2), "shape": shape.to_dict()}


def run() -> dict:
    out = []
    for label, n_assets, shape in worlds():
        print(f"  significance: {label} ...", file=sys.stderr, flush=True)
        out.append(run_world(label, n_assets, shape))
    return {"horizon": HORIZON, "days": DAYS, "seed": SEED, "worlds": out}


def markdown(result: dict) -> str:
    rules = list(result["worlds"][0]["rules"])
    head = "| world | stories/day | asset rows confounded | z spread, clean rows | " + " | ".join(
        f"{r}: P / R" for r in rules) + " |"
    lines = [f"Replay worlds of {result['days']} days (seed {result['seed']}), horizon {result['horizon']}, the "
             "news world's own links, the real event study with the bundled config; precision/recall of "
             "significant rows against the injected events (recovery()).", "", head,
             "|" + "---|" * (4 + len(rules))]
    for w in result["worlds"]:
        cells = [f"{w['rules'][r]['precision']:.2f} / {w['rules'][r]['recall']:.2f}"
                 if w["rules"][r]["precision"] is not None else "- / -" for r in rules]
        lines.append(f"| {w['world']} | {w['stories_per_day']} | {w['confounded_asset_share_1h']:.0%} | "
                     f"{w['z_spread_clean_1h']} ({w['clean_rows_1h']} rows) | " + " | ".join(cells) + " |")
    lines += ["", "The benchmark behind the abnormal return, same worlds (P / R at 1h; spill-over: significant rows "
              "on a coin without news of its own while another coin's event is in the window):", "",
              "| world | benchmark | \\|z\\| >= 1.96: P / R | q <= 0.05: P / R | spill-over rows | bitcoin events "
              "recovered | z spread, clean |", "|---|---|---|---|---|---|---|"]
    for w in result["worlds"]:
        for name, b in w["benchmarks"].items():
            cells = [f"{b['rules'][r]['precision']:.2f} / {b['rules'][r]['recall']:.2f}"
                     if b["rules"][r]["precision"] is not None else "- / -" for r in b["rules"]]
            btc = (f"{b['bitcoin_events'] - b['bitcoin_missed']} of {b['bitcoin_events']}" if b["bitcoin_events"]
                   else "-")
            lines.append(f"| {w['world']} | {name} | " + " | ".join(cells)
                         + f" | {b['spill_over_1h']} | {btc} | {b['z_spread_clean_1h']} |")
    lines += ["", "The residual sigma behind z, same worlds, default benchmark (z spread on clean rows per day; the "
              "dense worlds' third day is twice as volatile; a calibrated sigma gives about 1 every day):", "",
              "| world | sigma | z spread by day | \\|z\\| >= 1.96: P / R | q <= 0.05: P / R |", "|---|---|---|---|---|"]
    for w in result["worlds"]:
        for name, g in w["sigmas"].items():
            cells = [f"{g['rules'][r]['precision']:.2f} / {g['rules'][r]['recall']:.2f}"
                     if g["rules"][r]["precision"] is not None else "- / -" for r in g["rules"]]
            spreads = ", ".join("-" if v is None else f"{v:.2f}" for v in g["z_spread_clean_1h_by_day"])
            lines.append(f"| {w['world']} | {name} | {spreads} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    result = run()
    RESULTS.write_text(json.dumps(result, indent=2))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
