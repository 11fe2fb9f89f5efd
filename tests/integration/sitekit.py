"""A scriptable test web site: a real threaded HTTP/1.1 server on 127.0.0.1.

Routes answer with :class:`Reply` steps (successive requests get successive
steps, the last one repeats). Every request is recorded as a :class:`Hit`
with monotonic timestamps, the headers received, how many body bytes the
server managed to send and whether it sent them all, so tests can assert
spacing, concurrency, headers and "the body was never downloaded".
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # before the status line
    chunked: bool = False  # no Content-Length, Transfer-Encoding: chunked
    chunk_bytes: int = 64 * 1024
    chunk_delay_s: float = 0.0
    etag: str | None = None  # answer 304 to a matching If-None-Match
    last_modified: str | None = None  # ... or to If-Modified-Since not older than this

    def body_bytes(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass
class Hit:
    path: str
    host: str
    headers: dict[str, str]
    started_at: float  # time.monotonic()
    ended_at: float | None = None
    status: int | None = None
    body_bytes_sent: int = 0
    body_complete: bool = False


class LocalSite:
    """``with LocalSite() as site: site.route("/a", Reply(body="<html>..."))``."""

    def __init__(self) -> None:
        self._routes: dict[str, list[Reply]] = {}
        self._served: dict[str, int] = {}
        self.hits: list[Hit] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                site._serve(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # ----------------------------------------------------------------- setup

    def __enter__(self) -> "LocalSite":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str, *, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._routes[path] = list(replies)

    def page(self, path: str, html: str | bytes, **reply) -> None:
        self.route(path, Reply(body=html, **reply))

    def redirect(self, path: str, location: str, status: int = 301) -> None:
        self.route(path, Reply(status=status, headers={"Location": location}, content_type=None))

    def robots(self, text: str) -> None:
        self.route("/robots.txt", Reply(body=text, content_type="text/plain"))

    # ----------------------------------------------------------------- queries

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def wait_idle(self, timeout_s: float = 5.0) -> None:
        """Wait until no response is being written (the client may hang up mid-body)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self.in_flight == 0:
                    return
            time.sleep(0.01)
        raise TimeoutError(f"test site still busy after {timeout_s}s")

    def paths(self) -> list[str]:
        with self._lock:
            return [h.path for h in self.hits]

    # ----------------------------------------------------------------- serving

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            steps = self._routes.get(path)
            if not steps:
                return Reply(status=404, body="not found", content_type="text/plain")
            served = self._served.get(path, 0)
            self._served[path] = served + 1
            return steps[min(served, len(steps) - 1)]

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        hit = Hit(
            path=handler.path, host=handler.headers.get("Host", ""),
            headers=dict(handler.headers.items()), started_at=time.monotonic(),
        )
        with self._lock:
            self.hits.append(hit)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._respond(handler, self._next_reply(handler.path), hit)
        finally:
            with self._lock:
                self.in_flight -= 1
                hit.ended_at = time.monotonic()

    def _respond(self, handler: BaseHTTPRequestHandler, reply: Reply, hit: Hit) -> None:
        time.sleep(reply.delay_s)
        status = 304 if _not_modified(handler, reply) else reply.status
        hit.status = status
        body = b"" if status == 304 else reply.body_bytes()
        try:
            handler.send_response(status)
            if reply.content_type and status != 304:
                handler.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            if reply.etag:
                handler.send_header("ETag", reply.etag)
            if reply.last_modified:
                handler.send_header("Last-Modified", reply.last_modified)
            if reply.chunked and status != 304:
                handler.send_header("Transfer-Encoding", "chunked")
            else:
                handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            for start in range(0, len(body), reply.chunk_bytes):
                piece = body[start:start + reply.chunk_bytes]
                if reply.chunked:
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    handler.wfile.write(piece)
                handler.wfile.flush()
                hit.body_bytes_sent += len(piece)
                if reply.chunk_delay_s:
                    time.sleep(reply.chunk_delay_s)
            if reply.chunked and status != 304:
                handler.wfile.write(b"0\r\n\r\n")
                handler.wfile.flush()
            hit.body_complete = True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            handler.close_connection = True


def _not_modified(handler: BaseHTTPRequestHandler, reply: Reply) -> bool:
    if reply.status != 200:
        return False
    if_none_match = handler.headers.get("If-None-Match")
    if reply.etag and if_none_match is not None:  # RFC 9110 13.1.3: it takes precedence
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return reply.etag.removeprefix("W/") in tags or "*" in tags
    since = handler.headers.get("If-Modified-Since")
    if reply.last_modified and since:
        try:
            return parsedate_to_datetime(reply.last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False
