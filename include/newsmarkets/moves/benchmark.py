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

``median``: the median of the usable constituents' returns over each span;
its level is one dollar in each of them at the start, grown by that median.
One coin's jump, however large, does not move it, so it cannot make every
other coin look abnormal; with few constituents it is noisier than a mean.

``bitcoin``: bitcoin's own return; its level is bitcoin's price.

Any kind but ``bitcoin`` can leave one asset out per span (``exclude``):
an asset's abnormal return is then measured against the market without it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from newsmarkets.moves.prices import STATUS_GAP, STATUS_OK, PriceBook

KINDS = ("cap_weighted", "equal_weighted", "median", "bitcoin")


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

    def spans(self, start_us: np.ndarray, end_us: np.ndarray, max_stale_us,
              exclude: np.ndarray | None = None) -> Spans:
        """The benchmark over each ``(start, end)`` span; ``exclude``: a book asset code per span to leave out.

        Leaving the row's own asset out keeps its jump out of "the market" it is measured against
        (bitcoin holds most of a cap-weighted index). A ``bitcoin`` benchmark excludes nothing, and
        neither does a span where the asset is the only usable constituent: either would be empty.
        """
        start_us = np.asarray(start_us, dtype=np.int64)
        end_us = np.asarray(end_us, dtype=np.int64)
        parts = self._components(start_us, end_us, max_stale_us)
        if parts is None:
            return self._none_usable(start_us, end_us, max_stale_us)
        drop = None
        if exclude is not None and self.kind != "bitcoin":
            drop = self.codes[None, :] == np.asarray(exclude, dtype=np.int64)[:, None]
        return self._combine(*parts, drop)

    def returns_excluding(self, start_us: np.ndarray, end_us: np.ndarray, max_stale_us,
                          codes: np.ndarray) -> np.ndarray:
        """Benchmark returns over the spans without each of ``codes`` in turn: ``len(codes) x len(spans)``.

        One set of price lookups for all of them (the estimation grid of every asset at once); a
        code < 0, or a ``bitcoin`` benchmark, leaves nothing out.
        """
        start_us = np.asarray(start_us, dtype=np.int64)
        end_us = np.asarray(end_us, dtype=np.int64)
        codes = np.asarray(codes, dtype=np.int64)
        parts = self._components(start_us, end_us, max_stale_us)
        if parts is None:
            return np.full((len(codes), len(start_us)), np.nan)
        out = np.empty((len(codes), len(start_us)))
        for i, code in enumerate(codes):
            drop = None
            if code >= 0 and self.kind != "bitcoin":
                drop = np.broadcast_to(self.codes[None, :] == code, parts[0].shape)
            out[i] = self._combine(*parts, drop).ret
        return out

    def _none_usable(self, start_us: np.ndarray, end_us: np.ndarray, max_stale_us) -> Spans:
        # No constituent has any price: judge by one lookup of an asset the book does not hold.
        n = len(start_us)
        stale_limit = np.broadcast_to(np.asarray(max_stale_us, dtype=np.int64), start_us.shape)
        probe = self.book.asof(np.full(n, -1), end_us, stale_limit)
        return Spans(*(np.full(n, np.nan) for _ in range(3)), np.full(n, -1, dtype=np.int64),
                     np.maximum(probe.status, STATUS_GAP))

    def _components(self, start_us: np.ndarray, end_us: np.ndarray, max_stale_us):
        """Per span and constituent: (basis, growth, usable, stale, status), each ``spans x constituents``."""
        n, c = len(start_us), len(self.codes)
        if c == 0:
            return None
        stale_limit = np.broadcast_to(np.asarray(max_stale_us, dtype=np.int64), start_us.shape)
        codes = np.tile(self.codes, n)
        limit = np.repeat(stale_limit, c)
        at_start = self.book.asof(codes, np.repeat(start_us, c), limit)
        at_end = self.book.asof(codes, np.repeat(end_us, c), limit)
        basis = {"cap_weighted": at_start.cap, "equal_weighted": np.ones(len(codes)), "median": np.ones(len(codes)),
                 "bitcoin": at_start.price}[self.kind]
        usable = at_start.ok & at_end.ok & np.isfinite(basis) & (basis > 0)
        basis = np.where(usable, basis, 0.0).reshape(n, c)
        growth = np.where(usable, at_end.price / np.where(usable, at_start.price, 1.0), 0.0).reshape(n, c)
        stale = np.where(usable, np.maximum(at_start.stale_us, at_end.stale_us), -1).reshape(n, c)
        status = np.maximum(at_start.status, at_end.status).reshape(n, c)
        return basis, growth, usable.reshape(n, c), stale, status

    def _combine(self, basis: np.ndarray, growth: np.ndarray, usable: np.ndarray, stale: np.ndarray,
                 status: np.ndarray, drop: np.ndarray | None) -> Spans:
        if drop is not None:
            # an asset alone in its benchmark keeps it: "the market without it" would be nothing
            kept = usable & ~drop
            usable = np.where(kept.any(axis=1)[:, None], kept, usable)
            basis = np.where(usable, basis, 0.0)
        start_value = basis.sum(axis=1)
        any_usable = usable.any(axis=1)
        if self.kind == "median":
            # the middle constituent's return: one coin's jump cannot move it; level = $1 in each at the start
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no usable constituent
                middle = np.nanmedian(np.where(usable, growth, np.nan), axis=1)
            end_value = start_value * np.where(any_usable, middle, 1.0)
        else:
            end_value = (basis * growth).sum(axis=1)
        worst_stale = np.where(usable, stale, -1).max(axis=1)
        worst = status.max(axis=1)
        status_out = np.where(any_usable, STATUS_OK, np.maximum(worst, STATUS_GAP)).astype(np.int8)
        with np.errstate(invalid="ignore", divide="ignore"):
            ret = np.where(any_usable, end_value / start_value - 1.0, np.nan)
        return Spans(
            start_value=np.where(any_usable, start_value, np.nan),
            end_value=np.where(any_usable, end_value, np.nan),
            ret=ret,
            stale_us=np.where(any_usable, worst_stale, -1),
            status=status_out,
        )
