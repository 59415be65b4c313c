"""Find and validate the verdict JSON in a model's raw output."""

from __future__ import annotations

import json
import re

from pydantic import ValidationError

from langchain_perceived_error.core.schemas import Verdict

__all__ = ["VerdictParseError", "parse_verdict"]

_THINK_BLOCK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_DECODER = json.JSONDecoder()
_MAX_QUOTED = 200


class VerdictParseError(ValueError):
    """The model's output holds no single valid verdict. The message says what was wrong."""


def _strip_reasoning(text: str) -> str:
    text = _THINK_BLOCK_RE.sub("", text)
    lowered = text.lower()
    if "</think>" in lowered:  # some servers drop the opening tag: keep what follows the last close
        text = text[lowered.rfind("</think>") + len("</think>") :]
    elif "<think>" in lowered:
        msg = "the reasoning block <think> was never closed, so no answer followed it"
        raise VerdictParseError(msg)
    return text


def _json_objects(text: str) -> list[object]:
    """Every top-level JSON object in ``text``, in order (inside fences, amid prose, anywhere)."""
    found: list[object] = []
    position = text.find("{")
    while position >= 0:
        try:
            value, end = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError:
            position = text.find("{", position + 1)
            continue
        found.append(value)
        position = text.find("{", end)
    return found


def _short(text: str) -> str:
    return text if len(text) <= _MAX_QUOTED else text[:_MAX_QUOTED] + "..."


def parse_verdict(text: str) -> Verdict:
    """Return the one verdict in ``text``.

    Accepted: the JSON object alone, inside a code fence, after a ``<think>...</think>`` block, or
    amid prose. Rejected: no JSON object, objects that are not exactly
    ``{"perceived_error": bool, "reason": str}``, or several verdicts that disagree.

    Raises:
        VerdictParseError: with a message fit to send back to the model.

    """
    answer = _strip_reasoning(text)
    objects = _json_objects(answer)
    if not objects:
        msg = f"no JSON object found in the reply {_short(answer.strip())!r}"
        raise VerdictParseError(msg)
    verdicts: list[Verdict] = []
    errors: list[str] = []
    for value in objects:
        try:
            verdicts.append(Verdict.model_validate(value))
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'object'}: {err['msg']}"
                for err in e.errors()
            )
            errors.append(f"{_short(json.dumps(value))} is not a verdict ({problems})")
    if not verdicts:
        msg = "; ".join(errors)
        raise VerdictParseError(msg)
    if len({v.perceived_error for v in verdicts}) > 1:
        msg = "the reply holds several verdicts that disagree; give exactly one"
        raise VerdictParseError(msg)
    return verdicts[0]
