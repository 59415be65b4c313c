"""Fit a huge transcript into the judge's token budget, by an explicit and recorded policy.

The evidence of a perceived error is a user turn that follows an assistant turn, read together
with the assistant turn it answers. So when a transcript is over budget:

1. every **evidence pair** (an assistant turn and the user turn right after it) is kept, and the
   other turns are dropped, oldest first, until the transcript fits;
2. if the evidence pairs alone are still over budget, the longest kept turns are shortened in the
   middle (their start and end stay), longest first;
3. each place where something was cut is marked in the text the judge reads
   (``[... 3 earlier turns cut to fit the judge's context ...]``,
   ``[... 1,234 characters cut to fit the judge's context ...]``), and the
   :class:`BudgetCut` is recorded in the result.

Tokens are estimated by the package's one estimator, turn by turn as the judge reads them
(:func:`~langchain_perceived_error.core.tokens.estimate_transcript_tokens`: about 4 characters a
token; no model tokenizer is needed, or available offline); the default budget leaves a wide
margin for that estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from langchain_perceived_error.core.schemas import BudgetCut, Turn
from langchain_perceived_error.core.tokens import (
    CHARS_PER_TOKEN,
    estimate_transcript_tokens,
    estimate_turn_tokens,
)

__all__ = [
    "DEFAULT_MAX_INPUT_TOKENS",
    "BudgetCut",
    "budget_for_model",
    "fit_to_budget",
]

DEFAULT_MAX_INPUT_TOKENS = 24_000
"""For the transcript alone: well inside a 32k-token context with the prompt and the answer."""
CONTEXT_SHARE = 0.75
"""Share of a model's context given to the transcript: the rest holds the prompt and the answer,
and absorbs the error of the 4-characters-a-token estimate."""
_MIN_KEPT_CHARS = 400


def budget_for_model(model: object) -> int:
    """The transcript budget for ``model``: 75% of its context when its profile says, else 24k."""
    profile = getattr(model, "profile", None)
    context = profile.get("max_input_tokens") if isinstance(profile, dict) else None
    if isinstance(context, int) and context > 0:
        return max(1000, int(context * CONTEXT_SHARE))
    return DEFAULT_MAX_INPUT_TOKENS


def _evidence_indices(turns: Sequence[Turn]) -> set[int]:
    keep: set[int] = set()
    for index in range(1, len(turns)):
        if turns[index].role == "human" and turns[index - 1].role == "ai":
            keep.update((index - 1, index))
    return keep


def _drop_turns(turns: list[Turn], budget: int) -> tuple[list[Turn], int]:
    """Drop non-evidence turns, oldest first, until the transcript fits; mark each gap."""
    evidence = _evidence_indices(turns)
    dropped: set[int] = set()
    tokens = [estimate_turn_tokens(turn) for turn in turns]
    total = sum(tokens)
    for index in range(len(turns)):
        if total <= budget:
            break
        if index not in evidence:
            dropped.add(index)
            total -= tokens[index]
    kept: list[Turn] = []
    gap = 0
    for index, turn in enumerate(turns):
        if index in dropped:
            gap += 1
            continue
        if gap:
            plural = "s" if gap > 1 else ""
            marker = f"[... {gap} earlier turn{plural} cut to fit the judge's context ...]"
            turn = Turn(role=turn.role, text=f"{marker}\n{turn.text}")
            gap = 0
        kept.append(turn)
    return kept, len(dropped)


def _shorten(text: str, keep_chars: int) -> tuple[str, int]:
    cut = len(text) - keep_chars
    if cut <= 0:
        return text, 0
    head = keep_chars // 2
    tail = keep_chars - head
    marker = f"\n[... {cut:,} characters cut to fit the judge's context ...]\n"
    return text[:head] + marker + text[len(text) - tail :], cut


def _shorten_turns(turns: list[Turn], budget: int) -> tuple[list[Turn], int]:
    """Shorten the longest turns, in the middle, each at most once, until the transcript fits.

    A turn already at its minimum (or made no shorter by the cut marker) is left as it is; when
    every turn is, the transcript stays over budget and the caller records that.
    """
    chars_cut = 0
    done: set[int] = set()
    tokens = [estimate_turn_tokens(turn) for turn in turns]
    while sum(tokens) > budget:
        candidates = [i for i in range(len(turns)) if i not in done]
        if not candidates:
            break  # the evidence is as short as it gets
        longest = max(candidates, key=lambda i: len(turns[i].text))
        done.add(longest)
        excess_chars = math.ceil((sum(tokens) - budget) * CHARS_PER_TOKEN)
        text = turns[longest].text
        shortened, cut = _shorten(text, max(_MIN_KEPT_CHARS, len(text) - excess_chars - 200))
        if len(shortened) < len(text):
            turns[longest] = Turn(role=turns[longest].role, text=shortened)
            tokens[longest] = estimate_turn_tokens(turns[longest])
            chars_cut += cut
    return turns, chars_cut


def fit_to_budget(turns: Sequence[Turn], budget_tokens: int) -> tuple[list[Turn], BudgetCut | None]:
    """``turns`` cut to fit ``budget_tokens`` (see the module docstring), and what was cut.

    Returns the turns unchanged and ``None`` when they already fit. When the evidence alone is
    over budget even at its shortest, the result is too, and ``tokens_after`` says by how much
    (the turns come back unchanged if cutting would not make them shorter at all).
    """
    before = estimate_transcript_tokens(turns)
    if before <= budget_tokens:
        return list(turns), None
    kept, dropped = _drop_turns(list(turns), budget_tokens)
    kept, chars_cut = _shorten_turns(kept, budget_tokens)
    if estimate_transcript_tokens(kept) >= before:  # the cut markers would cost more than they save
        kept, dropped, chars_cut = list(turns), 0, 0
    return kept, BudgetCut(
        budget_tokens=budget_tokens,
        tokens_before=before,
        tokens_after=estimate_transcript_tokens(kept),
        turns_dropped=dropped,
        chars_cut=chars_cut,
    )
