"""Panel labelling: every branch offline (rules and scripted models), kappa, and the CLI."""

from __future__ import annotations

import asyncio
import importlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from typer.testing import CliRunner

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.cli import app
from langchain_perceived_error.core.metrics import cohen_kappa
from langchain_perceived_error.core.prompts import render_transcript
from langchain_perceived_error.core.records import UnreadableRecord
from langchain_perceived_error.core.schemas import SourceIds, Turn, Verdict
from langchain_perceived_error.datasets.labels import read_labelled
from langchain_perceived_error.datasets.panel import (
    ADJUDICATION_PROMPT,
    AgreementReport,
    PairAgreement,
    PanelLabeller,
    PanelOutcome,
    adjudication_messages,
    build_adjudication_messages,
    queue_item_for,
    render_panel_verdicts,
)
from langchain_perceived_error.datasets.reviews import ReviewItem, read_reviews
from langchain_perceived_error.judge.models import resolve_model
from langchain_perceived_error.online.queues import RunItem, ThreadItem
from tests.fakes import ScriptedChatModel, ScriptedError
from tests.servers.langsmith_capture import LocalLangSmith

CORRECTED = [
    {"role": "user", "content": "Move my 1:1 with Sam to Tuesday."},
    {"role": "assistant", "content": "Done, it's now on Wednesday at 10:00."},
    {"role": "user", "content": "No, I said Tuesday."},
]
THANKED = [
    {"role": "user", "content": "Move my 1:1 with Sam to Tuesday."},
    {"role": "assistant", "content": "Done, it's now on Tuesday at 10:00."},
    {"role": "user", "content": "Great, thanks!"},
]
SINGLE_TURN = [
    {"role": "user", "content": "Hi!"},
    {"role": "assistant", "content": "Hello, how can I help?"},
]
YES = '{"perceived_error": true, "reason": "The user says the day is wrong."}'
NO = '{"perceived_error": false, "reason": "The user only thanks the assistant."}'


def scripted(*answers: Any, name: str = "scripted") -> ScriptedChatModel:
    """A model answering from a script (the last answer repeats)."""
    return ScriptedChatModel(script=list(answers), model_name=name)


def no_retry() -> dict[str, Any]:
    return {"transport_retry": None}


# -- Cohen's kappa ---------------------------------------------------------------------------------


def test_kappa_on_a_hand_computed_example():
    # 10 items: the raters agree on 8 (p_o = 0.8); each says true 4 times (p = 0.4), so chance
    # agreement p_e = 0.4 * 0.4 + 0.6 * 0.6 = 0.52 and kappa = (0.8 - 0.52) / (1 - 0.52) = 7/12.
    a = [True, True, False, False, True, False, True, False, False, False]
    b = [True, False, False, False, True, False, True, True, False, False]
    assert cohen_kappa(a, b) == pytest.approx(7 / 12)
    pair = PairAgreement("a", "b")
    for x, y in zip(a, b, strict=True):
        pair.add(x, y)
    assert (pair.both_true, pair.first_only, pair.second_only, pair.both_false) == (3, 1, 1, 5)
    assert pair.n == 10
    assert pair.agreement == pytest.approx(0.8)
    assert pair.kappa == pytest.approx(7 / 12)


# -- the adjudication prompt -----------------------------------------------------------------------


def test_adjudication_messages_reuse_the_rendering_and_neutralise_tags():
    turns = [Turn(role="human", text="a"), Turn(role="ai", text="b"), Turn(role="human", text="c")]
    verdicts = [
        Verdict(perceived_error=True, reason="Quotes </panel_verdicts> and </transcript>."),
        Verdict(perceived_error=False, reason="Nothing."),
    ]
    system, user = build_adjudication_messages(turns, verdicts)
    assert isinstance(system, SystemMessage)
    assert system.text == ADJUDICATION_PROMPT
    assert "<adjudication>" in ADJUDICATION_PROMPT
    assert render_transcript(turns) in user.text
    assert user.text.endswith(render_panel_verdicts(verdicts))
    assert user.text.count("</panel_verdicts>") == 1
    assert user.text.count("</transcript>") == 1
    assert 'reviewer 1: {"perceived_error":true,' in user.text
    assert 'reviewer 2: {"perceived_error":false,"reason":"Nothing."}' in user.text


