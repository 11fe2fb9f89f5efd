"""PoliteFetcher against a real threaded web site on 127.0.0.1 (see sitekit.py).

The site runs on loopback, so fetchers here set allow_private_networks=True
except where the guard itself is under test. Delays are tiny (0.2 s) to keep
the file fast; spacing assertions allow 20 ms of scheduling jitter.
"""

from __future__ import annotations

import gzip
import logging
import socket
from datetime import timezone

import pytest
from sitekit import Hit, LocalSite, Reply

from newsmarkets.news.fetch import FEED_MEDIA_TYPES, PoliteFetcher

UA = "newsmarkets-test/1.0 (+https://example.invalid/bot)"
JITTER_S = 0.02
LAST_MODIFIED = "Mon, 05 Jan 2026 10:00:00 GMT"


@pytest.fixture
def site():
    with LocalSite() as s:
        yield s


def make_fetcher(**overrides) -> PoliteFetcher:
    options = dict(
        user_agent=UA, allowed_domains=["127.0.0.1"], allow_private_networks=True, per_domain_rps=100,
        per_domain_concurrency=2, timeout_s=2, max_retries=2, backoff_base_s=0.05, max_backoff_s=2,
    )
    options.update(overrides)
    return PoliteFetcher(**options)


def html(body: str, head: str = "") -> str:
    return f"<!doctype html><html><head>{head}<title>t</title></head><body>{body}</body></html>"


def start_gaps(hits: list[Hit]) -> list[float]:
    starts = sorted(h.started_at for h in hits)
    return [b - a for a, b in zip(starts, starts[1:])]


def max_overlap(hits: list[Hit]) -> int:
    events = sorted([(h.started_at, 1) for h in hits] + [(h.ended_at, -1) for h in hits])
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


# ----------------------------------------------------------------------------- basics


def test_fetches_html_with_identifying_headers_and_logs(site, caplog):
    site.page("/story", html("Bitcoin rallies"), etag='"v1"', last_modified=LAST_MODIFIED)
    caplog.set_level(logging.INFO, logger="newsmarkets.news")
    with make_fetcher() as fetcher:
        result = fetcher.fetch(site.url("/story#comments"))
    assert result.outcome == "fetched", result.reason
    assert (result.status, result.attempts, result.content_type, result.encoding) == (200, 1, "text/html", "utf-8")
    assert result.html == html("Bitcoin rallies")
    assert result.final_url == site.url("/story")
    assert result.bytes == len(html("Bitcoin rallies").encode())
    assert (result.etag, result.last_modified) == ('"v1"', LAST_MODIFIED)
    assert result.fetched_at.tzinfo is timezone.utc and result.elapsed_s > 0
    assert site.paths() == ["/robots.txt", "/story"]
    for hit in site.hits:
        assert hit.headers["User-Agent"] == UA
        assert hit.host == f"127.0.0.1:{site.port}"
    assert "text/html" in site.hits_for("/story")[0].headers["Accept"]
    assert f"fetch {site.url('/story#comments')} -> fetched (status=200" in caplog.text


def test_robots_rules_for_our_agent_are_obeyed(site):
    site.robots(
        "User-agent: *\nDisallow: /\n\n"
        "User-agent: newsmarkets-test\nDisallow: /private\nAllow: /private/ok$\nDisallow: /*.cgi$\n"
    )
    for path in ("/public", "/private/a", "/private/ok", "/x.cgi"):
        site.page(path, html(path))
    urls = [site.url(p) for p in ("/public", "/private/a", "/private/ok", "/x.cgi")]
    with make_fetcher() as fetcher:
        results = fetcher.fetch_many(urls, max_workers=4)
    assert [r.outcome for r in results] == ["fetched", "robots", "fetched", "robots"]
    assert results[1].reason == "disallowed by robots.txt rule 'Disallow: /private'"
    assert results[1].attempts == 0
    assert sorted(site.paths()) == ["/private/ok", "/public", "/robots.txt"]  # robots.txt once, for all workers


