"""Mask personal data and secrets in turns before they are sent to a third-party judge.

What is masked, and with what:

| kind | examples | becomes |
|---|---|---|
| email | ``jane.doe@example.com`` | ``[email]`` |
| card | 13-19 digits, spaces or dashes allowed, passing the Luhn check | ``[card]`` |
| phone | ``+44 20 7946 0958``, ``(555) 123-4567``, ``555-123-4567`` | ``[phone]`` |
| key | ``sk-...``, ``fw_...``, ``lsv2_...``, ``ghp_...``, ``AKIA...``, bearer, JWT | ``[key]`` |

Redaction is pattern-based: it lowers the risk, it does not remove it (a name or a street address is
not masked). Counts per kind are returned so results can report what was masked.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial

from langchain_perceived_error.schemas import Turn

__all__ = ["KEY_PATTERN", "REDACTION_PATTERNS", "redact_text", "redact_turns"]

KEY_PATTERN = re.compile(
    r"(?:\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*)"
    r"|(?:\b(?:sk|pk|rk)-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_]{16,})"
    r"|(?:\b(?:fw|lsv2_(?:pt|sk))_[A-Za-z0-9_]{16,})"
    r"|(?:\b(?:ghp|gho|ghu|ghs|github_pat|xox[abpr])_[A-Za-z0-9_-]{16,})"
    r"|(?:\bAKIA[0-9A-Z]{16}\b)"
    r"|(?:\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
)
_EMAIL_PATTERN = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_CARD_PATTERN = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PHONE_PATTERN = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,3}(?![\w])"
)
_MIN_PHONE_DIGITS = 7
_MAX_PHONE_DIGITS = 15  # E.164
_DATE_OR_IP_PATTERN = re.compile(
    r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d{1,3}(?:\.\d{1,3}){3}"
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str | None:
    digits = re.sub(r"\D", "", match.group())
    return "[card]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else None


def _phone(match: re.Match[str]) -> str | None:
    text = match.group()
    if _DATE_OR_IP_PATTERN.fullmatch(text):
        return None
    digits = len(re.sub(r"\D", "", text))
    return "[phone]" if _MIN_PHONE_DIGITS <= digits <= _MAX_PHONE_DIGITS else None


_Replace = Callable[[re.Match[str]], str | None]

REDACTION_PATTERNS: tuple[tuple[str, re.Pattern[str], _Replace], ...] = (
    ("key", KEY_PATTERN, lambda _: "[key]"),
    ("email", _EMAIL_PATTERN, lambda _: "[email]"),
    ("card", _CARD_PATTERN, _card),
    ("phone", _PHONE_PATTERN, _phone),
)
"""(kind, pattern, replacement) in the order applied: keys first, so a token is never half-masked
as a phone number."""


def _substitute(
    match: re.Match[str],
    kind: str,
    replace: _Replace,
    counts: Counter[str] | None,
) -> str:
    replacement = replace(match)
    if replacement is None:
        return match.group()
    if counts is not None:
        counts[kind] += 1
    return replacement


def redact_text(text: str, counts: Counter[str] | None = None) -> str:
    """``text`` with every match masked; ``counts`` (if given) gains one per masked item."""
    for kind, pattern, replace in REDACTION_PATTERNS:
        substitute = partial(_substitute, kind=kind, replace=replace, counts=counts)
        text = pattern.sub(substitute, text)
    return text


def redact_turns(turns: Sequence[Turn]) -> tuple[list[Turn], dict[str, int]]:
    """Masked copies of ``turns`` and how many items of each kind were masked."""
    counts: Counter[str] = Counter()
    redacted = [Turn(role=t.role, text=redact_text(t.text, counts)) for t in turns]
    return redacted, dict(counts)