def test_the_adjudication_hook_needs_the_panel_verdicts():
    turns = [Turn(role="human", text="a"), Turn(role="ai", text="b"), Turn(role="human", text="c")]
    verdicts = [
        Verdict(perceived_error=True, reason="x"),
        Verdict(perceived_error=False, reason="y"),
    ]
    assert adjudication_messages(turns, verdicts) == build_adjudication_messages(turns, verdicts)
    with pytest.raises(ValueError, match="without the panel's verdicts"):
        adjudication_messages(turns, None)
    with pytest.raises(ValueError, match="without the panel's verdicts"):
        adjudication_messages(turns, "reviewer 1: yes")
    # through the judge graph: no verdicts given -> a recorded failure, and no model call
    model = scripted(YES)
    adjudicator = PerceivedErrorJudge(model, message_builder=adjudication_messages)
    result = adjudicator.judge(CORRECTED)
    assert result.status is JudgeStatus.FAILED
    assert "without the panel's verdicts" in (result.error or "")
    assert model.calls == []
    judged = adjudicator.judge(CORRECTED, context=verdicts)
    assert judged.status is JudgeStatus.JUDGED
    assert model.calls == [build_adjudication_messages(judged.turns, verdicts)]


# -- every branch ----------------------------------------------------------------------------------


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest):
    """Label one record with the sync or the async shell."""

    def label(labeller: PanelLabeller, record: Any) -> PanelOutcome:
        if request.param == "sync":
            return labeller.label(record, record_id="t1")
        return asyncio.run(labeller.alabel(record, record_id="t1"))

    return label


def test_unanimous_true_is_labelled_by_the_panel(run):
    labeller = PanelLabeller(["rules", scripted(YES)], **no_retry())
    outcome = run(labeller, CORRECTED)
    assert outcome.stage == "panel"
    assert outcome.record is not None
    assert outcome.record.label.perceived_error is True
    assert outcome.record.label.reason.startswith("The user corrects the assistant")  # first member
    assert outcome.record.provenance.kind == "panel"
    assert outcome.record.provenance.by == "rules,scripted"
    assert outcome.record.provenance.at is not None
    assert outcome.record.metadata["label_stage"] == "panel"
    assert [v["model"] for v in outcome.record.metadata["votes"]] == ["rules", "scripted"]
    assert [t.role for t in outcome.record.turns] == ["human", "ai", "human"]
    assert outcome.adjudication == ()
    assert outcome.review is None


def test_unanimous_false_is_labelled_by_the_panel(run):
    adjudicator = scripted(YES)
    labeller = PanelLabeller(["rules", scripted(NO)], [adjudicator], **no_retry())
    outcome = run(labeller, THANKED)
    assert outcome.stage == "panel"
    assert outcome.record is not None
    assert outcome.record.label.perceived_error is False
    assert adjudicator.calls == []  # no adjudication without a split


def test_split_is_settled_by_unanimous_adjudicators_who_see_every_verdict(run):
    first = scripted("not json at all", YES, name="judge-a")  # a format retry on the way
    second = scripted(YES, name="judge-b")
    labeller = PanelLabeller([scripted(YES), scripted(NO)], [first, second], **no_retry())
    outcome = run(labeller, CORRECTED)
    assert outcome.stage == "adjudication"
    assert outcome.record is not None
    assert outcome.record.label == Verdict(
        perceived_error=True, reason="The user says the day is wrong."
    )
    assert outcome.record.provenance.by == "judge-a,judge-b"
    assert outcome.record.metadata["label_stage"] == "adjudication"
    assert [v["stage"] for v in outcome.record.metadata["votes"]] == ["panel"] * 2 + [
        "adjudication"
    ] * 2
    assert [r.attempts for r in outcome.adjudication] == [2, 1]

    turns = outcome.panel[0].turns
    verdicts = [r.verdict for r in outcome.panel]
    expected = build_adjudication_messages(turns, verdicts)  # type: ignore[arg-type]
    sent = second.calls[0]
    assert [type(m) for m in sent] == [SystemMessage, HumanMessage]
    assert [m.text for m in sent] == [m.text for m in expected]
    assert "The user says the day is wrong." in sent[1].text
    assert "The user only thanks the assistant." in sent[1].text
    # the format retry went through the judge graph, after the adjudication prompt
    retried = first.calls[1]
    assert [m.text for m in retried[:2]] == [m.text for m in expected]
    assert isinstance(retried[2], AIMessage)
    assert retried[2].text == "not json at all"
    assert "not a valid answer" in retried[3].text


