"""Asset linking: distinctive terms link, everyday words need crypto evidence."""

from __future__ import annotations

import pandas as pd
import pytest

from newsmarkets.news.link import (
    LINK_COLUMNS,
    AssetMention,
    LinkError,
    build_asset_dictionary,
    default_dictionary,
    link_article,
    link_frame,
)

COINS = [
    {"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"},
    {"id": "ethereum", "symbol": "eth", "name": "Ethereum"},
    {"id": "solana", "symbol": "sol", "name": "Solana"},
    {"id": "ripple", "symbol": "xrp", "name": "XRP"},
    {"id": "dogecoin", "symbol": "doge", "name": "Dogecoin"},
    {"id": "chainlink", "symbol": "link", "name": "Chainlink"},
    {"id": "polkadot", "symbol": "dot", "name": "Polkadot"},
    {"id": "near", "symbol": "near", "name": "NEAR Protocol"},
    {"id": "uniswap", "symbol": "uni", "name": "Uniswap"},
    {"id": "the-open-network", "symbol": "ton", "name": "Toncoin"},
    {"id": "leo-token", "symbol": "leo", "name": "LEO Token"},
    {"id": "sui", "symbol": "sui", "name": "Sui"},
    {"id": "harmony", "symbol": "one", "name": "Harmony"},
    {"id": "optimism", "symbol": "op", "name": "Optimism"},
]


@pytest.fixture(scope="module")
def d():
    return build_asset_dictionary(COINS)


def ids(title: str, body: str, dictionary) -> list[str]:
    return [m.asset_id for m in link_article(title, body, dictionary)]


def test_distinctive_names_and_symbols_link(d):
    found = link_article(
        "Bitcoin tops $100,000",
        "BTC rose 3% on Monday. bitcoin's rally lifted ETH, while XBT futures also climbed. Ethereum lagged.",
        d,
    )
    assert found == [
        AssetMention("bitcoin", 4, True, ["BTC", "Bitcoin", "XBT", "bitcoin's"]),
        AssetMention("ethereum", 2, False, ["ETH", "Ethereum"]),
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "Troops massed near the border on Sunday.",
        "The ministry posted a link to the report on its website.",
        "One of the ministers resigned after the vote.",
        "Aid agencies delivered a ton of flour to the town.",
        "The harmony between the coalition partners did not last.",
        "Voters expressed cautious optimism about the new government.",
        "The DOGE cuts were criticised by the opposition.",
        "Satellites in low Earth orbit (LEO) were tracked by the ministry.",
        "Ripple effects of the sanctions were felt in nearby towns.",
        "The committee listed taxes, tariffs, etc. as priorities.",
    ],
)
def test_everyday_words_do_not_link(d, sentence):
    assert ids("", sentence, d) == []


def test_war_article_links_nothing(d):
    title = "Fighting intensifies near the border as one town falls"
    body = (
        "Artillery fire was heard near the border overnight, and one of the ministers said a ton of supplies had "
        "been lost. Officials shared a link to the casualty report. Prices of bread rose 20% in the capital, "
        "and the currency fell against the USD. The OP-ED pages called for a ceasefire. NEAR THE FRONT, "
        "SOLDIERS DUG IN. Residents said the price of fuel had doubled."
    )
    assert ids(title, body, d) == []


def test_election_article_links_nothing(d):
    title = "ONE NATION SURGES AS POLLS CLOSE"
    body = (
        "The One Nation party rose 5% in the final poll, one point ahead of its rivals. Turnout was near record "
        "levels. Campaign spending topped $40 million, and a link between donations and ads was investigated. "
        "DOGE was a campaign issue. The harmony within the coalition was tested, and optimism faded by midnight."
    )
    assert ids(title, body, d) == []


def test_ambiguous_symbols_link_with_a_cashtag(d):
    assert ids("", "Traders piled into $NEAR and $link this week.", d) == ["chainlink", "near"]


def test_ambiguous_symbols_link_in_market_context_of_a_crypto_article(d):
    body = "Crypto markets were busy. NEAR rallied 12% while DOT fell and the UNI price hit $9. TON traded flat."
    assert ids("", body, d) == ["near", "polkadot", "the-open-network", "uniswap"]


def test_market_context_alone_is_not_enough_outside_crypto(d):
    # "rose" and "%" are market words, but nothing in the article is about crypto
    assert ids("", "Exports to ONE market rose 4% last year, officials said.", d) == []


def test_lowercase_ambiguous_symbols_never_link_without_cashtag(d):
    assert ids("", "Bitcoin traded near $97,000 and could link up with its highs; one analyst said.", d) == ["bitcoin"]


def test_full_names_link_ambiguous_assets(d):
    body = "NEAR Protocol and Chainlink announced a partnership; Polkadot, Uniswap and Toncoin were not involved."
    assert ids("", body, d) == ["chainlink", "near", "polkadot", "the-open-network", "uniswap"]