def test_crawl_delay_spaces_requests_one_at_a_time(site):
    site.robots("User-agent: *\nCrawl-delay: 0.2\n")
    for i in range(4):
        site.page(f"/p{i}", html(str(i)), delay_s=0.05)
    with make_fetcher(per_domain_rps=100, per_domain_concurrency=4) as fetcher:
        results = fetcher.fetch_many([site.url(f"/p{i}") for i in range(4)], max_workers=4)
    assert all(r.outcome == "fetched" for r in results)
    assert len(site.hits) == 5
    assert min(start_gaps(site.hits)) >= 0.2 - JITTER_S
    assert site.max_in_flight == 1


def test_per_domain_rate_spaces_requests(site):
    for i in range(4):
        site.page(f"/p{i}", html(str(i)))
    with make_fetcher(per_domain_rps=5, per_domain_concurrency=4) as fetcher:
        results = fetcher.fetch_many([site.url(f"/p{i}") for i in range(4)], max_workers=4)
    assert all(r.outcome == "fetched" for r in results)
    assert len(site.hits) == 5  # robots.txt (404 -> no rules) + 4 pages
    assert min(start_gaps(site.hits)) >= 0.2 - JITTER_S


def test_concurrency_is_capped_per_host(site):
    for i in range(4):
        site.page(f"/slow{i}", html(str(i)), delay_s=0.3)
    urls = [site.url(f"/slow{i}", host=host) for host in ("127.0.0.1", "localhost") for i in range(4)]
    with make_fetcher(allowed_domains=["127.0.0.1", "localhost"], per_domain_concurrency=2) as fetcher:
        results = fetcher.fetch_many(urls, max_workers=8)
    assert all(r.outcome == "fetched" for r in results)
    for host in ("127.0.0.1", "localhost"):
        pages = [h for h in site.hits if h.host.startswith(host) and h.path != "/robots.txt"]
        assert len(pages) == 4
        assert max_overlap(pages) == 2
    assert site.max_in_flight > 2  # the two hosts did run side by side


# ----------------------------------------------------------------------------- errors and retries


@pytest.mark.parametrize("status", [404, 410])
def test_gone_pages_are_not_retried(site, status):
    site.route("/gone", Reply(status=status, body="gone", content_type="text/plain"))
    with make_fetcher() as fetcher:
        result = fetcher.fetch(site.url("/gone"))
    assert (result.outcome, result.status, result.attempts) == ("http_error", status, 1)
    assert result.reason.startswith(f"HTTP {status}")
    assert len(site.hits_for("/gone")) == 1


def test_429_retry_after_is_honoured(site):
    site.route("/busy", Reply(status=429, headers={"Retry-After": "0.4"}), Reply(body=html("ok")))
    with make_fetcher() as fetcher:
        result = fetcher.fetch(site.url("/busy"))
    assert (result.outcome, result.attempts) == ("fetched", 2)
    (gap,) = start_gaps(site.hits_for("/busy"))
    assert gap >= 0.4 - JITTER_S


@pytest.mark.parametrize("retry_after", [None, "0.3"])
def test_503_is_retried_with_backoff(site, retry_after):
    headers = {"Retry-After": retry_after} if retry_after else {}
    site.route("/flaky", Reply(status=503, headers=headers), Reply(body=html("back")))
    with make_fetcher(backoff_base_s=0.2) as fetcher:
        result = fetcher.fetch(site.url("/flaky"))
    assert (result.outcome, result.attempts, result.html) == ("fetched", 2, html("back"))
    (gap,) = start_gaps(site.hits_for("/flaky"))
    assert gap >= (0.3 if retry_after else 0.1) - JITTER_S  # backoff: equal jitter of 0.2 s


def test_retries_give_up_after_max_retries(site):
    site.route("/down", Reply(status=502))
    with make_fetcher(max_retries=2, backoff_base_s=0.01) as fetcher:
        result = fetcher.fetch(site.url("/down"))
    assert (result.outcome, result.status, result.attempts) == ("http_error", 502, 3)
    assert "after 3 attempts" in result.reason
    assert len(site.hits_for("/down")) == 3


