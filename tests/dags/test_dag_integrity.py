"""DAG integrity: every DAG file imports, is documented, tagged, retried, and parses offline.

Parsing happens in the scheduler's DAG processor every few seconds, so a DAG
file must not read config, open sockets or look up connections at top level.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {"assets_refresh", "prices_snapshot", "prices_history", "news_ingest", "news_market_link", "warehouse_maintenance"}

# Runs in a fresh interpreter so the audit hook sees every open/connect that
# parsing causes, and nothing the test process already did.
PARSE_PROBE = textwrap.dedent(
    """
    import json, os, sys, time
    events = []
    WATCHED = (".yaml", ".yml", ".parquet", ".duckdb", ".json")
    def hook(event, args):
        if event == "socket.connect":
            events.append(["connect", repr(args[1])])
        elif event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.fsdecode(args[0])
            if path.endswith(WATCHED) and "site-packages" not in path:
                events.append(["open", path])
    from airflow.dag_processing.dagbag import DagBag   # Airflow itself is warm in a real DAG processor
    import airflow.sdk
    from airflow.sdk import BaseHook, Variable
    def forbidden(*a, **k):
        raise RuntimeError("connection/variable lookup at parse time")
    BaseHook.get_connection = classmethod(forbidden)
    Variable.get = staticmethod(forbidden)
    sys.addaudithook(hook)
    files = {}
    bag = None
    for path in sorted(__import__("pathlib").Path(sys.argv[1]).glob("*.py")):
        t0 = time.perf_counter()
        bag = DagBag(str(path))
        files[path.name] = time.perf_counter() - t0
        if bag.import_errors:
            print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}}))
            sys.exit(0)
    bag = DagBag(sys.argv[1])
    dags = {}
    for dag_id, dag in bag.dags.items():
        dags[dag_id] = {
            "tags": sorted(dag.tags),
            "doc_md": bool(dag.doc_md and len(dag.doc_md) > 80),
            "display": dag.dag_display_name,
            "tasks": {t.task_id: {"retries": t.retries, "retry_policy": type(t.retry_policy).__name__, "doc": bool(t.doc_md or getattr(t, "doc", None) or getattr(getattr(t, "python_callable", None), "__doc__", None)), "display": t.task_display_name, "pool": t.pool, "priority_weight": t.priority_weight} for t in dag.tasks},
            "catchup": dag.catchup,
        }
    print(json.dumps({"errors": {}, "dags": dags, "events": events, "parse_s": files}))
    """
)


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    probe = tmp_path_factory.mktemp("probe") / "probe.py"
    probe.write_text(PARSE_PROBE)
    # An unreachable metadata DB proves parsing never needs one.
    env = {**__import__("os").environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://nobody@127.0.0.1:1/none"}
    out = subprocess.run(
        [sys.executable, str(probe), str(DAGS)], capture_output=True, text=True, timeout=300, env=env
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_no_import_errors(parsed):
    assert parsed["errors"] == {}


def test_expected_dags_present(parsed):
    assert EXPECTED == set(parsed["dags"])


def test_no_io_or_connections_at_parse(parsed):
    assert parsed["events"] == []


def test_each_dag_file_parses_fast(parsed):
    # Generous bound for a loaded 2-core CI box; the real figure is in BENCHMARKS.md.
    slow = {f: s for f, s in parsed["parse_s"].items() if s > 1.0}
    assert not slow, slow


def test_dags_documented_tagged_and_retried(parsed):
    for dag_id, dag in parsed["dags"].items():
        assert dag["tags"], f"{dag_id} has no tags"
        assert dag["doc_md"], f"{dag_id} has no doc_md"
        assert dag["display"] and dag["display"] != dag_id, f"{dag_id} has no readable display name"
        for task_id, task in dag["tasks"].items():
            assert task["retries"] >= 1, f"{dag_id}.{task_id} has no retries"
            assert task["retry_policy"] == "RerunBackoff", f"{dag_id}.{task_id} backs off across reruns"
            assert task["doc"], f"{dag_id}.{task_id} has no docstring"
            assert task["display"] != task_id, f"{dag_id}.{task_id} has no display name"


def test_live_snapshot_does_not_catch_up(parsed):
    assert parsed["dags"]["prices_snapshot"]["catchup"] is False


# The tasks that call an outside source, by the pool whose budget they share (issue 24).
POOLED = {
    ("assets_refresh", "fetch"): "newsmarkets_prices_api",
    ("prices_history", "fetch"): "newsmarkets_prices_api",
    ("prices_snapshot", "fetch"): "newsmarkets_prices_api",
    ("news_ingest", "discover"): "newsmarkets_news_sites",
    ("news_ingest", "fetch"): "newsmarkets_news_sites",
}


def test_every_task_calling_a_source_shares_its_pool(parsed):
    from newsmarkets.orchestration.pools import NEWS_POOL, PRICES_POOL

    assert set(POOLED.values()) == {PRICES_POOL, NEWS_POOL}
    for dag_id, dag in parsed["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["pool"] == POOLED.get((dag_id, task_id), "default_pool"), (dag_id, task_id, task["pool"])
    # A free slot goes to the live snapshot before waiting history runs.
    snapshot = parsed["dags"]["prices_snapshot"]["tasks"]["fetch"]["priority_weight"]
    assert snapshot > parsed["dags"]["prices_history"]["tasks"]["fetch"]["priority_weight"]
