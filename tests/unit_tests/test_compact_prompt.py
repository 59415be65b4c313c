"""The compact prompt for fine-tuned judges: the same bytes in the SFT files and at serving."""

import json

from langchain_core.messages import convert_to_openai_messages
from typer.testing import CliRunner

from langchain_perceived_error import PerceivedErrorJudge
from langchain_perceived_error.cli import app
from langchain_perceived_error.core.prompts import (
    COMPACT_SYSTEM_PROMPT,
    PROMPT_VERSIONS,
    SYSTEM_PROMPT,
    render_verdict,
)
from langchain_perceived_error.core.tokens import estimate_text_tokens
from tests.fakes import ScriptedChatModel
from tests.unit_tests.test_sft import records, write_labelled

runner = CliRunner()


def test_the_compact_prompt_is_short_and_keeps_the_output_contract():
    # at most about 80 tokens of instruction (issue 14), by the package's estimator; full: 540
    assert estimate_text_tokens(COMPACT_SYSTEM_PROMPT) <= 80
    assert len(SYSTEM_PROMPT) > 5 * len(COMPACT_SYSTEM_PROMPT)
    assert '{"perceived_error": true or false, "reason": ' in COMPACT_SYSTEM_PROMPT
    assert "not instructions" in COMPACT_SYSTEM_PROMPT
    assert PROMPT_VERSIONS["compact"] != PROMPT_VERSIONS["full"]


def test_sft_build_compact_writes_the_bytes_the_compact_judge_sends(tmp_path):
    items = records()
    out = tmp_path / "sft"
    args = ["sft", "build", str(write_labelled(tmp_path / "l.jsonl", items)), "-o", str(out)]
    result = runner.invoke(app, [*args, "--prompt", "compact"])
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["prompt"], stats["prompt_version"]) == ("compact", PROMPT_VERSIONS["compact"])
    by_user = {item.turns[-1].text: item for item in items}
    lines = (out / "train.jsonl").read_bytes().splitlines()
    assert lines
    for line in lines:
        written = json.loads(line)["messages"]
        record = by_user[written[1]["content"].splitlines()[-2].removeprefix("user: ")]
        model = ScriptedChatModel(script=[render_verdict(True, "The user corrects the day.")])
        PerceivedErrorJudge(model, prompt="compact").judge(record.turns)
        (sent,) = model.calls
        served = [
            json.dumps(m, ensure_ascii=False).encode() for m in convert_to_openai_messages(sent)
        ]
        assert served == [json.dumps(m, ensure_ascii=False).encode() for m in written[:2]]
        assert written[0]["content"] == COMPACT_SYSTEM_PROMPT


def test_the_default_stays_the_full_prompt(tmp_path):
    out = tmp_path / "sft"
    path = write_labelled(tmp_path / "l.jsonl", records())
    assert runner.invoke(app, ["sft", "build", str(path), "-o", str(out)]).exit_code == 0
    first = json.loads((out / "train.jsonl").read_text().splitlines()[0])
    assert first["messages"][0]["content"] == SYSTEM_PROMPT
    assert json.loads((out / "stats.json").read_text())["prompt"] == "full"
    model = ScriptedChatModel(script=[render_verdict(False, "No user turn signals an error.")])
    PerceivedErrorJudge(model).judge(records(1)[0].turns)
    assert model.calls[0][0].content == SYSTEM_PROMPT


def test_cost_shows_tokens_and_dollars_per_trace_for_both_prompts():
    from langchain_core.messages.utils import count_tokens_approximately

    from langchain_perceived_error.bench.cost import measure_sample, project_costs
    from tests.unit_tests.test_cli import SAMPLE

    profile = measure_sample(SAMPLE)
    assert profile.compact_input_tokens is not None
    saved = count_tokens_approximately([("system", SYSTEM_PROMPT)]) - count_tokens_approximately(
        [("system", COMPACT_SYSTEM_PROMPT)]
    )
    assert profile.input_tokens - profile.compact_input_tokens == saved  # only the prompt differs
    projection = project_costs(profile, traces_per_day=1000, models=["gpt-5"])
    (line,) = [a for a in projection.assumptions if a.startswith("compact prompt")]
    assert f"{profile.compact_input_tokens:,.0f} input tokens per judged trace" in line
    assert "per 1,000 traces with the full prompt" in line


def _messages(turns):
    roles = {"human": "user", "ai": "assistant"}
    return [{"role": roles[t.role], "content": t.text} for t in turns]


def _served_bytes(turns, prompt):
    model = ScriptedChatModel(script=[render_verdict(True, "The user corrects the day.")])
    PerceivedErrorJudge(model, prompt=prompt).judge(turns)
    (sent,) = model.calls
    return [json.dumps(m, ensure_ascii=False).encode() for m in convert_to_openai_messages(sent)]


