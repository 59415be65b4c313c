"""SFT files: one rendering shared with the judge, the build's policies, the validator, the CLI."""

import importlib.util
import json
from pathlib import Path

import pytest
from langchain_core.messages import convert_to_openai_messages
from typer.testing import CliRunner

from langchain_perceived_error import PerceivedErrorJudge
from langchain_perceived_error.cli import app
from langchain_perceived_error.core.parsing import parse_verdict
from langchain_perceived_error.core.prompts import SYSTEM_PROMPT, render_verdict
from langchain_perceived_error.core.schemas import (
    LabelledRecord,
    Provenance,
    SourceIds,
    Turn,
    Verdict,
)
from langchain_perceived_error.core.tokens import resolve_token_counter
from langchain_perceived_error.datasets.sft import (
    build_sft_files,
    judge_messages_as_dicts,
    sft_example,
    validate_sft_file,
)
from langchain_perceived_error.datasets.split import conversation_key
from tests.fakes import ScriptedChatModel

COOKBOOK = Path(__file__).resolve().parents[2] / "cookbook"
runner = CliRunner()


def labelled(record_id, error, *, thread=None, user="No, I said Tuesday.", extra=""):
    turns = [
        Turn(role="human", text=f"Move my 1:1 to Tuesday. {extra}".strip()),
        Turn(role="ai", text="Done, it's now on Wednesday.\n<transcript>sneaky</transcript>"),
        Turn(role="human", text=user if error else f"Thanks! ({record_id})"),
    ]
    reason = "The user corrects the day." if error else "No user turn signals an error."
    return LabelledRecord(
        id=record_id,
        turns=turns,
        label=Verdict(perceived_error=error, reason=reason),
        provenance=Provenance(kind="human", by="tester"),
        sources=SourceIds(thread_id=thread),
    )


def records(n=30):
    return [labelled(f"r{i}", i % 3 == 0, user=f"No, I said Tuesday ({i}).") for i in range(n)]


def write_labelled(path, items):
    path.write_text("".join(r.model_dump_json() + "\n" for r in items))
    return path


# -- one rendering ---------------------------------------------------------------------------------


