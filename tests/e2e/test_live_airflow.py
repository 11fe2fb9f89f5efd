"""``newsmarkets airflow --config``: live on one machine, on a user's own sources, no replay world.

The user's sources are separate servers on 127.0.0.1 that the command does not
start: a news site of our own (robots.txt, an RSS feed, dated article pages,
all published in the last hours of the real clock) and a CoinGecko-compatible
provider on the wall clock. The command runs as a user runs it (its own
process, its working directory holding the config with a relative warehouse
path), prints the UI address and credentials, and then: a backfill of the
site's last hours lands its articles in that warehouse, the live
``prices_snapshot`` schedule snapshots the provider, an hour older than
anything the site lists fails with the reason, and SIGTERM stops everything.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import psutil
import pytest
import yaml
from secrecy import prices_connection_env
from sitekit import LocalSite, Reply

from newsmarkets.config import BUNDLED_CONFIG, rebase_replay_urls
from newsmarkets.local.airflow_stack import AirflowStack
from newsmarkets.local.backfill import DagRunFailed, create_backfill, run_states, wait_for_runs
from newsmarkets.local.environment import DAGS_FOLDER, REPO_ROOT
from newsmarkets.local.postgres import EmbeddedPostgres, free_port
from newsmarkets.replay.server import ReplayServer
from newsmarkets.replay.world import MarketWorld
from newsmarkets.warehouse.writer import Warehouse

pytestmark = pytest.mark.slow

# Articles in the HOURS full hours before the last one (that one is the live schedule's own run): the backfill's.
HOURS = 2
API_KEY = "nm-live-key-0123456789"  # exported as AIRFLOW_CONN_NEWSMARKETS_PRICES, as the README says
PER_HOUR = 2
DESKS = ("Singapore", "London", "New York", "Zurich", "Tokyo", "Chicago")
SUBJECTS = ("pension funds", "miners", "options traders", "market makers", "retail buyers", "treasury desks")


def _body(seed: int) -> str:
    """A story of its own per page: identical bodies would be one syndicated story, stored once."""
    return " ".join(
        f"{DESKS[(seed + i) % 6]} desks reported that {SUBJECTS[(seed * 5 + i) % 6]} added {seed * 7 + i * 3} "
        f"million dollars of bitcoin exposure in session {i}, while funding rates eased by {i + seed} basis points."
        for i in range(8))


def _hour(dt: datetime) -> datetime:
    return dt.replace(minute=0, second=0, microsecond=0)


def _news_site(site: LocalSite, now: datetime) -> list[dict]:
    """Articles in HOURS full hours before the last one, a feed listing them, robots.txt allowing us."""
    site.robots("User-agent: *\nAllow: /\n")
    articles = []
    for h in range(2, HOURS + 2):
        start = _hour(now) - timedelta(hours=h)
        for n in range(PER_HOUR):
            at = start + timedelta(minutes=10 + 20 * n)
            path = f"/markets/{at:%Y%m%d-%H%M}-bitcoin-range-{n}"
            title = f"Bitcoin holds its range as funds add {h}{n}"
            site.page(path, f"""<html><head><title>{title}</title>
<meta property="article:published_time" content="{at.isoformat()}"></head>
<body><article><h1>{title}</h1><p>{_body(10 * h + n)}</p></article></body></html>""")
            articles.append({"path": path, "title": title, "published_at": at})
    items = "".join(f"<item><title>{a['title']}</title><link>{site.url(a['path'])}</link>"
                    f"<pubDate>{format_datetime(a['published_at'])}</pubDate></item>" for a in articles)
    site.route("/feed.xml", Reply(body=f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local desk</title>'
                                       f"<link>{site.url('/')}</link>{items}</channel></rss>",
                                  content_type="application/rss+xml"))
    return articles


def _user_config(workdir: Path, site: LocalSite, provider: ReplayServer) -> Path:
    raw = rebase_replay_urls(yaml.safe_load(BUNDLED_CONFIG.read_text()), provider.port)
    raw.pop("replay", None)  # a user's config: no replay world
    raw["warehouse"] = "data/warehouse"  # relative: to the directory the user runs the command in
    raw["prices"]["assets"] = raw["prices"]["assets"][:3]
    raw["news"]["sources"] = [{"name": "localdesk", "feeds": [site.url("/feed.xml")], "timezone": "UTC"}]
    path = workdir / "my.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _read_until(proc: subprocess.Popen, pattern: str, timeout_s: float) -> tuple[re.Match, str]:
    """Lines of the command's output until one matches (or it exits, or time runs out)."""
    seen, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found, "".join(seen)
    raise AssertionError(f"no line matching {pattern!r} (exit code {proc.poll()}):\n" + "".join(seen)[-4000:])


