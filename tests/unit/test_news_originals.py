"""Pure parts of the originals reconciliation and the staged hand-off helpers."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from newsmarkets.intervals import Interval
from newsmarkets.news import rawstore
from newsmarkets.news.ingest.originals import OriginalsError, flag_originals, ids_digest, interval_of_file, story_days
from newsmarkets.warehouse.storage import Storage

T = pd.Timestamp("2026-01-05T10:00:00Z")


def _rows(*rows):
    return pd.DataFrame(rows, columns=["story_id", "published_at", "article_id", "file"])


def test_the_earliest_copy_of_each_story_is_the_original():
    rows = _rows(
        ("s1", T + pd.Timedelta(hours=2), "a", "f1"),
        ("s1", T, "b", "f2"),
        ("s1", T + pd.Timedelta(hours=1), "c", "f1"),
        ("s2", T + pd.Timedelta(hours=5), "d", "f3"),
    )
    assert flag_originals(rows).tolist() == [False, True, False, True]


def test_ties_go_to_the_smaller_article_id_then_the_file():
    rows = _rows(("s", T, "b", "f1"), ("s", T, "a", "f2"), ("t", T, "x", "f9"), ("t", T, "x", "f1"))
    flags = flag_originals(rows.set_axis([10, 11, 12, 13]))
    assert flags.tolist() == [False, True, False, True]
    assert list(flags.index) == [10, 11, 12, 13]
    assert flag_originals(rows.iloc[:0]).empty


def test_the_file_name_says_which_interval_owns_it():
    path = "/wh/articles/dt=2026-01-05/part-20260105T100000Z-20260105T110000Z.parquet"
    assert interval_of_file(path) == Interval(datetime(2026, 1, 5, 10, tzinfo=timezone.utc),
                                              datetime(2026, 1, 5, 11, tzinfo=timezone.utc))
    assert interval_of_file("s3://b/articles/dt=2026-01-05/part-20260105T000000Z-20260106T000000Z.parquet") \
        == Interval.for_day("2026-01-05")
    for name in ("part-20260105T100000Z-20260105T110000Z-dq.parquet", "compacted-2026-01-05.parquet",
                 "part-20260105T110000Z-20260105T100000Z.parquet"):
        with pytest.raises((OriginalsError, ValueError), match="part-|not after"):
            interval_of_file(f"/wh/articles/dt=2026-01-05/{name}")


def test_story_days_cover_the_lookback_on_both_sides():
    days = story_days([datetime(2026, 1, 5, 23, tzinfo=timezone.utc), datetime(2026, 1, 6, 1, tzinfo=timezone.utc)])
    assert days == ["2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05", "2026-01-06", "2026-01-07",
                    "2026-01-08", "2026-01-09"]
    assert story_days([]) == [] and story_days([None]) == []


def test_ids_digest_ignores_order_and_repeats():
    assert ids_digest(["b", "a", "a"]) == ids_digest(["a", "b"]) != ids_digest(["a"])


def test_staged_frames_round_trip_and_a_runs_hand_offs_are_removed(tmp_path):
    storage = Storage(str(tmp_path / "wh"))
    hour = Interval(datetime(2026, 1, 5, 10, tzinfo=timezone.utc), datetime(2026, 1, 5, 11, tzinfo=timezone.utc))
    frame = pd.DataFrame({"article_id": ["a", "b"], "published_at": pd.to_datetime([T, T], utc=True),
                          "authors": [["x", "y"], []], "status": pd.array([200, None], dtype="Int64")})
    path = rawstore.write_staged_frame(storage, "extracted", hour, "run 1", "candidates", frame)
    again = rawstore.read_staged_frame(storage, path)
    pd.testing.assert_frame_equal(again.assign(authors=again["authors"].map(list)), frame)
    other = rawstore.write_staged_json(storage, "extracted", hour, "run-2", "x", {"k": 1})
    removed = rawstore.remove_staged_run(storage, ["extracted", "fetched"], hour, "run 1")
    assert len(removed) == 1
    folder = rawstore.staged_run_dir(storage, "extracted", hour, "run 1")
    assert path.startswith(folder + "/") and not storage.fs.exists(folder)
    assert rawstore.read_staged_json(storage, other) == {"k": 1}  # another run's hand-offs stay
    with pytest.raises(rawstore.RawStoreError, match="missing"):
        rawstore.read_staged_frame(storage, path)
    with pytest.raises(rawstore.RawStoreError, match="not a staged file"):
        rawstore.read_staged_frame(storage, str(tmp_path / "elsewhere.parquet"))
