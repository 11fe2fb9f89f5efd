"""The Airflow pools that make one API budget hold across every run and worker.

A rate limiter lives in one process; Airflow runs many (concurrent backfill
runs, the live snapshot, every Celery worker). A pool bounds how many of the
tasks that call a source run at once, everywhere, and each such task paces
itself at its share of the budget (``rate / slots``), so all of them together
stay under the configured rate:

* ``newsmarkets_prices_api``: the price provider's tasks (``prices_history``'s
  and ``prices_snapshot``'s fetch), ``prices.pool_slots`` slots, each paced at
  ``prices.rate_limit_per_minute / prices.pool_slots``.
* ``newsmarkets_news_sites``: the news tasks that read sites (discover, fetch),
  ``news.pool_slots`` slots, each keeping ``1/news.pool_slots`` of every host's
  ``per_domain_rps`` and ``per_domain_concurrency``.

The names are fixed because a DAG file names its pool at parse time, where the
config is not read; the sizes come from the config. A task whose pool does not
exist is never scheduled (the scheduler only logs a warning), so every stack
the project starts creates them (``newsmarkets pools apply``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # DAG files import the pool names: keep this module light
    from newsmarkets.config import Config

PRICES_POOL = "newsmarkets_prices_api"
NEWS_POOL = "newsmarkets_news_sites"
# The live snapshot takes a free slot before waiting history runs do.
SNAPSHOT_PRIORITY = 100


class PoolError(RuntimeError):
    """Airflow refused to create or update a pool; the message has its output."""


@dataclass(frozen=True)
class PoolSpec:
    name: str
    slots: int
    description: str


def pool_specs(cfg: Config) -> list[PoolSpec]:
    """The pools ``cfg`` needs, sized from its budgets."""
    prices, news = cfg.prices, cfg.news
    return [
        PoolSpec(
            PRICES_POOL, prices.pool_slots,
            f"{prices.provider} API budget: {prices.rate_limit_per_minute:g} calls/min across all runs and "
            f"workers; each task {prices.task_rate_per_minute:g}/min (prices.rate_limit_per_minute / pool_slots)",
        ),
        PoolSpec(
            NEWS_POOL, news.pool_slots,
            f"news sites: {news.per_domain_rps:g} requests/s and {news.per_domain_concurrency} at once per host "
            f"across all runs and workers, split between the {news.pool_slots} slot(s)",
        ),
    ]


def pools_document(specs: list[PoolSpec]) -> dict:
    """``airflow pools import``'s file format."""
    return {s.name: {"slots": s.slots, "description": s.description, "include_deferred": False} for s in specs}


def apply_pools(
    cfg: Config, *, env: dict[str, str] | None = None, cwd: str | Path | None = None, timeout_s: float = 300
) -> list[PoolSpec]:
    """Create or resize the pools (``airflow pools import``: idempotent, one command); returns them.

    Runs the ``airflow`` of this interpreter's environment against the metadata
    database ``env`` (default: this process's) points at.
    """
    specs = pool_specs(cfg)
    airflow = Path(sys.executable).with_name("airflow")
    command = [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]
    with tempfile.TemporaryDirectory(prefix="newsmarkets-pools-") as tmp:
        path = Path(tmp) / "pools.json"
        path.write_text(json.dumps(pools_document(specs), indent=2))
        try:
            done = subprocess.run(
                [*command, "pools", "import", str(path)], env=os.environ.copy() if env is None else env,
                cwd=cwd, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise PoolError(f"airflow pools import timed out after {timeout_s:.0f}s") from exc
    if done.returncode != 0:
        output = (done.stderr.strip() + "\n" + done.stdout.strip()).strip()
        raise PoolError(f"airflow pools import failed (exit {done.returncode}):\n"
                        + "\n".join(output.splitlines()[-20:]))
    return specs
