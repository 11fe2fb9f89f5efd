"""The embedded default, whole: metadata database, replay world, Airflow, and a config tying them.

``make demo``, ``make airflow`` and the end-to-end tests all start the same
three processes through this one class, so what the tests prove is what users
run. Everything lives under ``base_dir``; ``stop()`` leaves no process behind.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import yaml

from newsmarkets.config import BUNDLED_CONFIG, Config, load_config, rebase_replay_urls

log = logging.getLogger("newsmarkets.local")

REPO_ROOT = Path(__file__).resolve().parents[3]
DAGS_FOLDER = REPO_ROOT / "dags"


@dataclass(frozen=True)
class WorldWindow:
    """The replay world's days and the fixed clock its server answers with."""

    start: date
    days: int

    @property
    def end_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=timezone.utc) + timedelta(days=self.days)

    @property
    def last_day(self) -> date:
        return self.start + timedelta(days=self.days - 1)


class EmbeddedEnvironment:
    """Postgres + replay server + Airflow under ``base_dir``, with a generated config."""

    def __init__(self, base_dir: str | os.PathLike, *, days: int | None = None, start: date | None = None,
                 wall_clock: bool = False,
                 ui_port: int | None = None, base_config: str | os.PathLike | None = None,
                 extra_env: dict[str, str] | None = None, parallelism: int = 4, replay_port: int | None = None,
                 config_overrides: dict | None = None):
        self.base_dir = Path(base_dir).resolve()
        self.base_config: Config = load_config(base_config or BUNDLED_CONFIG)
        rc = self.base_config.replay
        self.wall_clock = wall_clock
        if wall_clock:
            # A world around today so the live snapshot DAG sees "now".
            # The same window `newsmarkets replay serve --start auto` builds: ending with today.
            today = datetime.now(timezone.utc).date()
            span = max(days or rc.days, 2)
            self.window = WorldWindow(today - timedelta(days=span - 1), span)
        else:
            # ``start`` moves the whole world (the tests backfill 2024-10-15 through it).
            self.window = WorldWindow(start or date.fromisoformat(rc.start), days or rc.days)
        self.ui_port = ui_port
        self.extra_env = dict(extra_env or {})
        # Top-level config sections the generated config gets on top of the base one (the tests' alerts:).
        self.config_overrides = dict(config_overrides or {})
        self.parallelism = parallelism
        # Article ids hash their URLs, which carry the replay server's port: two
        # environments compared row for row must serve the world on one port.
        self.replay_port = replay_port
        self.postgres = None
        self.replay = None
        self.airflow = None

    # Paths -----------------------------------------------------------------
    @property
    def warehouse(self) -> Path:
        return self.base_dir / "warehouse"

    @property
    def warehouse_root(self) -> str:
        """What the config's ``warehouse`` says: a local path here, ``s3://…`` when distributed."""
        return str(self.warehouse)

    @property
    def config_path(self) -> Path:
        return self.base_dir / "newsmarkets.yaml"

    @property
    def logs(self) -> Path:
        return self.base_dir / "logs"

    def config(self) -> Config:
        return load_config(self.config_path)

    def _write_config(self, replay_port: int) -> None:
        raw = rebase_replay_urls(yaml.safe_load(Path(self.base_config.source_path).read_text()), replay_port)
        raw["warehouse"] = self.warehouse_root
        raw.update(self._config_overrides())
        raw.update(self.config_overrides)
        raw.setdefault("replay", {})
        raw["replay"].update(start=self.window.start.isoformat(), days=self.window.days, port=replay_port)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(raw, sort_keys=False))

    def _config_overrides(self) -> dict:
        """Top-level keys a subclass sets in the generated config (the distributed catalog path)."""
        return {}

    def reset_orchestration_state(self) -> None:
        """Forget Airflow's metadata and logs (never the warehouse), for a from-scratch replay."""
        import shutil

        for sub in ("postgres", "airflow", "logs"):
            shutil.rmtree(self.base_dir / sub, ignore_errors=True)

    # Lifecycle -------------------------------------------------------------
    # start() runs the same steps for every topology; a subclass (the
    # distributed one) swaps the metadata database, adds services and sets
    # the executor through the hooks below.
    def _start_database(self, progress) -> str:
        """Start the metadata database; returns its SQLAlchemy URI."""
        from newsmarkets.local.postgres import EmbeddedPostgres

        progress("• starting the metadata database (embedded PostgreSQL)…")
        self.postgres = EmbeddedPostgres(self.base_dir / "postgres")
        return self.postgres.start()

    def _start_services(self, progress) -> None:
        """Anything else the tasks need before Airflow starts (nothing for the embedded default)."""

    def _task_env(self) -> dict[str, str]:
        """Environment every Airflow component and task gets on top of the stack's own."""
        return {}

    def _stack_options(self) -> dict:
        """Extra :class:`AirflowStack` arguments (executor, broker, workers)."""
        return {}

    def _airflow_description(self) -> str:
        return "scheduler, DAG processor, API server, triggerer"

    def _replay_port(self) -> int:
        """The port asked for; else the one this folder's world was served on last time, while it is free
        (article ids hash URLs, which carry the port: a second ``make demo`` must rewrite its articles,
        not publish a second copy of each); else any free port."""
        from newsmarkets.local.postgres import free_port, is_port_free

        if self.replay_port:
            return self.replay_port
        previous = None
        if self.config_path.exists():
            previous = ((yaml.safe_load(self.config_path.read_text()) or {}).get("replay") or {}).get("port")
        if isinstance(previous, int) and is_port_free(previous):
            return previous
        return free_port()

    def _start_sources(self, progress) -> None:
        """What the tasks read: here the replay world, and the config pointing at it."""
        from newsmarkets.local.replay_process import ReplayProcess

        replay_port = self._replay_port()
        self._write_config(replay_port)
        now = None if self.wall_clock else self.window.end_at.isoformat()
        progress(f"• starting the replay world on http://127.0.0.1:{replay_port} "
                 f"({self.window.start} to {self.window.last_day}, clock {'wall time' if self.wall_clock else now})…")
        self.replay = ReplayProcess(
            config=str(self.config_path), port=replay_port, log_path=self.logs / "replay.log", now=now,
            start="auto" if self.wall_clock else None, days=self.window.days,
        ).start()

    def _schedule_end(self) -> str | None:
        """Nothing exists after a fixed replay clock: keep schedules from starting runs there."""
        return None if self.wall_clock else self.window.end_at.isoformat()

    def start(self, progress=print) -> "EmbeddedEnvironment":
        from newsmarkets.local.airflow_stack import AirflowStack

        self.base_dir.mkdir(parents=True, exist_ok=True)
        try:
            db_uri = self._start_database(progress)
            self._start_services(progress)

            self._start_sources(progress)

            env = {
                "NEWSMARKETS_CONFIG": str(self.config_path),
                "NEWSMARKETS_RETRY_DELAY_S": os.environ.get("NEWSMARKETS_RETRY_DELAY_S", "5"),
                "NEWSMARKETS_TASK_RETRIES": os.environ.get("NEWSMARKETS_TASK_RETRIES", "2"),
                **self._task_env(),
                **self.extra_env,
            }
            schedule_end = self._schedule_end()
            if schedule_end:
                env["NEWSMARKETS_SCHEDULE_END"] = schedule_end
            progress(f"• starting Airflow ({self._airflow_description()})…")
            self.airflow = AirflowStack(
                home=self.base_dir / "airflow", dags_folder=DAGS_FOLDER, db_uri=db_uri, env=env,
                port=self.ui_port, parallelism=self.parallelism, **self._stack_options(),
            )
            self.airflow.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _parts(self) -> list:
        """What stop() stops, in order: Airflow first, the services it uses after."""
        return [self.airflow, self.replay, self.postgres]

    def stop(self) -> None:
        for part in self._parts():
            if part is None:
                continue
            try:
                part.stop()
            except Exception as exc:  # keep stopping the others
                log.error("stopping %s failed: %s", type(part).__name__, exc)

    def __enter__(self) -> "EmbeddedEnvironment":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class LiveEnvironment(EmbeddedEnvironment):
    """Embedded PostgreSQL + Airflow on a user's own config: its sources, its warehouse, wall-clock schedules.

    No replay world and no generated config: the tasks read ``config_path``
    as given (``newsmarkets airflow --config``). Airflow's state lives under
    ``base_dir``; the warehouse is wherever the config says.
    """

    def __init__(self, base_dir: str | os.PathLike, config_path: str | os.PathLike, *, ui_port: int | None = None,
                 extra_env: dict[str, str] | None = None, parallelism: int = 4):
        # Loaded (and so validated) before anything starts: a bad config fails here, naming the key.
        cfg = load_config(config_path)
        self._config_path = Path(cfg.source_path).resolve()
        # The stack keeps the caller's AIRFLOW* variables out of Airflow, but the connections a user
        # exports for it (the provider key, S3, alerts: AIRFLOW_CONN_<ID>) are meant for it.
        connections = {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW_CONN_")}
        super().__init__(base_dir, wall_clock=True, ui_port=ui_port, base_config=self._config_path,
                         extra_env={**connections, **(extra_env or {})}, parallelism=parallelism)

    @property
    def config_path(self) -> Path:
        return self._config_path

    @property
    def warehouse_root(self) -> str:
        return self.config().warehouse

    def _start_sources(self, progress) -> None:
        cfg = self.config()
        progress(f"• live sources from {self.config_path}: {len(cfg.news.sources)} news source(s), "
                 f"prices from {cfg.prices.base_url} (no replay world)…")

    def _schedule_end(self) -> str | None:
        return None

    def _stack_options(self) -> dict:
        # The config's relative paths (warehouse, catalog) mean what they mean in the user's shell.
        return {"workdir": Path.cwd()}

