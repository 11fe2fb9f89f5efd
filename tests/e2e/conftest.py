"""One embedded environment (database, replay world, Airflow) for every end-to-end test.

Starting Airflow costs ~30 s on two cores, so the session shares it; each test
owns its DAG and intervals, and fault switches are cleared after use.
"""

import json
import secrets
import shutil
import socket
import sys
import tempfile
import threading
from datetime import date
from pathlib import Path

import pytest

from newsmarkets.local.environment import EmbeddedEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))  # the alert receivers live there
from alertkit import LocalSmtp, LocalWebhook  # noqa: E402
from newsmarkets.warehouse.writer import Warehouse  # noqa: E402
from secrecy import prices_connection_env  # noqa: E402

DAYS = 3
# The real past, not the bundled world's 2026 dates: every end-to-end run is a
# backfill of 2024-10-14..16, around the day of the page this project was
# designed from (issue 21: "backfilling 2024-10-15 ... works end to end").
WORLD_START = date(2024, 10, 14)
# CoinGecko's key, given to Airflow only as the newsmarkets_prices connection;
# test_secrets.py checks it is used and never written anywhere Airflow keeps things.
API_KEY = f"nm-test-key-{secrets.token_hex(12)}"


ALERT_SMTP_CONN = "nm_alert_smtp"
LINEAGE_DIR = "openlineage"  # under the environment's base folder


@pytest.fixture(scope="session")
def alerts():
    """A real webhook receiver and SMTP server every alert of the session goes to (issue 26)."""
    with LocalWebhook() as hook, LocalSmtp() as smtp:
        yield hook, smtp


_SUBJECTS = {"quarantine": "Quarantined batch", "task_failed": "Task ", "dag_run_failed": "DAG run ",
             "late_snapshot": "Late: "}


def alerts_of(receiver, kind: str, *, timeout_s: float = 180.0, **fields) -> list:
    """Wait for messages of ``kind`` whose fields match (webhook JSON bodies; e-mails by subject and body).

    Alerts are sent by task processes, the DAG processor and the triggerer, a little after the run ends.
    """
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        if isinstance(receiver, LocalWebhook):
            found = [m for m in list(receiver.received) if m.get("kind") == kind
                     and all(m.get(k) == v for k, v in fields.items())]
        else:
            found = [m for m in list(receiver.received) if m.subject.startswith("[newsmarkets] " + _SUBJECTS[kind])
                     and all(str(v) in m.subject + m.html for v in fields.values())]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


class StatsdReceiver:
    """A StatsD server on 127.0.0.1 (UDP) keeping every metric line Airflow sends it."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except OSError:
                continue
            self.lines.extend(data.decode("utf-8", "replace").splitlines())

    def names(self) -> set[str]:
        return {line.split(":", 1)[0] for line in list(self.lines)}

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="session")
def statsd():
    """Airflow's metrics, switched on for the shared environment as a user would (issue 28)."""
    receiver = StatsdReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def env(alerts, statsd):
    # Not under /tmp/pytest-of-<user>: any other pytest session starting on the
    # machine resets that folder to 0700, and the embedded PostgreSQL (which
    # runs as its own user) then loses its data directory mid-run.
    base = tempfile.mkdtemp(prefix="newsmarkets-e2e-")
    lineage_dir = Path(base) / LINEAGE_DIR
    lineage_dir.mkdir()
    environment = EmbeddedEnvironment(
        base, days=DAYS, start=WORLD_START,
        extra_env={"NEWSMARKETS_TASK_RETRIES": "1", "NEWSMARKETS_RETRY_DELAY_S": "2",
                   # The key only as an Airflow connection (issue 26): no COINGECKO_API_KEY variable.
                   **prices_connection_env(API_KEY),
                   f"AIRFLOW_CONN_{ALERT_SMTP_CONN.upper()}": alerts[1].connection_uri_env(),
                   # Lineage switched on as a user would (issue 28): one JSON file per OpenLineage event.
                   "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                       {"type": "file", "log_file_path": str(lineage_dir / "event"), "append": False}),
                   "AIRFLOW__OPENLINEAGE__NAMESPACE": "newsmarkets-e2e",
                   "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
                   "AIRFLOW__METRICS__STATSD_ON": "True", "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
                   "AIRFLOW__METRICS__STATSD_PORT": str(statsd.port)},
        config_overrides={"alerts": {"webhook_url": alerts[0].url(), "email_to": ["oncall@example.org"],
                                     "email_from": "newsmarkets@example.org", "smtp_conn_id": ALERT_SMTP_CONN}},
    )
    environment.start(progress=lambda m: None)
    yield environment
    environment.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def warehouse(env):
    return Warehouse.from_config(env.config())


def run_backfill(env, dag_id, start, end, expected, reprocess="completed", max_active_runs=2, run_backwards=False):
    """Create a backfill through Airflow and wait for it; returns {run_id: state}.

    Tests share one Airflow, so another test may already have run some of these
    dates: by default they are all run again ("completed"), so ``expected``
    never depends on the order tests run in.
    """
    from newsmarkets.local.backfill import DagRunFailed, create_backfill, run_states, wait_for_runs

    backfill_id = create_backfill(env.airflow, dag_id, start, end, max_active_runs=max_active_runs, reprocess=reprocess,
                                  run_backwards=run_backwards)
    try:
        states = wait_for_runs(env.airflow, dag_id, backfill_id=backfill_id, expected=expected, timeout_s=900,
                               fail_fast=False, progress=None)
    except DagRunFailed:
        states = run_states(env.airflow, dag_id, backfill_id=backfill_id)
    assert len(states) == expected, states
    return states
