"""The page this project was designed from, in its shape: a republished wire story inside a crypto site.

A WordPress post on a crypto portal: a 50-coin CoinGecko price ticker above
the story, a related-articles list and a footer full of coin names around it,
and the only publish time a printed byline in the site's local time
(``2024.10.15 09:03``, Asia/Tokyo). The story itself is about a central
bank, not about any coin: it must extract whole, at the minute, and link
no asset (issue 21).
"""

from __future__ import annotations

from datetime import datetime, timezone

from newsmarkets.news.extract import extract_article
from newsmarkets.news.link import default_dictionary, link_article

# CoinGecko's top 50 by market cap in October 2024 (names, symbols): the ticker's cells.
COINS = [
    ("Bitcoin", "BTC"), ("Ethereum", "ETH"), ("Tether", "USDT"), ("BNB", "BNB"), ("Solana", "SOL"),
    ("USDC", "USDC"), ("XRP", "XRP"), ("Dogecoin", "DOGE"), ("TRON", "TRX"), ("Toncoin", "TON"),
    ("Cardano", "ADA"), ("Avalanche", "AVAX"), ("Shiba Inu", "SHIB"), ("Chainlink", "LINK"), ("Bitcoin Cash", "BCH"),
    ("Polkadot", "DOT"), ("Dai", "DAI"), ("UNUS SED LEO", "LEO"), ("NEAR Protocol", "NEAR"), ("Sui", "SUI"),
    ("Litecoin", "LTC"), ("Uniswap", "UNI"), ("Aptos", "APT"), ("Wrapped eETH", "WEETH"), ("Pepe", "PEPE"),
    ("Internet Computer", "ICP"), ("Bittensor", "TAO"), ("Ethereum Classic", "ETC"), ("Kaspa", "KAS"),
    ("Fetch.ai", "FET"), ("Monero", "XMR"), ("POL (ex-MATIC)", "POL"), ("Stellar", "XLM"), ("Render", "RENDER"),
    ("Cronos", "CRO"), ("Ethena USDe", "USDE"), ("Stacks", "STX"), ("Filecoin", "FIL"), ("OKB", "OKB"),
    ("Aave", "AAVE"), ("Hedera", "HBAR"), ("Mantle", "MNT"), ("Immutable", "IMX"), ("Arbitrum", "ARB"),
    ("Injective", "INJ"), ("Cosmos Hub", "ATOM"), ("VeChain", "VET"), ("Optimism", "OP"), ("Sei", "SEI"),
    ("Bitget Token", "BGB"),
]

STORY = [
    "TOKYO (Reuters) - The Bank of Japan is likely to keep interest rates steady at its policy meeting this month, "
    "three sources familiar with its thinking said, as policymakers wait for clearer signs that wages keep rising.",
    "The central bank raised its short-term policy rate to 0.25% in July, a move that helped trigger a rout in "
    "global equity markets and forced officials to signal they would move cautiously from here.",
    "Governor Kazuo Ueda has said the bank has time to scrutinise overseas risks, including the outlook for the "
    "U.S. economy, before deciding when to raise borrowing costs again.",
    "Many analysts expect the next hike to come in December or January, once the bank has seen the results of "
    "next year's annual wage negotiations between firms and unions.",
]


def seed_page() -> str:
    ticker = "".join(
        f'<li class="ticker-item"><img src="/coins/{sym.lower()}.png" alt="{name}"><span class="name">{name}</span>'
        f'<span class="symbol">{sym}</span><span class="price">${1000 / (i + 1):,.2f}</span>'
        f'<span class="change {"up" if i % 3 else "down"}">{(i % 7) - 3:+.1f}%</span></li>'
        for i, (name, sym) in enumerate(COINS)
    )
    related = "".join(
        f'<li><a href="/news/{i}">{title}</a><span class="date">2024.10.1{i} 1{i}:00</span></li>'
        for i, title in enumerate([
            "Bitcoin ETF inflows hit a three-month high", "Solana and XRP lead a broad altcoin rally",
            "Ethereum gas fees fall to their lowest since 2020", "Dogecoin jumps after a celebrity post",
        ])
    )
    story = "".join(f"<p>{p}</p>" for p in STORY)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<title>BOJ likely to hold rates as it awaits wage data, sources say – CoinPost Global</title>