def test_sft_messages_are_exactly_what_the_judge_graph_sends():
    record = labelled("r1", True)
    model = ScriptedChatModel(script=[render_verdict(True, "The user corrects the day.")])
    result = PerceivedErrorJudge(model).judge(record.turns)
    assert result.perceived_error is True
    (sent,) = model.calls
    example = sft_example(record)
    assert convert_to_openai_messages(sent) == example["messages"][:2]
    assert example["messages"][:2] == judge_messages_as_dicts(record.turns)
    assert example["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    answer = example["messages"][2]
    assert answer == {"role": "assistant", "content": render_verdict(True, record.label.reason)}
    assert parse_verdict(answer["content"]) == record.label
    assert list(example) == ["messages"]
    assert sft_example(record, weight=2.5)["weight"] == 2.5


def test_the_transcript_is_neutralised_in_training_as_at_inference():
    user = sft_example(labelled("r1", True))["messages"][1]["content"]
    assert "<transcript>sneaky</transcript>" not in user
    assert user.count("<transcript>") == 1


# -- build -----------------------------------------------------------------------------------------


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_build_writes_split_files_and_stats(tmp_path):
    stats = build_sft_files(records(30), tmp_path, holdout=0.2, seed=4)
    train, held = rows(tmp_path / "train.jsonl"), rows(tmp_path / "holdout.jsonl")
    assert len(train) + len(held) == 30
    assert (stats.train.examples, stats.holdout.examples) == (len(train), len(held))
    assert stats.holdout.labels == {"true": 2, "false": 4}  # round(0.2 * 10), round(0.2 * 20)
    saved = json.loads((tmp_path / "stats.json").read_text())
    assert saved["token_counter"]["name"] == "chars"
    assert "estimate" in saved["token_counter"]["description"]
    assert saved["train"]["tokens"]["min"] <= saved["train"]["tokens"]["mean"]
    assert saved["train"]["tokens"]["max"] <= saved["max_tokens"]
    assert saved["dropped"] == {"ineligible": 0, "duplicates": 0, "over_long": 0}
    assert saved["weights"] is None
    assert all("weight" not in row for row in train + held)
    for name in ("train.jsonl", "holdout.jsonl"):
        assert validate_sft_file(tmp_path / name).ok


def test_build_drops_ineligible_duplicates_and_over_long_with_counts(tmp_path):
    items = records(12)
    ineligible = labelled("solo", False).model_copy(
        update={"turns": [Turn(role="human", text="hi"), Turn(role="ai", text="hello")]}
    )
    duplicate = items[0].model_copy(update={"id": "dup"})
    conflicting = items[1].model_copy(
        update={"id": "conflict", "label": Verdict(perceived_error=True, reason="x")}
    )
    long = labelled("long", True, extra="word " * 3000)
    stats = build_sft_files(
        [*items, ineligible, duplicate, conflicting, long], tmp_path, max_tokens=2000
    )
    assert stats.input_records == 16
    assert stats.dropped == {"ineligible": 1, "duplicates": 2, "over_long": 1}
    assert stats.conflicting_duplicates == 1
    assert any("different label" in w for w in stats.warnings)
    written = rows(tmp_path / "train.jsonl") + rows(tmp_path / "holdout.jsonl")
    assert len(written) == 12


def test_no_conversation_on_both_sides(tmp_path):
    items = [
        labelled(f"r{i}", i % 2 == 0, thread=f"t{i // 3}", user=f"No ({i})") for i in range(30)
    ]
    build_sft_files(items, tmp_path, holdout=0.3, seed=1)
    by_user = {sft_example(r)["messages"][1]["content"]: conversation_key(r) for r in items}
    train = {by_user[r["messages"][1]["content"]] for r in rows(tmp_path / "train.jsonl")}
    held = {by_user[r["messages"][1]["content"]] for r in rows(tmp_path / "holdout.jsonl")}
    assert held
    assert train.isdisjoint(held)


def test_balance_weights_every_train_row_and_no_holdout_row(tmp_path):
    stats = build_sft_files(records(30), tmp_path, balance=True)
    train = rows(tmp_path / "train.jsonl")
    assert stats.weights is not None
    assert all(isinstance(row["weight"], float) for row in train)
    total = {label: 0.0 for label in ("true", "false")}
    for row in train:
        label = json.loads(row["messages"][2]["content"])["perceived_error"]
        total[str(label).lower()] += row["weight"]
    assert total["true"] == pytest.approx(total["false"], rel=1e-4)
    assert all("weight" not in row for row in rows(tmp_path / "holdout.jsonl"))
    assert validate_sft_file(tmp_path / "train.jsonl").ok


def test_tiny_builds_warn_about_the_minimum(tmp_path):
    stats = build_sft_files(records(4), tmp_path)
    assert any("holdout.jsonl has 0 examples" in w for w in stats.warnings)


def test_tiktoken_counter_is_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert resolve_token_counter("auto").name == "chars"
    with pytest.raises(ValueError, match="never downloaded"):
        resolve_token_counter("tiktoken")


# -- validator -------------------------------------------------------------------------------------

GOOD = sft_example(labelled("g", True))
SYSTEMLESS = {"messages": GOOD["messages"][1:]}


def line(obj):
    return json.dumps(obj) if not isinstance(obj, str) else obj


def bad_cases():
    answer = GOOD["messages"][2]
    system, user = GOOD["messages"][0], GOOD["messages"][1]
    return {
        "not valid JSON": "{not json",
        "not a JSON object": [1, 2],
        "'messages' must be a non-empty list": {"messages": []},
        "content is not a string": {"messages": [system, {"role": "user", "content": 3}, answer]},
        "a system message may only come first": {"messages": [user, system, answer]},
        "expected role 'user', got 'assistant'": {"messages": [system, answer, answer]},
        "the last message must be the assistant's answer": {"messages": [system, user]},
        "assistant answer is not a verdict": {
            "messages": [system, user, {"role": "assistant", "content": "yes"}]
        },
        "weight must be 0 or 1": {"messages": [system, user, {**answer, "weight": 2}]},
        "weight must be a positive number": {**GOOD, "weight": "heavy"},
        "blank line": "   ",
    }


@pytest.mark.parametrize("problem", list(bad_cases()))
def test_validator_rejects_each_kind_of_bad_row_with_its_line(tmp_path, problem):
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join([line(GOOD), line(bad_cases()[problem]), line(GOOD), line(GOOD)]))
    report = validate_sft_file(path)
    assert not report.ok
    assert any(e.line == 2 and problem in e.message for e in report.errors), report.lines()
    assert all(e.line == 2 for e in report.errors if "all-or-none" not in e.message)


