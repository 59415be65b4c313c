"""The benchmark runner, scoring, reports and `bench` on a hand-written labelled file."""

import asyncio
import io
import json
import sys
import time
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field
from rich.console import Console
from typer.testing import CliRunner

from langchain_perceived_error.bench import report as report_module
from langchain_perceived_error.bench.cache import DiskCache
from langchain_perceived_error.bench.data import (
    BenchDataError,
    FieldMapping,
    load_labelled,
    parse_slices,
)
from langchain_perceived_error.bench.pricing import ModelPrice
from langchain_perceived_error.bench.report import BenchReport, bench_table, write_report
from langchain_perceived_error.bench.runner import (
    BenchSettings,
    arun_benchmark,
    build_judges,
    run_benchmark,
)
from langchain_perceived_error.bench.scoring import score_run
from langchain_perceived_error.cli import app
from langchain_perceived_error.core.schemas import JudgeStatus
from tests.fakes import ScriptedChatModel
from tests.unit_tests.test_graph import FAST_RETRY


def conversation(reply, n=0):
    return [
        {"role": "user", "content": f"Move meeting {n} to Tuesday."},
        {"role": "assistant", "content": "Moved it to Wednesday."},
        {"role": "user", "content": reply},
    ]


WRONG = "No, that's wrong, I said Tuesday."
FINE = "Thanks, great."
# 8 labelled records: 6 eligible (3 true, 3 false), 1 skipped (no user reply), 1 null label
RECORDS = [
    {"id": "a1", "src": "a", "label": True, "messages": conversation(WRONG, 1)},
    {"id": "a2", "src": "a", "label": True, "messages": conversation(WRONG, 2)},
    {"id": "a3", "src": "a", "label": True, "messages": conversation(FINE, 3)},  # judge misses it
    {"id": "b1", "src": "b", "label": False, "messages": conversation(FINE, 4)},
    {"id": "b2", "src": "b", "label": False, "messages": conversation(FINE, 5)},
    {"id": "b3", "src": "b", "label": False, "messages": conversation(WRONG, 6)},  # false alarm
    {"id": "b4", "src": "b", "label": False, "messages": [{"role": "user", "content": "Hi"}]},
    {"id": "n1", "src": "b", "label": None, "messages": conversation(WRONG, 7)},
]


