"""Link articles to the assets they talk about, precision first.

Distinctive terms (``Bitcoin``, ``BTC``, ``Chainlink``) link on sight.
Terms that are also everyday words or abbreviations (``NEAR``, ``LINK``,
``ONE``, ``TON``, ``DOGE``, ``ether``) need evidence: a cashtag (``$NEAR``),
the asset's name right before it (``Harmony (ONE)``), or the exact case as a
ticker next to market words (price, token, traded, %, $, ...) in an article
that is about crypto at all. Once an asset is established in an article,
its other correctly-cased mentions count too.

The built-in coins' terms carry hand-set ambiguity; any other coin's (the
provider's list, :mod:`newsmarkets.news.vocabulary`) is judged by how common
it is in English (:mod:`newsmarkets.news.everyday`). Price-ticker strips
(``BTC $94,512 +1.2% ETH $3,310 -0.4% ...``) and boilerplate lines
(``Related: ...``, ``Disclosure: ...``) link nothing.
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
from newsmarkets.news.everyday import is_everyday_term

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
    rank: int | None = None  # market-cap rank: a term several coins share goes to the best-ranked
    any_case: bool = False  # a distinctive ticker (stETH, USDe, cbBTC) matches in any case
    is_curated: bool = False  # a built-in or caller-given term: a name of it links on sight and is crypto evidence


@dataclass
class AssetDictionary:
    """Compiled vocabulary: which surface forms point at which assets."""

    terms: dict[str, list[_Term]]  # lower-cased term -> entries
    pattern: re.Pattern
    names: dict[str, tuple[str, ...]]  # asset_id -> its name terms, for "Name (SYM)"
    asset_ids: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.asset_ids)

    def contains_term(self, text: str) -> bool:
        """Does ``text`` hold a term of a linkable coin (any case)?"""
        return any(any(t.asset_id for t in self.terms[m.group("term").lower()]) for m in self.pattern.finditer(text))


@dataclass(frozen=True)
class AssetMention:
    asset_id: str
    mentions: int
    in_title: bool
    matched_terms: list[str]


def _is_symbol_like(term: str) -> bool:
    return term.isupper() and " " not in term and len(term) <= 6 and term.isalnum()


def _curated_terms() -> frozenset[str]:
    """Lower-cased terms of the built-in coins: their ambiguity is set by hand in :mod:`aliases`."""
    forms = [c["symbol"] for c in DEFAULT_COINS] + [c["name"] for c in DEFAULT_COINS]
    forms += [a for extra in DEFAULT_ALIASES.values() for a in extra]
    return frozenset(" ".join(f.split()).lower() for f in forms)


_CURATED = _curated_terms()


def _is_ambiguous(form: str, is_symbol: bool, trusted: frozenset[str] = frozenset()) -> bool:
    lowered = form.lower()
    if lowered in AMBIGUOUS_TERMS or (is_symbol and len(form) <= 2):
        return True
    return lowered not in _CURATED and lowered not in trusted and is_everyday_term(form)


def _rank(coin: dict) -> int | None:
    rank = coin.get("market_cap_rank")
    return int(rank) if isinstance(rank, (int, float)) and not isinstance(rank, bool) and rank == rank and rank >= 1 else None


def build_asset_dictionary(
    coins: Iterable[dict], aliases: dict[str, Iterable[str]] | None = None, *, include_default_aliases: bool = True,
    blockers: Iterable[str] = (),
) -> AssetDictionary:
    """Compile a linker vocabulary from ``coins`` (dicts with ``id``, ``symbol``, ``name``; optional ``market_cap_rank``).

    ``aliases`` maps a coin id to extra spellings; they are added to the
    defaults (:data:`DEFAULT_ALIASES`) unless ``include_default_aliases`` is
    false. Aliases for ids not in ``coins`` are ignored: we only link assets
    we track. ``blockers`` are names of other coins ("Bitcoin Cash" when only
    bitcoin is tracked): they match, so the tracked name inside them does not,
    and link nothing.
    """
    merged: dict[str, list[str]] = {}
    if include_default_aliases:
        for asset_id, extra in DEFAULT_ALIASES.items():
            merged.setdefault(asset_id, []).extend(extra)
    for asset_id, extra in (aliases or {}).items():
        if isinstance(extra, str):
            raise LinkError(f"aliases[{asset_id!r}]: expected a list of terms, got the string {extra!r}")
        merged.setdefault(asset_id, []).extend(extra)
    # The caller's own aliases are trusted like the built-in ones (their ambiguity is the caller's call).
    trusted = frozenset(" ".join(a.split()).lower() for extra in (aliases or {}).values() for a in extra)

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
        # "Ethena's USDe" is the coin "Ethena USDe", not Ethena's own token
        forms += [f"{head}{mark}s {rest}" for head, _, rest in (f.partition(" ") for f in forms[1:] if " " in f.strip())
                  for mark in ("'", "’") if rest and not _is_symbol_like(head)]
        asset_names = []
        for form in forms:
            form = " ".join(form.split())
            if not form:
                continue
            is_symbol = _is_symbol_like(form)
            if not is_symbol:
                asset_names.append(form)
            lowered = form.lower()
            ambiguous = _is_ambiguous(form, is_symbol, trusted)
            # Long tickers that are no word (STETH, USDE, CBBTC) are written in mixed case (stETH, USDe, cbBTC).
            any_case = is_symbol and not ambiguous and len(form) >= 4 and lowered not in _CURATED
            # distinctive names match in any case, so one entry covers every casing;
            # tickers and everyday words keep one entry per exact spelling
            key = lowered if not (is_symbol or ambiguous) or any_case else form
            curated = lowered in _CURATED or lowered in trusted
            term = _Term(asset_id, form, is_symbol, ambiguous, _rank(coin), any_case, curated)
            known = entries.get((key, asset_id))
            if known is None or (known.is_symbol and not is_symbol):  # the name "Aave" over the ticker AAVE
                entries[(key, asset_id)] = term
        names[asset_id] = tuple(dict.fromkeys(asset_names))

    for name in blockers:
        name = " ".join(name.split())
        if name and not any(key == name.lower() for key, _ in entries):
            entries.setdefault((name.lower(), ""), _Term("", name, False, False))
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
    undecided: bool = False  # a term several coins share with no rank to decide: it never links on its own


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
    if hit.term.any_case:  # stETH, USDe, STETH; never "eigen" or "Buidl", which are words
        return hit.text == hit.term.term or any(c.isupper() for c in hit.text[1:])
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
            if not term.asset_id:
                continue  # another coin's name: it holds the span so a tracked name inside it is no mention
            hit = _Hit(term, m.start("term"), m.end(), surface, bool(m.group("cash")), in_title)
            hit.case_ok = _case_ok(hit)
            hits.append(hit)
    return hits


def _resolve_shared(hits: list[_Hit]) -> list[_Hit]:
    """A term several tracked coins share (USDC, WETH) goes to the best-ranked one; on a tie it is undecided."""
    owners: dict[str, dict[str, int | None]] = {}
    for hit in hits:
        owners.setdefault(hit.term.term.lower(), {})[hit.term.asset_id] = hit.term.rank
    winner: dict[str, str | None] = {}
    for term, ranked in owners.items():
        if len(ranked) == 1:
            winner[term] = next(iter(ranked))
            continue
        known = sorted((r, a) for a, r in ranked.items() if r is not None)
        winner[term] = known[0][1] if known and (len(known) == 1 or known[0][0] < known[1][0]) else None
    kept = []
    for hit in hits:
        best = winner[hit.term.term.lower()]
        if best is None:
            hit.undecided = True
        if best is None or best == hit.term.asset_id:
            kept.append(hit)
    return kept


# Between two cells of a price ticker there are only numbers, signs, separators and other (untracked) tickers.
_TICKER_GAP = re.compile(r"(?:[\s\d$€£¥.,:;|/+\-−–—%()\[\]▲▼↑↓#*·•]|\b[A-Z][A-Z0-9]{1,5}\b)*")
_NUMBER_AFTER = re.compile(r"\s*[:\-–|]?\s*[+\-−▲▼↑↓]?\s?[$€£]?\s?[+\-−]?\d")
# Lines a page prints around an article: related links, disclosures, newsletter and credit boxes.
_BOILERPLATE_LEAD = re.compile(
    r"\s*(?:(?:related(?:\s+(?:articles?|stories|news|posts|coverage|reading))?|read\s+(?:more|also|next)|also\s+read|"
    r"more\s+(?:from|on|news)|trending(?:\s+now)?|most\s+(?:read|popular)|popular|recommended|you\s+may\s+also\s+like|"
    r"top\s+(?:gainers|losers|movers)|(?:biggest\s+)?(?:gainers|losers|movers)|disclosure|disclaimer|sponsored|"
    r"advertisement|subscribe|sign\s+up|newsletter|follow\s+us|price\s+data|prices?\s+by|powered\s+by|©|copyright|"
    r"track|editor'?s?\s+picks?|coins?\s+mentioned(?:\s+in\s+this\s+(?:article|story))?|heatmap|watchlist)\b"
    r"|(?:tags?|topics?|watch|listen|convert|markets?|live\s+prices?|share(?:\s+this(?:\s+article)?)?)\s*[:|])",
    re.IGNORECASE,
)
# Cues that make a whole paragraph promotional or a disclaimer, wherever they stand in it.
_BOILERPLATE_CUE = re.compile(
    r"\b(?:not\s+(?:financial|investment|trading)\s+advice|for\s+informational\s+purposes|capital\s+at\s+risk|"
    r"our\s+partners?\b|we\s+use\s+cookies|join\s+[\d,.]+k?\s+(?:readers|subscribers|traders|investors)|"
    r"(?:holds?|owns?)\s+(?:small\s+amounts?|a\s+small\s+amount|no\s+positions?)\b|the\s+author\s+(?:holds|owns)|"
    r"check\s+(?:out\s+)?our|subscribe\s+(?:on|to\s+our)|sister\s+site|all\s+rights\s+reserved)",
    re.IGNORECASE,
)
# Link lists, breadcrumbs and menus: two or more of these in one sentence.
_SEPARATORS = re.compile(r"\s[|›»·•▶]\s|\s[|›»·•▶]$")
# Words that never appear in a navigation bar but do in a title-case heading.
_FUNCTION_WORDS = frozenset("a an the of to in on at for and or but as is are was were be by with from why what how "
                            "after before over into than this that its it".split())
# A long paragraph starting with a lead word is probably an article that merely starts so.
_FURNITURE_LINE_MAX = 500


def _ticker_spans(text: str, hits: list[_Hit]) -> set[tuple[int, int]]:
    """Spans of hits that are cells of a price-ticker strip: 3+ coins, only numbers between them."""
    cells: dict[tuple[int, int], set[str]] = {}
    for h in hits:  # a term several coins share is one cell
        cells.setdefault((h.start, h.end), set()).add(h.term.asset_id)
    out: set[tuple[int, int]] = set()
    run: list[tuple[int, int]] = []

    def close() -> None:
        priced = [cells[sp] for sp in run if _NUMBER_AFTER.match(text, sp[1])]
        if len(set().union(*priced)) >= 3 and len(priced) >= 3:
            out.update(run)

    for span in sorted(cells):
        if run and not (span[0] >= run[-1][1] and _TICKER_GAP.fullmatch(text, run[-1][1], span[0])):
            close()
            run = []
        run.append(span)
    if run:
        close()
    return out


def _is_nav_bar(sentence: str) -> bool:
    """``Home News Bitcoin Ethereum Markets Learn Podcasts``: 8+ capitalised words, no function word, no punctuation."""
    words = sentence.split()
    return (len(words) >= 8 and all(w[:1].isupper() and w.isalpha() for w in words)
            and not any(w.lower() in _FUNCTION_WORDS for w in words))


def _furniture_ranges(text: str, starts: list[int], in_title: bool) -> list[tuple[int, int]]:
    """Character ranges of page furniture: boilerplate paragraphs, link lists, menus."""
    out = []
    line_start = 0
    for line in text.split("\n"):
        line_end = line_start + len(line)
        if len(line) <= _FURNITURE_LINE_MAX and (_BOILERPLATE_LEAD.match(line) or _BOILERPLATE_CUE.search(line)):
            out.append((line_start, line_end))
        line_start = line_end + 1
    bounds = [(lo, starts[i + 1] if i + 1 < len(starts) else len(text)) for i, lo in enumerate(starts)]
    for lo, hi in bounds:
        sentence = text[lo:hi]
        if (_BOILERPLATE_LEAD.match(sentence) or len(_SEPARATORS.findall(sentence)) >= 2
                or (not in_title and _is_nav_bar(sentence))):
            out.append((lo, hi))
    return out


def _drop_page_furniture(text: str, hits: list[_Hit], in_title: bool = False) -> list[_Hit]:
    if not hits:
        return hits
    ticker = _ticker_spans(text, hits)
    furniture = _furniture_ranges(text, _sentence_starts(text), in_title)
    return [h for h in hits if (h.start, h.end) not in ticker and not any(lo <= h.start < hi for lo, hi in furniture)]


# "a Shiba Inu dog", "the Avalanche of orders", "Optimism over rate cuts": an ambiguous name used as a word.
_DETERMINER_BEFORE = re.compile(r"(?:\b(?:a|an|the|this|that|her|his|their|my|our|your)\s+)$", re.IGNORECASE)
_CRYPTO_NOUN_AFTER = re.compile(
    r"\s*(?:'s\s+|’s\s+)?(?:token|coin|network|protocol|price|blockchain|ecosystem|chain|mainnet|foundation|labs|"
    r"community|holders|whales|treasury|etf|futures|staking|wallet|dao|team|developers|validators|burn|supply|"
    r"case|lawsuit|ruling|settlement|ceo|co-?founder|founder|executive|upgrade|fork|hack|exploit|bridge|node|unlock|"
    r"airdrop|market|rally|sell-?off)s?\b",
    re.IGNORECASE,
)
_WORD_USE_AFTER = re.compile(r"\s+(?:over|about|among|between|of|regarding|surrounding|that)\b", re.IGNORECASE)


def _used_as_word(text: str, hit: _Hit) -> bool:
    """An ambiguous name read as the everyday word it also is."""
    if hit.term.is_symbol or hit.cashtag:
        return False
    if _WORD_USE_AFTER.match(text, hit.end):
        return True
    return bool(_DETERMINER_BEFORE.search(text[max(0, hit.start - 12) : hit.start])) and not _CRYPTO_NOUN_AFTER.match(
        text, hit.end)


def link_article(title: str | None, body: str | None, dictionary: AssetDictionary) -> list[AssetMention]:
    """Assets an article is about, with mention counts; sorted by asset id."""
    title, body = title or "", body or ""
    texts = {True: title, False: body}
    hits = _drop_page_furniture(title, _hits(title, dictionary, True), True) + _drop_page_furniture(
        body, _hits(body, dictionary, False))
    hits = _resolve_shared(hits)
    if not hits:
        return []

    # Only a built-in coin's name, a cashtag or a crypto word says "crypto" on its own: a bare ticker (BGB, ETH
    # Zürich, DGB) or a listed coin's name (Pendle, the borough) is as often a law, a university or a place.
    distinctive = [h for h in hits if h.case_ok and not h.term.is_ambiguous and not h.undecided]
    has_evidence = (any(h.cashtag or (h.term.is_curated and not h.term.is_symbol) for h in distinctive)
                    or bool(_EVIDENCE.search(title) or _EVIDENCE.search(body)))
    for hit in distinctive:
        if has_evidence or hit.cashtag or (hit.term.is_curated and not hit.term.is_symbol):
            hit.confirmed = True
    starts = {True: _sentence_starts(title), False: _sentence_starts(body)}
    if not has_evidence:  # then a distinctive term needs a market context or another coin in its sentence
        for hit in distinctive:
            text = texts[hit.in_title]
            bounds = _sentence_bounds(starts[hit.in_title], len(text), hit.start)
            if _named_before(text, hit, dictionary) or (
                    not _hyphen_joined(text, hit) and not (hit.term.is_symbol and _mostly_upper(text[slice(*bounds)]))
                    and (_market_context(text, hit, bounds) or _another_coin(hit, distinctive, bounds)
                         or _CRYPTO_NOUN_AFTER.match(text, hit.end))):
                hit.confirmed = True
        has_evidence = any(h.confirmed for h in distinctive)
    strong_spans = {(h.in_title, h.start, h.end) for h in hits if h.confirmed}

    for hit in hits:
        if hit.confirmed or not hit.case_ok or hit.undecided:
            continue
        text = texts[hit.in_title]
        if hit.cashtag:
            hit.confirmed = True
            continue
        if _named_before(text, hit, dictionary):
            hit.confirmed = True
            continue
        if (not has_evidence or _hyphen_joined(text, hit) or (hit.term.is_ambiguous and _used_as_word(text, hit))
                or _shouted(text, hit, dictionary)):
            continue
        lo, hi = _sentence_bounds(starts[hit.in_title], len(text), hit.start)
        if hit.term.is_symbol and _mostly_upper(text[lo:hi]):
            continue  # an ALL-CAPS headline makes every word look like a ticker
        window_lo, window_hi = max(lo, hit.start - CONTEXT_CHARS), min(hi, hit.end + CONTEXT_CHARS)
        near_strong = any(
            t == hit.in_title and window_lo <= s and e <= window_hi and (s, e) != (hit.start, hit.end)
            for t, s, e in strong_spans
        )
        if near_strong or _market_context(text, hit, (lo, hi)):
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


_CAPS_WORD_AFTER = re.compile(r"[ \t]+([A-Z]{2,})\b")
_CAPS_WORD_BEFORE = re.compile(r"\b([A-Z]{2,})[ \t]+$")
_AUXILIARY_BEFORE = re.compile(r"\b(?:do|does|did|is|are|was|were|will|would|can|could|should|must|may|might|has|"
                               r"have|had|am|be|been)[ \t]+$")


def _shouted(text: str, hit: _Hit, dictionary: AssetDictionary) -> bool:
    """``JUST IN``, ``NOT GUILTY``, ``does NOT``: an everyday word in capitals for emphasis, not a ticker."""
    if not (hit.term.is_symbol and hit.term.is_ambiguous):
        return False
    before = text[max(0, hit.start - 30) : hit.start]
    if _AUXILIARY_BEFORE.search(before):
        return True
    neighbours = [m.group(1) for m in (_CAPS_WORD_AFTER.match(text, hit.end), _CAPS_WORD_BEFORE.search(before)) if m]
    return any(word.lower() not in dictionary.terms for word in neighbours)


def _market_context(text: str, hit: _Hit, sentence: tuple[int, int]) -> bool:
    """A price, a market verb or a crypto word within :data:`CONTEXT_CHARS` of the hit, in its sentence."""
    lo, hi = max(sentence[0], hit.start - CONTEXT_CHARS), min(sentence[1], hit.end + CONTEXT_CHARS)
    window = text[lo : hit.start] + " " + text[hit.end : hi]
    return bool(_CONTEXT.search(window) or _EVIDENCE.search(window))


def _another_coin(hit: _Hit, distinctive: list[_Hit], sentence: tuple[int, int]) -> bool:
    """``Zcash, Dash and Decred``: another coin's distinctive term in the same sentence."""
    return any(o.in_title == hit.in_title and sentence[0] <= o.start < sentence[1]
               and o.term.asset_id != hit.term.asset_id for o in distinctive)


def _named_before(text: str, hit: _Hit, dictionary: AssetDictionary) -> bool:
    """``Harmony (ONE)``, ``Floki (FLOKI)``: a ticker in brackets right after the asset's own name."""
    before = text[max(0, hit.start - 60) : hit.start]
    if not before.rstrip().endswith("(") or not text[hit.end : hit.end + 2].lstrip().startswith(")"):
        return False
    head = before.rstrip()[:-1].rstrip()
    word = head[-len(hit.term.term):]
    if word.lower() == hit.term.term.lower() and word[:1].isupper() and not head[-len(word) - 1 : -len(word)].isalnum():
        return True  # "Floki (FLOKI)": the coin's name is its ticker
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
