"""A real Airflow 3 on this machine: scheduler, DAG processor, API server, triggerer
(and, with the CeleryExecutor, Celery workers).

Airflow 3 runs every task through the API server's Execution API, so all
components must run together. We launch them as four separate processes rather
than ``airflow standalone`` because:

* each component gets its own log file (``home/logs/<component>.log``) and a
  crashed component is noticed at once (``Popen.poll``) with its log tail in the
  error; ``standalone`` keeps running with a dead scheduler and interleaves all
  output on one stream;
* each component leads its own process group (``start_new_session``), so
  ``stop()`` can signal a component together with everything it forked
  (LocalExecutor workers, task processes, parsing processes, log servers);
* ``standalone`` forces its own auth/password handling, resolves ``airflow`` on
  ``PATH`` and migrates on every start; here each of those is explicit.

Everything lives under ``home`` (AIRFLOW_HOME): config, logs, bundle storage,
generated secrets and the ``admin`` password. Ports other than the UI's are
picked free so two stacks (``make airflow`` and a test) can run side by side.
Inherited ``AIRFLOW*`` variables are dropped so a caller's shell cannot
reconfigure the stack by accident; pass overrides through ``env`` instead.

The executor is a parameter: ``LocalExecutor`` (the embedded default) or
``CeleryExecutor`` with a ``broker_url`` and named ``celery_workers``; each
worker is one more component (``celery-<name>``, log ``logs/celery-<name>.log``)
started with ``airflow celery worker -H <name>``. Workers on one machine share
the logs folder, so they do not serve logs over HTTP (``--skip-serve-logs``);
each records its own name as the task instances' ``hostname``, as separate
machines would.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

from newsmarkets.local.postgres import free_port, is_port_free

COMPONENTS = ("scheduler", "dag-processor", "api-server", "triggerer")
ADMIN_USER = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json"
SECRETS_FILE = "stack_secrets.json"
PIDS_FILE = "stack_pids.json"
DEFAULT_PORT = 8080
# Components that have not exited this long after SIGTERM get SIGKILL; the
# scheduler waits for its LocalExecutor workers, which are quick to stop.
STOP_GRACE_S = 20.0
STOP_ORDER = (("scheduler", "triggerer"), ("dag-processor", "api-server"))
EXECUTORS = ("LocalExecutor", "CeleryExecutor")
WORKER_PREFIX = "celery-"
# Celery prints this once the worker consumes from the broker.
WORKER_READY_MARK = " ready."


class AirflowStackError(RuntimeError):
    """The Airflow stack failed to start, became unhealthy or a CLI/API call failed."""


@contextmanager
def stop_on_termination() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into ``KeyboardInterrupt`` inside the block.

    Python dies on SIGTERM without running ``finally`` blocks; under this
    context manager a ``with AirflowStack(...)`` still stops every process
    when CI or ``kill`` ends the foreground command.
    """

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"received signal {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def libpq_dsn(db_uri: str) -> str:
    """``postgresql+psycopg2://…`` (SQLAlchemy) → ``postgresql://…`` (libpq/psycopg2)."""
    scheme, sep, rest = db_uri.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        raise AirflowStackError(f"db_uri must be a postgresql:// URI, got {db_uri!r}")
    return f"postgresql://{rest}"


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"(no log at {path})"
    return f"--- {path} (last {len(text)} lines) ---\n" + "\n".join(text)


def _load_or_create_json(path: Path, make: Any) -> dict[str, str]:
    """Read a small JSON secrets file, creating it (mode 0600) on first use."""
    if path.exists():
        return json.loads(path.read_text())
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(value, handle)
        handle.write("\n")
    return value


