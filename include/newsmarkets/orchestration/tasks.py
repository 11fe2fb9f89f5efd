"""Tasks several DAGs share, defined once (import-light: Airflow's decorator only)."""

from __future__ import annotations

from airflow.sdk import task


@task(task_id="refresh", task_display_name="Refresh DuckDB catalog")
def refresh_catalog(_published: dict) -> dict:
    """Rebuild the DuckDB catalog's views."""
    from newsmarkets.orchestration.runtime import run_context
    from newsmarkets.warehouse.catalog import refresh_for_config

    cfg, _, _ = run_context()
    return refresh_for_config(cfg)


def publish_prices_task(outlets: list):
    """The validate-and-publish step of both price DAGs, declaring what it writes."""

    @task(task_id="publish", task_display_name="Validate and publish", outlets=outlets)
    def publish(staged: dict) -> dict:
        """Validate the staged batch; publish it or quarantine it."""
        from newsmarkets.orchestration.runtime import run_context
        from newsmarkets.prices.pipeline import publish_prices

        cfg, interval, run_id = run_context()
        return publish_prices(cfg, interval, run_id, staged)

    return publish
