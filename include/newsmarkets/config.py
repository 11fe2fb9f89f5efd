"""Project configuration: one YAML file, validated on load.

The path comes from ``NEWSMARKETS_CONFIG`` (default: the bundled replay-world
config) and ``NEWSMARKETS_WAREHOUSE`` overrides the warehouse root, so the same
DAGs run against the replay world, a laptop folder or ``s3://``.
Errors name the offending key (``prices.assets[2]: ...``) so a typo never
turns into a silent default.

The config objects are plain frozen dataclasses whose field annotations carry
pydantic constraints: :func:`parse_config` validates YAML through pydantic,
while code and tests that build or ``dataclasses.replace`` them directly get
no validation, as before.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, is_dataclass, replace
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_type_hints
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    GetPydanticSchema,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
    with_config,
)
from pydantic_core import PydanticCustomError

from newsmarkets.credentials import PRICES_CONN_ID, S3_CONN_ID, provider_api_key

BUNDLED_CONFIG = Path(__file__).parent / "config" / "replay.yaml"
CONFIG_ENV = "NEWSMARKETS_CONFIG"
WAREHOUSE_ENV = "NEWSMARKETS_WAREHOUSE"
WAREHOUSE_FORMAT_ENV = "NEWSMARKETS_WAREHOUSE_FORMAT"

_COINGECKO_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_HTTP_URL = re.compile(r"^https?://[^/\s]+")


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or has an invalid key."""


_HORIZON = re.compile(r"^([1-9][0-9]*)(m|h|d)$")
_HORIZON_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440}


def horizon_minutes(label: str) -> int:
    """Minutes of a horizon label such as ``15m``, ``4h`` or ``1d``."""
    match = _HORIZON.match(label) if isinstance(label, str) else None
    if not match:
        raise ConfigError(f"horizon {label!r}: expected a number and a unit m, h or d (e.g. 15m, 4h, 1d)")
    return int(match.group(1)) * _HORIZON_UNIT_MINUTES[match.group(2)]


# ---------------------------------------------------------------- field types
# Validators raise ValueError (ConfigError is one) with the message users see;
# _at() is for errors that belong to an item or key below the field, whose
# path pydantic cannot know.


def _at(message: str, *at: str | int) -> PydanticCustomError:
    return PydanticCustomError("config", "{message}", {"message": message, "at": at})


def _not_none(value: Any) -> Any:
    # `key:` with no value in YAML is None: report it as missing, not as a type error.
    if value is None:
        raise PydanticCustomError("missing", "required key is missing")
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def _list_of(what: str, *, required: bool = False) -> BeforeValidator:
    """A YAML list (a tuple when built in code); absent or null means empty unless ``required``."""

    def check(value: Any) -> Any:
        if value is None and not required:
            return ()
        if not isinstance(value, (list, tuple)) or (required and not value):
            raise ValueError(f"expected a {'non-empty ' if required else ''}list {what}, got {value!r}")
        return value

    return BeforeValidator(check)


def _no_duplicates(values: tuple) -> tuple:
    for i, value in enumerate(values):
        if value in values[:i]:
            raise _at(f"{value!r} is listed twice", i)
    return values


def _http_url(url: Any) -> Any:
    if not isinstance(url, str) or not _HTTP_URL.match(url):
        raise ValueError(f"must be an http(s) URL, got {url!r}")
    return url


def _coingecko_id(value: Any) -> Any:
    if not isinstance(value, str) or not _COINGECKO_ID.match(value):
        raise ValueError(f"{value!r} is not a CoinGecko id (lower-case letters, digits, '-')")
    return value


def _known_provider(name: str) -> str:
    from newsmarkets.prices.registry import PROVIDERS  # light module: names only

    if name not in PROVIDERS:
        raise ValueError(f"unknown provider {name!r} (known: {', '.join(sorted(PROVIDERS))})")
    return name


