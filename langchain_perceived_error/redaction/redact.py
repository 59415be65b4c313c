"""Mask personal data and secrets in turns before they are sent to a third-party judge.

What is masked, and with what (in this order):

- ``[key]``: API keys and tokens (``sk-proj-...``, ``sk-ant-api03-...``, ``sk_live_...``,
  ``xoxb-...``, ``AIza...``, AWS key ids and secret keys, ``ghp_...``, ``github_pat_...``,
  ``glpat-...``, ``lsv2_pt_...``, ``fw_...``, ``hf_...``, JWTs, bearer tokens, private key blocks,
  the password of ``scheme://user:password@host``, the value of ``password=...``);
- ``[email]``: e-mail addresses in any script (``jane.doe@example.com``, ``josé@bücher.de``);
- ``[iban]``: IBANs that pass the checksum (``DE89 3704 0044 0532 0130 00``);
- ``[card]``: card numbers, Luhn-valid, with spaces, dashes or dots between the usual groups;
- ``[ip]``: IPv4 and IPv6 addresses (not loopback or unspecified);
- ``[phone]``: phone numbers (``+49 30 12345678``, ``+91 98765 43210``, ``01 23 45 67 89``).

The detectors run in this order, each on the text the previous ones left (a key is never
half-masked as a phone number, an IBAN never as a card). Redaction is pattern-based: it lowers
the risk, it does not remove it; names and street addresses are not masked unless a
``redactor`` that finds them is given (for example
:class:`~langchain_perceived_error.redaction.presidio.PresidioRedactor`). The recall and the false
positives of each kind are measured on ``tests/data/redaction_corpus.jsonl`` (README).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from langchain_perceived_error.redaction.keys import KEY_PATTERN, find_keys
from langchain_perceived_error.redaction.pii import (
    DEFAULT_PHONE_LENIENCY,
    DEFAULT_PHONE_REGIONS,
    find_cards,
    find_emails,
    find_ibans,
    find_ips,
    find_phones,
)

__all__ = [
    "KEY_PATTERN",
    "PatternRedactor",
    "Redactor",
    "chain_redactors",
    "mask_spans",
    "redact_text",
]

Redactor = Callable[[str, Counter[str]], str]
"""Masks what it finds in a text and adds one to ``counts[kind]`` per item masked.

:func:`redact_text` is the default; any callable of this shape can be given as ``redactor=``
(a redactor that counts nothing simply leaves ``counts`` alone)."""

Finder = Callable[[str], Iterable[tuple[int, int]]]


def mask_spans(
    text: str, spans: Iterable[tuple[int, int, str]], counts: Counter[str] | None = None
) -> str:
    """``text`` with each ``(start, end, kind)`` span replaced by ``[kind]``.

    Overlapping or touching spans are masked as one (with the first one's kind), so nothing of
    either is left; ``counts`` (if given) gains one per masked span.
    """
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(spans):
        if merged and start <= merged[-1][1]:
            first_start, first_end, first_kind = merged[-1]
            merged[-1] = (first_start, max(first_end, end), first_kind)
        else:
            merged.append((start, end, kind))
    for start, end, kind in reversed(merged):
        text = f"{text[:start]}[{kind}]{text[end:]}"
        if counts is not None:
            counts[kind] += 1
    return text


@dataclass(frozen=True)
class PatternRedactor:
    """The built-in detectors (see the module docstring), with the phone settings to use.

    ``phone_regions``: regions whose national formats are read as phone numbers (numbers with
    ``+`` and a country code are found for every country); ``phone_leniency``: a
    ``phonenumbers.Leniency`` value.
    """

    phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS
    phone_leniency: int = DEFAULT_PHONE_LENIENCY

    def finders(self) -> tuple[tuple[str, Finder], ...]:
        """(kind, finder) in the order applied."""
        phones = partial(find_phones, regions=self.phone_regions, leniency=self.phone_leniency)
        return (
            ("key", find_keys),
            ("email", find_emails),
            ("iban", find_ibans),
            ("card", find_cards),
            ("ip", find_ips),
            ("phone", phones),
        )

    def __call__(self, text: str, counts: Counter[str] | None = None) -> str:
        """``text`` with every item found masked; ``counts`` gains one per masked item."""
        for kind, finder in self.finders():
            text = mask_spans(text, ((start, end, kind) for start, end in finder(text)), counts)
        return text


_DEFAULT = PatternRedactor()


def redact_text(text: str, counts: Counter[str] | None = None) -> str:
    """``text`` with every match masked; ``counts`` (if given) gains one per masked item."""
    return _DEFAULT(text, counts)


def chain_redactors(*redactors: Redactor) -> Redactor:
    """One redactor that applies ``redactors`` in order (e.g. the patterns, then Presidio)."""

    def chained(text: str, counts: Counter[str]) -> str:
        for redactor in redactors:
            text = redactor(text, counts)
        return text

    return chained
