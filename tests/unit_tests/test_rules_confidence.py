"""The rules judge's calibrated confidence and evidence turn, and the isotonic fit behind it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from langchain_perceived_error import PerceivedErrorJudge
from langchain_perceived_error.bench.calibration import fit_isotonic
from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.rules import (
    RULES_CALIBRATION,
    SIGNAL_KINDS,
    RulesJudge,
    Signal,
    assess_turns,
    signal_strength,
)
from langchain_perceived_error.rules.confidence import (
    MAX_STRENGTH,
    SIGNAL_WEIGHTS,
    calibrated_confidence,
    evidence_turn,
)


def h(text: str) -> Turn:
    return Turn(role="human", text=text)


def a(text: str) -> Turn:
    return Turn(role="ai", text=text)


REQUEST = "Book a table for two at 7pm on Tuesday at Luigi's."
ANSWER = "Done: I booked a table for four at 7pm on Wednesday at Luigi's."


def test_strength_weights_stated_signals_over_behavioural_ones() -> None:
    stated = Signal(kind="correction", turn_index=2, quote="No")
    behaviour = Signal(kind="repetition", turn_index=4, quote="again")
    assert signal_strength([]) == 0.0
    assert signal_strength([behaviour]) == 0.5
    assert signal_strength([stated]) == 1.0
    assert signal_strength([stated, stated]) == 1.0  # the same (turn, kind) counts once
    assert signal_strength([stated, behaviour]) == 1.5
    many = [Signal(kind="correction", turn_index=i, quote="no") for i in range(5)]
    assert signal_strength(many) == MAX_STRENGTH
    assert set(SIGNAL_WEIGHTS) == set(SIGNAL_KINDS)  # every family has a weight


def test_shipped_table_is_a_non_decreasing_probability_table() -> None:
    strengths = [s for s, _ in RULES_CALIBRATION]
    probabilities = [p for _, p in RULES_CALIBRATION]
    assert strengths == sorted(strengths)
    assert strengths[0] == 0.0
    assert probabilities == sorted(probabilities)
    assert all(0.0 < p < 1.0 for p in probabilities)
    # no signal is unlikely an error, a stated signal more likely than not
    assert calibrated_confidence(0.0) < 0.1 < 0.5 < calibrated_confidence(1.0)


def test_lookup_takes_the_highest_row_at_or_below() -> None:
    table = ((0.0, 0.1), (1.0, 0.6), (2.0, 0.9))
    assert calibrated_confidence(0.0, table) == 0.1
    assert calibrated_confidence(0.5, table) == 0.1
    assert calibrated_confidence(1.5, table) == 0.6
    assert calibrated_confidence(3.0, table) == 0.9
    with pytest.raises(ValueError, match="empty"):
        calibrated_confidence(1.0, ())


def test_assessment_of_a_correction() -> None:
    turns = [h(REQUEST), a(ANSWER), h("No, I said Tuesday.")]
    assessment = assess_turns(turns)
    assert assessment.verdict.perceived_error is True
    assert assessment.strength == 1.0
    assert assessment.confidence == calibrated_confidence(1.0)
    assert assessment.evidence_turn == 2


def test_assessment_without_signal_and_when_not_eligible() -> None:
    quiet = assess_turns([h(REQUEST), a(ANSWER), h("Great, thanks!")])
    assert quiet.verdict.perceived_error is False
    assert quiet.confidence == calibrated_confidence(0.0)
    assert quiet.evidence_turn is None
    alone = assess_turns([h(REQUEST), a(ANSWER)])
    assert alone.confidence is None
    assert alone.evidence_turn is None


def test_an_admission_rests_on_the_user_turn_it_answered() -> None:
    turns = [
        h(REQUEST),
        a(ANSWER),
        h("Can you check the booking?"),
        a("You're right, I'm sorry, I booked the wrong day."),
    ]
    assessment = assess_turns(turns)
    assert assessment.verdict.perceived_error is True
    assert assessment.evidence_turn == 2
    admission = Signal(kind="admission", turn_index=3, quote="sorry")
    assert evidence_turn([admission], turns) == 2


def test_the_judge_result_carries_the_rules_confidence_and_turn() -> None:
    judge = PerceivedErrorJudge("rules")
    flagged = judge.judge(
        [
            {"role": "user", "content": "Move my 1:1 with Sam to Tuesday."},
            {"role": "assistant", "content": "Done, it's now on Wednesday at 10:00."},
            {"role": "user", "content": "Thanks."},
            {"role": "assistant", "content": "Anything else?"},
            {"role": "user", "content": "No, I said Tuesday."},
        ]
    )
    assert flagged.perceived_error is True
    assert flagged.confidence == calibrated_confidence(1.0)
    assert flagged.evidence_turn == 4
    record = flagged.to_record()
    assert record["confidence"] == flagged.confidence
    assert record["evidence_turn"] == 4
    skipped = judge.judge([("user", "Hi!"), ("assistant", "Hello!")])
    assert skipped.confidence is None
    assert skipped.evidence_turn is None


def test_rules_judge_reply_metadata_holds_the_assessment() -> None:
    from langchain_perceived_error.core.evidence import (
        CONFIDENCE_METADATA_KEY,
        EVIDENCE_TURN_METADATA_KEY,
    )
    from langchain_perceived_error.core.prompts import build_judge_messages

    reply = RulesJudge().invoke(build_judge_messages([h(REQUEST), a(ANSWER), h("wrong.")]))
    assert reply.response_metadata[CONFIDENCE_METADATA_KEY] == calibrated_confidence(1.0)
    assert reply.response_metadata[EVIDENCE_TURN_METADATA_KEY] == 2
    assert '"perceived_error":true' in reply.text.replace(" ", "")


def test_isotonic_fit_pools_violators_and_shrinks_to_the_base_rate() -> None:
    # scores 0: 1/10 positive, 1: 0/2 (a violation, pooled with 0), 2: 4/4
    scores = [0.0] * 10 + [1.0] * 2 + [2.0] * 4
    labels = [True] + [False] * 9 + [False, False] + [True] * 4
    table = dict(fit_isotonic(scores, labels, prior_weight=0.0))
    assert table[0.0] == table[1.0] == pytest.approx(1 / 12, abs=1e-4)
    assert table[2.0] == 1.0
    shrunk = dict(fit_isotonic(scores, labels, prior_weight=1.0))
    base = 5 / 16
    assert shrunk[2.0] == pytest.approx((4 + base) / 5, abs=1e-4)
    assert shrunk[2.0] < 1.0
    assert shrunk[0.0] == pytest.approx((1 + base) / 13, abs=1e-4)


def test_isotonic_fit_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="labels"):
        fit_isotonic([0.0], [True, False])
    with pytest.raises(ValueError, match="no items"):
        fit_isotonic([], [])
    with pytest.raises(ValueError, match="negative"):
        fit_isotonic([0.0], [True], prior_weight=-1)


EURTAD = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "eurtad" / "items.jsonl"


@pytest.mark.skipif(not EURTAD.exists(), reason="../shared/datasets/eurtad is not available")
def test_the_shipped_table_is_the_fit_of_the_current_rules() -> None:
    """A change to the rules that moves the signal strengths needs a re-fitted table."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/calibrate_rules.py",
            "--data",
            str(EURTAD),
            "--check",
            "--resamples",
            "20",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "RULES_CALIBRATION" in done.stdout
