"""robots.txt (RFC 9309) policy for our agent, and a per-run cache per origin.

`protego <https://github.com/scrapy/protego>`_ parses the file and does the
matching: longest pattern wins (``Allow`` on a tie), ``*`` wildcards, ``$``
anchors, percent-encoding normalisation, ``Crawl-delay`` and ``Sitemap``
lines. (The stdlib's ``urllib.robotparser`` takes the first matching rule and
knows no wildcards.) Around it this module keeps our own policy:

* groups are chosen by our product token (case-insensitive), else ``*``;
  several groups for the same agent are merged;
* 4xx on robots.txt means "no rules", 5xx / unreachable means "disallow
  everything" (429 too: the site is overloaded, not ruleless);
* ``/robots.txt`` itself is always allowed; at most
  :data:`ROBOTS_MAX_BYTES` of the file are parsed; sitemap URLs are resolved
  against the robots.txt URL.

Fetching is the caller's job (the fetcher owns politeness and the SSRF
guard): :class:`RobotsCache` takes a callable that returns a
:class:`RobotsResponse` for a robots.txt URL.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urljoin, urlsplit

from protego import Protego

# protego==0.7.0 is pinned: its rule sets are read to name the deciding rule
# and merge groups, which its public can_fetch() does not expose.
from protego._ruleset import _Rule, _RuleSet
from protego._utils import _quote_path

LOGGER = logging.getLogger("newsmarkets.news.robots")

ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 2.5: parse at least 500 KiB
MAX_ROBOTS_REDIRECTS = 5  # RFC 9309 2.3.1.2

_TOKEN = re.compile(r"[A-Za-z_-]+")
_PATTERN_WITHOUT_SLASH = re.compile(r"(?im)^([ \t]*(?:dis)?allow[ \t]*:[ \t]*)(?=[^\s/*#])")


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


def normalize_path(url_or_path: str) -> str:
    """Path plus query of a URL or path in protego's percent-encoding normal form (RFC 9309 2.2.2)."""
    return _quote_path(url_or_path or "/")


@dataclass(frozen=True)
class RobotsVerdict:
    is_allowed: bool
    reason: str  # the deciding rule, or why there are no rules


def _describe(rule: _Rule) -> str:
    return f"{'Allow' if rule.field == 'allow' else 'Disallow'}: {rule.value._pattern}"


@dataclass(frozen=True)
class RobotsPolicy:
    """What one robots.txt says to one agent: protego's rule sets for the groups that apply."""

    groups: tuple[_RuleSet, ...] = ()
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

    @property
    def rules(self) -> tuple[str, ...]:
        """The rules that apply, as protego normalised them (for logs and tests)."""
        return tuple(_describe(rule) for group in self.groups for rule in group._rules)

    def verdict(self, url_or_path: str) -> RobotsVerdict:
        path = normalize_path(url_or_path)
        if path == "/robots.txt":
            return RobotsVerdict(True, "/robots.txt is always allowed")
        if self.disallow_all:
            return RobotsVerdict(False, f"robots.txt {self.source}: everything disallowed")
        # protego sorts each group longest pattern first, Allow first on a tie, so a
        # group's first hit is its verdict; across merged groups the same order decides.
        hits = [next((r for r in group._rules if r.value.match(path)), None) for group in self.groups]
        best = max((r for r in hits if r), key=lambda r: (r.value.priority, r.field == "allow"), default=None)
        if best is None:
            return RobotsVerdict(True, f"robots.txt {self.source}: no rule matches")
        return RobotsVerdict(best.field == "allow", f"robots.txt rule '{_describe(best)}'")

    def is_allowed(self, url_or_path: str) -> bool:
        return self.verdict(url_or_path).is_allowed


def parse_robots(text: str, *, agent_token: str, robots_url: str = "") -> RobotsPolicy:
    """Parse robots.txt ``text`` with protego for ``agent_token`` (pure; no I/O)."""
    text = text.lstrip("\ufeff")  # protego would read a BOM as part of the first field
    # protego never matches "Disallow: private" (no leading "/"); its owner means "/private".
    parsed = Protego.parse(_PATTERN_WITHOUT_SLASH.sub(r"\1/", text))
    agent_token = agent_token.lower()
    # Group choice is ours: protego's would also apply a group named "news" to "newsmarkets"
    # (a prefix match), and ignores "newsmarkets/1.0"; RFC 9309 wants the product token equal.
    groups = [rs for ua, rs in parsed._user_agents.items() if (m := _TOKEN.match(ua)) and m.group(0) == agent_token]
    if not groups and "*" in parsed._user_agents:
        groups = [parsed._user_agents["*"]]
    delays = [group.crawl_delay for group in groups if group.crawl_delay is not None]
    sitemaps = (urljoin(robots_url, s) if robots_url else s for s in parsed.sitemaps)
    return RobotsPolicy(
        groups=tuple(groups),
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
