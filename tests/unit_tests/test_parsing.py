import pytest

from langchain_perceived_error.core.parsing import VerdictParseError, parse_verdict

VALID = '{"perceived_error": true, "reason": "The user corrects the date."}'


@pytest.mark.parametrize(
    "text",
    [
        VALID,
        f"```json\n{VALID}\n```",
        f"```\n{VALID}\n```",
        f"<think>The user said no. So true.</think>\n{VALID}",
        f"<think>a {{ brace }} inside thinking</think>{VALID}",
        f"Thinking done.</think>{VALID}",  # servers that drop the opening tag
        f"Here is my verdict: {VALID} Hope that helps.",
        f"{VALID}\n{VALID}",  # the same verdict twice is still one answer
    ],
)
def test_accepts_the_verdict_wherever_it_stands(text):
    verdict = parse_verdict(text)
    assert verdict.perceived_error is True
    assert verdict.reason == "The user corrects the date."


def test_reason_is_stripped():
    verdict = parse_verdict('{"perceived_error": false, "reason": "  Thanks only.  "}')
    assert verdict.perceived_error is False
    assert verdict.reason == "Thanks only."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no JSON object"),
        ("The user perceived an error.", "no JSON object"),
        ("true", "no JSON object"),
        ('["perceived_error", true]', "no JSON object"),
        ('{"perceived_error": "true", "reason": "x"}', "perceived_error"),
        ('{"perceived_error": 1, "reason": "x"}', "perceived_error"),
        ('{"perceived_error": true}', "reason"),
        ('{"perceived_error": true, "reason": "   "}', "reason"),
        ('{"perceived_error": true, "reason": "x", "confidence": 0.9}', "confidence"),
        ('{"perceived_error": true, "reason": 5}', "reason"),
        ('{"perceived_error": true, "reason": "x"', "no JSON object"),
        (f"<think>{VALID}", "never closed"),
        (
            '{"perceived_error": true, "reason": "a"} {"perceived_error": false, "reason": "b"}',
            "disagree",
        ),
    ],
)
def test_rejects_everything_else_with_a_clear_message(text, message):
    with pytest.raises(VerdictParseError, match=message):
        parse_verdict(text)


def test_think_block_verdict_is_ignored_in_favour_of_the_answer():
    text = (
        '<think>{"perceived_error": true, "reason": "draft"}</think>'
        '{"perceived_error": false, "reason": "final"}'
    )
    verdict = parse_verdict(text)
    assert verdict.perceived_error is False
    assert verdict.reason == "final"
