"""Time `make demo` and `make test` end to end (after installation) into bench/results/commands.json."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "commands.json"


def time_command(cmd: list[str]) -> dict:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL)
    return {"command": " ".join(cmd), "seconds": round(time.perf_counter() - t0, 1), "exit_code": done.returncode,
            "measured_at": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"}


def markdown(results: dict) -> str:
    lines = ["| command | wall time | exit | measured |", "|---|---:|---:|---|"]
    for r in results.values():
        lines.append(f"| `{r['command']}` | {r['seconds'] / 60:.1f} min ({r['seconds']:.0f} s) | {r['exit_code']} | {r['measured_at']} |")
    return "\n".join(lines) + "\n\nMeasured after installation unless the row says otherwise; `python bench/time_commands.py [demo|test]` remeasures (and writes bench/results/commands.json)."


def main(which: list[str]) -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name in which or ["demo", "test"]:
        results[name] = time_command(["make", name])
        OUT.write_text(json.dumps(results, indent=2))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
