from collections import Counter

import pytest

from langchain_perceived_error.redact import redact_text, redact_turns
from langchain_perceived_error.schemas import Turn


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("write to jane.doe+work@example.co.uk today", "write to [email] today", "email"),
        ("call +44 20 7946 0958", "call [phone]", "phone"),
        ("call (555) 123-4567 now", "call [phone] now", "phone"),
        ("call 555-123-4567", "call [phone]", "phone"),
        ("card 4111 1111 1111 1111 expires", "card [card] expires", "card"),
        ("card 4111-1111-1111-1111", "card [card]", "card"),
        ("key sk-proj-abcdefghijklmnop1234 leaked", "key [key] leaked", "key"),
        ("fw_ABCDEFGHIJKLMNOP1234", "[key]", "key"),
        ("lsv2_pt_0123456789abcdef0123456789abcdef_12ab", "[key]", "key"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456", "Authorization: [key]", "key"),
        ("AKIAABCDEFGHIJKLMNOP", "[key]", "key"),
        ("token eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4", "token [key]", "key"),
    ],
)
def test_each_kind_is_masked_and_counted(text, expected, kind):
    counts: Counter[str] = Counter()
    assert redact_text(text, counts) == expected
    assert counts == {kind: 1}


@pytest.mark.parametrize(
    "text",
    [
        "order 12345 shipped",
        "on 2024-05-01 at 10:30",
        "on 05/11/2024",
        "server 192.168.1.10",
        "price 1,299.00",
        "card 4111 1111 1111 1112",  # fails the Luhn check
        "version 3.11.7",
        "sk-short",
    ],
)
def test_lookalikes_are_left_alone(text):
    counts: Counter[str] = Counter()
    assert redact_text(text, counts) == text
    assert not counts


def test_redact_turns_keeps_roles_and_reports_counts():
    turns = [
        Turn(role="human", text="I'm jane@example.com, card 4111111111111111"),
        Turn(role="ai", text="Thanks, I'll email jane@example.com."),
    ]
    redacted, counts = redact_turns(turns)
    assert [t.role for t in redacted] == ["human", "ai"]
    assert redacted[0].text == "I'm [email], card [card]"
    assert redacted[1].text == "Thanks, I'll email [email]."
    assert counts == {"email": 2, "card": 1}
    assert turns[0].text.startswith("I'm jane@")  # the input is not modified
