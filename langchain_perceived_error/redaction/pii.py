"""Where personal data is in a text: e-mail addresses, IBANs, card numbers, IP addresses, phones.

Each finder yields the spans it is sure of. A regular expression proposes candidates; a check
decides: the IBAN checksum (``python-stdnum``), the Luhn check and card groupings, ``ipaddress``,
and Google's libphonenumber (``phonenumbers``) for phone numbers in every country's formats.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Sequence

import phonenumbers
from stdnum import iban, luhn

__all__ = [
    "DEFAULT_PHONE_LENIENCY",
    "DEFAULT_PHONE_REGIONS",
    "find_cards",
    "find_emails",
    "find_ibans",
    "find_ips",
    "find_phones",
]

# -- e-mail: any script in the local part and the domain (josé@bücher.de, 用户@例子.广告) --------
# ``\w`` lacks the combining marks of Indic, Thai and other scripts (कंपनी.भारत): add them
_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0900-\u0dff\u0e31-\u0e4e"
)
_WORD = rf"[\w{_MARKS}]"
_LETTER = rf"(?:[^\W\d_]|[{_MARKS}])"
_EMAIL = re.compile(
    rf"(?<![\w.%+'-])(?:{_WORD}|[.%+-])+(?:'(?:{_WORD}|[.%+-])+)*"
    rf"@(?:{_WORD}|-)+(?:\.(?:{_WORD}|-)+)*\.{_LETTER}{{2,}}(?!{_WORD})"
)


def find_emails(text: str) -> Iterator[tuple[int, int]]:
    """Spans of e-mail addresses (a top-level domain of letters: ``lodash@4.17.21`` is not one)."""
    for match in _EMAIL.finditer(text):
        yield match.span()


# -- IBAN: country, check digits, then groups of up to four, with or without spaces ---------------
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){3,8}\b")


def find_ibans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of IBANs that pass the ISO 13616 checksum and their country's length."""
    for match in _IBAN.finditer(text):
        candidate = match.group()
        # the last groups may be an upper-case word after the IBAN: drop them until it is valid
        while candidate and not iban.is_valid(candidate):
            candidate = candidate.rpartition(" ")[0]
        if candidate:
            yield match.start(), match.start() + len(candidate)


# -- cards: 13-19 digits in the usual groupings, Luhn-valid, a card network's first digit ---------
_CARD = re.compile(r"(?<![\w.+-])\d(?:[ .-]?\d){12,18}(?![\w]|[.-]\d| \d)")
_CARD_GROUPINGS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 3)}
_CARD_NETWORK_DIGITS = "23456"  # Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay 6


def _is_card(candidate: str) -> bool:
    separators = set(re.findall(r"\D", candidate))
    digits = re.sub(r"\D", "", candidate)
    if len(separators) > 1 or digits[0] not in _CARD_NETWORK_DIGITS or not luhn.is_valid(digits):
        return False
    if not separators:
        return True
    groups = tuple(len(group) for group in candidate.split(separators.pop()))
    return groups in _CARD_GROUPINGS


def find_cards(text: str) -> Iterator[tuple[int, int]]:
    """Spans of card numbers: no separator, or one kind of separator (space, dash, dot)."""
    for match in _CARD.finditer(text):
        if _is_card(match.group()):
            yield match.span()


# -- IP addresses: what ``ipaddress`` accepts, except loopback and unspecified --------------------
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?"
    r"(?![\w:]|\.\d)"
)
_MIN_IPV6_CHARACTERS = 6  # "a::b" in prose is not an address


def _is_ip(candidate: str) -> bool:
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified)


def find_ips(text: str) -> Iterator[tuple[int, int]]:
    """Spans of IPv4 and IPv6 addresses (``127.0.0.1``, ``::1`` and ``0.0.0.0`` identify nobody)."""
    for match in _IPV4.finditer(text):
        if _is_ip(match.group()):
            yield match.span()
    for match in _IPV6.finditer(text):
        if len(match.group()) >= _MIN_IPV6_CHARACTERS and _is_ip(match.group()):
            yield match.span()


# -- phone numbers: libphonenumber's matcher, once per region whose national formats we read ------
DEFAULT_PHONE_REGIONS = (
    "US",
    "GB",
    "DE",
    "FR",
    "IN",
    "BR",
    "ES",
    "IT",
    "AU",
    "NL",
    "RU",
    "JP",
    "MX",
)
"""Regions whose national formats (without ``+`` and a country code) are recognised. Numbers
written with ``+`` and a country code are recognised for every country."""

DEFAULT_PHONE_LENIENCY = phonenumbers.Leniency.STRICT_GROUPING
"""Valid for its region and grouped as that region groups its numbers (see the README's
measurements: ``VALID`` also reads ISBNs, ISSNs and dates as national numbers)."""


def find_phones(
    text: str,
    regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
    leniency: int = DEFAULT_PHONE_LENIENCY,
) -> Iterator[tuple[int, int]]:
    """Spans of phone numbers, national formats read as numbers of any of ``regions``."""
    for region in regions or (None,):
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency):
            yield match.start, match.end