def test_name_then_ticker_in_brackets(d):
    found = link_article("", "Harmony (ONE) and Optimism (OP) announced a bridge.", d)
    assert [(m.asset_id, m.mentions) for m in found] == [("harmony", 2), ("optimism", 2)]


def test_once_established_other_ticker_mentions_count(d):
    found = link_article("NEAR rallies", "NEAR Protocol's token jumped 8%. NEAR developers also shipped an upgrade.", d)
    assert found == [AssetMention("near", 3, True, ["NEAR", "NEAR Protocol"])]


def test_all_caps_headline_needs_cashtag(d):
    assert ids("NEAR TOKEN PRICE SOARS AS LINK SLIDES", "", d) == []
    assert ids("$NEAR TOKEN PRICE SOARS", "", d) == ["near"]


def test_longest_term_wins():
    d = build_asset_dictionary(COINS + [{"id": "bitcoin-cash", "symbol": "bch", "name": "Bitcoin Cash"}])
    assert ids("", "Bitcoin Cash rose 2%.", d) == ["bitcoin-cash"]


def test_shared_symbol_needs_a_distinct_term():
    coins = [{"id": "a-coin", "symbol": "abc", "name": "Alphacoin"}, {"id": "b-coin", "symbol": "abc", "name": "Betacoin"}]
    d = build_asset_dictionary(coins, include_default_aliases=False)
    assert ids("", "ABC rose 5% as crypto rallied.", d) == []
    assert [(m.asset_id, m.mentions) for m in link_article("", "Betacoin's ABC rose 5%.", d)] == [("b-coin", 2)]


def test_custom_aliases_add_terms():
    d = build_asset_dictionary(COINS, aliases={"bitcoin": ["digital gold"]})
    assert ids("", "Investors keep buying digital gold.", d) == ["bitcoin"]
    with pytest.raises(LinkError, match="aliases"):
        build_asset_dictionary(COINS, aliases={"bitcoin": "digital gold"})


@pytest.mark.parametrize("coins, message", [([{"id": "x", "symbol": "", "name": "X"}], r"coins\[0\]\.symbol"), ([], "empty"), (["btc"], r"coins\[0\]")])
def test_bad_coin_lists(coins, message):
    with pytest.raises(LinkError, match=message):
        build_asset_dictionary(coins, include_default_aliases=False)


def test_link_frame():
    articles = pd.DataFrame(
        {
            "article_id": ["a2", "a1", "a3"],
            "title": ["Ether slips", "War news", None],
            "body": ["ETH fell 2% while bitcoin held steady.", "Troops moved near the border.", "XRP price jumps"],
            "published_at": pd.to_datetime(["2026-01-05T23:59Z", "2026-01-05T10:00Z", "2026-01-06T00:00Z"], utc=True),
        }
    )
    out = link_frame(articles)  # default dictionary
    assert list(out.columns) == LINK_COLUMNS
    assert out[["article_id", "asset_id", "mentions", "in_title"]].values.tolist() == [
        ["a2", "bitcoin", 1, False],
        ["a2", "ethereum", 2, True],
        ["a3", "ripple", 1, False],
    ]
    assert out["matched_terms"].tolist() == [["Bitcoin"], ["ETH", "Ether"], ["XRP"]]  # dictionary spellings
    assert out["dt"].tolist() == ["2026-01-05", "2026-01-05", "2026-01-06"]
    assert str(out["published_at"].dt.tz) == "UTC"


def test_link_frame_empty_and_missing_columns():
    empty = link_frame(pd.DataFrame({"article_id": ["a"], "title": ["War"], "body": ["near"],
                                     "published_at": pd.to_datetime(["2026-01-05"], utc=True)}), default_dictionary())
    assert empty.empty and list(empty.columns) == LINK_COLUMNS
    with pytest.raises(LinkError, match="title"):
        link_frame(pd.DataFrame({"article_id": ["a"], "body": ["x"], "published_at": [None]}))


def test_hyphenated_compounds_are_not_tickers(d):
    body = "Crypto founders wrote an OP-ED about token prices. A ONE-TIME fee of $5 applies to the LINK-UP offer."
    assert ids("", body, d) == []


@pytest.mark.parametrize("line", [
    "Tags: Bitcoin, Ethereum, Regulation, SEC",
    "Most read: 1. Why XRP is up today 2. Dogecoin burn rate soars 3. Bitcoin miners brace for halving",
    "Markets › Altcoins › Solana",
    "About Us | Careers | Bitcoin Price | Ethereum Price | Terms",
    "Home News Bitcoin Ethereum Markets Learn Podcasts Events Research Newsletters",
    "This content is for informational purposes only and is not financial advice. Bitcoin and ether are volatile.",
    "Buy Bitcoin and Solana in minutes with our partner exchange. Capital at risk.",
    "Heatmap: BTC ▲1.1 ETH ▼0.3 MATIC ▲0.1 SOL ▲3.4 ATOM ▼1.2 XRP ▼0.7",
])
def test_page_furniture_links_nothing(d, line):
    assert ids("", line, d) == []


