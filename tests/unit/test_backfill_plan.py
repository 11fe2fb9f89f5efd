"""`newsmarkets plan backfill`'s arithmetic: runs, calls, time at the budget and granularity, checkable by hand."""

import ast
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from newsmarkets.config import parse_config
from newsmarkets.orchestration.backfill_plan import (
    DAGS,
    PlanError,
    format_duration,
    parse_logical_date,
    plan_backfill,
    render,
    source_calls_per_run,
)

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def config(assets=("bitcoin", "ethereum", "solana"), rate=30, sources=()):
    return parse_config({
        "warehouse": "/tmp/wh",
        "prices": {"provider": "coingecko", "base_url": "https://api.coingecko.com/api/v3",
                   "assets": list(assets), "rate_limit_per_minute": rate},
        "news": {"per_domain_rps": 1.0, "sources": list(sources)},
    })


def test_prices_history_counts_one_list_call_plus_one_range_call_per_asset_and_day():
    plan = plan_backfill(config(), "prices_history", utc(2025, 1, 1), utc(2025, 1, 10), NOW)
    assert plan.runs == 10 and plan.working_runs == 10 and not plan.failing
    assert [(c.what, c.per_run_min, c.total_min) for c in plan.calls] == [
        ("/coins/list", 1, 10), ("/coins/{id}/market_chart/range", 3, 30)]
    assert plan.total_calls_min == plan.total_calls_max == 40
    # 40 calls at the backfill's 4 of the pool's 5 slots of 30/min (24/min): 100 s
    assert sum(c.time_min_s for c in plan.calls) == pytest.approx(100.0)
    assert "newsmarkets_prices_api (5 slot(s)" in render(plan) and "each at 6/min" in render(plan)
    assert plan.calls[0].host == "api.coingecko.com"


def test_a_year_of_250_assets_at_30_per_minute():
    plan = plan_backfill(config(assets=[f"coin-{i}" for i in range(250)]), "prices_history",
                         utc(2025, 1, 1), utc(2025, 12, 31), NOW)
    assert plan.runs == 365 and plan.total_calls_min == 365 * 251 == 91_615
    assert sum(c.time_min_s for c in plan.calls) == pytest.approx(91_615 * 2.5)  # 24 of 30/min: 2.5 s a call
    assert "2d 15h 38m" in render(plan)


def test_granularity_is_five_minutely_only_for_a_day_starting_within_a_day_of_now():
    now = utc(2026, 1, 1, 6)
    plan = plan_backfill(config(), "prices_history", utc(2025, 12, 1), utc(2025, 12, 31), now)
    spans = {s.label: (s.runs, s.first, s.last) for s in plan.working}
    # 2025-12-31 starts 30 h before now: hourly; only a day starting at or after 2025-12-31T06:00 is 5-minutely
    assert spans == {"hourly points": (31, utc(2025, 12, 1), utc(2025, 12, 31))}
    plan = plan_backfill(config(), "prices_history", utc(2025, 12, 30), utc(2026, 1, 1), now)
    spans = {s.label: (s.runs, s.first, s.last) for s in plan.working}
    assert spans == {"hourly points": (2, utc(2025, 12, 30), utc(2025, 12, 31)),
                     "5-minutely points": (1, utc(2026, 1, 1), utc(2026, 1, 1))}


def test_days_before_the_providers_history_or_not_begun_fail_and_cost_nothing():
    plan = plan_backfill(config(), "prices_history", utc(2013, 4, 25), utc(2026, 1, 3), utc(2026, 1, 1, 12))
    failing = {s.label.split(" (")[0]: (s.runs, s.first, s.last) for s in plan.failing}
    assert failing == {"before the provider's history": (3, utc(2013, 4, 25), utc(2013, 4, 27)),
                       "not begun": (2, utc(2026, 1, 2), utc(2026, 1, 3))}
    assert plan.working_runs == plan.runs - 5
    assert all(c.runs == plan.working_runs for c in plan.calls)


def test_from_and_to_are_inclusive_logical_dates_aligned_to_the_schedule():
    plan = plan_backfill(config(), "prices_history", utc(2025, 1, 1, 6), utc(2025, 1, 3, 6), NOW)
    assert (plan.runs, plan.first_run, plan.last_run) == (2, utc(2025, 1, 2), utc(2025, 1, 3))
    plan = plan_backfill(config(), "prices_history", utc(2025, 1, 1, 6), utc(2025, 1, 1, 7), NOW)
    assert plan.runs == 0 and plan.first_run is None and plan.total_calls_min == 0
    hourly = plan_backfill(config(), "news_ingest", utc(2025, 1, 1), utc(2025, 1, 1, 23), NOW)
    assert hourly.runs == 24


def test_prices_snapshot_is_refused_and_points_to_prices_history():
    plan = plan_backfill(config(), "prices_snapshot", utc(2025, 1, 1), utc(2025, 1, 2), NOW)
    assert plan.refused and "prices_history" in plan.refused and not plan.calls
    assert "1 /coins/markets call(s) every 5 minutes" in plan.notes[0]


def test_assets_refresh_is_refused_because_the_coin_list_describes_now():
    plan = plan_backfill(config(), "assets_refresh", utc(2025, 1, 1), utc(2025, 1, 2), NOW)
    assert plan.refused and "live only" in plan.refused and not plan.calls
    assert "1 /coins/list call and 2 ranked /coins/markets page(s) a day" in plan.notes[0]


