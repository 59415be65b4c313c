"""Confidence from token log-probabilities and the evidence turn from a reason's quote.

End to end: the real ``ChatFireworks`` (resolved from a spec, so asking ``logprobs`` and
``top_logprobs``) against the local Fireworks server, which answers in the API's
OpenAI-compatible log-probability shape (checked against the SDK's types in
``test_fireworks_contract``).
"""

from __future__ import annotations

import math

import pytest
from langchain_core.messages import AIMessage

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.core.evidence import (
    CONFIDENCE_METADATA_KEY,
    locate_evidence,
    quoted_spans,
)
from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.judge.confidence import (
    TOP_LOGPROBS,
    evidence_turn,
    logprob_confidence,
    reply_confidence,
)
from langchain_perceived_error.judge.models import DEFAULT_FIREWORKS_MODEL, resolve_model
from tests.servers.fireworks_server import token_logprobs
from tests.unit_tests.test_graph import CONVERSATION, FAST_RETRY

TRUE = '{"perceived_error": true, "reason": "The user corrects the day: \\"No, I said Tuesday\\"."}'
FALSE = '{"perceived_error": false, "reason": "The user just asks a follow-up question."}'


@pytest.fixture
def fireworks_judge(fireworks_server):
    model = resolve_model(
        f"fireworks:{DEFAULT_FIREWORKS_MODEL}", api_key="k", base_url=fireworks_server.inference_url
    )
    yield PerceivedErrorJudge(model, transport_retry=FAST_RETRY)
    model.close()


def test_confidence_from_the_boolean_token_through_chat_fireworks(
    fireworks_server, fireworks_judge
):
    fireworks_server.responder = lambda body: TRUE
    fireworks_server.verdict_probabilities = {"true": 0.8, "false": 0.15}
    result = fireworks_judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.JUDGED
    assert result.confidence == pytest.approx(0.8 / 0.95)
    assert result.evidence_turn == 2  # the reason quotes the third turn
    assert result.to_record()["confidence"] == pytest.approx(0.8 / 0.95)
    body = fireworks_server.calls("POST", "chat/completions")[-1].body
    assert body["logprobs"] is True
    assert body["top_logprobs"] == TOP_LOGPROBS


def test_a_false_verdict_has_a_low_probability_of_error(fireworks_server, fireworks_judge):
    fireworks_server.responder = lambda body: FALSE
    fireworks_server.verdict_probabilities = {"false": 0.7, "true": 0.2}
    result = fireworks_judge.judge(CONVERSATION)
    assert result.perceived_error is False
    assert result.confidence == pytest.approx(0.2 / 0.9)
    assert result.evidence_turn is None  # the reason quotes nothing


def test_the_confidence_is_the_accepted_replys_after_a_format_retry(
    fireworks_server, fireworks_judge
):
    replies = iter(['{"perceived_error": "true", "reason": "x"}', TRUE])
    fireworks_server.responder = lambda body: next(replies)
    fireworks_server.verdict_probabilities = {"true": 0.6, "false": 0.4}
    result = fireworks_judge.judge(CONVERSATION)
    assert result.attempts == 2
    assert result.confidence == pytest.approx(0.6)


def test_no_logprobs_no_confidence(fireworks_server):
    model = resolve_model(
        f"fireworks:{DEFAULT_FIREWORKS_MODEL}",
        api_key="k",
        base_url=fireworks_server.inference_url,
        model_kwargs={},
    )
    fireworks_server.responder = lambda body: TRUE
    try:
        result = PerceivedErrorJudge(model, transport_retry=FAST_RETRY).judge(CONVERSATION)
    finally:
        model.close()
    assert result.perceived_error is True
    assert result.confidence is None
    assert "logprobs" not in fireworks_server.requests[-1].body


# -- the extraction itself ------------------------------------------------------------------------


def _content(*tokens: tuple[str, dict[str, float]]) -> dict[str, object]:
    return {
        "content": [
            {
                "token": token,
                "logprob": alternatives.get(token, -0.01),
                "top_logprobs": [{"token": t, "logprob": lp} for t, lp in alternatives.items()],
            }
            for token, alternatives in tokens
        ]
    }


def test_split_and_merged_boolean_tokens() -> None:
    lp = math.log
    split = _content(
        ('{"perceived_error":', {'{"perceived_error":': 0.0}),
        (" tr", {" tr": lp(0.3), " false": lp(0.6), " f": lp(0.1)}),
        ("ue", {"ue": 0.0}),
        (', "reason": "x"}', {}),
    )
    assert logprob_confidence(split) == pytest.approx(0.3)
    merged = _content(('{"perceived_error"', {}), (":true", {":true": lp(0.9), ":false": lp(0.1)}))
    assert logprob_confidence(merged) == pytest.approx(0.9)


