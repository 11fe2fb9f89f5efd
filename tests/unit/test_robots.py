"""robots.txt parsing and matching (RFC 9309), pure functions only."""

from __future__ import annotations

import pytest

from newsmarkets.news.robots import (
    RobotsCache,
    RobotsPolicy,
    RobotsResponse,
    normalize_path,
    parse_robots,
    policy_from_response,
    robots_url_for,
    user_agent_token,
)

AGENT = "newsmarkets"


def policy(text: str, agent: str = AGENT) -> RobotsPolicy:
    return parse_robots(text, agent_token=agent, robots_url="https://news.example/robots.txt")


def test_user_agent_token():
    assert user_agent_token("newsmarkets/0.1 (+https://github.com/newsmarkets/newsmarkets)") == "newsmarkets"
    assert user_agent_token("News_Bot-2") == "news_bot-"
    with pytest.raises(ValueError, match="product token"):
        user_agent_token("/0.1")


def test_longest_match_wins_and_allow_wins_ties():
    p = policy("""
User-agent: *
Disallow: /news
Allow: /news/public
Disallow: /news/public/drafts
Allow: /tie
Disallow: /tie
""")
    assert not p.is_allowed("/news/x")
    assert p.is_allowed("/news/public/story")
    assert not p.is_allowed("/news/public/drafts/1")
    assert p.is_allowed("/tie/x")  # equal length: Allow
    assert p.is_allowed("/other")
    assert p.verdict("/news/x").reason == "robots.txt rule 'Disallow: /news'"


def test_order_does_not_matter_unlike_first_match_parsers():
    p = policy("User-agent: *\nDisallow: /\nAllow: /news/\n")
    assert p.is_allowed("/news/story")
    assert not p.is_allowed("/about")


def test_wildcards_and_end_anchor():
    p = policy("""
User-agent: *
Disallow: /*.pdf$
Disallow: /*?session=
Disallow: /archive/*/print
Allow: /archive/2024/print$
Disallow: /exact$
""")
    assert not p.is_allowed("/files/report.pdf")
    assert p.is_allowed("/files/report.pdf?download=1")
    assert p.is_allowed("/files/report.pdfx")
    assert not p.is_allowed("/story?session=abc")
    assert p.is_allowed("/story?x=1&session=abc")  # the rule wants "?session=" literally
    assert p.is_allowed("/story?sess=abc")
    assert not p.is_allowed("/archive/2023/print")
    assert not p.is_allowed("/archive/a/b/print/page")
    assert p.is_allowed("/archive/2024/print")
    assert not p.is_allowed("/archive/2024/print/2")
    assert not p.is_allowed("/exact")
    assert p.is_allowed("/exact/more")


def test_full_urls_are_matched_on_path_and_query():
    p = policy("User-agent: *\nDisallow: /search?\n")
    assert not p.is_allowed("https://news.example/search?q=btc")
    assert p.is_allowed("https://news.example/search")
    assert p.is_allowed("https://news.example")  # empty path is "/"


def test_our_group_beats_star_and_groups_merge():
    text = """
User-agent: *
Disallow: /

User-agent: OtherBot
User-agent: NewsMarkets
Disallow: /private
Crawl-delay: 2

User-agent: newsmarkets-extended
Disallow: /extended

user-agent: newsmarkets
disallow: /also
"""
    p = policy(text)
    assert p.is_allowed("/news")
    assert not p.is_allowed("/private/x")
    assert not p.is_allowed("/also")
    assert p.is_allowed("/extended")  # a different product token
    assert p.crawl_delay_s == 2.0
    star = policy(text, agent="somebot")
    assert not star.is_allowed("/news")
    assert star.crawl_delay_s is None


def test_no_matching_group_means_no_rules():
    p = policy("User-agent: otherbot\nDisallow: /\n")
    assert p.is_allowed("/anything")


def test_empty_disallow_allows_and_rules_outside_groups_are_ignored():
    p = policy("Disallow: /ignored\nUser-agent: *\nDisallow:\n")
    assert p.is_allowed("/ignored")
    assert p.rules == ()


def test_comments_bom_crlf_unknown_lines_and_case():
    text = "\ufeffUSER-AGENT: *   # everyone\r\nNoindex: /x\r\nDISALLOW: /tmp # temp\r\nthis line is junk\r\n"
    p = policy(text)
    assert not p.is_allowed("/tmp/file")
    assert p.is_allowed("/x")


def test_crawl_delay_values():
    assert policy("User-agent: *\nCrawl-delay: 0.25\n").crawl_delay_s == 0.25
    assert policy("User-agent: *\nCrawl-delay: soon\n").crawl_delay_s is None
    assert policy("User-agent: *\nCrawl-delay: -3\n").crawl_delay_s is None
    assert policy("User-agent: *\nCrawl-delay: 1\nCrawl-delay: 5\n").crawl_delay_s == 5.0


