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


def test_recovery_chart_separates_clean_from_confounded_event_windows():
    import base64
    import re

    cells = [{"horizon": "1h", "horizon_minutes": 60, "group": g, "rows": 3, "mean_abs_abnormal_return": v / 100,
              "mean_abs_z": v, "share_significant": 0.5}
             for g, v in (("event, clean", 5.0), ("event, confounded", 3.0), ("event, other link", 1.0),
                          ("non-event", 0.8))]
    rec = {"horizon": "1h", "events": 1, "truth_positives": 1, "predicted_positives": 1, "true_positives": 1,
           "precision": 1.0, "recall": 1.0, "by_horizon": [], "by_window": cells, "misses": []}
    page = _recovery_html(rec)
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1))
    assert png.startswith(b"\x89PNG")
    from newsmarkets.local.report import chart_groups

    assert chart_groups(cells) == ["event, clean", "event, confounded", "non-event"]  # other links are no bar
    assert chart_groups([c for c in cells if c["group"] != "event, other link"]) == [
        "event, clean", "event, confounded", "non-event"]
