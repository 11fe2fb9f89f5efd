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


def test_printed_h1_beats_a_differing_seo_title():
    # trafilatura:battery-news.de.ultium-cells.html: metadata shortens the headline the page prints
    head = ('<title>Ultium Cells erhöht Gigafactory-Kapazität - Battery-News.de</title>'
            '<meta property="og:title" content="Ultium Cells erhöht Gigafactory-Kapazität - Battery-News.de">'
            '<meta property="og:site_name" content="Battery-News.de">'
            '<script type="application/ld+json">{"@type": "NewsArticle", '
            '"headline": "Ultium Cells erhöht Gigafactory-Kapazität"}</script>')
    h1 = '<h1 style="text-align: center;">Ultium Cells erhöht Gigafactory-Kapazität in Tennessee</h1>'
    assert title_of(head, h1, "https://battery-news.de/index.php/2022/12/06/x/") == (
        "Ultium Cells erhöht Gigafactory-Kapazität in Tennessee")


def test_kicker_printed_before_the_metadata_headline_is_dropped():
    # trafilatura:handwerk-magazin.de-Angriffe.html: the <h1> adds a "toptitle" span before the headline
    head = ('<meta property="og:title" content="Cyber-Angriffe: 20 Prozent vom IT-Budget in die IT-Sicherheit '
            'stecken! - handwerk magazin"><meta property="og:site_name" content="handwerk magazin">')
    h1 = ('<h1 class="entry-title"><span class="entry-title__toptitle">Investitionen in IT-Sicherheit</span>\n'
          '   Cyber-Angriffe: 20 Prozent vom IT-Budget in die IT-Sicherheit stecken!   </h1>')
    assert title_of(head, h1, "https://www.handwerk-magazin.de/x/") == (
        "Cyber-Angriffe: 20 Prozent vom IT-Budget in die IT-Sicherheit stecken!")


def test_site_slogan_h1_is_not_the_headline():
    # trafilatura:elmostrador.cl-congreso.html: the logo link is the page's only <h1>
    story = "Las trabas del Congreso: discusión parlamentaria sobre normas de una nueva Constitución podría tardar décadas"
    head = (f'<title>{story} - El Mostrador</title><meta property="og:title" content="{story}">'
            '<meta property="og:site_name" content="El Mostrador">')
    h1 = ('<h1><a class="navbar-brand main-logo" href="https://www.elmostrador.cl">'
          'El Mostrador, el primer diario digital de Chile.</a></h1>')
    assert title_of(head, h1, "https://www.elmostrador.cl/destacado/2022/05/04/x/") == story


def test_blog_name_h1_after_the_story_in_the_title_is_the_site():
    # trafilatura:archive.org.dimido.de.marketing.html: "Story | Blog", the blog's name is the <h1>
    head = "<title>  Was ist Virales Marketing? |  DimidoBlog</title>"
    h1 = '<h1><a href="http://www.dimido.de/">DimidoBlog</a></h1>'
    assert title_of(head, h1, "http://www.dimido.de/2008/07/29/was-ist-virales-marketing/") == (
        "Was ist Virales Marketing?")
    # trafilatura:maescot.de.schafskunde.html: the story is printed as another <h1>, after the blog's
    tree = lxml_html.fromstring("<html><body><h1>Mäscot das Schaf – Webcomic</h1><h1>Kleine Schafskunde</h1>"
                                "</body></html>")
    assert headline(tree, [], [], "https://maescot.de/x", "Kleine Schafskunde | Mäscot das Schaf – Webcomic") == (
        "Kleine Schafskunde")


def test_short_site_name_inside_the_headline_does_not_make_it_the_site():
    # trafilatura:aktion-hummelschutz.de.hummeln.html: og:site_name "Hummeln"
    head = ('<meta property="og:title" content="Tote Hummeln unter Linden: Die Erklärung | Hummeln">'
            '<meta property="og:site_name" content="Hummeln">')
    h1 = '<h1 class="entry-title">Tote Hummeln unter Linden</h1>'
    assert title_of(head, h1, "https://aktion-hummelschutz.de/biologie/x/") == "Tote Hummeln unter Linden"


def test_soft_hyphens_are_not_part_of_the_headline():
    # trafilatura:bka.de-messengerdienste.html: hyphenation hints in the printed <h1>
    head = '<meta name="twitter:title" content="Messengerdienste sind kein rechtsfreier Raum">'
    h1 = "<h1>Mes\u00adsen\u00adger\u00addiens\u00adte sind kein rechts\u00adfrei\u00ader Raum</h1>"
    assert title_of(head, h1, "https://www.bka.de/DE/x.html") == "Messengerdienste sind kein rechtsfreier Raum"


def test_title_only_story_before_a_pipe_and_date_segments():
    # trafilatura:bibliothek2null.de.mai.html: only a <title>, site not named anywhere else
    tree = lxml_html.fromstring("<html><body><p>x</p></body></html>")
    assert headline(tree, [], [], "http://www.bibliothek2null.de/2014/05/18/x/",
                    "Alles Neue mach der Mai… | Bibliothek 2.0 und mehr") == "Alles Neue mach der Mai…"
    # trafilatura:biathlon-antholz.it-jubeln.html: a date in front of the headline is not part of it
    assert strip_site("23.01.2022 - Dorothea Wierer darf beim Antholz-Abschluss noch jubeln - Biathlon Antholz",
                      [], host_names("https://www.biathlon-antholz.it/de/x.html")) == (
        "Dorothea Wierer darf beim Antholz-Abschluss noch jubeln")
