"""Debian's Redis server (apt package ``redis-server``) as the Celery broker, in a temp dir.

Password-protected and bound to 127.0.0.1, as in ``docker-compose.yaml``; no
persistence (a broker restart loses queued messages, which Airflow's scheduler
re-queues). The password reaches the server through its config file, never a
command line that ``ps`` would show.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

from newsmarkets.local.postgres import free_port
from newsmarkets.local.processes import stop_group, wait_until_ready

HOST = "127.0.0.1"
INSTALL_HINT = "install it with scripts/ci-system-deps.sh (apt-get install redis-server)"


class RedisServerError(RuntimeError):
    """redis-server is missing or did not start; the message carries its log."""


class RedisServer:
    """One ``redis-server`` process whose config, log and lifetime belong to ``work_dir``."""

    def __init__(self, work_dir: Path, port: int | None = None, *, start_timeout_s: float = 30.0) -> None:
        self.work_dir = Path(work_dir).absolute()
        self.port = port or free_port(HOST)
        self.start_timeout_s = start_timeout_s
        self.password = secrets.token_urlsafe(18)
        self.log_path = self.work_dir / "redis.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Celery's ``broker_url``."""
        return f"redis://:{self.password}@{HOST}:{self.port}/0"

    def start(self) -> str:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.access(binary, os.X_OK):
            raise RedisServerError(f"redis-server is not installed; {INSTALL_HINT}")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        conf = self.work_dir / "redis.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(
                f"bind {HOST}\nport {self.port}\nprotected-mode yes\nrequirepass {self.password}\n"
                f"dir {self.work_dir}\nsave \"\"\nappendonly no\ndaemonize no\nlogfile {self.log_path}\n"
            )
        self.proc = subprocess.Popen([binary, str(conf)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, start_new_session=True, cwd=self.work_dir)
        self._wait_ready()
        return self.url

    def _wait_ready(self) -> None:
        import redis

        wait_until_ready(
            self.proc, lambda: redis.Redis(host=HOST, port=self.port, password=self.password, socket_timeout=2).ping(),
            timeout_s=self.start_timeout_s, what=f"redis-server on {HOST}:{self.port}", log_path=self.log_path,
            error=RedisServerError, poll_s=0.1)

    def stop(self) -> None:
        stop_group(self.proc)

    def __enter__(self) -> "RedisServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
