"""Run the replay world's HTTP server as a child process, as Airflow's tasks see it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from newsmarkets.local.processes import stop_group, wait_until_ready


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
        wait_until_ready(self.proc, lambda: requests.get(f"{self.base_url}/ping", timeout=2).ok,
                         timeout_s=timeout_s, what=f"replay server on port {self.port}", log_path=self.log_path,
                         error=ReplayProcessError)
        return self

    def set_faults(self, **faults) -> None:
        """Switch faults on in the running server (see newsmarkets.replay.server)."""
        resp = requests.post(f"{self.control_url}/faults", json=faults, timeout=5)
        resp.raise_for_status()

    def faults(self) -> list[dict]:
        """The faults still queued (each leaves the queue once it has hit its ``count`` requests)."""
        resp = requests.get(f"{self.control_url}/faults", timeout=5)
        resp.raise_for_status()
        return resp.json()["faults"]

    def clear_faults(self) -> None:
        requests.delete(f"{self.control_url}/faults", timeout=5).raise_for_status()

    def set_budget(self, calls: int | None, window_s: float = 60.0) -> dict | None:
        """Enforce ``calls`` API calls per sliding ``window_s`` across all clients (None: lift it); counts restart."""
        if calls is None:
            resp = requests.delete(f"{self.control_url}/budget", timeout=5)
        else:
            resp = requests.post(f"{self.control_url}/budget", json={"calls": calls, "window_s": window_s}, timeout=5)
        resp.raise_for_status()
        return resp.json()["budget"]

    def budget(self) -> dict | None:
        """The budget's counts: calls, window_s, admitted, refused, max_in_window (None: no budget)."""
        resp = requests.get(f"{self.control_url}/budget", timeout=5)
        resp.raise_for_status()
        return resp.json()["budget"]

    def request_log(self) -> list[dict]:
        """Every request the server answered so far: path, query, status and the API key header's name."""
        resp = requests.get(f"{self.control_url}/requests", timeout=10)
        resp.raise_for_status()
        return resp.json()["requests"]

    def stop(self) -> None:
        stop_group(self.proc)

    def __enter__(self) -> "ReplayProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