def test_long_retry_after_parks_the_host_instead_of_hammering(site):
    site.route("/limited", Reply(status=429, headers={"Retry-After": "120"}))
    site.page("/next", html("next"))
    with make_fetcher(allowed_domains=["127.0.0.1", "localhost"], max_backoff_s=2) as fetcher:
        first = fetcher.fetch(site.url("/limited"))
        second = fetcher.fetch(site.url("/next"))
        other_host = fetcher.fetch(site.url("/next", host="localhost"))
    assert (first.outcome, first.status, first.attempts) == ("http_error", 429, 1)
    assert "Retry-After 120s exceeds max_backoff_s" in first.reason
    assert (second.outcome, second.status, second.attempts) == ("http_error", None, 0)
    assert second.reason.startswith("not requested: 127.0.0.1 asked for a pause")
    assert other_host.outcome == "fetched"
    assert [h.host.split(":")[0] for h in site.hits_for("/next")] == ["localhost"]


def test_slow_page_times_out_and_is_retried(site):
    site.page("/slow", html("late"), delay_s=1.0)
    with make_fetcher(timeout_s=0.3, max_retries=1, backoff_base_s=0.05) as fetcher:
        result = fetcher.fetch(site.url("/slow"))
    assert (result.outcome, result.status, result.attempts) == ("timeout", None, 2)
    assert "timed out after 0.3s" in result.reason
    assert len(site.hits_for("/slow")) == 2


def test_slow_drip_body_hits_the_total_deadline(site):
    # Each chunk arrives well within the read timeout, the whole body does not.
    site.route("/drip", Reply(body=html("x" * 5000), chunk_bytes=1000, chunk_delay_s=0.15))
    with make_fetcher(timeout_s=0.4, max_retries=0) as fetcher:
        result = fetcher.fetch(site.url("/drip"))
    assert (result.outcome, result.status) == ("timeout", 200)
    assert "body not complete within 0.4s" in result.reason


def test_connection_refused_is_an_error_after_retries():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with make_fetcher(max_retries=1, backoff_base_s=0.01) as fetcher:
        result = fetcher.fetch(f"http://127.0.0.1:{port}/x")
    # robots.txt is unreachable too, which RFC 9309 reads as "disallow all".
    assert result.outcome == "robots"
    assert "unreachable" in result.reason and "connection failed" in result.reason


# ----------------------------------------------------------------------------- size and type

BIG = 6_000_000  # well beyond the socket buffers, so an unread body shows as not sent


def test_content_length_over_limit_is_not_downloaded(site):
    site.route("/huge", Reply(body=b"<html>" + b"x" * BIG))
    with make_fetcher(max_bytes=100_000) as fetcher:
        result = fetcher.fetch(site.url("/huge"))
    assert (result.outcome, result.status, result.bytes, result.html) == ("too_large", 200, 0, None)
    assert f"Content-Length {BIG + 6} exceeds max_bytes 100000" in result.reason
    site.wait_idle()
    (hit,) = site.hits_for("/huge")
    assert not hit.body_complete and hit.body_bytes_sent < BIG


def test_streamed_body_over_limit_stops_reading(site):
    site.route("/stream", Reply(body=b"<html>" + b"x" * BIG, chunked=True))
    with make_fetcher(max_bytes=100_000) as fetcher:
        result = fetcher.fetch(site.url("/stream"))
    assert result.outcome == "too_large"
    assert "body exceeds max_bytes 100000" in result.reason
    assert 100_000 < result.bytes <= 100_000 + 16 * 1024
    site.wait_idle()
    (hit,) = site.hits_for("/stream")
    assert not hit.body_complete and hit.body_bytes_sent < BIG


