"""robots.txt (RFC 9309): a parser and matcher, and a per-run cache per origin.

The stdlib's ``urllib.robotparser`` takes the first matching rule and knows no
wildcards, so it disagrees with every major crawler on files such as
``Allow: /news/`` + ``Disallow: /*?``. This module follows RFC 9309:

* groups are chosen by our product token (case-insensitive), else ``*``;
  several groups for the same agent are merged;
* the longest matching pattern wins, ``Allow`` on a tie; ``*`` matches any
  run of characters and a trailing ``$`` anchors the end;
* paths and patterns are compared after percent-encoding normalisation;
* 4xx on robots.txt means "no rules", 5xx / unreachable means "disallow
  everything" (429 too: the site is overloaded, not ruleless);
* ``Crawl-delay`` (not in the RFC, but widely honoured) and ``Sitemap`` lines
  are exposed; at most :data:`ROBOTS_MAX_BYTES` of the file are parsed.

Fetching is the caller's job (the fetcher owns politeness and the SSRF
guard): :class:`RobotsCache` takes a callable that returns a
:class:`RobotsResponse` for a robots.txt URL.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urljoin, urlsplit

LOGGER = logging.getLogger("newsmarkets.news.robots")

ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 2.5: parse at least 500 KiB
MAX_ROBOTS_REDIRECTS = 5  # RFC 9309 2.3.1.2

_TOKEN = re.compile(r"[A-Za-z_-]+")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def user_agent_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against: ``newsmarkets/0.1 (+url)`` -> ``newsmarkets``."""
    match = _TOKEN.match(user_agent.strip())
    if not match:
        raise ValueError(f"user_agent {user_agent!r} does not start with a product token (letters, '_' or '-')")
    return match.group(0).lower()


def robots_url_for(url: str) -> str:
    """``scheme://host[:port]/robots.txt`` for the origin of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower().rsplit('@', 1)[-1]}/robots.txt"


def normalize_path(path: str) -> str:
    """Percent-encoding normal form (RFC 9309 2.2.2) so ``/%62az`` and ``/baz`` compare equal.

    Escapes of unreserved characters are decoded, other escapes upper-cased,
    and non-ASCII / control characters / spaces are UTF-8 percent-encoded.
    """

    def decode_unreserved(match: re.Match) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    path = _PERCENT.sub(decode_unreserved, path)
    out = []
    for char in path:
        if ord(char) > 0x7E or ord(char) <= 0x20:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        else:
            out.append(char)
    return "".join(out)


def path_of(url: str) -> str:
    """The part of ``url`` robots rules match against: path plus query, ``/`` at least."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return normalize_path(path)


@dataclass(frozen=True)
class RobotsRule:
    is_allow: bool
    pattern: str  # normalised, always starting with "/" or "*"
    _regex: re.Pattern = field(repr=False, compare=False)

    @classmethod
    def build(cls, is_allow: bool, raw_pattern: str) -> "RobotsRule":
        pattern = normalize_path(raw_pattern)
        if not pattern.startswith(("/", "*")):
            pattern = "/" + pattern
        anchored = pattern.endswith("$")
        body = pattern[:-1] if anchored else pattern
        regex = ".*".join(re.escape(piece) for piece in body.split("*"))
        return cls(is_allow, pattern, re.compile(regex + (r"\Z" if anchored else ""), re.DOTALL))

    def matches(self, path: str) -> bool:
        return self._regex.match(path) is not None

    def __str__(self) -> str:
        return f"{'Allow' if self.is_allow else 'Disallow'}: {self.pattern}"


@dataclass(frozen=True)
class RobotsVerdict:
    is_allowed: bool
    reason: str  # the deciding rule, or why there are no rules


@dataclass(frozen=True)
class RobotsPolicy:
    """What one robots.txt says to one agent."""

    rules: tuple[RobotsRule, ...] = ()
    crawl_delay_s: float | None = None
    sitemaps: tuple[str, ...] = ()
    disallow_all: bool = False
    source: str = "no rules"  # how the policy came about, for logs and reasons

    @classmethod
    def allow_everything(cls, source: str) -> "RobotsPolicy":
        return cls(source=source)

    @classmethod
    def disallow_everything(cls, source: str) -> "RobotsPolicy":
        return cls(disallow_all=True, source=source)

    def verdict(self, url_or_path: str) -> RobotsVerdict:
        path = path_of(url_or_path) if "://" in url_or_path else normalize_path(url_or_path or "/")
        if path == "/robots.txt":
            return RobotsVerdict(True, "/robots.txt is always allowed")
        if self.disallow_all:
            return RobotsVerdict(False, f"robots.txt {self.source}: everything disallowed")
        best: RobotsRule | None = None
        for rule in self.rules:
            if not rule.matches(path):
                continue
            if (
                best is None
                or len(rule.pattern) > len(best.pattern)
                or (len(rule.pattern) == len(best.pattern) and rule.is_allow and not best.is_allow)
            ):
                best = rule
        if best is None:
            return RobotsVerdict(True, f"robots.txt {self.source}: no rule matches")
        return RobotsVerdict(best.is_allow, f"robots.txt rule '{best}'")

    def is_allowed(self, url_or_path: str) -> bool:
        return self.verdict(url_or_path).is_allowed