<meta name="generator" content="WordPress 6.6.2"></head>
<body class="post-template-default single single-post">
<div class="coingecko-price-ticker"><ul class="ticker-list">{ticker}</ul>
<p class="powered">Price data by CoinGecko</p></div>
<div id="page" class="site"><header id="masthead" class="site-header"><nav>
<a href="/">Home</a><a href="/news">News</a><a href="/bitcoin">Bitcoin</a><a href="/ethereum">Ethereum</a></nav></header>
<main id="main" class="site-main"><article id="post-118204" class="post type-post status-publish">
<header class="entry-header"><h1 class="entry-title">BOJ likely to hold rates as it awaits wage data, sources say</h1>
<div class="entry-meta"><span class="date meta-item">2024.10.15 09:03</span>
<span class="author meta-item">Reuters</span></div></header>
<div class="entry-content">{story}
<p class="source-note">This article was republished from Reuters.</p></div>
<div class="share-buttons"><a href="#">Share on X</a><a href="#">Telegram</a></div>
</article>
<aside class="related-posts"><h3>Related articles</h3><ul>{related}</ul></aside></main>
<footer id="colophon" class="site-footer"><p>Track Bitcoin, Ethereum, Solana, XRP and 10,000 more coins.</p>
<p>© 2024 CoinPost Global. Crypto prices by CoinGecko.</p></footer></div></body></html>"""


def test_the_seed_page_extracts_the_wire_story_at_the_minute_and_links_no_asset():
    fetched_at = datetime(2024, 10, 15, 3, 0, tzinfo=timezone.utc)
    record = extract_article(seed_page(), "https://coinpost.example/news/118204", source_timezone="Asia/Tokyo",
                             fetched_at=fetched_at)
    # 09:03 in Tokyo is 00:03 UTC, read from the printed byline.
    assert record.published_at == datetime(2024, 10, 15, 0, 3, tzinfo=timezone.utc)
    assert record.published_at_source == "visible-text"
    assert record.title == "BOJ likely to hold rates as it awaits wage data, sources say"
    for paragraph in STORY:
        assert paragraph in record.body
    # None of the ticker, related list, share bar or footer reached the body...
    for leaked in ("Price data by CoinGecko", "ETF inflows", "Share on X", "10,000 more coins", "CoinPost Global",
                   "Dogecoin", "$1,000.00"):
        assert leaked not in record.body, leaked
    # ...so the story links nothing, though the page names all 50 coins.
    assert link_article(record.title, record.body, default_dictionary()) == []


def _all_fifty_tracked():
    """The linker's vocabulary with every ticker coin tracked, built as news_ingest builds it from ``assets``."""
    import pandas as pd

    from newsmarkets.news.vocabulary import vocabulary_dictionary

    listing = pd.DataFrame([{"asset_id": f"coin-{sym.lower()}", "symbol": sym.lower(), "name": name,
                             "market_cap_rank": rank} for rank, (name, sym) in enumerate(COINS, 1)])
    dictionary, unnamed = vocabulary_dictionary(listing, list(listing["asset_id"]))
    assert not unnamed and len(dictionary) >= 50
    return dictionary


def test_with_all_fifty_ticker_coins_tracked_the_page_still_links_none():
    dictionary = _all_fifty_tracked()
    record = extract_article(seed_page(), "https://coinpost.example/news/118204", source_timezone="Asia/Tokyo",
                             fetched_at=datetime(2024, 10, 15, 3, 0, tzinfo=timezone.utc))
    assert link_article(record.title, record.body, dictionary) == []
    # and the ticker itself, were it to leak into a body as one line of cells, links none either
    strip = " ".join(f"{name} {sym} ${1000 / (i + 1):,.2f} {(i % 7) - 3:+.1f}%" for i, (name, sym) in enumerate(COINS))
    assert link_article("", strip, dictionary) == []
    # while a sentence of the story naming a coin still links it
    assert {m.asset_id for m in link_article("", "Kaspa fell 4% and Bittensor rose 2%.", dictionary)} == {
        "coin-kas", "coin-tao"}
