"""Labelled records: the canonical JSONL and the loaders (judge output, mapping, LangSmith)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from langsmith.schemas import Feedback
from typer.testing import CliRunner

from langchain_perceived_error.cli import app
from langchain_perceived_error.core.schemas import (
    LabelledRecord,
    Provenance,
    SourceIds,
    Turn,
    Verdict,
)
from langchain_perceived_error.datasets.labels import (
    HUMAN_REASONS,
    LabelFileError,
    LoadReport,
    load_judge_output,
    load_labelled_jsonl,
    read_labelled,
    source_ids,
    write_labelled,
)
from langchain_perceived_error.datasets.langsmith_labels import (
    feedback_provenance,
    load_langsmith_labels,
)
from langchain_perceived_error.datasets.reviews import (
    ReviewItem,
    ReviewVote,
    read_review_answers,
    read_reviews,
)
from langchain_perceived_error.judge.runner import PerceivedErrorJudge
from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.feedback import write_thread_feedback
from langchain_perceived_error.online.threads import judge_thread
from tests.fixtures.agent_app import CapturedThread
from tests.servers.langsmith_capture import LocalLangSmith

EURTAD = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "eurtad" / "items.jsonl"
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


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


def _record(record_id: str = "r1", flagged: bool = True) -> LabelledRecord:
    return LabelledRecord(
        id=record_id,
        turns=[Turn(role="human", text="a"), Turn(role="ai", text="b")],
        label=Verdict(perceived_error=flagged, reason="Because."),
        provenance=Provenance(kind="human", by="ana", at=datetime(2025, 1, 2, tzinfo=timezone.utc)),
        sources=SourceIds(thread_id="t1"),
        metadata={"k": [1, 2]},
    )


# -- the canonical JSONL ---------------------------------------------------------------------------


def test_write_and_read_labelled_round_trip(tmp_path: Path):
    records = [_record("a"), _record("b", flagged=False)]
    path = tmp_path / "labelled.jsonl"
    assert write_labelled(path, records) == 2
    assert list(read_labelled(path)) == records


def test_read_labelled_names_the_bad_line(tmp_path: Path):
    path = _write(tmp_path / "l.jsonl", [_record().model_dump(mode="json"), "", "{not json"])
    with pytest.raises(LabelFileError, match=r"l\.jsonl:3: not valid JSON"):
        list(read_labelled(path))
    _write(path, [{"id": "x"}])
    with pytest.raises(LabelFileError, match=r"l\.jsonl:1: not a labelled record"):
        list(read_labelled(path))
    _write(path, ["[1, 2]"])
    with pytest.raises(LabelFileError, match="expected a JSON object"):
        list(read_labelled(path))
    with pytest.raises(LabelFileError, match="cannot read"):
        list(read_labelled(tmp_path / "missing.jsonl"))


# -- source ids ------------------------------------------------------------------------------------


def test_source_ids_of_runs_threads_and_conversations():
    run_id, project = str(uuid.uuid4()), str(uuid.uuid4())
    run = {
        "id": run_id,
        "trace_id": run_id,
        "session_id": project,
        "inputs": {},
        "extra": {"metadata": {"thread_id": "t-7"}},
    }
    assert source_ids(run) == SourceIds(
        run_id=run_id, trace_id=run_id, thread_id="t-7", project_id=project
    )
    thread = {"id": "t-8", "runs": [{"id": "r1", "session_id": project}, {"id": "r2"}]}
    assert source_ids(thread) == SourceIds(thread_id="t-8", project_id=project, trace_id="r2")
    # a plain conversation's id is not a run id; a session_id outside a run is not a project
    assert source_ids({"id": "c1", "messages": [], "session_id": "x"}) == SourceIds()
    assert source_ids({"messages": [], "thread_id": "t", "project_id": "p"}) == SourceIds(
        thread_id="t", project_id="p"
    )
    assert source_ids([("user", "hi")]) == SourceIds()


# -- (a) judge output ------------------------------------------------------------------------------


def test_judge_output_joined_with_its_input_file(tmp_path: Path):
    inputs = _write(
        tmp_path / "in.jsonl",
        [
            {"id": "c1", "messages": CORRECTED},
            {"messages": THANKED},  # no id: known as in.jsonl:2
            {"id": "s1", "messages": CORRECTED[:2]},
        ],
    )
    results = tmp_path / "results.jsonl"
    run = CliRunner().invoke(app, ["judge", str(inputs), "-m", "rules", "-o", str(results)])
    assert run.exit_code == 0, run.output
    report = LoadReport()
    records = list(load_judge_output(results, [inputs], report=report))
    assert [(r.id, r.label.perceived_error) for r in records] == [
        ("c1", True),
        ("in.jsonl:2", False),
    ]
    assert records[0].provenance == Provenance(kind="model", by="rules")
    assert [t.text for t in records[0].turns] == [m["content"] for m in CORRECTED]
    assert (report.read, report.loaded) == (3, 2)
    assert report.skipped == {"status skipped": 1}
    assert report.examples == {"status skipped": ["s1"]}
    assert report.describe() == "read 3, loaded 2, skipped 1 (status skipped)"


def test_judge_output_joined_with_records_in_any_order(tmp_path: Path):
    results = _write(
        tmp_path / "r.jsonl",
        [
            {
                "id": "b",
                "status": "judged",
                "perceived_error": False,
                "reason": "Fine.",
                "model": "m",
            },
            {
                "id": "a",
                "status": "judged",
                "perceived_error": True,
                "reason": "Bad.",
                "model": "m",
            },
            {"id": "zz", "status": "judged", "perceived_error": True, "reason": "?", "model": "m"},
            {"id": "f", "status": "failed", "perceived_error": None, "reason": "boom"},
        ],
    )
    report = LoadReport()
    records = [{"id": "a", "messages": CORRECTED}, {"id": "b", "messages": THANKED}]
    loaded = list(load_judge_output(results, records, report=report))
    assert [(r.id, r.label.reason) for r in loaded] == [("b", "Fine."), ("a", "Bad.")]
    assert report.skipped == {"id not found in the input": 1, "status failed": 1}


def test_judge_output_errors_name_the_line(tmp_path: Path):
    results = _write(tmp_path / "r.jsonl", ['{"id": "a", "status": "judged"', ""])
    with pytest.raises(LabelFileError, match=r"r\.jsonl:1"):
        list(load_judge_output(results, []))
    _write(results, [{"status": "judged", "perceived_error": True, "reason": "x"}])
    with pytest.raises(LabelFileError, match="without an id"):
        list(load_judge_output(results, []))
    _write(results, [{"id": "a", "status": "judged", "perceived_error": True, "reason": "x"}])
    with pytest.raises(LabelFileError, match=r"#0 \(id 'a'\)"):
        list(load_judge_output(results, [{"id": "a", "messages": 42}]))


# -- (c) any labelled JSONL ------------------------------------------------------------------------


def test_labelled_jsonl_with_a_field_mapping(tmp_path: Path):
    path = _write(
        tmp_path / "items.jsonl",
        [
            {"key": "p1", "dialog": CORRECTED, "strict": True, "why": "Corrects.", "src": "a"},
            {"key": "n1", "dialog": THANKED, "strict": False, "why": "", "src": "b"},
            {"key": "amb", "dialog": THANKED, "strict": None, "src": "b"},
            {"dialog": THANKED, "strict": False, "src": "c"},
        ],
    )
    report = LoadReport()
    records = list(
        load_labelled_jsonl(
            path,
            id_field="key",
            messages_field="dialog",
            label_field="strict",
            reason_field="why",
            metadata_fields=["src"],
            report=report,
        )
    )
    assert [r.id for r in records] == ["p1", "n1", "items.jsonl:4"]
    assert [r.label.reason for r in records] == [
        "Corrects.",
        HUMAN_REASONS[False],
        HUMAN_REASONS[False],
    ]
    assert records[0].provenance == Provenance(kind="human", by="items.jsonl")
    assert records[0].metadata == {"src": "a"}
    assert report.skipped == {"null strict": 1}
    assert report.examples == {"null strict": ["amb"]}


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ({"messages": CORRECTED}, "no 'perceived_error' field"),
        ({"perceived_error": True}, "no 'messages' field"),
        ({"messages": CORRECTED, "perceived_error": "yes"}, "must be true, false or null"),
        ({"messages": 7, "perceived_error": True}, "'messages'"),
    ],
)
def test_labelled_jsonl_rejects_bad_lines_with_file_and_line(tmp_path: Path, line, match):
    path = _write(tmp_path / "x.jsonl", [{"messages": THANKED, "perceived_error": False}, line])
    with pytest.raises(LabelFileError, match=match) as caught:
        list(load_labelled_jsonl(path))
    assert "x.jsonl:2" in str(caught.value)


@pytest.mark.skipif(not EURTAD.exists(), reason="../shared/datasets/eurtad is not available")
def test_eurtad_strict_labels_load():
    report = LoadReport()
    records = list(
        load_labelled_jsonl(
            EURTAD,
            label_field="perceived_error_strict",
            metadata_fields=["source_dataset"],
            by="eurtad",
            report=report,
        )
    )
    assert report.read == 1038
    assert len(records) == 929  # the README's n for strict labels, all sources
    assert report.skipped["null perceived_error_strict"] == 1038 - 929
    assert len({r.id for r in records}) == 929


# -- review answers --------------------------------------------------------------------------------


def test_review_answers_become_human_labels(tmp_path: Path):
    turns = [Turn(role="human", text="a"), Turn(role="ai", text="b"), Turn(role="human", text="c")]
    vote = ReviewVote(stage="panel", model="m", status="judged", perceived_error=True, reason="r")
    items = [ReviewItem.create(f"i{n}", turns, [vote], why="split") for n in range(3)]
    items[0].perceived_error, items[0].reviewer = True, "ana"
    items[1].perceived_error, items[1].reason = False, "  The user just asks on.  "
    path = _write(tmp_path / "review.jsonl", [i.model_dump_json() for i in items])
    report = LoadReport()
    answers = list(read_review_answers(path, report=report))
    assert [(r.id, r.label.perceived_error, r.label.reason) for r in answers] == [
        ("i0", True, HUMAN_REASONS[True]),
        ("i1", False, "The user just asks on."),
    ]
    assert answers[0].provenance.by == "ana"
    assert answers[1].provenance.by == "reviewer"
    assert answers[0].metadata["votes"][0]["reason"] == "r"
    assert report.skipped == {"not answered yet": 1}
    with pytest.raises(ValueError, match="no answer"):
        items[2].to_labelled()
    friendly = json.loads(items[2].model_dump_json()) | {"perceived_error": "yes"}
    _write(path, [friendly])  # a reviewer's "yes" / "no" is read as true / false
    assert [r.label.perceived_error for r in read_review_answers(path)] == [True]
    _write(path, [friendly | {"perceived_error": "maybe"}])
    with pytest.raises(LabelFileError, match=r"review\.jsonl:1: not a review item"):
        list(read_review_answers(path))


# -- (b) LangSmith feedback ------------------------------------------------------------------------


def _feedback(source: dict[str, Any] | None, **fields: Any) -> Feedback:
    return Feedback(
        id=uuid.uuid4(),
        run_id=uuid.uuid4(),
        trace_id=None,
        key="perceived_error",
        score=1,
        feedback_source=source,
        created_at=datetime(2025, 2, 1, tzinfo=timezone.utc),
        modified_at=datetime(2025, 3, 1, tzinfo=timezone.utc),
        **fields,
    )


def test_feedback_provenance_tells_humans_from_models():
    app_review = feedback_provenance(_feedback({"type": "app", "user_name": "ana"}))
    assert (app_review.kind, app_review.by) == ("human", "ana")
    assert app_review.at == datetime(2025, 3, 1, tzinfo=timezone.utc)
    assert feedback_provenance(_feedback({"type": "app"})).kind == "human"
    api_user = feedback_provenance(_feedback({"type": "api", "user_id": "u-1"}))
    assert (api_user.kind, api_user.by) == ("human", "u-1")
    script = feedback_provenance(_feedback({"type": "api", "metadata": {}}))
    assert (script.kind, script.by) == ("model", "api")
    model = feedback_provenance(_feedback({"type": "model", "metadata": {"model": "rules"}}))
    assert (model.kind, model.by) == ("model", "rules")
    from_extra = feedback_provenance(_feedback({"type": "model"}, extra={"model": "qwen"}))
    assert from_extra.by == "qwen"
    assert feedback_provenance(_feedback(None)).kind == "model"


def _post_feedback(server: LocalLangSmith, **body: Any) -> None:
    body = {"id": str(uuid.uuid4()), "key": "perceived_error", **body}
    answer = httpx.post(f"{server.url}/feedback", json=body, headers={"x-api-key": "test"})
    answer.raise_for_status()


def _solo_run(server: LocalLangSmith, project: str, messages: list[dict[str, str]]) -> str:
    run_id = str(uuid.uuid4())
    now = datetime.now(timezone.utc)
    server.client().create_run(
        name="solo",
        run_type="chain",
        id=run_id,
        inputs={"messages": messages[:-1]},
        outputs={"messages": messages[-1:]},
        project_name=project,
        start_time=now,
        end_time=now + timedelta(seconds=1),
    )
    return run_id


def test_langsmith_labels_human_feedback_wins_over_the_model(
    langsmith_server: LocalLangSmith,
    langsmith_clients: LangSmithClients,
    traced_thread: CapturedThread,
):
    project_id = langsmith_server.project_id(traced_thread.project_name)
    judgement = judge_thread(
        PerceivedErrorJudge("rules"),
        langsmith_clients,
        project_id=project_id,
        thread_id=traced_thread.thread_id,
    )
    write_thread_feedback(langsmith_clients, judgement)  # model feedback: 1, on the last trace

    report = LoadReport()
    (record,) = load_langsmith_labels(langsmith_clients, project_id=project_id, report=report)
    assert record.id == traced_thread.thread_id
    assert record.provenance.kind == "model"
    assert record.provenance.by == "rules"
    assert record.label.perceived_error is True
    assert record.sources == SourceIds(
        run_id=judgement.last_trace_id,
        trace_id=judgement.last_trace_id,
        thread_id=traced_thread.thread_id,
        project_id=project_id,
    )
    assert len(record.turns) == 6  # the whole thread: three user turns, three answers
    assert (
        list(load_langsmith_labels(langsmith_clients, project_id=project_id, human_only=True)) == []
    )

    # a reviewer scores the thread's FIRST trace 0 in the app: that label wins, on that trace
    first = traced_thread.root_runs[0]["id"]
    _post_feedback(
        langsmith_server,
        run_id=first,
        trace_id=first,
        score=0,
        comment="The first answer was fine.",
        feedback_source={"type": "app", "user_id": "u-1", "user_name": "ana"},
    )
    (human,) = load_langsmith_labels(langsmith_clients, project_id=project_id, human_only=True)
    assert human.provenance.kind == "human"
    assert human.provenance.by == "ana"
    assert human.label == Verdict(perceived_error=False, reason="The first answer was fine.")
    assert human.sources.trace_id == str(first)
    assert [t.role for t in human.turns] == ["human", "ai"]  # the thread up to that trace


def test_langsmith_labels_of_runs_outside_threads(
    langsmith_server: LocalLangSmith, langsmith_clients: LangSmithClients
):
    project = "solo-project"
    flagged = _solo_run(langsmith_server, project, CORRECTED)
    errored = _solo_run(langsmith_server, project, THANKED)
    project_id = langsmith_server.project_id(project)
    client = langsmith_server.client()
    for run_id, score, error in ((flagged, 1, False), (errored, None, True)):
        client.create_feedback(
            run_id,
            "perceived_error",
            score=score,
            error=error,
            feedback_source_type="model",
            source_info={"model": "qwen"},
            session_id=project_id,
            start_time=datetime.now(timezone.utc),
        )
    report = LoadReport()
    (record,) = load_langsmith_labels(langsmith_clients, project_id=project_id, report=report)
    assert record.id == flagged
    assert record.sources == SourceIds(run_id=flagged, trace_id=flagged, project_id=project_id)
    assert record.provenance.by == "qwen"
    assert [t.text for t in record.turns] == [m["content"] for m in CORRECTED]
    assert record.label.reason == "(no reason)"
    assert report.skipped == {"no 0/1 feedback score": 1}


def test_cli_label_imports_human_feedback_from_a_project(
    tmp_path: Path,
    langsmith_server: LocalLangSmith,
    traced_thread: CapturedThread,
):
    first = traced_thread.root_runs[-1]["id"]
    _post_feedback(
        langsmith_server,
        run_id=first,
        trace_id=first,
        score=1,
        feedback_source={"type": "app", "user_name": "ana"},
    )
    out = tmp_path / "human.jsonl"
    env = {"LANGSMITH_API_KEY": "test", "LANGSMITH_ENDPOINT": langsmith_server.url}
    args = ["label", "--import-project", traced_thread.project_name, "-o", str(out)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    (record,) = read_labelled(out)
    assert (record.id, record.provenance.kind, record.provenance.by) == (
        traced_thread.thread_id,
        "human",
        "ana",
    )
    assert record.label.reason == HUMAN_REASONS[True]
    assert "imported from project" in " ".join(result.output.split())


def test_a_trace_file_given_as_labelled_records_gets_a_short_line_naming_the_fields(
    tmp_path: Path,
):
    trace = {"id": "t1", "messages": [{"role": "user", "content": "Hi"}], "note": "a trace"}
    path = _write(tmp_path / "traces.jsonl", [trace])
    with pytest.raises(LabelFileError) as raised:
        list(read_labelled(path))
    assert str(raised.value) == (  # was pydantic's dump: 6 errors, 1,300 characters
        f"{path}:1: not a labelled record (missing: turns, label, provenance; not expected: "
        "messages, note): labelled records are the lines `perceived-error label` writes"
    )
    record = _record().model_dump(mode="json")
    record["label"]["perceived_error"] = "maybe"
    _write(path, [record])
    with pytest.raises(LabelFileError, match=r"\(label\.perceived_error: Input should be a valid"):
        list(read_labelled(path))


def test_a_review_file_line_that_is_no_review_item_gets_a_short_line(tmp_path: Path):
    path = _write(tmp_path / "review.jsonl", [{"id": "x", "status": "judged"}])
    with pytest.raises(LabelFileError) as raised:
        list(read_reviews(path))
    assert str(raised.value) == (  # was pydantic's dump, with a link per error
        f"{path}:1: not a review item (missing: why, transcript, turns): "
        "perceived_error is true, false or null, in the files "
        "`perceived-error label --review FILE` writes"
    )


def test_bench_reads_what_label_writes(tmp_path):
    # `label` writes LabelledRecords: their `turns` are the package's own; bench reads them
    import json

    from typer.testing import CliRunner

    from langchain_perceived_error.cli import app
    from langchain_perceived_error.core.schemas import LabelledRecord, Provenance, Turn, Verdict

    conversations = {
        "corrected": (["Book Tuesday.", "Booked Wednesday.", "No, I said Tuesday!"], True),
        "thanked": (["Book Tuesday.", "Booked Tuesday.", "Great, thanks."], False),
    }
    path = tmp_path / "labelled.jsonl"
    lines = []
    for record_id, (texts, flagged) in conversations.items():
        record = LabelledRecord(
            id=record_id,
            turns=[
                Turn(role=r, text=t) for r, t in zip(["human", "ai", "human"], texts, strict=True)
            ],
            label=Verdict(perceived_error=flagged, reason="as labelled"),
            provenance=Provenance(kind="human", by="me"),
        )
        lines.append(record.model_dump_json())
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(
        app,
        ["bench", str(path), "-m", "rules", "--label-field", "label.perceived_error",
         "--format", "json", "--resamples", "20"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    (score,) = printed["models"]
    assert score["counts"] == {"labelled": 2, "judged": 2, "skipped": 0, "failed": 0}
    assert score["confusion"] == {"tp": 1, "fp": 0, "fn": 0, "tn": 1}
    unnamed = CliRunner().invoke(app, ["bench", str(path), "-m", "rules"])
    assert unnamed.exit_code == 1, unnamed.output
    assert "it is under 'label.perceived_error', as `label` writes it: --label-field " in (
        unnamed.output
    )