def _processes_under(root: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if str(root) in " ".join(proc.info["cmdline"] or []) or (proc.info["cwd"] or "").startswith(str(root)):
            found.append(proc)
    return found


def test_live_on_one_machine_against_the_users_own_sources(tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    workdir, state = tmp_path / "work", tmp_path / "work" / "state"
    workdir.mkdir()
    world = MarketWorld.generate((now - timedelta(days=1)).date().isoformat(), 2, 20261206)
    with ReplayServer(world, wall_clock=True) as provider, LocalSite() as site:
        articles = _news_site(site, now)
        config = _user_config(workdir, site, provider)
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "include"), "NEWSMARKETS_TASK_RETRIES": "1",
               "NEWSMARKETS_RETRY_DELAY_S": "2", **prices_connection_env(API_KEY)}
        env.pop("NEWSMARKETS_CONFIG", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsmarkets.cli", "airflow", "--config", "my.yaml", "--base-dir", "state",
             "--port", str(port)],
            cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True)
        try:
            found, printed = _read_until(proc, r"Airflow UI: (\S+)\s+user: admin\s+password: (\S+)", 420)
            _, printed_rest = _read_until(proc, r"Press Ctrl-C", 30)
            printed += printed_rest
            assert found.group(1) == f"http://127.0.0.1:{port}", printed
            assert "Live sources: 1 news source(s) (localdesk)" in printed, printed
            assert f"Config: {config}" in printed and "Replay world" not in printed, printed
            # Nothing of the replay world runs: only the user's sources answer.
            commands = []
            for child in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]:
                try:
                    commands.append(" ".join(child.cmdline()))
                except psutil.Error:  # exited meanwhile
                    pass
            assert len(commands) > 3 and not [c for c in commands if "replay" in c], commands

            stack = AirflowStack(state / "airflow", DAGS_FOLDER, EmbeddedPostgres(state / "postgres").start(),
                                 port=port)
            assert stack.admin_password == found.group(2)

            # A backfill of the site's last hours: its articles land in the config's (relative) warehouse.
            first = _hour(now) - timedelta(hours=HOURS + 1)
            last = _hour(now) - timedelta(hours=2)
            backfill = create_backfill(stack, "news_ingest", first.isoformat(), last.isoformat(),
                                       max_active_runs=HOURS, via="api")
            states = wait_for_runs(stack, "news_ingest", backfill_id=backfill, expected=HOURS, timeout_s=600,
                                   progress=None)
            assert set(states.values()) == {"success"}, states
            stored = Warehouse(str(workdir / "data" / "warehouse")).read("articles")
            assert set(stored["url"]) >= {site.url(a["path"]) for a in articles}, sorted(stored["url"])
            assert set(stored["source"]) == {"localdesk"}
            assert {"/robots.txt", "/feed.xml"} <= set(site.paths())

            # The live schedule snapshots the provider on its own: unpaused, its latest 5-minute slot runs.
            scheduled = wait_for_runs(stack, "prices_snapshot", run_type="scheduled", expected=1, timeout_s=600,
                                      progress=None)
            assert scheduled and set(scheduled.values()) == {"success"}, scheduled
            prices = Warehouse(str(workdir / "data" / "warehouse")).read("price_snapshots")
            assert set(prices["asset_id"]) == set(yaml.safe_load(config.read_text())["prices"]["assets"])
            # The key the user exported reached the provider with every call.
            calls = [h for r, h in zip(provider.request_log, provider.key_header_log) if "/coins/" in r.path]
            assert calls and set(calls) == {"x-cg-demo-api-key"}, calls[:5]

            # An hour older than anything the site lists fails, saying so.
            old = _hour(now) - timedelta(days=2)
            failing = create_backfill(stack, "news_ingest", old.isoformat(), old.isoformat(), via="api")
            with pytest.raises(DagRunFailed, match="cannot serve"):
                wait_for_runs(stack, "news_ingest", backfill_id=failing, expected=1, timeout_s=300, progress=None)
            assert set(run_states(stack, "news_ingest", backfill_id=failing).values()) == {"failed"}
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=180)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                raise
    assert proc.returncode == 0, proc.stdout.read()[-3000:]
    deadline = time.monotonic() + 30
    while _processes_under(state) and time.monotonic() < deadline:
        time.sleep(1)
    assert _processes_under(state) == [], [p.cmdline() for p in _processes_under(state)]
