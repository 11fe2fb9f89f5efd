"""Per-host politeness: spacing between request starts, a concurrency cap, pauses.

The price client's ``RateLimiter`` (newsmarkets.prices.http) is a fixed token
bucket for one API; a crawler needs more per host: the interval grows when
robots.txt asks for a ``Crawl-delay`` (and concurrency drops to one), a
``Retry-After`` or overload response pauses *every* worker on that host, not
just the one that saw it, and in-flight requests are capped.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator


class HostGate:
    """Admission control for one host: at most ``max_concurrency`` requests in flight,
    request starts at least ``interval_s`` apart, and none before a pause ends."""

    def __init__(
        self, host: str, *, interval_s: float, max_concurrency: int, max_interval_s: float = 60.0, shared_by: int = 1
    ) -> None:
        if interval_s < 0:
            raise ValueError(f"interval_s must be >= 0, got {interval_s}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if shared_by < 1:
            raise ValueError(f"shared_by must be >= 1, got {shared_by}")
        # shared_by processes use the host at once (an Airflow pool's slots): this one
        # keeps 1/shared_by of the rate, of the concurrency (at least 1) and of a Crawl-delay's.
        self.shared_by = shared_by
        interval_s = interval_s * shared_by
        max_concurrency = max(1, max_concurrency // shared_by)
        self.host = host
        self.base_interval_s = interval_s
        self.interval_s = interval_s
        self.max_concurrency = max_concurrency
        self.max_interval_s = max(max_interval_s, interval_s)
        self.crawl_delay_s: float | None = None
        self._cond = threading.Condition()
        self._in_flight = 0
        self._last_start: float | None = None  # monotonic
        self._next_start = 0.0  # monotonic
        self._paused_until = 0.0  # monotonic
        if shared_by > 1:
            # Another process may have just used its slot on this host: keep the spacing across the hand-over.
            self._next_start = time.monotonic() + interval_s

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Wait for a turn, hold it for one request; yields the seconds waited."""
        waited_from = time.monotonic()
        with self._cond:
            while True:
                now = time.monotonic()
                if self._in_flight < self.max_concurrency:
                    due = max(self._next_start, self._paused_until)
                    if now >= due:
                        break
                    self._cond.wait(timeout=due - now)
                else:
                    self._cond.wait()  # a finishing request notifies
            self._in_flight += 1
            self._last_start = now
            self._next_start = now + self.interval_s
        try:
            yield now - waited_from
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def apply_crawl_delay(self, delay_s: float | None) -> None:
        """Honour robots.txt ``Crawl-delay``: interval = max(1/rps, delay) and one request at a time."""
        if delay_s is None:
            return
        with self._cond:
            self.crawl_delay_s = max(delay_s, self.crawl_delay_s or 0.0)
            self.interval_s = max(self.interval_s, delay_s * self.shared_by)
            self._respace()
            self.max_concurrency = 1
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """No request to this host starts for ``seconds`` (Retry-After, backoff)."""
        with self._cond:
            self._paused_until = max(self._paused_until, time.monotonic() + max(0.0, seconds))
            self._cond.notify_all()

    def slow_down(self) -> None:
        """The host said it is overloaded (429/503): double the interval for the rest of the run."""
        with self._cond:
            # Never below the current interval: a Crawl-delay may exceed the cap.
            self.interval_s = max(self.interval_s, min(self.max_interval_s, self.interval_s * 2))
            self._respace()

    def _respace(self) -> None:
        # The next start counts from the previous one with the new interval.
        if self._last_start is not None:
            self._next_start = max(self._next_start, self._last_start + self.interval_s)

    def pause_remaining_s(self) -> float:
        with self._cond:
            return max(0.0, self._paused_until - time.monotonic())


class HostGates:
    """One :class:`HostGate` per host name, created on first use."""

    def __init__(
        self, *, interval_s: float, max_concurrency: int, max_interval_s: float = 60.0, shared_by: int = 1
    ) -> None:
        self.interval_s = interval_s
        self.max_concurrency = max_concurrency
        self.max_interval_s = max_interval_s
        self.shared_by = shared_by
        self._gates: dict[str, HostGate] = {}
        self._lock = threading.Lock()

    def for_host(self, host: str) -> HostGate:
        key = host.lower().rstrip(".")
        with self._lock:
            gate = self._gates.get(key)
            if gate is None:
                gate = HostGate(
                    key, interval_s=self.interval_s, max_concurrency=self.max_concurrency,
                    max_interval_s=self.max_interval_s, shared_by=self.shared_by,
                )
                self._gates[key] = gate
            return gate