def test_furniture_lines_do_not_hide_the_story_around_them(d):
    body = "Related: Solana rallies as memecoin mania returns\nBitcoin rose 3% to $97,000 on Tuesday."
    assert ids("", body, d) == ["bitcoin"]


def test_ambiguous_names_used_as_words_do_not_link():
    dictionary = build_asset_dictionary([*COINS, {"id": "shiba-inu", "symbol": "shib", "name": "Shiba Inu"}])
    assert ids("", "Dogecoin, whose logo shows a Shiba Inu dog, gained 20% this month.", dictionary) == ["dogecoin"]
    assert ids("", "Optimism over rate cuts lifted bitcoin above $100,000.", dictionary) == ["bitcoin"]
    assert "shiba-inu" in ids("", "The Shiba Inu token rose 9% as burn rates spiked.", dictionary)


def test_possessive_of_a_two_word_name_is_that_coin():
    coins = [{"id": "ethena", "symbol": "ena", "name": "Ethena"}, {"id": "ethena-usde", "symbol": "usde", "name": "Ethena USDe"}]
    dictionary = build_asset_dictionary(coins)
    assert ids("", "Ethena's USDe supply fell by $2 billion in a week.", dictionary) == ["ethena-usde"]
    assert ids("", "Ethena's ENA token tumbled 12%.", dictionary) == ["ethena"]


def test_a_term_two_tracked_coins_share_goes_to_the_better_ranked():
    coins = [{"id": "matic-network", "symbol": "matic", "name": "Polygon", "market_cap_rank": 103},
             {"id": "polygon-ecosystem-token", "symbol": "pol", "name": "POL (ex-MATIC)", "market_cap_rank": 65}]
    dictionary = build_asset_dictionary(coins)
    assert ids("", "POL rose 9% after Polygon said it would cut the token's emissions.", dictionary) == [
        "polygon-ecosystem-token"]


def test_a_determiner_before_an_ambiguous_name_with_a_crypto_noun_after_still_links():
    dictionary = default_dictionary()
    assert ids("", "The Ripple lawsuit dragged on for years as the SEC pursued the token issuer.", dictionary) == [
        "ripple"]


# Failure classes found on real pages (bench/corpus/, tests/unit/test_asset_linking_real_pages.py), trimmed.
LISTED = [*COINS, {"id": "eigenlayer", "symbol": "eigen", "name": "EigenLayer"},
          {"id": "bitget-token", "symbol": "bgb", "name": "Bitget Token"},
          {"id": "pendle", "symbol": "pendle", "name": "Pendle"},
          {"id": "notcoin", "symbol": "not", "name": "Notcoin"}, {"id": "just", "symbol": "jst", "name": "JUST"}]


def test_a_bare_ticker_needs_crypto_or_a_market_around_it():
    d = build_asset_dictionary(LISTED)
    assert link_article("", "Gesetzliche Grundlage ist § 449 BGB. Ein Eigentumsvorbehalt kann vereinbart werden.", d) == []
    assert link_article("", "Eine Studie der Eawag und der ETH Zürich zeigt nun, wie Effizienzunterschiede entstehen.",
                        d) == []
    assert [m.asset_id for m in link_article("", "BGB rose 4% after Bitget said it would burn more tokens.", d)] == [
        "bitget-token"]
    assert [m.asset_id for m in link_article("", "ETH slipped below $3,000 overnight.", d)] == ["ethereum"]


def test_a_listed_name_needs_context_but_a_built_in_one_does_not():
    d = build_asset_dictionary(LISTED)
    assert link_article("", "Burnley council leader Afrasiab Anwar and Pendle council leader Asjad Mahmood wrote.",
                        d) == []
    assert [m.asset_id for m in link_article("", "Pendle and EigenLayer both hit monthly highs on Tuesday.", d)] == [
        "eigenlayer", "pendle"]
    assert [m.asset_id for m in link_article("", "The ransom note asks for a payment in Bitcoin.", d)] == ["bitcoin"]


def test_a_distinctive_ticker_in_any_case_needs_a_capital_inside():
    d = build_asset_dictionary(LISTED)
    assert link_article("", "Die Neandertaler machten sich die Technik zu eigen, wie Funde zeigen; 19 Weltrekorde sein "
                            "Eigen.", d) == []
    assert [m.asset_id for m in link_article("", "EigenLayer's EIGEN rose 9% as restaking deposits climbed.", d)] == [
        "eigenlayer"]


def test_everyday_words_in_capitals_are_emphasis_not_tickers():
    d = build_asset_dictionary(LISTED)
    page = ("Crypto exchanges are no banks. FDIC insurance covers deposits up to $250,000. This coverage does NOT, "
            "however, extend to your cryptocurrency funds. JUST IN – NYDIG predicts $30 billion of bitcoin ETF demand.")
    assert [m.asset_id for m in link_article("", page, d)] == ["bitcoin"]
    assert [m.asset_id for m in link_article("", "Notcoin (NOT) jumped 30% after the game's second season.", d)] == [
        "notcoin"]
