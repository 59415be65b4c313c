"""Where a verdict rests: the user turn a reason's quote comes from, and the reply metadata keys.

A judge that knows its own confidence or evidence turn (the offline ``rules`` judge does) reports
them in its reply's ``response_metadata`` under :data:`CONFIDENCE_METADATA_KEY` and
:data:`EVIDENCE_TURN_METADATA_KEY`; the verdict JSON itself never changes.

For any other judge, :func:`locate_evidence` finds the turn from the reason: the text it quotes
(between double quotes, straight or curly), normalised (case, apostrophes, spacing, an ellipsis
splits a quote into fragments), is looked up in the user turns that follow an assistant turn:
the last turn that contains every fragment wins; failing that, the turn holding the largest
share (at least :data:`MIN_WORD_SHARE`) of the quote's words. A quote from an assistant turn
(an admission) points to the user turn it answered. No quote, or no turn close enough: None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_perceived_error.core.schemas import Turn

__all__ = [
    "CONFIDENCE_METADATA_KEY",
    "EVIDENCE_TURN_METADATA_KEY",
    "MIN_WORD_SHARE",
    "evidence_note",
    "locate_evidence",
    "quoted_spans",
    "with_evidence_note",
]

CONFIDENCE_METADATA_KEY = "perceived_error_confidence"
"""``response_metadata`` key of a judge's own probability of a perceived error."""

EVIDENCE_TURN_METADATA_KEY = "perceived_error_evidence_turn"
"""``response_metadata`` key of the index of the user turn a judge's verdict rests on."""

MIN_WORD_SHARE = 0.8
"""A turn holding at least this share of a quote's words matches it when no turn contains it."""

MIN_QUOTE_CHARS = 3
"""Shorter quoted fragments ("no") are too common to place a verdict."""

_QUOTE_RE = re.compile(r'"([^"]+)"|\u201c([^\u201d]+)\u201d')
_APOSTROPHES_RE = re.compile(r"[\u2018\u2019\u201b\u02bc`\u00b4]")
_ELLIPSIS_RE = re.compile(r"\.\.\.|\u2026")
_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def quoted_spans(reason: str) -> list[str]:
    """The texts ``reason`` quotes, in order."""
    return [a or b for a, b in _QUOTE_RE.findall(reason)]


def _normal(text: str) -> str:
    text = _APOSTROPHES_RE.sub("'", text.lower()).replace('"', "'")
    return " ".join(_WORD_RE.findall(text))


def _fragments(quote: str) -> list[str]:
    parts = (_normal(part) for part in _ELLIPSIS_RE.split(quote))
    return [part for part in parts if len(part) >= MIN_QUOTE_CHARS]


def _user_turn_for(turns: Sequence[Turn], index: int) -> int | None:
    for i in range(index, -1, -1):
        if turns[i].role == "human":
            return i
    return None


def _candidates(turns: Sequence[Turn]) -> list[int]:
    """User turns after an assistant turn, then the assistant turns that answer one of them."""
    seen_ai = False
    users: list[int] = []
    ais: list[int] = []
    for i, turn in enumerate(turns):
        if turn.role == "ai":
            if users:
                ais.append(i)
            seen_ai = True
        elif seen_ai:
            users.append(i)
    return users + ais


def locate_evidence(reason: str | None, turns: Sequence[Turn]) -> int | None:
    """The index of the user turn ``reason`` quotes (see the module doc); None if not located."""
    if not reason:
        return None
    quotes = [f for f in (_fragments(q) for q in quoted_spans(reason)) if f]
    if not quotes:
        return None
    candidates = _candidates(turns)
    texts = {i: _normal(turns[i].text) for i in candidates}
    for fragments in quotes:
        exact = [i for i in candidates if all(f in texts[i] for f in fragments)]
        if exact:
            users = [i for i in exact if turns[i].role == "human"]
            return users[-1] if users else _user_turn_for(turns, exact[0])
    best: tuple[float, int] | None = None
    for fragments in quotes:
        words = set(" ".join(fragments).split())
        for i in candidates:
            share = len(words & set(texts[i].split())) / len(words)
            if share >= MIN_WORD_SHARE and (best is None or share > best[0]):
                best = (share, i)
    return _user_turn_for(turns, best[1]) if best else None


def evidence_note(evidence_turn: int | None, turns: Sequence[Turn]) -> str | None:
    """A reviewer's pointer, counted from 1 as people count: ``"evidence: turn 3 of 5"``.

    ``evidence_turn`` itself is 0-based (an index into ``turns``); None gives None.
    """
    if evidence_turn is None or not 0 <= evidence_turn < len(turns):
        return None
    return f"evidence: turn {evidence_turn + 1} of {len(turns)}"


def with_evidence_note(reason: str, evidence_turn: int | None, turns: Sequence[Turn]) -> str:
    """``reason`` followed by ``" (evidence: turn N of M)"`` when the turn is known."""
    note = evidence_note(evidence_turn, turns)
    return f"{reason} ({note})" if note else reason
