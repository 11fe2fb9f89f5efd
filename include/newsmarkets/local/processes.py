"""What every server launcher here shares: start in its own session, wait until it answers, stop its group.

The replay world, Redis and the S3 endpoint are children we ``Popen`` in a new
session, so one signal to the group stops them and whatever they forked; the
PostgreSQL servers are found by their data directory and stopped through the
postmaster (:func:`stop_postmaster`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import psutil


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` of a server's log, headed by its path, for error messages ("" when unreadable)."""
    try:
        return f"\n--- {path} ---\n" + "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until_ready(proc: subprocess.Popen, probe: Callable[[], bool], *, timeout_s: float, what: str,
                     log_path: Path, error: type[Exception], poll_s: float = 0.2) -> None:
    """Poll ``probe`` until it is true; raise ``error`` (with the log's tail) if ``proc`` exits or time runs out.

    On time-out the process group is stopped first, so a failed start leaves nothing running.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise error(f"{what} exited with {proc.returncode}{log_tail(log_path)}")
        try:
            if probe():
                return
        except Exception:  # noqa: BLE001 - not answering yet, whatever the client says
            pass
        time.sleep(poll_s)
    stop_group(proc)
    raise error(f"{what} not answering after {timeout_s:.0f}s{log_tail(log_path)}")


def stop_group(proc: subprocess.Popen | None, grace_s: float = 10.0) -> None:
    """SIGTERM the process group ``proc`` leads, SIGKILL it after ``grace_s``. Idempotent."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def stop_postmaster(proc: psutil.Process, timeout_s: float = 30.0) -> list[psutil.Process]:
    """Fast-shutdown a PostgreSQL postmaster, SIGKILL stragglers; returns processes still alive after that.

    SIGINT is PostgreSQL's "fast" shutdown: open sessions (an Airflow that died
    mid-query) are rolled back instead of waited for.
    """
    try:
        family = [proc, *proc.children(recursive=True)]
        proc.send_signal(signal.SIGINT)
    except psutil.NoSuchProcess:
        return []
    _gone, alive = psutil.wait_procs(family, timeout=timeout_s)
    for straggler in alive:
        try:
            straggler.kill()
        except psutil.NoSuchProcess:
            pass
    _gone, alive = psutil.wait_procs(alive, timeout=5)
    return alive
