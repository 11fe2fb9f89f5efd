"""Which tables a task read and wrote, for OpenLineage (off unless configured; see docs/operations.md).

The warehouse reports every public read and write here. Inside an Airflow task
Airflow's hook-lineage collector keeps them, and the OpenLineage provider, when
a transport is configured, sends them as the task's input and output datasets.
Otherwise the collector is a no-op and nothing is kept.

Tables are reported by their logical asset URI (``newsmarkets://warehouse/<table>``,
the DAGs' outlets). This package registers itself with Airflow as a provider
(``pyproject.toml`` entry point) whose converter turns that URI into the table's
physical location, named as OpenLineage names datasets: namespace ``file``
with the absolute path, or ``s3://<bucket>`` with the key prefix.
"""

from __future__ import annotations

import sys
from typing import Any

ASSET_SCHEME = "newsmarkets"
TABLE_ASSET_URI = ASSET_SCHEME + "://warehouse/{table}"

# One lineage context per warehouse root: the collector keys entries by id(context), so reads of
# one table through two Warehouse objects of the same root count as one input.
_CONTEXTS: dict[str, Any] = {}


def table_asset_uri(table: str) -> str:
    return TABLE_ASSET_URI.format(table=table)


def report(warehouse, table: str, *, output: bool) -> None:
    """Record that the running task read (or wrote) ``table`` of ``warehouse``; a no-op outside tasks."""
    if "airflow.sdk.execution_time.task_runner" not in sys.modules:
        return  # not inside an Airflow task (CLI, benchmarks, tests): no collector to feed
    from airflow.sdk.lineage import get_hook_lineage_collector

    context = _CONTEXTS.setdefault(warehouse.root, warehouse)
    collector = get_hook_lineage_collector()
    add = collector.add_output_asset if output else collector.add_input_asset
    add(context=context, uri=table_asset_uri(table))


def dataset_name(location: str) -> tuple[str, str]:
    """(namespace, name) of a table at ``location`` (absolute path or URL), per OpenLineage's naming."""
    if "://" not in location:
        return "file", location
    scheme, rest = location.split("://", 1)
    if scheme == "file":
        return "file", "/" + rest.lstrip("/")
    bucket, _, key = rest.partition("/")
    return f"{scheme}://{bucket}", key.strip("/")


def to_openlineage(asset, lineage_context):
    """Airflow asset ``newsmarkets://warehouse/<table>`` -> the OpenLineage dataset of the table's files.

    ``lineage_context`` is the warehouse that reported it; without one (an outlet declared in a DAG)
    the warehouse is the running config's.
    """
    from airflow.providers.common.compat.openlineage.facet import Dataset

    table = asset.uri.split("://", 1)[1].split("/", 1)[1]
    warehouse = lineage_context if hasattr(lineage_context, "table_url") else _configured_warehouse()
    namespace, name = dataset_name(warehouse.table_url(table))
    return Dataset(namespace=namespace, name=name)


def _configured_warehouse():
    from newsmarkets.config import load_config
    from newsmarkets.warehouse.writer import Warehouse

    return Warehouse.from_config(load_config())


def provider_info() -> dict:
    """Airflow provider metadata (entry point ``apache_airflow_provider``): the ``newsmarkets`` asset scheme
    and its OpenLineage converter. Kept import-free: every Airflow process reads it at start."""
    return {
        "package-name": "newsmarkets",
        "name": "newsmarkets",
        "description": "The newsmarkets warehouse's tables as Airflow assets, with their OpenLineage names.",
        "asset-uris": [{"schemes": [ASSET_SCHEME], "handler": None,
                        "to_openlineage_converter": "newsmarkets.warehouse.lineage.to_openlineage"}],
    }