def test_news_ingest_counts_listing_requests_per_host_and_leaves_pages_unknown():
    source = {"name": "wire", "feeds": ["https://wire.example/feed.xml", "https://wire.example/feed2.xml"],
              "sitemaps": ["https://wire.example/sitemap.xml"]}
    feeds_only = {"name": "blog", "feeds": ["https://blog.example/rss", "https://cdn.example/atom.xml"]}
    cfg = config(sources=[source, feeds_only])
    # robots.txt + 2 feeds + the sitemap index; at most 60 sitemaps a run
    assert source_calls_per_run(cfg.news.sources[0], backfill=True) == {"wire.example": (4, 63)}
    assert source_calls_per_run(cfg.news.sources[0], backfill=False) == {"wire.example": (3, 3)}
    assert source_calls_per_run(cfg.news.sources[1], backfill=True) == {"blog.example": (2, 2), "cdn.example": (2, 2)}
    plan = plan_backfill(cfg, "news_ingest", utc(2025, 1, 1), utc(2025, 1, 1, 9), NOW)
    assert plan.runs == 10
    lines = {(c.host, c.per_run_min, c.per_run_max, c.total_min, c.total_max) for c in plan.calls}
    assert lines == {("wire.example", 4, 63, 40, 630), ("blog.example", 2, 2, 20, 20), ("cdn.example", 2, 2, 20, 20)}
    wire = next(c for c in plan.calls if c.host == "wire.example")
    assert (wire.time_min_s, wire.time_max_s) == (40.0, 630.0)  # 1 request/s per host
    assert any("unknown in advance" in n for n in plan.notes)


def test_news_ingest_bare_to_date_is_midnight_and_says_so():
    plan = plan_backfill(config(), "news_ingest", utc(2025, 1, 1), utc(2025, 1, 2), NOW)
    assert plan.runs == 25
    assert any("T23:00 to include the whole day" in n for n in plan.notes)


@pytest.mark.parametrize("dag_id", ["news_market_link", "warehouse_maintenance"])
def test_warehouse_only_dags_make_no_external_calls(dag_id):
    plan = plan_backfill(config(), dag_id, utc(2025, 1, 1), utc(2025, 1, 31), NOW)
    assert plan.runs == 31 and plan.calls == [] and "no external calls" in plan.notes[0]
    assert "external calls: none" in render(plan)


def test_bad_input_names_what_is_wrong():
    with pytest.raises(PlanError, match="unknown dag id 'prices' .*known: assets_refresh, prices_history, prices_snapshot"):
        plan_backfill(config(), "prices", utc(2025, 1, 1), utc(2025, 1, 2), NOW)
    with pytest.raises(PlanError, match="--to-date .* is before --from-date"):
        plan_backfill(config(), "prices_history", utc(2025, 1, 2), utc(2025, 1, 1), NOW)
    with pytest.raises(PlanError, match="--from-date '2025-02-30'"):
        parse_logical_date("2025-02-30", "--from-date")


def test_dates_parse_like_airflows_cli():
    assert parse_logical_date("2025-01-01", "x") == utc(2025, 1, 1)
    assert parse_logical_date("2025-01-01T06:00Z", "x") == utc(2025, 1, 1, 6)
    assert parse_logical_date("2025-01-01T08:00+02:00", "x") == utc(2025, 1, 1, 6)


def test_durations_round_up():
    assert [format_duration(s) for s in (0.2, 59.5, 61, 3599.2, 3601, 183_230)] == [
        "1s", "60s", "1m 01s", "60m 00s", "1h 01m", "2d 02h 54m"]


def test_json_is_plain_data():
    import json

    plan = plan_backfill(config(), "prices_history", utc(2025, 1, 1), utc(2025, 1, 2), NOW)
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["runs"] == 2 and data["total_calls_min"] == 8 and data["first_run"] == "2025-01-01T00:00:00Z"
    assert data["calls"][1]["total_min"] == 6 and data["step_s"] == 86400


def _dag_kwargs(path: Path) -> dict:
    """The literal keyword arguments of the file's @dag(...) decorator (no Airflow import)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dag":
            out = {}
            for kw in node.keywords:
                if kw.arg == "schedule":
                    out["cron"] = kw.value.args[0].value
                elif isinstance(kw.value, ast.Constant):
                    out[kw.arg] = kw.value.value
            return out
    raise AssertionError(f"no @dag(...) in {path}")


@pytest.mark.parametrize("dag_id", sorted(DAGS))
def test_the_plans_dag_facts_match_the_dag_files(dag_id):
    kwargs = _dag_kwargs(DAGS_DIR / f"{dag_id}.py")
    facts = DAGS[dag_id]
    assert (kwargs["dag_id"], kwargs["cron"], kwargs["max_active_runs"]) == (facts.dag_id, facts.cron,
                                                                             facts.max_active_runs)
    steps = {"0 0 * * *": timedelta(days=1), "0 * * * *": timedelta(hours=1), "*/5 * * * *": timedelta(minutes=5)}
    assert steps[facts.cron] == facts.step


def test_the_example_config_lists_250_coingecko_ids():
    from newsmarkets.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[2] / "include/newsmarkets/config/top250.example.yaml")
    assert len(cfg.prices.assets) == 250 and cfg.prices.rate_limit_per_minute == 30
