"""The polite, safe HTTP fetcher for news pages.

Every URL goes through the same steps, hop by hop when it redirects:

1. :func:`~newsmarkets.news.netguard.check_url` (scheme, allowed domains,
   no private/metadata addresses); the transport re-checks the address it
   actually connects to.
2. robots.txt for the hop's origin (fetched once per run, RFC 9309);
   ``Crawl-delay`` widens that host's spacing and drops its concurrency to 1.
3. the host's gate: at most ``per_domain_concurrency`` requests in flight,
   starts spaced by ``max(1/per_domain_rps, crawl_delay)``, and pauses after
   ``Retry-After`` or backoff apply to every worker on that host.
4. one GET, body streamed: Content-Type must be HTML (else the body is never
   read), size capped while reading, total time per attempt capped.

Retries (from :class:`~newsmarkets.prices.http.RetryPolicy`) cover 408/425/429,
5xx, timeouts and dropped connections, honouring ``Retry-After`` up to
``max_backoff_s``; a longer ``Retry-After`` ends the URL and parks the host
for the rest of the run instead of hammering it early. ``fetch`` never raises
for a per-URL problem: :attr:`FetchResult.outcome` says what happened, and one
INFO line per URL is logged.

The price client's ``RetryingHttp`` is not reused for the requests themselves:
it follows redirects inside ``requests`` (so hops would skip robots and domain
checks), reads whole bodies (no size cap, PDFs downloaded), sends no
per-request headers (conditional GETs) and raises instead of reporting
outcomes. Its ``RetryPolicy`` and ``parse_retry_after`` are reused.
"""

from __future__ import annotations

import logging
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Collection, Iterable, Literal, Mapping
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import DecodeError, HTTPError as Urllib3HTTPError, ProtocolError, ReadTimeoutError
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
    to_unicode,
)

from newsmarkets.news.netguard import (
    BlockedURLError,
    HostResolutionError,
    check_url,
    guarded_session,
    host_is_allowed,
    normalize_domains,
)
from newsmarkets.news.politeness import HostGate, HostGates
from newsmarkets.news.robots import (
    MAX_ROBOTS_REDIRECTS,
    ROBOTS_MAX_BYTES,
    RobotsCache,
    RobotsResponse,
    robots_url_for,
    user_agent_token,
)
from newsmarkets.prices.http import RetryPolicy, parse_retry_after

LOGGER = logging.getLogger("newsmarkets.news.fetch")

Outcome = Literal[
    "fetched", "not_modified", "robots", "too_large", "not_html",
    "http_error", "timeout", "blocked", "redirect_offsite", "error",
]

HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# For discovery: pass ``accept=FEED_MEDIA_TYPES`` to fetch RSS/Atom feeds and
# sitemaps (gzipped ones arrive as raw bytes) with the same politeness.
FEED_MEDIA_TYPES = frozenset({
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml",
    "application/gzip", "application/x-gzip",
})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ACCEPT_HEADER = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
_RETRYABLE_4XX = frozenset({408, 425, 429})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_OVERLOAD_STATUSES = frozenset({429, 503})
_CHUNK_BYTES = 16 * 1024
_SNIFF_BYTES = 512
_CP1252_TOLERANCE = 0.05  # charset_normalizer "chaos" units


@dataclass
class FetchResult:
    """What happened to one URL.

    ``attempts`` counts the requests sent for it (retries and redirect hops,
    not robots.txt); ``elapsed_s`` is wall time including politeness waits;
    ``bytes`` is the (decoded) body size read; ``content_type`` is the media
    type without parameters; ``encoding`` the Python codec the HTML was
    decoded with. Documents fetched with a non-HTML ``accept`` (feeds,
    sitemaps) leave ``html`` None and carry their raw bytes in ``content``.
    """

    url: str
    final_url: str
    status: int | None
    outcome: Outcome
    reason: str
    attempts: int
    html: str | None = None
    encoding: str | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    elapsed_s: float = 0.0
    bytes: int = 0
    content: bytes | None = field(default=None, repr=False)

    @property
    def is_ok(self) -> bool:
        return self.outcome in ("fetched", "not_modified")


# --------------------------------------------------------------------------- charset (pure)

_HTML_START = re.compile(
    rb"""\s*(?:<!--.*?-->\s*|<\?xml[^>]*>\s*)*<(?:!doctype\s+html|html|head|body|meta|title)\b""",
    re.IGNORECASE | re.DOTALL,
)


