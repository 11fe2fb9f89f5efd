"""Recovery scoring against a hand-written truth."""

from __future__ import annotations

import pandas as pd
import pytest

from newsmarkets.moves import MARKET
from newsmarkets.moves.recovery import RecoveryError, article_slugs, recovery

MARKET_TRUTH = {"events": [
    {"event_id": "ev-1", "at": "2026-01-05T10:00:00Z", "kind": "asset", "asset_ids": ["solana"], "effect_pct": 5.0},
    {"event_id": "ev-2", "at": "2026-01-05T14:00:00Z", "kind": "market", "asset_ids": ["bitcoin", "solana"],
     "effect_pct": -4.0},
    {"event_id": "ev-3", "at": "2026-01-05T18:00:00Z", "kind": "asset", "asset_ids": ["ripple", "near"],
     "effect_pct": 6.0},
    {"event_id": "ev-9", "at": "2026-01-09T10:00:00Z", "kind": "asset", "asset_ids": ["near"], "effect_pct": 6.0},
]}
NEWS_TRUTH = {"articles": [
    {"slug": "sol-up-aa", "event_id": "ev-1"},
    {"slug": "sol-up-copy-bb", "event_id": "ev-1"},
    {"slug": "fed-cc", "event_id": "ev-2"},
    {"slug": "xrp-dd", "event_id": "ev-3"},
    {"slug": "note-ee", "event_id": None},
]}
ARTICLES = pd.DataFrame({
    "article_id": ["a1", "a2", "a3", "a4", "a5"],
    "url": ["https://c.example/2026/01/05/sol-up-aa/", "https://l.example/news/sol-up-copy-bb",
            "https://m.example/markets/fed-cc.html", "https://g.example/wire/2026-01-05/xrp-dd",
            "https://c.example/2026/01/05/note-ee/"],
})


def gold_rows(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["article_id", "asset_id", "horizon", "abnormal_z", "missing_reason"])
    frame["abnormal_z"] = frame["abnormal_z"].astype(float)
    frame["horizon_minutes"] = frame["horizon"].map({"1h": 60, "4h": 240})
    frame["is_significant"] = frame["abnormal_z"].abs().fillna(0) >= 1.96
    frame["abnormal_return"] = frame["abnormal_z"] / 100
    frame["dt"] = "2026-01-05"
    return frame


def test_slugs_are_found_on_every_url_shape():
    assert article_slugs(ARTICLES, {a["slug"] for a in NEWS_TRUTH["articles"]}) == {
        "a1": "sol-up-aa", "a2": "sol-up-copy-bb", "a3": "fed-cc", "a4": "xrp-dd", "a5": "note-ee"}


def test_precision_recall_and_misses_by_hand():
    gold = gold_rows([
        ("a2", "solana", "1h", 5.0, None),  # the pipeline's original is a copy: still ev-1, a hit
        ("a2", MARKET, "1h", 0.5, None),
        ("a3", MARKET, "1h", -4.0, None),  # hit
        ("a3", "bitcoin", "1h", 0.2, None),
        ("a4", "ripple", "1h", 1.0, None),  # miss: not significant
        ("a4", MARKET, "1h", None, "gap"),
        ("a5", "near", "1h", 2.5, None),  # false positive
        ("a5", MARKET, "1h", 0.1, None),
        ("a2", "solana", "4h", 3.0, None),
    ])
    out = recovery(gold, ARTICLES, MARKET_TRUTH, NEWS_TRUTH, horizon="1h")
    assert out["events"] == 3  # ev-9 is outside the linked day
    assert (out["truth_positives"], out["predicted_positives"], out["true_positives"]) == (4, 3, 2)
    assert out["precision"] == pytest.approx(2 / 3, abs=1e-4) and out["recall"] == pytest.approx(2 / 4)
    whys = {(m["event_id"], m["asset_id"]): m["why"] for m in out["misses"]}
    assert whys == {("ev-3", "ripple"): "not significant (z=1.00)", ("ev-3", "near"): "article not linked to the asset"}
    assert out["false_positives"] == ["article:a5|near"]
    groups = {(g["horizon"], g["group"]): g for g in out["by_horizon"]}
    assert groups[("1h", "event")]["rows"] == 3 and groups[("1h", "non-event")]["rows"] == 2
    assert groups[("1h", "event")]["mean_abs_abnormal_return"] == pytest.approx((0.05 + 0.04 + 0.01) / 3, abs=1e-6)
    assert groups[("4h", "event")]["share_significant"] == 1.0


def test_untracked_assets_are_left_out_of_the_truth():
    gold = gold_rows([("a2", "solana", "1h", 5.0, None), ("a3", MARKET, "1h", -4.0, None),
                      ("a4", "ripple", "1h", 3.0, None)])
    out = recovery(gold, ARTICLES, MARKET_TRUTH, NEWS_TRUTH, assets={"solana", "ripple", "bitcoin"})
    assert (out["truth_positives"], out["untracked_positives"], out["recall"]) == (3, 1, 1.0)
    # without the list, rows that say "asset not tracked" are the evidence
    gold = pd.concat([gold, gold_rows([("a4", "near", "1h", None, "asset not tracked")])], ignore_index=True)
    inferred = recovery(gold, ARTICLES, MARKET_TRUTH, NEWS_TRUTH)
    assert (inferred["truth_positives"], inferred["untracked_positives"]) == (3, 1)


def test_bad_input_is_named():
    with pytest.raises(RecoveryError, match="is_significant"):
        recovery(gold_rows([]).drop(columns=["is_significant"]), ARTICLES, MARKET_TRUTH, NEWS_TRUTH)


def test_event_rows_are_split_by_clean_and_confounded_windows():
    gold = gold_rows([
        ("a2", "solana", "1h", 5.0, None),  # ev-1, clean
        ("a3", MARKET, "1h", -4.0, None),  # ev-2, confounded by another story on the market
        ("a5", "near", "1h", 0.5, None),  # no event
    ])
    gold["is_confounded"] = [False, True, False]
    gold["is_follow_up"] = False
    out = recovery(gold, ARTICLES, MARKET_TRUTH, NEWS_TRUTH, horizon="1h")
    groups = {g["group"]: g for g in out["by_window"]}
    assert set(groups) == {"event, clean", "event, confounded", "non-event"}
    assert groups["event, clean"]["mean_abs_z"] == 5.0 and groups["event, confounded"]["mean_abs_z"] == 4.0
    # a gold table without the window columns (an old copy) has no split
    assert recovery(gold.drop(columns=["is_confounded"]), ARTICLES, MARKET_TRUTH, NEWS_TRUTH)["by_window"] == []
