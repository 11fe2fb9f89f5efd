"""Headline reference: the story's headline as printed, not <title> with a site part or a kicker.

Snippets are trimmed from real pages of trafilatura's evaluation set (bench/corpus/), named in each test.
"""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from newsmarkets.news.extract import extract_article
from newsmarkets.news.titles import clean, headline, host_names, strip_site

BODY = "".join(f"<p>Sentence number {i} of a story that is long enough to count as an article body.</p>"
               for i in range(6))


def page(head: str, h1: str = "", url: str = "https://example.org/a") -> tuple[str, str]:
    return f"<html><head>{head}</head><body><article>{h1}{BODY}</article></body></html>", url


def title_of(head: str, h1: str = "", url: str = "https://example.org/a") -> str | None:
    html, url = page(head, h1, url)
    return extract_article(html, url).title


def test_site_name_suffix_from_og_site_name():
    # trafilatura:Tageswoche.ch-weg.html
    head = ('<meta property="og:title" content="Wir sind dann mal weg (und dieser Titel muss auch weg! Oder?) | '
            'TagesWoche"><meta property="og:site_name" content="TagesWoche">')
    assert title_of(head, url="https://tageswoche.ch/gesellschaft/x/") == (
        "Wir sind dann mal weg (und dieser Titel muss auch weg! Oder?)")


def test_entities_escaped_twice_are_unescaped():
    # trafilatura:1000things.at-Wellnessoasen.html (JSON-LD headline carries &#038;)
    head = ('<script type="application/ld+json">{"@type": "BlogPosting", "headline": '
            '"6 Wellnessoasen für eure Auszeit im Thermen- &#038; Vulkanland"}</script>')
    assert title_of(head) == "6 Wellnessoasen für eure Auszeit im Thermen- & Vulkanland"
    assert clean("Ladensterben immer dramatischer &raquo; x") == "Ladensterben immer dramatischer » x"
    assert clean("Wohngew&amp;#x00E4;chshaus") == "Wohngewächshaus"


def test_kicker_inside_h1_is_not_part_of_the_headline():
    # trafilatura:0a12df42d1764095989ab078ee0f940b.html (zeit.de)
    head = '<meta property="og:title" content="Klimaschutz: Bohren, bis es heiß wird">'
    h1 = ('<h1 class="article-heading"><span class="article-heading__kicker">Klimaschutz</span>'
          '<span class="visually-hidden">: </span><span class="article-heading__title">Bohren, bis es heiß wird'
          '</span></h1>')
    assert title_of(head, h1, "https://www.zeit.de/2019/43/x") == "Bohren, bis es heiß wird"
    # trafilatura:mdr.de.autohaeuser.html
    head = ('<meta property="og:title" content="Corona-Lockerungen: Autohäuser rechnen mit langsamem Anlaufen '
            'des Geschäfts | MDR.DE">')
    h1 = ('<h1><span class="dachzeile ">Nach Corona-Lockerungen</span>\n'
          '<span class="headline ">Autohäuser rechnen mit langsamem Anlaufen des Geschäfts</span></h1>')
    assert title_of(head, h1, "https://www.mdr.de/x.html") == "Autohäuser rechnen mit langsamem Anlaufen des Geschäfts"


def test_site_suffix_printed_in_the_h1_itself():
    # trafilatura:umweltbundesamt.de-atomkraft.html
    head = '<meta property="og:site_name" content="Umweltbundesamt">'
    h1 = "<h1>EU-Taxonomie: Atomkraft und Erdgas sind nicht nachhaltig | Umweltbundesamt</h1>"
    assert title_of(head, h1, "https://www.umweltbundesamt.de/themen/x") == (
        "EU-Taxonomie: Atomkraft und Erdgas sind nicht nachhaltig")


def test_a_dash_inside_the_headline_is_kept():
    # trafilatura:achgut.com-coronalage.html: og:title is the headline, <title> adds the site
    head = ('<title>Bericht zur Coronalage vom 22.04.2020 – worauf wartet die Politik? – DIE ACHSE DES GUTEN. '
            'ACHGUT.COM</title><meta property="og:title" content="Bericht zur Coronalage vom 22.04.2020 – '
            'worauf wartet die Politik?">')
    assert title_of(head, url="https://www.achgut.com/artikel/x") == (
        "Bericht zur Coronalage vom 22.04.2020 – worauf wartet die Politik?")
    # only the <title>: the segment naming the site goes, the dashed headline stays
    assert strip_site("Von der Leyen will Kriegsland Ukraine in EU holen – Österreich zahlt die Zeche – Unzensuriert",
                      [], host_names("https://www.unzensuriert.at/x")) == (
        "Von der Leyen will Kriegsland Ukraine in EU holen – Österreich zahlt die Zeche")


def test_headline_starting_with_the_site_words_is_not_cut():
    # trafilatura:archive.org.welpenkaufen24.de.html: og:site_name "Welpen", h1 == og:title
    head = ('<meta property="og:title" content="Welpen kaufen – Tipps zu jeder Hunderasse">'
            '<meta property="og:site_name" content="Welpen">')
    h1 = "<h1>Welpen kaufen – Tipps zu jeder Hunderasse</h1>"
    assert title_of(head, h1, "http://www.welpenkaufen24.de/") == "Welpen kaufen – Tipps zu jeder Hunderasse"


def test_logo_h1_loses_to_the_title_minus_site_and_blog_archive_parts():
    # trafilatura:fouryears.eu.interning.html
    head = "<title>Four Years Remaining  » Blog Archive   » Interning of Small Integers in Python</title>"
    h1 = "<h1>Four Years Remaining</h1>"
    tree = lxml_html.fromstring(f"<html><head>{head}</head><body>{h1}</body></html>")
    assert headline(tree, [], [], "http://fouryears.eu/2019/10/21/x/", tree.findtext(".//title")) == (
        "Interning of Small Integers in Python")


def test_ruby_readings_are_not_part_of_the_headline():
    # trafilatura:nhk.or.jp.k100.html (furigana over the kanji)
    head = '<meta property="og:title" content="NEWS WEB EASY|子どもへの体罰を禁止する法律ができる">'
    h1 = "<h1><ruby>子<rt>こ</rt></ruby>どもへの<ruby>体罰<rt>たいばつ</rt></ruby>を禁止する法律ができる</h1>"
    tree = lxml_html.fromstring(f"<html><head>{head}</head><body>{h1}</body></html>")
    assert headline(tree, ["NEWS WEB EASY|子どもへの体罰を禁止する法律ができる"], ["NEWS WEB EASY"],
                    "https://www3.nhk.or.jp/news/easy/x.html") == "子どもへの体罰を禁止する法律ができる"


@pytest.mark.parametrize(
    "url, expected",
    [("https://www.tageswoche.ch/x", ["tageswochech", "tageswoche"]),
     ("https://sportowefakty.wp.pl/x", ["sportowefaktywppl", "sportowefakty"]),
     ("not a url", []), (None, [])],
)
def test_host_names(url, expected):
    assert host_names(url) == expected
