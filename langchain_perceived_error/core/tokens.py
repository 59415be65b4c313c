"""Token counts for SFT examples, offline.

Fireworks cuts training examples longer than the job's context (32,768 tokens by default), so
the SFT builder checks every example against ``--max-tokens`` before upload. The exact count needs
the base model's tokenizer (Qwen's), which cannot be downloaded offline, so two counters exist,
and ``stats.json`` names the one used:

- ``chars``: ``ceil(characters / 4 * 1.25)`` per message plus :data:`MESSAGE_OVERHEAD` tokens for
  the chat template's role markers. Four characters per token is the usual figure for English
  with BPE tokenizers; the 25% margin covers code, numbers and non-English text, which tokenize
  denser. It over-counts plain English, so an example it lets through fits.
- ``tiktoken``: OpenAI's ``cl100k_base`` encoding, when the optional ``tiktoken`` package is
  installed AND its encoding file is already in the local cache (it is never downloaded here). It
  is a different vocabulary from Qwen's, so it is still an estimate, only a closer one.

``auto`` picks ``tiktoken`` when it is usable offline, else ``chars``.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "CHARS_PER_TOKEN",
    "MESSAGE_OVERHEAD",
    "SAFETY_MARGIN",
    "CounterName",
    "TokenCounter",
    "count_message_tokens",
    "resolve_token_counter",
]

CHARS_PER_TOKEN = 4.0
"""Characters per token assumed by the ``chars`` counter before the margin."""
SAFETY_MARGIN = 1.25
"""The ``chars`` counter's over-estimate factor."""
MESSAGE_OVERHEAD = 5
"""Template tokens per chat message (role markers such as ``<|im_start|>user\\n``)."""

CounterName = Literal["auto", "chars", "tiktoken"]

_TIKTOKEN_ENCODING = "cl100k_base"
_TIKTOKEN_BLOB = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


@dataclass(frozen=True)
class TokenCounter:
    """A named token counting function with a one-line description for ``stats.json``."""

    name: str
    description: str
    count: Callable[[str], int]


def _char_estimate(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN * SAFETY_MARGIN)


CHARS_COUNTER = TokenCounter(
    name="chars",
    description=(
        f"estimate: ceil(characters / {CHARS_PER_TOKEN:g} * {SAFETY_MARGIN:g}) per message "
        f"+ {MESSAGE_OVERHEAD} template tokens; no Qwen tokenizer offline"
    ),
    count=_char_estimate,
)


def _tiktoken_cache_file() -> Path:
    """Where ``tiktoken`` caches the cl100k encoding (mirrors ``tiktoken.load``)."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    directory = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "data-gym-cache"
    return directory / hashlib.sha1(_TIKTOKEN_BLOB.encode(), usedforsecurity=False).hexdigest()


def _tiktoken_counter() -> TokenCounter | None:
    """The cl100k counter, or None when tiktoken or its cached encoding file is missing."""
    if not _tiktoken_cache_file().is_file():
        return None
    try:
        import tiktoken

        encoding = tiktoken.get_encoding(_TIKTOKEN_ENCODING)
    except Exception:  # not installed, or a corrupt cache: fall back rather than download
        return None

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

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
            f"encoding already cached at {_tiktoken_cache_file()} (it is never downloaded here); "
            "use --token-counter chars"
        )
        raise ValueError(msg)
    msg = f"unknown token counter {name!r}: use auto, chars or tiktoken"
    raise ValueError(msg)


def count_message_tokens(messages: Sequence[dict[str, str]], counter: TokenCounter) -> int:
    """Tokens of a chat example: every message's content plus the template overhead."""
    return sum(counter.count(m.get("content", "")) + MESSAGE_OVERHEAD for m in messages)
