"""Link articles to the assets they talk about, precision first.

Distinctive terms (``Bitcoin``, ``BTC``, ``Chainlink``) link on sight.
Terms that are also everyday words or abbreviations (``NEAR``, ``LINK``,
``ONE``, ``TON``, ``DOGE``, ``ether``) need evidence: a cashtag (``$NEAR``),
the asset's name right before it (``Harmony (ONE)``), or the exact case as a
ticker next to market words (price, token, traded, %, $, ...) in an article
that is about crypto at all. Once an asset is established in an article,
its other correctly-cased mentions count too.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Iterable

import pandas as pd

from newsmarkets.news.aliases import (
    AMBIGUOUS_TERMS,
    CRYPTO_EVIDENCE_WORDS,
    DEFAULT_ALIASES,
    DEFAULT_COINS,
    MARKET_CONTEXT_WORDS,
)

# How far (characters, within the sentence) market words may be from an ambiguous ticker.
CONTEXT_CHARS = 60

LINK_COLUMNS = ["article_id", "asset_id", "mentions", "in_title", "matched_terms", "published_at", "dt"]


class LinkError(ValueError):
    """Bad input to the linker: a malformed coin entry or a missing column."""


@dataclass(frozen=True)
class _Term:
    asset_id: str
    term: str  # as written in the dictionary
    is_symbol: bool  # tickers must match in upper case (or as a cashtag)
    is_ambiguous: bool


@dataclass
class AssetDictionary:
    """Compiled vocabulary: which surface forms point at which assets."""

    terms: dict[str, list[_Term]]  # lower-cased term -> entries
    pattern: re.Pattern
    names: dict[str, tuple[str, ...]]  # asset_id -> its name terms, for "Name (SYM)"
    asset_ids: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.asset_ids)


@dataclass(frozen=True)
class AssetMention:
    asset_id: str
    mentions: int
    in_title: bool
    matched_terms: list[str]


def _is_symbol_like(term: str) -> bool:
    return term.isupper() and " " not in term and len(term) <= 6 and term.isalnum()


def build_asset_dictionary(
    coins: Iterable[dict], aliases: dict[str, Iterable[str]] | None = None, *, include_default_aliases: bool = True
) -> AssetDictionary:
    """Compile a linker vocabulary from ``coins`` (dicts with ``id``, ``symbol``, ``name``).

    ``aliases`` maps a coin id to extra spellings; they are added to the
    defaults (:data:`DEFAULT_ALIASES`) unless ``include_default_aliases`` is
    false. Aliases for ids not in ``coins`` are ignored: we only link assets
    we track.
    """
    merged: dict[str, list[str]] = {}
    if include_default_aliases:
        for asset_id, extra in DEFAULT_ALIASES.items():
            merged.setdefault(asset_id, []).extend(extra)
    for asset_id, extra in (aliases or {}).items():
        if isinstance(extra, str):
            raise LinkError(f"aliases[{asset_id!r}]: expected a list of terms, got the string {extra!r}")
        merged.setdefault(asset_id, []).extend(extra)

    entries: dict[tuple[str, str], _Term] = {}
    names: dict[str, tuple[str, ...]] = {}
    asset_ids: list[str] = []
    for i, coin in enumerate(coins):
        if not isinstance(coin, dict):
            raise LinkError(f"coins[{i}]: expected a dict with id, symbol and name, got {type(coin).__name__}")
        for key in ("id", "symbol", "name"):
            if not isinstance(coin.get(key), str) or not coin[key].strip():
                raise LinkError(f"coins[{i}].{key}: expected a non-empty string, got {coin.get(key)!r}")
        asset_id = coin["id"]
        asset_ids.append(asset_id)
        forms = [coin["symbol"].upper(), coin["name"], *merged.get(asset_id, ())]
        asset_names = []
        for form in forms:
            form = " ".join(form.split())
            if not form:
                continue
            is_symbol = _is_symbol_like(form)
            if not is_symbol:
                asset_names.append(form)
            lowered = form.lower()
            ambiguous = lowered in AMBIGUOUS_TERMS or (is_symbol and len(form) <= 2)
            # distinctive names match in any case, so one entry covers every casing;
            # tickers and everyday words keep one entry per exact spelling
            key = lowered if not (is_symbol or ambiguous) else form
            entries.setdefault((key, asset_id), _Term(asset_id, form, is_symbol, ambiguous))
        names[asset_id] = tuple(dict.fromkeys(asset_names))

    by_key: dict[str, list[_Term]] = {}
    for term in entries.values():
        by_key.setdefault(term.term.lower(), []).append(term)
    if not by_key:
        raise LinkError("no terms to link: the coin list is empty")
    alternation = "|".join(re.escape(k) for k in sorted(by_key, key=len, reverse=True))
    # a cashtag may precede the term; letters/digits may not touch it on either side
    pattern = re.compile(rf"(?<![\w$])(?P<cash>\$)?(?P<term>{alternation})(?![\w])", re.IGNORECASE)
    return AssetDictionary(terms=by_key, pattern=pattern, names=names, asset_ids=tuple(asset_ids))


def default_dictionary() -> AssetDictionary:
    """The dictionary over :data:`DEFAULT_COINS` with the default aliases."""
    return build_asset_dictionary(DEFAULT_COINS)


_CONTEXT = re.compile(
    r"\$\s?\d|\d\s?%|%|\b(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in MARKET_CONTEXT_WORDS) + r")\b",
    re.IGNORECASE,
)
_EVIDENCE = re.compile(
    r"\$[A-Za-z]{2,6}\b|\b(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in CRYPTO_EVIDENCE_WORDS) + r")\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?](?=\s+[A-Z\"'“(])|\n")


@dataclass
class _Hit:
    term: _Term
    start: int
    end: int
    text: str  # the matched surface form
    cashtag: bool
    in_title: bool
    confirmed: bool = False
    case_ok: bool = False


def _sentence_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _SENTENCE_END.finditer(text)]


def _sentence_bounds(starts: list[int], text_len: int, start: int) -> tuple[int, int]:
    i = bisect_right(starts, start) - 1
    return starts[i], starts[i + 1] if i + 1 < len(starts) else text_len


def _mostly_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def _case_ok(hit: _Hit) -> bool:
    if hit.cashtag:
        return True
    if hit.term.is_symbol:
        return hit.text == hit.term.term
    if hit.term.is_ambiguous:
        return hit.text == hit.term.term  # "Harmony", "Ether" or "ether" exactly as listed
    return True


def _hits(text: str, dictionary: AssetDictionary, in_title: bool) -> list[_Hit]:
    hits = []
    for m in dictionary.pattern.finditer(text):
        surface = m.group("term")
        for term in dictionary.terms[surface.lower()]:
            hit = _Hit(term, m.start("term"), m.end(), surface, bool(m.group("cash")), in_title)
            hit.case_ok = _case_ok(hit)
            hits.append(hit)
    return hits


def link_article(title: str | None, body: str | None, dictionary: AssetDictionary) -> list[AssetMention]:
    """Assets an article is about, with mention counts; sorted by asset id."""
    title, body = title or "", body or ""
    texts = {True: title, False: body}
    hits = _hits(title, dictionary, True) + _hits(body, dictionary, False)
    if not hits:
        return []
    # a term shared by several tracked assets points at none of them on its own
    owners: dict[str, set[str]] = {}
    for hit in hits:
        owners.setdefault(hit.term.term.lower(), set()).add(hit.term.asset_id)

    for hit in hits:
        if hit.case_ok and not hit.term.is_ambiguous and len(owners[hit.term.term.lower()]) == 1:
            hit.confirmed = True
    strong_spans = {(h.in_title, h.start, h.end) for h in hits if h.confirmed}
    has_evidence = bool(strong_spans) or bool(_EVIDENCE.search(title) or _EVIDENCE.search(body))

    sentence_starts: dict[bool, list[int]] = {}
    for hit in hits:
        if hit.confirmed or not hit.case_ok or len(owners[hit.term.term.lower()]) > 1:
            continue
        text = texts[hit.in_title]
        if hit.cashtag:
            hit.confirmed = True
            continue
        if _named_before(text, hit, dictionary):
            hit.confirmed = True
            continue
        if not has_evidence or _hyphen_joined(text, hit):
            continue
        if hit.in_title not in sentence_starts:
            sentence_starts[hit.in_title] = _sentence_starts(text)
        lo, hi = _sentence_bounds(sentence_starts[hit.in_title], len(text), hit.start)
        if hit.term.is_symbol and _mostly_upper(text[lo:hi]):
            continue  # an ALL-CAPS headline makes every word look like a ticker
        window_lo, window_hi = max(lo, hit.start - CONTEXT_CHARS), min(hi, hit.end + CONTEXT_CHARS)
        window = text[window_lo : hit.start] + " " + text[hit.end : window_hi]
        near_strong = any(
            t == hit.in_title and window_lo <= s and e <= window_hi and (s, e) != (hit.start, hit.end)
            for t, s, e in strong_spans
        )
        if near_strong or _CONTEXT.search(window):
            hit.confirmed = True

    linked = {h.term.asset_id for h in hits if h.confirmed}
    mentions: list[AssetMention] = []
    for asset_id in sorted(linked):
        spans = {}
        for h in hits:
            if h.term.asset_id == asset_id and (h.confirmed or h.case_ok):
                spans.setdefault((h.in_title, h.start), h)  # one span, one mention
        counted = list(spans.values())
        mentions.append(
            AssetMention(
                asset_id=asset_id,
                mentions=len(counted),
                in_title=any(h.in_title for h in counted),
                matched_terms=sorted({h.term.term for h in counted}),
            )
        )
    return mentions


def _named_before(text: str, hit: _Hit, dictionary: AssetDictionary) -> bool:
    """``Harmony (ONE)``: a ticker in brackets right after the asset's own name."""
    before = text[max(0, hit.start - 60) : hit.start]
    if not before.rstrip().endswith("(") or not text[hit.end : hit.end + 2].lstrip().startswith(")"):
        return False
    head = before.rstrip()[:-1].rstrip()
    return any(head.endswith(name) for name in dictionary.names.get(hit.term.asset_id, ()))