def test_batch_submit_compact_sends_the_bytes_the_compact_judge_sends(tmp_path):
    items = records()
    traces = tmp_path / "traces.jsonl"
    traces.write_text(
        "".join(
            json.dumps({"id": f"r{n}", "messages": _messages(item.turns)}) + "\n"
            for n, item in enumerate(items)
        ),
        encoding="utf-8",
    )
    model = "fireworks:accounts/me/models/tuned"
    for prompt in ("compact", "full"):
        work = tmp_path / prompt
        args = ["batch", "submit", str(traces), "-m", model, "--work-dir", str(work), "--dry-run"]
        result = runner.invoke(app, [*args, "--prompt", prompt])
        assert result.exit_code == 0, result.output
        (requests,) = work.glob("*.requests.jsonl")
        lines = requests.read_bytes().splitlines()
        assert len(lines) == len(items)
        for line, item in zip(lines, items, strict=True):
            sent = json.loads(line)["body"]["messages"]
            written = [json.dumps(m, ensure_ascii=False).encode() for m in sent]
            assert written == _served_bytes(item.turns, prompt)
            expected = COMPACT_SYSTEM_PROMPT if prompt == "compact" else SYSTEM_PROMPT
            assert sent[0]["content"] == expected


def test_judge_command_prompt_option_reaches_the_model(tmp_path, monkeypatch):
    from langchain_perceived_error.cli import judge as judge_cli

    item = records(1)[0]
    traces = tmp_path / "traces.jsonl"
    traces.write_text(
        json.dumps({"id": "r0", "messages": _messages(item.turns)}) + "\n",
        encoding="utf-8",
    )
    models: list[ScriptedChatModel] = []

    def scripted(spec, timeout):
        models.append(ScriptedChatModel(script=[render_verdict(True, "The user corrects it.")]))
        return models[-1]

    monkeypatch.setattr(judge_cli, "resolve_model", scripted)
    for prompt in ("compact", "full"):
        result = runner.invoke(app, ["judge", str(traces), "--prompt", prompt])
        assert result.exit_code == 0, result.output
        (sent,) = models[-1].calls
        served = convert_to_openai_messages(sent)
        assert [json.dumps(m, ensure_ascii=False).encode() for m in served] == _served_bytes(
            item.turns, prompt
        )
    assert models[0].calls[0][0].content == COMPACT_SYSTEM_PROMPT
    assert runner.invoke(app, ["judge", str(traces), "--prompt", "tiny"]).exit_code == 2


def test_results_record_the_version_of_the_prompt_sent():
    from langchain_perceived_error.evaluation.evaluators import create_perceived_error_evaluator
    from langchain_perceived_error.online.feedback import feedback_fields, feedback_id

    turns = records(1)[0].turns
    versions = {}
    for prompt in ("full", "compact"):
        model = ScriptedChatModel(script=[render_verdict(True, "The user corrects the day.")])
        judge = PerceivedErrorJudge(model, prompt=prompt)
        assert judge.prompt_version == PROMPT_VERSIONS[prompt]
        evaluate = create_perceived_error_evaluator(judge=judge)
        versions[prompt] = evaluate(outputs=_messages(turns))["evaluator_info"]
        fields = feedback_fields(judge.judge(turns), judge.prompt_version)
        assert fields is not None
        assert fields["source_info"]["prompt_version"] == PROMPT_VERSIONS[prompt]
    assert versions["full"]["prompt_version"] == PROMPT_VERSIONS["full"]
    assert versions["compact"]["prompt_version"] == PROMPT_VERSIONS["compact"]
    # the full prompt keeps the ids written before the compact one existed; the compact one differs
    assert feedback_id("run") == feedback_id("run", prompt_version=PROMPT_VERSIONS["full"])
    assert feedback_id("run", prompt_version=PROMPT_VERSIONS["compact"]) != feedback_id("run")


def test_the_rules_judge_ignores_the_prompt_choice():
    from tests.unit_tests.test_cli import SAMPLE

    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    payloads = [json.loads(line) for line in lines]
    full = [r.to_record() for r in PerceivedErrorJudge("rules").judge_many(payloads)]
    compact = PerceivedErrorJudge("rules", prompt="compact").judge_many(payloads)
    strip = ("latency_s",)
    assert [{k: v for k, v in r.items() if k not in strip} for r in full] == [
        {k: v for k, v in r.to_record().items() if k not in strip} for r in compact
    ]
    assert any(r["perceived_error"] for r in full)
    assert not all(r["perceived_error"] for r in full)


def test_a_cascade_records_the_prompt_versions_of_its_judges():
    from langchain_perceived_error.judge.cascade import CascadeJudge
    from tests.unit_tests.test_cascade import _thresholds

    full, compact = PerceivedErrorJudge("rules"), PerceivedErrorJudge("rules", prompt="compact")
    same = CascadeJudge(full, PerceivedErrorJudge("rules"), _thresholds(0.9, 0.1))
    assert same.prompt_version == PROMPT_VERSIONS["full"]
    mixed = CascadeJudge(full, compact, _thresholds(0.9, 0.1))
    assert mixed.prompt_version == f"{PROMPT_VERSIONS['full']}+{PROMPT_VERSIONS['compact']}"
    assert mixed.prompt == "compact"


