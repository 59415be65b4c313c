"""Signal kinds (the families of the definition), their reasons and the :class:`Signal` model."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

SignalKind = Literal[
    "correction",
    "rejection",
    "challenge",
    "insult",
    "sarcasm",
    "non_understanding",
    "re_ask",
    "retry",
    "repetition",
    "admission",
]
"""The family of the definition a :class:`Signal` belongs to.

- ``correction``: the user says the assistant got something wrong or states what it should be.
- ``rejection``: the user rejects or undoes an action ("undo that", "don't send it").
- ``challenge``: the user disputes what the assistant said or did ("I never said that").
- ``insult``: swearing at or insulting the assistant.
- ``sarcasm``: sarcasm or mockery about the assistant's competence ("thanks for nothing").
- ``non_understanding``: the reply makes no sense to the user ("huh?", "what do you mean?").
- ``re_ask``: the user asks again after an evasive or off-topic answer ("No, I asked where").
- ``retry``: the assistant said it did not understand or cannot do it, and the user tries again.
- ``repetition``: the user repeats or rephrases a request the assistant did not carry out.
- ``admission``: the assistant acknowledges an error ("you're right, sorry").
"""

SIGNAL_KINDS: tuple[SignalKind, ...] = get_args(SignalKind)
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
    "sarcasm": 'The user mocks the assistant\'s competence: "{quote}".',
    "non_understanding": 'The user says the reply makes no sense to them: "{quote}".',
    "re_ask": 'The user asks again after an answer that missed the question: "{quote}".',
    "retry": 'The user tries again after the assistant failed to understand: "{quote}".',
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
