"""The market benchmark: what "the market" returned between two times.

``cap_weighted`` (default): the tracked assets weighted by their market caps
at the start of each span, i.e. the return of their combined market cap
holding supplies fixed. Its level (``start_value``/``end_value``) is that
combined cap in USD. A constituent without a usable price at either end
(or without a market cap) is left out of that span and the weights are
renormalised over the rest; with none left the span says why, like a price.

``equal_weighted``: one dollar in each usable constituent at the start of
each span; its level is that portfolio's value in USD. One large asset does
not dominate it, so betas of the small ones are not biased towards zero
when the largest moves alone (bitcoin holds most of a cap-weighted index).

``bitcoin``: bitcoin's own return; its level is bitcoin's price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from newsmarkets.moves.prices import STATUS_GAP, STATUS_OK, PriceBook

KINDS = ("cap_weighted", "equal_weighted", "bitcoin")


class BenchmarkError(ValueError):
    """An unknown benchmark kind or constituents it cannot use."""


@dataclass(frozen=True)
class Spans:
    """Benchmark returns over many (start, end) spans; NaN unless ``status`` is OK."""

    start_value: np.ndarray
    end_value: np.ndarray
    ret: np.ndarray
    stale_us: np.ndarray  # the stalest constituent price used (-1 when none)
    status: np.ndarray  # prices.STATUS_* code

    @property
    def ok(self) -> np.ndarray:
        return self.status == STATUS_OK


class Benchmark:
    def __init__(self, book: PriceBook, kind: str, constituents: list[str] | tuple[str, ...]) -> None:
        if kind not in KINDS:
            raise BenchmarkError(f"benchmark {kind!r}: expected one of {', '.join(KINDS)}")
        members = ["bitcoin"] if kind == "bitcoin" else sorted(set(constituents))
        if not members:
            raise BenchmarkError(f"a {kind} benchmark needs at least one tracked asset")
        self.kind = kind
        self.book = book
        self.constituents = members
        codes = book.asset_codes(members)
        self.codes = codes[codes >= 0]  # constituents with no observation at all cannot contribute

    def spans(self, start_us: np.ndarray, end_us: np.ndarray, max_stale_us) -> Spans:
        start_us = np.asarray(start_us, dtype=np.int64)
        end_us = np.asarray(end_us, dtype=np.int64)
        n, c = len(start_us), len(self.codes)
        stale_limit = np.broadcast_to(np.asarray(max_stale_us, dtype=np.int64), start_us.shape)
        if c == 0:
            # No constituent has any price: judge by one lookup of an asset the book does not hold.
            probe = self.book.asof(np.full(n, -1), end_us, stale_limit)
            return Spans(*(np.full(n, np.nan) for _ in range(3)), np.full(n, -1, dtype=np.int64),
                         np.maximum(probe.status, STATUS_GAP))
        codes = np.tile(self.codes, n)
        limit = np.repeat(stale_limit, c)
        at_start = self.book.asof(codes, np.repeat(start_us, c), limit)
        at_end = self.book.asof(codes, np.repeat(end_us, c), limit)
        basis = {"cap_weighted": at_start.cap, "equal_weighted": np.ones(len(codes)), "bitcoin": at_start.price}[self.kind]
        usable = at_start.ok & at_end.ok & np.isfinite(basis) & (basis > 0)
        basis = np.where(usable, basis, 0.0).reshape(n, c)
        growth = np.where(usable, at_end.price / np.where(usable, at_start.price, 1.0), 0.0).reshape(n, c)
        start_value = basis.sum(axis=1)
        end_value = (basis * growth).sum(axis=1)
        any_usable = usable.reshape(n, c).any(axis=1)
        stale = np.where(usable, np.maximum(at_start.stale_us, at_end.stale_us), -1).reshape(n, c).max(axis=1)
        worst = np.maximum(at_start.status, at_end.status).reshape(n, c).max(axis=1)
        status = np.where(any_usable, STATUS_OK, np.maximum(worst, STATUS_GAP)).astype(np.int8)
        with np.errstate(invalid="ignore", divide="ignore"):
            ret = np.where(any_usable, end_value / start_value - 1.0, np.nan)
        return Spans(
            start_value=np.where(any_usable, start_value, np.nan),
            end_value=np.where(any_usable, end_value, np.nan),
            ret=ret,
            stale_us=np.where(any_usable, stale, -1),
            status=status,
        )
