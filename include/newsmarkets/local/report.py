"""The demo's report: rows per table, data-quality outcome, gaps, and an HTML page with a chart.

Everything is read back through the DuckDB catalog, the way a BI tool sees it.
Text that came from a source is escaped before it reaches the HTML.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import duckdb


def _query(catalog: str, sql: str) -> list[tuple]:
    con = duckdb.connect(catalog, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def build_report(env, states: dict) -> dict:
    from newsmarkets.warehouse.catalog import refresh_for_config

    cfg = env.config()
    counts = refresh_for_config(cfg)
    catalog = cfg.catalog_path
    dq = _query(catalog, """
        SELECT table_name, severity, count(*) AS checks, sum(CASE WHEN success THEN 0 ELSE 1 END) AS failed,
               count(DISTINCT suite || run_id) AS batches, bool_and(is_published) AS all_published
        FROM dq_results GROUP BY ALL ORDER BY ALL""")
    by_source = _query(catalog, """
        SELECT source, count(*) AS rows, count(DISTINCT asset_id) AS assets,
               min(observed_at)::VARCHAR, max(observed_at)::VARCHAR
        FROM price_snapshots GROUP BY source ORDER BY source""")
    gaps = _query(catalog, """
        SELECT asset_id, gap_start_at::VARCHAR, gap_end_at::VARCHAR, reason
        FROM price_gaps ORDER BY gap_start_at, asset_id LIMIT 10""")
    outcomes = _query(catalog, "SELECT outcome, count(*) FROM fetch_log GROUP BY 1 ORDER BY 2 DESC, 1")
    news = _query(catalog, """
        SELECT count(*) AS articles, count(DISTINCT story_id) AS stories,
               count(*) FILTER (WHERE NOT is_original) AS syndicated_copies,
               count(DISTINCT source) AS sources
        FROM articles""")
    top_assets = _query(catalog, """
        SELECT asset_id, count(*) AS articles, sum(mentions) AS mentions
        FROM article_assets GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 8""")
    top_moves = _query(catalog, """
        SELECT strftime(published_at, '%Y-%m-%d %H:%M') AS published_at, source, title, asset_id, horizon,
               round(abnormal_return * 100, 2) AS abnormal_pct, round(abnormal_z, 2) AS z, q_value AS q,
               CASE WHEN is_follow_up THEN 'follow-up' WHEN is_confounded THEN 'confounded' ELSE 'clean' END AS event_window,
               round(pre_publish_abnormal_return * 100, 2) AS pre_publish_abnormal_pct
        FROM article_moves WHERE is_significant AND is_settled
        ORDER BY abs(abnormal_z) DESC, published_at LIMIT 10""")
    report = {
        "tables": table_counts(cfg, counts),
        "top_moves": [dict(zip(("published_at", "source", "title", "asset_id", "horizon", "abnormal_pct", "z", "q",
                                "event_window", "pre_publish_abnormal_pct"), r)) for r in top_moves],
        "recovery": ground_truth_recovery(env),
        "news": dict(zip(("articles", "stories", "syndicated_copies", "sources"), news[0])),
        "fetch_outcomes": dict(outcomes),
        "top_linked_assets": [dict(zip(("asset_id", "articles", "mentions"), r)) for r in top_assets],
        "catalog": catalog,
        "warehouse": cfg.warehouse,
        "runs": {dag: dict(sorted(runs.items())) for dag, runs in states.items()},
        "rows": counts,
        "dq": [dict(zip(("table", "severity", "checks", "failed", "batches", "all_published"), r)) for r in dq],
        "prices_by_source": [dict(zip(("source", "rows", "assets", "first_observed_at", "last_observed_at"), r)) for r in by_source],
        "gaps": [dict(zip(("asset_id", "gap_start_at", "gap_end_at", "reason"), r)) for r in gaps],
    }
    report["html"] = str(write_html(env, report))
    (env.base_dir / "report.json").write_text(json.dumps(report, indent=2, default=str))
    return report


def table_counts(cfg, catalog_counts: dict[str, int]) -> list[dict]:
    """Per table: its Delta version and rows, read through the warehouse, beside the catalog view's row count.

    The two are read independently (delta-rs's log vs DuckDB over the view's file list), so a view
    built on the wrong files shows up as a mismatch here.
    """
    from newsmarkets.warehouse.schemas import TABLES
    from newsmarkets.warehouse.writer import Warehouse

    wh = Warehouse.from_config(cfg)
    out = []
    for name in sorted(TABLES):
        rows = len(wh.read(name, columns=[TABLES[name].key[0]]))
        out.append({"table": name, "version": wh.table_version(name), "table_rows": rows,
                    "catalog_rows": catalog_counts.get(name), "is_equal": rows == catalog_counts.get(name)})
    return out


def ground_truth_recovery(env) -> dict:
    """How well the gold table found the replay world's injected events (precision/recall at 1h)."""
    from newsmarkets.moves.recovery import recovery
    from newsmarkets.replay.news_world import NewsWorld
    from newsmarkets.replay.world import MarketWorld
    from newsmarkets.warehouse.writer import Warehouse

    cfg = env.config()
    wh = Warehouse.from_config(cfg)
    gold = wh.read("news_market_moves")
    if gold.empty:
        return {"error": "news_market_moves is empty: nothing to score"}
    rc = cfg.replay
    market = MarketWorld.generate(rc.start, rc.days, rc.seed)
    news = NewsWorld.generate(market, rc.seed)
    return recovery(gold, wh.read("articles", columns=["article_id", "url", "canonical_url"]),
                    market.truth(), news.truth(), horizon="1h", assets=set(cfg.prices.assets))


