"""A verdict's confidence and evidence turn, read from the judge model's reply.

The verdict JSON stays ``{"perceived_error", "reason"}``; the confidence comes from beside it:

1. a judge that reports its own probability in ``response_metadata`` under
   :data:`~langchain_perceived_error.core.evidence.CONFIDENCE_METADATA_KEY` (the offline
   ``rules`` judge: its calibrated signal strength);
2. else token log-probabilities, when the model returned them (Fireworks and OpenAI-compatible
   APIs asked with ``logprobs=True, top_logprobs=N``; LangChain puts them in
   ``response_metadata["logprobs"]``): the probability of the boolean token after
   ``"perceived_error":``, normalised over ``true`` and ``false`` among that position's
   ``top_logprobs`` alternatives (:func:`logprob_confidence`);
3. else None: never invented.

The evidence turn is the judge's own (:data:`~langchain_perceived_error.core.evidence.
EVIDENCE_TURN_METADATA_KEY`, when it names a user turn of the transcript), else the turn the
reason quotes (:func:`~langchain_perceived_error.core.evidence.locate_evidence`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from langchain_perceived_error.core.evidence import (
    CONFIDENCE_METADATA_KEY,
    EVIDENCE_TURN_METADATA_KEY,
    locate_evidence,
)
from langchain_perceived_error.core.schemas import Turn

__all__ = [
    "TOP_LOGPROBS",
    "evidence_turn",
    "logprob_confidence",
    "reply_confidence",
    "reply_evidence_turn",
]

TOP_LOGPROBS = 5
"""Alternatives per token asked of models that return log-probabilities (Fireworks' maximum)."""

_VERDICT_BOOL_RE = re.compile(r'"perceived_error"\s*:\s*(true|false)\b')
_THINK_END = "</think>"


def _entries(logprobs: Any) -> list[tuple[str, dict[str, float]]]:
    """``(sampled token, {alternative token: logprob})`` per position, in either API format.

    OpenAI-compatible: ``{"content": [{"token", "logprob", "top_logprobs": [{"token",
    "logprob"}]}]}``; Fireworks' legacy format: ``{"tokens": [...], "top_logprobs": [{token:
    logprob}]}``. The sampled token is added to its alternatives when missing from them.
    """
    entries: list[tuple[str, dict[str, float]]] = []
    if not isinstance(logprobs, Mapping):
        return entries
    content = logprobs.get("content")
    if isinstance(content, list):
        for item in content:
            if not isinstance(item, Mapping) or not isinstance(item.get("token"), str):
                return []
            top = {
                str(alt["token"]): float(alt["logprob"])
                for alt in item.get("top_logprobs") or []
                if isinstance(alt, Mapping) and "token" in alt and "logprob" in alt
            }
            if top and isinstance(item.get("logprob"), int | float):
                top.setdefault(item["token"], float(item["logprob"]))
            entries.append((item["token"], top))
        return entries
    tokens, tops = logprobs.get("tokens"), logprobs.get("top_logprobs")
    if isinstance(tokens, list) and isinstance(tops, list) and len(tokens) == len(tops):
        for token, top in zip(tokens, tops, strict=True):
            alternatives = dict(top) if isinstance(top, Mapping) else {}
            entries.append((str(token), {str(k): float(v) for k, v in alternatives.items()}))
    return entries


def _side(alternative: str, prefix: str) -> bool | None:
    """True / False when ``alternative`` (after the token's text before the value) begins
    ``true`` / ``false``; None otherwise."""
    rest = alternative[len(prefix) :] if alternative.startswith(prefix) else alternative
    rest = rest.lstrip().lower()
    if not rest:
        return None
    if "true".startswith(rest) or rest.startswith("true"):
        return True
    if "false".startswith(rest) or rest.startswith("false"):
        return False
    return None


def logprob_confidence(logprobs: Any) -> float | None:
    """P(``true``) / (P(``true``) + P(``false``)) at the verdict's boolean token.

    The tokens are joined to find ``"perceived_error": true|false`` (after any ``</think>``);
    the token where the value starts is read. An alternative absent from that position's
    ``top_logprobs`` counts as probability 0. None when there are no log-probabilities, no
    alternatives at that position, or no verdict in the tokens.
    """
    entries = _entries(logprobs)
    if not entries:
        return None
    text = "".join(token for token, _ in entries)
    start = text.rfind(_THINK_END)
    match = _VERDICT_BOOL_RE.search(text, start + len(_THINK_END) if start >= 0 else 0)
    if match is None:
        return None
    value_start = match.start(1)
    offset = 0
    for token, alternatives in entries:
        if offset + len(token) > value_start:
            prefix = token[: value_start - offset]
            mass = {True: 0.0, False: 0.0}
            for alternative, logprob in alternatives.items():
                side = _side(alternative, prefix)
                if side is not None:
                    mass[side] += math.exp(logprob)
            total = mass[True] + mass[False]
            return mass[True] / total if total > 0 else None
        offset += len(token)
    return None


def _probability(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0.0 <= value <= 1.0 else None


def reply_confidence(reply: BaseMessage) -> float | None:
    """The reply's probability of a perceived error: the judge's own, else from logprobs."""
    metadata = reply.response_metadata or {}
    own = _probability(metadata.get(CONFIDENCE_METADATA_KEY))
    if own is not None:
        return own
    return logprob_confidence(metadata.get("logprobs"))


def reply_evidence_turn(reply: BaseMessage) -> int | None:
    """The evidence turn the judge reported in its reply's metadata, if any."""
    value = (reply.response_metadata or {}).get(EVIDENCE_TURN_METADATA_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def evidence_turn(reported: int | None, reason: str | None, turns: Sequence[Turn]) -> int | None:
    """``reported`` when it names a user turn of ``turns``, else the turn ``reason`` quotes."""
    if reported is not None and 0 <= reported < len(turns) and turns[reported].role == "human":
        return reported
    return locate_evidence(reason, turns)