def test_compressed_body_is_capped_after_decompression(site):
    bomb = gzip.compress(b"<html>" + b"\0" * 20_000_000)  # ~20 KB on the wire, 20 MB inflated
    site.route("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    with make_fetcher(max_bytes=1_000_000) as fetcher:
        result = fetcher.fetch(site.url("/bomb"))
    assert result.outcome == "too_large"
    assert 1_000_000 < result.bytes <= 1_000_000 + 16 * 1024


def test_pdf_is_refused_without_downloading_it(site):
    site.route("/report.pdf", Reply(body=b"%PDF-1.7" + b"\0" * BIG, content_type="application/pdf"))
    with make_fetcher() as fetcher:
        result = fetcher.fetch(site.url("/report.pdf"))
    assert (result.outcome, result.content_type, result.bytes) == ("not_html", "application/pdf", 0)
    assert "body not downloaded" in result.reason
    site.wait_idle()
    (hit,) = site.hits_for("/report.pdf")
    assert not hit.body_complete and hit.body_bytes_sent < BIG


def test_xhtml_accepted_and_missing_content_type_sniffed(site):
    site.page("/x", html("xhtml"), content_type="application/xhtml+xml; charset=utf-8")
    site.page("/untyped", html("untyped"), content_type=None)
    site.route("/blob", Reply(body=b"\x89PNG\r\n" + b"\0" * 2000, content_type=None))
    with make_fetcher() as fetcher:
        results = fetcher.fetch_many([site.url("/x"), site.url("/untyped"), site.url("/blob")])
    assert [r.outcome for r in results] == ["fetched", "fetched", "not_html"]
    assert results[0].content_type == "application/xhtml+xml"


def test_feeds_and_sitemaps_can_be_fetched_as_bytes(site):
    rss = b'<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>caf\xe9</title></channel></rss>'
    site.route("/feed.xml", Reply(body=rss, content_type="application/rss+xml"))
    site.route("/sitemap.xml.gz", Reply(body=gzip.compress(b"<urlset/>"), content_type="application/x-gzip"))
    site.page("/page", html("not a feed"))
    with make_fetcher() as fetcher:
        feed, sitemap, page = fetcher.fetch_many(
            [site.url("/feed.xml"), site.url("/sitemap.xml.gz"), site.url("/page")], accept=FEED_MEDIA_TYPES
        )
        with pytest.raises(ValueError, match="accept"):
            fetcher.fetch(site.url("/feed.xml"), accept="application/rss+xml")
    assert (feed.outcome, feed.content, feed.html, feed.content_type) == ("fetched", rss, None, "application/rss+xml")
    assert gzip.decompress(sitemap.content) == b"<urlset/>"
    assert page.outcome == "not_html" and "text/html is not one of application/atom+xml" in page.reason
    assert "application/rss+xml" in site.hits_for("/feed.xml")[0].headers["Accept"]


# ----------------------------------------------------------------------------- charsets

FRENCH = ("Le café coûte 5 € aujourd’hui ; « Très bien », dit-il – c’était l’été à Besançon. "
          "Où est la boîte aux lettres ? Déjà vu, naïve façade, crème brûlée. ") * 2


@pytest.mark.parametrize(
    "content_type, body, encoding",
    [
        # windows-1252 declared only in <meta charset>
        ("text/html", html(FRENCH, '<meta charset="windows-1252">').encode("cp1252"), "cp1252"),
        # ... in the http-equiv form
        ("text/html", html(FRENCH, '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">')
         .encode("cp1252"), "cp1252"),
        # "iso-8859-1" on the web means windows-1252 (smart quotes, euro sign)
        ("text/html; charset=ISO-8859-1", html(FRENCH).encode("cp1252"), "cp1252"),
        # the HTTP header beats a wrong <meta>
        ("text/html; charset=utf-8", html(FRENCH, '<meta charset="windows-1252">').encode("utf-8"), "utf-8"),
        # a byte-order mark beats everything
        ("text/html; charset=iso-8859-1", b"\xef\xbb\xbf" + html(FRENCH).encode("utf-8"), "utf-8"),
        # nothing declared: valid UTF-8
        ("text/html", html(FRENCH).encode("utf-8"), "utf-8"),
        # nothing declared, not UTF-8: charset_normalizer, windows-1252 preferred among equals
        ("text/html", html(FRENCH).encode("cp1252"), "cp1252"),
        # a bogus label is ignored rather than trusted
        ("text/html; charset=rot13", html(FRENCH).encode("utf-8"), "utf-8"),
    ],
    ids=["meta", "http-equiv", "latin1-label", "header-beats-meta", "bom", "undeclared-utf8",
         "undeclared-cp1252", "bogus-label"],
)
def test_charset_detection(site, content_type, body, encoding):
    site.route("/page", Reply(body=body, content_type=content_type))
    with make_fetcher() as fetcher:
        result = fetcher.fetch(site.url("/page"))
    assert result.outcome == "fetched"
    assert result.encoding == encoding
    assert FRENCH in result.html
    assert "\ufeff" not in result.html


# ----------------------------------------------------------------------------- redirects


def test_in_domain_redirects_are_followed(site):
    site.redirect("/old", "/older", status=301)
    site.redirect("/older", site.url("/new"), status=307)
    site.page("/new", html("new home"))
    with make_fetcher() as fetcher:
        result = fetcher.fetch(site.url("/old"))
    assert (result.outcome, result.status, result.attempts) == ("fetched", 200, 3)
    assert result.final_url == site.url("/new") and result.url == site.url("/old")
    assert site.paths() == ["/robots.txt", "/old", "/older", "/new"]


def test_redirect_into_robots_disallowed_path_is_not_followed(site):
    site.robots("User-agent: *\nDisallow: /private\n")
    site.redirect("/teaser", "/private/story")
    site.page("/private/story", html("secret"))
    with make_fetcher() as fetcher:
        result = fetcher.fetch(site.url("/teaser"))
    assert result.outcome == "robots"
    assert result.final_url == site.url("/private/story")
    assert site.hits_for("/private/story") == []


def test_off_domain_redirect_is_reported_not_followed(site):
    target = site.url("/elsewhere", host="localhost")
    site.redirect("/away", target, status=302)
    site.page("/elsewhere", html("elsewhere"))
    with make_fetcher() as fetcher:
        result = fetcher.fetch(site.url("/away"))
    assert (result.outcome, result.status) == ("redirect_offsite", 302)
    assert target in result.reason
    assert site.hits_for("/elsewhere") == []


def test_redirect_loops_and_long_chains_end(site):
    site.redirect("/loop-a", "/loop-b")
    site.redirect("/loop-b", "/loop-a")
    for i in range(6):
        site.redirect(f"/r{i}", f"/r{i + 1}")
    with make_fetcher(max_redirects=3) as fetcher:
        loop, chain = fetcher.fetch_many([site.url("/loop-a"), site.url("/r0")], max_workers=1)
    assert loop.outcome == "error" and loop.reason.startswith("redirect loop: ")
    assert loop.reason.endswith(f"{site.url('/loop-b')} -> {site.url('/loop-a')}")
    assert chain.outcome == "error" and chain.reason.startswith("more than 3 redirects")
    assert [p for p in site.paths() if p[:2] == "/r" and p[2:].isdigit()] == ["/r0", "/r1", "/r2", "/r3"]


@pytest.mark.parametrize(
    "location, fragment",
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "cloud metadata address"),
        ("http://[::ffff:169.254.169.254]/latest/", "cloud metadata address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata host"),
        ("file:///etc/passwd", "scheme 'file'"),
    ],
)
def test_redirect_hops_pass_the_address_guard(site, location, fragment):
    site.redirect("/bounce", location)
    with make_fetcher(allowed_domains=None) as fetcher:
        result = fetcher.fetch(site.url("/bounce"))
    assert result.outcome == "blocked"
    assert fragment in result.reason
    assert result.final_url == location