def _hyphen_joined(text: str, hit: _Hit) -> bool:
    """``OP-ED``, ``ONE-TIME``, ``LINK-UP``: part of a compound word, not a ticker."""
    after = text[hit.end : hit.end + 2]
    before = text[max(0, hit.start - 2) : hit.start]
    return (len(after) == 2 and after[0] in "-/" and after[1].isalpha()) or (
        len(before) == 2 and before[1] in "-/" and before[0].isalpha()
    )


def link_frame(articles: pd.DataFrame, dictionary: AssetDictionary | None = None) -> pd.DataFrame:
    """One row per (article, asset) link: ``article_id, asset_id, mentions, in_title, matched_terms, published_at, dt``.

    ``articles`` needs ``article_id``, ``title``, ``body`` and ``published_at``
    (aware timestamps); ``dt`` is the UTC date of ``published_at``.
    """
    missing = [c for c in ("article_id", "title", "body", "published_at") if c not in articles.columns]
    if missing:
        raise LinkError(f"articles frame is missing column(s) {', '.join(missing)}")
    dictionary = dictionary or default_dictionary()
    rows = []
    for article_id, title, body, published_at in zip(
        articles["article_id"], articles["title"], articles["body"], articles["published_at"]
    ):
        for m in link_article(_text(title), _text(body), dictionary):
            rows.append((article_id, m.asset_id, m.mentions, m.in_title, m.matched_terms, published_at))
    frame = pd.DataFrame(rows, columns=LINK_COLUMNS[:-1])
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    frame["mentions"] = frame["mentions"].astype("int64")
    frame["in_title"] = frame["in_title"].astype(bool)
    frame["dt"] = frame["published_at"].dt.strftime("%Y-%m-%d")
    return frame.sort_values(["article_id", "asset_id"], ignore_index=True)[LINK_COLUMNS]


def _text(value) -> str:
    return value if isinstance(value, str) else ""
