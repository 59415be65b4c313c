"""Property tests: arbitrary input never raises anything but the documented errors, and every
record ends as judged, skipped or failed."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.core.parsing import VerdictParseError, parse_verdict
from langchain_perceived_error.core.prompts import parse_rendered_transcript, render_transcript
from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.core.transcript import TranscriptError, extract_transcript

TEXT = st.text(max_size=200)
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
JSON = st.recursive(
    JSON_LEAF,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)
KEYS = st.sampled_from(
    [
        "role",
        "content",
        "type",
        "data",
        "messages",
        "runs",
        "inputs",
        "outputs",
        "tool_calls",
        "generations",
        "choices",
        "id",
        "lc",
        "kwargs",
        "start_time",
        "text",
        "message",
        "name",
    ]
)
SHAPED = st.recursive(
    JSON_LEAF
    | st.sampled_from(["user", "assistant", "human", "ai", "tool", "system", "constructor"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)


def assert_message(error):
    """Documented errors say what went wrong."""
    assert str(error).strip()


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.one_of(JSON, SHAPED))
def test_extraction_raises_only_transcript_error(value):
    try:
        turns = extract_transcript(value)
    except TranscriptError as e:
        assert_message(e)
    else:
        assert all(isinstance(t, Turn) and t.role in ("human", "ai") for t in turns)


@FAST
@given(st.text(max_size=400) | JSON.map(json.dumps))
def test_parse_verdict_raises_only_verdict_parse_error(text):
    try:
        verdict = parse_verdict(text)
    except VerdictParseError as e:
        assert_message(e)
    else:
        assert isinstance(verdict.perceived_error, bool)
        assert verdict.reason.strip()


TURNS = st.lists(
    st.builds(Turn, role=st.sampled_from(["human", "ai"]), text=st.text(min_size=1, max_size=80)),
    max_size=6,
)


@FAST
@given(TURNS)
def test_rendering_keeps_one_block_and_the_turn_roles(turns):
    rendered = render_transcript(turns)
    assert rendered.count("<transcript>") == 1
    assert rendered.count("</transcript>") == 1
    assert [t.role for t in parse_rendered_transcript(rendered)] == [t.role for t in turns]


JUDGE = PerceivedErrorJudge("rules")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON, SHAPED, TURNS.map(lambda ts: [(t.role, t.text) for t in ts])))
def test_every_record_ends_judged_skipped_or_failed(record):
    result = JUDGE.judge(record)
    assert result.status in set(JudgeStatus)
    if result.status is JudgeStatus.FAILED:
        assert result.error
        assert result.perceived_error is None
    elif result.status is JudgeStatus.SKIPPED:
        assert result.skip_reason
    else:
        assert isinstance(result.perceived_error, bool)


def test_deep_nesting_and_huge_strings_do_not_crash():
    deep: object = {"messages": []}
    for _ in range(2000):
        deep = {"messages": [deep]}
    assert JUDGE.judge(deep).status is JudgeStatus.FAILED
    big = "x" * 2_000_000
    result = JUDGE.judge([("user", big), ("assistant", big), ("user", "no, that's wrong")])
    assert result.status is JudgeStatus.JUDGED
