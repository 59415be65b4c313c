"""Transport faults: which model errors are worth retrying, and the default backoff.

Format retries (the model answered, but not with a valid verdict) live in the judge graph and send
the validation error back to the model. Transport retries (429, 5xx, timeouts, dropped connections)
re-run the same request with the exponential backoff of a LangGraph ``RetryPolicy``, read per model
request by the judge graph (:func:`should_retry`, :func:`backoff_interval`), so the two never mix:
a flaky network does not use up format attempts.

Rate limits (429, and 503/529 load shedding) are a third kind: the judge node hands them to the
adaptive limiter (:mod:`langchain_perceived_error.transport.ratelimit`), which waits at least the
server's ``Retry-After`` and slows every concurrent call down, without using up ``RetryPolicy``
attempts. :func:`retry_after` and :func:`response_headers` read what the server said from any SDK's
error.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

from langchain_core.exceptions import ModelConnectionError, ModelTimeoutError
from langgraph.types import RetryPolicy

__all__ = [
    "DEFAULT_REQUEST_TIMEOUT_S",
    "DEFAULT_TRANSPORT_RETRY",
    "THROTTLE_STATUS_CODES",
    "TRANSIENT_STATUS_CODES",
    "backoff_interval",
    "is_rate_limit_error",
    "is_transient_error",
    "parse_retry_after",
    "response_headers",
    "retry_after",
    "should_retry",
    "status_code",
]

DEFAULT_REQUEST_TIMEOUT_S = 60.0
"""Seconds one network request (a model call, a LangSmith or Fireworks API call) may take to
connect, and then between bytes of its answer, before it is abandoned as a transient error (retried
with backoff); ``--timeout`` changes it."""

TRANSIENT_STATUS_CODES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
"""HTTP statuses that mean "try again later" rather than "this request is wrong"."""

THROTTLE_STATUS_CODES = frozenset({429, 503, 529})
"""Statuses that mean "too much traffic": rate limited (429) or load shedding (503, 529)."""

_THROTTLE_NAMES = frozenset({"RateLimitError", "ModelRateLimitError", "OverloadedError"})

_TRANSIENT_NAMES = frozenset(
    {
        "APIConnectionError",
        "APITimeoutError",
        "ConnectError",
        "ConnectTimeout",
        "InternalServerError",
        "OverloadedError",
        "RateLimitError",
        "ReadError",
        "ReadTimeout",
        "RemoteProtocolError",
        "ServerDisconnectedError",
        "ServiceUnavailableError",
        "Timeout",
        "TimeoutException",
        "WriteTimeout",
    }
)

_TRANSIENT_TYPES = (
    TimeoutError,
    asyncio.TimeoutError,
    ConnectionError,
    ModelConnectionError,  # langchain-core's provider-neutral classes (langchain-fireworks 1.7+)
    ModelTimeoutError,
)

DEFAULT_TRANSPORT_RETRY = RetryPolicy(
    initial_interval=1.0,
    backoff_factor=2.0,
    max_interval=60.0,
    max_attempts=6,
    jitter=True,
    retry_on=lambda exc: is_transient_error(exc),
)
"""Up to 6 tries over about a minute (1, 2, 4, 8, 16 s plus jitter) on transient errors only.

LangGraph's policy cannot read ``Retry-After``; the judge node waits for it before handing an error
to this policy (and, with the adaptive limiter on, absorbs 429s itself without using attempts)."""


def should_retry(policy: RetryPolicy, exc: Exception) -> bool:
    """Whether ``policy.retry_on`` (an exception class, a sequence of them, or a predicate) retries
    ``exc``: the rule LangGraph applies to a node, here applied to one model request."""
    retry_on = policy.retry_on
    if isinstance(retry_on, type):
        return isinstance(exc, retry_on)
    if isinstance(retry_on, Sequence):
        return isinstance(exc, tuple(retry_on))
    return bool(retry_on(exc))


def backoff_interval(policy: RetryPolicy, failures: int) -> float:
    """Seconds to wait after the ``failures``-th failure (1, 2, ...), as LangGraph's node retry
    waits: ``initial_interval * backoff_factor ** (failures - 1)``, at most ``max_interval``,
    plus up to one second of jitter when ``policy.jitter``."""
    interval = min(
        policy.max_interval, policy.initial_interval * policy.backoff_factor ** (failures - 1)
    )
    return interval + random.uniform(0, 1) if policy.jitter else interval


def status_code(exc: BaseException) -> int | None:
    """The HTTP status an SDK exception carries, if any (``status_code`` or ``response``)."""
    for candidate in (
        getattr(exc, "status_code", None),
        getattr(getattr(exc, "response", None), "status_code", None),
        getattr(exc, "status", None),
    ):
        if isinstance(candidate, int):
            return candidate
    return None


def is_transient_error(exc: BaseException) -> bool:
    """True for rate limits, server errors, timeouts and dropped connections, in any SDK."""
    code = status_code(exc)
    if code is not None:
        return code in TRANSIENT_STATUS_CODES
    if isinstance(exc, _TRANSIENT_TYPES):
        return True
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


def is_rate_limit_error(exc: BaseException) -> bool:
    """True for "too much traffic" errors: 429, 503 and 529, or an SDK's rate-limit error type."""
    code = status_code(exc)
    if code is not None:
        return code in THROTTLE_STATUS_CODES
    return any(cls.__name__ in _THROTTLE_NAMES for cls in type(exc).__mro__)


def response_headers(exc: BaseException) -> Mapping[str, str] | None:
    """The HTTP response headers an SDK exception carries (``exc.response.headers``), if any.

    Works for the OpenAI-style SDKs (fireworks, openai, anthropic: an ``httpx.Response``), for
    ``requests``/``aiohttp``-style errors with ``headers``, and for a plain ``headers`` mapping.
    """
    for holder in (getattr(exc, "response", None), exc):
        headers = getattr(holder, "headers", None)
        if isinstance(headers, Mapping):
            return headers
    return None


def parse_retry_after(
    headers: Mapping[str, Any] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    Header names are matched case-insensitively. Returns None when neither header is present or
    readable; negative waits become 0.
    """
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in headers.items()}
    milliseconds = _as_float(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return max(0.0, milliseconds / 1000.0)
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _as_float(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def retry_after(exc: BaseException) -> float | None:
    """The wait in seconds that the server asked for in the error's response, if any."""
    return parse_retry_after(response_headers(exc))


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
