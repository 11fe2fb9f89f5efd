"""Real pages: our `extract_article` against bare trafilatura and htmldate on their own evaluation corpora.

The pages and annotations are the public evaluation sets of trafilatura
(``tests/evaldata.json``: "with" chunks that must be in the extracted text,
"without" chunks that must not, plus title and date for most pages) and
htmldate (``tests/eval_default.json`` and ``tests/eval_mediacloud_2020.json``:
the publish day), committed gzipped under bench/corpus/ (see its README.md
and build_corpus.py). In one pass over the distinct pages this scores:

* body: annotation checks as trafilatura's evaluation counts them (summed
  TP/FP/FN/TN, see bench/scoring.py) for ours and for bare
  ``trafilatura.extract`` with upstream's settings (no comments, tables, no
  formatting, fallback on); shingle P/R/F1 needs a full reference text,
  which neither corpus has;
* publish day: ours (``published_at``, UTC, and ``published_local_date``,
  the day in the page's own offset, which is what the annotations state)
  vs ``htmldate.find_date`` called
  as htmldate's evaluation calls it (``original_date=True,
  extensive_search=True``, no URL);
* title exact match against trafilatura's annotation: ours vs
  ``trafilatura.extract_metadata``;
* CPU time per page of each call;
* short stories (issue 21): at the configured floor (``news.min_words``, 80)
  the old rule rejects every body under it, the new one keeps a short story
  when the page is an article page (``newsmarkets.news.article_page``).
  Pages under :data:`SHORT_CHECK_WORDS` words (or failing) at the default
  floor are extracted again at 80; each change is listed, and the pages in
  :data:`NOT_ARTICLE_PAGES` (checked by hand: home, archive and index pages)
  must stay rejected wherever the old rule rejected them.

A page that fails to extract (or raises) counts as a miss everywhere. Ours
gets the page URL when it is an http(s) one; the upstream calls get what
their own evaluations pass. ``fetched_at`` is the time of the run (htmldate's
default latest date is today as well). Per-page outcomes go to
bench/results/bench_real_pages.pages.json. ``BENCH_REAL_PAGES_LIMIT=N`` scores
only the first N distinct pages (for a quick try; results then are not the
published ones).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scoring import (  # noqa: E402
    Confusion, count_chunks, day_outcome, states_time, title_as_read, title_match, title_match_as_read, to_day)

CORPUS = HERE / "corpus"
DETAIL = HERE / "results" / "bench_real_pages.pages.json"
DATE_SETS = ("htmldate", "mediacloud", "trafilatura")
OURS, BARE, META, HTMLDATE = ("extract_article (ours)", "trafilatura.extract (bare)",
                              "trafilatura.extract_metadata", "htmldate.find_date")
OURS_LOCAL = "extract_article (ours, page's local day)"
CONFIGURED_MIN_WORDS = 80  # news.min_words as configured (config.py, README)
# Over this many words at the default floor, a page is over 80 at the configured floor as well (the
# same first extraction; the retries only add text), so it is kept by both rules and not re-run.
SHORT_CHECK_WORDS = 200
# Corpus pages that are not one article, checked by hand in the page (home pages, a blog's year
# archive, section fronts); the corpora are mostly article pages, these are the exceptions found
# by URL (site roots, listing paths) and by looking at every page either rule keeps under 80 words.
NOT_ARTICLE_PAGES = {
    "htmldate:austria.info.html": "home page", "htmldate:bayern.de.html": "home page",
    "htmldate:blog.wordpress.com.html": "blog home page", "htmldate:stuttgart.de.html": "home page",
    "htmldate:prof-pc.de.html": "home page", "htmldate:facebook.com.visitaustria.html": "profile page",
    "htmldate:unexpecteduser.2011.html": "blog year archive (/2011/)",
    "htmldate:echte-demokratie-jetzt.de.blog.html": "blog front page (/blog/)",
    "trafilatura:pix-bavaria.de.html": "home page", "trafilatura:sass-ag.de.index.html": "home page",
    "mediacloud:1630687900.html": "home page (96fm.ie)",
}


def load_manifest() -> dict:
    return json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))


def page_bytes(entry: dict) -> bytes:
    return gzip.decompress((CORPUS / entry["gz"]).read_bytes())


def decode_like_htmldate(data: bytes) -> str | bytes:
    """What htmldate's ``tests/evaluation.py::load_document`` hands to find_date."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import detect

        guessed = detect(data)["encoding"]
        if guessed:
            try:
                return data.decode(guessed)
            except (UnicodeDecodeError, LookupError):
                pass
        return data