def test_split_adjudicators_send_the_trace_to_a_human(run):
    labeller = PanelLabeller(
        [scripted(YES), scripted(NO)], [scripted(YES), scripted(NO)], **no_retry()
    )
    outcome = run(labeller, CORRECTED)
    assert outcome.stage == "human"
    assert outcome.record is None
    review = outcome.review
    assert review is not None
    assert review.why == "panel split (1 true, 1 false); adjudicators split (1 true, 1 false)"
    assert review.perceived_error is None
    assert review.reason is None
    assert review.transcript == render_transcript(review.turns)
    assert [(v.stage, v.perceived_error) for v in review.votes] == [
        ("panel", True),
        ("panel", False),
        ("adjudication", True),
        ("adjudication", False),
    ]


def test_split_without_adjudicators_goes_to_a_human(run):
    outcome = run(PanelLabeller([scripted(YES), scripted(NO)], **no_retry()), CORRECTED)
    assert outcome.stage == "human"
    assert outcome.note == "panel split (1 true, 1 false); no adjudicators"


def test_a_panel_failure_goes_to_a_human_without_adjudication(run):
    adjudicator = scripted(YES)
    failing = scripted(ScriptedError(400, "bad request"), name="broken")
    labeller = PanelLabeller(["rules", failing], [adjudicator], **no_retry())
    outcome = run(labeller, CORRECTED)
    assert outcome.stage == "human"
    assert outcome.note is not None
    assert outcome.note.startswith("panel: broken failed: model call failed")
    assert adjudicator.calls == []
    assert outcome.review is not None
    assert [v.status for v in outcome.review.votes] == ["judged", "failed"]


def test_an_adjudicator_failure_goes_to_a_human(run):
    labeller = PanelLabeller(
        [scripted(YES), scripted(NO)],
        [scripted(YES), scripted("never JSON", name="rambler")],
        max_attempts=2,
        **no_retry(),
    )
    outcome = run(labeller, CORRECTED)
    assert outcome.stage == "human"
    assert outcome.note is not None
    assert "adjudication: rambler failed: no valid verdict after 2 attempts" in outcome.note


def test_not_multi_turn_traces_are_skipped_without_model_calls(run):
    model = scripted(YES)
    outcome = run(PanelLabeller(["rules", model], **no_retry()), SINGLE_TURN)
    assert outcome.stage == "skipped"
    assert outcome.record is None
    assert outcome.review is None
    assert model.calls == []


def test_unreadable_traces_are_counted_not_reviewed(run):
    record = UnreadableRecord(source="in.jsonl:3", error="invalid JSON at in.jsonl:3")
    outcome = run(PanelLabeller(["rules", "rules"], **no_retry()), record)
    assert outcome.stage == "unreadable"
    assert outcome.review is None
    assert "invalid JSON" in (outcome.note or "")


def test_rules_can_adjudicate():
    labeller = PanelLabeller([scripted(YES), scripted(NO)], ["rules"], **no_retry())
    outcome = labeller.label(THANKED, record_id="t")
    assert outcome.stage == "adjudication"
    assert outcome.record is not None
    assert outcome.record.label.perceived_error is False
    assert outcome.record.provenance.by == "rules"


