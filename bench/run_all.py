"""Run every benchmark and rewrite BENCHMARKS.md from the results.

Results too slow to rerun on every `make bench` are read from what their own
commands wrote: bench/results/distributed.json (`python bench/bench_distributed.py`,
about 8 minutes) and bench/results/commands.json (`make demo`, `make test`;
`python bench/time_commands.py`).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_asset_linking  # noqa: E402
import bench_dag_parse  # noqa: E402
import bench_discovery  # noqa: E402
import bench_extraction  # noqa: E402
import bench_linking  # noqa: E402
import bench_real_pages  # noqa: E402
import bench_significance  # noqa: E402
import bench_snapshot_batch  # noqa: E402
import bench_table_maintenance  # noqa: E402
import bench_warehouse_history  # noqa: E402

RESULTS = HERE / "results"
SECTIONS = [
    ("Snapshot batch: 250 assets, HTTP response to committed Parquet", bench_snapshot_batch),
    ("DAG file parse time", bench_dag_parse),
    ("Feed parsing: feedparser on well-formed and malformed feeds", bench_discovery),
    ("Article extraction against bare trafilatura", bench_extraction),
    ("Real pages: trafilatura's and htmldate's evaluation corpora (body, publish day, title)", bench_real_pages),
    ("Asset linking: labelled sentences, 25 vs 250 tracked assets", bench_asset_linking),
    ("Linking a day of news: warehouse of 11 days vs one year; as-of join vs merge_asof", bench_linking),
    ("Significant moves at real news volume: precision and recall by stories per day", bench_significance),
    ("Warehouse at 1 day vs 1 year of history (Delta Lake tables; the retired Parquet writer for comparison)", bench_warehouse_history),
    ("Table maintenance: OPTIMIZE and vacuum of a day of 5-minute snapshot files", bench_table_maintenance),
]


def main(argv: list[str]) -> int:
    """``--render``: rewrite BENCHMARKS.md from bench/results/ without rerunning anything."""
    render_only = "--render" in argv
    RESULTS.mkdir(exist_ok=True)
    how = ("Rendered by `python bench/run_all.py --render` from bench/results/ (each section's numbers are from "
           "its last run)" if render_only else "Written by `make bench` (bench/run_all.py)")
    parts = [
        "# Benchmarks",
        "",
        f"Machine: {platform.machine()}, 2 cores, Python {platform.python_version()}. "
        f"{how} on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
    ]
    for title, module in SECTIONS:
        saved = RESULTS / f"{module.__name__}.json"
        if render_only:
            result, took = json.loads(saved.read_text()), "results as last written"
        else:
            print(f"• {title}…", flush=True)
            t0 = time.perf_counter()
            result = module.run()
            saved.write_text(json.dumps(result, indent=2))
            took = f"{time.perf_counter() - t0:.0f} s"
        parts += ["", f"## {title}", "", module.markdown(result),
                  "", f"_Command: `python bench/{module.__name__}.py` ({took})._"]
    distributed = RESULTS / "distributed.json"
    if distributed.exists():
        import bench_distributed

        result = json.loads(distributed.read_text())
        parts += ["", "## Distributed topology: one vs. two Celery workers, per-task overhead", "",
                  bench_distributed.markdown(result), "",
                  f"_Command: `python bench/bench_distributed.py` (measured {result['measured_at']}; "
                  "not rerun by `make bench`)._"]
    commands = RESULTS / "commands.json"
    if commands.exists():
        import time_commands

        parts += ["", "## Whole commands", "", time_commands.markdown(json.loads(commands.read_text()))]
    (HERE.parent / "BENCHMARKS.md").write_text("\n".join(parts) + "\n")
    print("wrote BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
