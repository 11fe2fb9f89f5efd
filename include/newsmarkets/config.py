"""Project configuration: one YAML file, validated on load.

The path comes from ``NEWSMARKETS_CONFIG`` (default: the bundled replay-world
config) and ``NEWSMARKETS_WAREHOUSE`` overrides the warehouse root, so the same
DAGs run against the replay world, a laptop folder or ``s3://``.
Errors name the offending key (``prices.assets[2]: ...``) so a typo never
turns into a silent default.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from urllib.parse import urlsplit, urlunsplit

import yaml

BUNDLED_CONFIG = Path(__file__).parent / "config" / "replay.yaml"
CONFIG_ENV = "NEWSMARKETS_CONFIG"
WAREHOUSE_ENV = "NEWSMARKETS_WAREHOUSE"

_COINGECKO_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or has an invalid key."""


@dataclass(frozen=True)
class PricesConfig:
    provider: str
    base_url: str
    vs_currency: str
    assets: tuple[str, ...]
    api_key_env: str | None = None
    # CoinGecko's public tier allows ~30 calls/minute; stay under it by default.
    rate_limit_per_minute: float = 25.0
    timeout_s: float = 20.0
    max_retries: int = 4
    backoff_base_s: float = 1.0
    max_backoff_s: float = 60.0
    per_page: int = 250

    @property
    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None


@dataclass(frozen=True)
class HttpConfig:
    allow_private_networks: bool = False
    user_agent: str = "newsmarkets/0.1 (+https://github.com/newsmarkets/newsmarkets)"


@dataclass(frozen=True)
class QualityConfig:
    # Sources stamp prices a little before or after our window edges (API
    # caching, clock skew); more than this is a real problem.
    observed_at_tolerance_minutes: int = 15


_HORIZON = re.compile(r"^([1-9][0-9]*)(m|h|d)$")
_HORIZON_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440}


def horizon_minutes(label: str) -> int:
    """Minutes of a horizon label such as ``15m``, ``4h`` or ``1d``."""
    match = _HORIZON.match(label) if isinstance(label, str) else None
    if not match:
        raise ConfigError(f"horizon {label!r}: expected a number and a unit m, h or d (e.g. 15m, 4h, 1d)")
    return int(match.group(1)) * _HORIZON_UNIT_MINUTES[match.group(2)]


@dataclass(frozen=True)
class LinkingConfig:
    """How news is linked to market moves (see :mod:`newsmarkets.moves`)."""

    horizons: tuple[str, ...] = ("15m", "1h", "4h", "24h")
    benchmark: str = "cap_weighted"  # cap_weighted | equal_weighted (tracked assets) | bitcoin
    estimation_window_days: int = 7  # pre-event window for beta and residual volatility
    estimation_step_minutes: int = 60  # return step of that window: hourly is what backfills guarantee
    min_estimation_points: int = 48  # fewer returns: market-adjusted model (beta 1)
    significance_z: float = 1.96
    move_z: float = 3.0  # |z| of a 1h return that makes a market_moves row
    move_lookback_minutes: int = 120  # articles this long before a move's hour are listed with it
    # How stale a price may be, per horizon: past it the row says why it is missing.
    staleness_minutes: tuple[tuple[str, int], ...] = (("15m", 10), ("1h", 65), ("4h", 130), ("24h", 360))

    def staleness_for(self, horizon: str) -> int:
        return dict(self.staleness_minutes)[horizon]

    @property
    def horizon_minutes(self) -> dict[str, int]:
        return {h: horizon_minutes(h) for h in self.horizons}


@dataclass(frozen=True)
class ReplayConfig:
    """The generated world the embedded default serves (see newsmarkets.replay)."""

    start: str = "2026-01-05"  # first UTC day, ISO date
    days: int = 3
    seed: int = 20260105
    port: int = 8765