def test_sitemaps_collected_from_anywhere_and_resolved():
    p = policy("Sitemap: https://news.example/sitemap.xml\nUser-agent: *\nDisallow: /x\nSitemap: /news-sitemap.xml\n"
               "Sitemap: https://news.example/sitemap.xml\n")
    assert p.sitemaps == ("https://news.example/sitemap.xml", "https://news.example/news-sitemap.xml")


def test_percent_encoding_is_normalized():
    assert normalize_path("/foo/bar/%62%61%7A") == "/foo/bar/baz"
    assert normalize_path("/a%2fb") == "/a%2Fb"  # reserved stays encoded
    assert normalize_path("/foo/bar/ツ") == "/foo/bar/%E3%83%84"
    p = policy("User-agent: *\nDisallow: /foo/bar/ツ\nDisallow: /%7Euser\n")
    assert not p.is_allowed("/foo/bar/%E3%83%84")
    assert not p.is_allowed("/~user/page")


def test_robots_txt_itself_is_always_allowed():
    p = policy("User-agent: *\nDisallow: /\n")
    assert p.is_allowed("/robots.txt")
    assert RobotsPolicy.disallow_everything("x").is_allowed("https://news.example/robots.txt")


@pytest.mark.parametrize(
    "status, allowed",
    [(404, True), (410, True), (401, True), (403, True), (429, False), (500, False), (503, False), (None, False)],
)
def test_status_semantics(status, allowed):
    response = RobotsResponse("https://news.example/robots.txt", status, b"User-agent: *\nDisallow: /\n",
                              error=None if status else "connection refused")
    assert policy_from_response(response, agent_token=AGENT).is_allowed("/news") is allowed


def test_2xx_body_parsed_and_capped():
    body = b"User-agent: *\nDisallow: /a\n" + b"#" * (600 * 1024) + b"\nDisallow: /b\n"
    p = policy_from_response(RobotsResponse("https://news.example/robots.txt", 200, body), agent_token=AGENT)
    assert not p.is_allowed("/a")
    assert p.is_allowed("/b")  # beyond the 500 KiB we parse


def test_robots_url_for():
    assert robots_url_for("HTTPS://News.Example:8443/a/b?c#d") == "https://news.example:8443/robots.txt"
    assert robots_url_for("http://user:pw@host/x") == "http://host/robots.txt"


def test_cache_fetches_once_per_origin():
    seen = []

    def fetch(url):
        seen.append(url)
        return RobotsResponse(url, 200, b"User-agent: *\nDisallow: /x\n")

    cache = RobotsCache(fetch, agent_token=AGENT)
    assert not cache.policy_for("http://a.test/x/1").is_allowed("/x/1")
    cache.policy_for("http://a.test/y")
    cache.policy_for("https://a.test/y")
    assert seen == ["http://a.test/robots.txt", "https://a.test/robots.txt"]


# protego (issue 15): cases it gets right, and the places we steer around it.


def test_escapes_of_any_character_compare_equal_to_the_character():
    p = policy("User-agent: *\nDisallow: /a%3cb\nDisallow: /caf%C3%A9\n")
    assert not p.is_allowed("/a<b")  # the hand-written matcher missed this one
    assert not p.is_allowed("/a%3Cb")
    assert not p.is_allowed("/café/menu")


def test_group_named_by_a_prefix_of_our_token_does_not_apply():
    p = policy("User-agent: news\nDisallow: /\n\nUser-agent: *\nDisallow: /star\n")
    assert p.is_allowed("/x")  # protego alone would apply "news" to "newsmarkets"
    assert not p.is_allowed("/star")


def test_versioned_group_name_matches_our_product_token():
    p = policy("User-agent: NewsMarkets/1.0\nDisallow: /a\n\nUser-agent: *\nDisallow: /\n")
    assert not p.is_allowed("/a")
    assert p.is_allowed("/b")


def test_pattern_without_leading_slash_gets_one():
    p = policy("User-agent: *\nDisallow: private\nDisallow:\nAllow: /\n")
    assert not p.is_allowed("/private/x")
    assert p.is_allowed("/x/private")


def test_sitemap_without_colon_and_allow_index_html():
    p = policy("Sitemap https://news.example/s.xml\nUser-agent: *\nAllow: /index.html\nDisallow: /\n")
    assert p.sitemaps == ("https://news.example/s.xml",)
    assert p.is_allowed("/")  # Allow: /index.html also allows the directory (as Google does)
    assert not p.is_allowed("/other")
