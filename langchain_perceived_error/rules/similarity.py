"""Meaning-level similarity of two turns, robust to paraphrase (repetition and rephrasing).

Two views of each turn, after normalisation (lower case, number words as digits, a light
suffix-stripping stem, stopwords dropped):

- content words, matched fuzzily (a typo or another inflection still matches), scored with Dice;
- character trigrams of the content words, scored with Dice, which survives compounds,
  split words and spelling variants ("e-mail" / "email", "7pm" / "7 pm").

The similarity is the larger of the two, in [0, 1]. A rephrasing that keeps the request's key
words ("book a table for two at seven" / "I need a table for 2 people at 7") scores high; a
follow-up that changes the topic or adds most of its words scores low.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from langchain_perceived_error.rules.patterns import STOPWORDS

__all__ = ["content_words", "coverage", "similarity", "tokens"]

WORD_MATCH_RATIO = 0.8
"""How alike (:class:`difflib.SequenceMatcher` ratio) two words must be to count as the same."""

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20",
}  # fmt: skip
_SUFFIXES = ("ing", "ed", "es", "s")


def tokens(text: str) -> list[str]:
    """The lower-case words of ``text``."""
    return _WORD_RE.findall(text.lower())


def _stem(word: str) -> str:
    word = _NUMBER_WORDS.get(word, word)
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> list[str]:
    """The stemmed non-stopwords of ``text``, sorted and without duplicates."""
    return sorted({_stem(word) for word in tokens(text) if word not in STOPWORDS})


def _shared(words: Sequence[str], others: Sequence[str]) -> int:
    """How many of ``words`` have a close match in ``others``."""
    return sum(
        1
        for word in words
        if word in others or difflib.get_close_matches(word, others, 1, WORD_MATCH_RATIO)
    )


def _trigrams(words: Sequence[str]) -> set[str]:
    grams: set[str] = set()
    for word in words:
        padded = f" {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def similarity(later: str, earlier: str) -> float:
    """How closely ``later`` restates ``earlier`` (0 to 1): the larger of word and trigram Dice."""
    a, b = content_words(later), content_words(earlier)
    if not a or not b:
        return 0.0
    word_dice = (_shared(a, b) + _shared(b, a)) / (len(a) + len(b))
    grams_a, grams_b = _trigrams(a), _trigrams(b)
    gram_dice = 2 * len(grams_a & grams_b) / (len(grams_a) + len(grams_b))
    return max(word_dice, gram_dice)


def coverage(request: str, answer: str) -> float:
    """The share of ``request``'s content words that ``answer`` mentions (1.0 when it has none)."""
    wanted = content_words(request)
    if not wanted:
        return 1.0
    return _shared(wanted, content_words(answer)) / len(wanted)
