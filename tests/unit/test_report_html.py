"""The demo report's HTML escapes everything that came from a source: scraped titles never become markup."""

from __future__ import annotations

from newsmarkets.local.report import _recovery_html, _table

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_table_cells_and_headers_are_escaped():
    page = _table([{"title": HOSTILE, HOSTILE: 1}])
    assert "<script" not in page and "<img" not in page
    assert page.count("&lt;script&gt;") == 2


def test_recovery_section_escapes_missed_event_titles_and_errors():
    rec = {"horizon": "1h", "events": 1, "truth_positives": 1, "predicted_positives": 0, "true_positives": 0,
           "precision": None, "recall": 0.0, "by_horizon": [], "misses": [{"asset_id": "bitcoin", "title": HOSTILE}]}
    for page in (_recovery_html(rec), _recovery_html({"error": HOSTILE})):
        assert "<script" not in page and "<img" not in page, page
        assert "&lt;script&gt;" in page
