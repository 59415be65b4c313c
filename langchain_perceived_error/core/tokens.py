"""Token counts, offline: the package's one estimator, and tiktoken when it is usable offline.

**The estimator** is LangChain's ``count_tokens_approximately``
(:func:`estimate_tokens`): per message, ``ceil((characters of the content and the role) /
chars_per_token) + extra_tokens_per_message``. Each use sets the two parameters for what it
counts, and nothing else in the package counts tokens by itself:

- the judge's transcript budget (:mod:`~langchain_perceived_error.core.budget`) counts each turn
  as the judge reads it, ``user: <text>`` on its own line: 4 characters a token, the role's label
  counted by the estimator as the role name, and :data:`TURN_SEPARATOR_TOKENS` for ``": "`` and
  the line break (:func:`estimate_turn_tokens`, :func:`estimate_transcript_tokens`);
- cost projections (``bench.cost``), the token report of ``batch submit`` and the benchmarks count
  the messages a model receives with LangChain's defaults (:data:`CHARS_PER_TOKEN`,
  :data:`TOKENS_PER_MESSAGE`); :func:`estimate_text_tokens` is the same content term for a text
  that is not a message (a completion);
- the SFT builder's ``chars`` counter (:func:`resolve_token_counter`) over-counts on purpose:
  :data:`CHARS_PER_TOKEN` / :data:`SAFETY_MARGIN` = 3.2 characters a token (the 25% margin covers
  code, numbers and non-English text, which tokenize denser) and :data:`MESSAGE_OVERHEAD` template
  tokens a message (``<|im_start|>``, ``<|im_end|>``, line breaks), so an example it lets through
  fits. Fireworks cuts training examples longer than the job's context, and the exact count needs
  the base model's (Qwen's) tokenizer, which cannot be downloaded offline.

**tiktoken** (OpenAI's ``cl100k_base``; a different vocabulary from Qwen's, so still an estimate,
only a closer one) is the SFT builder's other counter, used only through tiktoken's public
``get_encoding`` and never downloaded here. Whether the encoding is usable offline is asked of
tiktoken itself, in a child process whose HTTP(S) proxy is a closed local port: ``get_encoding``
succeeds there only from tiktoken's local cache (a download attempt fails at once), and the child
is bounded by :data:`TIKTOKEN_PROBE_TIMEOUT_S`. The answer is kept for the process (per
environment, since ``TIKTOKEN_CACHE_DIR`` moves the cache). ``auto`` picks ``tiktoken`` when that
probe succeeds, else ``chars``; ``stats.json`` names the counter used.
"""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from langchain_core.messages.utils import MessageLikeRepresentation, count_tokens_approximately

from langchain_perceived_error.core.schemas import Turn

__all__ = [
    "CHARS_PER_TOKEN",
    "MESSAGE_OVERHEAD",
    "SAFETY_MARGIN",
    "TIKTOKEN_PROBE_TIMEOUT_S",
    "TOKENS_PER_MESSAGE",
    "TURN_SEPARATOR_TOKENS",
    "CounterName",
    "TokenCounter",
    "count_message_tokens",
    "estimate_text_tokens",
    "estimate_tokens",
    "estimate_transcript_tokens",
    "estimate_turn_tokens",
    "resolve_token_counter",
    "tiktoken_usable_offline",
]

CHARS_PER_TOKEN = 4.0
"""Characters a token: the usual figure for English with BPE tokenizers (LangChain's default)."""
TOKENS_PER_MESSAGE = 3.0
"""Template tokens a chat message adds beyond its role and content (LangChain's default)."""
TURN_SEPARATOR_TOKENS = 1.0
"""A transcript turn's ``": "`` and line break (its role label is counted as the role name)."""
SAFETY_MARGIN = 1.25
"""The SFT ``chars`` counter's over-estimate factor (3.2 characters a token instead of 4)."""
MESSAGE_OVERHEAD = 5
"""The SFT counters' template tokens per chat message (``<|im_start|>``, ``<|im_end|>``, breaks)."""
TIKTOKEN_PROBE_TIMEOUT_S = 30.0
"""Upper bound on the child process that asks tiktoken whether its encoding is cached."""

_ROLE_NAME_CHARS = {"human": len("user"), "ai": len("assistant")}
"""The OpenAI role names LangChain's estimator counts for a turn's message."""

CounterName = Literal["auto", "chars", "tiktoken"]

_TIKTOKEN_ENCODING = "cl100k_base"
_CLOSED_PROXY = "http://127.0.0.1:9"
"""The discard port: nothing listens there, so a download attempt is refused at once."""


def estimate_tokens(
    messages: Iterable[MessageLikeRepresentation],
    *,
    chars_per_token: float = CHARS_PER_TOKEN,
    extra_tokens_per_message: float = TOKENS_PER_MESSAGE,
    tools: Sequence[dict[str, Any]] | None = None,
) -> int:
    """Estimated tokens of ``messages`` and ``tools`` schemas (``count_tokens_approximately``)."""
    return count_tokens_approximately(
        messages,
        chars_per_token=chars_per_token,
        extra_tokens_per_message=extra_tokens_per_message,
        tools=list(tools) if tools else None,
    )


