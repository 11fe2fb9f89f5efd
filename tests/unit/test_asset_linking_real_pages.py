"""Asset linking on real pages nobody here wrote (bench/corpus/): words, laws and places are no coins.

Every page below once linked a coin it is not about, with 250 tracked
assets: a German law's "BGB" as Bitget Token, "eigen" as EigenLayer, "ETH
Zürich" as Ethereum, sports clubs "BSV" as Bitcoin SV, the trade union "DGB"
as DigiByte, "Pendle council" as Pendle, "JUST IN" and "does NOT" as coins.
They go through the real extractor and linker here; the crypto pages of the
same corpus must keep their coins (bench/bench_asset_linking.py lists every
page of the corpus that links anything, in BENCHMARKS.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import bench_asset_linking  # noqa: E402

# page -> the surface that was read as a coin
FORMER_FALSE_LINKS = {
    "trafilatura:bmjv.de.konsum.html": "§ 315 BGB (civil code) -> bitget-token",
    "trafilatura:arbeit-und-arbeitsrecht.de.urlaub.html": "BGB -> bitget-token",
    "trafilatura:buero-hoppe.de.baumgutachten.html": "BGB -> bitget-token",
    "trafilatura:deutsche-handwerkszeitung.de-eigentumsvorbehalt.html": "BGB -> bitget-token",
    "trafilatura:energieverbraucher.de.energie.html": "BGB -> bitget-token",
    "trafilatura:impulse.de.eltern.html": "BGB -> bitget-token",
    "trafilatura:travanto.de.ferienhaus-feinen.html": "BGB -> bitget-token",
    "trafilatura:zulang.wordpress.com.genitalverstuemmelung.html": "BGB -> bitget-token",
    "trafilatura:rechtambild.de.kochbuch.html": "BGB, 'zu eigen' -> bitget-token, eigenlayer",
    "trafilatura:correctiv.org.zusage.html": "'eigen' -> eigenlayer",
    "trafilatura:geschichtedergegenwart.ch.foucault.html": "'eigen' -> eigenlayer",
    "trafilatura:bundespraesident.de.20030331.html": "'zu eigen' -> eigenlayer",
    "trafilatura:sportnews.bz-peking.html": "'sein Eigen' -> eigenlayer",
    "mediacloud:1721884119.html": "Dutch 'eigen' -> eigenlayer",
    "trafilatura:eawag.ch-elektron.html": "ETH Zürich -> ethereum",
    "trafilatura:gipfelbuch.ch-hochaufloesung.html": "ETH Zürich -> ethereum",
    "trafilatura:mpimet.de.klimasystem.html": "ETH Center for Climate Systems -> ethereum",
    "trafilatura:wsl.ch-neubeau.html": "ETH-Bereich -> ethereum",
    "trafilatura:handball.ch-bruderduell.html": "BSV Stans (handball club) -> bitcoin-cash-sv",
    "trafilatura:leukefeld-handball.de.leukefeld.html": "BSV Sachsen Zwickau -> bitcoin-cash-sv",
    "htmldate:bernau-live.de-Veranstaltungstipps.html": "BSV Rot Weiß Schönow -> bitcoin-cash-sv",
    "trafilatura:guten-tach.de-sperrung.html": "DGB (trade union) -> digibyte",
    "trafilatura:nwx.new-work.se.digitaler-stress.html": "DGB-Vorsitzende -> digibyte",
    "trafilatura:ebike-mtb.com-OFFROAD.html": "SRAM AXS-Funk -> axie-infinity",
    "trafilatura:regards.fr.enquetes.html": "STX France (shipyard) -> blockstack",
    "trafilatura:pix-bavaria.de.html": "'Boarische Buidl' -> BUIDL fund",
    "htmldate:Politics.co.uk-starmer.html": "Pendle council -> pendle",
}
# crypto pages of the same corpus: the coins they are about (checked by hand, see REAL_PAGE_VERDICTS)
CRYPTO_PAGES = {pid: assets for pid, (assets, _) in bench_asset_linking.REAL_PAGE_VERDICTS.items() if assets}


@pytest.fixture(scope="module")
def texts():
    return bench_asset_linking.real_page_texts([*FORMER_FALSE_LINKS, *CRYPTO_PAGES,
                                                "htmldate:Coincierge.de-Bitcoin-Blog.html"])


@pytest.fixture(scope="module", params=["tracked_25", "tracked_250"])
def links(request, texts):
    from newsmarkets.news.aliases import DEFAULT_COINS

    tracked = ([c["id"] for c in DEFAULT_COINS] if request.param == "tracked_25"
               else [c["id"] for c in bench_asset_linking.load_coins()])
    return bench_asset_linking.real_page_links(texts, tracked), set(tracked)


def test_every_page_was_extracted(texts):
    assert set(FORMER_FALSE_LINKS) | set(CRYPTO_PAGES) <= set(texts)


def test_words_laws_clubs_and_universities_link_no_coin(links):
    links, _ = links
    wrong = {pid: (links[pid], FORMER_FALSE_LINKS[pid]) for pid in FORMER_FALSE_LINKS if pid in links}
    assert not wrong


def test_crypto_pages_keep_their_coins(links):
    links, tracked = links
    for pid, assets in CRYPTO_PAGES.items():
        assert set(links.get(pid, [])) == assets & tracked, pid


def test_shouted_words_are_no_tickers(links):
    links, _ = links
    # "JUST IN – NYDIG Research Predicts ..." on a bitcoin page: bitcoin, not the JUST coin
    assert links["htmldate:Coincierge.de-Bitcoin-Blog.html"] == ["bitcoin"]
    # "This coverage does NOT, however, extend to your cryptocurrency funds."
    assert "notcoin" not in links["trafilatura:thebalance.com.coinbase.html"]
