"""The event study: for each story, what its assets and the market did over each horizon (pure).

Event time. A syndicated story counts once: its earliest copy (smallest
``published_at``, ties by ``article_id``) over the articles given, whatever
the stored ``is_original`` flag says, and that copy's ``published_at`` is
the event time ``t0``.

Returns are simple returns ``p(t0 + h) / p(t0) - 1`` of as-of prices (see
:mod:`newsmarkets.moves.prices`) within the horizon's staleness limit. The
price at publication is the last one observed *strictly before* ``t0``: a
price stamped at the very instant of publication may already carry the
reaction (the replay world's jumps land exactly on a grid point). The price
at the horizon is the last one at or before ``t0 + h``.

Model. Over the estimation window (``window_days`` before ``t0``) the
asset's and the benchmark's returns are taken on a regular grid of
``step_minutes`` (hourly by default: the resolution every backfilled day
has), ending at the last grid point strictly before ``t0``. With at least
``min_points`` paired returns, OLS gives ``alpha`` and ``beta`` (market
model) and the residual sigma per step (``n - 2`` degrees of freedom; recent
returns weigh more and outliers are capped when ``sigma_half_life_hours`` /
``sigma_clip`` say so, see :func:`residual_sigma`);
with fewer, ``beta = 1`` and ``alpha = 0`` (market-adjusted) and sigma is
the standard deviation of ``asset - market`` returns. Then::

    abnormal_return = asset_return - (alpha * steps + beta * market_return)
    abnormal_z      = abnormal_return / (sigma * sqrt(steps)),  steps = horizon / step

Rows about the market itself (``asset_id = 'market'``) use the benchmark's
own pre-event returns: ``abnormal_return = market_return - mean * steps``
and sigma their standard deviation (``mean_adjusted``; with fewer than
``min_points`` returns the mean is taken as 0: ``zero_mean``). Fewer than
two returns leave ``abnormal_z`` null with ``missing_reason`` ``estimation
window too thin``.

Testing many rows. ``p_value`` is the two-sided normal p of ``abnormal_z``;
``q_value`` the Benjamini-Hochberg adjusted p over the rows of the same UTC
day and horizon (the family one day's batch tests): among rows with
``q_value <= q``, about a share ``q`` are false discoveries when the model
holds; ``is_significant`` needs both ``|abnormal_z| >= significance_z``
and ``q_value <= significance_q``. Before publication. ``pre_publish_return`` is the row's return over
the ``pre_publish_minutes`` before the price at publication (the
benchmark's for ``market`` rows) and ``pre_publish_abnormal_return`` its
abnormal part under the same model: a move that started before the story
(a leak, or a story reporting the move) shows there instead of being
credited to the story. Dense news. Each row names its event cluster
(``event_id``, ``is_follow_up``) and whether another event on its asset
falls inside its horizon (``is_confounded``, ``confounding_article_id``);
see :mod:`newsmarkets.moves.attribution`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from newsmarkets.moves import MARKET
from newsmarkets.moves.attribution import cluster_events, confounders
from newsmarkets.moves.benchmark import Benchmark
from newsmarkets.moves.prices import (
    NOT_TRACKED,
    STATUS_NO_PRICES_YET,
    STATUS_OK,
    STATUS_TEXT,
    THIN_WINDOW,
    US_PER_MINUTE,
    PriceBook,
    from_us,
    to_us,
)

MODELS = ("market_model", "market_adjusted", "mean_adjusted", "zero_mean")
_MIN_SIGMA = 1e-12  # a residual sigma this small means a degenerate window, not certainty


class EventStudyError(ValueError):
    """Inputs the event study cannot use (names the frame and column)."""


@dataclass(frozen=True)
class StudyParams:
    horizons: dict[str, int]  # label -> minutes
    staleness_minutes: dict[str, int]  # label -> minutes
    window_days: int = 7
    step_minutes: int = 60
    min_points: int = 48
    significance_z: float = 1.96
    significance_q: float = 1.0  # 1: |z| alone decides
    benchmark: str = "cap_weighted"
    benchmark_excludes_asset: bool = False
    sigma_half_life_hours: float = 0.0  # 0: every return of the window weighs the same
    sigma_clip: float = 0.0  # 0: no cap on the window's deviations
    pre_publish_minutes: int = 60
    event_gap_minutes: int = 60

    @classmethod
    def from_config(cls, linking) -> "StudyParams":
        return cls(
            horizons=linking.horizon_minutes,
            staleness_minutes=dict(linking.staleness_minutes),
            window_days=linking.estimation_window_days,
            step_minutes=linking.estimation_step_minutes,
            min_points=linking.min_estimation_points,
            significance_z=linking.significance_z,
            significance_q=linking.significance_q,
            benchmark=linking.benchmark,
            benchmark_excludes_asset=linking.benchmark_excludes_asset,
            sigma_half_life_hours=linking.sigma_half_life_hours,
            sigma_clip=linking.sigma_clip,
            pre_publish_minutes=linking.pre_publish_minutes,
            event_gap_minutes=linking.event_gap_minutes,
        )

    @property
    def window_steps(self) -> int:
        return int(self.window_days * 1440 // self.step_minutes)

    @property
    def pre_publish_staleness_minutes(self) -> int:
        """The staleness limit of the horizon nearest in length to the pre-publication window."""
        nearest = min(self.horizons, key=lambda h: (abs(self.horizons[h] - self.pre_publish_minutes), self.horizons[h]))
        return self.staleness_minutes[nearest]


_erfc = np.frompyfunc(math.erfc, 1, 1)


def two_sided_p(z: np.ndarray) -> np.ndarray:
    """Two-sided standard-normal p-values of ``z`` (NaN stays NaN)."""
    z = np.asarray(z, dtype=float)
    out = np.full(z.shape, np.nan)
    ok = np.isfinite(z)
    out[ok] = _erfc(np.abs(z[ok]) / math.sqrt(2.0)).astype(float)
    return out


def bh_q_values(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of one family; NaN rows are not in the family."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if not len(ok):
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    scaled = p[order] * m / np.arange(1, m + 1)
    # p * m / m can round one ulp below p: an adjusted p is never below the raw one
    out[order] = np.maximum(np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0), p[order])
    return out


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EventStudyError(f"{what} frame is missing column(s) {', '.join(missing)} (has {', '.join(map(str, frame.columns))})")


def story_originals(articles: pd.DataFrame) -> pd.DataFrame:
    """The earliest copy of each story (``article_id``, ``story_id``, ``published_at`` and any other columns)."""
    _require(articles, ("article_id", "story_id", "published_at"), "articles")
    frame = articles.assign(published_at=pd.to_datetime(articles["published_at"], utc=True))
    frame = frame.sort_values(["story_id", "published_at", "article_id"], kind="stable")
    return frame.drop_duplicates("story_id", keep="first").reset_index(drop=True)


def event_rows(originals: pd.DataFrame, links: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """(article_id, story_id, asset_id, published_at) for originals published in [start, end).

    One row per linked asset and one ``market`` row per original, so news
    naming no coin still reaches the market.
    """
    _require(links, ("article_id", "asset_id"), "article_assets")
    published = pd.to_datetime(originals["published_at"], utc=True)
    chosen = originals.loc[(published >= pd.Timestamp(start)) & (published < pd.Timestamp(end)),
                           ["article_id", "story_id", "published_at"]]
    linked = chosen.merge(links[["article_id", "asset_id"]].drop_duplicates(), on="article_id", how="inner")
    linked = linked.assign(asset_id=linked["asset_id"].astype(str))
    out = pd.concat([linked[linked["asset_id"] != MARKET], chosen.assign(asset_id=MARKET)], ignore_index=True)
    return out.sort_values(["article_id", "asset_id"], ignore_index=True)[["article_id", "story_id", "asset_id", "published_at"]]


@dataclass(frozen=True)
class Estimates:
    alpha: np.ndarray
    beta: np.ndarray
    sigma: np.ndarray  # residual sigma per step (NaN: cannot be estimated)
    points: np.ndarray  # int64
    model: np.ndarray  # object: one of MODELS


def grid_returns(book: PriceBook, bench: Benchmark, codes: np.ndarray, grid_us: np.ndarray,
                 step_us: int) -> tuple[np.ndarray, np.ndarray]:
    """Simple returns between consecutive grid points: (assets x len(grid)-1, benchmark len(grid)-1)."""
    n_grid = len(grid_us)
    if n_grid < 2:
        return np.empty((len(codes), 0)), np.empty(0)
    looked = book.asof(np.repeat(codes, n_grid), np.tile(grid_us, len(codes)), step_us)
    prices = looked.price.reshape(len(codes), n_grid)
    with np.errstate(invalid="ignore", divide="ignore"):
        asset = prices[:, 1:] / prices[:, :-1] - 1.0
    market = bench.spans(grid_us[:-1], grid_us[1:], step_us).ret
    return asset, market


def residual_sigma(dev: np.ndarray, paired: np.ndarray, dof: np.ndarray, *, half_life_steps: float = 0.0,
                   clip: float = 0.0) -> np.ndarray:
    """Per-row sigma of deviations (rows x window, oldest first; ``paired`` marks the real ones).

    ``half_life_steps`` > 0 weighs each deviation by ``0.5 ** (age / half_life)``, so a calmer or
    wilder regime shows within hours instead of after the whole window; the divisor uses the
    weights' effective sample size less ``dof``. ``clip`` > 0 caps deviations at that many robust
    sigmas (1.4826 x median absolute deviation) first, so an earlier event's jump in the window
    does not inflate the sigma of every story after it. Both 0: ``sqrt(sum dev^2 / (n - dof))``.
    """
    k = dev.shape[1]
    weights = (0.5 ** ((k - 1 - np.arange(k)) / half_life_steps) if half_life_steps > 0 else np.ones(k))
    w = np.where(paired, weights[None, :], 0.0)
    if clip > 0 and dev.size:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows without any paired return
            mad = np.nanmedian(np.where(paired, np.abs(dev), np.nan), axis=1)
        cap = clip * 1.4826 * np.where(np.isfinite(mad), mad, 0.0)
        dev = np.clip(dev, -cap[:, None], cap[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        total = w.sum(axis=1)
        n_eff = total * total / (w * w).sum(axis=1)
        return np.sqrt((w * dev * dev).sum(axis=1) / total * n_eff / (n_eff - dof))


def estimate(asset_returns: np.ndarray, market_returns: np.ndarray, is_market: np.ndarray,
             min_points: int, *, half_life_steps: float = 0.0, clip: float = 0.0) -> Estimates:
    """Per-row model over paired returns (rows x window; NaN = missing), vectorised over rows.

    ``half_life_steps`` and ``clip``: how the sigma weighs and caps the window (see :func:`residual_sigma`).
    """
    rows = asset_returns.shape[0]
    ra = np.where(is_market[:, None], market_returns, asset_returns)
    rm = market_returns
    paired = np.isfinite(ra) & np.isfinite(rm)
    n = paired.sum(axis=1)
    safe_n = np.maximum(n, 1)
    ra0, rm0 = np.where(paired, ra, 0.0), np.where(paired, rm, 0.0)
    mean_a, mean_m = ra0.sum(axis=1) / safe_n, rm0.sum(axis=1) / safe_n
    da = np.where(paired, ra - mean_a[:, None], 0.0)
    dm = np.where(paired, rm - mean_m[:, None], 0.0)
    var_m = (dm * dm).sum(axis=1)
    cov = (da * dm).sum(axis=1)
    enough = n >= min_points
    ols = enough & (var_m > 0) & ~is_market
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.where(ols, cov / np.where(var_m > 0, var_m, 1.0), 1.0)
        alpha = np.where(ols, mean_a - beta * mean_m, 0.0)
        resid = np.where(paired, ra - alpha[:, None] - beta[:, None] * rm, 0.0)
        # market-adjusted: the spread asset - market; market rows: the market's own returns
        spread = np.where(paired, np.where(is_market[:, None], ra, ra - rm), 0.0)
        spread_mean = spread.sum(axis=1) / safe_n
        spread_dev = np.where(paired, spread - spread_mean[:, None], 0.0)
    sigma = residual_sigma(np.where(ols[:, None], resid, spread_dev), paired, np.where(ols, 2, 1),
                           half_life_steps=half_life_steps, clip=clip)
    sigma = np.where((n >= 2) & np.isfinite(sigma) & (sigma > _MIN_SIGMA), sigma, np.nan)
    market_mean = np.where(enough, spread_mean, 0.0)
    model = np.where(is_market, np.where(enough, "mean_adjusted", "zero_mean"),
                     np.where(ols, "market_model", "market_adjusted")).astype(object)
    return Estimates(
        alpha=np.where(is_market, market_mean, alpha),  # market rows: the mean per step (not published as alpha)
        beta=np.where(is_market, np.nan, beta),
        sigma=sigma,
        points=n.astype(np.int64) if rows else np.zeros(0, dtype=np.int64),
        model=model,
    )


OUTPUT_COLUMNS = [
    "article_id", "story_id", "asset_id", "published_at", "horizon", "horizon_minutes", "horizon_end_at",
    "price_at_publish_usd", "price_at_horizon_usd", "asset_return", "market_return", "abnormal_return",
    "abnormal_z", "p_value", "q_value", "is_significant", "is_settled", "pre_publish_return",
    "pre_publish_abnormal_return", "event_id", "is_follow_up", "is_confounded", "confounding_article_id",
    "price_gap_minutes", "missing_reason", "alpha", "beta",
    "residual_sigma", "estimation_points", "model", "benchmark", "computed_at",
]


def _empty(computed_at: datetime) -> pd.DataFrame:
    ts = "datetime64[us, UTC]"
    dtypes = {"published_at": ts, "horizon_end_at": ts, "computed_at": ts, "horizon_minutes": "int64",
              "estimation_points": "int64", "is_significant": bool, "is_settled": bool, "is_follow_up": bool,
              "is_confounded": bool}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64" if c not in (
        "article_id", "story_id", "asset_id", "horizon", "missing_reason", "model", "benchmark", "event_id",
        "confounding_article_id") else object))
        for c in OUTPUT_COLUMNS})


def compute_moves(events: pd.DataFrame, book: PriceBook, bench: Benchmark, params: StudyParams,
                  *, tracked_assets: set[str] | frozenset[str], computed_at: datetime,
                  context: pd.DataFrame | None = None) -> pd.DataFrame:
    """``news_market_moves`` rows for ``events`` (see :func:`event_rows`): one per event and horizon.

    ``context`` are the events around them (the same columns; default:
    ``events`` alone): the stories that form event clusters with them or
    confound their horizons (:mod:`newsmarkets.moves.attribution`).
    """
    _require(events, ("article_id", "story_id", "asset_id", "published_at"), "events")
    unknown = [h for h in params.horizons if h not in params.staleness_minutes]
    if unknown:
        raise EventStudyError(f"horizon {unknown[0]!r} has no staleness limit")
    if not len(events):
        return _empty(computed_at)
    asset_ids = events["asset_id"].astype(str).to_numpy()
    is_market = asset_ids == MARKET
    codes = np.where(is_market, -1, book.asset_codes(asset_ids))
    t0 = to_us(events["published_at"])
    step_us = params.step_minutes * US_PER_MINUTE

    # Estimation: one grid for all events, returns gathered per event window.
    k_steps = params.window_steps
    before = t0 - 1  # one microsecond: "strictly before publication"
    grid_end = (before // step_us) * step_us
    first = int(grid_end.min()) - k_steps * step_us
    grid = np.arange(first, int(grid_end.max()) + step_us, step_us, dtype=np.int64)
    unique_codes, which = np.unique(np.maximum(codes, -1), return_inverse=True)
    loo = params.benchmark_excludes_asset
    # each row's benchmark: without its own asset when configured (market rows: the whole benchmark)
    exclude = np.where(is_market, -1, codes) if loo else None
    asset_grid, market_grid = grid_returns(book, bench, np.maximum(unique_codes, 0), grid, step_us)
    asset_grid[unique_codes < 0] = np.nan  # unknown assets (and market rows) have no asset series
    end_pos = ((grid_end - first) // step_us).astype(np.int64)  # grid index of each event's window end
    window = end_pos[:, None] - k_steps + np.arange(k_steps)[None, :]  # return l ends at grid[l + 1]
    if loo:
        own_market = bench.returns_excluding(grid[:-1], grid[1:], step_us, unique_codes)
        market_window = own_market[which[:, None], window]
    else:
        market_window = market_grid[window]
    est = estimate(asset_grid[which[:, None], window], market_window, is_market, params.min_points,
                   half_life_steps=params.sigma_half_life_hours * 60 / params.step_minutes, clip=params.sigma_clip)

    # Before publication: from the last price before t0 - pre to the price at publication.
    pre_limit_us = params.pre_publish_staleness_minutes * US_PER_MINUTE
    pre_start = before - params.pre_publish_minutes * US_PER_MINUTE
    pre_steps = params.pre_publish_minutes / params.step_minutes
    at_pre, at_pub = book.asof(codes, pre_start, pre_limit_us), book.asof(codes, before, pre_limit_us)
    mkt_pre = bench.spans(pre_start, before, pre_limit_us, exclude)
    with np.errstate(invalid="ignore", divide="ignore"):
        pre_ok = (at_pre.status == STATUS_OK) & (at_pub.status == STATUS_OK)
        pre_asset = np.where(pre_ok, at_pub.price / at_pre.price - 1.0, np.nan)
        pre_mkt = np.where(mkt_pre.status == STATUS_OK, mkt_pre.ret, np.nan)
        pre_return = np.where(is_market, pre_mkt, pre_asset)
        pre_abnormal = np.where(is_market, pre_mkt - est.alpha * pre_steps,
                                pre_asset - (est.alpha * pre_steps + est.beta * pre_mkt))
    pre_return = np.where(np.isfinite(pre_return), pre_return, np.nan)
    pre_abnormal = np.where(np.isfinite(pre_abnormal) & np.isfinite(est.sigma), pre_abnormal, np.nan)

    frames = []
    for label, minutes in params.horizons.items():
        limit_us = params.staleness_minutes[label] * US_PER_MINUTE
        th = t0 + minutes * US_PER_MINUTE
        steps = minutes / params.step_minutes
        at0 = book.asof(codes, before, limit_us)
        ath = book.asof(codes, th, limit_us)
        mkt = bench.spans(before, th, limit_us, exclude)
        p0 = np.where(is_market, mkt.start_value, at0.price)
        ph = np.where(is_market, mkt.end_value, ath.price)
        with np.errstate(invalid="ignore", divide="ignore"):
            asset_ret = np.where(is_market, mkt.ret, ph / p0 - 1.0)
            abnormal = np.where(is_market, mkt.ret - est.alpha * steps,
                                asset_ret - (est.alpha * steps + est.beta * mkt.ret))
            z = abnormal / (est.sigma * np.sqrt(steps))

        price_status = np.where(is_market, mkt.status, np.maximum(at0.status, ath.status))
        status = np.where(np.maximum(price_status, mkt.status) == STATUS_NO_PRICES_YET, STATUS_NO_PRICES_YET,
                          np.where(price_status != STATUS_OK, price_status, mkt.status))
        reason = np.array([STATUS_TEXT[int(s)] for s in range(4)], dtype=object)[status]
        thin = (status == STATUS_OK) & ~np.isfinite(est.sigma)
        reason[thin] = THIN_WINDOW
        untracked = ~is_market & (codes < 0) & ~np.isin(asset_ids, list(tracked_assets))
        reason[untracked] = NOT_TRACKED
        settled = ~((status == STATUS_NO_PRICES_YET) & ~untracked)
        z = np.where(np.isfinite(z), z, np.nan)
        significant = (reason == None) & (np.abs(np.nan_to_num(z)) >= params.significance_z)  # noqa: E711

        stale = np.where(is_market, mkt.stale_us, np.maximum(np.maximum(at0.stale_us, ath.stale_us), mkt.stale_us))
        frames.append(pd.DataFrame({
            "article_id": events["article_id"].astype(str).to_numpy(),
            "story_id": events["story_id"].astype(str).to_numpy(),
            "asset_id": asset_ids,
            "published_at": from_us(t0).to_numpy(),
            "horizon": label,
            "horizon_minutes": np.full(len(t0), minutes, dtype=np.int64),
            "horizon_end_at": from_us(th).to_numpy(),
            "price_at_publish_usd": p0,
            "price_at_horizon_usd": ph,
            "asset_return": asset_ret,
            "market_return": mkt.ret,
            "abnormal_return": abnormal,
            "abnormal_z": z,
            "is_significant": significant,
            "is_settled": settled,
            "pre_publish_return": pre_return,
            "pre_publish_abnormal_return": pre_abnormal,
            "price_gap_minutes": np.where(stale >= 0, stale / US_PER_MINUTE, np.nan),
            "missing_reason": reason,
            "alpha": np.where(is_market, np.nan, est.alpha),
            "beta": est.beta,
            "residual_sigma": est.sigma,
            "estimation_points": est.points,
            "model": est.model,
            "benchmark": params.benchmark,
        }))
    out = pd.concat(frames, ignore_index=True)
    out["published_at"] = pd.to_datetime(out["published_at"], utc=True).astype("datetime64[us, UTC]")
    out["horizon_end_at"] = pd.to_datetime(out["horizon_end_at"], utc=True).astype("datetime64[us, UTC]")
    out["computed_at"] = pd.Timestamp(computed_at).tz_convert("UTC")
    out["computed_at"] = out["computed_at"].astype("datetime64[us, UTC]")
    # Where a price is missing nothing derived from it may look computed.
    gone = out["missing_reason"].notna() & (out["missing_reason"] != THIN_WINDOW)
    out.loc[gone, ["abnormal_return", "abnormal_z"]] = np.nan
    out["missing_reason"] = out["missing_reason"].astype(object).where(out["missing_reason"].notna(), None)
    clusters = cluster_events(pd.concat([events, context]) if context is not None else events,
                              params.event_gap_minutes)
    out = out.merge(clusters[["article_id", "asset_id", "event_id", "is_follow_up"]], on=["article_id", "asset_id"],
                    how="left", validate="many_to_one")
    out["confounding_article_id"] = confounders(out, clusters)
    out["is_confounded"] = out["confounding_article_id"].notna()
    out["is_follow_up"] = out["is_follow_up"].astype(bool)
    out["p_value"] = two_sided_p(out["abnormal_z"].to_numpy(dtype=float))
    out["q_value"] = np.nan
    day = out["published_at"].dt.strftime("%Y-%m-%d")
    for _, rows in out.groupby([day, out["horizon"]], sort=False).groups.items():
        out.loc[rows, "q_value"] = bh_q_values(out.loc[rows, "p_value"].to_numpy(dtype=float))
    # significant: past the z threshold and kept by Benjamini-Hochberg at the configured level
    out["is_significant"] = out["is_significant"].astype(bool) & (out["q_value"].fillna(1.0) <= params.significance_q)
    order = {h: i for i, h in enumerate(params.horizons)}
    out = out.sort_values(["article_id", "asset_id", "horizon"], key=lambda s: s.map(order) if s.name == "horizon" else s)
    return out.reset_index(drop=True)[OUTPUT_COLUMNS]
