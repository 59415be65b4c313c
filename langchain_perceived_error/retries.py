"""Transport faults: which model errors are worth retrying, and the default backoff.

Format retries (the model answered, but not with a valid verdict) live in the judge graph and send
the validation error back to the model. Transport retries (429, 5xx, timeouts, dropped connections)
re-run the same call with exponential backoff through LangGraph's ``RetryPolicy`` on the judge
node, so the two never mix: a flaky network does not use up format attempts.
"""

from __future__ import annotations

import asyncio

from langgraph.types import RetryPolicy

__all__ = ["DEFAULT_TRANSPORT_RETRY", "TRANSIENT_STATUS_CODES", "is_transient_error", "status_code"]

TRANSIENT_STATUS_CODES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
"""HTTP statuses that mean "try again later" rather than "this request is wrong"."""

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

DEFAULT_TRANSPORT_RETRY = RetryPolicy(
    initial_interval=1.0,
    backoff_factor=2.0,
    max_interval=60.0,
    max_attempts=6,
    jitter=True,
    retry_on=lambda exc: is_transient_error(exc),
)
"""Up to 6 tries over about a minute (1, 2, 4, 8, 16 s plus jitter) on transient errors only."""


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
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, ConnectionError)):
        return True
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)
