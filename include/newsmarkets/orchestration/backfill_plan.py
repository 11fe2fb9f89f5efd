"""What a backfill will cost before it starts: runs, external calls, time at the budget, granularity.

``plan_backfill(cfg, dag_id, from_date, to_date, now)`` reads only the config
and the call structure of the DAG's tasks (no network, no Airflow), so
``newsmarkets plan backfill`` answers "how long will a year of 250 assets
take?" in a second. ``from_date``/``to_date`` mean what they mean to
``airflow backfill create``: logical dates (interval starts) of the first and
last run, both inclusive; a bare date is midnight UTC.

The counts follow the code they describe: :func:`newsmarkets.prices.pipeline.fetch_history`
(one ``/coins/list`` plus one ``market_chart/range`` per asset and day),
:mod:`newsmarkets.news.ingest.discover` (feeds, then sitemaps when a feed does
not reach back, at most ``MAX_SITEMAP_FETCHES`` per source and run) and the
polite fetcher (one robots.txt per host and step). A unit test checks the
schedules and ``max_active_runs`` below against the DAG files.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit

from newsmarkets.config import Config, NewsSourceConfig
from newsmarkets.orchestration.pools import NEWS_POOL, PRICES_POOL

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
# CoinGecko's first day of data (its oldest market_chart points): earlier days cannot succeed.
PROVIDER_FIRST_DAY = date(2013, 4, 28)
# CoinGecko's automatic granularity for a 1-day market_chart/range: 5-minutely
# when the range starts within a day of the time of the call, hourly further back
# (docs "Coin Historical Chart Data within Time Range by ID"; replay/market_api.py chart()).
FIVE_MINUTELY_WITHIN = DAY


class PlanError(ValueError):
    """The plan's input is wrong (unknown DAG, bad dates); the message names what."""


@dataclass(frozen=True)
class DagFacts:
    """What the plan needs of a DAG definition; tests compare these with dags/*.py."""

    dag_id: str
    cron: str
    step: timedelta
    max_active_runs: int
    calls_out: bool  # does a run call anything outside the warehouse?


DAGS: dict[str, DagFacts] = {
    f.dag_id: f
    for f in (
        DagFacts("assets_refresh", "0 0 * * *", DAY, 1, True),
        DagFacts("prices_history", "0 0 * * *", DAY, 4, True),
        DagFacts("prices_snapshot", "*/5 * * * *", timedelta(minutes=5), 1, True),
        DagFacts("news_ingest", "0 * * * *", HOUR, 4, True),
        DagFacts("news_market_link", "0 0 * * *", DAY, 1, False),
        DagFacts("warehouse_maintenance", "0 0 * * *", DAY, 1, False),
    )
}


@dataclass(frozen=True)
class CallLine:
    """One kind of request: how many a run makes, how many the range makes, how long at the budget."""

    host: str
    what: str
    per_run_min: int
    per_run_max: int
    runs: int
    budget: str  # e.g. "30/min" or "1/s per host"
    time_min_s: float | None = None  # at the budget; None: not bounded by it
    time_max_s: float | None = None
    note: str = ""

    @property
    def total_min(self) -> int:
        return self.per_run_min * self.runs

    @property
    def total_max(self) -> int:
        return self.per_run_max * self.runs


@dataclass(frozen=True)
class RunSpan:
    """Runs sharing one verdict (a granularity, or a reason they will fail), first and last logical date."""

    label: str
    runs: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True)
