"""The ``newsmarkets`` command: the demo, a local Airflow, the replay world, the catalog and backfill plans.

Every subcommand has ``--help``. Heavy modules are imported inside the
handlers so ``newsmarkets --help`` answers instantly.
"""

from __future__ import annotations

import argparse
import sys


def _cmd_config_check(args: argparse.Namespace) -> int:
    from newsmarkets.config import load_config

    cfg = load_config(args.path)
    print(f"ok: {cfg.source_path}")
    print(f"  warehouse: {cfg.warehouse}")
    print(f"  catalog:   {cfg.catalog_path}")
    print(f"  prices:    {cfg.prices.provider} at {cfg.prices.base_url}, {len(cfg.prices.assets)} assets")
    print(f"  news:      {len(cfg.news.sources)} sources" + (f" ({', '.join(s.name for s in cfg.news.sources)})"
                                                               if cfg.news.sources else ""))
    return 0


def _cmd_replay_serve(args: argparse.Namespace) -> int:
    from newsmarkets.replay.cli import serve

    return serve(args)


def _cmd_replay_truth(args: argparse.Namespace) -> int:
    from newsmarkets.replay.cli import truth

    return truth(args)


def _cmd_catalog_refresh(args: argparse.Namespace) -> int:
    from newsmarkets.config import load_config
    from newsmarkets.warehouse.catalog import refresh_for_config

    cfg = load_config(args.config)
    counts = refresh_for_config(cfg)
    print(f"catalog {cfg.catalog_path}")
    for view, rows in counts.items():
        print(f"  {view:<24} {rows:>10,} rows")
    return 0


def _cmd_warehouse_convert(args: argparse.Namespace) -> int:
    from newsmarkets.config import load_config
    from newsmarkets.warehouse.writer import Warehouse

    wh = Warehouse.from_config(load_config(args.config))
    converted = wh.convert_from_parquet(progress=lambda text: print(text, file=sys.stderr, flush=True))
    print(f"warehouse {wh.root}: {len(converted)} table(s) converted to Delta Lake"
          + ("" if not converted else f"; the Parquet files are in {wh.root}/_parquet_backup/"))
    return 0


def _cmd_table_history(args: argparse.Namespace) -> int:
    import json

    from newsmarkets.config import load_config
    from newsmarkets.warehouse.versions import history_rows, render_history
    from newsmarkets.warehouse.writer import Warehouse

    wh = Warehouse.from_config(load_config(args.config))
    rows = history_rows(wh, args.table, args.limit)
    print(json.dumps(rows, indent=2, default=str) if args.json else render_history(args.table, rows))
    return 0


def _cmd_table_restore(args: argparse.Namespace) -> int:
    from newsmarkets.config import load_config
    from newsmarkets.intervals import as_utc
    from newsmarkets.warehouse.catalog import refresh_for_config
    from newsmarkets.warehouse.versions import restore
    from newsmarkets.warehouse.writer import Warehouse

    cfg = load_config(args.config)
    try:
        at = as_utc(args.timestamp) if args.timestamp else None
    except ValueError as exc:
        print(f"newsmarkets table restore: --timestamp: {exc}", file=sys.stderr)
        return 2
    done = restore(Warehouse.from_config(cfg), args.table, version=args.version, at=at)
    print(f"table {done['table']}: restored version {done['restored_version']} as version {done['version']} "
          f"(was version {done['previous_version']}; undo with --version {done['previous_version']})")
    if not args.no_catalog:
        refresh_for_config(cfg)  # the catalog's views list the files of the version they were built on
        print(f"catalog {cfg.catalog_path} refreshed")
    return 0


def _cmd_table_check(args: argparse.Namespace) -> int:
    from newsmarkets.config import load_config
    from newsmarkets.warehouse.schemas import TABLES
    from newsmarkets.warehouse.versions import check_table
    from newsmarkets.warehouse.writer import Warehouse

    wh = Warehouse.from_config(load_config(args.config))
    checks = [check_table(wh, name) for name in (args.table or sorted(TABLES))]
    for check in checks:
        print(check.describe())
    return 0 if all(c.is_healthy for c in checks) else 1


def _cmd_warehouse_init(args: argparse.Namespace) -> int:
    from newsmarkets.config import load_config
    from newsmarkets.orchestration.maintenance import create_tables

    cfg = load_config(args.config)
    done = create_tables(cfg)
    for name, version in done["tables"].items():
        print(f"  {name:<24} version {version}")
    print(f"warehouse {cfg.warehouse}: {len(done['tables'])} Delta table(s) ready")
    return 0


