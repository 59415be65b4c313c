"""The offline judge's confidence and evidence: signal strength, a calibrated table, a turn.

The rules find signals (:func:`~langchain_perceived_error.rules.analysis.detect_signals`); how
sure a verdict is depends on how strong they are:

- :data:`SIGNAL_WEIGHTS`: a signal the user STATES (a correction, a rejection, a challenge, an
  insult, sarcasm, not understanding the reply, or the assistant admitting an error) weighs 1;
  one read from the user's BEHAVIOUR only (a repetition, a retry, a re-ask) weighs 0.5. This
  split is fixed from the definition, not fitted.
- :func:`signal_strength`: the sum of the weights over distinct ``(turn, kind)`` signals, capped
  at :data:`MAX_STRENGTH`; 0 when nothing was found.
- :data:`RULES_CALIBRATION`: the probability of a perceived error per strength, an isotonic fit
  on labelled data (see its doc for the command and the held-out figures).
- :func:`assess_turns`: the verdict, its calibrated confidence, and the user turn it rests on.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from langchain_perceived_error.core.eligibility import skip_reason
from langchain_perceived_error.core.schemas import Turn, Verdict
from langchain_perceived_error.rules.analysis import RulesConfig, detect_signals, reason_for
from langchain_perceived_error.rules.kinds import (
    NO_USER_TURN_AFTER_AI_REASON,
    SIGNAL_KINDS,
    Signal,
    SignalKind,
)

__all__ = [
    "MAX_STRENGTH",
    "RULES_CALIBRATION",
    "SIGNAL_WEIGHTS",
    "RulesAssessment",
    "assess_turns",
    "calibrated_confidence",
    "evidence_turn",
    "signal_strength",
]

SIGNAL_WEIGHTS: dict[SignalKind, float] = {
    "correction": 1.0,
    "rejection": 1.0,
    "challenge": 1.0,
    "insult": 1.0,
    "sarcasm": 1.0,
    "non_understanding": 1.0,
    "admission": 1.0,
    "re_ask": 0.5,
    "retry": 0.5,
    "repetition": 0.5,
}
"""Stated signals weigh 1, behavioural ones (read from what the user did) 0.5."""

MAX_STRENGTH = 2.0
"""Strength is capped here: two stated signals are as strong as it gets."""

RULES_CALIBRATION: tuple[tuple[float, float], ...] = (
    (0.0, 0.0144),
    (0.5, 0.2943),
    (1.0, 0.7224),
    (2.0, 0.7224),
)
"""``(strength, probability of a perceived error)``, ascending; a strength gets the probability
of the highest row at or below it.

Produced by ``python benchmarks/calibrate_rules.py --data ../shared/datasets/eurtad/items.jsonl``
(EURTAD, strict labels, null labels dropped): an isotonic fit (pool adjacent violators, each
block shrunk toward the base rate by one pseudo-item) on the FIT half of a split stratified by
source and label (the half is chosen by a hash of the item id, so it is reproducible); the other
half is held out, and the script prints ECE and Brier on it. Re-run it after changing the rules
and paste the table it prints.
"""


def signal_strength(signals: Sequence[Signal]) -> float:
    """The summed weight of distinct ``(turn, kind)`` signals, capped at :data:`MAX_STRENGTH`."""
    distinct = {(signal.turn_index, signal.kind) for signal in signals}
    return float(min(MAX_STRENGTH, sum(SIGNAL_WEIGHTS[kind] for _, kind in distinct)))


def calibrated_confidence(
    strength: float, table: Sequence[tuple[float, float]] = RULES_CALIBRATION
) -> float:
    """The probability of the highest table row at or below ``strength`` (the first row's below
    it)."""
    if not table:
        msg = "the calibration table is empty"
        raise ValueError(msg)
    probability = table[0][1]
    for row_strength, row_probability in table:
        if row_strength <= strength:
            probability = row_probability
    return probability


def evidence_turn(signals: Sequence[Signal], turns: Sequence[Turn]) -> int | None:
    """The index of the user turn the verdict rests on: the reported signal's turn.

    The reported signal is the one :func:`~langchain_perceived_error.rules.analysis.reason_for`
    names. An assistant's admission rests on the user turn it answered (the last user turn
    before it). None when no signal was found.
    """
    if not signals:
        return None
    best = min(signals, key=lambda signal: (SIGNAL_KINDS.index(signal.kind), signal.turn_index))
    for index in range(min(best.turn_index, len(turns) - 1), -1, -1):
        if turns[index].role == "human":
            return index
    return None


class RulesAssessment(BaseModel):
    """The rules' verdict with how sure it is and where it rests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    verdict: Verdict
    strength: float = Field(ge=0.0, description="The signals' summed weight (0: none found).")
    confidence: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Calibrated probability of a perceived error; None when not eligible.",
    )
    evidence_turn: int | None = Field(
        default=None, ge=0, description="Index of the user turn the verdict rests on."
    )


def assess_turns(
    turns: Sequence[Turn],
    config: RulesConfig | None = None,
    table: Sequence[tuple[float, float]] = RULES_CALIBRATION,
) -> RulesAssessment:
    """The verdict of :func:`~langchain_perceived_error.rules.analysis.judge_turns`, its
    calibrated confidence and evidence turn (no confidence for a transcript that is not
    eligible: there is nothing to be sure about)."""
    if skip_reason(turns) is not None:
        verdict = Verdict(perceived_error=False, reason=NO_USER_TURN_AFTER_AI_REASON)
        return RulesAssessment(verdict=verdict, strength=0.0)
    signals = detect_signals(turns, config)
    strength = signal_strength(signals)
    return RulesAssessment(
        verdict=Verdict(perceived_error=bool(signals), reason=reason_for(signals)),
        strength=strength,
        confidence=calibrated_confidence(strength, table),
        evidence_turn=evidence_turn(signals, turns),
    )