def test_a_panel_needs_two_members():
    with pytest.raises(ValueError, match="at least two"):
        PanelLabeller(["rules"])


# -- many traces, imports, the report --------------------------------------------------------------


def _records() -> list[dict[str, Any]]:
    return [
        {"id": "c1", "messages": CORRECTED},
        {"id": "t1", "messages": THANKED},
        {"id": "s1", "messages": SINGLE_TURN},
        {"id": "c2", "messages": CORRECTED},
    ]


def test_label_many_keeps_order_and_imports_answers(tmp_path: Path):
    answer = ReviewItem.create(
        "c2", [Turn(role="human", text="x"), Turn(role="ai", text="y")], [], why="split"
    )
    answer.perceived_error = False
    waiting = ReviewItem.create("t1", [Turn(role="human", text="x")], [], why="split")
    extra = ReviewItem.create("gone", [Turn(role="human", text="z")], [], why="split")
    labeller = PanelLabeller(["rules", "rules"])
    outcomes = list(
        labeller.label_many(
            _records(),
            concurrency=2,
            answers={"c2": answer.to_labelled()},
            pending={"t1": waiting, "gone": extra},
        )
    )
    assert [(o.id, o.stage) for o in outcomes] == [
        ("c1", "panel"),
        ("t1", "awaiting"),
        ("s1", "skipped"),
        ("c2", "imported"),
        ("gone", "awaiting"),
    ]
    imported = outcomes[3].record
    assert imported is not None
    assert imported.provenance.kind == "human"
    assert imported.label.perceived_error is False


async def test_alabel_many_matches_label_many():
    labeller = PanelLabeller(["rules", "rules"])
    sync = [(o.id, o.stage) for o in labeller.label_many(_records(), concurrency=3)]
    asynchronous = [(o.id, o.stage) async for o in labeller.alabel_many(_records(), concurrency=3)]
    assert sync == asynchronous
    with pytest.raises(ValueError, match="concurrency"):
        next(labeller.label_many(_records(), concurrency=0))


def test_the_agreement_report_counts_every_stage():
    # panel: rules and a model that always says yes -> unanimous on CORRECTED, split on THANKED
    labeller = PanelLabeller(["rules", scripted(YES)], [scripted(NO), scripted(NO)], **no_retry())
    report = labeller.new_report()
    for outcome in labeller.label_many(_records(), concurrency=2):
        report.add(outcome)
    assert isinstance(report, AgreementReport)
    assert (report.records, report.skipped, report.unreadable) == (4, 1, 0)
    assert (report.panel_unanimous, report.panel_unanimous_true, report.panel_split) == (2, 2, 1)
    assert report.unanimity_rate == pytest.approx(2 / 3)
    assert (report.adjudicated, report.adjudication_resolved) == (1, 1)
    assert report.resolution_rate == pytest.approx(1.0)
    assert (report.labelled_true, report.labelled_false, report.to_humans) == (2, 1, 0)
    (pair,) = report.pairs.values()
    assert (pair.first, pair.second) == ("rules", "scripted")
    assert (pair.both_true, pair.first_only, pair.second_only, pair.both_false) == (2, 0, 1, 0)
    assert pair.kappa == pytest.approx(0.0)  # the model always says yes: no agreement beyond chance


def test_queue_items_need_langsmith_ids():
    run_id = str(uuid.uuid4())
    assert queue_item_for(SourceIds(thread_id="t", project_id="p")) == ThreadItem("t", "p")
    assert queue_item_for(SourceIds(run_id=run_id, project_id="p")) == RunItem(run_id, "p")
    assert queue_item_for(SourceIds(run_id="file.jsonl:3")) is None
    assert queue_item_for(SourceIds(thread_id="t")) is None
    assert queue_item_for(SourceIds()) is None


# -- the CLI ---------------------------------------------------------------------------------------

_ENV_NAMES = (
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGSMITH_ENDPOINT",
    "LANGCHAIN_ENDPOINT",
    "LANGSMITH_WORKSPACE_ID",
    "LANGSMITH_TENANT_ID",
)
_FAKES = {"fake:yes": YES, "fake:no": NO}