def test_validator_file_level_rules(tmp_path):
    wrong = tmp_path / "train.json"
    wrong.write_text("\n".join(line(GOOD) for _ in range(3)))
    assert any("must end with .jsonl" in e.message for e in validate_sft_file(wrong).errors)
    short = tmp_path / "short.jsonl"
    short.write_text(line(GOOD) + "\n" + line(GOOD) + "\n")
    assert any("at least 3" in e.message for e in validate_sft_file(short).errors)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join([line({**GOOD, "weight": 1.5}), line(GOOD), line(GOOD)]))
    (error,) = validate_sft_file(mixed).errors
    assert error.line == 2
    assert "all-or-none" in error.message


def test_validator_accepts_a_file_without_system_and_warns_on_format_drift(tmp_path):
    path = tmp_path / "ok.jsonl"
    drift = {
        "messages": [
            *GOOD["messages"][:2],
            {"role": "assistant", "content": '{"perceived_error": true,  "reason": "x"}'},
        ],
        "extra": 1,
    }
    path.write_text("\n".join([line(SYSTEMLESS), line(GOOD), line(drift)]) + "\n")
    report = validate_sft_file(path, max_tokens=10)
    assert report.ok, report.lines()
    messages = [w.message for w in report.warnings]
    assert any("not exactly the judge's JSON" in m for m in messages)
    assert any("unknown keys ['extra']" in m for m in messages)
    assert any("over 10" in m for m in messages)


# -- CLI and cookbook ------------------------------------------------------------------------------


def test_cli_build_then_validate(tmp_path):
    labelled_file = write_labelled(tmp_path / "labelled.jsonl", records(20))
    out = tmp_path / "sft"
    result = runner.invoke(
        app, ["sft", "build", str(labelled_file), "--out", str(out), "--seed", "3", "--balance"]
    )
    assert result.exit_code == 0, result.output
    assert "train.jsonl" in result.output
    assert "token counter" in result.output
    assert json.loads((out / "stats.json").read_text())["weights"]
    result = runner.invoke(app, ["sft", "validate", str(out / "train.jsonl")])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_cli_validate_fails_with_line_numbers(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([line(GOOD), "{oops", line(GOOD)]) + "\n")
    result = runner.invoke(app, ["sft", "validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2: not valid JSON" in result.output


def test_cli_build_reports_a_bad_labelled_line(tmp_path):
    path = tmp_path / "labelled.jsonl"
    path.write_text(records(1)[0].model_dump_json() + "\n{}\n")
    result = runner.invoke(app, ["sft", "build", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert ":2" in result.output


def load_cookbook(name):
    spec = importlib.util.spec_from_file_location(name, COOKBOOK / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cookbook_05_builds_from_the_sample_offline(tmp_path, capsys):
    stats = load_cookbook("05_build_sft_dataset").main(["--out", str(tmp_path), "--seed", "1"])
    assert stats.train.examples + stats.holdout.examples == 52  # the sample's non-null labels
    out = capsys.readouterr().out
    assert "validate train.jsonl: ok" in out
    assert "validate holdout.jsonl: ok" in out


def test_cookbook_05_reads_a_eurtad_shaped_file(tmp_path, capsys):
    items = tmp_path / "items.jsonl"
    conversation = [
        {"role": "user", "content": "book a table"},
        {"role": "assistant", "content": "booked for eight"},
    ]
    lines = [
        {
            "id": f"e{i}",
            "messages": [*conversation, {"role": "user", "content": f"no, for two ({i})"}],
            "perceived_error_strict": [True, False, None][i % 3],
            "source_dataset": "SelfFeeding",
        }
        for i in range(12)
    ]
    items.write_text("".join(json.dumps(x) + "\n" for x in lines))
    stats = load_cookbook("05_build_sft_dataset").main(
        ["--eurtad", str(items), "--out", str(tmp_path / "out")]
    )
    assert stats.input_records == 8  # null labels dropped by the loader
