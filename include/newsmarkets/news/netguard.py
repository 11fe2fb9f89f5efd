"""Keep the news fetcher away from addresses it must never touch (SSRF guard).

Users point the fetcher at arbitrary URLs, and the pages it fetches choose
where redirects go, so every URL is checked before a request and every
connection is checked again when it is opened:

* :func:`check_url` -- scheme, credentials, allowed domains, then the DNS
  answer: private, loopback, link-local, multicast, reserved, unspecified,
  CGNAT and cloud-metadata addresses are refused (IPv4, IPv6, IPv4 embedded in
  IPv6, and the decimal/octal/hex IPv4 spellings resolvers accept).
* :class:`GuardedAdapter` / :func:`guarded_session` -- a ``requests`` transport
  that resolves the host itself, validates every address and connects to that
  exact address, so a DNS answer that changes between the check and the
  connect (DNS rebinding) is caught too.

Cloud metadata endpoints are refused even with ``allow_private_networks``:
that switch exists for the replay world on 127.0.0.1 and intranet test sites,
no news page lives on a metadata service, and on a cloud worker one request
there hands out the machine's credentials.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
from dataclasses import dataclass
from typing import Collection, Iterable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})

# Names and addresses of instance-metadata services (AWS, GCP, Azure, Alibaba,
# ECS). All of IPv4 link-local is included because clouds keep adding
# services there (AWS DNS .253, time .123, ECS 169.254.170.2).
METADATA_HOSTNAMES = frozenset({
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
})
METADATA_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "169.254.0.0/16",  # IPv4 link-local: AWS/GCP/Azure/Oracle IMDS, ECS task metadata
        "168.63.129.16/32",  # Azure WireServer (a public address)
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "fd00:ec2::/64",  # AWS IMDS over IPv6 (fd00:ec2::254) and friends
    )
)
CGNAT_NETWORK = ipaddress.ip_network("100.64.0.0/10")
_NAT64_NETWORK = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

# A host made only of digits, dots, and hex markers is an IPv4 address in some
# spelling (WHATWG URL "ends in a number"); resolvers accept 2130706433,
# 0x7f.1 and 0177.0.0.1, so we parse them the same way instead of guessing.
_NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$", re.IGNORECASE)


class BlockedURLError(Exception):
    """The URL (or the address it resolves to) must not be fetched; ``reason`` says why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"refusing {url}: {reason}")
        self.url = url
        self.reason = reason


class HostResolutionError(BlockedURLError):
    """DNS gave no answer, so the address cannot be vetted (fail closed; usually transient)."""


@dataclass(frozen=True)
class ResolvedAddress:
    family: int
    sockaddr: tuple
    ip: IPAddress


# --------------------------------------------------------------------------- hosts


def normalize_host(host: str) -> str:
    """Lower-case, no trailing dot, IDNA (punycode) for non-ASCII names; IPv6 without brackets."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if host and not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass  # left as is; it will not resolve and cannot match an allowed domain
    return host


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host names literally, in any spelling resolvers accept; None for DNS names.

    Raises :class:`ValueError` for hosts that look numeric but are no address
    (``1.2.3.4.5``), which browsers reject and resolvers treat inconsistently.
    """
    host = normalize_host(host)
    if "%" in host and ":" in host:  # IPv6 zone id (fe80::1%eth0 / %25eth0)
        host = host.split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    labels = host.split(".")
    if not labels or not _NUMERIC_LABEL.match(labels[-1]):
        return None
    if not _NUMERIC_HOST.match(host):
        raise ValueError(f"host {host!r} ends in a number but is not an IPv4 address")
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        raise ValueError(f"host {host!r} is not a valid IPv4 address") from None


def normalize_domains(domains: Iterable[str] | None) -> frozenset[str] | None:
    """Validate ``allowed_domains`` entries (bare host names or IPs); None means "no restriction"."""
    if domains is None:
        return None
    if isinstance(domains, str):
        raise ValueError("allowed_domains: expected a collection of host names, got a single string")
    normalized = set()
    for entry in domains:
        if not isinstance(entry, str) or not entry.strip():
            raise ValueError(f"allowed_domains: {entry!r} is not a host name")
        host = entry.strip().lower()
        if host.startswith("*."):
            host = host[2:]
        host = host.lstrip(".")
        if "/" in host or "@" in host or (":" in host and not _is_ipv6(host)):
            raise ValueError(f"allowed_domains: {entry!r} must be a bare host name (no scheme, port or path)")
        normalized.add(normalize_host(host))
    return frozenset(normalized)


