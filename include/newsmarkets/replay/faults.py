"""Fault switches for the replay server: what goes wrong, for how many requests.

A :class:`Fault` affects the next ``count`` API requests that match it (an
optional path prefix; data faults also need one of their assets in the
answer) and then switches itself off. Faults wait in a FIFO queue and each
request consumes at most the first matching one, so a test can script a
sequence such as "two 429s, then one 503, then normal" and know exactly what
every request will see. Parsing and damaging are pure; the queue is the only
state and is thread-safe because the server answers on many threads.

The news sites take faults too, but only those aimed at them: a
``path_prefix`` under ``/outlets/`` (e.g. ``/outlets/coinwire/``), of a kind
a web page can suffer (status faults and ``slow``; a garbled HTML page is
still a page; ``gone`` answers 410 as for a withdrawn story while the
listings, cached, still name it). Faults without a prefix stay the API's, as before.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable

API_PREFIX = "/api/v3"

RATE_LIMIT_BODY = {
    "status": {
        "error_code": 429,
        "error_message": (
            "You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing "
            "to subscribe to our API plans for higher rate limits."
        ),
    }
}

# replace the answer with an error status; "gone" (410) is a page its site withdrew
STATUS_FAULTS = ("rate_limit", "server_error", "gone")
BODY_FAULTS = ("malformed", "truncated")  # 200, but the bytes are not usable JSON
DATA_FAULTS = ("null_prices", "negative_prices")  # 200 and valid JSON, wrong values
FAULT_KINDS = STATUS_FAULTS + ("slow",) + BODY_FAULTS + DATA_FAULTS
NEWS_PREFIX = "/outlets/"  # the news sites' pages (newsmarkets.replay.news_site.PREFIX)
NEWS_FAULT_KINDS = STATUS_FAULTS + ("slow",)
SERVER_ERROR_STATUSES = (500, 502, 503)


class FaultError(ValueError):
    """A fault specification with an unknown kind or an invalid field."""


@dataclass(frozen=True)
class Fault:
    kind: str
    count: int = 1  # upcoming matching API requests this fault affects
    path_prefix: str | None = None  # e.g. "/coins/markets"; relative to /api/v3 unless absolute
    status: int = 500  # server_error only: 500, 502 or 503
    retry_after_s: int = 1  # rate_limit (and a 503): the Retry-After header
    delay_s: float = 2.0  # slow only: seconds to wait before answering
    asset_ids: tuple[str, ...] = field(default_factory=tuple)  # data faults; empty = every asset
    every: int = 4  # data faults in charts: damage points whose index % every == 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultError(f"kind: unknown fault {self.kind!r} (known: {', '.join(FAULT_KINDS)})")
        for name, minimum in (("count", 1), ("retry_after_s", 0), ("every", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise FaultError(f"{self.kind}.{name}: expected an integer >= {minimum}, got {value!r}")
        if self.status not in SERVER_ERROR_STATUSES:
            raise FaultError(f"{self.kind}.status: expected one of {SERVER_ERROR_STATUSES}, got {self.status!r}")
        if isinstance(self.delay_s, bool) or not isinstance(self.delay_s, (int, float)) or not 0 <= self.delay_s <= 600:
            raise FaultError(f"{self.kind}.delay_s: expected seconds in [0, 600], got {self.delay_s!r}")
        if self.path_prefix is not None:
            if not isinstance(self.path_prefix, str) or not self.path_prefix.startswith("/"):
                raise FaultError(f"{self.kind}.path_prefix: expected a path starting with '/', got {self.path_prefix!r}")
            if not self.path_prefix.startswith((API_PREFIX, NEWS_PREFIX)):
                object.__setattr__(self, "path_prefix", API_PREFIX + self.path_prefix.rstrip("/"))
            if self.targets_news and self.kind not in NEWS_FAULT_KINDS:
                raise FaultError(f"{self.kind}.path_prefix: {self.path_prefix!r} is a news page, which takes only "
                                 f"{', '.join(NEWS_FAULT_KINDS)} faults")
        ids = self.asset_ids
        if isinstance(ids, str):
            ids = (ids,)
        if not all(isinstance(a, str) and a for a in ids):
            raise FaultError(f"{self.kind}.asset_ids: expected a list of asset ids, got {self.asset_ids!r}")
        object.__setattr__(self, "asset_ids", tuple(ids))

    @classmethod
    def from_dict(cls, raw: Any) -> "Fault":
        if not isinstance(raw, dict):
            raise FaultError(f"fault: expected an object with a 'kind', got {raw!r}")
        raw = {_ALIASES.get(k, k): v for k, v in raw.items()}
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise FaultError(f"fault.{unknown[0]}: unknown field (allowed: {', '.join(cls.__dataclass_fields__)})")
        if "kind" not in raw:
            raise FaultError("fault.kind: required field is missing")
        kwargs = dict(raw)
        if isinstance(kwargs.get("asset_ids"), list):
            kwargs["asset_ids"] = tuple(kwargs["asset_ids"])
        return cls(**kwargs)

    @classmethod
    def parse(cls, spec: str) -> "Fault":
        """CLI form ``kind[:key=value,...]``; lists use '+': ``null_prices:asset_ids=bitcoin+solana``."""
        kind, _, rest = spec.strip().partition(":")
        raw: dict[str, Any] = {"kind": kind}
        for item in filter(None, (p.strip() for p in rest.split(","))):
            key, eq, value = item.partition("=")
            if not eq:
                raise FaultError(f"fault {spec!r}: expected key=value, got {item!r}")
            if key == "asset_ids":
                raw[key] = tuple(v for v in value.split("+") if v)
            elif key == "path_prefix":
                raw[key] = value
            elif key == "delay_s":
                raw[key] = _number(value, spec, key, float)
            else:
                raw[key] = _number(value, spec, key, int)
        return cls.from_dict(raw)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["asset_ids"] = list(self.asset_ids)
        return out

    @property
    def targets_news(self) -> bool:
        return self.path_prefix is not None and self.path_prefix.startswith(NEWS_PREFIX)

    def matches(self, path: str, response_asset_ids: Iterable[str] | None) -> bool:
        if path.startswith(NEWS_PREFIX) and not self.targets_news:
            return False  # news pages only take faults aimed at them
        if self.path_prefix is not None and not path.startswith(self.path_prefix):
            return False
        if self.kind in DATA_FAULTS:
            # Only answers that carry prices can be damaged.
            if response_asset_ids is None:
                return False
            ids = set(response_asset_ids)
            return bool(ids) and (not self.asset_ids or bool(ids & set(self.asset_ids)))
        return True

    def hits(self, asset_id: str) -> bool:
        return not self.asset_ids or asset_id in self.asset_ids


# Short names the CLI and the local stack use (``--fault rate_limit='{"retry_after": 2}'``).
_ALIASES = {"retry_after": "retry_after_s", "path": "path_prefix", "delay": "delay_s", "assets": "asset_ids"}


def _number(value: str, spec: str, key: str, kind: type) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise FaultError(f"fault {spec!r}: {key} must be a number, got {value!r}") from None


def faults_from_json(raw: Any) -> list[Fault]:
    """The control endpoint's body, in any of its forms, as an ordered fault list.

    ``[{"kind": ...}, ...]``, ``{"faults": [...]}``, one ``{"kind": ...}``, or a
    mapping ``{"rate_limit": {"count": 2}, "slow": {...}}`` (kind -> fields, in
    the mapping's order; a bare number is the count).
    """
    if isinstance(raw, dict) and "faults" in raw:
        raw = raw["faults"]
    if isinstance(raw, dict) and "kind" not in raw:
        items = []
        for kind, fields in raw.items():
            if isinstance(fields, int) and not isinstance(fields, bool):
                fields = {"count": fields}
            if fields is None:
                fields = {}
            if not isinstance(fields, dict):
                raise FaultError(f"faults.{kind}: expected an object of fault fields, got {fields!r}")
            items.append({**fields, "kind": kind})
        raw = items
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise FaultError(f"faults: expected a list of fault objects, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        try:
            out.append(item if isinstance(item, Fault) else Fault.from_dict(item))
        except FaultError as exc:
            raise FaultError(f"faults[{i}]: {exc}") from None
    return out


class FaultQueue:
    """The active faults, in the order they were set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def set(self, faults: Iterable[Fault]) -> None:
        with self._lock:
            self._faults = list(faults)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        self.set([])

    def snapshot(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, path: str, response_asset_ids: Iterable[str] | None) -> Fault | None:
        """Consume one use of the first fault matching this request, if any."""
        ids = None if response_asset_ids is None else tuple(response_asset_ids)
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.matches(path, ids):
                    if fault.count <= 1:
                        del self._faults[i]
                    else:
                        self._faults[i] = replace(fault, count=fault.count - 1)
                    return fault
        return None


# ---------------------------------------------------------------- damaging
def damaged_value(fault: Fault, price: float | None) -> float | None:
    if fault.kind == "null_prices":
        return None
    if fault.kind == "negative_prices":
        return None if price is None else -abs(price) if price != 0 else -1.0
    return price


def damage_markets(rows: list[dict], fault: Fault) -> list[dict]:
    """coins/markets rows with current_price broken for the fault's assets."""
    return [
        {**row, "current_price": damaged_value(fault, row["current_price"])} if fault.hits(row["id"]) else row
        for row in rows
    ]


def damage_chart(chart: dict, fault: Fault, asset_id: str) -> dict:
    """market_chart prices broken at every ``fault.every``-th point (index 0 always)."""
    if not fault.hits(asset_id):
        return chart
    prices = [
        [ms, damaged_value(fault, p)] if i % fault.every == 0 else [ms, p]
        for i, (ms, p) in enumerate(chart["prices"])
    ]
    return {**chart, "prices": prices}


def damage_simple_price(body: dict, fault: Fault) -> dict:
    return {
        aid: ({**vals, "usd": damaged_value(fault, vals.get("usd"))} if fault.hits(aid) and "usd" in vals else vals)
        for aid, vals in body.items()
    }


def malformed_bytes(body: bytes) -> bytes:
    """Looks like JSON, is not: single quotes and a trailing comma."""
    text = body.decode("utf-8").replace('"', "'")
    return (text[:-1] + ",]" if text.endswith("]") else text[:-1] + ",}" if text.endswith("}") else text + ",").encode()


def truncated_bytes(body: bytes) -> bytes:
    """Valid JSON cut in half (the HTTP framing stays correct; only the document is short)."""
    return body[: max(1, len(body) // 2)]


def server_error_body(status: int) -> tuple[bytes, str]:
    """(body, content type): 500 is JSON from the app; 502/503 are the proxy's HTML page."""
    if status == 500:
        return json.dumps({"error": "Internal Server Error"}).encode(), "application/json"
    title = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable"}[status]
    html = f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center></body></html>\n"
    return html.encode(), "text/html; charset=utf-8"