def chart_groups(by_horizon: list[dict]) -> list[str]:
    """The bars of the recovery chart, in order: event rows (split by window where known), then no-event rows."""
    present = {r["group"] for r in by_horizon}
    return [g for g in ("event, clean", "event, confounded", "event", "non-event") if g in present]


def _abnormal_chart_png(by_horizon: list[dict]) -> bytes:
    """Mean |abnormal return| by horizon: injected events in clean windows, in confounded ones (another story on
    the asset inside the horizon, or a follow-up), and news with no event behind it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = chart_groups(by_horizon)
    horizons = sorted({(r["horizon_minutes"], r["horizon"]) for r in by_horizon})
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), dpi=110)
    width = 0.8 / max(len(groups), 1)
    for k, group in enumerate(groups):
        cells = {(r["horizon_minutes"], r["horizon"]): r for r in by_horizon if r["group"] == group}
        xs = [i + (k - (len(groups) - 1) / 2) * width for i in range(len(horizons))]
        left.bar(xs, [cells[h]["mean_abs_abnormal_return"] * 100 if h in cells else 0 for h in horizons],
                 width, label=group)
        right.bar(xs, [cells[h]["mean_abs_z"] if h in cells else 0 for h in horizons], width, label=group)
    for ax, title in ((left, "mean |abnormal return|, %"), (right, "mean |abnormal z|")):
        ax.set_xticks(range(len(horizons)), [h for _, h in horizons])
        ax.set_xlabel("horizon after publication")
        ax.set_title(title)
        ax.grid(alpha=0.2, axis="y")
        ax.legend()
    right.axhline(1.96, color="grey", linestyle="--", linewidth=0.8)
    fig.suptitle("news_market_moves: ground-truth events (clean vs confounded windows) vs. news with no event "
                 "behind it (computed rows only)")
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _price_chart_png(catalog: str, events: list[dict]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    con = duckdb.connect(catalog, read_only=True)
    try:
        frame = con.execute("""
            SELECT asset_id, observed_at, price_usd / first_value(price_usd) OVER (
                       PARTITION BY asset_id ORDER BY observed_at) * 100 AS indexed
            FROM price_snapshots WHERE source = 'market_chart' ORDER BY asset_id, observed_at""").df()
    finally:
        con.close()
    fig, ax = plt.subplots(figsize=(11, 5), dpi=110)
    for asset_id, part in frame.groupby("asset_id"):
        ax.plot(part["observed_at"], part["indexed"], linewidth=1, label=asset_id)
    for ev in events:
        ax.axvline(ev["at"], color="grey", alpha=0.35, linewidth=0.8, linestyle="--")
    ax.set_ylabel("price, indexed to 100 at the first point")
    ax.set_title("price_snapshots (market_chart): each asset indexed; dashed lines are the world's injected events")
    ax.legend(fontsize=7, ncol=5, loc="upper left")
    ax.grid(alpha=0.2)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _table(rows: list[dict]) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _recovery_html(rec: dict) -> str:
    if "error" in rec:
        return f"<p><em>{html.escape(rec['error'])}</em></p>"
    # the event rows split by window where the gold table says (is_confounded, is_follow_up)
    chart = [r for r in rec.get("by_window") or rec["by_horizon"] if r["group"] != "event, other link"]
    png = base64.b64encode(_abnormal_chart_png(chart)).decode() if chart else ""
    summary = {k: rec[k] for k in ("horizon", "events", "truth_positives", "predicted_positives",
                                   "true_positives", "precision", "recall")}
    return (f"<p>Recovery of the replay world's injected events: significant links at {html.escape(rec['horizon'])} "
            "against the generator's truth.</p>" + _table([summary])
            + (f'<img alt="abnormal return by horizon" src="data:image/png;base64,{png}" style="max-width:100%">'
               if png else "")
            + "<h3>Missed events</h3>" + _table(rec["misses"]))


def write_html(env, report: dict) -> Path:
    import pandas as pd

    from newsmarkets.replay.world import MarketWorld

    rc = env.config().replay
    world = MarketWorld.generate(rc.start, rc.days, rc.seed)
    events = [{**e, "at": pd.Timestamp(e["at"])} for e in world.truth()["events"]]
    png = base64.b64encode(_price_chart_png(report["catalog"], events)).decode()
    rows = [{"table": k, "rows": v} for k, v in report["rows"].items()]
    runs = [{"dag": d, "run": r, "state": s} for d, rs in report["runs"].items() for r, s in rs.items()]
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>newsmarkets demo report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px}}table{{border-collapse:collapse;margin:.5rem 0 1.5rem}}
td,th{{border:1px solid #ccc;padding:.25rem .6rem;text-align:left;font-size:.9rem}}th{{background:#f3f3f3}}</style></head><body>
<h1>newsmarkets — demo report</h1>
<p>Warehouse <code>{html.escape(report['warehouse'])}</code>; DuckDB catalog <code>{html.escape(report['catalog'])}</code>.</p>
<h2>Prices</h2><img alt="indexed prices" src="data:image/png;base64,{png}" style="max-width:100%">
{_table(report['prices_by_source'])}
<h2>News → market moves</h2>{_recovery_html(report['recovery'])}
<h3>Top linked moves (settled, significant)</h3>{_table(report['top_moves'])}
<h2>News</h2>{_table([report['news']])}
<h3>Every discovered URL's outcome (fetch_log)</h3>{_table([{"outcome": k, "urls": v} for k, v in report['fetch_outcomes'].items()])}
<h3>Most linked assets</h3>{_table(report['top_linked_assets'])}
<h2>Rows per table</h2>{_table(rows)}
<h2>Data quality (Great Expectations)</h2>{_table(report['dq'])}
<h2>Recorded price gaps (first 10)</h2>{_table(report['gaps'])}
<h2>Airflow runs</h2>{_table(runs)}
</body></html>"""
    out = env.base_dir / "report.html"
    out.write_text(page, encoding="utf-8")
    return out


