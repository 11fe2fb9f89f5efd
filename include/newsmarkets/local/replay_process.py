"""Run the replay world's HTTP server as a child process, as Airflow's tasks see it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests


class ReplayProcessError(RuntimeError):
    """The replay server did not come up; the message carries its output."""


class ReplayProcess:
    """``newsmarkets replay serve`` in its own process group, with its log in ``log_path``."""

    def __init__(self, *, config: str, port: int, log_path: Path, now: str | None = None,
                 start: str | None = None, days: int | None = None, extra_args: list[str] | None = None):
        self.config, self.port, self.log_path = config, port, Path(log_path)
        self.now, self.start_day, self.days = now, start, days
        self.extra_args = list(extra_args or [])
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v3"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/_replay"

    def start(self, timeout_s: float = 60.0) -> "ReplayProcess":
        cmd = [sys.executable, "-m", "newsmarkets.cli", "replay", "serve", "--config", self.config,
               "--port", str(self.port)]
        if self.now:
            cmd += ["--now", self.now]
        if self.start_day:
            cmd += ["--start", self.start_day]
        if self.days:
            cmd += ["--days", str(self.days)]
        cmd += self.extra_args
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ReplayProcessError(f"replay server exited with {self.proc.returncode}:\n{self._tail()}")
            try:
                if requests.get(f"{self.base_url}/ping", timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise ReplayProcessError(f"replay server not answering on port {self.port} after {timeout_s:.0f}s:\n{self._tail()}")

    def set_faults(self, **faults) -> None:
        """Switch faults on in the running server (see newsmarkets.replay.server)."""
        resp = requests.post(f"{self.control_url}/faults", json=faults, timeout=5)
        resp.raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.control_url}/faults", timeout=5).raise_for_status()

    def _tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def __enter__(self) -> "ReplayProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
