"""CoinGecko (or anything speaking its v3 API, like the replay world) as a :class:`PriceProvider`.

Only structural validation happens here (is it a list of dicts with ``id``?);
turning records into rows is :mod:`newsmarkets.prices.transform`'s job.
The API key travels in a header and is redacted from every message.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import date, datetime
from typing import Any, Callable, Sequence
from urllib.parse import quote, urlsplit

import requests

from newsmarkets.config import HttpConfig, PricesConfig
from newsmarkets.intervals import as_utc
from newsmarkets.prices.http import (
    BodyDecodeError,
    HttpFetchError,
    HttpStatusError,
    RateLimiter,
    RetryingHttp,
    RetryPolicy,
    decode_json,
)
from newsmarkets.prices.provider import (
    PriceProvider,
    ProviderError,
    ProviderHTTPError,
    ProviderPayloadError,
    RateLimitedError,
)

log = logging.getLogger("newsmarkets.prices")

# Browsers, proxies and CDNs start refusing URLs somewhere past 2 kB.
MAX_URL_CHARS = 2000
_COIN_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_PRO_HOST = "pro-api.coingecko.com"


def _decode_records(response: requests.Response) -> list[dict]:
    body = decode_json(response)
    if not isinstance(body, list):
        raise BodyDecodeError(f"expected a JSON list, got {type(body).__name__}")
    for i, item in enumerate(body):
        if not isinstance(item, dict):
            raise BodyDecodeError(f"item [{i}] is a {type(item).__name__}, expected an object")
        if not isinstance(item.get("id"), str) or not item["id"]:
            raise BodyDecodeError(f"item [{i}] has no string 'id' (got {item.get('id')!r})")
    return body


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _decode_chart(response: requests.Response) -> dict:
    body = decode_json(response)
    if not isinstance(body, dict):
        raise BodyDecodeError(f"expected a JSON object, got {type(body).__name__}")
    if "prices" not in body:
        raise BodyDecodeError(f"missing 'prices' (keys: {', '.join(sorted(body)) or 'none'})")
    for series in ("prices", "market_caps", "total_volumes"):
        points = body.get(series, [])
        if not isinstance(points, list):
            raise BodyDecodeError(f"'{series}' is a {type(points).__name__}, expected a list")
        for i, point in enumerate(points):
            if not (isinstance(point, list) and len(point) == 2 and _is_number(point[0])):
                raise BodyDecodeError(f"{series}[{i}] is {point!r}, expected [unix_ms, value]")
            if point[1] is not None and not _is_number(point[1]):
                raise BodyDecodeError(f"{series}[{i}] value {point[1]!r} is not a number")
    return body


def _key_header(base_url: str) -> str:
    # CoinGecko routes paid keys through a separate host with its own header.
    return "x-cg-pro-api-key" if urlsplit(base_url).hostname == _PRO_HOST else "x-cg-demo-api-key"


class CoinGeckoClient(PriceProvider):
    """The CoinGecko v3 endpoints the warehouse uses, with rate limiting and retries."""

    name = "coingecko"
    history_start = date(2013, 4, 28)  # CoinGecko's series begin here (bitcoin's first listed day)

    def __init__(self, cfg: PricesConfig, http: HttpConfig) -> None:
        scheme = urlsplit(cfg.base_url).scheme
        if scheme not in ("http", "https") or not urlsplit(cfg.base_url).hostname:
            raise ProviderError(f"prices.base_url: must be an http(s) URL, got {cfg.base_url!r}")
        self.cfg = cfg
        self.base_url = cfg.base_url.rstrip("/")
        api_key = cfg.api_key
        self.has_api_key = bool(api_key)
        secret_headers = {_key_header(self.base_url): api_key} if api_key else {}
        self._http = RetryingHttp(
            user_agent=http.user_agent,
            timeout_s=cfg.timeout_s,
            retry=RetryPolicy(cfg.max_retries, cfg.backoff_base_s, cfg.max_backoff_s),
            # This process's share of the budget every pool slot shares; it starts empty
            # so a task taking over a slot right after another keeps the spacing.
            limiter=RateLimiter(cfg.task_rate_per_minute, start_full=False),
            headers={"Accept": "application/json"},
            secret_headers=secret_headers,
            logger=log,
        )

    def __repr__(self) -> str:
        return (
            f"CoinGeckoClient(base_url={self.base_url!r}, vs_currency={self.cfg.vs_currency!r}, "
            f"api_key={'set' if self.has_api_key else 'none'})"
        )

    def close(self) -> None:
        self._http.close()

    # -- endpoints -----------------------------------------------------------

    def list_assets(self) -> list[dict]:
        records = self._get("/coins/list", None, _decode_records)
        return [{"id": r["id"], "symbol": r.get("symbol"), "name": r.get("name")} for r in records]

    def markets(self, asset_ids: Sequence[str]) -> list[dict]:
        """``/coins/markets`` for ``asset_ids``, chunked to keep URLs short and paged until a short page."""
        ids = list(dict.fromkeys(self._check_id(a) for a in asset_ids))
        by_id: dict[str, dict] = {}
        for chunk in self._id_chunks(ids):
            # With an ids filter the answer can never exceed the ids asked for;
            # more pages than that means the server ignores `page`, so stop loudly.
            max_pages = math.ceil(len(chunk) / self.cfg.per_page) + 1
            for page in range(1, max_pages + 1):
                records = self._get("/coins/markets", self._markets_params(chunk, page), _decode_records)
                for record in records:
                    # Pages can shift while we walk them; the later copy is the fresher one.
                    by_id[record["id"]] = record
                if len(records) < self.cfg.per_page:
                    break
            else:
                raise ProviderPayloadError(
                    f"/coins/markets: still full pages after page {max_pages} for {len(chunk)} ids "
                    f"(per_page={self.cfg.per_page}); the server seems to ignore pagination"
                )
        return list(by_id.values())

    def top_markets(self, count: int) -> list[dict]:
        """``/coins/markets`` ordered by market cap, ``per_page`` a page, until ``count`` coins (or a short page)."""
        out: list[dict] = []
        page = 1
        while len(out) < count:
            params = {"vs_currency": self.cfg.vs_currency, "order": "market_cap_desc", "per_page": self.cfg.per_page,
                      "page": page}
            records = self._get("/coins/markets", params, _decode_records)
            out.extend(records)
            if len(records) < self.cfg.per_page:
                break
            page += 1
        return out[:count]

    def market_chart_range(self, asset_id: str, start: datetime, end: datetime) -> dict:
        """``/coins/{id}/market_chart/range`` between ``start`` and ``end`` (unix seconds, rounded outward)."""
        asset_id = self._check_id(asset_id)
        start_at, end_at = as_utc(start), as_utc(end)
        if end_at <= start_at:
            raise ValueError(f"market_chart_range: end {end_at.isoformat()} is not after start {start_at.isoformat()}")
        endpoint = f"/coins/{asset_id}/market_chart/range"
        params = {
            "vs_currency": self.cfg.vs_currency,
            "from": math.floor(start_at.timestamp()),
            "to": math.ceil(end_at.timestamp()),
        }
        return self._get(endpoint, params, _decode_chart)

    # -- helpers -------------------------------------------------------------

    @staticmethod
    def _check_id(asset_id: str) -> str:
        # Ids end up in URL paths; refuse anything that could change the path.
        if not isinstance(asset_id, str) or not _COIN_ID.match(asset_id):
            raise ProviderError(f"{asset_id!r} is not a CoinGecko id (lower-case letters, digits, '-')")
        return asset_id

    def _markets_params(self, ids: Sequence[str], page: int) -> dict[str, Any]:
        return {
            "vs_currency": self.cfg.vs_currency,
            "ids": ",".join(ids),
            "per_page": self.cfg.per_page,
            "page": page,
        }

    def _id_chunks(self, ids: list[str]) -> list[list[str]]:
        """Split ids so every /coins/markets URL (ids percent-encoded, comma = %2C) stays under MAX_URL_CHARS."""
        if not ids:
            return []
        fixed = len(requests.Request("GET", self.base_url + "/coins/markets", params=self._markets_params([], 99999)).prepare().url)
        budget = MAX_URL_CHARS - fixed
        chunks: list[list[str]] = [[]]
        used = 0
        for asset_id in ids:
            cost = len(quote(asset_id, safe="")) + (3 if chunks[-1] else 0)
            if chunks[-1] and used + cost > budget:
                chunks.append([])
                cost = len(quote(asset_id, safe=""))
                used = 0
            chunks[-1].append(asset_id)
            used += cost
        return chunks

    def _get(self, endpoint: str, params: dict[str, Any] | None, decode: Callable[[requests.Response], Any]) -> Any:
        url = self.base_url + endpoint
        try:
            return self._http.get(url, params=params, decode=decode)
        except HttpStatusError as exc:
            error_cls = RateLimitedError if exc.status == 429 else ProviderHTTPError
            raise error_cls(f"coingecko {endpoint}: {exc}", status=exc.status, url=exc.url) from None
        except BodyDecodeError as exc:
            raise ProviderPayloadError(f"coingecko {endpoint}: {exc}") from None
        except HttpFetchError as exc:
            raise ProviderHTTPError(f"coingecko {endpoint}: {exc}", status=None, url=exc.url) from None
