"""A small, generic HTTP fetch helper: client-side rate limit plus retries.

Used by the price clients and meant for the news fetcher too, so it knows
nothing about any provider: callers pass a ``decode`` callable that turns a
response into a value (raising :class:`BodyDecodeError` when the body is
unusable) and map this module's errors onto their own.

Retries cover what is usually transient: 408/429/5xx, timeouts, dropped
connections and bodies that arrive cut short or garbled. ``Retry-After`` (in
seconds or as an HTTP date) is honoured on 429/503, capped by the policy's
``max_backoff_s`` so a hostile or confused server cannot park a worker for hours.
Secret values (API keys) are redacted from every message and log line.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable, Mapping

import requests

DEFAULT_LOGGER = logging.getLogger("newsmarkets.http")

# 408 and 425 are the server asking us to try again; everything 5xx is theirs.
_RETRYABLE_4XX = frozenset({408, 425, 429})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_BODY_ERRORS = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
_TRANSPORT_ERRORS = (requests.exceptions.Timeout, requests.exceptions.ConnectionError)


class HttpFetchError(Exception):
    """A request failed for good (after any retries); ``url`` never holds secrets."""

    def __init__(self, message: str, *, url: str, attempts: int) -> None:
        super().__init__(message)
        self.url = url
        self.attempts = attempts


class HttpStatusError(HttpFetchError):
    """The server answered with a non-success status."""

    def __init__(self, message: str, *, url: str, attempts: int, status: int, retry_after_s: float | None = None) -> None:
        super().__init__(message, url=url, attempts=attempts)
        self.status = status
        self.retry_after_s = retry_after_s


class HttpTransportError(HttpFetchError):
    """Timeouts or connection failures on every attempt."""


class BodyDecodeError(HttpFetchError):
    """The body could not be turned into a value (truncated, not JSON, wrong shape).

    Decoders raise it with ``url=""``/``attempts=0``; the fetcher fills both in.
    ``retryable`` says whether asking again could plausibly help.
    """

    def __init__(self, message: str, *, retryable: bool = True, url: str = "", attempts: int = 0) -> None:
        super().__init__(message, url=url, attempts=attempts)
        self.retryable = retryable


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4  # retries after the first attempt
    backoff_base_s: float = 1.0
    max_backoff_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff_base_s < 0 or self.max_backoff_s < 0:
            raise ValueError("backoff_base_s and max_backoff_s must be >= 0")

    def backoff_s(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Wait before retry ``retry_number`` (1-based): exponential, capped, jittered.

        The jitter keeps half the delay fixed so waits still grow, while
        spreading many workers that failed together ("equal jitter").
        """
        ceiling = min(self.max_backoff_s, self.backoff_base_s * (2 ** (retry_number - 1)))
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/unusable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is not a wait
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class RateLimiter:
    """Thread-safe token bucket: at most ``rate_per_minute`` starts a minute, ``burst`` at once.

    ``start_full=False`` makes the first start wait one interval too: a process
    that takes over a shared budget's slot right after another one's last call
    (an Airflow pool slot) then keeps the spacing across the hand-over.
    """

    def __init__(self, rate_per_minute: float, *, burst: int = 1, start_full: bool = True) -> None:
        if rate_per_minute <= 0:
            raise ValueError(f"rate_per_minute must be > 0, got {rate_per_minute}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self.rate_per_s = rate_per_minute / 60.0
        self.burst = burst
        self._tokens = float(burst) if start_full else 0.0
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until it is due; returns the seconds slept."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate_per_s)
            self._updated = now
            # Reserve the token under the lock (tokens may go negative) and
            # sleep outside it, so waiting threads queue up in arrival order
            # without serialising on the lock.
            self._tokens -= 1.0
            wait = -self._tokens / self.rate_per_s if self._tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)
        return wait


def _redactor(secrets: Iterable[str | None]) -> Callable[[str], str]:
    values = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(text: str) -> str:
        for value in values:
            text = text.replace(value, "***")
        return text

    return redact


def decode_json(response: requests.Response) -> Any:
    """Parse a JSON body; a body that does not parse is usually cut short, so it is retryable."""
    try:
        return response.json()
    except ValueError as exc:
        size = len(response.content or b"")
        raise BodyDecodeError(f"body is not valid JSON ({size} bytes; truncated or malformed): {exc}") from None


