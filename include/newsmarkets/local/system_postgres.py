"""Debian's PostgreSQL server (apt package ``postgresql``) as the Airflow metadata DB, in a temp dir.

The distributed topology runs what production runs: the distribution's own
server binaries (``/usr/lib/postgresql/<version>/bin``), password
authentication (scram-sha-256) and an ``airflow`` role owning the ``airflow``
database, as in ``docker-compose.yaml``. It is not Debian's cluster service:
the cluster lives in ``data_dir`` and the harness starts and stops it.

PostgreSQL refuses to run as root; as root the server runs as the ``postgres``
user the Debian package creates. ``scripts/ci-system-deps.sh`` installs it.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import subprocess
import time
from pathlib import Path

from newsmarkets.local.processes import stop_postmaster
from newsmarkets.local.postgres import _make_traversable, _read_postmaster_pid, _server_process, free_port

HOST = "127.0.0.1"
SUPERUSER = "postgres"
ROLE = "airflow"
DATABASE = "airflow"
SERVER_USER_AS_ROOT = "postgres"
MAX_CONNECTIONS = 300  # two workers' task processes each open their own connections
INSTALL_HINT = "install it with scripts/ci-system-deps.sh (apt-get install postgresql)"


class SystemPostgresError(RuntimeError):
    """Debian's PostgreSQL is missing, or the cluster could not be created, started or stopped."""


def debian_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<major>/bin`` holding ``pg_ctl``."""
    root = Path("/usr/lib/postgresql")
    versions = sorted((p for p in root.glob("*/bin/pg_ctl") if re.fullmatch(r"\d+", p.parent.parent.name)),
                      key=lambda p: int(p.parent.parent.name)) if root.is_dir() else []
    if not versions:
        raise SystemPostgresError(f"Debian's PostgreSQL server is not installed (no {root}/*/bin/pg_ctl); {INSTALL_HINT}")
    return versions[-1].parent


class SystemPostgres:
    """One PostgreSQL cluster in ``data_dir``, listening on 127.0.0.1 only, with password auth."""

    def __init__(self, data_dir: Path, port: int | None = None, *, start_timeout_s: float = 60.0) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port or free_port(HOST)
        self.start_timeout_s = start_timeout_s
        self.bin_dir = debian_bin_dir()
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self._password_file = self.data_dir.parent / f"{self.data_dir.name}.password"

    @property
    def password(self) -> str:
        """The ``airflow`` role's password (also the superuser's), generated once per cluster."""
        if not self._password_file.exists():
            self._password_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(18))
        return self._password_file.read_text().strip()

    @property
    def uri(self) -> str:
        """SQLAlchemy URI for Airflow's ``sql_alchemy_conn``."""
        return f"postgresql+psycopg2://{ROLE}:{self.password}@{HOST}:{self.port}/{DATABASE}"

    @property
    def dsn(self) -> str:
        return f"postgresql://{ROLE}:{self.password}@{HOST}:{self.port}/{DATABASE}"

    def is_running(self) -> bool:
        return _server_process(self.data_dir) is not None

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> str:
        """Initialise on first use, start, create role and database; returns :attr:`uri`."""
        if self.is_running():
            raise SystemPostgresError(f"a PostgreSQL server already runs on {self.data_dir}; stop it first")
        fresh = not (self.data_dir / "PG_VERSION").exists()
        if fresh:
            self._initdb()
        self._launch()
        if fresh:
            self._create_role_and_database()
        return self.uri

    def stop(self, timeout_s: float = 30.0) -> None:
        """Fast shutdown (open sessions rolled back); SIGKILL what is left. Idempotent."""
        proc = _server_process(self.data_dir)
        if proc is not None:
            stop_postmaster(proc, timeout_s)

    def restart(self) -> None:
        """Stop and start again on the same port and data (a metadata-DB restart)."""
        self.stop()
        self._launch()

    def __enter__(self) -> "SystemPostgres":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------

    def _user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(SERVER_USER_AS_ROOT)
        except KeyError:
            raise SystemPostgresError(f"no OS user {SERVER_USER_AS_ROOT!r} to run PostgreSQL as; {INSTALL_HINT}") from None
        return SERVER_USER_AS_ROOT

    def _run(self, args: list[str], timeout: float = 120.0) -> None:
        user = self._user()
        try:
            done = subprocess.run(
                [str(self.bin_dir / args[0]), *args[1:]], capture_output=True, text=True,
                stdin=subprocess.DEVNULL, timeout=timeout, user=user,
                group=pwd.getpwnam(user).pw_gid if user else None, cwd="/",
                env={k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C"},
            )
        except subprocess.TimeoutExpired as exc:
            raise SystemPostgresError(f"{args[0]} timed out after {timeout:.0f}s{self._log_tail()}") from exc
        if done.returncode != 0:
            raise SystemPostgresError(
                f"{args[0]} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()}{self._log_tail()}"
            )

    def _chown(self, path: Path) -> None:
        user = self._user()
        if user:
            entry = pwd.getpwnam(user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if any(self.data_dir.iterdir()):
            raise SystemPostgresError(f"{self.data_dir} is not empty but holds no cluster; refusing to initdb over it")
        _make_traversable(self.data_dir.parent)
        self._chown(self.data_dir)
        self.data_dir.chmod(0o700)
        pwfile = self.data_dir.parent / f".{self.data_dir.name}.initdb-pw"
        pwfile.write_text(self.password + "\n")
        self._chown(pwfile)
        try:
            self._run(["initdb", "-D", str(self.data_dir), "-U", SUPERUSER, f"--pwfile={pwfile}",
                       "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions"])
        finally:
            pwfile.unlink(missing_ok=True)

    def _launch(self) -> None:
        _make_traversable(self.data_dir.parent)  # pytest may have made tmp private again
        self.log_path.touch(exist_ok=True)
        self._chown(self.log_path)
        options = (
            f"-p {self.port} -h {HOST} -c max_connections={MAX_CONNECTIONS} -c unix_socket_directories='' "
            # A process crash loses nothing with this; only an OS crash could lose the last commits.
            "-c synchronous_commit=off"
        )
        self._run(["pg_ctl", "-D", str(self.data_dir), "start", "-w", "-t", str(int(self.start_timeout_s)),
                   "-l", str(self.log_path), "-o", options], timeout=self.start_timeout_s + 10)
        deadline = time.monotonic() + self.start_timeout_s
        while (_read_postmaster_pid(self.data_dir) or {}).get("status") != "ready":
            if time.monotonic() > deadline or not self.is_running():
                raise SystemPostgresError(f"PostgreSQL on {self.data_dir} did not become ready{self._log_tail()}")
            time.sleep(0.2)

    def _create_role_and_database(self) -> None:
        import psycopg2
        from psycopg2 import sql

        conn = psycopg2.connect(host=HOST, port=self.port, user=SUPERUSER, password=self.password,
                                dbname="postgres", connect_timeout=10)
        try:
            conn.autocommit = True  # CREATE DATABASE refuses to run in a transaction
            with conn.cursor() as cur:
                cur.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(ROLE)), (self.password,))
                cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(ROLE)))
        finally:
            conn.close()

    def _log_tail(self, lines: int = 20) -> str:
        try:
            tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return f"\n--- {self.log_path} ---\n" + "\n".join(tail) if tail else ""