def _is_ipv6(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host.strip("[]")), ipaddress.IPv6Address)
    except ValueError:
        return False


def host_is_allowed(host: str, allowed_domains: Collection[str] | None) -> bool:
    """True when ``host`` equals an allowed domain or is a subdomain of one (IPs: equal only)."""
    if allowed_domains is None:
        return True
    host = normalize_host(host)
    try:
        host_ip = parse_ip_literal(host)
    except ValueError:
        return False
    for domain in normalize_domains(allowed_domains) or ():
        try:
            domain_ip = parse_ip_literal(domain)
        except ValueError:
            continue
        if host_ip is not None or domain_ip is not None:
            # No suffix matching for addresses: "evil.127.0.0.1" is no subdomain of 127.0.0.1.
            if host_ip is not None and host_ip == domain_ip:
                return True
            continue
        if host == domain or host.endswith("." + domain):
            return True
    return False


# --------------------------------------------------------------------------- addresses


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64_NETWORK or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_metadata_address(ip: IPAddress) -> bool:
    embedded = _embedded_ipv4(ip)
    if embedded is not None and is_metadata_address(embedded):
        return True
    return any(ip.version == net.version and ip in net for net in METADATA_NETWORKS)


def address_block_reason(ip: IPAddress, *, allow_private_networks: bool) -> str | None:
    """Why connecting to ``ip`` is refused, or None when it is allowed."""
    if is_metadata_address(ip):
        return f"{ip} is a cloud metadata address (refused even with allow_private_networks)"
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        inner = address_block_reason(embedded, allow_private_networks=allow_private_networks)
        if inner is not None:
            return f"{ip} embeds IPv4 {inner}"
    if allow_private_networks:
        return None
    if ip.is_unspecified:
        kind = "unspecified"
    elif ip.is_loopback:
        kind = "loopback"
    elif ip.is_link_local:
        kind = "link-local"
    elif ip.is_multicast:
        kind = "multicast"
    elif ip.version == 4 and ip in CGNAT_NETWORK:
        kind = "carrier-grade NAT (100.64.0.0/10)"
    elif ip.is_private:
        kind = "private"
    elif ip.is_reserved:
        kind = "reserved"
    elif not ip.is_global:
        kind = "not globally routable"
    else:
        return None
    return f"{ip} is a {kind} address (set allow_private_networks only for local test worlds)"