@dataclass(frozen=True)
class MaintenanceConfig:
    """What the daily ``warehouse_maintenance`` DAG does (compaction, retention, Data Docs)."""

    # A partition is closed (compacted) when its dt is at least this many days
    # before the run's interval; 1 is the minimum so the run's own day never is.
    compact_after_days: int = 2
    raw_html_retention_days: int = 30  # _raw_html/dt=... partitions older than this are deleted
    staging_retention_hours: int = 24  # _staging leftovers (killed or finished runs' hand-offs)
    quarantine_retention_days: int | None = None  # None: quarantined batches are evidence, kept
    data_docs: bool = True
    data_docs_days: int = 1  # how many days (ending with the run's interval) Data Docs validate
    data_docs_dir: str | None = None  # local folder; default <warehouse>/_gx (data/_gx for s3://)


@dataclass(frozen=True)
class NewsSourceConfig:
    """One outlet: where its feeds and sitemaps are, and how it prints local times."""

    name: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    timezone: str = "UTC"  # for dates printed without an offset
    # None: the hosts of the feeds and sitemaps (redirects elsewhere are refused)
    allowed_domains: tuple[str, ...] | None = None

    @property
    def domains(self) -> tuple[str, ...]:
        """Hosts the fetcher may visit for this source."""
        if self.allowed_domains is not None:
            return self.allowed_domains
        hosts = [urlsplit(u).hostname or "" for u in (*self.feeds, *self.sitemaps)]
        return tuple(dict.fromkeys(h for h in hosts if h))


@dataclass(frozen=True)
class NewsConfig:
    user_agent: str | None = None  # None: http.user_agent
    per_domain_rps: float = 1.0
    per_domain_concurrency: int = 2
    max_bytes: int = 5_000_000
    timeout_s: float = 20.0
    min_words: int = 80
    sources: tuple[NewsSourceConfig, ...] = ()

    def source(self, name: str) -> NewsSourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(f"news.sources: no source named {name!r} (known: {', '.join(s.name for s in self.sources)})")