# ----------------------------------------------------------------------------- conditional GET


def test_conditional_requests_get_not_modified(site):
    site.page("/cond", html("v1"), etag='"v1"', last_modified=LAST_MODIFIED)
    url = site.url("/cond")
    with make_fetcher() as fetcher:
        first = fetcher.fetch(url)
    with make_fetcher(conditional={url: (first.etag, first.last_modified)}) as fetcher:
        second = fetcher.fetch(url)
    with make_fetcher(conditional={url: (None, LAST_MODIFIED)}) as fetcher:
        by_date = fetcher.fetch(url)
    with make_fetcher(conditional={url: ('"v0"', None)}) as fetcher:
        stale = fetcher.fetch(url)
    assert first.outcome == "fetched" and "If-None-Match" not in site.hits_for("/cond")[0].headers
    assert (second.outcome, second.status, second.html, second.etag) == ("not_modified", 304, None, '"v1"')
    hit = site.hits_for("/cond")[1]
    assert (hit.headers["If-None-Match"], hit.headers["If-Modified-Since"]) == ('"v1"', LAST_MODIFIED)
    assert (by_date.outcome, by_date.last_modified) == ("not_modified", LAST_MODIFIED)
    assert "If-None-Match" not in site.hits_for("/cond")[2].headers
    assert (stale.outcome, stale.html) == ("fetched", html("v1"))