def looks_like_html(prefix: bytes) -> bool:
    """Sniff a body that came without Content-Type (RFC 9110 lets recipients look)."""
    _, bom = read_bom(prefix)
    return _HTML_START.match(prefix[len(bom or b""):][:_SNIFF_BYTES * 2]) is not None


def _decodable(codec: str | None) -> str | None:
    """``codec`` unless it cannot decode text with replacement."""
    try:
        b"<".decode(codec or "", "replace")  # w3lib resolves rot13, base64, idna, undefined ... too
    except (LookupError, UnicodeError):
        return None
    return codec


def detect_encoding(body: bytes, content_type: str | None) -> tuple[str, str]:
    """(codec, how it was chosen), in a browser's order: byte-order mark, HTTP charset, ``<meta>``
    charset (read, and labels mapped the WHATWG way, by :mod:`w3lib.encoding`), else
    :func:`guess_encoding`.

    Not :func:`w3lib.encoding.html_to_unicode`: it raises on ``charset=rot13``, decodes an ASCII
    page whose ``<meta>`` says UTF-16 as UTF-16-BE, and does not say how it chose.
    """
    codec, _ = read_bom(body)
    if codec:
        return codec, "byte-order mark"
    codec = _decodable(http_content_type_encoding(content_type))
    if codec:
        return codec, "HTTP Content-Type charset"
    codec = _decodable(html_body_declared_encoding(body))
    if codec:
        # A <meta> we could read as ASCII rules out UTF-16/32 (HTML Standard).
        return ("utf-8" if codec.startswith(("utf-16", "utf-32")) else codec), "<meta> charset"
    return guess_encoding(body)


def guess_encoding(body: bytes) -> tuple[str, str]:
    """(codec, how) for a body that declares nothing: UTF-8 if valid, ``charset_normalizer``'s
    guess, else windows-1252 (which decodes any byte)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8", "valid UTF-8"
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # comes with requests, but stay usable without it
        from_bytes = None
    if from_bytes is not None:
        matches = from_bytes(body)
        best = matches.best()
        if best is not None:
            # Short Western texts fit several single-byte code pages about equally
            # (French cp1252 scores best as Baltic cp1257); undeclared legacy pages
            # are overwhelmingly windows-1252, the HTML Standard's default, so it
            # wins among near-equals.
            for match in matches:
                if match.chaos <= best.chaos + _CP1252_TOLERANCE and "cp1252" in match.could_be_from_charset:
                    return "cp1252", "charset_normalizer guess (windows-1252 among equals)"
            codec = _decodable(resolve_encoding(best.encoding))
            if codec:
                return codec, "charset_normalizer guess"
    return "cp1252", "fallback"


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Decode an HTML body; returns (text, codec). Undecodable bytes become U+FFFD."""
    codec, _how = detect_encoding(body, content_type)
    _, bom = read_bom(body)
    return to_unicode(body[len(bom or b""):], codec), codec


# --------------------------------------------------------------------------- one exchange


@dataclass
class _Exchange:
    """One request's result, before it becomes a FetchResult or a retry."""

    kind: Literal["body", "redirect", "not_modified", "status", "paused", "timeout", "transport",
                  "too_large", "not_html", "blocked"]
    reason: str = ""
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=CaseInsensitiveDict)
    body: bytes = b""
    retryable: bool = False
    retry_after_s: float | None = None
    location: str | None = None  # redirects only

    @property
    def media_type(self) -> str | None:
        return _media_type(self.headers.get("Content-Type"))