class KeywordModel(BaseChatModel):
    """Flags a transcript whose text contains "wrong"; reports fixed usage; optional delay."""

    usage: tuple[int, int] = (1000, 40)
    delay_s: float = 0.0
    log: list[str] = Field(default_factory=list)  # shared by copies (with_cache copies)
    model_name: str = "keyword-judge"

    @property
    def calls(self) -> int:
        return len(self.log)

    @property
    def _llm_type(self) -> str:
        return "keyword"

    def _reply(self, messages) -> ChatResult:
        self.log.append(messages[-1].text)
        flagged = "wrong" in messages[-1].text
        verdict = json.dumps({"perceived_error": flagged, "reason": "keyword"})
        message = AIMessage(
            content=verdict,
            usage_metadata={
                "input_tokens": self.usage[0],
                "output_tokens": self.usage[1],
                "total_tokens": sum(self.usage),
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        time.sleep(self.delay_s)
        return self._reply(messages)

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        await asyncio.sleep(self.delay_s)
        return self._reply(messages)


PRICES = {
    "keyword-judge": ModelPrice(
        input=1.0, output=10.0, source="test", as_of="2026-01", batch_discount=0.5
    )
}


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n")
    return path


MAPPING = FieldMapping(label_field="label")


def bench(items, model, **kwargs):
    settings = BenchSettings(concurrency=4, resamples=200)
    judges = build_judges([model], settings=settings, transport_retry=FAST_RETRY, **kwargs)
    (run,) = run_benchmark(items, judges, settings=settings)
    return run, score_run(run, prices=PRICES, settings=settings)


# -- loading ---------------------------------------------------------------------------------------


def test_load_drops_null_labels_and_keeps_order(data_file):
    items, summary = load_labelled(data_file, MAPPING)
    assert [i.id for i in items] == ["a1", "a2", "a3", "b1", "b2", "b3", "b4"]
    assert [i.label for i in items] == [True, True, True, False, False, False, False]
    assert items[0].payload == RECORDS[0]["messages"]
    assert (summary.records, summary.null_label, summary.used) == (8, 1, 7)


def test_slices_and_limit(data_file):
    items, summary = load_labelled(data_file, MAPPING, slices=parse_slices(["src=b"]), limit=2)
    assert [i.id for i in items] == ["b1", "b2"]
    assert (summary.outside_slice, summary.null_label, summary.over_limit) == (3, 1, 2)
    both = load_labelled(data_file, MAPPING, slices=parse_slices(["src=a", "src=b"]))[0]
    assert len(both) == 7  # values of one field OR


def test_nested_fields_ids_and_int_labels(tmp_path):
    path = tmp_path / "nested.jsonl"
    rows = [
        {"inputs": {"messages": conversation(WRONG)}, "outputs": {"perceived_error": 1}},
        {"inputs": {"messages": conversation(FINE)}, "outputs": {"perceived_error": 0}},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    mapping = FieldMapping("inputs.messages", "outputs.perceived_error", "id")
    items, _ = load_labelled(path, mapping)
    assert [(i.id, i.label) for i in items] == [("nested.jsonl:1", True), ("nested.jsonl:2", False)]


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ('{"id": "x", "messages": []}', r"nested.jsonl:1 has no 'label' field"),
        ('{"id": "x", "label": true}', r"has no 'messages' field"),
        ('{"id": "x", "label": "yes", "messages": []}', r"'label' must be true, false"),
        ("{not json", r"nested.jsonl:1: not valid JSON"),
        ("[1, 2]", r"expected a JSON object, got list"),
    ],
)
def test_bad_data_errors_name_the_line(tmp_path, line, match):
    path = tmp_path / "nested.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(BenchDataError, match=match):
        load_labelled(path, FieldMapping("messages", "label"))


def test_without_a_messages_field_the_whole_record_is_judged(tmp_path):
    # issue 10: the bundled sample (LangSmith runs with their label beside them) failed on record 5
    path = tmp_path / "runs.jsonl"
    run = {"id": "r1", "label": True, "inputs": {"messages": conversation(FINE)}, "outputs": {}}
    path.write_text(json.dumps(run) + "\n")
    items, _ = load_labelled(path, MAPPING)
    assert items[0].payload == run


def test_bad_slice_and_missing_file(tmp_path):
    with pytest.raises(BenchDataError, match="FIELD=VALUE"):
        parse_slices(["source_dataset"])
    with pytest.raises(BenchDataError, match="cannot read the labelled data"):
        load_labelled(tmp_path / "missing.jsonl", MAPPING)


# -- judging and scoring ---------------------------------------------------------------------------


def test_rules_scores_offline(data_file):
    items, _ = load_labelled(data_file, MAPPING)
    run, score = bench(items, "rules")
    assert [o.status for o in run.outcomes].count(JudgeStatus.SKIPPED) == 1
    assert (score.judged, score.skipped, score.failed, score.n) == (6, 1, 0, 7)
    assert score.matrix.to_dict() == {"tp": 2, "fp": 1, "fn": 1, "tn": 2}
    assert score.metrics["accuracy"].value == pytest.approx(4 / 6)
    # e2e over 7: the 4 correct verdicts + the skipped record labelled false
    assert score.e2e_accuracy.value == pytest.approx(5 / 7)
    assert score.mean_input_tokens is None  # rules reports no usage
    assert (score.compact_mean_input_tokens, score.compact_usd_per_1k) == (None, None)
    assert score.usd_per_1k is None  # no price for "rules" in this test's table
    assert score.latency_p50_s is not None


def test_tokens_cost_latency_and_positive_rate(data_file):
    items, _ = load_labelled(data_file, MAPPING)
    _, score = bench(items, KeywordModel(delay_s=0.02))
    assert score.matrix.to_dict() == {"tp": 2, "fp": 1, "fn": 1, "tn": 2}
    assert score.positive_rate == pytest.approx(3 / 6)
    assert score.label_positive_rate == pytest.approx(3 / 7)
    assert (score.mean_input_tokens, score.mean_output_tokens) == (1000, 40)
    # 6 calls x (1000 x $1 + 40 x $10) / 1M = $0.0084 over 7 records -> $1.20 per 1k
    assert score.usd_total == pytest.approx(0.0084)
    assert score.usd_per_1k == pytest.approx(0.0084 / 7 * 1000)
    assert score.batch_usd_per_1k == pytest.approx(score.usd_per_1k / 2)
    # the compact prompt: each call's 1000 tokens less the two system prompts' difference
    from langchain_perceived_error.bench.scoring import COMPACT_SAVING_PER_CALL

    assert 300 < COMPACT_SAVING_PER_CALL < 1000
    assert score.compact_mean_input_tokens == 1000 - COMPACT_SAVING_PER_CALL
    compact_usd = 6 * ((1000 - COMPACT_SAVING_PER_CALL) * 1 + 40 * 10) / 1e6
    assert score.compact_usd_per_1k == pytest.approx(compact_usd / 7 * 1000)
    assert score.model_calls == 6
    assert score.cache_hits == 0
    assert score.latency_p50_s >= 0.02
    assert score.latency_p95_s >= score.latency_p50_s


def test_a_compact_prompt_run_measures_the_compact_columns_without_subtracting_again(data_file):
    from langchain_perceived_error.bench.scoring import COMPACT_SAVING_PER_CALL

    items, _ = load_labelled(data_file, MAPPING)
    scores = {}
    for prompt in ("full", "compact"):
        settings = BenchSettings(concurrency=4, resamples=200, prompt=prompt)
        model = KeywordModel(usage=(300, 40))  # what a compact-prompt call reports
        judges = build_judges([model], settings=settings, transport_retry=FAST_RETRY)
        (run,) = run_benchmark(items, judges, settings=settings)
        assert run.prompt == prompt
        scores[prompt] = score_run(run, prices=PRICES, settings=settings)
    compact, full = scores["compact"], scores["full"]
    # compact run: 6 calls x (300 x $1 + 40 x $10) / 1M = $0.0042 over 7 records; measured, so
    # the compact columns are the measured figures, not 300 less the prompts' difference again
    assert compact.compact_measured
    assert not full.compact_measured
    assert compact.mean_input_tokens == compact.compact_mean_input_tokens == 300
    assert compact.usd_per_1k == pytest.approx(0.0042 / 7 * 1000)
    assert compact.compact_usd_per_1k == pytest.approx(0.0042 / 7 * 1000)
    # the same reported usage from a full-prompt run is estimated down (floored at 0)
    assert COMPACT_SAVING_PER_CALL > 300
    assert full.compact_mean_input_tokens == 0
    assert full.compact_usd_per_1k == pytest.approx(6 * 40 * 10 / 1e6 / 7 * 1000)


def test_build_judges_takes_the_prompt_from_the_settings_only():
    with pytest.raises(TypeError, match="BenchSettings"):
        build_judges(["rules"], prompt="compact")
    ((_, judge),) = build_judges(["rules"], settings=BenchSettings(prompt="compact"))
    assert judge.prompt == "compact"


def test_a_cascade_of_two_prompts_estimates_no_compact_columns(data_file):
    from langchain_perceived_error.bench.cascade import compare_cascade

    items, _ = load_labelled(data_file, MAPPING)
    runs = []
    for prompt in ("full", "compact"):
        settings = BenchSettings(resamples=50, prompt=prompt)
        runs += run_benchmark(items, build_judges([KeywordModel()], settings=settings))
    comparison = compare_cascade(*runs, prices=PRICES, settings=settings)
    alone_full, alone_compact, mixed = (row.score for row in comparison.rows)
    assert (alone_full.prompt, alone_compact.prompt, mixed.prompt) == ("full", "compact", None)
    assert alone_compact.compact_mean_input_tokens == 1000  # measured
    assert (mixed.compact_mean_input_tokens, mixed.compact_usd_per_1k) == (None, None)


def test_failures_count_as_wrong_end_to_end(data_file):
    items, _ = load_labelled(data_file, MAPPING)
    model = ScriptedChatModel(script=["not json at all"])
    _, score = bench(items, model)
    assert (score.judged, score.skipped, score.failed) == (0, 1, 6)
    assert score.metrics["accuracy"].value is None
    assert score.e2e_accuracy.value == pytest.approx(1 / 7)  # only the skipped negative
    assert score.model_calls == 6 * 3  # every format retry is a call


def test_cache_rerun_makes_no_calls_and_repeats_every_number(data_file, tmp_path):
    items, _ = load_labelled(data_file, MAPPING)
    first_model = KeywordModel(delay_s=0.03)
    _, first = bench(items, first_model, cache=DiskCache(tmp_path / "cache"))
    second_model = KeywordModel(delay_s=0.03)
    _, second = bench(items, second_model, cache=DiskCache(tmp_path / "cache"))
    assert (first_model.calls, second_model.calls) == (6, 0)
    assert (second.model_calls, second.cache_hits) == (0, 6)
    for field in ("matrix", "metrics", "e2e_accuracy", "usd_per_1k", "mean_input_tokens"):
        assert getattr(first, field) == getattr(second, field), field
    # latency of a hit is the original call's, not the microseconds the lookup took
    assert second.latency_p50_s == pytest.approx(first.latency_p50_s)
    assert second.latency_p50_s >= 0.03


def test_run_benchmark_refuses_a_running_loop(data_file):
    items, _ = load_labelled(data_file, MAPPING)
    judges = build_judges(["rules"])

    async def inside():
        with pytest.raises(RuntimeError, match="await arun_benchmark"):
            run_benchmark(items, judges)
        return await arun_benchmark(items, judges)

    (run,) = asyncio.run(inside())
    assert len(run.outcomes) == 7


# -- reports ---------------------------------------------------------------------------------------


def make_report(data_file):
    items, summary = load_labelled(data_file, MAPPING)
    settings = BenchSettings(resamples=100)
    judges = build_judges(["rules", KeywordModel()], settings=settings)
    runs = run_benchmark(items, judges, settings=settings)
    scores = [score_run(r, prices=PRICES, settings=settings) for r in runs]
    return BenchReport(data=summary, settings=settings, runs=runs, scores=scores)


def test_report_files_exist_and_parse(data_file, tmp_path):
    pytest.importorskip("matplotlib", reason="PNG charts need the optional matplotlib ('bench')")
    report = make_report(data_file)
    written, skipped = write_report(report, tmp_path / "out")
    assert skipped is None
    names = sorted(p.name for p in written)
    assert names == [
        "confusion_keyword-judge.png",
        "confusion_rules.png",
        "cost_vs_accuracy.png",
        "precision_recall.png",  # issue 16: rules gives a confidence (KeywordModel none)
        "predictions.jsonl",
        "reliability.png",
        "report.json",
        "report.md",
    ]
    for png in (p for p in written if p.suffix == ".png"):
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["data"]["used"] == 7
    assert data["data"]["null_label_dropped"] == 1
    assert [m["spec"] for m in data["models"]] == ["rules", "keyword-judge"]
    keyword = data["models"][1]
    assert keyword["confusion"] == {"tp": 2, "fp": 1, "fn": 1, "tn": 2}
    assert keyword["metrics"]["accuracy"]["value"] == pytest.approx(4 / 6)
    assert keyword["cost"]["usd_per_1k"] == pytest.approx(1.2)
    assert data["models"][0]["price"] is None
    lines = (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 14
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "| keyword-judge | 6 | 0.667" in markdown
    assert "rules: no known price (n/a)" in markdown


def test_charts_are_skipped_with_a_hint_without_matplotlib(data_file, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    written, skipped = write_report(make_report(data_file), tmp_path / "out")
    assert skipped is not None
    assert "langchain-perceived-error[bench]" in skipped
    assert {p.name for p in written} == {"report.json", "report.md", "predictions.jsonl"}
    with pytest.raises(report_module.ChartsUnavailableError):
        report_module.write_charts([], tmp_path)


def test_table_has_one_column_per_model(data_file):
    table = bench_table(make_report(data_file).scores)
    assert [c.header for c in table.columns] == ["", "rules", "keyword-judge"]
    assert [c for c in table.columns[0].cells][:2] == ["judged", "accuracy"]


@pytest.mark.parametrize("width", [80, 100])
def test_table_is_legible_on_an_ordinary_terminal(data_file, width):
    # issue 10: at 100 columns every figure of the 17-column table was cut to `0.…`
    scores = make_report(data_file).scores
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(bench_table(scores, title="perceived-error bench"))
    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    for score in scores:
        accuracy = score.metrics["accuracy"]
        assert f"{accuracy.value:.3f}" in text
        assert f"[{accuracy.low:.3f}, {accuracy.high:.3f}]" in text


# -- the command -----------------------------------------------------------------------------------


def test_bench_command_offline(data_file, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "bench", str(data_file), "--model", "rules", "--label-field", "label",
            "--slice", "src=a", "--report", str(tmp_path / "rep"), "--resamples", "50",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "rules" in result.stdout
    assert "3 labelled records" in result.stdout
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert data["data"]["slices"] == {"src": ["a"]}
    assert data["models"][0]["counts"] == {"labelled": 3, "judged": 3, "skipped": 0, "failed": 0}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--model", "nope"], 2, "unknown model spec"),
        (["--model", "rules", "--slice", "bad"], 2, "FIELD=VALUE"),
        (["--model", "rules", "--slice", "src=zzz"], 1, "no labelled records"),
        (["--model", "rules", "--label-field", "missing"], 1, "has no 'missing' field"),
    ],
)
def test_bench_command_errors(data_file, args, code, message):
    result = CliRunner().invoke(app, ["bench", str(data_file), "--label-field", "label", *args])
    assert result.exit_code == code
    assert message in result.output


# -- calibration (issue 16) ----------------------------------------------------------------------


def test_calibration_is_scored_for_judges_that_give_a_confidence(data_file, tmp_path):
    report = make_report(data_file)
    rules, keyword = report.scores
    assert keyword.calibration is None  # no confidence given: none invented
    calibration = rules.calibration
    assert calibration is not None
    assert calibration.items == rules.judged == 6
    assert calibration.without_confidence == 0
    assert calibration.brier.value is not None
    assert calibration.brier.low is not None
    assert calibration.brier.low <= calibration.brier.value <= calibration.brier.high
    outcomes = report.runs[0].outcomes
    confidences = [o.confidence for o in outcomes if o.status is JudgeStatus.JUDGED]
    assert all(c is not None for c in confidences)
    flagged = [o for o in outcomes if o.predicted]
    assert all(o.evidence_turn == 2 for o in flagged)
    write_report(report, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["models"][1]["calibration"] is None
    assert data["models"][0]["calibration"]["items"] == 6
    assert len(data["models"][0]["calibration"]["bins"]) == 10
    text = (tmp_path / "out" / "predictions.jsonl").read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert {line["confidence"] for line in lines if line["model"] == "keyword-judge"} == {None}
    assert None not in {
        line["confidence"] for line in lines if line["model"] == "rules" and line["predicted"]
    }
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "keyword-judge: no confidence given" in markdown
    assert "rules: 6 records with a confidence (0 without)" in markdown


def test_bench_command_reports_the_target_precision_threshold(data_file, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "bench", str(data_file), "--model", "rules", "--label-field", "label",
            "--resamples", "50", "--target-precision", "0.5", "--format", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    calibration = json.loads(result.stdout)["models"][0]["calibration"]
    assert calibration["target_precision"] == 0.5
    threshold = calibration["threshold"]
    assert threshold is not None
    assert threshold["precision"] >= 0.5
    # the lowest threshold reaching it: every lower point of the curve is below the target
    lower = [p for p in calibration["precision_recall"] if p["threshold"] < threshold["threshold"]]
    assert all(p["precision"] < 0.5 for p in lower)
    refused = CliRunner().invoke(
        app, ["bench", str(data_file), "--model", "rules", "--target-precision", "0"]
    )
    assert refused.exit_code == 2
    assert "--target-precision must be above 0" in refused.output


def test_bench_format_md_prints_report_md_unwrapped_on_a_narrow_terminal(
    data_file, tmp_path, monkeypatch
):
    # a terminal of 60 columns: the Markdown table rows (200+ characters) must stay one line each
    monkeypatch.setattr(
        "langchain_perceived_error.cli.bench.result_console",
        lambda: Console(file=sys.stdout, width=60),
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "bench", str(data_file), "--model", "rules", "--label-field", "label",
            "--resamples", "50", "--format", "md", "--report", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = (out / "report.md").read_text(encoding="utf-8")
    assert max(len(line) for line in written.splitlines()) > 60
    assert result.stdout.strip() == written.strip()