def _timed(fn, *args, **kwargs):
    t0 = time.process_time()
    try:
        out, err = fn(*args, **kwargs), None
    except Exception as exc:  # a crash is a miss, named in the details
        out, err = None, f"{type(exc).__name__}: {str(exc)[:120]}"
    return out, time.process_time() - t0, err


def _date_wanted(entry: dict) -> bool:
    return entry["set"] in DATE_SETS and to_day(entry["annotations"].get("date")) is not None


def run() -> dict:
    import htmldate
    import trafilatura
    from trafilatura.utils import load_html

    from newsmarkets.news.extract import ExtractionError, extract_article

    def _ours(data: bytes, url: str | None, fetched_at: datetime):
        try:
            return extract_article(data, url, fetched_at=fetched_at)
        except ExtractionError as exc:  # the reason, without the URL in front
            raise RuntimeError(exc.reason) from None

    def _ours_at_floor(data: bytes, url: str | None, fetched_at: datetime):
        try:
            return extract_article(data, url, fetched_at=fetched_at, min_words=CONFIGURED_MIN_WORDS)
        except ExtractionError as exc:
            raise RuntimeError(exc.reason) from None

    manifest = load_manifest()
    by_sha: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for page_id, entry in manifest["pages"].items():
        by_sha[entry["sha256"]].append((page_id, entry))
    shas = sorted(by_sha)
    limit = int(os.environ.get("BENCH_REAL_PAGES_LIMIT", "0") or 0)
    if limit:
        shas = shas[:limit]
    fetched_at = datetime.now(timezone.utc)
    cpu: dict[str, float] = Counter()
    calls: dict[str, int] = Counter()
    outputs: dict[str, dict] = {}
    wall0 = time.perf_counter()
    for i, sha in enumerate(shas, 1):
        entries = [e for _, e in by_sha[sha]]
        data = page_bytes(entries[0])
        url = next((e["url"] for e in entries if e["url"].startswith(("http://", "https://"))), None)
        out: dict = {}
        record, took, err = _timed(_ours, data, url, fetched_at)
        cpu[OURS] += took
        calls[OURS] += 1
        if record is not None:
            out["ours"] = {"body": record.body, "title": record.title, "source": record.published_at_source,
                           "published_at": record.published_at.isoformat() if record.published_at else None,
                           "local_date": (record.published_local_date.isoformat()
                                          if getattr(record, "published_local_date", None) else None)}
        else:
            out["ours_error"] = err.removeprefix("RuntimeError: ")
        if record is None or len(record.body.split()) < SHORT_CHECK_WORDS:
            at_floor, _, floor_err = _timed(_ours_at_floor, data, url, fetched_at)
            out["floor"] = ({"words": at_floor.word_count} if at_floor is not None
                            else {"error": floor_err.removeprefix("RuntimeError: ")})
        if any(e["set"] == "trafilatura" for e in entries):
            body, took, err = _timed(trafilatura.extract, data, fast=False, include_comments=False,
                                     include_tables=True, include_formatting=False)
            cpu[BARE] += took
            calls[BARE] += 1
            out["bare"], out["bare_error"] = body, err
            meta, took, err = _timed(lambda d: trafilatura.extract_metadata(load_html(d)), data)
            cpu[META] += took
            calls[META] += 1
            out["meta_title"] = getattr(meta, "title", None)
            out["printed_titles"] = printed_titles(load_html(data))
        if any(_date_wanted(e) for e in entries):
            decoded = decode_like_htmldate(data)
            found, took, err = _timed(htmldate.find_date, decoded, original_date=True, extensive_search=True)
            cpu[HTMLDATE] += took
            calls[HTMLDATE] += 1
            out["htmldate"], out["htmldate_error"] = found, err
        outputs[sha] = out
        if i % 50 == 0 or i == len(shas):
            print(f"  real pages: {i}/{len(shas)} distinct pages, {time.perf_counter() - wall0:.0f} s",
                  file=sys.stderr, flush=True)
    wall = time.perf_counter() - wall0

    details: list[dict] = []
    body = {OURS: Confusion(), BARE: Confusion()}
    all_pass: Counter = Counter()
    failed: Counter = Counter()
    dates: dict[str, dict[str, Counter]] = {s: {OURS: Counter(), OURS_LOCAL: Counter(), HTMLDATE: Counter()}
                                            for s in DATE_SETS}
    by_source: dict[str, Counter] = defaultdict(Counter)
    titles: dict[str, int] = Counter()
    titles_as_read: dict[str, int] = Counter()
    printed: dict[str, int] = Counter()
    printed_as_read: dict[str, int] = Counter()
    title_pages = printed_pages = 0
    timed_refs = 0
    skipped_dates = Counter()
    for page_id, entry in sorted(manifest["pages"].items()):
        out = outputs.get(entry["sha256"])
        if out is None:
            continue
        ann = entry["annotations"]
        ours = out.get("ours") or {}
        row: dict = {"id": page_id}
        if "ours_error" in out:
            row["ours_error"] = out["ours_error"]
        if entry["set"] == "trafilatura":
            for tool, text in ((OURS, ours.get("body")), (BARE, out.get("bare"))):
                counts = count_chunks(ann["with"], ann["without"], text)
                body[tool].add(counts)
                all_pass[tool] += counts[1] == 0 and counts[2] == 0
                failed[tool] += text is None
                row["ours" if tool == OURS else "bare"] = list(counts)
            if ann.get("title"):
                title_pages += 1
                is_printed = title_as_read(ann["title"]) in {title_as_read(t) for t in out.get("printed_titles", [])}
                printed_pages += is_printed
                for tool, got in ((OURS, ours.get("title")), (META, out.get("meta_title"))):
                    ok, ok_read = title_match(got, ann["title"]), title_match_as_read(got, ann["title"])
                    titles[tool] += ok
                    titles_as_read[tool] += ok_read
                    printed[tool] += ok and is_printed
                    printed_as_read[tool] += ok_read and is_printed
                    if tool == OURS and not ok:
                        row["title"] = [ann["title"], got, "printed" if is_printed else "not printed"]
        if entry["set"] in DATE_SETS:
            expected = ann.get("date")
            if to_day(expected) is None:
                skipped_dates[entry["set"]] += 1
            else:
                timed_refs += states_time(expected)
                ours_day = day_outcome(ours.get("published_at"), expected)
                hd_day = day_outcome(out.get("htmldate"), expected)
                dates[entry["set"]][OURS][ours_day] += 1
                local_day = day_outcome(ours.get("local_date"), expected)
                dates[entry["set"]][OURS_LOCAL][local_day] += 1
                dates[entry["set"]][HTMLDATE][hd_day] += 1
                by_source[ours.get("source") or "none"][local_day] += 1
                if local_day != "exact":
                    row["date"] = [expected, ours.get("published_at"), ours.get("source"), out.get("htmldate"),
                                   ours.get("local_date")]
        if len(row) > 1:
            details.append(row)
    DETAIL.parent.mkdir(exist_ok=True)
    DETAIL.write_text("[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in details) + "\n]\n",
                      encoding="utf-8")

    n_traf = sum(1 for e in manifest["pages"].values()
                 if e["set"] == "trafilatura" and e["sha256"] in outputs)

    def date_rows(counter_by_tool: dict[str, Counter]) -> list[dict]:
        rows = []
        for tool, c in counter_by_tool.items():
            n = sum(c.values())
            rows.append({"tool": tool, "pages": n, "exact": c["exact"], "off_by_one": c["off-by-one"],
                         "wrong": c["wrong"], "none": c["none"], "day_accuracy": round(c["exact"] / n, 3) if n else None})
        return rows

    short = short_stories(manifest, outputs)

    return {
        "short_stories": short,
        "measured_at": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "corpus": {"upstream": manifest["upstream"], "sets": manifest["sets"],
                   "distinct_pages": manifest["distinct_pages"], "gz_mb": round(manifest["gz_bytes"] / 1e6, 1),
                   "scored_distinct_pages": len(shas), "limited": bool(limit)},
        "versions": {"trafilatura": trafilatura.__version__, "htmldate": htmldate.__version__},
        "body": {
            "pages": n_traf,
            "rows": [{"tool": tool, **{k: round(v, 3) for k, v in c.scores().items()},
                      "tp": c.tp, "fp": c.fp, "fn": c.fn, "tn": c.tn,
                      "pages_all_pass": all_pass[tool], "failed_pages": failed[tool]} for tool, c in body.items()],
            "shingle_f1": "not measurable: neither corpus ships a full reference text (trafilatura's has "
                          "annotated chunks only, htmldate's dates only)",
        },
        "dates": {s: date_rows(dates[s]) for s in DATE_SETS},
        "dates_skipped": dict(skipped_dates),
        "ours_by_date_source": {src: dict(c) for src, c in sorted(by_source.items())},
        "minute": (f"not measurable: {timed_refs} of the reference dates state a time of day "
                   "(all annotations are calendar days)") if timed_refs == 0 else f"{timed_refs} timed references",
        "titles": {"pages": title_pages, "printed_pages": printed_pages,
                   "rows": [{"tool": t, "match": titles[t], "share": _share(titles[t], title_pages),
                             "as_read": titles_as_read[t], "as_read_share": _share(titles_as_read[t], title_pages),
                             "printed_match": printed[t], "printed_share": _share(printed[t], printed_pages),
                             "printed_as_read": printed_as_read[t],
                             "printed_as_read_share": _share(printed_as_read[t], printed_pages)}
                            for t in (OURS, META)]},
        "speed": [{"tool": t, "pages": calls[t], "cpu_s": round(cpu[t], 1),
                   "pages_per_s": round(calls[t] / cpu[t], 1) if cpu[t] else None} for t in (OURS, BARE, META, HTMLDATE)],
        "wall_s": round(wall, 1),
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def printed_titles(tree) -> list[str]:
    """What the page prints as its headline: each <h1>'s text and the og:title, whitespace-normalised.
    The title reference is trafilatura's annotation where it is one of these (the issue's "main
    <h1>/og:title headline"); annotations naming a text the page prints as neither are scored apart."""
    texts = [h1.text_content() for h1 in tree.iter("h1")] if tree is not None else []
    if tree is not None:
        texts += tree.xpath('//meta[@property="og:title" or @name="og:title"]/@content')
    return [" ".join(t.split()) for t in texts if t and t.strip()]


def short_stories(manifest: dict, outputs: dict) -> dict:
    """Old rule (every body under the configured floor rejected) vs new (short stories on article pages kept)."""
    ids = defaultdict(list)
    for page_id, entry in manifest["pages"].items():
        ids[entry["sha256"]].append(page_id)
    old_kept = new_kept = pages = 0
    newly_kept, not_article = [], {"pages": 0, "old_rejected": 0, "new_rejected": 0, "let_in": []}
    labelled = {page_id for page_id in NOT_ARTICLE_PAGES if page_id in manifest["pages"]}
    for sha, out in outputs.items():
        pages += 1
        floor = out.get("floor")
        kept_new = floor is None or "words" in floor
        kept_old = floor is None or floor.get("words", 0) >= CONFIGURED_MIN_WORDS
        old_kept += kept_old
        new_kept += kept_new
        if kept_new and not kept_old:
            newly_kept.append({"id": sorted(ids[sha])[0], "words": floor["words"]})
        if labelled & set(ids[sha]):
            not_article["pages"] += 1
            not_article["old_rejected"] += not kept_old
            not_article["new_rejected"] += not kept_new
            if kept_new and not kept_old:
                not_article["let_in"].append(sorted(ids[sha])[0])
    return {"min_words": CONFIGURED_MIN_WORDS, "pages": pages, "old_kept": old_kept, "new_kept": new_kept,
            "newly_kept": sorted(newly_kept, key=lambda r: r["id"]), "not_article": not_article}


def markdown(result: dict) -> str:
    c = result["corpus"]
    up = c["upstream"]
    sets = c["sets"]
    lines = [
        f"Corpus (bench/corpus/, {c['distinct_pages']} distinct pages, {c['gz_mb']} MB gzipped): "
        f"adbar/trafilatura@{up['trafilatura']['commit'][:8]} `tests/evaldata.json` "
        f"({sets['trafilatura']['pages']} pages), adbar/htmldate@{up['htmldate']['commit'][:8]} "
        f"`tests/eval_default.json` ({sets['htmldate']['pages']}) and `tests/eval_mediacloud_2020.json` "
        f"({sets['mediacloud']['pages']}). trafilatura {result['versions']['trafilatura']}, "
        f"htmldate {result['versions']['htmldate']}; measured {result['measured_at']}"
        + (" (**limited run**)" if c.get("limited") else "") + ".",
        "",
        f"**Body: trafilatura's with/without annotations** ({result['body']['pages']} pages; summed counts as upstream's "
        "evaluation: TP = with-chunk found, FN = missing, FP = without-chunk found, TN = absent)",
        "",
        "| extractor | with found | without absent | precision | recall | accuracy | F1 | pages passing every check | failed pages |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["body"]["rows"]:
        lines.append(f"| {r['tool']} | {r['with_found']} | {r['without_absent']} | {r['precision']} | {r['recall']} | "
                     f"{r['accuracy']} | **{r['f1']}** | {r['pages_all_pass']} | {r['failed_pages']} |")
    lines += ["", f"Shingle P/R/F1: {result['body']['shingle_f1']}.", "",
              "**Publish day** (ours: `published_at` in UTC, and `published_local_date`, the day as the page "
              "states it, which is what the annotations record; htmldate: `find_date(original_date=True)`; a page "
              "without a result or failing counts as a miss)", "",
              "| set | tool | pages | day accuracy | exact | ±1 day | other day | no date |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for set_name, rows in result["dates"].items():
        for r in rows:
            lines.append(f"| {set_name} | {r['tool']} | {r['pages']} | **{r['day_accuracy']}** | {r['exact']} | "
                         f"{r['off_by_one']} | {r['wrong']} | {r['none']} |")
    src = ", ".join(f"{s}: {d.get('exact', 0)}/{sum(d.values())}" for s, d in result["ours_by_date_source"].items())
    lines += ["", "±1 day is often a time-zone shift, not a wrong date: `published_at` is the instant in UTC, the "
              "annotations are the page's local day (the local-day row compares like with like).",
              f"Ours (local day) by where the date came from (exact/pages): {src}.",
              f"Minute accuracy: {result['minute']}.", ""]
    t = result["titles"]
    lines += ["**Title**: exact match (whitespace-normalised) and as read (also case, quotes, dashes and soft "
              "hyphens folded: og:title and <h1> print the same headline with different quotes, and annotators "
              "copied CSS-uppercased headlines in capitals). Reference: trafilatura's title annotation; the "
              f"headline reference is the {t.get('printed_pages', '?')} of {t['pages']} annotated pages whose "
              "annotation the page prints as an <h1> or its og:title; on the others the annotator named a text "
              "the page shows as neither (an <h2>, a shortened or reworded headline).", "",
              "| title extractor | all annotated pages: exact | as read | headline reference: exact | as read |",
              "|---|---:|---:|---:|---:|"]
    for r in t["rows"]:
        lines.append(f"| {r['tool']} | {r['match']} ({r['share']}) | {r.get('as_read', '-')} "
                     f"({r.get('as_read_share', '-')}) | **{r.get('printed_match', '-')} ({r.get('printed_share', '-')})**"
                     f" | {r.get('printed_as_read', '-')} ({r.get('printed_as_read_share', '-')}) |")
    lines += ["", "| call | pages | CPU s | pages/s (CPU) |", "|---|---:|---:|---:|"]
    for r in result["speed"]:
        lines.append(f"| {r['tool']} | {r['pages']} | {r['cpu_s']} | {r['pages_per_s']} |")
    short = result.get("short_stories")
    if short:
        na = short["not_article"]
        lines += ["", f"**Short stories** (issue 21) at the configured floor `news.min_words: {short['min_words']}`, "
                  f"{short['pages']} distinct pages: the old rule (every body under {short['min_words']} words "
                  "rejected) vs the new (a shorter story kept when the page is an article page):", "",
                  "| rule | pages kept | pages rejected | non-article pages rejected (hand-checked) |",
                  "|---|---:|---:|---:|",
                  f"| old | {short['old_kept']} | {short['pages'] - short['old_kept']} | "
                  f"{na['old_rejected']} of {na['pages']} |",
                  f"| new | {short['new_kept']} | {short['pages'] - short['new_kept']} | "
                  f"{na['new_rejected']} of {na['pages']} |", "",
                  f"Kept now, rejected before ({len(short['newly_kept'])}, each checked by hand: an article, blog "
                  "post or news item): " + ", ".join(f"{r['id']} ({r['words']} words)" for r in short["newly_kept"])
                  + f". Non-article pages the new rule lets in that the old rejected: "
                  f"{', '.join(na['let_in']) or 'none'}; those kept by both have bodies over the floor, which "
                  "neither rule judges."]
    lines += ["", f"One pass, each call timed per page (CPU); whole run {result['wall_s']:.0f} s wall. Ours does body, "
              "metadata and date in one call; bare trafilatura is the body only. Per-page misses: "
              "bench/results/bench_real_pages.pages.json."]
    return "\n".join(lines)


if __name__ == "__main__":
    res = run()
    (HERE / "results" / "bench_real_pages.json").write_text(json.dumps(res, indent=2) + "\n")
    print(markdown(res))