def print_report(report: dict) -> None:
    print("\n=== newsmarkets demo report ===")
    for dag, runs in report["runs"].items():
        ok = sum(1 for s in runs.values() if s == "success")
        print(f"  {dag:<18} {ok}/{len(runs)} runs succeeded")
    print("  rows per table:")
    for table, rows in report["rows"].items():
        print(f"    {table:<22} {rows:>8,}")
    print("  prices by source:")
    for r in report["prices_by_source"]:
        print(f"    {r['source']:<13} {r['rows']:>6,} rows, {r['assets']} assets, {r['first_observed_at']} → {r['last_observed_at']}")
    print("  data quality:")
    for r in report["dq"]:
        print(f"    {r['table']:<16} {r['severity']:<8} {r['checks']:>4} checks, {r['failed']} failed, "
              f"{r['batches']} batches{'' if r['all_published'] else ' (some quarantined)'}")
    n = report["news"]
    print(f"  news: {n['articles']} articles from {n['sources']} sources in {n['stories']} stories "
          f"({n['syndicated_copies']} syndicated copies)")
    print("  fetch outcomes: " + ", ".join(f"{k} {v}" for k, v in report["fetch_outcomes"].items()))
    print("  most linked assets: " + ", ".join(f"{r['asset_id']} ({r['articles']})" for r in report["top_linked_assets"]))
    print(f"  recorded gaps: {report['rows'].get('price_gaps', 0)} (first: "
          f"{report['gaps'][0]['asset_id'] + ' ' + report['gaps'][0]['gap_start_at'] if report['gaps'] else 'none'})")
    rec = report.get("recovery", {})
    if "error" in rec:
        print(f"  ground truth: {rec['error']}")
    elif rec:
        print(f"  ground-truth events recovered (significant at {rec['horizon']}): precision {rec['precision']}, "
              f"recall {rec['recall']} ({rec['true_positives']} of {rec['truth_positives']} event links; "
              f"{rec['predicted_positives']} significant links predicted)")
        for m in rec["misses"][:5]:
            print(f"    missed {m['event_id']} {m['asset_id']} ({m['effect_pct']:+.1f}%): {m['why']}")
    if report.get("top_moves"):
        print("  top linked moves (|z|):")
        for m in report["top_moves"][:5]:
            print(f"    {m['published_at']}  {m['asset_id']:<10} {m['horizon']:>4} {m['abnormal_pct']:+6.2f}%  "
                  f"z={m['z']:+.1f} q={m['q']:.1g} {m['event_window']:<10} {m['title'][:50]}")
    tables = report.get("tables", [])
    if tables:
        print("  Delta tables (version, rows) = catalog view rows: " + ", ".join(
            f"{t['table']} v{t['version']} {t['table_rows']:,}" + ("" if t["is_equal"] else f" != {t['catalog_rows']}")
            for t in tables))
    print(f"  DuckDB catalog for BI tools: {report['catalog']}")
    print(f"  HTML report: {report['html']}")
    if "wall_s" in report:
        print(f"  demo wall time: {report['wall_s']} s")
