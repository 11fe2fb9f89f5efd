"""DAG file parse time: what the DAG processor pays for each file, every few seconds.

Airflow itself is imported first (a real DAG processor has it warm); each file
is then parsed by a fresh DagBag N times and the median is reported.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

DAGS = Path(__file__).resolve().parents[1] / "dags"


def run(repeats: int = 7) -> dict:
    from airflow.dag_processing.dagbag import DagBag

    DagBag(str(DAGS))  # warm imports shared by all DAGs (airflow.sdk, our small modules)
    out = {}
    for path in sorted(DAGS.glob("*.py")):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            bag = DagBag(str(path))
            times.append(time.perf_counter() - t0)
            assert not bag.import_errors, bag.import_errors
        out[path.name] = {"median_ms": round(statistics.median(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1)}
    return out


def markdown(result: dict) -> str:
    lines = ["| DAG file | median parse (ms) | worst of 7 (ms) |", "|---|---:|---:|"]
    for name, r in result.items():
        lines.append(f"| `{name}` | {r['median_ms']} | {r['max_ms']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    res = run()
    print(markdown(res))