@dataclass(frozen=True)
class Config:
    warehouse: str
    prices: PricesConfig
    http: HttpConfig = field(default_factory=HttpConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    news: NewsConfig = field(default_factory=NewsConfig)
    maintenance: MaintenanceConfig = field(default_factory=MaintenanceConfig)
    linking: LinkingConfig = field(default_factory=LinkingConfig)
    catalog: str | None = None
    source_path: str | None = None

    @property
    def catalog_path(self) -> str:
        """Where the DuckDB catalog lives: configured, or beside the tables."""
        if self.catalog:
            return self.catalog
        if "://" in self.warehouse:
            # DuckDB files must be local; keep the catalog in the working dir.
            return str(Path("data") / "warehouse.duckdb")
        return str(Path(self.warehouse) / "warehouse.duckdb")


def _require(mapping: dict, key: str, where: str) -> Any:
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    if key not in mapping or mapping[key] is None:
        raise ConfigError(f"{where}.{key}: required key is missing" if where else f"{key}: required key is missing")
    return mapping[key]


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _number(value: Any, where: str, *, minimum: float = 0.0, exclusive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if value < minimum or (exclusive and value == minimum):
        op = ">" if exclusive else ">="
        raise ConfigError(f"{where}: must be {op} {minimum}, got {value!r}")
    return float(value)


def _int(value: Any, where: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{where}: must be >= {minimum}, got {value!r}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def _check_unknown(mapping: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(f"{prefix}{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _parse_prices(raw: Any) -> PricesConfig:
    where = "prices"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    _check_unknown(raw, {f for f in PricesConfig.__dataclass_fields__}, where)
    provider = _str(_require(raw, "provider", where), f"{where}.provider")
    from newsmarkets.prices.registry import PROVIDERS  # light module: names only

    if provider not in PROVIDERS:
        raise ConfigError(f"{where}.provider: unknown provider {provider!r} (known: {', '.join(sorted(PROVIDERS))})")
    base_url = _str(_require(raw, "base_url", where), f"{where}.base_url")
    if not re.match(r"^https?://[^/\s]+", base_url):
        raise ConfigError(f"{where}.base_url: must be an http(s) URL, got {base_url!r}")
    assets_raw = _require(raw, "assets", where)
    if not isinstance(assets_raw, list) or not assets_raw:
        raise ConfigError(f"{where}.assets: expected a non-empty list of CoinGecko ids, got {assets_raw!r}")
    assets = []
    for i, asset in enumerate(assets_raw):
        if not isinstance(asset, str) or not _COINGECKO_ID.match(asset):
            raise ConfigError(f"{where}.assets[{i}]: {asset!r} is not a CoinGecko id (lower-case letters, digits, '-')")
        if asset in assets:
            raise ConfigError(f"{where}.assets[{i}]: {asset!r} is listed twice")
        assets.append(asset)
    kwargs: dict[str, Any] = dict(
        provider=provider,
        base_url=base_url.rstrip("/"),
        vs_currency=_str(raw.get("vs_currency", "usd"), f"{where}.vs_currency").lower(),
        assets=tuple(assets),
    )
    if raw.get("api_key_env") is not None:
        kwargs["api_key_env"] = _str(raw["api_key_env"], f"{where}.api_key_env")
    for key in ("rate_limit_per_minute", "timeout_s", "backoff_base_s", "max_backoff_s"):
        if key in raw:
            kwargs[key] = _number(raw[key], f"{where}.{key}")
    if "max_retries" in raw:
        kwargs["max_retries"] = _int(raw["max_retries"], f"{where}.max_retries")
    if "per_page" in raw:
        kwargs["per_page"] = _int(raw["per_page"], f"{where}.per_page", minimum=1)
        if kwargs["per_page"] > 250:
            raise ConfigError(f"{where}.per_page: CoinGecko allows at most 250, got {kwargs['per_page']}")
    return PricesConfig(**kwargs)


def _parse_http(raw: Any) -> HttpConfig:
    if raw is None:
        return HttpConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"http: expected a mapping, got {type(raw).__name__}")
    _check_unknown(raw, set(HttpConfig.__dataclass_fields__), "http")
    kwargs: dict[str, Any] = {}
    if "allow_private_networks" in raw:
        kwargs["allow_private_networks"] = _bool(raw["allow_private_networks"], "http.allow_private_networks")
    if "user_agent" in raw:
        kwargs["user_agent"] = _str(raw["user_agent"], "http.user_agent")
    return HttpConfig(**kwargs)


def _parse_quality(raw: Any) -> QualityConfig:
    if raw is None:
        return QualityConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"quality: expected a mapping, got {type(raw).__name__}")
    _check_unknown(raw, set(QualityConfig.__dataclass_fields__), "quality")
    kwargs: dict[str, Any] = {}
    if "observed_at_tolerance_minutes" in raw:
        kwargs["observed_at_tolerance_minutes"] = _int(
            raw["observed_at_tolerance_minutes"], "quality.observed_at_tolerance_minutes"
        )
    return QualityConfig(**kwargs)


def _parse_replay(raw: Any) -> ReplayConfig:
    if raw is None:
        return ReplayConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"replay: expected a mapping, got {type(raw).__name__}")
    _check_unknown(raw, set(ReplayConfig.__dataclass_fields__), "replay")
    kwargs: dict[str, Any] = {}
    if "start" in raw:
        start = str(raw["start"])
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", start):
            raise ConfigError(f"replay.start: expected an ISO date like 2026-01-05, got {raw['start']!r}")
        kwargs["start"] = start
    if "days" in raw:
        kwargs["days"] = _int(raw["days"], "replay.days", minimum=1)
    if "seed" in raw:
        kwargs["seed"] = _int(raw["seed"], "replay.seed")
    if "port" in raw:
        kwargs["port"] = _int(raw["port"], "replay.port", minimum=1)
        if kwargs["port"] > 65535:
            raise ConfigError(f"replay.port: must be <= 65535, got {kwargs['port']}")
    return ReplayConfig(**kwargs)


_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _url_list(raw: dict, key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if value is None:
        value = []
    if not isinstance(value, list):
        raise ConfigError(f"{where}.{key}: expected a list of http(s) URLs, got {value!r}")
    urls = []
    for i, url in enumerate(value):
        if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
            raise ConfigError(f"{where}.{key}[{i}]: must be an http(s) URL, got {url!r}")
        if url in urls:
            raise ConfigError(f"{where}.{key}[{i}]: {url!r} is listed twice")
        urls.append(url)
    return tuple(urls)


def _parse_news_source(raw: Any, where: str) -> NewsSourceConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    _check_unknown(raw, set(NewsSourceConfig.__dataclass_fields__), where)
    name = _str(_require(raw, "name", where), f"{where}.name")
    if not _SOURCE_NAME.match(name):
        # the name becomes a path segment of raw HTML and staging files
        raise ConfigError(f"{where}.name: {name!r} must be lower-case letters, digits, '-' or '_'")
    feeds = _url_list(raw, "feeds", where)
    sitemaps = _url_list(raw, "sitemaps", where)
    if not feeds and not sitemaps:
        raise ConfigError(f"{where}: needs at least one of feeds or sitemaps")
    tz = _str(raw.get("timezone", "UTC"), f"{where}.timezone")
    from newsmarkets.news.dates import TimezoneError, zone

    try:
        zone(tz)
    except TimezoneError as exc:
        raise ConfigError(f"{where}.timezone: {exc}") from None
    allowed = raw.get("allowed_domains")
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed:
            raise ConfigError(f"{where}.allowed_domains: expected a non-empty list of host names, got {allowed!r}")
        for i, host in enumerate(allowed):
            if not isinstance(host, str) or not re.match(r"^[A-Za-z0-9.\-\[\]:]+$", host):
                raise ConfigError(f"{where}.allowed_domains[{i}]: expected a host name, got {host!r}")
        allowed = tuple(h.lower() for h in allowed)
    return NewsSourceConfig(name=name, feeds=feeds, sitemaps=sitemaps, timezone=tz, allowed_domains=allowed)


def _parse_news(raw: Any) -> NewsConfig:
    if raw is None:
        return NewsConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"news: expected a mapping, got {type(raw).__name__}")
    _check_unknown(raw, set(NewsConfig.__dataclass_fields__), "news")
    kwargs: dict[str, Any] = {}
    if raw.get("user_agent") is not None:
        agent = _str(raw["user_agent"], "news.user_agent")
        if "\n" in agent or "\r" in agent:
            raise ConfigError("news.user_agent: must be one header line")
        kwargs["user_agent"] = agent
    for key in ("per_domain_rps", "timeout_s"):
        if key in raw:
            kwargs[key] = _number(raw[key], f"news.{key}")
    for key in ("per_domain_concurrency", "max_bytes", "min_words"):
        if key in raw:
            kwargs[key] = _int(raw[key], f"news.{key}", minimum=1)
    sources_raw = raw.get("sources") or []
    if not isinstance(sources_raw, list):
        raise ConfigError(f"news.sources: expected a list of sources, got {sources_raw!r}")
    sources: list[NewsSourceConfig] = []
    for i, item in enumerate(sources_raw):
        source = _parse_news_source(item, f"news.sources[{i}]")
        if any(s.name == source.name for s in sources):
            raise ConfigError(f"news.sources[{i}].name: {source.name!r} is used by another source")
        sources.append(source)
    kwargs["sources"] = tuple(sources)
    return NewsConfig(**kwargs)


def _parse_linking(raw: Any) -> LinkingConfig:
    if raw is None:
        return LinkingConfig()
    where = "linking"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    _check_unknown(raw, set(LinkingConfig.__dataclass_fields__), where)
    kwargs: dict[str, Any] = {}
    horizons = list(LinkingConfig.horizons)
    if "horizons" in raw:
        if not isinstance(raw["horizons"], list) or not raw["horizons"]:
            raise ConfigError(f"{where}.horizons: expected a non-empty list such as [15m, 1h, 4h, 24h], got {raw['horizons']!r}")
        seen: dict[int, str] = {}
        for i, label in enumerate(raw["horizons"]):
            try:
                minutes = horizon_minutes(label)
            except ConfigError as exc:
                raise ConfigError(f"{where}.horizons[{i}]: {exc}") from None
            if minutes in seen:
                raise ConfigError(f"{where}.horizons[{i}]: {label!r} is the same length as {seen[minutes]!r}")
            seen[minutes] = label
        horizons = [seen[m] for m in sorted(seen)]
        kwargs["horizons"] = tuple(horizons)
    if "benchmark" in raw:
        if raw["benchmark"] not in ("cap_weighted", "equal_weighted", "bitcoin"):
            raise ConfigError(f"{where}.benchmark: expected cap_weighted, equal_weighted or bitcoin, "
                              f"got {raw['benchmark']!r}")
        kwargs["benchmark"] = raw["benchmark"]
    for key in ("estimation_window_days", "estimation_step_minutes", "move_lookback_minutes"):
        if key in raw:
            kwargs[key] = _int(raw[key], f"{where}.{key}", minimum=1)
    if "min_estimation_points" in raw:
        kwargs["min_estimation_points"] = _int(raw["min_estimation_points"], f"{where}.min_estimation_points", minimum=3)
    for key in ("significance_z", "move_z"):
        if key in raw:
            kwargs[key] = _number(raw[key], f"{where}.{key}")
    staleness = dict(LinkingConfig.staleness_minutes)
    if "staleness_minutes" in raw:
        given = raw["staleness_minutes"]
        if not isinstance(given, dict):
            raise ConfigError(f"{where}.staleness_minutes: expected a mapping of horizon to minutes, got {given!r}")
        for label, minutes in given.items():
            if label not in horizons:
                raise ConfigError(f"{where}.staleness_minutes.{label}: not one of the horizons {horizons}")
            staleness[label] = _int(minutes, f"{where}.staleness_minutes.{label}", minimum=1)
    missing = [h for h in horizons if h not in staleness]
    if missing:
        raise ConfigError(f"{where}.staleness_minutes: no limit for horizon {missing[0]!r} (give one per horizon)")
    kwargs["staleness_minutes"] = tuple((h, staleness[h]) for h in horizons)
    return LinkingConfig(**kwargs)


def _parse_maintenance(raw: Any) -> MaintenanceConfig:
    where = "maintenance"
    if raw is None:
        return MaintenanceConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    _check_unknown(raw, set(MaintenanceConfig.__dataclass_fields__), where)
    kwargs: dict[str, Any] = {}
    for key in ("compact_after_days", "raw_html_retention_days", "staging_retention_hours", "data_docs_days"):
        if key in raw:
            kwargs[key] = _int(raw[key], f"{where}.{key}", minimum=1)
    if raw.get("quarantine_retention_days") is not None:
        kwargs["quarantine_retention_days"] = _int(raw["quarantine_retention_days"], f"{where}.quarantine_retention_days", minimum=1)
    if "data_docs" in raw:
        kwargs["data_docs"] = _bool(raw["data_docs"], f"{where}.data_docs")
    if raw.get("data_docs_dir") is not None:
        folder = _str(raw["data_docs_dir"], f"{where}.data_docs_dir")
        if "://" in folder:
            raise ConfigError(f"{where}.data_docs_dir: must be a local folder (Data Docs are a static site), got {folder!r}")
        kwargs["data_docs_dir"] = folder
    return MaintenanceConfig(**kwargs)


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


def parse_config(raw: Any, *, source_path: str | None = None) -> Config:
    """Validate a parsed YAML document into a :class:`Config`."""
    if not isinstance(raw, dict):
        raise ConfigError(f"top level: expected a mapping of keys, got {type(raw).__name__}")
    _check_unknown(raw, {"warehouse", "catalog", "prices", "http", "quality", "replay", "news", "linking", "maintenance"}, "")
    warehouse = os.environ.get(WAREHOUSE_ENV) or _str(_require(raw, "warehouse", ""), "warehouse")
    if source_path and "://" not in warehouse and not Path(warehouse).is_absolute():
        # Relative warehouse paths are relative to the working directory, like
        # every other path a user types; documented in the README.
        warehouse = str(Path(warehouse))
    catalog = raw.get("catalog")
    if catalog is not None:
        catalog = _str(catalog, "catalog")
    return Config(
        warehouse=warehouse.rstrip("/"),
        catalog=catalog,
        prices=_parse_prices(_require(raw, "prices", "")),
        http=_parse_http(raw.get("http")),
        quality=_parse_quality(raw.get("quality")),
        replay=_parse_replay(raw.get("replay")),
        news=_parse_news(raw.get("news")),
        maintenance=_parse_maintenance(raw.get("maintenance")),
        linking=_parse_linking(raw.get("linking")),
        source_path=source_path,
    )


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