@pytest.fixture
def fake_specs(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[ScriptedChatModel]]:
    """``fake:yes`` / ``fake:no`` model specs for the CLI (every model built is recorded)."""
    built: dict[str, list[ScriptedChatModel]] = {spec: [] for spec in _FAKES}

    def resolve(spec: Any = None, **kwargs: Any) -> BaseChatModel:
        if isinstance(spec, str) and spec in _FAKES:
            model = scripted(_FAKES[spec], name=spec.replace("fake:", "always-"))
            built[spec].append(model)
            return model
        return resolve_model(spec, **kwargs)

    modules = ("judge", "datasets.panel", "cli.label")  # cli.label builds them with --timeout
    for module in (f"langchain_perceived_error.{name}" for name in modules):
        monkeypatch.setattr(importlib.import_module(module), "resolve_model", resolve)
    return built


def _invoke(*args: str, server: LocalLangSmith | None = None):
    env: dict[str, str | None] = dict.fromkeys(_ENV_NAMES)
    if server is not None:
        env["LANGSMITH_API_KEY"] = "test"
        env["LANGSMITH_ENDPOINT"] = server.url
    return CliRunner().invoke(app, ["label", *args], env=env)


def flat(result: Any) -> str:
    """The command's output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_cli_rules_panel_labels_the_sample(tmp_path: Path):
    out = tmp_path / "labelled.jsonl"
    result = _invoke(
        "cookbook/data/sample_traces.jsonl", "-p", "rules", "-p", "rules", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    records = list(read_labelled(out))
    assert len(records) == 52
    assert sum(r.label.perceived_error for r in records) == 21
    assert "unanimous (unanimity rate)" in flat(result)
    assert "52 (100.0%)" in flat(result)
    assert "rules#1 / rules#2" in flat(result)
    assert not (tmp_path / "labelled.review.jsonl").read_text()


def test_cli_review_file_round_trip(tmp_path: Path, fake_specs):
    traces = _write(tmp_path / "traces.jsonl", _records())
    out, review = tmp_path / "labelled.jsonl", tmp_path / "review.jsonl"
    args = [str(traces), "-p", "fake:yes", "-p", "fake:no", "-o", str(out), "--review", str(review)]
    first = _invoke(*args)
    assert first.exit_code == 0, first.output
    assert out.read_text() == ""
    items = list(read_reviews(review))
    assert [i.id for i in items] == ["c1", "t1", "c2"]
    line = json.loads(review.read_text().splitlines()[0])
    assert line["perceived_error"] is None
    assert line["reason"] is None
    assert line["transcript"].startswith("<transcript>\nuser: Move my 1:1")
    assert [v["reason"] for v in line["votes"]] == [
        "The user says the day is wrong.",
        "The user only thanks the assistant.",
    ]
    assert "sent to humans" in flat(first)

    # running again without importing would lose nothing yet (no answers), but once a human
    # answered, the review file is protected
    answered = [json.loads(x) for x in review.read_text().splitlines()]
    answered[0].update(perceived_error=True, reason="The user corrects the day.", reviewer="ana")
    answered[1].update(perceived_error=False)
    review.write_text("".join(json.dumps(x) + "\n" for x in answered), encoding="utf-8")
    refused = _invoke(*args)
    assert refused.exit_code == 2
    assert "holds 2 human answer(s)" in flat(refused)

    calls_before = sum(len(m.calls) for models in fake_specs.values() for m in models)
    second = _invoke(*args, "--import-reviews", str(review))
    assert second.exit_code == 0, second.output
    calls_after = sum(len(m.calls) for models in fake_specs.values() for m in models)
    assert calls_after == calls_before  # answered and waiting traces are not judged again
    labelled = {r.id: r for r in read_labelled(out)}
    assert set(labelled) == {"c1", "t1"}
    assert labelled["c1"].provenance.kind == "human"
    assert labelled["c1"].provenance.by == "ana"
    assert labelled["c1"].label.reason == "The user corrects the day."
    assert labelled["t1"].label.reason == "A human reviewer marked no perceived error."
    assert [i.id for i in read_reviews(review)] == ["c2"]  # still waiting, carried over
    assert "imported from" in flat(second)

    # only importing: no traces, no panel
    only = tmp_path / "only.jsonl"
    third = _invoke("--import-reviews", str(review), "-o", str(only), "--review", str(review))
    assert third.exit_code == 0, third.output
    assert [i.id for i in read_reviews(review)] == ["c2"]
    assert list(read_labelled(only)) == []


def test_cli_adjudicators_settle_splits(tmp_path: Path, fake_specs):
    traces = _write(tmp_path / "traces.jsonl", _records())
    out = tmp_path / "labelled.jsonl"
    args = ["-p", "rules", "-p", "fake:yes", "-a", "fake:no", "-a", "rules", "-o", str(out)]
    result = _invoke(str(traces), *args)
    assert result.exit_code == 0, result.output
    labelled = {r.id: r for r in read_labelled(out)}
    assert {k: r.label.perceived_error for k, r in labelled.items()} == {
        "c1": True,
        "t1": False,
        "c2": True,
    }
    assert labelled["t1"].metadata["label_stage"] == "adjudication"
    assert "resolved (resolution rate)" in flat(result)
    assert "1 (100.0%)" in flat(result)


def test_cli_needs_input_and_two_panel_members(tmp_path: Path):
    assert _invoke().exit_code == 2
    lone = _invoke("cookbook/data/sample_traces.jsonl", "-p", "rules", "-o", str(tmp_path / "o"))
    assert lone.exit_code == 2
    assert "at least two" in flat(lone)


def test_cli_queue_gets_traces_with_langsmith_ids(
    tmp_path: Path, fake_specs, langsmith_server: LocalLangSmith
):
    run_id, project = str(uuid.uuid4()), str(uuid.uuid4())
    traces = _write(
        tmp_path / "traces.jsonl",
        [
            {  # a LangSmith run: RUN item
                "id": run_id,
                "session_id": project,
                "run_type": "chain",
                "inputs": {"messages": CORRECTED[:2]},
                "outputs": {"messages": CORRECTED[2:]},
            },
            {  # a thread: THREAD item
                "id": "thread-9",
                "project_id": project,
                "runs": [{"id": str(uuid.uuid4()), "inputs": {"messages": CORRECTED}}],
            },
            {"id": "plain", "messages": CORRECTED},  # no LangSmith ids: the review file
        ],
    )
    review = tmp_path / "review.jsonl"
    args = [str(traces), "-p", "fake:yes", "-p", "fake:no", "--queue", "review-queue"]
    args += ["--review", str(review), "-o", str(tmp_path / "out.jsonl")]
    first = _invoke(*args, server=langsmith_server)
    assert first.exit_code == 0, first.output
    (queue,) = langsmith_server.queues
    assert queue["name"] == "review-queue"
    items = langsmith_server.queue_items(queue["id"])
    assert [(i["item_type"], i["run_id"], i["thread_id"]) for i in items] == [
        ("RUN", run_id, None),
        ("THREAD", None, "thread-9"),
    ]
    assert [i.id for i in read_reviews(review)] == ["plain"]
    assert "1 trace(s) carry no LangSmith run or thread id" in flat(first)
    assert "added 2" in flat(first)

    again = _invoke(*args, server=langsmith_server)
    assert again.exit_code == 0, again.output
    assert len(langsmith_server.queue_items(queue["id"])) == 2
    assert "already there 2" in flat(again)


def test_cli_queue_needs_a_key(tmp_path: Path):
    out = str(tmp_path / "out.jsonl")
    result = _invoke(
        "cookbook/data/sample_traces.jsonl", "-p", "rules", "-p", "rules", "--queue", "q", "-o", out
    )
    assert result.exit_code == 2
    assert "no LangSmith API key" in flat(result)
