"""Article extraction: our `extract_article` against bare trafilatura on the same pages.

Two page sets with known story text: every article page of the replay world's
news outlets (rendered by the replay site, as served over HTTP), and the
~20-template synthetic set from tests/unit/test_news_extract_quality.py (many
more boilerplate variants). Speed is CPU time over interleaved rounds, best
round kept, so another process on the machine disturbs it least.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))

ROUNDS = 5


def replay_pages() -> list[tuple[str, str, str]]:
    """(url, html, known body) for every article page of the replay world."""
    from newsmarkets.replay.news_site import NewsSite
    from newsmarkets.replay.news_world import NewsWorld
    from newsmarkets.replay.world import MarketWorld

    market = MarketWorld.generate("2026-01-05", 3, 20260105)
    news = NewsWorld.generate(market, 20260105)
    site = NewsSite(news)
    now = market.end_at
    root = "http://127.0.0.1:8765"
    pages = []
    for article in news.articles:
        status, _, body = site.handle(article.path, {}, now, root)
        if status == 200:
            pages.append((root + article.path, body.decode("utf-8"), news.article_text(article.slug)))
    return pages


def synthetic_pages() -> list[tuple[str, str, str]]:
    from test_news_extract_quality import build_pages

    return [(p.url, p.html, p.body) for p in build_pages()]


def _score(name: str, pages, extract) -> dict:
    from test_news_extract_quality import token_prf

    best = float("inf")
    scores = []
    for r in range(ROUNDS):
        t0 = time.process_time()
        bodies = [extract(html, url) for url, html, _ in pages]
        best = min(best, time.process_time() - t0)
        if r == 0:
            scores = [token_prf(b, gold) for b, (_, _, gold) in zip(bodies, pages)]
    n = len(scores)
    p, rc, f = (sum(s[i] for s in scores) / n for i in range(3))
    return {"extractor": name, "pages": len(pages), "pages_per_s": round(len(pages) / best, 1),
            "precision": round(p, 3), "recall": round(rc, 3), "f1": round(f, 3)}


def run() -> dict:
    import trafilatura

    from newsmarkets.news.extract import ExtractionError, extract_article

    fetched = datetime(2026, 1, 8, tzinfo=timezone.utc)

    def ours(html, url):
        try:
            return extract_article(html, url, fetched_at=fetched).body
        except ExtractionError:
            return ""

    def bare(html, url):
        return trafilatura.extract(html, url=url) or ""

    out = {}
    for set_name, pages in (("replay world pages", replay_pages()), ("synthetic templates", synthetic_pages())):
        rows = [_score("trafilatura.extract (bare)", pages, bare), _score("extract_article (ours)", pages, ours)]
        rows[1]["speed_vs_bare"] = round(rows[1]["pages_per_s"] / rows[0]["pages_per_s"], 2)
        out[set_name] = rows
    return out


def markdown(result: dict) -> str:
    lines = []
    for set_name, rows in result.items():
        lines += [f"**{set_name}** ({rows[0]['pages']} pages)", "",
                  "| extractor | pages/s (CPU) | body precision | recall | F1 |", "|---|---:|---:|---:|---:|"]
        for r in rows:
            lines.append(f"| {r['extractor']} | {r['pages_per_s']} | {r['precision']} | {r['recall']} | {r['f1']} |")
        lines += ["", f"Speed of ours relative to bare trafilatura: **{rows[1]['speed_vs_bare']}×** (target ≥ 0.8×).", ""]
    lines.append("Precision/recall are bag-of-words overlap of the extracted body with the page's known story text.")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run()))
