"""What the model is shown of an eligible transcript: masked if asked, then cut to the budget.

One function for every path that sends a transcript to a model (the judge graph's ``extract``
node and the batch requests of ``perceived-error batch submit``), so they send the same text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_perceived_error.core.budget import fit_to_budget
from langchain_perceived_error.core.schemas import BudgetCut, Turn
from langchain_perceived_error.redaction.redact import Redactor, redact_text

__all__ = ["PreparedTurns", "prepare_turns", "redact_turns"]


@dataclass(frozen=True)
class PreparedTurns:
    """The turns to send, and what was done to them (``None``: not asked for / nothing cut)."""

    turns: list[Turn]
    redactions: dict[str, int] | None = None
    budget_cut: BudgetCut | None = None


def prepare_turns(
    turns: Sequence[Turn],
    *,
    redact: bool,
    max_input_tokens: int | None,
    redactor: Redactor | None = None,
) -> PreparedTurns:
    """Mask personal data and keys before anything else, then fit the budget.

    ``redactor`` masks every turn when given (redaction is then on whatever ``redact`` says);
    ``redact=True`` alone uses :func:`~langchain_perceived_error.redaction.redact.redact_text`.
    Redaction comes first so that nothing unmasked can reach the model, even in a cut marker;
    ``max_input_tokens=None`` sends the transcript whole.
    """
    prepared, redactions = list(turns), None
    if redact or redactor is not None:
        prepared, redactions = redact_turns(prepared, redactor or redact_text)
    budget_cut = None
    if max_input_tokens is not None:
        prepared, budget_cut = fit_to_budget(prepared, max_input_tokens)
    return PreparedTurns(prepared, redactions, budget_cut)


def redact_turns(
    turns: Sequence[Turn], redactor: Redactor = redact_text
) -> tuple[list[Turn], dict[str, int]]:
    """Masked copies of ``turns`` and how many items of each kind were masked."""
    counts: Counter[str] = Counter()
    redacted = [Turn(role=t.role, text=redactor(t.text, counts)) for t in turns]
    return redacted, dict(counts)