def _strip_fragment(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # malformed; check_url will say why
        return url.strip()
    return urlunsplit(parts._replace(fragment=""))


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _accept_set(accept: Collection[str]) -> frozenset[str]:
    if isinstance(accept, str) or not accept or not all(isinstance(t, str) and "/" in t for t in accept):
        raise ValueError(f"accept: expected a non-empty collection of media types like 'text/html', got {accept!r}")
    return frozenset(t.strip().lower() for t in accept)


def _media_type(content_type: str | None) -> str | None:
    """``text/html; charset=x`` -> ``text/html``; None when absent or empty."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media or None


def _content_length(headers: Mapping[str, str]) -> int | None:
    try:
        value = int(headers.get("Content-Length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


class PoliteFetcher:
    """Fetch news pages the way a careful crawler would; see the module docstring.

    ``allowed_domains=None`` allows any host that passes the address guard,
    and then redirects may go to other hosts (each hop checked the same way).
    ``conditional`` maps URL -> (etag, last_modified) from an earlier run.
    """

    def __init__(
        self,
        *,
        user_agent: str,
        allowed_domains: Collection[str] | None,
        allow_private_networks: bool,
        per_domain_rps: float = 1.0,
        per_domain_concurrency: int = 2,
        timeout_s: float = 20,
        max_bytes: int = 5_000_000,
        max_retries: int = 3,
        backoff_base_s: float = 1.0,
        max_backoff_s: float = 60,
        max_redirects: int = 5,
        conditional: Mapping[str, tuple[str | None, str | None]] | None = None,
        shared_by: int = 1,
    ) -> None:
        if not isinstance(user_agent, str) or not user_agent.strip() or any(c in user_agent for c in "\r\n"):
            raise ValueError(f"user_agent: expected one non-empty header line, got {user_agent!r}")
        self.agent_token = user_agent_token(user_agent)
        for name, value in (("per_domain_rps", per_domain_rps), ("timeout_s", timeout_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name}: must be a number > 0, got {value!r}")
        for name, value, minimum in (
            ("per_domain_concurrency", per_domain_concurrency, 1), ("max_bytes", max_bytes, 1),
            ("max_retries", max_retries, 0), ("max_redirects", max_redirects, 0), ("shared_by", shared_by, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
        self.user_agent = user_agent
        self.allowed_domains = normalize_domains(allowed_domains)
        self.allow_private_networks = bool(allow_private_networks)
        self.timeout_s = float(timeout_s)
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.retry = RetryPolicy(max_retries=max_retries, backoff_base_s=backoff_base_s, max_backoff_s=max_backoff_s)
        self.conditional = self._validate_conditional(conditional)
        # shared_by processes (the news pool's slots) may fetch at once: each keeps its share
        # of every host's budget, so together they stay within it.
        self._gates = HostGates(
            interval_s=1.0 / per_domain_rps, max_concurrency=per_domain_concurrency, max_interval_s=max_backoff_s,
            shared_by=shared_by,
        )
        self._robots = RobotsCache(self._fetch_robots, agent_token=self.agent_token)
        self._rng = random.Random()
        self._session = guarded_session(
            allow_private_networks=self.allow_private_networks, pool_maxsize=max(2, per_domain_concurrency)
        )
        self._session.headers.update({"User-Agent": user_agent, "Accept": ACCEPT_HEADER})

    @staticmethod
    def _validate_conditional(conditional) -> dict[str, tuple[str | None, str | None]]:
        checked: dict[str, tuple[str | None, str | None]] = {}
        for url, pair in (conditional or {}).items():
            if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(
                v is None or isinstance(v, str) for v in pair
            ):
                raise ValueError(f"conditional[{url!r}]: expected (etag, last_modified) strings or None, got {pair!r}")
            checked[_strip_fragment(url)] = (pair[0] or None, pair[1] or None)
        return checked

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "PoliteFetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------------- public

    def fetch(self, url: str, *, accept: Collection[str] = HTML_MEDIA_TYPES) -> FetchResult:
        """Fetch one page; problems are reported in the result, never raised.

        ``accept`` lists the media types wanted (default: HTML); any other
        Content-Type ends as outcome ``not_html`` without reading the body.
        """
        wanted = _accept_set(accept)
        started = time.monotonic()
        tally = _Tally(url=url, final_url=url)
        try:
            result = self._fetch_page(url, tally, wanted)
        except Exception as exc:  # a bug must not take fetch_many's other URLs down with it
            LOGGER.exception("fetch %s failed unexpectedly", url)
            result = tally.result("error", f"unexpected {type(exc).__name__}: {exc}")
        result.elapsed_s = round(time.monotonic() - started, 6)
        LOGGER.info(
            "fetch %s -> %s (status=%s attempts=%d bytes=%d %.2fs)%s",
            url, result.outcome, result.status, result.attempts, result.bytes, result.elapsed_s,
            f": {result.reason}" if result.reason else "",
        )
        return result

    def fetch_many(
        self, urls: Iterable[str], *, max_workers: int = 8, accept: Collection[str] = HTML_MEDIA_TYPES
    ) -> list[FetchResult]:
        """Fetch ``urls`` concurrently; results in input order. Each distinct URL is
        requested once (duplicates get a copy of its result). Per-host caps still apply;
        URLs are queued round-robin across hosts so one slow host does not hold all workers."""
        urls = list(urls)
        for index, url in enumerate(urls):
            if not isinstance(url, str):
                raise TypeError(f"urls[{index}]: expected a URL string, got {type(url).__name__}")
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers: must be an integer >= 1, got {max_workers!r}")
        _accept_set(accept)  # fail once, up front, rather than in every worker
        unique = list(dict.fromkeys(urls))
        if not unique:
            return []
        by_host: dict[str, list[str]] = {}
        for url in unique:
            by_host.setdefault(_host_of(url), []).append(url)
        queues = list(by_host.values())
        interleaved = [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)]
        with ThreadPoolExecutor(max_workers=min(max_workers, len(unique)), thread_name_prefix="news-fetch") as pool:
            futures = {url: pool.submit(self.fetch, url, accept=accept) for url in interleaved}
            done = {url: future.result() for url, future in futures.items()}
        seen: set[str] = set()
        results = []
        for url in urls:
            results.append(done[url] if url not in seen else replace(done[url]))
            seen.add(url)
        return results

    def robots_sitemaps(self, host: str) -> list[str]:
        """Sitemap URLs listed in ``host``'s robots.txt (fetched if not yet cached).

        ``host`` may be an origin (``http://127.0.0.1:8765``) or a bare host name,
        which uses an origin already seen this run, else ``https://host``.
        """
        if "://" in host:
            origin_url = host
        else:
            bare = host.strip().lower().rstrip("/")
            known = [u for u in self._robots.cached() if urlsplit(u).netloc == bare]
            origin_url = known[0] if known else f"https://{bare}/"
        robots_url = robots_url_for(origin_url)
        try:
            check_url(robots_url, allow_private_networks=self.allow_private_networks,
                      allowed_domains=self.allowed_domains)
        except BlockedURLError as exc:
            LOGGER.info("robots sitemaps for %s: refused (%s)", host, exc.reason)
            return []
        return list(self._robots.policy_for(robots_url).sitemaps)

    # ----------------------------------------------------------------- one URL

    def _fetch_page(self, url: str, tally: "_Tally", accept: frozenset[str]) -> FetchResult:
        current = _strip_fragment(url)
        chain = [current]
        while True:
            tally.final_url = current
            try:
                check_url(current, allow_private_networks=self.allow_private_networks,
                          allowed_domains=self.allowed_domains)
            except HostResolutionError as exc:
                return tally.result("error", exc.reason)
            except BlockedURLError as exc:
                return tally.result("blocked", exc.reason)

            gate = self._gates.for_host(_host_of(current))
            policy = self._robots.policy_for(current)
            gate.apply_crawl_delay(policy.crawl_delay_s)
            verdict = policy.verdict(current)
            if not verdict.is_allowed:
                return tally.result("robots", f"disallowed by {verdict.reason}")

            validators = self.conditional.get(current)
            headers = {} if accept == HTML_MEDIA_TYPES else {"Accept": ", ".join(sorted(accept)) + ", */*;q=0.1"}
            if validators and validators[0]:
                headers["If-None-Match"] = validators[0]
            if validators and validators[1]:
                headers["If-Modified-Since"] = validators[1]
            exchange = self._request(current, gate, headers=headers, accept=accept, tally=tally)
            is_conditional = "If-None-Match" in headers or "If-Modified-Since" in headers
            tally.status = exchange.status

            if exchange.kind != "redirect":
                return self._page_result(exchange, tally, validators if is_conditional else None, accept)
            target = _strip_fragment(urljoin(current, exchange.location or ""))
            if target in chain:
                return tally.result("error", "redirect loop: " + " -> ".join(chain + [target]))
            if len(chain) > self.max_redirects:
                return tally.result("error", f"more than {self.max_redirects} redirects: " + " -> ".join(chain + [target]))
            if not host_is_allowed(_host_of(target), self.allowed_domains):
                return tally.result("redirect_offsite", f"HTTP {exchange.status} to {target} (outside allowed_domains)")
            chain.append(target)
            current = target

    def _page_result(self, exchange: _Exchange, tally: "_Tally", validators, accept: frozenset[str]) -> FetchResult:
        kind = exchange.kind
        media = exchange.media_type
        if kind == "body":
            validators_now = dict(etag=exchange.headers.get("ETag"), last_modified=exchange.headers.get("Last-Modified"))
            is_html = media in HTML_MEDIA_TYPES if media else bool(accept & HTML_MEDIA_TYPES)  # untyped: sniffed
            if is_html:
                html, codec = decode_html(exchange.body, exchange.headers.get("Content-Type"))
                return tally.result("fetched", "", html=html, encoding=codec, content_type=media or "text/html",
                                    bytes=len(exchange.body), **validators_now)
            return tally.result("fetched", "", content=exchange.body, content_type=media, bytes=len(exchange.body),
                                **validators_now)
        if kind == "not_modified":
            if validators is None:
                return tally.result("http_error", "HTTP 304 to a request that was not conditional")
            return tally.result(
                "not_modified", "",
                etag=exchange.headers.get("ETag") or validators[0],
                last_modified=exchange.headers.get("Last-Modified") or validators[1],
            )
        outcome = {
            "status": "http_error", "paused": "http_error", "timeout": "timeout", "transport": "error",
            "too_large": "too_large", "not_html": "not_html", "blocked": "blocked",
        }[kind]
        return tally.result(outcome, exchange.reason, content_type=media, bytes=len(exchange.body))

    def _request(
        self, url: str, gate: HostGate, *, headers: dict, accept: frozenset[str] | None, tally: "_Tally | None"
    ) -> _Exchange:
        """One hop with retries; pauses from Retry-After/backoff apply to the whole host."""
        attempts_allowed = self.retry.max_retries + 1
        for attempt in range(1, attempts_allowed + 1):
            remaining = gate.pause_remaining_s()
            if remaining > self.retry.max_backoff_s:
                return _Exchange("paused", f"not requested: {gate.host} asked for a pause ({remaining:.0f}s left)")
            if tally is not None:
                tally.attempts += 1
            exchange = self._exchange(url, gate, headers=headers, accept=accept)
            if exchange.status in _OVERLOAD_STATUSES:
                gate.slow_down()
            if not exchange.retryable:
                return exchange
            if exchange.retry_after_s is not None and exchange.retry_after_s > self.retry.max_backoff_s:
                gate.pause(exchange.retry_after_s)
                exchange.reason += (
                    f"; Retry-After {exchange.retry_after_s:.0f}s exceeds max_backoff_s "
                    f"{self.retry.max_backoff_s:g}s, so not retried and {gate.host} is paused"
                )
                return exchange
            if attempt == attempts_allowed:
                exchange.reason += f" (after {attempt} attempts)"
                return exchange
            wait_s = exchange.retry_after_s
            if wait_s is None:
                wait_s = self.retry.backoff_s(attempt, self._rng)
            gate.pause(wait_s)
            LOGGER.info("retry %s in %.2fs after attempt %d/%d: %s", url, wait_s, attempt, attempts_allowed, exchange.reason)
        raise AssertionError("unreachable: the loop returns")

    def _exchange(self, url: str, gate: HostGate, *, headers: dict, accept: frozenset[str] | None) -> _Exchange:
        with gate.slot():
            deadline = time.monotonic() + self.timeout_s
            try:
                response = self._session.get(
                    url, headers=headers, stream=True, allow_redirects=False,
                    timeout=(self.timeout_s, self.timeout_s),
                )
            except BlockedURLError as exc:  # the connect-time address check (DNS changed under us)
                return _Exchange("blocked", exc.reason)
            except requests.exceptions.Timeout as exc:
                return _Exchange("timeout", f"timed out after {self.timeout_s:g}s ({type(exc).__name__})", retryable=True)
            except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                return _Exchange("transport", f"connection failed: {_short(exc)}", retryable=True)
            except requests.exceptions.RequestException as exc:
                return _Exchange("transport", f"request failed: {_short(exc)}")
            try:
                return self._read(response, deadline, accept=accept)
            finally:
                response.close()  # unread bodies (PDFs, oversized) close the connection rather than drain it

    def _read(self, response: requests.Response, deadline: float, *, accept: frozenset[str] | None) -> _Exchange:
        """Status, type and size checks, then the body; ``accept=None`` is robots.txt mode
        (any type, cut at ROBOTS_MAX_BYTES instead of failing)."""
        status, headers = response.status_code, response.headers
        if status in REDIRECT_STATUSES:
            location = headers.get("Location")
            if not location:
                return _Exchange("status", f"HTTP {status} without a Location header", status, headers)
            return _Exchange("redirect", f"HTTP {status} to {location}", status, headers, location=location)
        if status == 304:
            return _Exchange("not_modified", "", status, headers)
        if not 200 <= status < 300:
            retry_after = parse_retry_after(headers.get("Retry-After")) if status in _RETRY_AFTER_STATUSES else None
            retryable = status in _RETRYABLE_4XX or status >= 500
            reason = f"HTTP {status} {response.reason or ''}".rstrip()
            if retry_after is not None:
                reason += f" (Retry-After {retry_after:g}s)"
            return _Exchange("status", reason, status, headers, retryable=retryable, retry_after_s=retry_after)

        for_robots = accept is None
        limit = ROBOTS_MAX_BYTES if for_robots else self.max_bytes
        media = _media_type(headers.get("Content-Type"))
        if not for_robots and media is not None and media not in accept:
            wanted = "HTML" if accept == HTML_MEDIA_TYPES else "one of " + ", ".join(sorted(accept))
            return _Exchange("not_html", f"Content-Type {media} is not {wanted}; body not downloaded", status, headers)
        declared = _content_length(headers)
        if not for_robots and declared is not None and declared > limit:
            return _Exchange(
                "too_large", f"Content-Length {declared} exceeds max_bytes {limit}; body not downloaded", status, headers
            )

        chunks: list[bytes] = []
        size = 0
        # Without a Content-Type, sniff only when HTML is what we want.
        sniffed = for_robots or media is not None or not (accept & HTML_MEDIA_TYPES)
        try:
            for chunk in response.raw.stream(_CHUNK_BYTES, decode_content=True):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    if for_robots:  # RFC 9309: parse what fits, ignore the rest
                        break
                    return _Exchange("too_large", f"body exceeds max_bytes {limit}; stopped reading", status, headers,
                                     body=b"".join(chunks))
                if not sniffed and size >= _SNIFF_BYTES:
                    sniffed = True
                    if not looks_like_html(b"".join(chunks)):
                        return _Exchange("not_html", "no Content-Type and the body does not look like HTML",
                                         status, headers)
                if time.monotonic() > deadline:
                    return _Exchange("timeout", f"body not complete within {self.timeout_s:g}s", status, headers,
                                     retryable=True)
        except ReadTimeoutError:
            return _Exchange("timeout", f"body read timed out after {self.timeout_s:g}s", status, headers, retryable=True)
        except ProtocolError as exc:
            return _Exchange("transport", f"body cut short: {_short(exc)}", status, headers, retryable=True)
        except DecodeError as exc:
            return _Exchange("transport", f"body could not be decompressed: {_short(exc)}", status, headers)
        except (Urllib3HTTPError, OSError) as exc:
            return _Exchange("transport", f"body read failed: {_short(exc)}", status, headers, retryable=True)
        body = b"".join(chunks)
        if not sniffed and not looks_like_html(body):
            return _Exchange("not_html", "no Content-Type and the body does not look like HTML", status, headers)
        return _Exchange("body", "", status, headers, body=body[:limit])

    # ----------------------------------------------------------------- robots.txt

    def _fetch_robots(self, robots_url: str) -> RobotsResponse:
        """GET robots.txt through the same guard and gates; redirects followed (RFC 9309: five)."""
        current = robots_url
        exchange = None
        for _hop in range(MAX_ROBOTS_REDIRECTS + 1):
            try:
                check_url(current, allow_private_networks=self.allow_private_networks,
                          allowed_domains=self.allowed_domains)
            except BlockedURLError as exc:
                return RobotsResponse(robots_url, None, error=f"{current}: {exc.reason}")
            exchange = self._request(current, self._gates.for_host(_host_of(current)), headers={},
                                     accept=None, tally=None)
            if exchange.kind == "redirect":
                current = _strip_fragment(urljoin(current, exchange.location or ""))
                continue
            if exchange.kind == "body":
                return RobotsResponse(robots_url, exchange.status, exchange.body)
            if exchange.kind == "status" and exchange.status is not None:
                return RobotsResponse(robots_url, exchange.status, error=exchange.reason)
            return RobotsResponse(robots_url, None, error=exchange.reason)
        # Too many redirects: RFC 9309 lets us treat the file as unavailable.
        return RobotsResponse(robots_url, exchange.status if exchange else None, error="too many redirects")


@dataclass
class _Tally:
    """Per-URL bookkeeping while hops and retries happen."""

    url: str
    final_url: str
    attempts: int = 0
    status: int | None = None

    def result(self, outcome: Outcome, reason: str, **fields) -> FetchResult:
        return FetchResult(
            url=self.url, final_url=self.final_url, status=self.status, outcome=outcome, reason=reason,
            attempts=self.attempts, **fields,
        )


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