def _cmd_extract(args: argparse.Namespace) -> int:
    import json

    from newsmarkets.config import load_config
    from newsmarkets.news.one_page import extract_url_or_file

    record = extract_url_or_file(args.target, url=args.url, cfg=load_config(args.config))
    print(json.dumps(record, indent=2, ensure_ascii=False, default=str))
    return 0


def _cmd_plan_backfill(args: argparse.Namespace) -> int:
    import json
    from datetime import datetime, timezone

    from newsmarkets.config import load_config
    from newsmarkets.orchestration.backfill_plan import PlanError, parse_logical_date, plan_backfill, render

    try:
        from_date = parse_logical_date(args.from_date, "--from-date")
        to_date = parse_logical_date(args.to_date, "--to-date")
        now = parse_logical_date(args.now, "--now") if args.now else datetime.now(timezone.utc)
        plan = plan_backfill(load_config(args.config), args.dag_id, from_date, to_date, now)
    except PlanError as exc:
        print(f"newsmarkets plan backfill: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(plan.to_dict(), indent=2) if args.json else render(plan))
    return 0


def _cmd_pools(args: argparse.Namespace) -> int:
    from newsmarkets.config import load_config
    from newsmarkets.orchestration.pools import apply_pools, pool_specs

    cfg = load_config(args.config)
    specs = apply_pools(cfg) if args.pools_command == "apply" else pool_specs(cfg)
    verb = "set" if args.pools_command == "apply" else "needs"
    for spec in specs:
        print(f"{verb} pool {spec.name}: {spec.slots} slot(s): {spec.description}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from newsmarkets.local.demo import run_demo

    return run_demo(base_dir=args.base_dir, keep_running=False, days=args.days)


def _cmd_sources_check(args: argparse.Namespace) -> int:
    import json
    from datetime import datetime, timezone

    from newsmarkets.config import load_config
    from newsmarkets.intervals import as_utc
    from newsmarkets.news.source_check import FAIL, check_sources, render

    if args.sample < 0:
        print(f"newsmarkets sources check: --sample must be >= 0, got {args.sample}", file=sys.stderr)
        return 2
    try:
        now = as_utc(args.now) if args.now else datetime.now(timezone.utc)
    except ValueError as exc:
        print(f"newsmarkets sources check: --now: {exc}", file=sys.stderr)
        return 2
    progress = None if args.json else (lambda m: print(m, file=sys.stderr, flush=True))
    results = check_sources(load_config(args.config), now=now, sample=args.sample, names=args.source or None,
                            progress=progress)
    print(json.dumps([h.to_dict() for h in results], indent=2) if args.json else render(results, now=now))
    # A FAIL is a source news_ingest gets nothing from: a script (or CI) checking sources should notice.
    return 1 if any(h.status == FAIL for h in results) else 0


def _cmd_airflow(args: argparse.Namespace) -> int:
    from newsmarkets.local.demo import run_local_airflow

    base_dir = args.base_dir or (".stack/live" if args.config else ".stack/airflow")
    return run_local_airflow(base_dir=base_dir, port=args.port, config=args.config)


def _world_knobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--assets", type=int, default=20, help="number of assets (default: %(default)s)")
    parser.add_argument("--stories-per-day", type=int, default=None, metavar="N",
                        help="a dense, realistic world of about N stories a day (30 events, 1-3%% moves, reactions "
                             "that start before the report, volatile days, bursts); default: the demo's ~12")
    parser.add_argument("--knob", action="append", default=[], metavar="NAME=JSON",
                        help="set one world knob, e.g. --knob asset_effect_pct=[1,2] --knob events_per_day=[10,10] "
                             "(all knobs: newsmarkets.replay.shape.WorldShape)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsmarkets",
        description="A media-and-markets warehouse on Apache Airflow 3.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the whole job on the embedded default and print a report")
    demo.add_argument("--base-dir", default=".stack/demo", help="where the metadata DB, Airflow home and warehouse go (default: %(default)s)")
    demo.add_argument("--days", type=int, default=None, help="days of the replay world to backfill (default: the config's replay.days)")
    demo.set_defaults(func=_cmd_demo)

    af = sub.add_parser(
        "airflow", help="start a local Airflow (UI on http://localhost:8080): on the replay world, or live with --config",
        description="Embedded PostgreSQL and Airflow on this machine, DAGs on wall-clock schedules, until Ctrl-C. "
                    "Without --config on the bundled replay world; with it on the config's own news sources, "
                    "price provider and warehouse, no replay world.",
    )
    af.add_argument("--config", default=None, help="run live on this config's sources (see production.example.yaml)")
    af.add_argument("--base-dir", default=None,
                    help="Airflow's state folder (default: .stack/airflow, or .stack/live with --config)")
    af.add_argument("--port", type=int, default=8080, help="UI port (default: %(default)s)")
    af.set_defaults(func=_cmd_airflow)

    ext = sub.add_parser("extract", help="extract one article (URL or saved HTML file) and print it as JSON with its linked assets")
    ext.add_argument("target", help="an http(s) URL (fetched politely, private addresses refused unless the config allows) or an HTML file")
    ext.add_argument("--url", default=None, help="the page's URL when TARGET is a file (for canonical URL and dates)")
    ext.add_argument("--config", default=None, help="config file (default: $NEWSMARKETS_CONFIG or bundled)")
    ext.set_defaults(func=_cmd_extract)

    cfg = sub.add_parser("config", help="configuration commands")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = cfg_sub.add_parser("check", help="validate a config file and print what it resolves to")
    check.add_argument("path", nargs="?", default=None, help="config file (default: $NEWSMARKETS_CONFIG or the bundled replay config)")
    check.set_defaults(func=_cmd_config_check)

    replay = sub.add_parser("replay", help="the bundled replay world (CoinGecko-compatible API on 127.0.0.1)")
    replay_sub = replay.add_subparsers(dest="replay_command", required=True, metavar="ACTION")
    serve = replay_sub.add_parser("serve", help="serve the replay world over HTTP until interrupted")
    serve.add_argument("--config", default=None, help="config whose replay section to use")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s)")
    serve.add_argument("--port", type=int, default=None, help="port (default: replay.port of the config)")
    serve.add_argument("--start", default=None, help="first UTC day (yyyy-mm-dd) or 'auto' (two days before today, clock = wall time)")
    serve.add_argument("--days", type=int, default=None, help="days in the world")
    serve.add_argument("--seed", type=int, default=None, help="random seed")
    _world_knobs(serve)
    serve.add_argument("--now", default=None, help="fixed replay clock (ISO time); default: end of the world, or wall time with --start auto")
    serve.add_argument("--fault", action="append", default=[], metavar="NAME=JSON",
                       help='switch a fault on, e.g. --fault rate_limit=\'{"count": 3, "retry_after": 2}\'')
    serve.set_defaults(func=_cmd_replay_serve)
    truth = replay_sub.add_parser("truth", help="write the world's ground truth (events, assets) as JSON")
    truth.add_argument("--config", default=None, help="config whose replay section to use")
    truth.add_argument("--out", default="-", help="output file (default: stdout)")
    truth.add_argument("--start", default=None, help="first UTC day (yyyy-mm-dd)")
    truth.add_argument("--days", type=int, default=None, help="days in the world")
    truth.add_argument("--seed", type=int, default=None, help="random seed")
    _world_knobs(truth)
    truth.set_defaults(func=_cmd_replay_truth)

    plan = sub.add_parser("plan", help="what a backfill will cost before it starts")
    plan_sub = plan.add_subparsers(dest="plan_command", required=True, metavar="ACTION")
    pb = plan_sub.add_parser(
        "backfill", help="runs, API calls, time at the configured budget and the provider's granularity of a range",
        description="Plan `airflow backfill create --dag-id D --from-date F --to-date T` without running it: "
                    "no network, no Airflow.",
    )
    pb.add_argument("--dag-id", required=True, help="prices_history, prices_snapshot, news_ingest, news_market_link "
                                                    "or warehouse_maintenance")
    pb.add_argument("--from-date", required=True, help="logical date of the first run (2025-01-01 = midnight UTC)")
    pb.add_argument("--to-date", required=True, help="logical date of the last run, inclusive (as Airflow's)")
    pb.add_argument("--now", default=None, help="plan as of this UTC time (default: now); granularity depends on it")
    pb.add_argument("--config", default=None, help="config file (default: $NEWSMARKETS_CONFIG or bundled)")
    pb.add_argument("--json", action="store_true", help="print the plan as JSON")
    pb.set_defaults(func=_cmd_plan_backfill)

    pools = sub.add_parser("pools", help="the Airflow pools that share the API budgets across runs and workers")
    pools_sub = pools.add_subparsers(dest="pools_command", required=True, metavar="ACTION")
    for action, text in (("apply", "create or resize them in Airflow's metadata DB (airflow pools import)"),
                         ("show", "print the pools the config needs, changing nothing")):
        pa = pools_sub.add_parser(action, help=text)
        pa.add_argument("--config", default=None, help="config file (default: $NEWSMARKETS_CONFIG or bundled)")
        pa.set_defaults(func=_cmd_pools)

    sources = sub.add_parser("sources", help="the configured news sources")
    sources_sub = sources.add_subparsers(dest="sources_command", required=True, metavar="ACTION")
    sc = sources_sub.add_parser(
        "check", help="read each source's robots.txt, feeds and sitemaps, extract a sample and print a health table",
        description="For every news source of CONFIG: is it reachable, allowed by robots.txt, what it listed in the "
                    "last 24 hours, and whether its newest articles extract with a title, a publish date and time "
                    "and linked assets. Exits 1 when a source FAILs (nothing usable from it), 0 otherwise.",
    )
    sc.add_argument("config", nargs="?", default=None, help="config file (default: $NEWSMARKETS_CONFIG or bundled)")
    sc.add_argument("--sample", type=int, default=3, help="newest articles to extract per source (default: %(default)s)")
    sc.add_argument("--source", action="append", default=[], metavar="NAME", help="check only this source (repeatable)")
    sc.add_argument("--now", default=None, help="check as of this UTC time (default: now)")
    sc.add_argument("--json", action="store_true", help="print the results as JSON")
    sc.set_defaults(func=_cmd_sources_check)

    cat = sub.add_parser("catalog", help="the DuckDB catalog BI tools open")
    cat_sub = cat.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    refresh = cat_sub.add_parser("refresh", help="rebuild the catalog's views and print row counts")
    refresh.add_argument("--config", default=None, help="config file (default: $NEWSMARKETS_CONFIG or bundled)")
    refresh.set_defaults(func=_cmd_catalog_refresh)

    wh = sub.add_parser("warehouse", help="the warehouse's tables")
    wh_sub = wh.add_subparsers(dest="warehouse_command", required=True, metavar="ACTION")
    convert = wh_sub.add_parser("convert", help="turn a warehouse written as Parquet files into Delta Lake tables "
                                                "(the same rows; old files kept in _parquet_backup/)")
    convert.add_argument("--config", default=None, help="config file (default: $NEWSMARKETS_CONFIG or bundled)")
    convert.set_defaults(func=_cmd_warehouse_convert)
    init = wh_sub.add_parser("init", help="create every missing table (and add new columns) before runs write; idempotent",
                             description="What the stack's init and warehouse_maintenance's first task run: two runs "
                                         "creating one Delta table at once conflict, so tables are created up front.")
    init.add_argument("--config", default=None, help="config file (default: $NEWSMARKETS_CONFIG or bundled)")
    init.set_defaults(func=_cmd_warehouse_init)

    tbl = sub.add_parser("table", help="one table's versions: history, restore (undo a bad load), check for damaged files")
    tbl_sub = tbl.add_subparsers(dest="table_command", required=True, metavar="ACTION")
    hist = tbl_sub.add_parser("history", help="the table's commits: version, time, operation, rows changed, DAG run")
    hist.add_argument("table", help="table name, e.g. articles")
    hist.add_argument("--limit", type=int, default=None, help="newest N commits only")
    hist.add_argument("--json", action="store_true", help="print the history as JSON")
    hist.add_argument("--config", default=None, help="config file (default: $NEWSMARKETS_CONFIG or bundled)")
    hist.set_defaults(func=_cmd_table_history)
    rest = tbl_sub.add_parser(
        "restore", help="make the table's rows those of an earlier version (one new commit; undo it the same way)",
        description="Restore TABLE to --version N (see `newsmarkets table history`) or to the version current at "
                    "--timestamp, then refresh the catalog. Versions stay restorable until vacuum removes their files.")
    rest.add_argument("table", help="table name, e.g. articles")
    which = rest.add_mutually_exclusive_group(required=True)
    which.add_argument("--version", type=int, default=None, help="the version to bring back")
    which.add_argument("--timestamp", default=None, help="bring back the version current at this time (ISO with zone, e.g. 2026-12-07T10:00Z)")
    rest.add_argument("--no-catalog", action="store_true", help="do not refresh the catalog afterwards")
    rest.add_argument("--config", default=None, help="config file (default: $NEWSMARKETS_CONFIG or bundled)")
    rest.set_defaults(func=_cmd_table_restore)
    chk = tbl_sub.add_parser(
        "check", help="read every data file's footer; name damaged files and the last good version (exit 1 if any)")
    chk.add_argument("table", nargs="*", help="tables to check (default: all)")
    chk.add_argument("--config", default=None, help="config file (default: $NEWSMARKETS_CONFIG or bundled)")
    chk.set_defaults(func=_cmd_table_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    from newsmarkets.config import ConfigError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"newsmarkets: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Our own error classes carry a message meant for the user; anything
        # else is a bug and keeps its traceback.
        if type(exc).__module__.startswith("newsmarkets."):
            print(f"newsmarkets: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
