"""The shared HTTP helper against a real scripted server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from newsmarkets.prices.http import (
    BodyDecodeError,
    HttpStatusError,
    HttpTransportError,
    RateLimiter,
    RetryingHttp,
    RetryPolicy,
    parse_retry_after,
)

SECRET = "cg-secret-key-123456"


class ScriptedServer:
    """Answers each request with the next scripted step, then with 200 {"ok": true}."""

    def __init__(self) -> None:
        self.steps: list[dict] = []
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                with outer._lock:
                    outer.requests.append({"path": self.path, "headers": dict(self.headers), "at": time.monotonic()})
                    step = outer.steps.pop(0) if outer.steps else {}
                time.sleep(step.get("delay", 0))
                body = step.get("body", b'{"ok": true}')
                self.send_response(step.get("status", 200))
                for name, value in step.get("headers", {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                # A truncated body: promise more bytes than we send, then hang up.
                self.send_header("Content-Length", str(len(body) + (50 if step.get("truncate") else 0)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if step.get("truncate"):
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/x"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with ScriptedServer() as srv:
        yield srv


def make_http(max_retries=3, base=0.01, cap=5.0, timeout_s=2.0, **kwargs) -> RetryingHttp:
    return RetryingHttp(
        user_agent="newsmarkets-test/1",
        timeout_s=timeout_s,
        retry=RetryPolicy(max_retries, base, cap),
        logger=logging.getLogger("newsmarkets.test_http"),
        rng=random.Random(7),
        **kwargs,
    )


# -- pure pieces -------------------------------------------------------------


def test_parse_retry_after_seconds_dates_and_garbage():
    now = datetime(2026, 1, 5, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("3", now=now) == 3.0
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after("-4", now=now) == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now=now) == 7.0
    assert parse_retry_after("Mon, 05 Jan 2026 11:00:00 GMT", now=now) == 0.0  # in the past
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_backoff_grows_exponentially_and_is_capped():
    policy = RetryPolicy(max_retries=10, backoff_base_s=1.0, max_backoff_s=6.0)
    rng = random.Random(1)
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 6.0), (9, 6.0)]:
        waits = [policy.backoff_s(retry, rng) for _ in range(200)]
        assert ceiling / 2 <= min(waits) and max(waits) <= ceiling
        assert max(waits) - min(waits) > ceiling / 4  # actually jittered


def test_rate_limiter_spaces_requests_across_threads():
    limiter = RateLimiter(600)  # one start per 0.1 s
    starts: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(3):
            limiter.acquire()
            with lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(3)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    # 9 starts, the first immediate: at least 8 intervals of 0.1 s.
    assert starts[-1] - began >= 0.8 - 0.02
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 0.1 - 0.03


def test_rate_limiter_rejects_nonsense():
    with pytest.raises(ValueError, match="rate_per_minute"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(10, burst=0)


# -- against the scripted server ----------------------------------------------


def test_5xx_is_retried_then_recovers_with_one_log_line_per_retry(server, caplog):
    server.steps = [{"status": 503}, {"status": 502}]
    http = make_http()
    with caplog.at_level(logging.WARNING, logger="newsmarkets.test_http"):
        assert http.get(server.url, params={"a": "1"}) == {"ok": True}
    assert len(server.requests) == 3
    retry_lines = [r.getMessage() for r in caplog.records if r.name == "newsmarkets.test_http"]
    assert len(retry_lines) == 2
    assert "HTTP 503" in retry_lines[0] and "retrying in" in retry_lines[0] and "attempt 1/4" in retry_lines[0]
    assert "HTTP 502" in retry_lines[1]


def test_429_retry_after_is_honoured(server):
    server.steps = [{"status": 429, "headers": {"Retry-After": "1"}}]
    http = make_http()
    assert http.get(server.url) == {"ok": True}
    first, second = server.requests
    assert second["at"] - first["at"] >= 1.0


def test_retry_after_as_http_date_and_capped_by_max_backoff(server):
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    server.steps = [{"status": 503, "headers": {"Retry-After": format_datetime(later, usegmt=True)}}]
    http = make_http(cap=0.3)
    started = time.monotonic()
    assert http.get(server.url) == {"ok": True}
    assert time.monotonic() - started < 2.0  # waited the 0.3 s cap, not 30 s


def test_non_retryable_4xx_fails_at_once(server):
    server.steps = [{"status": 404, "body": b'{"error": "coin not found"}'}]
    http = make_http()
    with pytest.raises(HttpStatusError) as info:
        http.get(server.url)
    assert info.value.status == 404 and info.value.attempts == 1
    assert "not retryable" in str(info.value) and "coin not found" in str(info.value)
    assert len(server.requests) == 1


def test_persistent_5xx_gives_up_after_max_retries(server):
    server.steps = [{"status": 500}] * 5
    http = make_http(max_retries=2)
    with pytest.raises(HttpStatusError) as info:
        http.get(server.url)
    assert info.value.status == 500 and info.value.attempts == 3
    assert len(server.requests) == 3


def test_timeout_is_retried(server):
    server.steps = [{"delay": 1.0}]
    http = make_http(timeout_s=0.3)
    assert http.get(server.url) == {"ok": True}
    assert len(server.requests) == 2


def test_persistent_timeout_raises_transport_error(server):
    server.steps = [{"delay": 0.6}, {"delay": 0.6}]
    http = make_http(max_retries=1, timeout_s=0.2)
    with pytest.raises(HttpTransportError, match="timed out after 2 attempt"):
        http.get(server.url)


def test_connection_refused_is_retried_then_reported():
    http = make_http(max_retries=1)
    with ScriptedServer() as srv:
        url = srv.url
    with pytest.raises(HttpTransportError, match="connection failed"):
        http.get(url)


def test_truncated_and_malformed_bodies_are_retried(server, caplog):
    server.steps = [{"body": b'{"ok": tr', "truncate": True}, {"body": b"<html>oops"}]
    http = make_http()
    with caplog.at_level(logging.WARNING, logger="newsmarkets.test_http"):
        assert http.get(server.url) == {"ok": True}
    assert len(server.requests) == 3
    first, second = [r.getMessage() for r in caplog.records if r.name == "newsmarkets.test_http"]
    assert "body cut short" in first
    assert "not valid JSON" in second


def test_persistently_malformed_body_raises_decode_error(server):
    server.steps = [{"body": b"[1, 2"}] * 3
    http = make_http(max_retries=2)
    with pytest.raises(BodyDecodeError, match="not valid JSON") as info:
        http.get(server.url)
    assert info.value.attempts == 3


def test_decoder_can_refuse_without_retry(server):
    def decode(response):
        raise BodyDecodeError("expected a list", retryable=False)

    http = make_http()
    with pytest.raises(BodyDecodeError, match="expected a list"):
        http.get(server.url, decode=decode)
    assert len(server.requests) == 1


def test_secret_header_is_sent_but_never_shown(server, caplog):
    # The server even echoes the key back in its error body; we must still not repeat it.
    server.steps = [{"status": 503}, {"status": 400, "body": json.dumps({"error": f"bad key {SECRET}"}).encode()}]
    http = make_http(secret_headers={"x-cg-demo-api-key": SECRET}, headers={"Accept": "application/json"})
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(HttpStatusError) as info:
            http.get(server.url, params={"ids": "bitcoin"})
    assert server.requests[0]["headers"]["x-cg-demo-api-key"] == SECRET
    assert server.requests[0]["headers"]["User-Agent"] == "newsmarkets-test/1"
    assert SECRET not in str(info.value) and SECRET not in repr(info.value) and SECRET not in info.value.url
    assert "***" in str(info.value)
    assert SECRET not in caplog.text and SECRET not in repr(http)
    assert caplog.records  # the retry line was logged
