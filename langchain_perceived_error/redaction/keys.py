"""Where secrets are in a text: provider API keys, tokens, private keys, passwords.

The key formats follow the providers' documentation and the rules of the gitleaks secret scanner
(``config/gitleaks.toml``, MIT), written here as looser prefix patterns: a key keeps being caught
when a provider lengthens its body or adds ``_`` and ``-`` to it.

- :data:`KEY_PATTERN`: tokens that are keys by their shape alone (also used by
  :mod:`langchain_perceived_error.redaction.scrub` on every message we print or write).
- :func:`find_keys`: :data:`KEY_PATTERN`, plus AWS secret access keys (40 base64 characters of
  mixed case) and the value after a ``password=`` / ``api_key:`` / ``secret ...`` assignment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["KEY_PATTERN", "find_keys"]

# prefixes whose body is long and random: the prefix alone makes the token a key
_PREFIXED = (
    r"sk-(?:proj|svcacct|admin)-",  # OpenAI project, service account and admin keys
    r"sk-ant-(?:api|admin|sid)\d\d-",  # Anthropic
    r"(?:sk|rk|pk)_(?:live|test|prod)_",  # Stripe
    r"whsec_",  # Stripe webhook secret
    r"lsv2_(?:pt|sk)_",  # LangSmith
    r"fw_",  # Fireworks
    r"hf_",  # Hugging Face
    r"api_org_",  # Hugging Face organisation
    r"gh[pousr]_",  # GitHub classic, OAuth, user-to-server, server-to-server, refresh
    r"github_pat_",  # GitHub fine-grained
    r"gl(?:pat|ptt|dt|rt|ft|imt|oas|soat|agent|cbt)-",  # GitLab
    r"xox[abpre]-",  # Slack
    r"xapp-\d-",  # Slack app-level
    r"AIza",  # Google API key
    r"ya29\.",  # Google OAuth access token
    r"GOCSPX-",  # Google OAuth client secret
    r"gsk_",  # Groq
    r"xai-",  # xAI
    r"pplx-",  # Perplexity
    r"nvapi-",  # NVIDIA
    r"r8_",  # Replicate
    r"npm_",  # npm
    r"pypi-AgE",  # PyPI
    r"dop_v1_",  # DigitalOcean
    r"shp(?:at|ss|ca|pa)_",  # Shopify
    r"SG\.",  # SendGrid
)
KEY_PATTERN = re.compile(
    r"(?:\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*)"
    r"|(?:\bAuthorization:\s*Basic\s+[A-Za-z0-9+/]{8,}={0,2})"
    rf"|(?:\b(?:{'|'.join(_PREFIXED)})[A-Za-z0-9_.-]*[A-Za-z0-9]{{12,}}(?:[A-Za-z0-9_.-]*\w)?)"
    # legacy OpenAI keys and other sk-/pk-/rk- keys: with a digit, so that words such as
    # "sk-learn-compatible-estimator" are left alone
    r"|(?:\b(?:sk|pk|rk)-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{16,})"
    r"|(?:\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b)"  # AWS access key id
    r"|(?:\bSK[0-9a-fA-F]{32}\b)"  # Twilio
    r"|(?:\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"  # JWT
    r"|(?:-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
    r"[\s\S]*?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----)"
    r"|(?:(?<=://)[^\s/:@]+:[^\s/@]+(?=@))"  # the credentials of scheme://user:password@host
)
"""Tokens that are keys by their shape alone."""

_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_MAX_SLASHES = 3  # a 40-character path (usr/local/lib/...) is not a secret
_ASSIGNED = re.compile(
    r"(?i)(?<![a-z])(?:(?:password|passwd|pwd|passphrase|secret|client[_-]?secret|secret[_-]?access[_-]?key"
    r"|secret[_-]?key|api[_-]?key|access[_-]?key|access[_-]?token|auth[_-]?token|token)"
    r"""["']?\s*(?:[:=]|=>)|(?:password|passphrase)\s+(?:is|was)\b:?)\s*["']?"""
    r"""(?P<value>[^\s"',;]{7,}[^\s"',;.)])"""
)


def _looks_like_aws_secret(token: str) -> bool:
    return (
        token.count("/") <= _MAX_SLASHES
        and any(c.islower() for c in token)
        and any(c.isupper() for c in token)
        and any(c.isdigit() for c in token)
    )


def find_keys(text: str) -> Iterator[tuple[int, int]]:
    """Spans of ``text`` that hold a key, token, password or private key (they may overlap)."""
    for match in KEY_PATTERN.finditer(text):
        yield match.span()
    for match in _AWS_SECRET.finditer(text):
        if _looks_like_aws_secret(match.group()):
            yield match.span()
    for match in _ASSIGNED.finditer(text):
        if not match.group("value").startswith("["):  # already masked
            yield match.span("value")
