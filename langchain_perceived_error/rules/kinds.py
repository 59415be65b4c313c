"""Signal kinds (the families of the definition), their reasons and the :class:`Signal` model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SignalKind = Literal["correction", "rejection", "challenge", "insult", "repetition", "admission"]
"""What kind of evidence a :class:`Signal` is."""

SIGNAL_KINDS: tuple[SignalKind, ...] = (
    "correction",
    "rejection",
    "challenge",
    "insult",
    "repetition",
    "admission",
)
"""All signal kinds, in reporting priority (the first kind found names the verdict)."""

NO_SIGNAL_REASON = "No user turn after an assistant turn signals an error."
"""The reason given when user turns follow the assistant but none signals an error."""

NO_USER_TURN_AFTER_AI_REASON = "No user turn follows an assistant turn to signal an error."
"""The reason given when the transcript has no user turn after an assistant turn."""

REASON_TEMPLATES: dict[SignalKind, str] = {
    "correction": 'The user corrects the assistant: "{quote}".',
    "rejection": 'The user rejects or undoes the assistant\'s action: "{quote}".',
    "challenge": 'The user challenges the assistant: "{quote}".',
    "insult": 'The user swears at or insults the assistant: "{quote}".',
    "repetition": 'The user repeats an earlier request: "{quote}".',
    "admission": 'The assistant acknowledges an error: "{quote}".',
}
"""One short sentence per signal kind; ``{quote}`` is the words that decided it."""


class Signal(BaseModel):
    """One piece of evidence that the user perceived an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SignalKind = Field(description="What kind of evidence this is.")
    turn_index: int = Field(ge=0, description="Index of the turn (in the judged turns) it is in.")
    quote: str = Field(description="The short span of that turn's words that shows it.")
