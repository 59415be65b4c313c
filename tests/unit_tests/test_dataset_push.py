"""Labelled records -> a LangSmith dataset, against the local LangSmith server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from langsmith import evaluate
from typer.testing import CliRunner

from langchain_perceived_error.cli import app
from langchain_perceived_error.core.records import ReadReport, read_records
from langchain_perceived_error.core.schemas import (
    LabelledRecord,
    Provenance,
    SourceIds,
    Turn,
    Verdict,
)
from langchain_perceived_error.datasets.labels import write_labelled
from langchain_perceived_error.datasets.langsmith_dataset import (
    DatasetPushError,
    example_id,
    example_payload,
    push_labelled_dataset,
    splits_from_sft_dir,
)
from langchain_perceived_error.datasets.panel import PanelLabeller
from langchain_perceived_error.datasets.sft import build_sft_files
from langchain_perceived_error.datasets.split import split_records
from langchain_perceived_error.evaluation.examples import (
    labelled_examples,
)
from langchain_perceived_error.evaluation.label_experiments import (
    label_match_evaluator,
)
from langchain_perceived_error.evaluation.targets import (
    judge_target,
)
from tests.servers.langsmith_capture import LocalLangSmith

SAMPLE = "cookbook/data/sample_traces.jsonl"


@pytest.fixture(scope="module")
def sample_labels() -> list[LabelledRecord]:
    """The bundled sample labelled by a rules+rules panel (52 multi-turn traces)."""
    labeller = PanelLabeller(["rules", "rules"])
    outcomes = labeller.label_many(read_records([SAMPLE], ReadReport()), concurrency=4)
    return [o.record for o in outcomes if o.record is not None]


def _by_record(server: LocalLangSmith) -> dict[str, dict[str, Any]]:
    return {e["metadata"]["record_id"]: e for e in server.examples}


def test_push_creates_examples_with_the_evaluation_shape(
    langsmith_server: LocalLangSmith, sample_labels: list[LabelledRecord]
):
    client = langsmith_server.client()
    report = push_labelled_dataset(client, sample_labels, name="labels", holdout=0.25, seed=3)
    assert report.created
    assert (report.records, report.added, report.already_present) == (52, 52, 0)
    assert report.splits == {"train": 39, "holdout": 13}
    (dataset,) = langsmith_server.datasets
    examples = _by_record(langsmith_server)
    assert len(examples) == 52

    record = sample_labels[0]
    example = examples[record.id]
    assert example["id"] == str(example_id(dataset["id"], record.id))
    assert example["inputs"]["messages"][0] == {"role": "user", "content": record.turns[0].text}
    assert {m["role"] for m in example["inputs"]["messages"]} == {"user", "assistant"}
    assert example["outputs"] == {
        "perceived_error": record.label.perceived_error,
        "reason": record.label.reason,
    }
    assert example["metadata"]["provenance"]["kind"] == "panel"
    assert example["metadata"]["provenance"]["by"] == "rules#1,rules#2"
    assert example["metadata"]["label_metadata"]["label_stage"] == "panel"

    # the split is the SFT builder's function, on the same records
    _, held = split_records(sample_labels, holdout=0.25, seed=3)
    assert {k for k, e in examples.items() if e["split"] == "holdout"} == {r.id for r in held}

    # the same shape as experiments.labelled_examples builds from the same conversations
    rows = [
        {"id": r.id, "messages": example_payload(r, split="train")["inputs"]["messages"]}
        | {"perceived_error": r.label.perceived_error}
        for r in sample_labels
    ]
    reference = {e.metadata["record_id"]: e for e in labelled_examples(rows)}
    for record_id, pushed in examples.items():
        assert pushed["inputs"] == reference[record_id].inputs
        assert (
            pushed["outputs"]["perceived_error"] == reference[record_id].outputs["perceived_error"]
        )


def test_push_again_adds_nothing_and_reports_changed_labels(
    langsmith_server: LocalLangSmith, sample_labels: list[LabelledRecord]
):
    client = langsmith_server.client()
    push_labelled_dataset(client, sample_labels, name="labels")
    again = push_labelled_dataset(client, sample_labels, name="labels")
    assert not again.created
    assert (again.added, again.already_present, again.changed) == (0, 52, [])
    assert len(langsmith_server.examples) == 52
    assert len(langsmith_server.datasets) == 1

    flipped = sample_labels[0].model_copy(
        update={
            "label": Verdict(
                perceived_error=not sample_labels[0].label.perceived_error,
                reason="A human disagreed.",
            )
        }
    )
    third = push_labelled_dataset(client, [flipped, *sample_labels[1:]], name="labels")
    assert third.changed == [flipped.id]
    assert third.added == 0
    assert _by_record(langsmith_server)[flipped.id]["outputs"] == {
        "perceived_error": sample_labels[0].label.perceived_error,
        "reason": sample_labels[0].label.reason,
    }


def test_the_holdout_is_the_offline_evaluate_set(
    langsmith_server: LocalLangSmith, sample_labels: list[LabelledRecord]
):
    client = langsmith_server.client()
    report = push_labelled_dataset(client, sample_labels, name="labels", holdout=0.2, seed=0)
    holdout = list(client.list_examples(dataset_name="labels", splits=["holdout"]))
    assert len(holdout) == report.splits["holdout"] == 10
    before = len(langsmith_server.requests)
    results = evaluate(
        judge_target("rules"),
        data=holdout,
        evaluators=[label_match_evaluator],
        client=client,
        upload_results=False,
    )
    rows = list(results)
    assert len(rows) == 10
    scores = [
        next(r.score for r in row["evaluation_results"]["results"] if r.key == "correct")
        for row in rows
    ]
    assert scores == [1] * 10  # rules judging its own panel's labels
    assert len(langsmith_server.requests) == before  # evaluate() sent nothing


def _record(record_id: str, turns: list[Turn], flagged: bool = False, thread: str | None = None):
    return LabelledRecord(
        id=record_id,
        turns=turns,
        label=Verdict(perceived_error=flagged, reason="Because."),
        provenance=Provenance(kind="human", by="ana"),
        sources=SourceIds(thread_id=thread),
    )


MULTI = [Turn(role="human", text="a"), Turn(role="ai", text="b"), Turn(role="human", text="c")]


def test_single_turn_and_repeated_transcripts_are_left_out(langsmith_server: LocalLangSmith):
    other = [*MULTI[:2], Turn(role="human", text="d")]
    records = [
        _record("r1", MULTI),
        _record("r2", MULTI),  # the same transcript again
        _record("r1", other),  # the same id again
        _record("single", MULTI[:2]),
        _record("r3", other),
    ]
    report = push_labelled_dataset(langsmith_server.client(), records, name="d", holdout=0.0)
    assert (report.records, report.not_multi_turn, report.duplicates, report.added) == (5, 1, 2, 2)
    assert report.splits == {"train": 2, "holdout": 0}


def test_split_from_an_sft_build_reuses_its_split(
    tmp_path: Path, langsmith_server: LocalLangSmith, sample_labels: list[LabelledRecord]
):
    sft = tmp_path / "sft"
    stats = build_sft_files(sample_labels, sft, holdout=0.3, seed=11)
    records = [*sample_labels, _record("not-in-sft", [*MULTI, Turn(role="ai", text="e")])]
    report = push_labelled_dataset(
        langsmith_server.client(), records, name="from-sft", split_from=sft
    )
    assert report.not_in_sft_split == 1
    assert report.splits == {"train": stats.train.examples, "holdout": stats.holdout.examples}
    sides = splits_from_sft_dir(sft)
    assert len(sides) == 52
    _, held = split_records(sample_labels, holdout=0.3, seed=11)
    pushed = {k for k, e in _by_record(langsmith_server).items() if e["split"] == "holdout"}
    assert pushed == {r.id for r in held}


def test_split_from_a_directory_without_sft_files(tmp_path: Path):
    with pytest.raises(DatasetPushError, match="cannot read the SFT file"):
        splits_from_sft_dir(tmp_path)
    (tmp_path / "train.jsonl").write_text('{"messages": []}\n', encoding="utf-8")
    (tmp_path / "holdout.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(DatasetPushError, match=r"train\.jsonl:1: not an SFT chat row"):
        splits_from_sft_dir(tmp_path)


# -- the CLI ---------------------------------------------------------------------------------------


def _invoke(server: LocalLangSmith, *args: str):
    env = {"LANGSMITH_API_KEY": "test", "LANGSMITH_ENDPOINT": server.url}
    for name in ("LANGCHAIN_API_KEY", "LANGCHAIN_ENDPOINT", "LANGSMITH_WORKSPACE_ID"):
        env[name] = None  # type: ignore[assignment]
    return CliRunner().invoke(app, ["dataset", "push", *args], env=env)


def test_cli_dataset_push_twice(
    tmp_path: Path, langsmith_server: LocalLangSmith, sample_labels: list[LabelledRecord]
):
    panel = tmp_path / "panel.jsonl"
    write_labelled(panel, sample_labels)
    human = tmp_path / "human.jsonl"
    relabelled = sample_labels[0].model_copy(
        update={
            "label": Verdict(perceived_error=True, reason="A reviewer saw it."),
            "provenance": Provenance(kind="human", by="ana"),
        }
    )
    write_labelled(human, [relabelled])
    first = _invoke(langsmith_server, str(panel), str(human), "--name", "cli-ds", "--seed", "5")
    assert first.exit_code == 0, first.output
    assert "created" in first.stdout
    assert "records read: 52" in first.stdout
    assert "added: 52, already in the dataset: 0" in first.stdout
    assert _by_record(langsmith_server)[relabelled.id]["outputs"]["reason"] == "A reviewer saw it."
    second = _invoke(langsmith_server, str(panel), str(human), "--name", "cli-ds", "--seed", "5")
    assert second.exit_code == 0, second.output
    assert "added: 0, already in the dataset: 52" in second.stdout


def test_cli_dataset_push_refuses_two_splits(tmp_path: Path, langsmith_server: LocalLangSmith):
    labelled = tmp_path / "l.jsonl"
    labelled.write_text("", encoding="utf-8")
    args = (str(labelled), "--name", "x", "--split-from", str(tmp_path), "--holdout", "0.1")
    result = _invoke(langsmith_server, *args)
    assert result.exit_code == 2
    assert "not both" in result.output


def test_cli_dataset_push_names_a_bad_line(tmp_path: Path, langsmith_server: LocalLangSmith):
    labelled = tmp_path / "l.jsonl"
    labelled.write_text(json.dumps({"id": "x"}) + "\n", encoding="utf-8")
    result = _invoke(langsmith_server, str(labelled), "--name", "x")
    assert result.exit_code == 1
    assert "l.jsonl:1" in " ".join(result.output.split())
    assert langsmith_server.datasets == []


def test_example_ids_are_per_dataset():
    dataset_a, dataset_b = uuid.uuid4(), uuid.uuid4()
    assert example_id(dataset_a, "r") == example_id(dataset_a, "r")
    assert example_id(dataset_a, "r") != example_id(dataset_b, "r")


def _writes(server: LocalLangSmith) -> list[str]:
    return [
        f"{r.method} {r.path}"
        for r in server.requests
        if r.method in ("POST", "PATCH", "PUT", "DELETE") and "query" not in r.path
    ]


def test_cli_dataset_push_dry_run_writes_nothing(
    tmp_path: Path, langsmith_server: LocalLangSmith, sample_labels: list[LabelledRecord]
):
    labelled = tmp_path / "l.jsonl"
    write_labelled(labelled, sample_labels)
    dry = _invoke(langsmith_server, str(labelled), "--name", "dry-ds", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "dry run: dataset 'dry-ds' does not exist: it would be created" in dry.stdout
    assert "dry run: 52 example(s) would be added, already in the dataset: 0" in dry.stdout
    assert _writes(langsmith_server) == []
    assert _invoke(langsmith_server, str(labelled), "--name", "dry-ds").exit_code == 0
    pushed = _writes(langsmith_server)
    again = _invoke(langsmith_server, str(labelled), "--name", "dry-ds", "--dry-run")
    assert "dry run: 0 example(s) would be added, already in the dataset: 52" in again.stdout
    assert _writes(langsmith_server) == pushed