def _coingecko_page(size: int) -> int:
    if size > 250:
        raise ValueError(f"CoinGecko allows at most 250, got {size}")
    return size


def _iso_date(value: Any) -> str:
    # YAML reads an unquoted 2026-01-05 as a date
    text = str(value)
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        raise ValueError(f"expected an ISO date like 2026-01-05, got {value!r}")
    return text


def _horizon_label(label: Any) -> Any:
    horizon_minutes(label)
    return label


def _distinct_sorted_horizons(labels: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[int, str] = {}
    for i, label in enumerate(labels):
        minutes = horizon_minutes(label)
        if minutes in seen:
            raise _at(f"{label!r} is the same length as {seen[minutes]!r}", i)
        seen[minutes] = label
    return tuple(seen[m] for m in sorted(seen))


def _source_name(name: str) -> str:
    if not re.match(r"^[a-z0-9][a-z0-9_-]*$", name):
        # the name becomes a path segment of raw HTML and staging files
        raise ValueError(f"{name!r} must be lower-case letters, digits, '-' or '_'")
    return name


def _known_zone(name: str) -> str:
    from newsmarkets.news.dates import TimezoneError, zone

    try:
        zone(name)
    except TimezoneError as exc:
        raise ValueError(str(exc)) from None
    return name


def _host(value: Any) -> Any:
    if not isinstance(value, str) or not re.match(r"^[A-Za-z0-9.\-\[\]:]+$", value):
        raise ValueError(f"expected a host name, got {value!r}")
    return value.lower()


def _one_line(agent: str) -> str:
    if "\n" in agent or "\r" in agent:
        raise ValueError("must be one header line")
    return agent


def _local_folder(folder: str) -> str:
    if "://" in folder:
        raise ValueError(f"must be a local folder (Data Docs are a static site), got {folder!r}")
    return folder


def _unique_names(sources: tuple[NewsSourceConfig, ...]) -> tuple[NewsSourceConfig, ...]:
    for i, source in enumerate(sources):
        if any(s.name == source.name for s in sources[:i]):
            raise _at(f"{source.name!r} is used by another source", i, "name")
    return sources


def _empty_if_none(value: Any) -> Any:
    return {} if value is None else value  # `http:` left empty: all defaults


def _horizon_mapping(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping of horizon to minutes, got {value!r}")
    return value


def _limits_of_horizons(limits: dict[str, int], info: ValidationInfo) -> tuple[tuple[str, int], ...]:
    horizons = info.data.get("horizons")  # None: invalid, and already reported
    for label in limits if horizons is not None else ():
        if label not in horizons:
            raise _at(f"not one of the horizons {list(horizons)}", label)
    return tuple(limits.items())


_Required = BeforeValidator(_not_none)
_Section = BeforeValidator(_empty_if_none)
_Text = Annotated[StrictStr, AfterValidator(_non_empty)]
_Positive = Annotated[float, Strict(), Field(gt=0)]  # strict float still takes ints, not bools or strings
_Count = Annotated[StrictInt, Field(ge=1)]
_Natural = Annotated[StrictInt, Field(ge=0)]
_Url = Annotated[str, BeforeValidator(_http_url)]
_UrlList = Annotated[tuple[_Url, ...], _list_of("of http(s) URLs"), AfterValidator(_no_duplicates)]
_Horizon = Annotated[str, BeforeValidator(_horizon_label)]
# YAML gives {horizon: minutes}: validate that mapping, so errors name the
# horizon, and keep ordered pairs so the frozen config stays hashable.
_StalenessPairs = Annotated[
    tuple[tuple[str, int], ...],
    GetPydanticSchema(lambda _tp, handler: handler(dict[str, _Count])),
    BeforeValidator(_horizon_mapping),
    AfterValidator(_limits_of_horizons),
]
_DEFAULT_STALENESS = (("15m", 10), ("1h", 65), ("4h", 130), ("24h", 360))

# pydantic's settings for every section: an unknown key is an error, never ignored.
_yaml_keys = with_config(ConfigDict(extra="forbid"))


# ---------------------------------------------------------------- the config objects


@_yaml_keys
@dataclass(frozen=True)
class PricesConfig:
    provider: Annotated[_Text, _Required, AfterValidator(_known_provider)]
    base_url: Annotated[_Text, _Required, AfterValidator(_http_url), AfterValidator(lambda u: u.rstrip("/"))]
    assets: Annotated[
        tuple[Annotated[str, BeforeValidator(_coingecko_id)], ...],
        _list_of("of CoinGecko ids", required=True), _Required, AfterValidator(_no_duplicates),
    ]
    vs_currency: Annotated[_Text, AfterValidator(str.lower)] = "usd"
    # The key: Airflow connection first (password), this environment variable as the fallback.
    api_key_conn_id: _Text | None = PRICES_CONN_ID
    api_key_env: _Text | None = None
    # CoinGecko's public tier allows ~30 calls/minute; stay under it by default.
    # The budget of everything together: every run and Celery worker (see pool_slots).
    rate_limit_per_minute: _Positive = 25.0
    # Slots of the Airflow pool the price-fetching tasks share (newsmarkets.orchestration.pools):
    # at most this many call the provider at once, each paced at rate_limit_per_minute / pool_slots.
    # 5 = prices_history's 4 concurrent runs + the live snapshot.
    pool_slots: _Count = 5
    timeout_s: _Positive = 20.0
    max_retries: _Natural = 4
    backoff_base_s: _Positive = 1.0
    max_backoff_s: _Positive = 60.0
    per_page: Annotated[_Count, AfterValidator(_coingecko_page)] = 250
    # assets_refresh ranks this many of the largest coins (ceil(n / per_page) calls a day): an untracked
    # coin among them whose name holds a tracked one's ("Bitcoin Cash") keeps its mentions from linking.
    ranked_coins: _Natural = 500

    @property
    def task_rate_per_minute(self) -> float:
        """One task's share of the budget: the pool lets ``pool_slots`` tasks call at once."""
        return self.rate_limit_per_minute / self.pool_slots

    @property
    def api_key(self) -> str | None:
        return provider_api_key(self.api_key_conn_id, self.api_key_env)


@_yaml_keys
@dataclass(frozen=True)
class HttpConfig:
    allow_private_networks: StrictBool = False
    user_agent: _Text = "newsmarkets/0.1 (+https://github.com/newsmarkets/newsmarkets)"


@_yaml_keys
@dataclass(frozen=True)
class QualityConfig:
    # Sources stamp prices a little before or after our window edges (API
    # caching, clock skew); more than this is a real problem.
    observed_at_tolerance_minutes: _Natural = 15
    # A run whose fetches mostly failed is an outage, not data: its task fails
    # instead of publishing a thin batch (newsmarkets.quality.thin_batch).
    max_failed_fetch_share: Annotated[float, Strict(), Field(ge=0, le=1)] = 0.5


@_yaml_keys
@dataclass(frozen=True)
class LinkingConfig:
    """How news is linked to market moves (see :mod:`newsmarkets.moves`)."""

    horizons: Annotated[
        tuple[_Horizon, ...],
        _list_of("such as [15m, 1h, 4h, 24h]", required=True), AfterValidator(_distinct_sorted_horizons),
    ] = ("15m", "1h", "4h", "24h")
    # The market behind abnormal returns, over the tracked assets. median: one coin's jump cannot move it, so it
    # cannot make the others look abnormal (bench/bench_significance.py measures the choices).
    benchmark: Literal["cap_weighted", "equal_weighted", "median", "bitcoin"] = "median"
    # an asset's abnormal return is measured against the benchmark without that asset (not for 'bitcoin')
    benchmark_excludes_asset: StrictBool = True
    # Residual sigma: recent returns weigh more (half-life in hours; 0 = the whole window alike), so a volatile day
    # is not scored with last week's calm; deviations past sigma_clip robust sigmas are capped (0 = never), so an
    # earlier story's jump in the window does not mute the next. Calibrated in bench/bench_significance.py.
    sigma_half_life_hours: Annotated[float, Strict(), Field(ge=0, le=24 * 30)] = 6.0
    sigma_clip: Annotated[float, Strict(), Field(ge=0)] = 4.0
    estimation_window_days: _Count = 7  # pre-event window for beta and residual volatility
    estimation_step_minutes: _Count = 60  # return step of that window: hourly is what backfills guarantee
    min_estimation_points: Annotated[StrictInt, Field(ge=3)] = 48  # fewer returns: market-adjusted model (beta 1)
    significance_z: _Positive = 1.96
    # is_significant also needs q_value (Benjamini-Hochberg over the day's rows of a horizon) at most this: about
    # this share of the significant rows are false discoveries when the model holds (1: |z| alone decides)
    significance_q: Annotated[float, Strict(), Field(gt=0, le=1)] = 0.05
    move_z: _Positive = 3.0  # |z| of a 1h return that makes a market_moves row
    move_lookback_minutes: _Count = 120  # articles this long before a move's hour are listed with it
    pre_publish_minutes: _Count = 60  # each row's return over this window before publication (leaks, late stories)
    event_gap_minutes: _Count = 60  # stories on one asset within this of an event's first story are one event
    # How stale a price may be, per horizon: past it the row says why it is missing.
    # Limits given in YAML are merged over these defaults.
    staleness_minutes: _StalenessPairs = _DEFAULT_STALENESS

    @model_validator(mode="after")
    def _one_limit_per_horizon(self) -> LinkingConfig:
        limits = {**dict(_DEFAULT_STALENESS), **dict(self.staleness_minutes)}
        missing = [h for h in self.horizons if h not in limits]
        if missing:
            raise _at(f"no limit for horizon {missing[0]!r} (give one per horizon)", "staleness_minutes")
        return replace(self, staleness_minutes=tuple((h, limits[h]) for h in self.horizons))

    def staleness_for(self, horizon: str) -> int:
        return dict(self.staleness_minutes)[horizon]

    @property
    def horizon_minutes(self) -> dict[str, int]:
        return {h: horizon_minutes(h) for h in self.horizons}


@_yaml_keys
@dataclass(frozen=True)
class ReplayConfig:
    """The generated world the embedded default serves (see newsmarkets.replay)."""

    start: Annotated[str, BeforeValidator(_iso_date)] = "2026-01-05"  # first UTC day, ISO date
    days: _Count = 3
    seed: _Natural = 20260105
    port: Annotated[StrictInt, Field(ge=1, le=65535)] = 8765


@_yaml_keys
@dataclass(frozen=True)
class MaintenanceConfig:
    """What the daily ``warehouse_maintenance`` DAG does (compaction, retention, Data Docs)."""

    # A partition is closed (compacted) when its dt is at least this many days
    # before the run's interval; 1 is the minimum so the run's own day never is.
    compact_after_days: _Count = 2
    raw_html_retention_days: _Count = 30  # _raw_html/dt=... partitions older than this are deleted
    staging_retention_hours: _Count = 24  # _staging leftovers (killed or finished runs' hand-offs)
    quarantine_retention_days: _Count | None = None  # None: quarantined batches are evidence, kept
    data_docs: StrictBool = True
    data_docs_days: _Count = 1  # how many days (ending with the run's interval) Data Docs validate
    # local folder; default <warehouse>/_gx (data/_gx for s3://)
    data_docs_dir: Annotated[_Text, AfterValidator(_local_folder)] | None = None


def _email_address(value: Any) -> Any:
    if not isinstance(value, str) or not re.match(r"^[^@\s,;]+@[^@\s,;]+$", value):
        raise ValueError(f"expected an e-mail address, got {value!r}")
    return value


@_yaml_keys
@dataclass(frozen=True)
class AlertsConfig:
    """Where failure, quarantine and late-snapshot alerts go (see :mod:`newsmarkets.alerts`).

    Off unless a destination is given: a webhook (``webhook_url``, or the
    Airflow connection ``webhook_conn_id`` when the URL is a secret) and/or
    e-mail to ``email_to`` through the Airflow SMTP connection ``smtp_conn_id``.
    Read when an alert fires, never at DAG parse time.
    """

    webhook_url: Annotated[_Text, AfterValidator(_http_url)] | None = None
    webhook_conn_id: _Text | None = None  # connection: extra webhook_url, or host/port/schema as the URL
    email_to: Annotated[
        tuple[Annotated[str, BeforeValidator(_email_address)], ...], _list_of("of e-mail addresses"),
        AfterValidator(_no_duplicates),
    ] = ()
    email_from: Annotated[str, BeforeValidator(_email_address)] | None = None  # None: the connection's from_email
    smtp_conn_id: _Text = "smtp_default"
    timeout_s: _Positive = 10.0  # per delivery; an alert must never hang a task's callback
    on_task_failure: StrictBool = True
    on_dag_run_failure: StrictBool = True
    on_quarantine: StrictBool = True  # every quarantined batch, retried tries included
    on_late_snapshot: StrictBool = True

    @model_validator(mode="after")
    def _one_webhook(self) -> AlertsConfig:
        if self.webhook_url and self.webhook_conn_id:
            raise ValueError("give webhook_url or webhook_conn_id, not both")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or self.webhook_conn_id or self.email_to)


@_yaml_keys
@dataclass(frozen=True)
class NewsSourceConfig:
    """One outlet: where its feeds and sitemaps are, and how it prints local times."""

    name: Annotated[_Text, _Required, AfterValidator(_source_name)]
    feeds: _UrlList = ()
    sitemaps: _UrlList = ()
    timezone: Annotated[_Text, AfterValidator(_known_zone)] = "UTC"  # for dates printed without an offset
    # None: the hosts of the feeds and sitemaps (redirects elsewhere are refused)
    allowed_domains: Annotated[
        tuple[Annotated[str, BeforeValidator(_host)], ...], _list_of("of host names", required=True)
    ] | None = None

    @model_validator(mode="after")
    def _has_a_listing(self) -> NewsSourceConfig:
        if not self.feeds and not self.sitemaps:
            raise ValueError("needs at least one of feeds or sitemaps")
        return self

    @property
    def domains(self) -> tuple[str, ...]:
        """Hosts the fetcher may visit for this source."""
        if self.allowed_domains is not None:
            return self.allowed_domains
        hosts = [urlsplit(u).hostname or "" for u in (*self.feeds, *self.sitemaps)]
        return tuple(dict.fromkeys(h for h in hosts if h))


@_yaml_keys
@dataclass(frozen=True)
class NewsConfig:
    user_agent: Annotated[_Text, AfterValidator(_one_line)] | None = None  # None: http.user_agent
    # Per site, across every run and worker: the news pool lets pool_slots fetching tasks run
    # at once and each keeps 1/pool_slots of the rate and of the concurrency (at least 1).
    per_domain_rps: _Positive = 1.0
    per_domain_concurrency: _Count = 2
    pool_slots: _Count = 4  # = news_ingest's max_active_runs
    max_bytes: _Count = 5_000_000
    timeout_s: _Positive = 20.0
    min_words: _Count = 80
    sources: Annotated[
        tuple[NewsSourceConfig, ...], _list_of("of sources"), AfterValidator(_unique_names)
    ] = ()

    def source(self, name: str) -> NewsSourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(f"news.sources: no source named {name!r} (known: {', '.join(s.name for s in self.sources)})")


@_yaml_keys
@dataclass(frozen=True)
class Config:
    warehouse: Annotated[_Text, _Required, AfterValidator(lambda w: w.rstrip("/"))]
    prices: Annotated[PricesConfig, _Required]
    http: Annotated[HttpConfig, _Section] = field(default_factory=HttpConfig)
    quality: Annotated[QualityConfig, _Section] = field(default_factory=QualityConfig)
    replay: Annotated[ReplayConfig, _Section] = field(default_factory=ReplayConfig)
    news: Annotated[NewsConfig, _Section] = field(default_factory=NewsConfig)
    maintenance: Annotated[MaintenanceConfig, _Section] = field(default_factory=MaintenanceConfig)
    linking: Annotated[LinkingConfig, _Section] = field(default_factory=LinkingConfig)
    alerts: Annotated[AlertsConfig, _Section] = field(default_factory=AlertsConfig)
    catalog: _Text | None = None
    # S3 credentials and endpoint: Airflow connection first, AWS_* / NEWSMARKETS_S3_ENDPOINT_URL as the fallback.
    warehouse_conn_id: _Text | None = S3_CONN_ID
    source_path: str | None = None  # set by load_config, not a key of the file

    @property
    def catalog_path(self) -> str:
        """Where the DuckDB catalog lives: configured, or beside the tables."""
        if self.catalog:
            return self.catalog
        if "://" in self.warehouse:
            # DuckDB files must be local; keep the catalog in the working dir.
            return str(Path("data") / "warehouse.duckdb")
        return str(Path(self.warehouse) / "warehouse.duckdb")


# ---------------------------------------------------------------- errors in the file's own terms

_NOT_YAML_KEYS = {"source_path"}

_MESSAGES = {
    "missing": "required key is missing",
    "string_type": "expected a non-empty string, got {input!r}",
    "int_type": "expected an integer, got {input!r}",
    "float_type": "expected a number, got {input!r}",
    "bool_type": "expected true or false, got {input!r}",
    "greater_than": "must be > {gt}, got {input!r}",
    "greater_than_equal": "must be >= {ge}, got {input!r}",
    "less_than_equal": "must be <= {le}, got {input!r}",
    "literal_error": "expected {expected}, got {input!r}",
    "dataclass_type": "expected a mapping, got {kind}",
    "dict_type": "expected a mapping, got {kind}",
    "tuple_type": "expected a list, got {input!r}",
}


def _section_at(loc: tuple) -> type:
    """The config dataclass a key path (``news.sources[1]``) points into."""
    cls: type = Config
    for part in loc:
        if isinstance(part, str):
            cls = _dataclass_in(get_type_hints(cls)[part])
    return cls


def _dataclass_in(hint: Any) -> Any:
    if isinstance(hint, type) and is_dataclass(hint):
        return hint
    return next((found for arg in get_args(hint) if (found := _dataclass_in(arg)) is not None), None)


def _key_path(loc: tuple) -> str:
    path = ""
    for i, part in enumerate(loc):
        if part == "[key]":  # pydantic's marker: the part before it is a mapping key, not a list index
            continue
        is_index = isinstance(part, int) and loc[i + 1:i + 2] != ("[key]",)
        path += f"[{part}]" if is_index else f".{part}" if path else str(part)
    return path or "top level"


def _describe(error: dict) -> str:
    """One pydantic error as ``prices.assets[1]: <what is wrong>``."""
    ctx = error.get("ctx") or {}
    loc = tuple(error["loc"]) + tuple(ctx.get("at", ()))
    kind = error["type"]
    if kind in ("unexpected_keyword_argument", "extra_forbidden", "invalid_key"):
        allowed = sorted(f.name for f in fields(_section_at(loc[:-1])) if f.name not in _NOT_YAML_KEYS)
        message = f"unknown key (allowed: {', '.join(allowed)})"
        # a YAML key such as `1:` is a key, not a list index
        return f"{_key_path(loc[:-1]) + '.' if loc[:-1] else ''}{loc[-1]}: {message}"
    if kind == "value_error":
        message = str(ctx["error"])
    elif kind == "config":
        message = ctx["message"]
    elif kind in _MESSAGES:
        value = error.get("input")
        message = _MESSAGES[kind].format(**{**ctx, "input": value, "kind": type(value).__name__})
    else:
        message = error["msg"]
    return f"{_key_path(loc)}: {message}"


@cache
def _validator() -> TypeAdapter[Config]:
    # Built on first use: DAG files import this module and parse it often.
    return TypeAdapter(Config)


def rebase_replay_urls(raw: Any, port: int, host: str = "127.0.0.1") -> Any:
    """A copy of a parsed YAML document with every ``http://<host>:<port>`` URL moved to ``port``.

    The bundled replay config names port 8765; tests and the embedded stack
    run the replay server on a free port. Rewrites ``prices.base_url`` and all
    news feed/sitemap URLs alike (any string value that is such a URL).
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port <= 65535:
        raise ConfigError(f"replay port: expected an integer 1..65535, got {port!r}")
    if isinstance(raw, dict):
        return {k: rebase_replay_urls(v, port, host) for k, v in raw.items()}
    if isinstance(raw, list):
        return [rebase_replay_urls(v, port, host) for v in raw]
    if isinstance(raw, str) and re.match(r"^https?://", raw):
        parts = urlsplit(raw)
        if parts.hostname == host and parts.port is not None:
            return urlunsplit(parts._replace(netloc=f"{host}:{port}"))
    return raw


def _retired_format(value: Any, where: str) -> None:
    """``warehouse_format`` is gone (every table is a Delta table); ``delta`` is still accepted."""
    if value is not None and value != "delta":
        raise ConfigError(f"{where}: {value!r} is no longer supported: every table is a Delta Lake table. Remove "
                          f"the setting, and convert a warehouse of the retired Parquet-file layout with "
                          f"`newsmarkets warehouse convert --config <config>`")


def parse_config(raw: Any, *, source_path: str | None = None) -> Config:
    """Validate a parsed YAML document into a :class:`Config`.

    Every invalid key is reported, ``; ``-separated, each with its key path.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"top level: expected a mapping of keys, got {type(raw).__name__}")
    if "source_path" in raw:  # ours, set below; pydantic would accept it
        raise ConfigError(_describe({"type": "unexpected_keyword_argument", "loc": ("source_path",)}))
    data = {**raw, "source_path": source_path}
    if os.environ.get(WAREHOUSE_ENV):
        data["warehouse"] = os.environ[WAREHOUSE_ENV]
    _retired_format(data.pop("warehouse_format", None), "warehouse_format")
    _retired_format(os.environ.get(WAREHOUSE_FORMAT_ENV), WAREHOUSE_FORMAT_ENV)
    try:
        cfg = _validator().validate_python(data)
    except ValidationError as exc:
        raise ConfigError("; ".join(_describe(e) for e in exc.errors())) from None
    if source_path and "://" not in cfg.warehouse and not Path(cfg.warehouse).is_absolute():
        # Relative warehouse paths are relative to the working directory, like
        # every other path a user types; documented in the README.
        cfg = replace(cfg, warehouse=str(Path(cfg.warehouse)))
    return cfg


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load and validate the config at ``path``, ``$NEWSMARKETS_CONFIG`` or the bundled one."""
    chosen = Path(path or os.environ.get(CONFIG_ENV) or BUNDLED_CONFIG)
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {chosen}") from None
    except OSError as exc:
        raise ConfigError(f"config file {chosen} cannot be read: {exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {chosen} is not valid YAML: {exc}") from None
    try:
        return parse_config(raw, source_path=str(chosen))
    except ConfigError as exc:
        raise ConfigError(f"{chosen}: {exc}") from None
