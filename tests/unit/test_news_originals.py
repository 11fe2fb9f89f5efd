"""Pure parts of the originals reconciliation and the staged hand-off helpers."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from newsmarkets.intervals import Interval
from newsmarkets.news.ingest.originals import flag_originals, ids_digest, story_days
from newsmarkets.warehouse import rawstore
from newsmarkets.warehouse.writer import Warehouse

T = pd.Timestamp("2026-01-05T10:00:00Z")


def _rows(*rows):
    return pd.DataFrame(rows, columns=["story_id", "published_at", "article_id", "slice"])


def test_the_earliest_copy_of_each_story_is_the_original():
    rows = _rows(
        ("s1", T + pd.Timedelta(hours=2), "a", "f1"),
        ("s1", T, "b", "f2"),
        ("s1", T + pd.Timedelta(hours=1), "c", "f1"),
        ("s2", T + pd.Timedelta(hours=5), "d", "f3"),
    )
    assert flag_originals(rows).tolist() == [False, True, False, True]


def test_ties_go_to_the_smaller_article_id_then_the_slice():
    rows = _rows(("s", T, "b", "f1"), ("s", T, "a", "f2"), ("t", T, "x", "f9"), ("t", T, "x", "f1"))
    flags = flag_originals(rows.set_axis([10, 11, 12, 13]))
    assert flags.tolist() == [False, True, False, True]
    assert list(flags.index) == [10, 11, 12, 13]
    assert flag_originals(rows.iloc[:0]).empty


def test_story_days_cover_the_lookback_on_both_sides():
    days = story_days([datetime(2026, 1, 5, 23, tzinfo=timezone.utc), datetime(2026, 1, 6, 1, tzinfo=timezone.utc)])
    assert days == ["2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05", "2026-01-06", "2026-01-07",
                    "2026-01-08", "2026-01-09"]
    assert story_days([]) == [] and story_days([None]) == []


def test_ids_digest_ignores_order_and_repeats():
    assert ids_digest(["b", "a", "a"]) == ids_digest(["a", "b"]) != ids_digest(["a"])


def test_staged_frames_round_trip_and_a_runs_hand_offs_are_removed(tmp_path):
    wh = Warehouse(str(tmp_path / "wh"))
    hour = Interval(datetime(2026, 1, 5, 10, tzinfo=timezone.utc), datetime(2026, 1, 5, 11, tzinfo=timezone.utc))
    frame = pd.DataFrame({"article_id": ["a", "b"], "published_at": pd.to_datetime([T, T], utc=True),
                          "authors": [["x", "y"], []], "status": pd.array([200, None], dtype="Int64")})
    path = rawstore.write_staged_frame(wh, "extracted", hour, "run 1", "candidates", frame)
    again = rawstore.read_staged_frame(wh, path)
    pd.testing.assert_frame_equal(again.assign(authors=again["authors"].map(list)), frame)
    other = rawstore.write_staged_json(wh, "extracted", hour, "run-2", "x", {"k": 1})
    removed = rawstore.remove_staged_run(wh, ["extracted", "fetched"], hour, "run 1")
    assert len(removed) == 1
    folder = rawstore._staged_run_dir(wh.storage, "extracted", hour, "run 1")
    assert path.startswith(folder + "/") and not wh.storage.fs.exists(folder)
    assert rawstore.read_staged_json(wh, other) == {"k": 1}  # another run's hand-offs stay
    with pytest.raises(rawstore.RawStoreError, match="missing"):
        rawstore.read_staged_frame(wh, path)
    with pytest.raises(rawstore.RawStoreError, match="not a staged file"):
        rawstore.read_staged_frame(wh, str(tmp_path / "elsewhere.parquet"))