def parse_robots(text: str, *, agent_token: str, robots_url: str = "") -> RobotsPolicy:
    """Parse robots.txt ``text`` for ``agent_token`` (pure; no I/O)."""
    agent_token = agent_token.lower()
    groups: list[tuple[list[str], list[tuple[str, str]]]] = []
    sitemaps: list[str] = []
    agents: list[str] = []
    lines: list[tuple[str, str]] = []
    in_rules = False  # a user-agent line after rules starts a new group
    for raw_line in text.lstrip("\ufeff").splitlines():
        line = raw_line.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        key, value = key.strip().lower(), value.strip()
        if key == "sitemap":
            if value:
                sitemaps.append(urljoin(robots_url, value) if robots_url else value)
        elif key == "user-agent":
            if in_rules or not agents:
                agents, lines = [], []
                groups.append((agents, lines))
                in_rules = False
            agents.append(value.lower())
        elif key in ("allow", "disallow", "crawl-delay"):
            if not agents:
                continue  # rules before any user-agent belong to no group
            in_rules = True
            lines.append((key, value))

    def agent_matches(value: str) -> bool:
        token = _TOKEN.match(value)
        return token is not None and token.group(0) == agent_token

    chosen = [entries for names, entries in groups if any(agent_matches(n) for n in names)]
    if not chosen:
        chosen = [entries for names, entries in groups if "*" in names]
    rules: list[RobotsRule] = []
    delays: list[float] = []
    for entries in chosen:
        for key, value in entries:
            if key == "crawl-delay":
                try:
                    delay = float(value)
                except ValueError:
                    continue
                if delay >= 0 and delay == delay and delay != float("inf"):
                    delays.append(delay)
            elif value:  # an empty Disallow/Allow means "no rule"
                rules.append(RobotsRule.build(key == "allow", value))
    return RobotsPolicy(
        rules=tuple(rules),
        crawl_delay_s=max(delays) if delays else None,
        sitemaps=tuple(dict.fromkeys(sitemaps)),
        source=f"at {robots_url}" if robots_url else "parsed",
    )


@dataclass(frozen=True)
class RobotsResponse:
    """What fetching robots.txt produced: a status and body, or ``status=None`` and an error."""

    robots_url: str
    status: int | None
    body: bytes = b""
    error: str | None = None


def policy_from_response(response: RobotsResponse, *, agent_token: str) -> RobotsPolicy:
    """RFC 9309 2.3.1: 2xx -> parse; 4xx -> no rules; 429, 5xx, unreachable -> disallow all."""
    url, status = response.robots_url, response.status
    if status is None:
        return RobotsPolicy.disallow_everything(f"unreachable at {url} ({response.error or 'no response'})")
    if 200 <= status < 300:
        text = response.body[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
        return parse_robots(text, agent_token=agent_token, robots_url=url)
    if status == 429 or status >= 500:
        return RobotsPolicy.disallow_everything(f"unavailable at {url} (HTTP {status}, server trouble)")
    if 400 <= status < 500:
        return RobotsPolicy.allow_everything(f"absent at {url} (HTTP {status})")
    # 1xx/3xx left over (redirects exhausted by the caller) count as unavailable.
    return RobotsPolicy.allow_everything(f"unavailable at {url} (HTTP {status})")


class RobotsCache:
    """One robots.txt fetch per origin per run, shared by all threads.

    Threads asking for the same origin wait for the first one's fetch instead
    of each requesting robots.txt.
    """

    def __init__(self, fetch: Callable[[str], RobotsResponse], *, agent_token: str) -> None:
        self._fetch = fetch
        self.agent_token = agent_token.lower()
        self._policies: dict[str, RobotsPolicy] = {}
        self._origin_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def policy_for(self, url: str) -> RobotsPolicy:
        robots_url = robots_url_for(url)
        with self._lock:
            if robots_url in self._policies:
                return self._policies[robots_url]
            origin_lock = self._origin_locks.setdefault(robots_url, threading.Lock())
        with origin_lock:
            with self._lock:
                if robots_url in self._policies:
                    return self._policies[robots_url]
            policy = policy_from_response(self._fetch(robots_url), agent_token=self.agent_token)
            LOGGER.info(
                "robots.txt %s: %s (%d rules, crawl-delay %s, %d sitemaps)",
                robots_url, "disallow all" if policy.disallow_all else policy.source,
                len(policy.rules), policy.crawl_delay_s, len(policy.sitemaps),
            )
            with self._lock:
                self._policies[robots_url] = policy
            return policy

    def cached(self) -> dict[str, RobotsPolicy]:
        """The policies fetched so far, by robots.txt URL."""
        with self._lock:
            return dict(self._policies)
