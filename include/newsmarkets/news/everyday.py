"""Is a coin's name or ticker an everyday English word? (``Render``, ``Story``, ``NEAR``, ``HYPE``)

The provider lists thousands of coins; no hand list keeps up with their
names. Word frequencies do (wordfreq: English usage across web, news,
subtitles and books): a term common in English needs evidence in context
before it links. Built-in coins keep their hand-set status
(:mod:`newsmarkets.news.aliases`), since bitcoin's own fame makes it common.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Zipf 2.5 = about 3 uses per 10 million words: "ronin", "golem" and "quant"
# are above it, "kaspa", "aave" and "solana" below (measured on the labelled set, BENCHMARKS.md).
EVERYDAY_ZIPF = 2.5
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
# A word in a coin's name that makes the name crypto-specific however common the other words are.
_CRYPTO_WORDS = frozenset({"bitcoin", "btc", "ethereum", "eth", "ether", "token", "coin", "crypto", "usd", "usdt", "usdc",
                           "staked", "wrapped", "bridged", "dao", "defi", "swap", "chain", "protocol", "finance"})


@lru_cache(maxsize=65536)
def is_everyday_term(term: str) -> bool:
    """True when ``term`` (a name or ticker) reads as ordinary English: every word of it is common.

    Terms with digits or punctuation inside (``Pump.fun``, ``USDT0``, ``1inch``) are never everyday.
    """
    from wordfreq import zipf_frequency

    lowered = " ".join(term.lower().split())
    if not lowered or re.search(r"[^a-z' ]", lowered):
        return False
    words = _WORD.findall(lowered)
    if not words or any(w in _CRYPTO_WORDS for w in words):
        return False
    return all(zipf_frequency(w, "en") >= EVERYDAY_ZIPF for w in words)
