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
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

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


class _Site:
    """Pages and an allow-all robots.txt; records each page request's arrival and the most in flight at once."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                if self.path == "/robots.txt":
                    self._send(b"User-agent: *\nAllow: /\n", "text/plain")
                    return
                with site._lock:
                    site.arrivals.append(time.monotonic())
                    site.in_flight += 1
                    site.most_in_flight = max(site.most_in_flight, site.in_flight)
                try:
                    time.sleep(0.05)  # a page takes a moment to serve: concurrent requests overlap
                    body = f"<html><head><title>{self.path}</title></head><body><p>{self.path}</p></body></html>"
                    self._send(body.encode(), "text/html; charset=utf-8")
                finally:
                    with site._lock:
                        site.in_flight -= 1

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep pytest's output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        with self._lock:
            self.arrivals.clear()
            self.most_in_flight = 0

    def most_in_window(self, window_s: float) -> int:
        times = sorted(self.arrivals)
        most, left = 0, 0
        for right, t in enumerate(times):
            while times[left] <= t - window_s:
                left += 1
            most = max(most, right - left + 1)
        return most

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def site():
    running = _Site()
    yield running
    running.close()


def _run_concurrently(site: _Site, shared_by: int) -> None:
    site.reset()
    env = {**os.environ, "PYTHONPATH": INCLUDE}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, site.base_url, str(i * PAGES_PER_PROCESS), str(PAGES_PER_PROCESS),
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
    assert len(site.arrivals) == PROCESSES * PAGES_PER_PROCESS


# What one site allows in any WINDOW_S: its rate, plus one request per sharing process at the window's edge.
ALLOWED_IN_WINDOW = int(PER_DOMAIN_RPS * WINDOW_S) + PROCESSES


def test_processes_sharing_a_site_stay_within_its_rate(site):
    _run_concurrently(site, shared_by=PROCESSES)
    assert site.most_in_window(WINDOW_S) <= ALLOWED_IN_WINDOW, site.most_in_window(WINDOW_S)
    assert site.most_in_flight <= max(PER_DOMAIN_CONCURRENCY, PROCESSES), site.most_in_flight


def test_processes_each_keeping_the_whole_rate_exceed_it(site):
    _run_concurrently(site, shared_by=1)
    # Four processes at 4 requests/s each send their 32 pages within about two seconds.
    assert site.most_in_window(WINDOW_S) > ALLOWED_IN_WINDOW, site.most_in_window(WINDOW_S)