class AirflowStack:
    """Airflow 3.3 on a PostgreSQL metadata DB, started and stopped by us.

    ``port=None`` picks a free port for the API server/UI. ``env`` is passed to
    every component (and to ``cli()``) on top of the stack's own settings.
    """

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        db_uri: str,
        env: Mapping[str, str] | None = None,
        port: int | None = DEFAULT_PORT,
        *,
        host: str = "127.0.0.1",
        parallelism: int = 4,
        with_triggerer: bool = True,
        startup_timeout_s: float = 180.0,
        pycache_dir: Path | None = None,
        executor: str = "LocalExecutor",
        broker_url: str | None = None,
        celery_workers: Iterable[str] = (),
        worker_concurrency: int = 2,
        workdir: Path | None = None,
    ) -> None:
        if executor not in EXECUTORS:
            raise AirflowStackError(f"executor must be one of {EXECUTORS}, got {executor!r}")
        celery_workers = tuple(celery_workers)
        if executor == "CeleryExecutor" and (not broker_url or not celery_workers):
            raise AirflowStackError("the CeleryExecutor needs a broker_url and at least one name in celery_workers")
        if executor != "CeleryExecutor" and celery_workers:
            raise AirflowStackError(f"celery_workers given but the executor is {executor}")
        if len(set(celery_workers)) != len(celery_workers) or not all(celery_workers):
            raise AirflowStackError(f"celery_workers must be distinct non-empty names, got {celery_workers}")
        self.home = Path(home).expanduser().absolute()
        # Every component's (and so every task's) working directory: a config's relative paths resolve here.
        self.workdir = Path(workdir).expanduser().absolute() if workdir else self.home
        self.dags_folder = Path(dags_folder).expanduser().absolute()
        self.db_uri = db_uri
        self.dsn = libpq_dsn(db_uri)
        self.extra_env = dict(env or {})
        self.port = port if port is not None else free_port(host)
        self.host = host
        self.parallelism = parallelism
        self.executor = executor
        self.broker_url = broker_url
        self.worker_concurrency = worker_concurrency
        self.celery_workers = celery_workers
        base = COMPONENTS if with_triggerer else tuple(c for c in COMPONENTS if c != "triggerer")
        self.components = base + tuple(WORKER_PREFIX + name for name in celery_workers)
        self.startup_timeout_s = startup_timeout_s
        self.logs_dir = self.home / "logs"
        self.pycache_dir = Path(pycache_dir).absolute() if pycache_dir else self.home / ".pycache"
        self._procs: dict[str, subprocess.Popen] = {}
        self._log_handles: list[Any] = []
        self._token: str | None = None
        self._started_at: datetime | None = None
        # Fixed defaults (8793/8794) would collide between two stacks on one machine.
        self._worker_log_port = free_port(host)
        self._trigger_log_port = free_port(host)

    # -- configuration ------------------------------------------------------

    @property
    def base_url(self) -> str:
        reachable = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{reachable}:{self.port}"

    @property
    def admin_password(self) -> str:
        """The ``admin`` UI/API password, generated once and kept in ``home``."""
        passwords = _load_or_create_json(
            self.home / PASSWORDS_FILE, lambda: {ADMIN_USER: secrets.token_urlsafe(12)}
        )
        if ADMIN_USER not in passwords:
            raise AirflowStackError(f"{self.home / PASSWORDS_FILE} has no {ADMIN_USER!r} entry")
        return passwords[ADMIN_USER]

    def _secrets(self) -> dict[str, str]:
        # Scheduler and API server must agree on the JWT secret (task tokens);
        # keeping them across restarts keeps UI sessions valid.
        return _load_or_create_json(
            self.home / SECRETS_FILE,
            lambda: {"jwt_secret": secrets.token_urlsafe(32), "api_secret_key": secrets.token_urlsafe(32)},
        )

    @property
    def environ(self) -> dict[str, str]:
        """The complete environment every ``airflow`` process of this stack runs with."""
        stack_secrets = self._secrets()
        self.admin_password  # create the password file before any component reads it
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "PYTHONDONTWRITEBYTECODE"
        }
        venv_bin = str(Path(sys.executable).parent)
        settings = {
            "AIRFLOW_HOME": str(self.home),
            "PATH": venv_bin + os.pathsep + inherited.get("PATH", ""),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            # plugins/airflow_local_settings.py preloads task libraries into the forking processes
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(Path(self.dags_folder).parent / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": self.executor,
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / PASSWORDS_FILE),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db_uri,
            "AIRFLOW__API__HOST": self.host,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": stack_secrets["api_secret_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": stack_secrets["jwt_secret"],
            # Pick up new DAG files within seconds instead of the 5-minute default.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "15",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(self.home / "bundles"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs_dir),
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self._worker_log_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self._trigger_log_port),
            # Importing Airflow from source takes ~2x as long as from bytecode; every
            # component and CLI call pays it, so cache bytecode (outside the venv).
            "PYTHONPYCACHEPREFIX": str(self.pycache_dir),
            "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1",
        }
        if self.executor == "CeleryExecutor":
            settings |= {
                "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
                # Results next to the metadata, as docker-compose.yaml does.
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.dsn,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            }
        return inherited | settings | self.extra_env

    def _component_command(self, component: str) -> tuple[list[str], dict[str, str]]:
        """The argv of one component and the environment overrides only it gets."""
        if not component.startswith(WORKER_PREFIX):
            return [sys.executable, "-m", "airflow", component], {}
        name = component[len(WORKER_PREFIX):]
        command = [
            sys.executable, "-m", "airflow", "celery", "worker", "--celery-hostname", name,
            "--concurrency", str(self.worker_concurrency), "--skip-serve-logs",
            "--pid", str(self.home / f"{component}.pid"),
        ]
        return command, {
            "NEWSMARKETS_WORKER_HOSTNAME": name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "newsmarkets.local.hostname.worker_hostname",
        }

    # -- CLI and database ---------------------------------------------------

    def cli(self, *args: str, check: bool = True, timeout_s: float = 300.0) -> subprocess.CompletedProcess:
        """Run ``airflow <args>`` with this stack's environment; output is captured."""
        command = [sys.executable, "-m", "airflow", *args]
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                command,
                env=self.environ,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                cwd=self.workdir,
            )
        except subprocess.TimeoutExpired as exc:
            raise AirflowStackError(f"`airflow {' '.join(args)}` timed out after {timeout_s:.0f}s") from exc
        if check and done.returncode != 0:
            output = (done.stderr.strip() + "\n" + done.stdout.strip()).strip()
            raise AirflowStackError(
                f"`airflow {' '.join(args)}` failed (exit {done.returncode}):\n" + "\n".join(output.splitlines()[-30:])
            )
        return done

    def connect(self):
        """A new psycopg2 connection to the metadata DB (autocommit: we only read)."""
        import psycopg2

        conn = psycopg2.connect(self.dsn, connect_timeout=10)
        conn.autocommit = True
        return conn

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, tuple(params))
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def migrate(self) -> None:
        """Create or upgrade the metadata schema (``airflow db migrate``); idempotent."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.cli("db", "migrate", timeout_s=600)
        self.create_pools()
        self.create_tables()

    def create_tables(self) -> None:
        """Create the warehouse's missing tables before any run writes (``newsmarkets warehouse init``).

        In a child process: this process may fork later, and a process that used
        deltalake must not (its runtime panics in the child).
        """
        done = subprocess.run([sys.executable, "-m", "newsmarkets.cli", "warehouse", "init"], env=self.environ,
                              cwd=self.workdir, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise AirflowStackError(f"newsmarkets warehouse init failed (exit {done.returncode}): "
                                    f"{(done.stderr or done.stdout)[-2000:]}")

    def create_pools(self) -> None:
        """The pools the DAGs' API-calling tasks need, sized from this stack's config (idempotent)."""
        from newsmarkets.config import load_config
        from newsmarkets.orchestration.pools import apply_pools

        env = self.environ
        apply_pools(load_config(env.get("NEWSMARKETS_CONFIG")), env=env, cwd=self.workdir)

    # -- lifecycle ----------------------------------------------------------

    def start(self, *, migrate: bool = True, dag_ids: Iterable[str] | None = None) -> None:
        """Launch all components, wait until healthy and the DAGs are parsed.

        ``dag_ids`` names the DAGs to wait for; by default every DAG file in
        ``dags_folder`` must be parsed (or fail with its import error).
        """
        if self._procs:
            raise AirflowStackError("this stack is already started")
        if not self.dags_folder.is_dir():
            raise AirflowStackError(f"dags_folder {self.dags_folder} is not a directory")
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._kill_leftovers()
        if not is_port_free(self.port, self.host):
            raise AirflowStackError(
                f"port {self.port} on {self.host} is in use; stop whatever listens there or pass another port"
            )
        if migrate:
            self.migrate()
        env = self.environ
        started = time.monotonic()
        self._started_at = datetime.now(timezone.utc)
        try:
            for component in self.components:
                log = open(self.logs_dir / f"{component}.log", "ab", buffering=0)
                self._log_handles.append(log)
                log.write(f"\n==== {datetime.now().isoformat(timespec='seconds')} starting {component} ====\n".encode())
                command, own_env = self._component_command(component)
                self._procs[component] = subprocess.Popen(
                    command,
                    env=env | own_env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    start_new_session=True,
                )
            (self.home / PIDS_FILE).write_text(json.dumps({c: p.pid for c, p in self._procs.items()}))
            self.wait_healthy(timeout_s=self.startup_timeout_s)
            remaining = max(30.0, self.startup_timeout_s - (time.monotonic() - started))
            self.wait_for_dags(dag_ids, timeout_s=remaining)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate every component with its whole process group; SIGKILL stragglers. Idempotent.

        Scheduler and triggerer go first, while the API server still runs: their
        task processes report their final state through the Execution API and
        would otherwise retry against a dead server until killed.
        """
        workers = tuple(name for name in self._procs if name.startswith(WORKER_PREFIX))
        for phase in ((*STOP_ORDER[0], *workers), *STOP_ORDER[1:]):
            pids = [proc.pid for name, proc in self._procs.items() if name in phase]
            self._terminate_groups(pids)
        for proc in self._procs.values():
            try:
                proc.wait(timeout=5)  # reap, so no zombie stays behind
            except subprocess.TimeoutExpired:
                pass
        for handle in self._log_handles:
            handle.close()
        self._procs.clear()
        self._log_handles.clear()
        self._token = None
        (self.home / PIDS_FILE).unlink(missing_ok=True)

    def kill_component(self, component: str, sig: signal.Signals = signal.SIGKILL) -> list[int]:
        """Send ``sig`` to a component and everything it forked (a crash, for fault tests); returns the PIDs.

        The stack keeps running without it; :meth:`restart_component` brings it back.
        """
        proc = self._procs.get(component)
        if proc is None:
            raise AirflowStackError(f"no component {component!r} (running: {sorted(self._procs)})")
        family = self._process_family(proc.pid)
        self._signal_group(proc.pid, sig)
        for member in family:
            try:
                member.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        if sig == signal.SIGKILL:
            psutil.wait_procs(family, timeout=10)
            proc.wait(timeout=10)
        return [member.pid for member in family]

    def exited_components(self) -> dict[str, int]:
        """``{component: exit code}`` of the components whose process has exited (crashed or killed)."""
        return {name: proc.returncode for name, proc in self._procs.items() if proc.poll() is not None}

    def restart_component(self, component: str, *, wait: bool = True) -> None:
        """Start a component that exited (or was killed) again, with the same command and environment.

        ``wait=False`` returns once it is launched (several components are
        restarted at once, then :meth:`wait_healthy` is called once).
        """
        proc = self._procs.get(component)
        if proc is None:
            raise AirflowStackError(f"no component {component!r} (running: {sorted(self._procs)})")
        if proc.poll() is None:
            raise AirflowStackError(f"{component} is still running (pid {proc.pid}); kill it first")
        log = open(self.logs_dir / f"{component}.log", "ab", buffering=0)
        self._log_handles.append(log)
        log.write(f"\n==== {datetime.now().isoformat(timespec='seconds')} starting {component} ====\n".encode())
        command, own_env = self._component_command(component)
        self._procs[component] = subprocess.Popen(
            command, env=self.environ | own_env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=self.workdir, start_new_session=True,
        )
        (self.home / PIDS_FILE).write_text(json.dumps({c: p.pid for c, p in self._procs.items()}))
        if wait:
            self.wait_healthy(timeout_s=self.startup_timeout_s)

    @classmethod
    def _terminate_groups(cls, pgids: Iterable[int]) -> None:
        """SIGTERM the process groups led by ``pgids``, wait, then SIGKILL whatever is left."""
        pgids = list(pgids)
        family: dict[int, psutil.Process] = {}
        for pgid in pgids:
            family |= {p.pid: p for p in cls._process_family(pgid)}
        for pgid in pgids:
            cls._signal_group(pgid, signal.SIGTERM)
        _gone, alive = psutil.wait_procs(list(family.values()), timeout=STOP_GRACE_S)
        for pgid in pgids:
            cls._signal_group(pgid, signal.SIGKILL)
        for straggler in alive:
            try:
                straggler.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)

    def wait(self, poll_s: float = 2.0) -> None:
        """Block while every component runs (``make airflow``); raises when one exits."""
        if not self._procs:
            raise AirflowStackError("this stack is not started")
        while True:
            self._check_alive()
            time.sleep(poll_s)

    def describe(self) -> str:
        """Where to log in: UI URL, user and password."""
        return f"Airflow UI: {self.base_url}  user: {ADMIN_USER}  password: {self.admin_password}"

    def __enter__(self) -> AirflowStack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @staticmethod
    def _process_family(pid: int) -> list[psutil.Process]:
        """The process, its descendants and the rest of its process group."""
        members: list[psutil.Process] = []
        try:
            leader = psutil.Process(pid)
            members = [leader, *leader.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
        for proc in psutil.process_iter():
            try:
                if os.getpgid(proc.pid) == pid:
                    members.append(proc)
            except (ProcessLookupError, psutil.NoSuchProcess):
                continue
        return members

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _kill_leftovers(self) -> None:
        """Stop components a crashed earlier run of this home left behind (they hold the ports)."""
        pids_file = self.home / PIDS_FILE
        if not pids_file.exists():
            return
        leftovers = []
        for pid in json.loads(pids_file.read_text()).values():
            try:
                cmdline = " ".join(psutil.Process(pid).cmdline())
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
            if "airflow" in cmdline:  # otherwise the PID was reused by something else
                leftovers.append(pid)
        self._terminate_groups(leftovers)
        pids_file.unlink()

    # -- readiness ----------------------------------------------------------

    def _check_alive(self) -> None:
        for component, proc in self._procs.items():
            if proc.poll() is not None:
                raise AirflowStackError(
                    f"airflow {component} exited with code {proc.returncode}\n"
                    + _tail(self.logs_dir / f"{component}.log")
                )

    def health(self) -> dict[str, Any]:
        """``GET /api/v2/monitor/health`` (no auth needed)."""
        import requests

        response = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
        response.raise_for_status()
        return response.json()

    def wait_healthy(self, timeout_s: float = 180.0) -> None:
        """Wait until the API server answers and reports DB, scheduler, DAG processor (and triggerer) healthy."""
        import requests

        wanted = ["metadatabase", "scheduler", "dag_processor"] + (
            ["triggerer"] if "triggerer" in self.components else []
        )
        deadline = time.monotonic() + timeout_s
        last: Any = "API server not answering yet"
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                report = self.health()
            except (requests.RequestException, ValueError) as exc:
                last = exc
            else:
                statuses = {name: (report.get(name) or {}).get("status") for name in wanted}
                statuses |= {w: "ready" if self._worker_ready(w) else "starting" for w in self._worker_components()}
                if all(status in ("healthy", "ready") for status in statuses.values()):
                    return
                last = statuses
            time.sleep(1)
        tails = "\n".join(_tail(self.logs_dir / f"{c}.log", 15) for c in self.components)
        raise AirflowStackError(f"Airflow not healthy after {timeout_s:.0f}s: {last}\n{tails}")

    def _worker_components(self) -> list[str]:
        return [c for c in self.components if c.startswith(WORKER_PREFIX)]

    def _worker_ready(self, component: str) -> bool:
        """Whether the worker's log says it consumes, since its latest start (the log is appended to)."""
        try:
            text = (self.logs_dir / f"{component}.log").read_text(errors="replace")
        except OSError:
            return False
        return WORKER_READY_MARK in text.rsplit(f" starting {component} ====", 1)[-1]

    def _expected_dag_files(self) -> set[str]:
        """DAG files the processor will parse, by Airflow's safe-mode rule ("airflow" and "dag" in the text)."""
        files = set()
        for path in self.dags_folder.rglob("*.py"):
            if any(part.startswith((".", "_")) for part in path.relative_to(self.dags_folder).parts):
                continue
            text = path.read_text(errors="replace").lower()
            if "airflow" in text and "dag" in text:
                files.add(str(path))
        return files

    def wait_for_dags(
        self, dag_ids: Iterable[str] | None = None, timeout_s: float = 120.0, *, since: datetime | None = None
    ) -> list[str]:
        """Wait until the DAGs are parsed and serialized; returns the parsed dag_ids.

        Only parses at or after ``since`` count (default: when this stack was
        started), so rows left in a reused database by an earlier run do not
        pass for fresh ones; pass ``since=datetime.now(timezone.utc)`` to wait
        for a file just edited. Raises at once with the stack trace when a DAG
        file has an import error.
        """
        since = since or self._started_at or datetime(1970, 1, 1, tzinfo=timezone.utc)
        wanted_ids = set(dag_ids) if dag_ids is not None else None
        wanted_files = self._expected_dag_files() if wanted_ids is None else set()
        deadline = time.monotonic() + timeout_s
        missing: set[str] = set()
        errors: list[tuple] = []
        while time.monotonic() < deadline:
            self._check_alive()
            errors = self.query("SELECT filename, stacktrace FROM import_error WHERE timestamp >= %s", (since,))
            for filename, stacktrace in errors:
                # import_error.filename is relative to the bundle root in Airflow 3.
                if str(self.dags_folder / filename) in wanted_files:
                    raise AirflowStackError(f"DAG file {filename} failed to import:\n{stacktrace}")
            parsed = self.query(
                "SELECT d.dag_id, d.fileloc FROM dag d WHERE NOT d.is_stale AND d.last_parsed_time >= %s "
                "AND EXISTS (SELECT 1 FROM serialized_dag s WHERE s.dag_id = d.dag_id)",
                (since,),
            )
            if wanted_ids is not None:
                missing = wanted_ids - {dag_id for dag_id, _ in parsed}
            else:
                missing = wanted_files - {fileloc for _, fileloc in parsed}
            if not missing:
                return sorted(dag_id for dag_id, _ in parsed)
            time.sleep(1)
        import_errors = "".join(f"\nimport error in {name}:\n{trace}" for name, trace in errors)
        raise AirflowStackError(
            f"DAGs not parsed after {timeout_s:.0f}s, still missing: {sorted(missing)}{import_errors}\n"
            + _tail(self.logs_dir / "dag-processor.log", 30)
        )

    # -- REST API -----------------------------------------------------------

    def api(self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """Call the public REST API (``/api/v2`` + path) as ``admin``; returns the decoded JSON."""
        import requests

        for attempt in (1, 2):
            if self._token is None:
                login = requests.post(
                    f"{self.base_url}/auth/token",
                    json={"username": ADMIN_USER, "password": self.admin_password},
                    timeout=30,
                )
                if login.status_code >= 400:
                    raise AirflowStackError(f"login as {ADMIN_USER} failed: HTTP {login.status_code} {login.text}")
                self._token = login.json()["access_token"]
            response = requests.request(
                method,
                f"{self.base_url}/api/v2{path}",
                json=json_body,
                params=params,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=60,
            )
            if response.status_code == 401 and attempt == 1:
                self._token = None  # expired token: log in again once
                continue
            if response.status_code >= 400:
                raise AirflowStackError(f"{method} /api/v2{path} failed: HTTP {response.status_code} {response.text}")
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json_body={"is_paused": False}, params={"update_mask": "is_paused"})

    def pause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json_body={"is_paused": True}, params={"update_mask": "is_paused"})

    def trigger(self, dag_id: str, logical_date: datetime | None = None, conf: Mapping[str, Any] | None = None) -> str:
        """Create a manual DAG run; returns its run_id.

        ``logical_date`` must be timezone-aware; ``None`` makes a run without a
        logical date (Airflow 3), which has no ``ds``/data interval, so pass one
        for interval-based DAGs.
        """
        if logical_date is not None and logical_date.tzinfo is None:
            raise AirflowStackError(f"logical_date {logical_date!r} for {dag_id} must be timezone-aware (UTC)")
        body = {
            "logical_date": logical_date.isoformat() if logical_date else None,
            "conf": dict(conf or {}),
        }
        return self.api("POST", f"/dags/{dag_id}/dagRuns", json_body=body)["dag_run_id"]