def resolve_host(host: str, port: int) -> list[ResolvedAddress]:
    """Every address ``host`` resolves to, literal spellings parsed locally.

    Raises :class:`socket.gaierror` when DNS has no answer and
    :class:`ValueError` for malformed numeric hosts.
    """
    literal = parse_ip_literal(host)
    if literal is not None:
        if literal.version == 4:
            return [ResolvedAddress(socket.AF_INET, (str(literal), port), literal)]
        return [ResolvedAddress(socket.AF_INET6, (str(literal), port, 0, 0), literal)]
    answers = socket.getaddrinfo(normalize_host(host), port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    resolved = []
    for family, _type, _proto, _canon, sockaddr in answers:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        resolved.append(ResolvedAddress(family, sockaddr, ip))
    if not resolved:
        raise socket.gaierror(socket.EAI_NONAME, f"no addresses for {host}")
    return resolved


def vet_addresses(url: str, addresses: Iterable[ResolvedAddress], *, allow_private_networks: bool) -> None:
    """Refuse if any address is refused: a name that answers with both a public and a
    private address is either misconfigured or an attack, and we cannot choose which
    one the next connection gets."""
    for address in addresses:
        reason = address_block_reason(address.ip, allow_private_networks=allow_private_networks)
        if reason is not None:
            raise BlockedURLError(url, reason)


# --------------------------------------------------------------------------- URLs


def check_url(url: str, *, allow_private_networks: bool, allowed_domains: Collection[str] | None) -> None:
    """Raise :class:`BlockedURLError` unless ``url`` may be fetched.

    Checks, in order: http(s) scheme, no credentials, a host, not a metadata
    name, inside ``allowed_domains`` (exact or subdomain; None = any), and every
    DNS answer acceptable. DNS failures raise :class:`HostResolutionError`.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedURLError(url, f"malformed URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BlockedURLError(url, f"scheme {scheme or '(none)'!r} is not http or https")
    if parts.username is not None or parts.password is not None:
        raise BlockedURLError(url, "URL carries credentials (user:password@host)")
    host = normalize_host(parts.hostname or "")
    if not host:
        raise BlockedURLError(url, "URL has no host")
    if host in METADATA_HOSTNAMES:
        raise BlockedURLError(url, f"{host} is a cloud metadata host (refused even with allow_private_networks)")
    if not host_is_allowed(host, allowed_domains):
        raise BlockedURLError(url, f"host {host} is not in allowed_domains")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = resolve_host(host, port)
    except ValueError as exc:
        raise BlockedURLError(url, str(exc)) from None
    except (socket.gaierror, UnicodeError) as exc:
        raise HostResolutionError(url, f"cannot resolve {host}: {exc}") from None
    vet_addresses(url, addresses, allow_private_networks=allow_private_networks)


# --------------------------------------------------------------------------- transport


class _GuardedConnectionMixin:
    """Resolve, vet and connect to the vetted address itself (no second lookup to rebind).

    TLS still verifies the certificate against the host name: only the
    socket's destination is pinned, not the identity the server must prove.
    """

    allow_private_networks: bool = False

    def _new_conn(self) -> socket.socket:  # overrides urllib3's resolver+connect step
        host, port = self._dns_host, self.port  # type: ignore[attr-defined]
        shown = f"{getattr(self, 'scheme', 'http')}://{host}:{port}"
        try:
            addresses = resolve_host(host, port)
        except ValueError as exc:
            raise BlockedURLError(shown, str(exc)) from None
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type,attr-defined]
        vet_addresses(shown, addresses, allow_private_networks=self.allow_private_networks)
        last_error: OSError | None = None
        for address in addresses:
            sock = socket.socket(address.family, socket.SOCK_STREAM)
            try:
                for option in self.socket_options or ():  # type: ignore[attr-defined]
                    sock.setsockopt(*option)
                timeout = self.timeout  # type: ignore[attr-defined]
                if timeout is None or isinstance(timeout, (int, float)):
                    sock.settimeout(timeout)
                if self.source_address:  # type: ignore[attr-defined]
                    sock.bind(self.source_address)  # type: ignore[attr-defined]
                sock.connect(address.sockaddr)
            except socket.timeout as exc:
                sock.close()
                raise ConnectTimeoutError(
                    self, f"Connection to {host} ({address.ip}) timed out. (connect timeout={self.timeout})"  # type: ignore[attr-defined]
                ) from exc
            except OSError as exc:
                sock.close()
                last_error = exc
                continue
            sys.audit("http.client.connect", self, self.host, self.port)  # type: ignore[attr-defined]
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")  # type: ignore[arg-type]


def _pool_classes(allow_private_networks: bool) -> dict[str, type]:
    attrs = {"allow_private_networks": allow_private_networks}
    http_conn = type("GuardedHTTPConnection", (_GuardedConnectionMixin, HTTPConnection), attrs)
    https_conn = type("GuardedHTTPSConnection", (_GuardedConnectionMixin, HTTPSConnection), attrs)
    return {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }


_POOL_CLASSES = {flag: _pool_classes(flag) for flag in (False, True)}


class GuardedAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections vet the address they connect to.

    Proxies are refused: behind a proxy the guard would vet the proxy, not the
    site, and the check would silently mean nothing.
    """

    def __init__(self, *, allow_private_networks: bool, **kwargs) -> None:
        self.allow_private_networks = bool(allow_private_networks)
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs) -> None:
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES[self.allow_private_networks]

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise BlockedURLError(proxy, "proxies are not supported: the address guard cannot see past them")


def guarded_session(*, allow_private_networks: bool, pool_maxsize: int = 10) -> requests.Session:
    """A ``requests.Session`` that only talks to vetted addresses.

    ``trust_env`` is off so proxy variables cannot bypass the guard and
    ``.netrc`` credentials are never sent to the sites we crawl.
    """
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter(
        allow_private_networks=allow_private_networks, pool_connections=32, pool_maxsize=max(1, pool_maxsize)
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
