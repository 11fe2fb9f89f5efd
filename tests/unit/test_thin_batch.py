"""A batch built mostly from failed fetches is refused; the share counts only real fetch failures."""

from __future__ import annotations

import pytest

from newsmarkets.news.ingest.extract import fetch_failures
from newsmarkets.quality.thin_batch import ThinBatchError, check_failed_share


@pytest.mark.parametrize("failed, attempted, refused", [
    (0, 0, False), (1, 2, False), (2, 3, True), (1, 1, True), (5, 10, False), (6, 10, True)])
def test_more_than_the_share_failing_is_refused(failed, attempted, refused):
    if refused:
        with pytest.raises(ThinBatchError, match=rf"{failed} of {attempted} fetches failed") as err:
            check_failed_share("news_ingest hour", failed, attempted, 0.5)
        assert "nothing was published" in str(err.value) and "news_ingest hour" in str(err.value)
    else:
        check_failed_share("news_ingest hour", failed, attempted, 0.5)


def test_a_share_of_one_never_refuses_and_zero_refuses_any_failure():
    check_failed_share("x", 10, 10, 1.0)
    with pytest.raises(ThinBatchError):
        check_failed_share("x", 1, 10, 0.0)


def test_news_fetch_failures_count_site_and_network_failures_not_answers_or_our_refusals():
    rows = [{"outcome": "http_error", "status": 503}, {"outcome": "timeout", "status": None},
            {"outcome": "error", "status": None}, {"outcome": "http_error", "status": 410},
            {"outcome": "http_error", "status": 404}, {"outcome": "robots", "status": None},
            {"outcome": "blocked", "status": None}, {"outcome": "too_large", "status": 200},
            {"outcome": "extraction_failed", "status": 200}]
    # 3 pages fetched (one of them is the extraction_failed row): 3 + 6 other attempts, 3 failed
    assert fetch_failures(rows, fetched_pages=3) == (3, 9)