class BackfillPlan:
    dag_id: str
    from_date: datetime
    to_date: datetime
    now: datetime
    step: timedelta
    max_active_runs: int
    runs: int  # logical dates in the range
    first_run: datetime | None
    last_run: datetime | None
    refused: str | None = None  # the DAG cannot be backfilled at all: why
    working: list[RunSpan] = field(default_factory=list)  # runs that do work, by granularity
    failing: list[RunSpan] = field(default_factory=list)  # runs that will fail (or find nothing), by reason
    calls: list[CallLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def working_runs(self) -> int:
        return sum(s.runs for s in self.working)

    @property
    def total_calls_min(self) -> int:
        return sum(c.total_min for c in self.calls)

    @property
    def total_calls_max(self) -> int:
        return sum(c.total_max for c in self.calls)

    def to_dict(self) -> dict:
        """JSON-ready: datetimes as ISO strings, durations in seconds."""
        out = asdict(self)
        out["step_s"] = out.pop("step").total_seconds()
        out["working_runs"] = self.working_runs
        out["total_calls_min"] = self.total_calls_min
        out["total_calls_max"] = self.total_calls_max
        for line, raw in zip(self.calls, out["calls"]):
            raw.update(total_min=line.total_min, total_max=line.total_max)
        return _iso(out)


def _iso(value):
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


# ----------------------------------------------------------------------------- dates and runs

def parse_logical_date(text: str, name: str) -> datetime:
    """``2025-01-01`` (midnight UTC) or an ISO time; naive times are UTC, Airflow's default timezone here."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise PlanError(f"{name} {text!r}: expected a date like 2025-01-01 or a time like 2025-01-01T06:00Z") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _align_up(t: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    n = math.ceil((t - epoch) / step)
    return epoch + n * step


def _align_down(t: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    n = math.floor((t - epoch) / step)
    return epoch + n * step


def run_span(label: str, first: datetime | None, last: datetime | None, step: timedelta,
             lo: datetime | None = None, hi: datetime | None = None) -> RunSpan:
    """The runs ``first, first+step, … last`` whose logical date is in ``[lo, hi)``."""
    if first is None or last is None:
        return RunSpan(label, 0, None, None)
    start = first if lo is None or lo <= first else _align_up(lo, step)
    end = last if hi is None or hi > last else _align_up(hi, step) - step
    if end < start:
        return RunSpan(label, 0, None, None)
    return RunSpan(label, (end - start) // step + 1, start, end)


# ----------------------------------------------------------------------------- the plan

def plan_backfill(cfg: Config, dag_id: str, from_date: datetime, to_date: datetime, now: datetime) -> BackfillPlan:
    """The plan for ``airflow backfill create --dag-id dag_id --from-date from_date --to-date to_date`` at ``now``."""
    if dag_id not in DAGS:
        raise PlanError(f"unknown dag id {dag_id!r} (known: {', '.join(DAGS)})")
    if to_date < from_date:
        raise PlanError(f"--to-date {to_date.isoformat()} is before --from-date {from_date.isoformat()}")
    facts = DAGS[dag_id]
    first, last = _align_up(from_date, facts.step), _align_down(to_date, facts.step)
    if last < first:
        first = last = None
    runs = 0 if first is None else (last - first) // facts.step + 1
    base = BackfillPlan(dag_id, from_date, to_date, now, facts.step, facts.max_active_runs, runs, first, last)
    return _PLANNERS[dag_id](cfg, base, facts)


def _after(now: datetime, step: timedelta) -> datetime:
    """First logical date whose interval has not begun at ``now`` (start strictly after now)."""
    nxt = _align_up(now, step)
    return nxt if nxt > now else nxt + step


def _pool_share(facts: DagFacts, slots: int) -> float:
    """The part of a pooled budget one DAG's backfill gets: its concurrent runs' slots of the pool's."""
    return min(facts.max_active_runs, slots) / slots


def _concurrency_note(facts: DagFacts, pool: str, slots: int, budget: str, each: str) -> str:
    used = min(facts.max_active_runs, slots)
    return (f"Airflow pool {pool} ({slots} slot(s), `newsmarkets pools apply`) holds the {budget} across every "
            f"run and worker: at most {slots} such task(s) at once, each at {each}. This DAG's "
            f"{facts.max_active_runs} concurrent runs use {used} of them; the time above counts that, and "
            "everything else calling the same source (the live snapshot, other backfills) only adds to it.")


def _plan_prices_history(cfg: Config, base: BackfillPlan, facts: DagFacts) -> BackfillPlan:
    step, first, last, now = base.step, base.first_run, base.last_run, base.now
    history_start = datetime.combine(PROVIDER_FIRST_DAY, datetime.min.time(), timezone.utc)
    before = run_span(f"before the provider's history ({PROVIDER_FIRST_DAY.isoformat()})", first, last, step,
                      hi=history_start)
    not_begun = run_span("not begun", first, last, step, lo=_after(now, step))
    five_min_from = max(history_start, now - FIVE_MINUTELY_WITHIN)
    hourly = run_span("hourly points", first, last, step, lo=history_start, hi=five_min_from)
    five = run_span("5-minutely points", first, last, step, lo=five_min_from, hi=_after(now, step))
    working = [s for s in (hourly, five) if s.runs]
    work_runs = hourly.runs + five.runs
    rate = cfg.prices.rate_limit_per_minute
    usable = rate * _pool_share(facts, cfg.prices.pool_slots)
    host = urlsplit(cfg.prices.base_url).netloc
    n_assets = len(cfg.prices.assets)

    def line(what: str, per_run: int, note: str = "") -> CallLine:
        t = per_run * work_runs * 60.0 / usable
        return CallLine(host, what, per_run, per_run, work_runs, f"{usable:g}/min", t, t, note)

    calls = [line("/coins/list", 1, "the ids the provider lists, once per run"),
             line("/coins/{id}/market_chart/range", n_assets, "one per configured asset and day")]
    attempts = 1 + cfg.prices.max_retries
    notes = [
        f"Time at budget = calls / the backfill's part of prices.rate_limit_per_minute ({usable:g} of "
        f"{rate:g}/min); retries take the same budget: "
        f"a failing call is tried up to {attempts} times (prices.max_retries {cfg.prices.max_retries}).",
        _concurrency_note(facts, PRICES_POOL, cfg.prices.pool_slots, f"{rate:g}/min budget",
                          f"{cfg.prices.task_rate_per_minute:g}/min"),
        "Granularity is CoinGecko's automatic one for a 1-day range, judged at the time each run calls: "
        "5-minutely when the day starts within a day of the call, hourly further back.",
    ]
    if five.runs and last is not None and last + step > now:
        notes.append("The last day is still running: its run gets the points up to the time it runs.")
    return _with(base, working=working, failing=[s for s in (before, not_begun) if s.runs], calls=calls, notes=notes)


def _plan_prices_snapshot(cfg: Config, base: BackfillPlan, facts: DagFacts) -> BackfillPlan:
    refused = ("prices_snapshot is live only: a snapshot of /coins/markets describes the moment it is taken, "
               "so a backfill of it is refused. Backfill prices_history for past prices "
               "(newsmarkets plan backfill --dag-id prices_history ...).")
    per_run = _markets_calls(cfg)
    rate = cfg.prices.rate_limit_per_minute
    notes = [f"Live, it makes {per_run} /coins/markets call(s) every 5 minutes "
             f"({per_run / 5:g}/min of the {rate:g}/min budget) for {len(cfg.prices.assets)} assets."]
    return _with(base, refused=refused, notes=notes)


def _plan_assets_refresh(cfg: Config, base: BackfillPlan, facts: DagFacts) -> BackfillPlan:
    refused = ("assets_refresh is live only: /coins/list describes the coins listed now, so a backfill of it "
               "is refused. The assets table keeps one copy per day it was refreshed on.")
    pages = -(-cfg.prices.ranked_coins // cfg.prices.per_page)
    notes = [f"Live, it makes 1 /coins/list call and {pages} ranked /coins/markets page(s) a day, plus up to "
             f"{_markets_calls(cfg)} /coins/markets call(s) for tracked coins outside the {cfg.prices.ranked_coins} "
             "largest."]
    return _with(base, refused=refused, notes=notes)


def _markets_calls(cfg: Config) -> int:
    """``/coins/markets`` calls of one snapshot: the client's URL-length chunks, one page each."""
    from newsmarkets.config import HttpConfig
    from newsmarkets.prices.coingecko import CoinGeckoClient

    client = CoinGeckoClient(cfg.prices, HttpConfig())  # no request is made: chunking is local
    try:
        chunks = client._id_chunks(list(cfg.prices.assets))
    finally:
        client.close()
    # a chunk as large as a page needs one more (empty) page to see the end
    return sum(math.ceil(len(c) / cfg.prices.per_page) + (len(c) % cfg.prices.per_page == 0) for c in chunks)


def _hosts(urls) -> list[str]:
    return list(dict.fromkeys((urlsplit(u).hostname or "") for u in urls))


def source_calls_per_run(source: NewsSourceConfig, *, backfill: bool) -> dict[str, tuple[int, int]]:
    """Listing requests of one news_ingest run per host of ``source``: (fewest, most).

    Feeds every run; the configured sitemaps, and the child sitemaps the hour
    can touch, only when the feeds do not reach back (``backfill``), at most
    ``MAX_SITEMAP_FETCHES`` per source (children assumed on their index's host);
    one robots.txt per host visited. Article pages are not counted: how many
    articles an hour holds is unknown in advance.
    """
    from newsmarkets.news.ingest.discover import MAX_SITEMAP_FETCHES

    sitemaps = source.sitemaps if backfill else ()
    listings = (*source.feeds, *sitemaps)
    out: dict[str, tuple[int, int]] = {}
    children = max(0, MAX_SITEMAP_FETCHES - len(sitemaps)) if sitemaps else 0
    for host in _hosts(listings):  # the fetcher paces by host name
        on_host = [u for u in listings if urlsplit(u).hostname == host]
        robots = len({(urlsplit(u).scheme, urlsplit(u).netloc) for u in on_host})  # robots.txt is per origin
        feeds = sum(1 for u in source.feeds if urlsplit(u).hostname == host)
        maps = sum(1 for u in sitemaps[:MAX_SITEMAP_FETCHES] if urlsplit(u).hostname == host)
        extra = children if maps else 0
        out[host] = (robots + feeds + maps, robots + feeds + maps + extra)
    return out


def _plan_news_ingest(cfg: Config, base: BackfillPlan, facts: DagFacts) -> BackfillPlan:
    from newsmarkets.news.ingest.discover import MAX_SITEMAP_FETCHES, SITEMAP_LOOKBACK_DAYS

    step, first, last, now = base.step, base.first_run, base.last_run, base.now
    not_begun = run_span("not begun (nothing published yet)", first, last, step, lo=_after(now, step))
    work = run_span("hourly articles (feeds, then sitemaps)", first, last, step, hi=_after(now, step))
    rps = cfg.news.per_domain_rps * _pool_share(facts, cfg.news.pool_slots)
    calls = []
    for source in cfg.news.sources:
        for host, (fewest, most) in source_calls_per_run(source, backfill=True).items():
            calls.append(CallLine(host, f"{source.name}: robots.txt, feeds, sitemaps", fewest, most, work.runs,
                                  f"{rps:g}/s per host", fewest * work.runs / rps, most * work.runs / rps))
    notes = [
        "Listing requests only, assuming the feeds do not reach back to the hours (a backfill): "
        f"robots.txt once per host, every feed, the configured sitemaps, then the child sitemaps "
        f"whose date the hour can touch (the hour's day and {SITEMAP_LOOKBACK_DAYS} before, or undated), "
        f"at most {MAX_SITEMAP_FETCHES} sitemaps per source and run. Hours the feeds still cover read feeds only.",
        "Article pages: one request per article listed in the hour, plus robots.txt per host for the fetch "
        "step; how many articles an hour holds is unknown in advance, so they are not counted here.",
        f"Time at budget = requests / the backfill's part of news.per_domain_rps ({rps:g} of "
        f"{cfg.news.per_domain_rps:g}/s) for each host, a floor: a robots.txt "
        "Crawl-delay larger than 1/rps, response times and Retry-After pauses only add to it. "
        "Hosts are paced independently, so the busiest host bounds the backfill.",
        _concurrency_note(facts, NEWS_POOL, cfg.news.pool_slots, f"{cfg.news.per_domain_rps:g}/s per host",
                          f"{cfg.news.per_domain_rps / cfg.news.pool_slots:g}/s per host"),
    ]
    if base.to_date == _align_down(base.to_date, DAY) and base.to_date >= base.from_date + HOUR:
        notes.insert(0, f"--to-date {base.to_date.date().isoformat()} is midnight: the last run is that day's "
                        f"00:00 hour; give {base.to_date.date().isoformat()}T23:00 to include the whole day.")
    if not cfg.news.sources:
        notes.insert(0, "news.sources is empty: runs discover nothing and call no one.")
    return _with(base, working=[work] if work.runs else [], failing=[not_begun] if not_begun.runs else [],
                 calls=calls, notes=notes)


def _plan_no_calls(cfg: Config, base: BackfillPlan, facts: DagFacts) -> BackfillPlan:
    what = {
        "news_market_link": "reads the warehouse's articles and prices; its sensors wait for each day's 24 "
                            "news_ingest runs and its prices_history run, so plan (and backfill) those",
        "warehouse_maintenance": "compacts, applies retention and builds Data Docs inside the warehouse",
    }[base.dag_id]
    work = run_span("daily (warehouse only)", base.first_run, base.last_run, base.step)
    notes = [f"{base.dag_id} makes no external calls: it {what}.",
             f"max_active_runs {facts.max_active_runs}: its runs go one at a time."]
    return _with(base, working=[work] if work.runs else [], notes=notes)


def _with(base: BackfillPlan, **changes) -> BackfillPlan:
    return replace(base, **changes)


_PLANNERS = {
    "assets_refresh": _plan_assets_refresh,
    "prices_history": _plan_prices_history,
    "prices_snapshot": _plan_prices_snapshot,
    "news_ingest": _plan_news_ingest,
    "news_market_link": _plan_no_calls,
    "warehouse_maintenance": _plan_no_calls,
}


# ----------------------------------------------------------------------------- text

def format_duration(seconds: float | None) -> str:
    """``2d 02h 53m``, ``4h 10m``, ``12m 30s``, ``45s``; minutes rounded up (a floor must not shrink)."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{math.ceil(seconds)}s"
    if seconds < 3600:
        whole = math.ceil(seconds)
        return f"{whole // 60}m {whole % 60:02d}s"
    minutes = math.ceil(seconds / 60)
    d, rest = divmod(minutes, 1440)
    h, m = divmod(rest, 60)
    return f"{d}d {h:02d}h {m:02d}m" if d else f"{h}h {m:02d}m"


def _when(t: datetime | None, step: timedelta) -> str:
    if t is None:
        return "-"
    return t.strftime("%Y-%m-%d") if step >= DAY else t.strftime("%Y-%m-%dT%H:%MZ")


def _step_name(step: timedelta) -> str:
    return {DAY: "daily", HOUR: "hourly", timedelta(minutes=5): "5-minute"}.get(step, str(step))


def _count(lo: int, hi: int) -> str:
    return f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}"


def _time(lo: float | None, hi: float | None) -> str:
    if lo is None:
        return "-"
    return format_duration(lo) if hi == lo else f"{format_duration(lo)} - {format_duration(hi)}"


def render(plan: BackfillPlan) -> str:
    """The plan as a small text report."""
    s = plan.step
    out = [f"backfill plan: {plan.dag_id}, logical dates {_when(plan.from_date, s)} .. {_when(plan.to_date, s)}"
           f" (as of {plan.now.strftime('%Y-%m-%dT%H:%M:%SZ')})"]
    out.append(f"runs: {plan.runs:,} {_step_name(s)} ({_when(plan.first_run, s)} .. {_when(plan.last_run, s)}),"
               f" max_active_runs {plan.max_active_runs}")
    if plan.refused:
        out += ["", "refused: " + plan.refused]
    if plan.working:
        out += ["", "runs that do work, by what they get:"]
        out += [f"  {sp.label:<40} {sp.runs:>7,} runs  {_when(sp.first, s)} .. {_when(sp.last, s)}"
                for sp in plan.working]
    if plan.failing:
        out += ["", "will fail or find nothing:"]
        out += [f"  {sp.label:<40} {sp.runs:>7,} runs  {_when(sp.first, s)} .. {_when(sp.last, s)}"
                for sp in plan.failing]
    if plan.calls:
        rows = [("host", "calls", "per run", "runs", "total", "budget", "time at budget")]
        rows += [(c.host, c.what, _count(c.per_run_min, c.per_run_max), f"{c.runs:,}",
                  _count(c.total_min, c.total_max), c.budget, _time(c.time_min_s, c.time_max_s)) for c in plan.calls]
        if all(c.budget == plan.calls[0].budget for c in plan.calls) and "per host" not in plan.calls[0].budget:
            lo, hi = sum(c.time_min_s or 0 for c in plan.calls), sum(c.time_max_s or 0 for c in plan.calls)
            per_run_lo = sum(c.per_run_min for c in plan.calls)
            per_run_hi = sum(c.per_run_max for c in plan.calls)
            rows.append(("", "total", _count(per_run_lo, per_run_hi), f"{plan.working_runs:,}",
                         _count(plan.total_calls_min, plan.total_calls_max), plan.calls[0].budget, _time(lo, hi)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        right = {2, 3, 4}
        out.append("")
        for i, row in enumerate(rows):
            cells = [c.rjust(w) if j in right else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths))]
            out.append("  " + "  ".join(cells).rstrip())
            if i == 0:
                out.append("  " + "  ".join("-" * w for w in widths))
    elif not plan.refused:
        out += ["", "external calls: none"]
    if plan.notes:
        out += [""] + [f"* {n}" for n in plan.notes]
    return "\n".join(out)