def test_the_verdict_after_a_think_block_is_read() -> None:
    lp = math.log
    logprobs = _content(
        ('<think>"perceived_error": ', {}),
        ("false", {"false": lp(0.9), "true": lp(0.1)}),
        ('</think>{"perceived_error": ', {}),
        ("true", {"true": lp(0.75), "false": lp(0.25)}),
        ("}", {}),
    )
    assert logprob_confidence(logprobs) == pytest.approx(0.75)


def test_legacy_format_and_unusable_logprobs() -> None:
    legacy = {
        "tokens": ['{"perceived_error": ', "false", "}"],
        "token_logprobs": [-0.1, -0.2, -0.1],
        "top_logprobs": [{}, {"false": math.log(0.8), "true": math.log(0.2)}, {}],
    }
    assert logprob_confidence(legacy) == pytest.approx(0.2)
    assert logprob_confidence(None) is None
    assert logprob_confidence({"content": []}) is None
    # no alternatives at the boolean (top_logprobs not asked): nothing to normalise over
    bare = {"content": [{"token": '{"perceived_error": true}', "logprob": -0.1}]}
    assert logprob_confidence(bare) is None
    assert logprob_confidence(_content(("no verdict here", {"no": 0.0}))) is None


def test_server_logprobs_join_to_the_reply_and_rank_alternatives() -> None:
    logprobs = token_logprobs(TRUE, 3, {"true": 0.8, "false": 0.15})
    assert "".join(e["token"] for e in logprobs["content"]) == TRUE
    assert all(len(e["top_logprobs"]) == 3 for e in logprobs["content"])
    assert logprob_confidence(logprobs) == pytest.approx(0.8 / 0.95)


def test_a_judges_own_confidence_wins_and_bad_values_are_ignored() -> None:
    own = AIMessage(content=TRUE, response_metadata={CONFIDENCE_METADATA_KEY: 0.3})
    assert reply_confidence(own) == 0.3
    for bad in (1.5, -0.1, "0.4", True):
        message = AIMessage(content=TRUE, response_metadata={CONFIDENCE_METADATA_KEY: bad})
        assert reply_confidence(message) is None


# -- evidence turn from the reason ----------------------------------------------------------------


TURNS = [
    Turn(role="human", text="Book a table for two on Tuesday."),
    Turn(role="ai", text="Done: a table for four on Wednesday."),
    Turn(role="human", text="That's not what I asked. I said Tuesday, for two people!"),
    Turn(role="ai", text="You're right, sorry about that."),
    Turn(role="human", text="Thanks, now book a taxi."),
]


def test_quotes_are_found_in_user_turns() -> None:
    assert quoted_spans('It says "a" and \u201cb c\u201d.') == ["a", "b c"]
    assert locate_evidence('The user says: "I said Tuesday, for two people".', TURNS) == 2
    # curly apostrophes, case and an ellipsis
    assert (
        locate_evidence("The user: \u201cthat\u2019s NOT what I asked...for two\u201d", TURNS) == 2
    )
    # a reworded quote still matches most of its words
    assert locate_evidence('The user objects: "not what I asked, I said Tuesday"', TURNS) == 2
    # an assistant admission points to the user turn it answered
    assert locate_evidence('The assistant admits it: "You\'re right, sorry".', TURNS) == 2


def test_unplaceable_reasons_give_none() -> None:
    assert locate_evidence(None, TURNS) is None
    assert locate_evidence("The user corrects the day.", TURNS) is None
    assert locate_evidence('The user says "no".', TURNS) is None  # too short to place
    assert locate_evidence('The user says "book me a flight to Oslo".', TURNS) is None
    # the first user turn precedes any assistant turn: nothing reacted to yet
    assert locate_evidence('"Book a table for two on Tuesday"', TURNS) is None


def test_a_reported_turn_must_be_a_user_turn_of_the_transcript() -> None:
    reason = 'The user says "I said Tuesday".'
    assert evidence_turn(4, reason, TURNS) == 4
    assert evidence_turn(3, reason, TURNS) == 2  # an assistant turn: the quote decides
    assert evidence_turn(99, reason, TURNS) == 2
    assert evidence_turn(None, reason, TURNS) == 2
