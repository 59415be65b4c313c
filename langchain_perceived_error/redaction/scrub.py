"""Keep secrets out of everything we write: results, logs, reports and error messages.

Provider errors sometimes echo request headers or keys back in their message, and an error
message ends up in a result line, a log or a feedback comment. :func:`scrub` replaces the value of
every secret-looking environment variable (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``, ...), and
anything shaped like an API key (:data:`~langchain_perceived_error.redaction.keys.KEY_PATTERN`),
with ``[redacted]``.
"""

from __future__ import annotations

import os

from langchain_perceived_error.redaction.redact import KEY_PATTERN

__all__ = ["REDACTED", "SECRET_ENV_SUFFIXES", "register_secret", "scrub", "secret_values"]

REDACTED = "[redacted]"
SECRET_ENV_SUFFIXES = ("_API_KEY", "_KEY", "_TOKEN", "_SECRET", "_PASSWORD")
_MIN_SECRET_LENGTH = 8  # shorter values ("1", "true") would mangle ordinary text


_registered: set[str] = set()


def register_secret(value: str | None) -> str | None:
    """Scrub ``value`` (a key given on the command line...) from now on; return it unchanged."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        _registered.add(value)
    return value


def secret_values() -> list[str]:
    """Registered secrets and values of secret-looking environment variables, longest first."""
    values = {
        value
        for name, value in os.environ.items()
        if name.upper().endswith(SECRET_ENV_SUFFIXES) and len(value) >= _MIN_SECRET_LENGTH
    }
    return sorted(values | _registered, key=len, reverse=True)


def scrub(text: str) -> str:
    """``text`` with secret environment values and key-shaped tokens replaced by ``[redacted]``."""
    for value in secret_values():
        text = text.replace(value, REDACTED)
    return KEY_PATTERN.sub(REDACTED, text)
