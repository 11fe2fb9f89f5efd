"""Airflow assets for every published table, defined once.

DAGs import these for ``outlets`` and asset-driven ``schedule``s so a table
has exactly one identity in the UI's asset graph. The URIs are logical
(``newsmarkets://warehouse/<table>``): the physical location depends on the
config (local folder or ``s3://``) and must not be read at DAG-parse time.
"""

from airflow.sdk import Asset

from newsmarkets.warehouse.lineage import table_asset_uri


def _table_asset(table: str) -> Asset:
    return Asset(name=table, uri=table_asset_uri(table), group="warehouse")


PRICE_SNAPSHOTS = _table_asset("price_snapshots")
PRICE_GAPS = _table_asset("price_gaps")
DQ_RESULTS = _table_asset("dq_results")
ARTICLES = _table_asset("articles")
ARTICLE_ASSETS = _table_asset("article_assets")
FETCH_LOG = _table_asset("fetch_log")
NEWS_MARKET_MOVES = _table_asset("news_market_moves")
MARKET_MOVES = _table_asset("market_moves")
ASSETS = _table_asset("assets")
