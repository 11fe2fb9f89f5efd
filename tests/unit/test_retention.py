"""Retention of raw HTML, staging leftovers and quarantine, on real files and on fsspec's memory:// store."""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timezone

import pandas as pd
import pytest

from newsmarkets.intervals import Interval
from newsmarkets.warehouse import rawstore
from newsmarkets.warehouse.retention import apply_retention, expire_quarantine, expire_raw_html, expire_staging
from newsmarkets.warehouse.writer import Warehouse

DAYS = [date(2026, 1, d) for d in range(1, 11)]


def fill(wh: Warehouse) -> None:
    """A page per day (with validators), staged hand-offs, a quarantined batch."""
    for day in DAYS:
        fetched = datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)
        page = f"p{day.day}"
        path = rawstore.write_raw_html(wh, fetched, "coinwire", page, "<html><body>x</body></html>")
        rawstore.write_validators(wh, "coinwire", page, etag=f'"{page}"', last_modified=None,
                                  raw_path=path, final_url=None)
    interval = Interval.for_day("2026-01-10")
    rawstore.write_staged_json(wh, "discovered", interval, "run-1", "coinwire", {"urls": []})
    wh.stage("price_snapshots", pd.DataFrame(), interval, "run-1")
    wh.quarantine("price_snapshots", pd.DataFrame({"asset_id": ["x"]}), interval, "run-1", {"why": "test"})


@pytest.fixture(params=["local", "memory"])
def wh(request, tmp_path) -> Warehouse:
    root = str(tmp_path / "wh") if request.param == "local" else f"memory://retention-{tmp_path.name}"
    warehouse = Warehouse(root)
    fill(warehouse)
    return warehouse


def raw_days(wh: Warehouse) -> list[str]:
    return sorted(p.rsplit("dt=", 1)[1] for p in wh.storage.glob(wh.storage.path("_raw_html", "dt=*")))


def test_raw_html_older_than_the_retention_goes_with_its_validators(wh):
    out = expire_raw_html(wh.storage, date(2026, 1, 10), 3)
    assert out["partitions"] == [d.isoformat() for d in DAYS[:6]] and out["files"] == 6 and out["validators"] == 6
    assert raw_days(wh) == ["2026-01-07", "2026-01-08", "2026-01-09", "2026-01-10"]
    assert rawstore.read_validators(wh, "coinwire", "p7")["etag"] == '"p7"'
    assert not wh.storage.fs.exists(rawstore._validators_path(wh.storage, "coinwire", "p6"))
    # Dated by the run's interval, not the clock: an old backfill deletes nothing newer than its own window.
    assert expire_raw_html(wh.storage, date(2026, 1, 10), 3)["partitions"] == []
    with pytest.raises(ValueError, match="raw_html_retention_days"):
        expire_raw_html(wh.storage, date(2026, 1, 10), 0)


def test_staging_goes_only_when_untouched_for_the_retention(wh):
    assert expire_staging(wh.storage, 24)["folders"] == 0  # fresh hand-offs stay
    out = expire_staging(wh.storage, 24, now=time.time() + 25 * 3600)
    assert out["folders"] == 2 and out["files"] == 2
    assert wh.storage.find(wh.storage.path("_staging")) == {}


def test_quarantine_is_kept_by_default_and_expires_when_asked(wh):
    later = time.time() + 40 * 86400
    assert expire_quarantine(wh.storage, None, now=later) == {"kept": True, "folders": 0, "files": 0}
    assert len(wh.storage.find(wh.storage.path("_quarantine"))) == 2
    assert expire_quarantine(wh.storage, 60, now=later)["folders"] == 0
    assert expire_quarantine(wh.storage, 30, now=later) == {"kept": False, "folders": 1, "files": 2}


def test_tables_are_never_touched(tmp_path):
    wh = Warehouse(str(tmp_path / "wh"))
    fill(wh)
    observed = pd.Timestamp("2026-01-01T00:00:00Z")
    wh.write("price_snapshots", pd.DataFrame([{
        "asset_id": "bitcoin", "symbol": "btc", "name": "Bitcoin", "price_usd": 1.0, "market_cap_usd": None,
        "volume_24h_usd": None, "change_24h_pct": None, "observed_at": observed, "snapshot_at": observed,
        "source": "markets", "ingested_at": observed}]), Interval.for_day("2026-01-01"))
    old = time.time() - 90 * 86400
    for folder, _, files in os.walk(tmp_path / "wh"):
        for name in files:
            os.utime(os.path.join(folder, name), (old, old))
    out = apply_retention(wh.storage, date(2026, 1, 10), raw_html_days=1, staging_hours=1, quarantine_days=1)
    assert len(out["raw_html"]["partitions"]) == 8 and out["staging"]["folders"] == 2 and out["quarantine"]["folders"] == 1
    assert len(wh.read("price_snapshots")) == 1


# -- the maintenance section of the config -------------------------------------------

def _config(**maintenance):
    from newsmarkets.config import parse_config

    return parse_config({
        "warehouse": "data/warehouse",
        "prices": {"provider": "coingecko", "base_url": "https://api.coingecko.com/api/v3", "assets": ["bitcoin"]},
        **({"maintenance": maintenance} if maintenance is not None else {}),
    })


def test_maintenance_defaults_keep_quarantine_and_build_docs():
    m = _config().maintenance
    assert (m.compact_after_days, m.raw_html_retention_days, m.staging_retention_hours) == (2, 30, 24)
    assert m.quarantine_retention_days is None and m.data_docs is True and m.data_docs_days == 1


@pytest.mark.parametrize("maintenance, message", [
    ({"compact_after_days": 0}, "maintenance.compact_after_days: must be >= 1"),
    ({"raw_html_retention_days": "30"}, "maintenance.raw_html_retention_days: expected an integer"),
    ({"staging_retention_hours": True}, "maintenance.staging_retention_hours: expected an integer"),
    ({"quarantine_retention_days": 0}, "maintenance.quarantine_retention_days: must be >= 1"),
    ({"data_docs": "yes"}, "maintenance.data_docs: expected true or false"),
    ({"data_docs_dir": "s3://bucket/docs"}, "maintenance.data_docs_dir: must be a local folder"),
    ({"compact_after": 2}, "maintenance.compact_after: unknown key"),
])
def test_maintenance_config_errors_name_the_key(maintenance, message):
    from newsmarkets.config import ConfigError

    with pytest.raises(ConfigError, match=message.replace(".", r"\.", 1)):
        _config(**maintenance)


def test_maintenance_config_values_are_read():
    m = _config(compact_after_days=3, raw_html_retention_days=7, staging_retention_hours=6,
                quarantine_retention_days=90, data_docs=False, data_docs_days=2, data_docs_dir="/tmp/docs").maintenance
    assert (m.compact_after_days, m.raw_html_retention_days, m.staging_retention_hours, m.quarantine_retention_days,
            m.data_docs, m.data_docs_days, m.data_docs_dir) == (3, 7, 6, 90, False, 2, "/tmp/docs")
