"""The real-page bench's scoring (bench/scoring.py) on tiny inputs, and the committed corpus's integrity."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from scoring import (  # noqa: E402
    Confusion,
    count_chunks,
    day_outcome,
    norm_title,
    same_minute,
    shingle_prf,
    shingles,
    states_time,
    title_match,
    to_day,
)


# --- annotation checks (trafilatura's counting) ---------------------------------------


def test_count_chunks_counts_with_found_and_without_present():
    text = "The  story\nbegins here. It ends there.\nImpressum"
    assert count_chunks(["story begins", "ends there", "not in it"], ["Impressum", "Twitter"], text) == (2, 1, 1, 1)


def test_count_chunks_failed_extraction_finds_nothing():
    assert count_chunks(["a", "b"], ["c"], None) == (0, 0, 2, 1)
    assert count_chunks(["a"], ["c"], "") == (0, 0, 1, 1)


def test_confusion_scores_like_upstream():
    c = Confusion()
    c.add((2, 1, 1, 1))
    c.add((1, 0, 0, 2))
    s = c.scores()
    assert (c.tp, c.fp, c.fn, c.tn) == (3, 1, 1, 3)
    assert s["precision"] == pytest.approx(0.75) and s["recall"] == pytest.approx(0.75)
    assert s["accuracy"] == pytest.approx(6 / 8) and s["f1"] == pytest.approx(6 / 8)
    assert s["with_found"] == pytest.approx(0.75) and s["without_absent"] == pytest.approx(0.75)
    assert Confusion().scores()["f1"] == 0.0


# --- shingles ----------------------------------------------------------------------------


def test_shingles_are_lowercased_word_4grams():
    assert shingles("A b, c d E!") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert shingles("two words") == {("two", "words"): 1}
    assert shingles("") == {} and shingles(None) == {}


def test_shingle_prf():
    assert shingle_prf("one two three four", "one two three four") == (1.0, 1.0, 1.0)
    p, r, f = shingle_prf("one two three four five", "one two three four")  # 1 of 2 shingles shared
    assert (p, r) == (0.5, 1.0) and f == pytest.approx(2 / 3)
    assert shingle_prf("", "one two three four") == (0.0, 0.0, 0.0)
    assert shingle_prf("", "") == (1.0, 1.0, 1.0)
    # multisets: a repeated passage counts once per occurrence in the reference
    p, r, _ = shingle_prf("a b c d a b c d", "a b c d")
    assert r == 1.0 and p == pytest.approx(1 / 5)


# --- dates ---------------------------------------------------------------------------


def test_to_day_and_states_time():
    assert to_day("2020-06-07") == date(2020, 6, 7)
    assert to_day("2020-06-07T23:30:00-05:00") == date(2020, 6, 7)
    assert to_day(datetime(2020, 6, 7, 1, tzinfo=timezone.utc)) == date(2020, 6, 7)
    assert to_day(None) is None and to_day("2020-6-7") is None and to_day("2020-02-30") is None
    assert not states_time("2020-06-07") and states_time("2020-06-07 09:15") and states_time("2020-06-07T09:15Z")


def test_day_outcome():
    assert day_outcome("2020-06-07T10:00:00+00:00", "2020-06-07") == "exact"
    assert day_outcome("2020-06-08T03:00:00+00:00", "2020-06-07") == "off-by-one"
    assert day_outcome("2020-06-05", "2020-06-07") == "wrong"
    assert day_outcome(None, "2020-06-07") == "none"
    with pytest.raises(ValueError):
        day_outcome("2020-06-07", None)


def test_same_minute():
    t = datetime(2020, 6, 7, 9, 15, 42, tzinfo=timezone.utc)
    assert same_minute(t, t.replace(second=0))
    assert same_minute(t, t.astimezone(timezone(timedelta(hours=2))))
    assert not same_minute(t, t + timedelta(minutes=1)) and not same_minute(None, t)


# --- titles --------------------------------------------------------------------------


def test_title_match_normalises_whitespace_only():
    assert norm_title("  A \n title ") == "A title"
    assert title_match("A  title", "A title\n")
    assert not title_match("a title", "A title") and not title_match("A title | Site", "A title")
    assert not title_match(None, "") and not title_match("", "")


# --- the committed corpus ------------------------------------------------------------


def test_corpus_manifest_pages_and_readme_agree():
    corpus = BENCH / "corpus"
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    pages = manifest["pages"]
    gz_files = {e["gz"]: e["sha256"] for e in pages.values()}
    assert len(gz_files) == manifest["distinct_pages"]
    for name, digest in gz_files.items():
        data = gzip.decompress((corpus / name).read_bytes())
        assert hashlib.sha256(data).hexdigest() == digest, name
    assert {p.name for p in (corpus / "pages").iterdir()} == {Path(n).name for n in gz_files}
    readme = (corpus / "README.md").read_text(encoding="utf-8")
    for set_name, info in manifest["sets"].items():
        assert sum(e["set"] == set_name for e in pages.values()) == info["pages"]
        assert re.search(rf"`{set_name}`[^\n]*\b{info['pages']} pages", readme), set_name
    assert f"{manifest['distinct_pages']} distinct pages" in readme
    for key, up in manifest["upstream"].items():
        assert up["commit"] in readme and (corpus / up["licence_file"]).is_file()
