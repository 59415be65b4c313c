"""Options and helpers shared by several commands: LangSmith access, transcript preparation."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from langchain_perceived_error.cli.errors import UsageError, fail
from langchain_perceived_error.core.prompts import PromptStyle
from langchain_perceived_error.online.clients import LangSmithClients, LangSmithConfigError
from langchain_perceived_error.online.review import REVIEW_ORDERS, ReviewOrder
from langchain_perceived_error.redaction.scrub import register_secret
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = [
    "ApiKeyOption",
    "ApiUrlOption",
    "MaxInputTokensOption",
    "MinConfidenceOption",
    "PromptOption",
    "RedactOption",
    "ReviewOrderOption",
    "TimeoutOption",
    "WorkspaceOption",
    "exit_with",
    "langsmith_clients",
    "review_order",
]

ApiUrlOption = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        envvar=["LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT"],
        show_default=False,
        help="LangSmith API URL. Default: LangSmith cloud.",
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar=["LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"],
        callback=register_secret,
        show_default=False,
        help="LangSmith API key (never printed).",
    ),
]
WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace-id",
        envvar=["LANGSMITH_WORKSPACE_ID", "LANGSMITH_TENANT_ID"],
        show_default=False,
        help="LangSmith workspace id, for org-scoped keys.",
    ),
]

RedactOption = Annotated[
    bool,
    typer.Option(
        "--redact",
        help="Mask e-mails, phone and card numbers and keys before any model sees a trace.",
    ),
]
MaxInputTokensOption = Annotated[
    int | None,
    typer.Option(
        "--max-input-tokens",
        min=100,
        help="Token budget of a transcript; longer ones are cut, keeping the evidence. "
        "Default: 75% of the model's context when known, else 24,000.",
        show_default=False,
    ),
]

ReviewOrderOption = Annotated[
    str,
    typer.Option(
        "--order",
        help="Push order of flagged items: found (as read) or uncertain-first (the judge's "
        "confidence closest to 0.5 first; items without a confidence last).",
    ),
]
"""Use with ``= "found"``; checked against :data:`~langchain_perceived_error.online.review.
REVIEW_ORDERS`."""
MinConfidenceOption = Annotated[
    float | None,
    typer.Option(
        "--min-confidence",
        min=0.0,
        max=1.0,
        help="Queue only flagged items whose confidence (the judge's probability that a "
        "perceived error is present) is at least this. Items without a confidence are kept "
        "and counted.",
        show_default=False,
    ),
]
PromptOption = Annotated[
    PromptStyle,
    typer.Option(
        "--prompt",
        help="The judge's system prompt: full (default; base and frontier models), or compact "
        "(80 tokens; only for a model fine-tuned on SFT files built with --prompt compact). "
        "The rules judge ignores it.",
    ),
]
"""One prompt choice for ``sft build``, ``judge``, ``batch submit`` and ``bench``; use with
``= "full"``."""

TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=1.0,
        max=3600.0,
        help="Seconds one network request may take (connect and read) before it is retried "
        "as a transient error (at most an hour: every request has a timeout).",
    ),
]
"""Use with ``= DEFAULT_REQUEST_TIMEOUT_S`` (:mod:`langchain_perceived_error.transport.retries`)."""


def exit_with(error: Exception | str, code: int | None = None) -> NoReturn:
    """Print ``error: <what>`` on stderr (scrubbed, never markup) and exit with ``code``."""
    fail(error, code)


def langsmith_clients(
    api_url: str | None,
    api_key: str | None,
    workspace_id: str | None,
    timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
) -> LangSmithClients:
    """Both LangSmith clients (each request bounded by ``timeout_s``), or exit 2."""
    try:
        return LangSmithClients.create(
            api_key=api_key, api_url=api_url, tenant_id=workspace_id, timeout_s=timeout_s
        )
    except LangSmithConfigError as e:
        exit_with(e, 2)


def review_order(value: str) -> ReviewOrder:
    """``--order``'s value, checked (exit 2 naming the choices)."""
    if value == "found":
        return "found"
    if value == "uncertain-first":
        return "uncertain-first"
    msg = f"--order must be one of {', '.join(REVIEW_ORDERS)}: {value!r}"
    raise UsageError(msg)
