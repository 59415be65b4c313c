"""Where the confidence and evidence turn show (issue 16): evaluators, feedback, the summary."""

from __future__ import annotations

import io

from rich.console import Console

from langchain_perceived_error import PerceivedErrorJudge
from langchain_perceived_error.cli.summary import RunSummary
from langchain_perceived_error.core.evidence import evidence_note, with_evidence_note
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus, Turn, Verdict
from langchain_perceived_error.evaluation.evaluators import (
    create_perceived_error_evaluator,
    evaluation_result,
)
from langchain_perceived_error.online.feedback import feedback_fields

FLAGGED = [
    {"role": "user", "content": "Move my 1:1 with Sam to Tuesday."},
    {"role": "assistant", "content": "Done, it's now on Wednesday at 10:00."},
    {"role": "user", "content": "No, I said Tuesday."},
]


def test_the_note_counts_turns_from_one() -> None:
    turns = [Turn(role="human", text="a"), Turn(role="ai", text="b"), Turn(role="human", text="c")]
    assert evidence_note(2, turns) == "evidence: turn 3 of 3"
    assert evidence_note(None, turns) is None
    assert evidence_note(7, turns) is None
    assert with_evidence_note("Reason.", 2, turns) == "Reason. (evidence: turn 3 of 3)"
    assert with_evidence_note("Reason.", None, turns) == "Reason."


def test_evaluator_result_carries_confidence_and_points_to_the_turn() -> None:
    result = PerceivedErrorJudge("rules").judge(FLAGGED)
    assert result.confidence is not None
    evaluation = evaluation_result(result)
    assert evaluation.score == 1  # the score stays 0/1
    assert evaluation.value == result.confidence
    assert evaluation.extra is not None
    assert evaluation.extra["confidence"] == result.confidence
    assert evaluation.extra["evidence_turn"] == 2
    assert evaluation.comment == f"{result.reason} (evidence: turn 3 of 3)"
    as_dict = create_perceived_error_evaluator("rules")(outputs={"messages": FLAGGED})
    assert as_dict["value"] == result.confidence
    assert as_dict["score"] == 1


def test_no_confidence_no_value_and_no_extra_keys() -> None:
    result = JudgeResult(
        status=JudgeStatus.JUDGED,
        verdict=Verdict(perceived_error=False, reason="Fine."),
        model="m",
    )
    evaluation = evaluation_result(result)
    assert evaluation.value is None
    assert evaluation.extra is not None
    assert "confidence" not in evaluation.extra
    assert "evidence_turn" not in evaluation.extra
    assert evaluation.comment == "Fine."
    fields = feedback_fields(result)
    assert fields is not None
    assert fields["value"] is None
    assert "confidence" not in fields["extra"]


def test_feedback_fields_hold_the_confidence() -> None:
    result = PerceivedErrorJudge("rules").judge(FLAGGED)
    fields = feedback_fields(result)
    assert fields is not None
    assert fields["score"] == 1
    assert fields["value"] == result.confidence
    assert fields["extra"]["evidence_turn"] == 2
    assert fields["comment"].endswith("(evidence: turn 3 of 3)")


def _render(summary: RunSummary) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(summary.table())
    return console.export_text()


def test_summary_counts_confidences_and_uncertain_verdicts() -> None:
    summary = RunSummary(model="m")
    verdict = Verdict(perceived_error=True, reason="x")
    for confidence in (0.95, 0.5, 0.3, None):
        summary.add(JudgeResult(status=JudgeStatus.JUDGED, verdict=verdict, confidence=confidence))
    text = _render(summary)
    assert summary.with_confidence == 3
    assert summary.uncertain == 2
    assert "3 of 4 judged" in text
    assert "uncertain (0.2-0.8)" in text
    without = RunSummary(model="m")
    without.add(JudgeResult(status=JudgeStatus.JUDGED, verdict=verdict))
    assert "confidence" not in _render(without)  # no row for a judge that gives none


def test_panel_votes_keep_each_members_confidence_and_turn() -> None:
    from langchain_perceived_error.datasets.panel import PanelLabeller
    from tests.fakes import ScriptedChatModel

    scripted = ScriptedChatModel(
        script=['{"perceived_error": true, "reason": "The user says \\"No, I said Tuesday\\"."}'],
        model_name="scripted",
    )
    outcome = PanelLabeller(["rules", scripted], transport_retry=None).label(
        FLAGGED, record_id="t1"
    )
    assert outcome.record is not None
    rules_vote, scripted_vote = outcome.record.metadata["votes"]
    assert rules_vote["confidence"] is not None
    assert rules_vote["evidence_turn"] == 2
    assert scripted_vote["confidence"] is None  # a scripted model gives none
    assert scripted_vote["evidence_turn"] == 2  # located from the quote in its reason
