"""Pure scoring functions for bench/bench_real_pages.py (tested in tests/unit/test_bench_scoring.py).

* Annotation checks, as trafilatura's ``tests/eval_common.py`` counts them:
  whitespace-normalised substring tests of each "with" chunk (must be in the
  output) and "without" chunk (must not be); TP = with found, FN = with
  missing, FP = without found, TN = without absent; a failed extraction
  (``None``) finds nothing. Scores are over the summed counts, as upstream.
* Body overlap against a full reference text: multisets of 4-token shingles
  of lower-cased word tokens; precision = shared / extracted, recall =
  shared / reference.
* Publish dates compared by calendar day (and minute, only when the
  reference states a time of day).
* Titles compared exactly after whitespace normalisation.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

_WS = re.compile(r"\s+")
_TOKEN = re.compile(r"\w+", re.UNICODE)
_DAY = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
_TIME_OF_DAY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}")


def norm(text: str) -> str:
    """Whitespace-normalised (runs of whitespace to one space, stripped), as upstream's ``norm``."""
    return _WS.sub(" ", text).strip()


def count_chunks(with_: list[str], without: list[str], result: str | None) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) of one page's annotation chunks against an extraction ``result``."""
    if isinstance(result, str):
        text = norm(result)
        tp = sum(1 for chunk in with_ if norm(chunk) in text)
        fp = sum(1 for chunk in without if norm(chunk) in text)
    else:
        tp = fp = 0
    return tp, fp, len(with_) - tp, len(without) - fp


@dataclass
class Confusion:
    """Summed (tp, fp, fn, tn) with the scores trafilatura's evaluation reports."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, counts: tuple[int, int, int, int]) -> None:
        tp, fp, fn, tn = counts
        self.tp, self.fp, self.fn, self.tn = self.tp + tp, self.fp + fp, self.fn + fn, self.tn + tn

    def scores(self) -> dict[str, float]:
        """precision, recall, accuracy, f1, and the two pass rates (with found, without absent); 0.0 if undefined."""
        total = self.tp + self.fp + self.fn + self.tn

        def ratio(a: int, b: int) -> float:
            return a / b if b else 0.0

        return {
            "precision": ratio(self.tp, self.tp + self.fp),
            "recall": ratio(self.tp, self.tp + self.fn),
            "accuracy": ratio(self.tp + self.tn, total),
            "f1": ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn),
            "with_found": ratio(self.tp, self.tp + self.fn),
            "without_absent": ratio(self.tn, self.tn + self.fp),
        }


def shingles(text: str | None, n: int = 4) -> Counter:
    """Multiset of n-token shingles of the lower-cased word tokens (the whole text if shorter than n)."""
    tokens = _TOKEN.findall((text or "").lower())
    if not tokens:
        return Counter()
    if len(tokens) < n:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def shingle_prf(extracted: str | None, reference: str | None, n: int = 4) -> tuple[float, float, float]:
    """(precision, recall, f1) of the extracted text's shingles against the reference's.

    Both empty counts as a perfect match; an empty extraction of a non-empty
    reference as 0/0/0.
    """
    got, want = shingles(extracted, n), shingles(reference, n)
    if not got and not want:
        return 1.0, 1.0, 1.0
    shared = sum((got & want).values())
    precision = shared / sum(got.values()) if got else 0.0
    recall = shared / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def to_day(value: str | date | datetime | None) -> date | None:
    """Calendar day of a ``YYYY-MM-DD…`` string, date or datetime (as given, no zone conversion); else None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        m = _DAY.match(value)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
    return None


def states_time(value: str | None) -> bool:
    """Whether a reference date string carries a time of day (``YYYY-MM-DD[T ]HH:MM…``)."""
    return isinstance(value, str) and bool(_TIME_OF_DAY.match(value))


def day_outcome(predicted: str | date | datetime | None, expected: str | date | None) -> str:
    """'exact', 'off-by-one' (one day either side: often a time-zone shift), 'wrong' or 'none' (nothing predicted)."""
    got, want = to_day(predicted), to_day(expected)
    if want is None:
        raise ValueError(f"no reference day in {expected!r}")
    if got is None:
        return "none"
    if got == want:
        return "exact"
    return "off-by-one" if abs((got - want).days) == 1 else "wrong"


def same_minute(predicted: datetime | None, expected: datetime | None) -> bool:
    """Both given and equal to the minute (aware datetimes compare as instants)."""
    if predicted is None or expected is None:
        return False
    return predicted.replace(second=0, microsecond=0) == expected.replace(second=0, microsecond=0)


def norm_title(title: str | None) -> str:
    """Title for exact comparison: whitespace normalised, nothing else."""
    return norm(title or "")


def title_match(predicted: str | None, expected: str | None) -> bool:
    """Exact match after whitespace normalisation; an empty prediction never matches."""
    got = norm_title(predicted)
    return bool(got) and got == norm_title(expected)


# Typographic variants a reader does not tell apart: the same headline's og:title often has straight
# quotes where the <h1> prints curly ones, and annotators copy CSS-uppercased headlines as capitals.
_TYPOGRAPHY = str.maketrans({"„": '"', "“": '"', "”": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": "'",
                             "‹": "'", "›": "'", "–": "-", "—": "-", "\u00ad": None, "\u200b": None})


def title_as_read(title: str | None) -> str:
    """Title as a reader compares it: Unicode-normalised (NFKC), quotes, apostrophes and dashes unified,
    soft hyphens dropped, case-folded, whitespace normalised."""
    return norm(unicodedata.normalize("NFKC", title or "").translate(_TYPOGRAPHY)).casefold()


def title_match_as_read(predicted: str | None, expected: str | None) -> bool:
    """:func:`title_match` up to case and typography (:func:`title_as_read`)."""
    got = title_as_read(predicted)
    return bool(got) and got == title_as_read(expected)