class RetryingHttp:
    """GET with a shared rate limiter, retries and secret-safe logging.

    ``headers`` and ``secret_headers`` are sent on every request; the values of
    ``secret_headers`` (API keys) are replaced by ``***`` in every message and
    log line. Pass one ``limiter`` to several instances to share a budget.
    """

    def __init__(
        self,
        *,
        user_agent: str,
        timeout_s: float,
        retry: RetryPolicy,
        rate_limit_per_minute: float | None = None,
        limiter: RateLimiter | None = None,
        headers: Mapping[str, str] | None = None,
        secret_headers: Mapping[str, str] | None = None,
        logger: logging.Logger | None = None,
        session: requests.Session | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.retry = retry
        self.limiter = limiter or (RateLimiter(rate_limit_per_minute) if rate_limit_per_minute else None)
        self.logger = logger or DEFAULT_LOGGER
        self._rng = rng or random.Random()
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = user_agent
        self._session.headers.update(headers or {})
        self._session.headers.update(secret_headers or {})
        self._redact = _redactor((secret_headers or {}).values())

    def __repr__(self) -> str:
        return f"RetryingHttp(timeout_s={self.timeout_s}, retry={self.retry!r})"

    def close(self) -> None:
        self._session.close()

    def redact(self, text: str) -> str:
        return self._redact(text)

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        decode: Callable[[requests.Response], Any] = decode_json,
    ) -> Any:
        """GET ``url`` and return ``decode(response)``, retrying transient failures."""
        shown_url = self._redact(requests.Request("GET", url, params=params).prepare().url or url)
        attempts_allowed = self.retry.max_retries + 1
        for attempt in range(1, attempts_allowed + 1):
            if self.limiter is not None:
                self.limiter.acquire()
            try:
                return self._attempt(url, params, decode, shown_url, attempt)
            except _AttemptFailed as failed:
                if not failed.retryable or attempt == attempts_allowed:
                    raise failed.error from None
                wait_s = failed.wait_s if failed.wait_s is not None else self.retry.backoff_s(attempt, self._rng)
                self.logger.warning(
                    "GET %s attempt %d/%d failed (%s); retrying in %.2fs",
                    shown_url, attempt, attempts_allowed, failed.reason, wait_s,
                )
                time.sleep(wait_s)
        raise AssertionError("unreachable: the loop returns or raises")

    def _attempt(self, url, params, decode, shown_url: str, attempt: int) -> Any:
        """One request: the decoded value, or :class:`_AttemptFailed` describing why not."""
        try:
            response = self._session.get(url, params=params, timeout=self.timeout_s)
        except _BODY_ERRORS as exc:
            reason = f"body cut short: {type(exc).__name__}"
            error = BodyDecodeError(f"GET {shown_url}: {reason} (after {attempt} attempt(s))", url=shown_url, attempts=attempt)
            raise _AttemptFailed(True, reason, error) from None
        except _TRANSPORT_ERRORS as exc:
            kind = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "connection failed"
            reason = f"{kind}: {type(exc).__name__}"
            error = HttpTransportError(
                f"GET {shown_url}: {kind} after {attempt} attempt(s) (timeout {self.timeout_s}s): {self._redact(str(exc))}",
                url=shown_url, attempts=attempt,
            )
            raise _AttemptFailed(True, reason, error) from None

        status = response.status_code
        if status >= 400:
            retry_after = parse_retry_after(response.headers.get("Retry-After")) if status in _RETRY_AFTER_STATUSES else None
            retryable = status in _RETRYABLE_4XX or status >= 500
            excerpt = self._redact((response.text or "")[:200].strip())
            error = HttpStatusError(
                f"GET {shown_url}: HTTP {status} {response.reason or ''}".rstrip()
                + (f" after {attempt} attempt(s)" if retryable else " (not retryable)")
                + (f"; body: {excerpt!r}" if excerpt else ""),
                url=shown_url, attempts=attempt, status=status, retry_after_s=retry_after,
            )
            reason = f"HTTP {status}" + (f", Retry-After {retry_after:g}s" if retry_after is not None else "")
            wait_s = min(retry_after, self.retry.max_backoff_s) if retry_after is not None else None
            raise _AttemptFailed(retryable, reason, error, wait_s)

        try:
            return decode(response)
        except BodyDecodeError as exc:
            message = self._redact(str(exc))
            error = BodyDecodeError(
                f"GET {shown_url}: {message} (after {attempt} attempt(s))",
                retryable=exc.retryable, url=shown_url, attempts=attempt,
            )
            raise _AttemptFailed(exc.retryable, message, error) from None


class _AttemptFailed(Exception):
    """Internal: why one attempt failed, and the error to raise if it was the last."""

    def __init__(self, retryable: bool, reason: str, error: HttpFetchError, wait_s: float | None = None) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.reason = reason
        self.error = error
        self.wait_s = wait_s