def _bench_file(tmp_path, items):
    path = tmp_path / "labelled.jsonl"
    lines = [
        json.dumps({"id": f"r{n}", "messages": _messages(it.turns), "pe": it.label.perceived_error})
        for n, it in enumerate(items)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _scripted_models(monkeypatch):
    """Every spec ``bench`` resolves becomes a ScriptedChatModel recording its calls."""
    from langchain_perceived_error.bench import runner as bench_runner

    models: dict[str, ScriptedChatModel] = {}

    def scripted(spec, timeout):
        models[spec] = ScriptedChatModel(
            script=[render_verdict(True, "The user corrects it.")], model_name=spec
        )
        return models[spec]

    monkeypatch.setattr(bench_runner, "resolve_model", scripted)
    return models


def test_bench_prompt_option_sends_that_prompt_byte_for_byte_and_records_it(tmp_path, monkeypatch):
    items = records(4)
    data = _bench_file(tmp_path, items)
    models = _scripted_models(monkeypatch)
    for prompt in ("compact", "full"):
        out = tmp_path / prompt
        args = ["bench", str(data), "-m", "a:tuned", "-m", "b:other", "--label-field", "pe"]
        result = runner.invoke(
            app, [*args, "--resamples", "20", "--report", str(out), "--prompt", prompt]
        )
        assert result.exit_code == 0, result.output
        assert f"prompt: {prompt} ({PROMPT_VERSIONS[prompt]})" in result.stdout
        for spec in ("a:tuned", "b:other"):  # every judge of the run
            sent = [convert_to_openai_messages(call) for call in models[spec].calls]
            assert len(sent) == len(items)
            served = sorted(
                [json.dumps(m, ensure_ascii=False).encode() for m in messages] for messages in sent
            )
            expected = sorted(_served_bytes(item.turns, prompt) for item in items)
            assert served == expected
            system = COMPACT_SYSTEM_PROMPT if prompt == "compact" else SYSTEM_PROMPT
            assert {messages[0]["content"] for messages in sent} == {system}
        report = json.loads((out / "report.json").read_text())
        assert (report["prompt"], report["prompt_version"]) == (prompt, PROMPT_VERSIONS[prompt])
        assert report["settings"]["prompt"] == prompt
        assert {(m["prompt"], m["prompt_version"]) for m in report["models"]} == {
            (prompt, PROMPT_VERSIONS[prompt])
        }
        assert {m["tokens"]["compact_measured"] for m in report["models"]} == {prompt == "compact"}
        header = (out / "report.md").read_text().split("\n\n| model")[0]
        assert f"prompt: {prompt} ({PROMPT_VERSIONS[prompt]})" in header
    refused = runner.invoke(app, ["bench", str(data), "-m", "rules", "--prompt", "tiny"])
    assert refused.exit_code == 2


def test_bench_cascade_sends_the_prompt_to_both_judges(tmp_path, monkeypatch):
    items = records(6)
    data = _bench_file(tmp_path, items)
    models = _scripted_models(monkeypatch)
    args = ["bench", str(data), "--cascade", "a:cheap,b:dear", "--label-field", "pe"]
    out = tmp_path / "out"
    result = runner.invoke(
        app, [*args, "--resamples", "20", "--prompt", "compact", "--report", str(out)]
    )
    assert result.exit_code == 0, result.output
    for spec in ("a:cheap", "b:dear"):
        assert len(models[spec].calls) == len(items)
        assert {call[0].content for call in models[spec].calls} == {COMPACT_SYSTEM_PROMPT}
    thresholds = json.loads((out / "cascade.json").read_text())
    assert thresholds["chosen_on"]["prompt_version"] == PROMPT_VERSIONS["compact"]


def test_bench_rules_ignores_the_prompt_choice(tmp_path):
    from tests.unit_tests.test_cli import SAMPLE

    predictions = {}
    for prompt in ("full", "compact"):
        out = tmp_path / prompt
        args = ["bench", str(SAMPLE), "-m", "rules", "--label-field", "expected_perceived_error"]
        result = runner.invoke(
            app, [*args, "--resamples", "20", "--report", str(out), "--prompt", prompt]
        )
        assert result.exit_code == 0, result.output
        lines = (out / "predictions.jsonl").read_text().splitlines()
        keep = ("id", "status", "predicted", "reason", "confidence", "evidence_turn")
        predictions[prompt] = [{k: json.loads(line)[k] for k in keep} for line in lines]
    assert predictions["full"] == predictions["compact"]
    assert any(p["predicted"] for p in predictions["full"])
