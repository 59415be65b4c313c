"""Which transcripts can hold a perceived error at all."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_perceived_error.core.schemas import Turn

__all__ = ["NO_TURNS_REASON", "NO_USER_REPLY_REASON", "skip_reason"]

NO_TURNS_REASON = "no human or AI text turns were found in the trace"
NO_USER_REPLY_REASON = (
    "no user turn follows an assistant turn; a perceived error needs the user's reply"
)


def skip_reason(turns: Sequence[Turn]) -> str | None:
    """Why ``turns`` cannot be judged, or None when a user turn follows an assistant turn."""
    if not turns:
        return NO_TURNS_REASON
    seen_ai = False
    for turn in turns:
        if turn.role == "ai":
            seen_ai = True
        elif seen_ai:
            return None
    return NO_USER_REPLY_REASON
