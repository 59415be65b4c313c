"""Redaction: mask secrets and personal data in text before it reaches a model, a log or a file.

Owns the pattern redactors (:mod:`.redact`, :mod:`.keys` for API keys and tokens, :mod:`.pii`
for e-mails, phone numbers, cards and IBANs), the optional Presidio redactor (:mod:`.presidio`)
and the process-wide scrubbing of registered secrets from every output (:mod:`.scrub`). It works
on strings only.

May import: third-party libraries only (it is the bottom layer, with :mod:`..transport`).
"""

from langchain_perceived_error.redaction.redact import Redactor, chain_redactors, redact_text
from langchain_perceived_error.redaction.scrub import register_secret, scrub

__all__ = ["Redactor", "chain_redactors", "redact_text", "register_secret", "scrub"]
