"""The fetcher's charset chain (pure): w3lib reads the declarations, we vet and guess."""

from __future__ import annotations

import pytest

from newsmarkets.news.fetch import decode_html, detect_encoding, looks_like_html

TEXT = "Le café coûte 5 € aujourd’hui ; « Très bien », dit-il – c’était l’été à Besançon. " * 3

RUSSIAN = ("В начале было слово, и слово было у Бога. Москва - столица России, крупнейший город страны. "
           "Погода сегодня хорошая. ") * 2


def page(head: str = "", body: str = TEXT) -> str:
    return f"<!doctype html><html><head>{head}<title>t</title></head><body>{body}</body></html>"


@pytest.mark.parametrize(
    "content_type, body, codec, how",
    [
        ("text/html", b"\xef\xbb\xbf" + page().encode("utf-8"), "utf-8", "byte-order mark"),
        ("text/html; charset=utf-8", b"\xff\xfe" + page().encode("utf-16-le"), "utf-16-le", "byte-order mark"),
        ("text/html; charset=windows-1252", page().encode("cp1252"), "cp1252", "HTTP Content-Type charset"),
        # WHATWG label mapping: latin1/ascii/iso-8859-1 mean windows-1252, gb2312 means gb18030 ...
        ("text/html; charset=latin1", page().encode("cp1252"), "cp1252", "HTTP Content-Type charset"),
        ("text/html; charset=US-ASCII", page().encode("cp1252"), "cp1252", "HTTP Content-Type charset"),
        ('text/html; charset="ISO-8859-1"', page().encode("cp1252"), "cp1252", "HTTP Content-Type charset"),
        ("text/html; charset=gb2312", page(body="中文").encode("gb18030"), "gb18030", "HTTP Content-Type charset"),
        ("text/html; charset=shift_jis", page(body="日本語").encode("cp932"), "cp932", "HTTP Content-Type charset"),
        # a declared charset is trusted even when the bytes happen to be valid UTF-8 (as browsers do)
        ("text/html; charset=iso-8859-1", page().encode("utf-8"), "cp1252", "HTTP Content-Type charset"),
        ("text/html", page('<meta charset="iso-8859-2">', "Zażółć gęślą jaźń").encode("iso-8859-2"), "iso8859-2",
         "<meta> charset"),
        # a <meta> readable as ASCII cannot mean UTF-16/32: browsers read UTF-8
        ("text/html", page('<meta charset="utf-16">').encode("utf-8"), "utf-8", "<meta> charset"),
        ("text/html", page('<meta charset="UTF-16LE">').encode("utf-8"), "utf-8", "<meta> charset"),
        # unknown labels and codecs that are not charsets fall through to the next step
        ("text/html; charset=klingon", page('<meta charset="windows-1252">').encode("cp1252"), "cp1252",
         "<meta> charset"),
        ("text/html; charset=base64", page().encode("utf-8"), "utf-8", "valid UTF-8"),
        ("text/html; charset=idna", page().encode("utf-8"), "utf-8", "valid UTF-8"),
        ("text/html; charset=utf-7", page().encode("utf-8"), "utf-8", "valid UTF-8"),
        ("text/html", page('<meta charset="rot13">').encode("utf-8"), "utf-8", "valid UTF-8"),
        ("text/html", page('<meta charset="undefined">').encode("cp1252"), "cp1252",
         "charset_normalizer guess (windows-1252 among equals)"),
        (None, page().encode("cp1252"), "cp1252", "charset_normalizer guess (windows-1252 among equals)"),
        (None, page(body=RUSSIAN).encode("koi8-r"), "koi8-r", "charset_normalizer guess"),
    ],
)
def test_detect_encoding(content_type, body, codec, how):
    assert detect_encoding(body, content_type) == (codec, how)
    text, used = decode_html(body, content_type)
    assert used == codec
    assert "\ufeff" not in text and text.startswith("<!doctype html>")


def test_decoded_text_round_trips():
    assert decode_html(page().encode("cp1252"), "text/html; charset=iso-8859-1") == (page(), "cp1252")
    assert decode_html(b"\xef\xbb\xbf" + page().encode("utf-8"), "text/html; charset=iso-8859-1") == (page(), "utf-8")
    text, codec = decode_html(page().encode("utf-8") + b"\xff", "text/html; charset=utf-8")
    assert (text, codec) == (page() + "\ufffd", "utf-8")


def test_sniffing_skips_a_byte_order_mark():
    assert looks_like_html(b"\xef\xbb\xbf  <!-- x --><!DOCTYPE html><html>")
    assert not looks_like_html(b"\xef\xbb\xbf%PDF-1.7")
