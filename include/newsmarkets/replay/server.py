"""A local HTTP server that speaks CoinGecko's v3 API from a :class:`MarketWorld`.

The embedded default price source and the test harness: a real
``ThreadingHTTPServer`` on 127.0.0.1 in a background thread. Its replay clock
("now") decides which points exist; fault switches (see
:mod:`newsmarkets.replay.faults`) break upcoming requests on purpose. Both can
be changed in-process or over HTTP, so a separate process (an Airflow task)
sees the same server state:

- ``GET/POST/DELETE /_replay/faults`` (POST body: ``{"faults": [{...}]}``, replaces the queue)
- ``GET/POST /_replay/clock`` (POST body: ``{"now": "2026-01-06T12:00:00Z"}``; ``null`` resets)
- ``GET /_replay/requests`` (the request log), ``GET /_replay/truth`` (the world's ground truth)
- ``GET /_replay/news_truth``: the news sites' ground truth; the sites themselves are served
  under ``/outlets/<outlet>/`` and ``/robots.txt`` (see :mod:`newsmarkets.replay.news_site`)

API key headers are recorded as *which* header was sent, never the value.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
import time
from collections import deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from newsmarkets.replay.budget import CallBudget, retry_after_header
from newsmarkets.replay import faults as fault_mod
from newsmarkets.replay.faults import Fault, FaultError, FaultQueue, faults_from_json
from newsmarkets.replay.market_api import API_PREFIX, answer
from newsmarkets.replay.news_site import NewsSite
from newsmarkets.replay.news_world import NewsWorld
from newsmarkets.replay.world import MarketWorld

CONTROL_PREFIX = "/_replay"
KEY_HEADERS = ("x-cg-demo-api-key", "x-cg-pro-api-key")
KEY_PARAMS = ("x_cg_demo_api_key", "x_cg_pro_api_key")  # CoinGecko also takes the key as a query param
REDACTED = "<redacted>"
_MAX_BODY = 1 << 20
MAX_LOGGED_REQUESTS = 50_000  # a long-running server keeps the newest only


class ReplayServerError(RuntimeError):
    """The server could not start, or a control request was invalid."""


class LoggedRequest(NamedTuple):
    path: str
    query: dict[str, str]
    status: int


def _utc(dt: datetime | str) -> datetime:
    if isinstance(dt, str):
        try:
            dt = datetime.fromisoformat(dt.replace("Z", "+00:00"))
        except ValueError:
            raise ReplayServerError(f"now: not an ISO-8601 timestamp: {dt!r}") from None
    if not isinstance(dt, datetime):
        raise ReplayServerError(f"now: expected a datetime, got {dt!r}")
    if dt.tzinfo is None:
        raise ReplayServerError(f"now: {dt.isoformat()} has no timezone; pass an aware UTC time")
    return dt.astimezone(timezone.utc)


class ReplayServer:
    """CoinGecko look-alike over a generated world; use as a context manager."""

    def __init__(
        self,
        world: MarketWorld,
        host: str = "127.0.0.1",
        port: int = 0,
        now: datetime | str | None = None,
        *,
        wall_clock: bool = False,
        news: NewsWorld | None = None,
    ) -> None:
        self.world = world
        # the news sites share the price world's clock; by default generated from it
        self.news = news if news is not None else NewsWorld.generate(world, seed=world.seed)
        self.news_site = NewsSite(self.news)
        # wall_clock: with no fixed time, "now" follows the real clock (clamped),
        # so live schedules over a world built around today see fresh prices.
        self.wall_clock = wall_clock
        self.host = host
        self._requested_port = port
        self._lock = threading.Lock()
        self._fixed_now_s: float | None = None if now is None else self._clamp(now)
        self._faults = FaultQueue()
        self._budget: CallBudget | None = None
        self._log: deque[LoggedRequest] = deque(maxlen=MAX_LOGGED_REQUESTS)
        self._key_log: deque[str | None] = deque(maxlen=MAX_LOGGED_REQUESTS)
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --------------------------------------------------------------- lifecycle
    def start(self) -> "ReplayServer":
        if self._httpd is not None:
            return self
        try:
            httpd = ThreadingHTTPServer((self.host, self._requested_port), _make_handler(self))
        except OSError as exc:
            raise ReplayServerError(f"cannot listen on {self.host}:{self._requested_port}: {exc}") from None
        httpd.daemon_threads = True
        self._stopping.clear()
        self._httpd = httpd
        # A short poll interval makes stop() quick; tests start and stop many servers.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"replay-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes 'slow' requests so shutdown is not held up
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise ReplayServerError("the replay server is not running; call start() first")
        return self._httpd.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + API_PREFIX

    # ------------------------------------------------------------------- clock
    def _clamp(self, now: datetime | str | float) -> float:
        first, last = self.world.first_at.timestamp(), self.world.last_at.timestamp()
        ts = now if isinstance(now, float) else _utc(now).timestamp()
        return min(max(ts, first), last)

    @property
    def now_s(self) -> float:
        """The replay clock as UNIX seconds: fixed, else wall time (if enabled), else the last grid point."""
        fixed = self._fixed_now_s
        if fixed is not None:
            return fixed
        if self.wall_clock:
            return self._clamp(time.time())
        return self.world.last_at.timestamp()

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_s, tz=timezone.utc)

    def set_now(self, now: datetime | str | None) -> datetime:
        """Fix the replay clock (clamped into the world); None returns to the default clock."""
        with self._lock:
            self._fixed_now_s = None if now is None else self._clamp(now)
        return self.now

    # ------------------------------------------------------------------ faults
    def set_faults(self, *faults: Fault | dict | Iterable[Fault | dict]) -> list[Fault]:
        """Replace the fault queue: ``set_faults(Fault("rate_limit", count=2), {"kind": "slow"})``."""
        if len(faults) == 1 and isinstance(faults[0], dict) and "kind" not in faults[0]:
            parsed = faults_from_json(faults[0])  # {kind: fields} mapping
        else:
            flat: list[Any] = []
            for f in faults:
                flat.extend(f if isinstance(f, (list, tuple)) else [f])
            parsed = faults_from_json(flat)
        self._faults.set(parsed)
        return parsed

    def add_fault(self, fault: Fault | dict) -> None:
        self._faults.add(faults_from_json([fault])[0])

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        return self._faults.snapshot()

    # ------------------------------------------------------------------ budget
    def set_budget(self, calls: int | None, window_s: float = 60.0) -> CallBudget | None:
        """Enforce ``calls`` API calls per sliding ``window_s`` across all clients (None: no limit); counts restart."""
        self._budget = None if calls is None else CallBudget(calls, window_s)
        return self._budget

    @property
    def budget(self) -> CallBudget | None:
        return self._budget

    # -------------------------------------------------------------------- logs
    @property
    def request_log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    @property
    def key_header_log(self) -> list[str | None]:
        """Per logged request: the API key header name the client sent, or None."""
        with self._lock:
            return list(self._key_log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()
            self._key_log.clear()

    def _record(self, path: str, query: dict[str, str], status: int, key_header: str | None) -> None:
        with self._lock:
            self._log.append(LoggedRequest(path, query, status))
            self._key_log.append(key_header)

    # --------------------------------------------------------------- handling
    def handle_api(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for one API GET, the call budget and faults applied."""
        budget = self._budget
        wait_s = budget.admit() if budget is not None else None
        if wait_s is not None:
            headers = {"Content-Type": "application/json; charset=utf-8", "Retry-After": retry_after_header(wait_s)}
            return 429, headers, _dumps(fault_mod.RATE_LIMIT_BODY)
        result = answer(self.world, self.now_s, path, query)
        fault = self._faults.take(path, result.asset_ids if result.status == 200 else None)
        headers = {"Content-Type": "application/json; charset=utf-8", **result.headers}
        body_doc = result.body
        if fault is not None:
            if fault.kind in fault_mod.STATUS_FAULTS:
                return _status_fault_answer(fault, headers)
            if fault.kind == "slow":
                self._stopping.wait(fault.delay_s)
            elif fault.kind in fault_mod.DATA_FAULTS:
                if result.kind == "markets":
                    body_doc = fault_mod.damage_markets(body_doc, fault)
                elif result.kind == "chart":
                    body_doc = fault_mod.damage_chart(body_doc, fault, result.asset_ids[0])
                elif result.kind == "simple_price":
                    body_doc = fault_mod.damage_simple_price(body_doc, fault)
        body = _dumps(body_doc)
        if fault is not None and fault.kind == "malformed":
            body = fault_mod.malformed_bytes(body)
        elif fault is not None and fault.kind == "truncated":
            body = fault_mod.truncated_bytes(body)
        return result.status, headers, body

    def handle_news(self, path: str, request_headers: dict[str, str], root_url: str) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for one news-site GET, faults aimed at news pages applied."""
        fault = self._faults.take(path, None)
        if fault is not None and fault.kind in fault_mod.STATUS_FAULTS:
            return _status_fault_answer(fault, {"Content-Type": "application/json; charset=utf-8"})
        if fault is not None and fault.kind == "slow":
            self._stopping.wait(fault.delay_s)
        return self.news_site.handle(path, request_headers, self.now, root_url)

    def handle_control(self, method: str, path: str, payload: Any) -> tuple[int, Any]:
        sub = path[len(CONTROL_PREFIX) :].rstrip("/")
        if sub == "/faults":
            if method == "POST":
                try:
                    self.set_faults(faults_from_json(payload))
                except (FaultError, TypeError) as exc:
                    return 400, {"error": str(exc)}
            elif method == "DELETE":
                self.clear_faults()
            return 200, {"faults": [f.to_dict() for f in self.faults]}
        if sub == "/budget":
            if method == "POST":
                if not isinstance(payload, dict) or "calls" not in payload:
                    return 400, {"error": 'budget: expected {"calls": N, "window_s": 60} (calls null: no limit)'}
                try:
                    self.set_budget(payload["calls"], payload.get("window_s", 60.0))
                except ValueError as exc:
                    return 400, {"error": f"budget: {exc}"}
            elif method == "DELETE":
                self.set_budget(None)
            budget = self._budget
            return 200, {"budget": None if budget is None else budget.stats().to_dict()}
        if sub == "/clock":
            if method == "POST":
                if not isinstance(payload, dict) or "now" not in payload:
                    return 400, {"error": 'clock: expected {"now": "<ISO-8601 UTC>"} (or null to reset)'}
                try:
                    self.set_now(payload["now"])
                except ReplayServerError as exc:
                    return 400, {"error": str(exc)}
            return 200, {
                "now": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "is_fixed": self._fixed_now_s is not None,
                "wall_clock": self.wall_clock,
                "first_at": self.world.first_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "last_at": self.world.last_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        if sub == "/requests" and method == "GET":
            return 200, {
                "requests": [
                    {"path": r.path, "query": r.query, "status": r.status, "api_key_header": k}
                    for r, k in zip(self.request_log, self.key_header_log)
                ]
            }
        if sub == "/truth" and method == "GET":
            return 200, self.world.truth()
        if sub == "/news_truth" and method == "GET":
            return 200, self.news_site.truth()
        return 404, {"error": f"unknown control endpoint {method} {path}"}


def _status_fault_answer(fault: Fault, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    if fault.kind == "rate_limit":
        return 429, {**headers, "Retry-After": str(fault.retry_after_s)}, _dumps(fault_mod.RATE_LIMIT_BODY)
    if fault.kind == "gone":
        return 410, {"Content-Type": "text/html; charset=utf-8"}, b"<html><body><h1>410 Gone</h1></body></html>\n"
    body, ctype = fault_mod.server_error_body(fault.status)
    extra = {"Retry-After": str(fault.retry_after_s)} if fault.status == 503 else {}
    return fault.status, {"Content-Type": ctype, **extra}, body


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _make_handler(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clients reuse one connection
        server_version = "newsmarkets-replay/1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass  # tests read server.request_log instead of stderr noise

        def setup(self) -> None:
            super().setup()
            # Keep-alive plus Nagle's algorithm and delayed ACKs would add ~40 ms
            # to every small answer; a 250-asset backfill makes thousands.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _split(self) -> tuple[str, dict[str, str]]:
            parts = urlsplit(self.path)
            return parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            path, query = self._split()
            if path.startswith(CONTROL_PREFIX):
                return self._control("GET", path)
            if NewsSite.owns(path):
                return self._news(path)
            key_header = next((h for h in KEY_HEADERS if self.headers.get(h)), None)
            for p in KEY_PARAMS:
                if p in query:
                    key_header = key_header or p
                    query[p] = REDACTED
            try:
                status, headers, body = server.handle_api(path, query)
            except Exception as exc:  # a bug here must surface as a 500, not a hung client
                status, headers, body = 500, {"Content-Type": "application/json"}, _dumps(
                    {"error": f"replay server bug: {type(exc).__name__}: {exc}"}
                )
            server._record(path, query, status, key_header)
            try:
                self._send(status, headers, body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. timed out on a 'slow' fault)

        def _news(self, path: str) -> None:
            root = f"http://{self.headers.get('Host') or f'{server.host}:{server.port}'}"
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                status, out_headers, body = server.handle_news(path, headers, root)
            except Exception as exc:  # a bug here must surface as a 500, not a hung client
                status, out_headers, body = 500, {"Content-Type": "text/plain"}, f"replay news bug: {exc!r}".encode()
            server._record(path, {}, status, None)
            try:
                self._send(status, out_headers, body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _control(self, method: str, path: str) -> None:
            payload = None
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY:
                return self._send(413, {"Content-Type": "application/json"}, _dumps({"error": "body too large"}))
            if length:
                raw = self.rfile.read(length)
                try:
                    payload = json.loads(raw)
                except ValueError as exc:
                    return self._send(400, {"Content-Type": "application/json"}, _dumps({"error": f"body is not JSON: {exc}"}))
            status, doc = server.handle_control(method, path, payload)
            self._send(status, {"Content-Type": "application/json"}, _dumps(doc))

        def do_POST(self) -> None:  # noqa: N802
            path, _ = self._split()
            if not path.startswith(CONTROL_PREFIX):
                return self._send(405, {"Content-Type": "application/json", "Allow": "GET"}, _dumps({"error": "method not allowed"}))
            self._control("POST", path)

        def do_DELETE(self) -> None:  # noqa: N802
            path, _ = self._split()
            if not path.startswith(CONTROL_PREFIX):
                return self._send(405, {"Content-Type": "application/json", "Allow": "GET"}, _dumps({"error": "method not allowed"}))
            self._control("DELETE", path)

    return Handler


def serve_forever(
    world: MarketWorld,
    host: str = "127.0.0.1",
    port: int = 0,
    now: datetime | str | None = None,
    faults: Iterable[Fault | dict] | dict | None = None,
    *,
    wall_clock: bool = False,
) -> int:
    """Run until SIGINT/SIGTERM; prints one line with the base URL once it is listening.

    ``faults``: anything ``POST /_replay/faults`` accepts (list, or kind -> fields).
    """
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with ReplayServer(world, host=host, port=port, now=now, wall_clock=wall_clock) as server:
            if faults:
                server.set_faults(faults_from_json(faults if isinstance(faults, dict) else list(faults)))
            clock = "wall time" if wall_clock and now is None else server.now.strftime("%Y-%m-%dT%H:%M:%SZ")
            print(f"replay server ready: {server.base_url} (now={clock})", flush=True)
            stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":  # python -m newsmarkets.replay.server [port] — handy before the CLI exists
    _port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    sys.exit(serve_forever(MarketWorld.generate("2026-01-05", 3, 20260105), port=_port))
