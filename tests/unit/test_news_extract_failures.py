"""Pages that failed to extract on the real-page benchmark (bench/bench_real_pages.py), trimmed."""

from __future__ import annotations

from newsmarkets.news import extract as extract_module
from newsmarkets.news.extract import CJK_CHARS_PER_WORD, count_words, extract_article

EN = "".join(f"<p>Sentence number {i} of a story that is long enough to count as an article body.</p>"
             for i in range(6))


def test_cjk_characters_count_as_words_at_two_per_word():
    assert CJK_CHARS_PER_WORD == 2
    assert count_words("子どもへの体罰を禁止する法律ができる") == 9  # 18 characters
    assert count_words("NHK 子ども 2019年") == 2 + 2  # NHK and 2019, then 4 CJK characters in all
    assert count_words("plain words only") == 3


def test_a_chinese_story_is_not_a_teaser():
    # trafilatura:xinhuanet.com.c_1125597921.html, trimmed to three paragraphs (no spaces at all)
    paras = ["新华社武汉2月22日电 在武汉抗击新冠肺炎疫情的战斗中，无数平凡的人挺身而出，用行动诠释责任与担当。",
             "医生、护士、社区工作者、志愿者和快递小哥，他们日夜奔忙，守护着这座英雄的城市和千万市民的健康。",
             "有英勇的你，才有英雄的城。武汉的声音告诉我们，团结一心，众志成城，就一定能够打赢这场疫情防控阻击战。"]
    html = ("<html lang='zh-CN'><head><title>武汉的声音：有英勇的你，才有英雄的城！-新华网</title></head><body>"
            "<div class='main'><h1>武汉的声音：有英勇的你，才有英雄的城！</h1>"
            + "".join(f"<p>{p}</p>" for p in paras) + "</div></body></html>")
    record = extract_article(html, "http://www.xinhuanet.com/politics/2020-02/22/c_1125597921.htm")
    assert record.word_count >= 60
    assert record.title == "武汉的声音：有英勇的你，才有英雄的城！"


def test_php_warnings_before_the_document_are_skipped():
    # trafilatura:bibliothek2null.de.mai.html starts with PHP warnings before <!DOCTYPE>
    junk = ("<br />\n<b>Warning</b>:  mysql_get_server_info(): Access denied for user ''@'localhost' (using "
            "password: NO) in <b>/www/htdocs/wordpress/wp-content/plugins/simple-tagging-plugin/simpletagging.php"
            "</b> on line <b>299</b><br />\n")
    html = (junk + '<!DOCTYPE html><html lang="de"><head><title>Alles Neue mach der Mai… | Bibliothek 2.0 und mehr'
            "</title></head><body><article><h1>Alles Neue mach der Mai…</h1>" + EN + "</article></body></html>")
    for doc in (html, html.encode("utf-8")):
        record = extract_article(doc, "https://bibliothek2null.de/2009/05/01/alles-neue/")
        assert record.title == "Alles Neue mach der Mai…"
        assert "Sentence number 5" in record.body and "Warning" not in record.body


def test_story_lost_in_pre_cleaning_is_taken_from_the_page_as_served(monkeypatch):
    # trafilatura:d43f330cbaf74e92b9aec85e937cb904.html: pre-cleaning left 0 of 2014 words
    def preclean_everything(tree, protected=None):
        for el in tree.find(".//body"):
            el.drop_tree()
        return 1

    monkeypatch.setattr(extract_module, "preclean", preclean_everything)
    html = f"<html><head><title>Forum thread</title></head><body><div class='forum'>{EN}</div></body></html>"
    record = extract_article(html, "https://www.example.org/forum/1")
    assert "Sentence number 5" in record.body
