"""Data that crosses a boundary: turns, verdicts and judge results."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

__all__ = [
    "BudgetCut",
    "JudgeResult",
    "JudgeStatus",
    "LabelledRecord",
    "Provenance",
    "Role",
    "SourceIds",
    "Turn",
    "Verdict",
]

Role = Literal["human", "ai"]
"""Who spoke a turn. Tool activity, when kept, is folded into an ``ai`` turn as text."""


class Turn(BaseModel):
    """One human or AI text turn of a conversation, as the judge sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role = Field(description="'human' for the user, 'ai' for the assistant.")
    text: str = Field(description="The turn's text; non-text parts are short placeholders.")


class Verdict(BaseModel):
    """The judge's answer: exactly one boolean and one short sentence."""

    model_config = ConfigDict(extra="forbid")

    perceived_error: StrictBool = Field(
        description="True when the user perceived that the assistant made a mistake."
    )
    reason: str = Field(
        min_length=1,
        description="One short sentence naming the evidence for the verdict.",
    )

    @field_validator("reason")
    @classmethod
    def _reason_not_blank(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            msg = "reason must not be blank"
            raise ValueError(msg)
        return stripped


class BudgetCut(BaseModel):
    """What :func:`fit_to_budget` removed to fit the budget."""

    model_config = ConfigDict(extra="forbid")

    budget_tokens: int = Field(description="The transcript's token budget.")
    tokens_before: int = Field(description="Estimated tokens of the whole transcript.")
    tokens_after: int = Field(description="Estimated tokens of what the judge read.")
    turns_dropped: int = Field(default=0, description="Whole turns removed.")
    chars_cut: int = Field(default=0, description="Characters removed from inside kept turns.")


class JudgeStatus(str, Enum):
    """How a judgement ended."""

    JUDGED = "judged"
    """The model returned a valid verdict."""
    SKIPPED = "skipped"
    """Not eligible (no user turn after an assistant turn): no model call was made."""
    FAILED = "failed"
    """No valid verdict: bad input, bad model output after every attempt, or a transport error."""


class JudgeResult(BaseModel):
    """Everything one judgement produced. ``verdict`` is set only when ``status`` is judged."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, description="The input record's id, carried through.")
    status: JudgeStatus
    verdict: Verdict | None = None
    skip_reason: str | None = Field(default=None, description="Why a record was skipped.")
    error: str | None = Field(default=None, description="Why a record failed.")
    raw_output: str | None = Field(
        default=None, description="The model's last raw output (kept on failures for debugging)."
    )
    attempts: int = Field(default=0, description="Model calls made, format retries included.")
    model: str | None = Field(default=None, description="The judge model's name.")
    input_tokens: int | None = Field(default=None, description="Summed over attempts, if reported.")
    output_tokens: int | None = Field(
        default=None, description="Summed over attempts, if reported."
    )
    cached_input_tokens: int | None = Field(
        default=None,
        description="The part of input_tokens the provider served from its prompt cache (billed "
        "at the cached-input price), summed over attempts, if reported.",
    )
    latency_s: float = Field(default=0.0, description="Wall time of the whole judgement.")
    turns: list[Turn] = Field(default_factory=list, description="The transcript that was judged.")
    budget_cut: BudgetCut | None = Field(
        default=None, description="What was cut to fit the token budget, if anything."
    )
    redactions: dict[str, int] | None = Field(
        default=None, description="With redaction on: how many items of each kind were masked."
    )
    confidence: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="The probability that a perceived error is present, when the judge gives one "
        "(token log-probabilities, or the rules' calibrated signal strength); never invented.",
    )
    evidence_turn: int | None = Field(
        default=None,
        ge=0,
        description="The index in ``turns`` of the user turn the verdict rests on, when located.",
    )

    @property
    def perceived_error(self) -> bool | None:
        """The verdict's boolean, or None when there is no verdict."""
        return self.verdict.perceived_error if self.verdict else None

    @property
    def reason(self) -> str | None:
        """The verdict's reason, else the skip reason or the error."""
        if self.verdict:
            return self.verdict.reason
        return self.skip_reason or self.error

    def to_record(self) -> dict[str, object]:
        """The flat JSONL line written by ``perceived-error judge``."""
        return {
            "id": self.id,
            "status": self.status.value,
            "perceived_error": self.perceived_error,
            "reason": self.reason,
            "model": self.model,
            "attempts": self.attempts,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "latency_s": round(self.latency_s, 4),
            "error": self.error,
            "budget_cut": self.budget_cut.model_dump() if self.budget_cut else None,
            "redactions": self.redactions,
            "confidence": self.confidence,
            "evidence_turn": self.evidence_turn,
        }


class Provenance(BaseModel):
    """Who gave a label, and when."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["human", "panel", "model"] = Field(
        description="A human reviewer, a panel of models (unanimous or adjudicated), or one model."
    )
    by: str = Field(description="The reviewer's id, or the model name(s), comma-separated.")
    at: datetime | None = Field(default=None, description="When the label was given.")


class SourceIds(BaseModel):
    """Where a labelled conversation came from, as far as known."""

    model_config = ConfigDict(extra="forbid")

    run_id: str | None = None
    trace_id: str | None = None
    thread_id: str | None = None
    project_id: str | None = None


class LabelledRecord(BaseModel):
    """A conversation with a perceived-error label: the unit of datasets and SFT files."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable id of the conversation (a thread id where there is one).")
    turns: list[Turn] = Field(description="The transcript, as the judge reads it.")
    label: Verdict
    provenance: Provenance
    sources: SourceIds = Field(default_factory=SourceIds)
    metadata: dict[str, Any] = Field(default_factory=dict)
