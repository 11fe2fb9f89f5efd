"""The `newsmarkets` command as users run it: every subcommand has --help, errors are one clear line."""

import subprocess
import sys

import pytest

from newsmarkets.replay.news_site import NewsSite
from newsmarkets.replay.news_world import NewsWorld
from newsmarkets.replay.world import MarketWorld


def cli(*args, check=False):
    return subprocess.run([sys.executable, "-m", "newsmarkets.cli", *args], capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("args", [[], ["demo"], ["airflow"], ["extract"], ["config", "check"], ["replay", "serve"],
                                  ["replay", "truth"], ["catalog", "refresh"], ["plan", "backfill"],
                                  ["plan"], ["pools"], ["pools", "apply"], ["pools", "show"], ["sources"],
                                  ["sources", "check"], ["table"], ["table", "history"], ["table", "restore"],
                                  ["table", "check"], ["warehouse", "init"]])
def test_every_subcommand_has_help(args):
    out = cli(*args, "--help")
    assert out.returncode == 0 and "usage: newsmarkets" in out.stdout


def test_airflow_live_refuses_a_bad_config_before_starting_anything(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("warehouse: x\nprices: {provider: coingecko, base_url: 'http://h', assets: [bitcoin], colour: red}\n")
    out = cli("airflow", "--config", str(bad), "--base-dir", str(tmp_path / "state"))
    assert out.returncode == 2 and "prices.colour: unknown key" in out.stderr, out.stderr
    assert not (tmp_path / "state").exists()
    assert "--config" in cli("airflow", "--help").stdout


def test_config_check_names_the_bad_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("warehouse: x\nprices: {provider: coingecko, base_url: 'http://h', assets: [bitcoin], colour: red}\n")
    out = cli("config", "check", str(bad))
    assert out.returncode == 2
    assert "prices.colour: unknown key" in out.stderr and "Traceback" not in out.stderr


def test_extract_a_saved_page_prints_record_and_assets(tmp_path):
    import json

    market = MarketWorld.generate("2026-01-05", 3, 20260105)
    news = NewsWorld.generate(market, 20260105)
    article = next(a for a in news.articles if a.event_id and a.outlet == "ledgerpost")
    _, _, body = NewsSite(news).handle(article.path, {}, market.end_at, "http://127.0.0.1:8765")
    page = tmp_path / "page.html"
    page.write_bytes(body)
    out = cli("extract", str(page), "--url", "http://127.0.0.1:8765" + article.path)
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert record["title"] == article.title
    assert record["body"] == news.article_text(article.slug)
    assert set(article.asset_ids) <= {a["asset_id"] for a in record["assets"]}


def test_extract_missing_file_is_one_clear_line():
    out = cli("extract", "/nonexistent/page.html")
    assert out.returncode == 2
    assert "/nonexistent/page.html" in out.stderr and "Traceback" not in out.stderr


def test_plan_backfill_prints_calls_and_time_and_refuses_bad_input():
    import json

    from pathlib import Path

    config = str(Path(__file__).resolve().parents[2] / "include/newsmarkets/config/top250.example.yaml")
    args = ["plan", "backfill", "--dag-id", "prices_history", "--from-date", "2025-01-01", "--to-date", "2025-12-31",
            "--now", "2026-01-01T00:00:00Z", "--config", config]
    out = cli(*args)
    assert out.returncode == 0, out.stderr
    assert "/coins/{id}/market_chart/range" in out.stdout and "91,615" in out.stdout and "2d 15h 38m" in out.stdout
    plan = json.loads(cli(*args, "--json").stdout)
    assert (plan["runs"], plan["total_calls_min"]) == (365, 91_615)
    bad = cli("plan", "backfill", "--dag-id", "prices", "--from-date", "2025-01-01", "--to-date", "2025-12-31")
    assert bad.returncode == 2 and "unknown dag id 'prices'" in bad.stderr and "prices_history" in bad.stderr
    bad = cli("plan", "backfill", "--dag-id", "news_ingest", "--from-date", "2025-02-01", "--to-date", "2025-01-01")
    assert bad.returncode == 2 and "--to-date" in bad.stderr and "Traceback" not in bad.stderr


def test_pools_show_prints_the_pools_the_config_needs():
    out = cli("pools", "show")
    assert out.returncode == 0, out.stderr
    assert "newsmarkets_prices_api: 5 slot(s)" in out.stdout and "newsmarkets_news_sites: 4 slot(s)" in out.stdout
