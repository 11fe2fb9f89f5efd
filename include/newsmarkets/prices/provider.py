"""The price-provider interface, its errors, and the factory that picks one from config.

A provider returns *raw* records (the provider's own JSON shapes, validated
only structurally); :mod:`newsmarkets.prices.transform` turns them into
warehouse rows. Adding a provider means one class implementing
:class:`PriceProvider` plus a line in :mod:`newsmarkets.prices.registry`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from datetime import date, datetime
from typing import Sequence

from newsmarkets.config import HttpConfig, PricesConfig
from newsmarkets.prices.registry import PROVIDERS


class ProviderError(Exception):
    """Base class for everything a price provider raises."""


class ProviderHTTPError(ProviderError):
    """A request failed for good. ``url`` never contains secrets; ``status`` is None for timeouts."""

    def __init__(self, message: str, *, status: int | None, url: str) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class RateLimitedError(ProviderHTTPError):
    """The provider kept answering 429 after every retry."""


class ProviderPayloadError(ProviderError):
    """A response body was malformed, truncated or had the wrong shape; the message names endpoint and field."""


class PriceProvider(ABC):
    """A source of current market snapshots and historical price series."""

    name: str
    # The provider's first day of price history: earlier intervals are refused, not answered empty.
    history_start: date | None = None

    @abstractmethod
    def list_assets(self) -> list[dict]:
        """Every asset the provider knows: dicts with ``id``, ``symbol``, ``name``."""

    @abstractmethod
    def markets(self, asset_ids: Sequence[str]) -> list[dict]:
        """Raw current-snapshot records for ``asset_ids`` (pagination handled inside)."""

    def top_markets(self, count: int) -> list[dict]:
        """Current-snapshot records of the ``count`` largest coins by market cap (their ``market_cap_rank``).

        Optional: a provider without a ranking returns nothing, and ranks stay unknown.
        """
        return []

    @abstractmethod
    def market_chart_range(self, asset_id: str, start: datetime, end: datetime) -> dict:
        """Raw ``{"prices": [[ms, v], ...], "market_caps": [...], "total_volumes": [...]}`` for [start, end]."""

    def close(self) -> None:
        """Release connections; providers without any keep this no-op."""

    def __enter__(self) -> "PriceProvider":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def make_provider(cfg: PricesConfig, http: HttpConfig) -> PriceProvider:
    """Instantiate the provider named by ``cfg.provider`` (see :data:`PROVIDERS`)."""
    try:
        target = PROVIDERS[cfg.provider]
    except KeyError:
        raise ProviderError(f"prices.provider: unknown provider {cfg.provider!r} (known: {', '.join(sorted(PROVIDERS))})") from None
    module_name, _, class_name = target.partition(":")
    provider_cls = getattr(importlib.import_module(module_name), class_name)
    return provider_cls(cfg, http)
