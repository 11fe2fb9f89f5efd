"""OpenLineage names of the warehouse's tables and the provider entry that teaches Airflow the scheme."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from newsmarkets.warehouse import lineage
from newsmarkets.warehouse.writer import Warehouse


@pytest.mark.parametrize("location, expected", [
    ("/srv/wh/articles", ("file", "/srv/wh/articles")),
    ("file:///srv/wh/articles", ("file", "/srv/wh/articles")),
    ("s3://newsmarkets/warehouse/articles", ("s3://newsmarkets", "warehouse/articles")),
    ("s3://bucket/articles/", ("s3://bucket", "articles")),
])
def test_dataset_names_follow_openlineage_naming(location, expected):
    assert lineage.dataset_name(location) == expected


def test_an_asset_of_a_table_becomes_the_dataset_of_its_files(tmp_path):
    from airflow.sdk import Asset

    from newsmarkets.orchestration.assets import NEWS_MARKET_MOVES

    wh = Warehouse(str(tmp_path / "wh"))
    dataset = lineage.to_openlineage(Asset(uri=NEWS_MARKET_MOVES.uri), wh)
    assert (dataset.namespace, dataset.name) == ("file", str(tmp_path / "wh" / "news_market_moves"))
    s3 = Warehouse("s3://lake/prod", {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": "http://127.0.0.1:1"}})
    dataset = lineage.to_openlineage(Asset(uri=NEWS_MARKET_MOVES.uri), s3)
    assert (dataset.namespace, dataset.name) == ("s3://lake", "prod/news_market_moves")


def test_the_provider_entry_is_installed_and_valid_for_airflow():
    import airflow
    import jsonschema

    (entry,) = [e for e in entry_points(group="apache_airflow_provider") if e.value.startswith("newsmarkets.")]
    info = entry.load()()
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)
    assert info["package-name"] == "newsmarkets"
    (uris,) = info["asset-uris"]
    assert uris["schemes"] == [lineage.ASSET_SCHEME]
    assert uris["to_openlineage_converter"] == "newsmarkets.warehouse.lineage.to_openlineage"


def test_reads_outside_a_task_report_nothing(tmp_path, monkeypatch):
    import sys

    monkeypatch.delitem(sys.modules, "airflow.sdk.execution_time.task_runner", raising=False)
    monkeypatch.setattr(lineage, "_CONTEXTS", {})
    wh = Warehouse(str(tmp_path / "wh"))
    wh.read("articles")
    assert lineage._CONTEXTS == {}
