"""The SSRF guard: URL checks, address classes, and the connect-time check against a real server."""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from newsmarkets.news.netguard import (
    BlockedURLError,
    HostResolutionError,
    address_block_reason,
    check_url,
    guarded_session,
    host_is_allowed,
    normalize_domains,
    parse_ip_literal,
)


def blocked_reason(url: str, *, allow_private_networks: bool = False, allowed_domains=None) -> str:
    with pytest.raises(BlockedURLError) as info:
        check_url(url, allow_private_networks=allow_private_networks, allowed_domains=allowed_domains)
    assert info.value.url == url
    return info.value.reason


class RecordingServer:
    """A real HTTP server on 127.0.0.1 that answers 200 and counts requests."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with RecordingServer() as srv:
        yield srv


# ----------------------------------------------------------------------------- URL shape


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("ftp://example.com/file", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("gopher://127.0.0.1:6379/_INFO", "scheme 'gopher'"),
        ("//example.com/no-scheme", "scheme '(none)'"),
        ("http:///no-host", "no host"),
        ("http://user:secret@93.184.216.34/", "credentials"),
        ("http://93.184.216.34:99999/", "malformed URL"),
    ],
)
def test_refuses_bad_url_shapes(url, fragment):
    assert fragment in blocked_reason(url, allow_private_networks=True)


# ----------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    "url, kind",
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.8.9.10:8080/x", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://100.127.255.254/", "carrier-grade NAT"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "240.0.0.1 is a"),  # reserved; some Pythons file it under private
        ("http://[::1]/", "loopback"),
        ("http://[::]/", "unspecified"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fe80::1%25eth0]/", "link-local"),
        ("http://[fc00::1]/", "private"),
        ("http://[ff02::1]/", "multicast"),
        # IPv4 hiding inside IPv6
        ("http://[::ffff:127.0.0.1]/", "embeds IPv4 127.0.0.1 is a loopback"),
        ("http://[::ffff:7f00:1]/", "embeds IPv4 127.0.0.1 is a loopback"),
        ("http://[::ffff:10.0.0.1]/", "embeds IPv4 10.0.0.1 is a private"),
        ("http://[64:ff9b::a00:1]/", "embeds IPv4 10.0.0.1 is a private"),  # NAT64
        ("http://[2002:7f00:1::1]/", "embeds IPv4 127.0.0.1 is a loopback"),  # 6to4
        # the IPv4 spellings resolvers accept
        ("http://2130706433/", "127.0.0.1 is a loopback"),
        ("http://0x7f.1/", "127.0.0.1 is a loopback"),
        ("http://0x7f000001/", "127.0.0.1 is a loopback"),
        ("http://0177.0.0.1/", "127.0.0.1 is a loopback"),
        ("http://017700000001/", "127.0.0.1 is a loopback"),
        ("http://127.1/", "127.0.0.1 is a loopback"),
        ("http://0xA.0x0.0x0.0x1/", "10.0.0.1 is a private"),
        ("http://3232235777/", "192.168.1.1 is a private"),
    ],
)
def test_refuses_non_public_literals(url, kind):
    assert kind in blocked_reason(url)


@pytest.mark.parametrize(
    "url", ["http://1.2.3.4.5/", "http://0x7g.1/", "http://256.256.256.256/", "http://foo.123/"]
)
def test_refuses_malformed_numeric_hosts(url):
    reason = blocked_reason(url, allow_private_networks=True)
    assert "IPv4" in reason


@pytest.mark.parametrize("url", ["http://93.184.216.34/", "https://[2606:2800:220:1::]/", "http://1.1.1.1:8080/a?b=c"])
def test_public_literals_pass_without_dns(url):
    check_url(url, allow_private_networks=False, allowed_domains=None)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.170.2/v2/credentials",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://0xa9fea9fe/",  # 169.254.169.254 in hex
        "http://2852039166/",  # ... and in decimal
        "http://100.100.100.200/latest/meta-data/",
        "http://168.63.129.16/machine",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal./computeMetadata/v1/",
    ],
)
def test_metadata_endpoints_refused_even_when_private_networks_allowed(url):
    assert "metadata" in blocked_reason(url, allow_private_networks=True)


def test_private_networks_allowed_when_asked():
    for url in ("http://127.0.0.1:8765/x", "http://10.0.0.1/", "http://[::1]/", "http://[::ffff:127.0.0.1]/"):
        check_url(url, allow_private_networks=True, allowed_domains=None)


# ----------------------------------------------------------------------------- names


def test_localhost_resolves_to_loopback_and_is_refused():
    assert "loopback" in blocked_reason("http://localhost:8765/news")
    check_url("http://localhost:8765/news", allow_private_networks=True, allowed_domains=["localhost"])


def test_unresolvable_name_fails_closed():
    with pytest.raises(HostResolutionError, match="cannot resolve no-such-host.invalid"):
        check_url("http://no-such-host.invalid/", allow_private_networks=True, allowed_domains=None)


def fake_dns(monkeypatch, answers: dict[str, list[list[str]]]):
    """Answer getaddrinfo for the given names with successive address lists (there is no DNS here)."""
    real = socket.getaddrinfo
    calls: dict[str, int] = {}

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host not in answers:
            return real(host, port, family, type, proto, flags)
        n = calls.get(host, 0)
        calls[host] = n + 1
        addresses = answers[host][min(n, len(answers[host]) - 1)]
        out = []
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if ip.version == 4:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
            else:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
        return out

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


def test_dns_answers_are_vetted(monkeypatch):
    fake_dns(monkeypatch, {
        "news.example": [["93.184.216.34"]],
        "intranet.example": [["10.20.30.40"]],
        "mixed.example": [["93.184.216.34", "192.168.0.10"]],
        "mapped.example": [["::ffff:127.0.0.1"]],
        "imds.example": [["169.254.169.254"]],
    })
    check_url("https://news.example/a", allow_private_networks=False, allowed_domains=["example"])
    assert "10.20.30.40 is a private" in blocked_reason("http://intranet.example/")
    assert "192.168.0.10 is a private" in blocked_reason("http://mixed.example/")
    assert "loopback" in blocked_reason("http://mapped.example/")
    assert "metadata" in blocked_reason("http://imds.example/", allow_private_networks=True)


# ----------------------------------------------------------------------------- allowed domains


def test_allowed_domains_exact_or_subdomain():
    domains = ["Example.com", "127.0.0.1", "news.org."]
    assert host_is_allowed("example.com", domains)
    assert host_is_allowed("www.EXAMPLE.com.", domains)
    assert host_is_allowed("a.b.example.com", domains)
    assert host_is_allowed("news.org", domains)
    assert not host_is_allowed("evilexample.com", domains)
    assert not host_is_allowed("example.com.evil.net", domains)
    assert not host_is_allowed("org", domains)
    assert host_is_allowed("127.0.0.1", domains)
    assert host_is_allowed("2130706433", domains)  # the same address, spelled differently
    assert not host_is_allowed("evil.127.0.0.1", domains)
    assert not host_is_allowed("127.0.0.2", domains)
    assert host_is_allowed("anything.test", None)


def test_allowed_domains_enforced_before_dns():
    reason = blocked_reason("http://localhost:8765/", allow_private_networks=True, allowed_domains=["127.0.0.1"])
    assert reason == "host localhost is not in allowed_domains"


@pytest.mark.parametrize("entry", ["https://example.com", "example.com:8080", "example.com/news", "", "user@example.com"])
def test_allowed_domains_must_be_bare_hosts(entry):
    with pytest.raises(ValueError, match="allowed_domains"):
        normalize_domains([entry])


def test_allowed_domains_single_string_is_a_mistake():
    with pytest.raises(ValueError, match="single string"):
        normalize_domains("example.com")


def test_parse_ip_literal_leaves_names_alone():
    assert parse_ip_literal("example.com") is None
    assert parse_ip_literal("1password.com") is None
    assert str(parse_ip_literal("0x7f.1")) == "127.0.0.1"


def test_address_reasons():
    ip = ipaddress.ip_address
    assert address_block_reason(ip("8.8.8.8"), allow_private_networks=False) is None
    assert address_block_reason(ip("2001:4860:4860::8888"), allow_private_networks=False) is None
    assert address_block_reason(ip("192.0.2.1"), allow_private_networks=False) is not None  # TEST-NET-1
    assert address_block_reason(ip("127.0.0.1"), allow_private_networks=True) is None


# ----------------------------------------------------------------------------- the transport


def test_guarded_session_refuses_private_address_at_connect(server):
    session = guarded_session(allow_private_networks=False)
    with pytest.raises(BlockedURLError, match="127.0.0.1 is a loopback"):
        session.get(f"http://127.0.0.1:{server.port}/secret", timeout=5)
    with pytest.raises(BlockedURLError, match="loopback"):
        session.get(f"http://localhost:{server.port}/secret", timeout=5)
    assert server.paths == []
    allowed = guarded_session(allow_private_networks=True)
    assert allowed.get(f"http://127.0.0.1:{server.port}/fine", timeout=5).text == "ok"
    assert server.paths == ["/fine"]


def test_guarded_https_connections_are_vetted_too(server):
    # The plain-HTTP server cannot speak TLS: reaching the handshake proves the
    # allowed session connected, while the guarded one never opened a socket.
    with pytest.raises(BlockedURLError, match="loopback"):
        guarded_session(allow_private_networks=False).get(f"https://127.0.0.1:{server.port}/", timeout=5)
    with pytest.raises(requests.exceptions.SSLError):
        guarded_session(allow_private_networks=True).get(f"https://127.0.0.1:{server.port}/", timeout=5)
    assert server.paths == []


def test_guarded_session_defeats_dns_rebinding(monkeypatch, server):
    # First answer public (the check passes), then the name flips to 127.0.0.1.
    fake_dns(monkeypatch, {"rebind.example": [["93.184.216.34"], ["127.0.0.1"]]})
    url = f"http://rebind.example:{server.port}/admin"
    check_url(url, allow_private_networks=False, allowed_domains=["rebind.example"])
    with pytest.raises(BlockedURLError, match="127.0.0.1 is a loopback"):
        guarded_session(allow_private_networks=False).get(url, timeout=5)
    assert server.paths == []
    # The attack is real: an unguarded session follows the new answer to the local server.
    assert requests.get(url, timeout=5).text == "ok"
    assert server.paths == ["/admin"]


def test_guarded_session_refuses_proxies(server):
    session = guarded_session(allow_private_networks=True)
    with pytest.raises(BlockedURLError, match="proxies are not supported"):
        session.get(f"http://127.0.0.1:{server.port}/", proxies={"http": "http://10.0.0.1:3128"}, timeout=5)
    assert server.paths == []


def test_guarded_session_ignores_proxy_environment(monkeypatch, server):
    monkeypatch.setenv("HTTP_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "")
    session = guarded_session(allow_private_networks=True)
    assert session.get(f"http://127.0.0.1:{server.port}/direct", timeout=5).text == "ok"
    assert server.paths == ["/direct"]
