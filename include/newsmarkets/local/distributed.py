"""The production topology on one machine, without Docker: what ``docker-compose.yaml`` runs.

* metadata: Debian's PostgreSQL server, password auth (:mod:`.system_postgres`);
* broker: Debian's Redis server, password-protected (:mod:`.redis_server`);
* Airflow with the CeleryExecutor: scheduler, DAG processor, API server,
  triggerer and N Celery workers, each its own process (:mod:`.airflow_stack`);
* the warehouse on an S3 endpoint on 127.0.0.1 (moto's server, :mod:`.s3_server`),
  reached through ``s3://`` and the ``newsmarkets_s3`` Airflow connection
  (``AIRFLOW_CONN_NEWSMARKETS_S3``) as the compose stack's tasks reach MinIO; the DuckDB catalog stays a local
  file, as on the compose stack's shared volume;
* the replay world as the sources (:mod:`.replay_process`).

Everything else (config generation, replay clock, task environment) is the
embedded default's, so the two differ only in the parts above.
"""

from __future__ import annotations

from newsmarkets.local.environment import EmbeddedEnvironment

BUCKET = "newsmarkets"
WAREHOUSE_URL = f"s3://{BUCKET}/warehouse"
DEFAULT_WORKERS = ("worker-1", "worker-2")


class DistributedEnvironment(EmbeddedEnvironment):
    """System PostgreSQL + Redis + S3 endpoint + replay world + Airflow on Celery, under ``base_dir``."""

    def __init__(self, base_dir, *, workers: tuple[str, ...] = DEFAULT_WORKERS, worker_concurrency: int = 2,
                 **kwargs) -> None:
        super().__init__(base_dir, **kwargs)
        if not workers:
            raise ValueError("the distributed topology needs at least one Celery worker")
        self.workers = tuple(workers)
        self.worker_concurrency = worker_concurrency
        self.redis = None
        self.s3 = None

    @property
    def warehouse_root(self) -> str:
        return WAREHOUSE_URL

    @property
    def s3_env(self) -> dict[str, str]:
        """The S3 settings a reader in this process needs (``storage_options_from_env(root, env.s3_env)``)."""
        if self.s3 is None:
            raise RuntimeError("the S3 endpoint is not started")
        return self.s3.client_env

    def _config_overrides(self) -> dict:
        return {"catalog": str(self.base_dir / "catalog" / "warehouse.duckdb")}

    def _start_database(self, progress) -> str:
        from newsmarkets.local.system_postgres import SystemPostgres

        progress("• starting the metadata database (Debian PostgreSQL)…")
        self.postgres = SystemPostgres(self.base_dir / "postgres")
        return self.postgres.start()

    def _start_services(self, progress) -> None:
        from newsmarkets.local.redis_server import RedisServer
        from newsmarkets.local.s3_server import S3Server

        progress("• starting the Celery broker (Redis)…")
        self.redis = RedisServer(self.base_dir / "redis")
        self.redis.start()
        progress("• starting the S3 endpoint (moto) for the warehouse…")
        self.s3 = S3Server(self.base_dir / "s3", BUCKET).start()

    def _task_env(self) -> dict[str, str]:
        # As docker-compose.yaml: the root from the environment, endpoint and keys as one Airflow connection.
        return {"NEWSMARKETS_WAREHOUSE": WAREHOUSE_URL, **self.s3.connection_env}

    def _stack_options(self) -> dict:
        return {
            "executor": "CeleryExecutor",
            "broker_url": self.redis.url,
            "celery_workers": self.workers,
            "worker_concurrency": self.worker_concurrency,
        }

    def _airflow_description(self) -> str:
        return f"scheduler, DAG processor, API server, triggerer, {len(self.workers)} Celery workers"

    def _parts(self) -> list:
        return [self.airflow, self.replay, self.redis, self.s3, self.postgres]
