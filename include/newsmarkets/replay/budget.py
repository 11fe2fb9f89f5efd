"""A provider's rate limit as the replay API enforces it: N calls per sliding window, for all clients.

Real providers count every caller with the same key together; this is what a
pipeline has to stay under, however many processes call. A call over the
budget gets 429 with ``Retry-After`` (the seconds until a slot frees), like
CoinGecko's, and is counted, so a test can require that none was refused.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class BudgetStats:
    calls: int
    window_s: float
    admitted: int
    refused: int
    max_in_window: int  # the most calls admitted within any one window

    def to_dict(self) -> dict:
        return {"calls": self.calls, "window_s": self.window_s, "admitted": self.admitted,
                "refused": self.refused, "max_in_window": self.max_in_window}


class CallBudget:
    """Thread-safe sliding-window counter: at most ``calls`` admitted in any ``window_s`` seconds."""

    def __init__(self, calls: int, window_s: float = 60.0) -> None:
        if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1:
            raise ValueError(f"calls: must be an integer >= 1, got {calls!r}")
        if isinstance(window_s, bool) or not isinstance(window_s, (int, float)) or not window_s > 0:
            raise ValueError(f"window_s: must be a number > 0, got {window_s!r}")
        self.calls = calls
        self.window_s = float(window_s)
        self._admitted_at: deque[float] = deque()
        self._admitted = 0
        self._refused = 0
        self._max_in_window = 0
        self._lock = threading.Lock()

    def admit(self, now: float | None = None) -> float | None:
        """None when the call is within the budget (and counted), else the seconds until one would be."""
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._admitted_at and self._admitted_at[0] <= now - self.window_s:
                self._admitted_at.popleft()
            if len(self._admitted_at) >= self.calls:
                self._refused += 1
                return max(0.0, self._admitted_at[0] + self.window_s - now)
            self._admitted_at.append(now)
            self._admitted += 1
            self._max_in_window = max(self._max_in_window, len(self._admitted_at))
            return None

    def stats(self) -> BudgetStats:
        with self._lock:
            return BudgetStats(self.calls, self.window_s, self._admitted, self._refused, self._max_in_window)


def retry_after_header(seconds: float) -> str:
    """Retry-After takes whole seconds; round up so a client that waits is admitted."""
    return str(max(1, math.ceil(seconds)))
