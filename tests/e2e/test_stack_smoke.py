"""The embedded PostgreSQL on its own: start, adopt, stop, restart, and a foreign data dir refused.

Everything lives in ``tmp_path``, so after ``stop()`` no process may remain
whose command line or working directory points into it. Airflow on it, started
the way a user starts it, is ``test_live_airflow.py``.
"""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from newsmarkets.local.postgres import EmbeddedPostgres, PostgresError


def _processes_under(root: Path) -> list[psutil.Process]:
    """Live processes whose command line or working directory points into ``root``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = " ".join(proc.info["cmdline"] or [])
        cwd = proc.info["cwd"] or ""
        if str(root) in cmdline or cwd.startswith(str(root)):
            found.append(proc)
    return found


def _still_alive(snapshot: list[psutil.Process]) -> list[psutil.Process]:
    # is_running() compares create times, so a reused PID does not count.
    return [p for p in snapshot if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_postgres_start_adopt_stop_leaves_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    with EmbeddedPostgres(data_dir) as pg:
        uri = pg.uri
        assert uri.startswith("postgresql+psycopg2://postgres@127.0.0.1:") and uri.endswith("/airflow")
        # A second handle adopts the running server instead of starting another one.
        assert EmbeddedPostgres(data_dir).start() == uri
        server = _processes_under(tmp_path)
        assert server, "no postgres process found for the data dir"
    assert not pg.is_running()
    assert _still_alive(server) == []
    # A stopped cluster restarts from the same data dir, database intact.
    with EmbeddedPostgres(data_dir) as again:
        import psycopg2

        with psycopg2.connect(again.dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            assert cur.fetchone() == ("airflow",)
    assert _processes_under(tmp_path) == []


def test_postgres_refuses_a_foreign_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "not-a-cluster"
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("mine")
    with pytest.raises(PostgresError, match="no PG_VERSION"):
        EmbeddedPostgres(data_dir).start()