# ----------------------------------------------------------------------------- robots.txt fetching


def test_robots_server_error_disallows_everything(site):
    site.route("/robots.txt", Reply(status=500))
    site.page("/news", html("news"))
    with make_fetcher(max_retries=1, backoff_base_s=0.01) as fetcher:
        result = fetcher.fetch(site.url("/news"))
    assert result.outcome == "robots"
    assert "HTTP 500" in result.reason and "everything disallowed" in result.reason
    assert site.paths() == ["/robots.txt", "/robots.txt"]  # retried once, the page never requested


def test_robots_redirect_is_followed_and_sitemaps_exposed(site):
    site.redirect("/robots.txt", "/real-robots.txt")
    site.route("/real-robots.txt", Reply(
        body="User-agent: *\nDisallow: /drafts\nSitemap: /sitemap.xml\nSitemap: https://cdn.example/news.xml\n",
        content_type="text/plain",
    ))
    site.page("/drafts/1", html("draft"))
    with make_fetcher() as fetcher:
        result = fetcher.fetch(site.url("/drafts/1"))
        sitemaps = fetcher.robots_sitemaps(f"127.0.0.1:{site.port}")
        same = fetcher.robots_sitemaps(site.url(""))
    assert result.outcome == "robots"
    assert sitemaps == same == [site.url("/sitemap.xml"), "https://cdn.example/news.xml"]
    assert site.paths() == ["/robots.txt", "/real-robots.txt"]


# ----------------------------------------------------------------------------- batches and the guard


def test_fetch_many_keeps_order_and_requests_each_url_once(site):
    for name in "abc":
        site.page(f"/{name}", html(name))
    urls = [site.url("/c"), site.url("/a"), site.url("/b"), site.url("/a")]
    with make_fetcher() as fetcher:
        results = fetcher.fetch_many(urls, max_workers=3)
    assert [r.url for r in results] == urls
    assert [r.html for r in results] == [html("c"), html("a"), html("b"), html("a")]
    assert results[1] is not results[3]
    assert len(site.hits_for("/a")) == 1


def test_private_addresses_blocked_unless_allowed(site):
    site.page("/a", html("a"))
    with make_fetcher(allow_private_networks=False) as fetcher:
        results = fetcher.fetch_many([site.url("/a"), site.url("/a", host="localhost"), "http://2130706433/"])
    assert [r.outcome for r in results] == ["blocked", "blocked", "blocked"]
    assert "127.0.0.1 is a loopback" in results[0].reason
    assert results[1].reason == "host localhost is not in allowed_domains"
    assert site.hits == []  # not even robots.txt


def test_bad_urls_are_reported_not_raised():
    with make_fetcher() as fetcher:
        results = fetcher.fetch_many(["not a url", "ftp://127.0.0.1/x", "http://[::1"])
    assert [r.outcome for r in results] == ["blocked", "blocked", "blocked"]


def test_constructor_rejects_bad_settings():
    with pytest.raises(ValueError, match="per_domain_rps"):
        make_fetcher(per_domain_rps=0)
    with pytest.raises(ValueError, match="allowed_domains"):
        make_fetcher(allowed_domains=["https://news.example"])
    with pytest.raises(ValueError, match="user_agent"):
        make_fetcher(user_agent="bot\r\nX-Injected: 1")
    with pytest.raises(ValueError, match=r"conditional\['http://a.test/'\]"):
        make_fetcher(conditional={"http://a.test/": "etag"})