def estimate_text_tokens(text: str, *, chars_per_token: float = CHARS_PER_TOKEN) -> int:
    """Estimated tokens of a text that is not a message (a completion): the estimator's content
    term alone, ``ceil(characters / chars_per_token)``."""
    return math.ceil(len(text) / chars_per_token)


def estimate_turn_tokens(turn: Turn) -> int:
    """Estimated tokens of one transcript turn as the judge reads it (``user: <text>``).

    What :func:`estimate_tokens` gives for the turn as a ``HumanMessage`` / ``AIMessage`` with
    ``extra_tokens_per_message=TURN_SEPARATOR_TOKENS`` (its formula for string content: the
    characters of the content and of the OpenAI role name, ``ceil``-divided, plus the separator),
    computed without building the message: this runs for every turn of every judged trace.
    ``tests/unit_tests/test_tokens.py`` checks the two agree.
    """
    chars = len(turn.text) + _ROLE_NAME_CHARS[turn.role]
    return math.ceil(math.ceil(chars / CHARS_PER_TOKEN) + TURN_SEPARATOR_TOKENS)


def estimate_transcript_tokens(turns: Iterable[Turn]) -> int:
    """Estimated tokens of a transcript: the sum of :func:`estimate_turn_tokens`."""
    return sum(estimate_turn_tokens(turn) for turn in turns)


# -- the SFT builder's counters --------------------------------------------------------------------


@dataclass(frozen=True)
class TokenCounter:
    """A named counter of a chat example's tokens, described in one line for ``stats.json``."""

    name: str
    description: str
    count: Callable[[Sequence[Mapping[str, Any]]], int]


def _chars_count(messages: Sequence[Mapping[str, Any]]) -> int:
    return estimate_tokens(
        [dict(m) for m in messages],
        chars_per_token=CHARS_PER_TOKEN / SAFETY_MARGIN,
        extra_tokens_per_message=MESSAGE_OVERHEAD,
    )


CHARS_COUNTER = TokenCounter(
    name="chars",
    description=(
        f"estimate: LangChain count_tokens_approximately, ceil((role + content characters) / "
        f"{CHARS_PER_TOKEN / SAFETY_MARGIN:g}) per message (4 a token with a "
        f"{SAFETY_MARGIN:g}x margin) + {MESSAGE_OVERHEAD} template tokens; "
        "no Qwen tokenizer offline"
    ),
    count=_chars_count,
)


@cache
def _probe(encoding: str, environment: tuple[tuple[str, str], ...]) -> bool:
    env = dict(environment)
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        env[name] = _CLOSED_PROXY
    for name in ("NO_PROXY", "no_proxy", "all_proxy"):
        env.pop(name, None)
    code = "import sys, tiktoken; tiktoken.get_encoding(sys.argv[1])"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, encoding],
            env=env,
            capture_output=True,
            timeout=TIKTOKEN_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def tiktoken_usable_offline(encoding: str = _TIKTOKEN_ENCODING) -> bool:
    """Whether ``tiktoken.get_encoding(encoding)`` works without downloading (module doc)."""
    if importlib.util.find_spec("tiktoken") is None:
        return False
    return _probe(encoding, tuple(sorted(os.environ.items())))


def _tiktoken_counter() -> TokenCounter | None:
    """The cl100k counter, or None when tiktoken or its cached encoding is missing."""
    if not tiktoken_usable_offline(_TIKTOKEN_ENCODING):
        return None
    import tiktoken

    encoding = tiktoken.get_encoding(_TIKTOKEN_ENCODING)  # from the cache, as probed

    def count(messages: Sequence[Mapping[str, Any]]) -> int:
        return sum(
            len(encoding.encode(str(m.get("content") or ""), disallowed_special=()))
            + MESSAGE_OVERHEAD
            for m in messages
        )

    return TokenCounter(
        name="tiktoken",
        description=(
            f"tiktoken {_TIKTOKEN_ENCODING} (not Qwen's vocabulary: an estimate) "
            f"+ {MESSAGE_OVERHEAD} template tokens per message"
        ),
        count=count,
    )


def resolve_token_counter(name: CounterName = "auto") -> TokenCounter:
    """The counter called ``name``; ``auto`` prefers ``tiktoken`` when usable offline.

    Raises:
        ValueError: for ``tiktoken`` when the package or its cached encoding is missing, or an
            unknown name.

    """
    if name == "chars":
        return CHARS_COUNTER
    if name in ("auto", "tiktoken"):
        counter = _tiktoken_counter()
        if counter is not None:
            return counter
        if name == "auto":
            return CHARS_COUNTER
        msg = (
            f"the tiktoken counter needs the 'tiktoken' package and its {_TIKTOKEN_ENCODING} "
            "encoding already in tiktoken's local cache (it is never downloaded here; "
            "TIKTOKEN_CACHE_DIR sets where tiktoken looks); use --token-counter chars"
        )
        raise ValueError(msg)
    msg = f"unknown token counter {name!r}: use auto, chars or tiktoken"
    raise ValueError(msg)


def count_message_tokens(messages: Sequence[Mapping[str, Any]], counter: TokenCounter) -> int:
    """Tokens of a chat example (its messages' contents plus the template overhead)."""
    return counter.count(messages)
