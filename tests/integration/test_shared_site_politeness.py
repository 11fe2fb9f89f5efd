"""Four processes, one site's politeness (issue 24): concurrent hourly news runs share each host's budget.

Each process runs the fetcher the news DAG's fetch tasks build (``shared_by``
= the news pool's slots), as four overlapping hourly runs would, against one
site on 127.0.0.1 that records when each page request arrives. Sharing keeps
the site's request rate within ``per_domain_rps`` (plus at most one request
per process at a window's edge); each process keeping the whole rate for
itself, as before the pool, sends about four times it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sitekit import LocalSite, Reply

INCLUDE = str(Path(__file__).resolve().parents[2] / "include")
PROCESSES = 4
PAGES_PER_PROCESS = 8
PER_DOMAIN_RPS, PER_DOMAIN_CONCURRENCY = 4.0, 2
WINDOW_S = 2.0

# Waits for "go" on stdin so every process is imported and ready before any request: they overlap.
CHILD = """
import json, sys
from newsmarkets.news.fetch import PoliteFetcher

base, first, count, rps, concurrency, shared_by = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \\
    float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
fetcher = PoliteFetcher(user_agent="newsmarkets-test/1.0 (+https://example.org/bot)", allowed_domains=None,
                        allow_private_networks=True, per_domain_rps=rps, per_domain_concurrency=concurrency,
                        shared_by=shared_by)
fetcher.robots_sitemaps(base)  # robots.txt first, outside the measured pages
print("ready", flush=True)
sys.stdin.readline()
results = fetcher.fetch_many([f"{base}/article/{n}" for n in range(first, first + count)])
fetcher.close()
print(json.dumps({"ok": sum(r.outcome == "fetched" for r in results), "outcomes": sorted({r.outcome for r in results})}))
"""


def _most_in_window(times: list[float], window_s: float) -> int:
    times, most, left = sorted(times), 0, 0
    for right, t in enumerate(times):
        while times[left] <= t - window_s:
            left += 1
        most = max(most, right - left + 1)
    return most


@pytest.fixture
def site():
    with LocalSite() as running:
        running.robots("User-agent: *\nAllow: /\n")
        for n in range(PROCESSES * PAGES_PER_PROCESS):
            # a page takes a moment to serve: concurrent requests overlap
            running.route(f"/article/{n}", Reply(body=f"<html><head><title>Article {n}</title></head>"
                                                      f"<body><p>Article {n}.</p></body></html>", delay_s=0.05))
        yield running


def _page_arrivals(site: LocalSite) -> list[float]:
    return [h.started_at for h in site.hits if h.path.startswith("/article/")]


def _run_concurrently(site: LocalSite, shared_by: int) -> None:
    env = {**os.environ, "PYTHONPATH": INCLUDE}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, site.url(""), str(i * PAGES_PER_PROCESS), str(PAGES_PER_PROCESS),
             str(PER_DOMAIN_RPS), str(PER_DOMAIN_CONCURRENCY), str(shared_by)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(PROCESSES)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()[-2000:]
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-2000:]
        assert json.loads(out.strip().splitlines()[-1])["ok"] == PAGES_PER_PROCESS, out
    assert len(_page_arrivals(site)) == PROCESSES * PAGES_PER_PROCESS


# What one site allows in any WINDOW_S: its rate, plus one request per sharing process at the window's edge.
ALLOWED_IN_WINDOW = int(PER_DOMAIN_RPS * WINDOW_S) + PROCESSES


def test_processes_sharing_a_site_stay_within_its_rate(site):
    _run_concurrently(site, shared_by=PROCESSES)
    most = _most_in_window(_page_arrivals(site), WINDOW_S)
    assert most <= ALLOWED_IN_WINDOW, most
    assert site.max_in_flight <= max(PER_DOMAIN_CONCURRENCY, PROCESSES), site.max_in_flight


def test_processes_each_keeping_the_whole_rate_exceed_it(site):
    _run_concurrently(site, shared_by=1)
    # Four processes at 4 requests/s each send their 32 pages within about two seconds.
    most = _most_in_window(_page_arrivals(site), WINDOW_S)
    assert most > ALLOWED_IN_WINDOW, most
