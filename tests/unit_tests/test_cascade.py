"""The cascade (issue 16.5): thresholds chosen on labels, the CascadeJudge's routing, the bench
comparison with each judge alone, and the ``--cascade`` options of judge and bench."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from langchain_perceived_error.bench.cascade import (
    cascade_outcomes,
    compare_cascade,
    split_records,
    thresholds_text,
)
from langchain_perceived_error.bench.data import FieldMapping, load_labelled
from langchain_perceived_error.bench.pricing import ModelPrice
from langchain_perceived_error.bench.runner import (
    BenchSettings,
    ItemOutcome,
    ModelRun,
    build_judges,
    run_benchmark,
)
from langchain_perceived_error.cli import app
from langchain_perceived_error.core.prompts import PROMPT_VERSIONS
from langchain_perceived_error.core.schemas import JudgeStatus
from langchain_perceived_error.judge.cascade import (
    CascadeJudge,
    CascadeThresholds,
    CascadeThresholdsError,
    choose_thresholds,
)
from langchain_perceived_error.judge.runner import PerceivedErrorJudge
from tests.fakes import ScriptedChatModel

SAMPLE = Path(__file__).resolve().parents[2] / "cookbook" / "data" / "sample_traces.jsonl"
JUDGED = JudgeStatus.JUDGED
NOT_AN_ERROR = '{"perceived_error": false, "reason": "The user is satisfied."}'
FLAGGED = [("user", "book Tuesday"), ("ai", "Booked Wednesday."), ("user", "No, I said Tuesday.")]
CLEAN = [("user", "Capital of France?"), ("ai", "Paris."), ("user", "Thanks! How big is it?")]
SINGLE = [("user", "Hi"), ("ai", "Hello!")]


def _thresholds(above: float | None, below: float | None) -> CascadeThresholds:
    return CascadeThresholds(
        cheap="rules",
        expensive="scripted",
        settle_above=above,
        settle_below=below,
        target_accuracy=0.9,
        min_settled=1,
    )


# -- choosing thresholds on labels ---------------------------------------------------------------


def test_each_side_gets_the_widest_range_that_reaches_the_target():
    outcomes = [
        # flagged: 0.9 x4 all right, 0.7 x2 one wrong (5/6 = 0.83), 0.6 x2 both wrong
        *[(JUDGED, True, 0.9, True)] * 4,
        (JUDGED, True, 0.7, True),
        (JUDGED, True, 0.7, False),
        *[(JUDGED, True, 0.6, False)] * 2,
        # unflagged: 0.01 x9 right, 0.2 x1 wrong -> 9/10 = 0.9 reaches 0.9 only with 0.2 included
        *[(JUDGED, False, 0.01, False)] * 9,
        (JUDGED, False, 0.2, True),
        (JUDGED, False, 0.4, True),  # 9/11 = 0.82: past the target
        (JudgeStatus.SKIPPED, None, None, False),  # not a candidate on either side
        (JUDGED, True, None, True),  # no confidence: not a candidate
    ]
    chosen = choose_thresholds(
        outcomes, cheap="rules", expensive="x", target_accuracy=0.8, min_settled=3
    )
    assert chosen.settle_above == 0.7  # 5/6 >= 0.8; adding 0.6 gives 5/8
    assert chosen.positive is not None
    assert (chosen.positive.settled, chosen.positive.correct) == (6, 5)
    assert chosen.settle_below == 0.4  # 9/11 = 0.818 >= 0.8
    strict = choose_thresholds(
        outcomes, cheap="rules", expensive="x", target_accuracy=0.9, min_settled=3
    )
    assert strict.settle_above == 0.9
    assert strict.settle_below == 0.2
    none = choose_thresholds(
        outcomes, cheap="rules", expensive="x", target_accuracy=1.0, min_settled=5
    )
    assert none.settle_above is None  # only 4 records at 1.0 accuracy: under min_settled
    assert none.settle_below == 0.01
    with pytest.raises(ValueError, match="target_accuracy"):
        choose_thresholds(outcomes, cheap="a", expensive="b", target_accuracy=0.0)


def test_what_settles():
    t = _thresholds(0.8, 0.1)
    assert t.settles(PerceivedErrorJudge("rules").judge(SINGLE))  # skipped stands
    cases = {
        (JUDGED, True, 0.85): True,
        (JUDGED, True, 0.7): False,
        (JUDGED, False, 0.05): True,
        (JUDGED, False, 0.3): False,
        (JUDGED, False, 0.9): False,  # a verdict on the other side of its confidence
        (JUDGED, True, 0.05): False,
        (JUDGED, True, None): False,  # no confidence: never settled
        (JudgeStatus.FAILED, None, None): False,
    }
    from langchain_perceived_error.judge.cascade import settles

    assert {case: settles(t, *case) for case in cases} == cases
    never = _thresholds(None, None)
    assert not settles(never, JUDGED, True, 1.0)
    assert not settles(never, JUDGED, False, 0.0)


def test_a_side_that_settles_nothing_reads_never():
    assert thresholds_text(_thresholds(None, 0.0144)) == (
        "settle flagged at confidence >= never, unflagged at <= 0.0144"
    )
    assert thresholds_text(_thresholds(0.8, None)) == (
        "settle flagged at confidence >= 0.8, unflagged at <= never"
    )


def test_thresholds_file_round_trip_and_clear_errors(tmp_path: Path):
    path = tmp_path / "cascade.json"
    t = _thresholds(None, 0.0144)
    t.save(path)
    assert CascadeThresholds.load(path) == t
    with pytest.raises(CascadeThresholdsError, match="chosen for rules,scripted, not rules,other"):
        t.check_judges("rules", "other")
    t.check_prompt(PROMPT_VERSIONS["compact"])  # the rules judge reads no prompt
    chosen = {"prompt_version": PROMPT_VERSIONS["compact"]}
    model_cheap = t.model_copy(update={"cheap": SPEC, "expensive": "rules", "chosen_on": chosen})
    model_cheap.check_prompt(PROMPT_VERSIONS["compact"])
    with pytest.raises(
        CascadeThresholdsError, match=f"chosen with the prompt {chosen['prompt_version']}"
    ):
        model_cheap.check_prompt(PROMPT_VERSIONS["full"])
    model_cheap.model_copy(update={"chosen_on": {}}).check_prompt(PROMPT_VERSIONS["full"])
    path.write_text('{"cheap": "rules"}')
    with pytest.raises(CascadeThresholdsError, match="not a cascade thresholds file: expensive"):
        CascadeThresholds.load(path)
    path.write_text("{not json")
    with pytest.raises(CascadeThresholdsError, match="cannot read cascade thresholds"):
        CascadeThresholds.load(path)


# -- the CascadeJudge ----------------------------------------------------------------------------


def test_a_cascade_refuses_thresholds_chosen_with_another_prompt_than_its_cheap_model_sends():
    chosen = {"prompt_version": PROMPT_VERSIONS["full"]}
    thresholds = _thresholds(None, 0.02).model_copy(
        update={"cheap": "scripted-cheap", "chosen_on": chosen}
    )
    expensive = PerceivedErrorJudge(ScriptedChatModel(script=[NOT_AN_ERROR]))
    compact = PerceivedErrorJudge(ScriptedChatModel(script=[NOT_AN_ERROR]), prompt="compact")
    with pytest.raises(CascadeThresholdsError, match="chosen with the prompt perceived-error-v1"):
        CascadeJudge(compact, expensive, thresholds)
    full = PerceivedErrorJudge(ScriptedChatModel(script=[NOT_AN_ERROR]))
    assert CascadeJudge(full, expensive, thresholds).thresholds is thresholds


def _cascade(above: float | None = None, below: float | None = 0.02) -> CascadeJudge:
    expensive = PerceivedErrorJudge(ScriptedChatModel(script=[NOT_AN_ERROR]))
    return CascadeJudge(PerceivedErrorJudge("rules"), expensive, _thresholds(above, below))


def test_the_cheap_judge_settles_what_it_is_sure_of_and_escalates_the_rest():
    judge = _cascade()
    expensive_model = judge.expensive.model
    assert isinstance(expensive_model, ScriptedChatModel)
    clean, flagged, single = judge.batch([CLEAN, FLAGGED, SINGLE])
    assert (clean.model, clean.perceived_error) == ("rules", False)  # confidence 0.0144
    assert clean.confidence is not None
    assert clean.confidence <= 0.02
    assert (flagged.model, flagged.perceived_error) == ("scripted", False)  # rules said True
    assert single.status is JudgeStatus.SKIPPED
    assert single.model == "rules"
    assert len(expensive_model.calls) == 1  # only the flagged record reached it
    assert judge.model_name == "cascade(rules -> scripted)"
    # a batch per graph run (what sync judge_many runs per thread) routes the same way
    batched = judge.judge_batch([CLEAN, FLAGGED, SINGLE])
    assert [(r.model, r.perceived_error) for r in batched] == [
        ("rules", False),
        ("scripted", False),
        ("rules", None),
    ]
    assert len(expensive_model.calls) == 2


async def test_the_async_cascade_routes_the_same_way():
    judge = _cascade(above=0.5)  # rules' 0.72 on a correction now settles it
    flagged = await judge.ajudge(FLAGGED)
    assert (flagged.model, flagged.perceived_error) == ("rules", True)
    results = [r async for r in judge.ajudge_many([CLEAN, FLAGGED], concurrency=2)]
    assert [r.model for r in results] == ["rules", "rules"]
    expensive_model = judge.expensive.model
    assert isinstance(expensive_model, ScriptedChatModel)
    assert expensive_model.calls == []


async def test_the_batched_async_cascade_escalates_only_what_the_cheap_judge_leaves():
    judge = _cascade()  # as in the sync test: the correction (0.72) goes to the expensive judge
    results = [r async for r in judge.ajudge_many([CLEAN, FLAGGED, SINGLE], concurrency=3)]
    assert [(r.model, r.perceived_error) for r in results] == [
        ("rules", False),
        ("scripted", False),
        ("rules", None),
    ]
    expensive_model = judge.expensive.model
    assert isinstance(expensive_model, ScriptedChatModel)
    assert len(expensive_model.calls) == 1  # one batch through each graph, one escalated trace


# -- the bench comparison ------------------------------------------------------------------------


def _outcome(i: int, label: bool, predicted: bool | None, confidence: float | None, **kw):
    status = kw.pop("status", JUDGED)
    return ItemOutcome(
        id=f"r{i}",
        label=label,
        status=status,
        predicted=predicted,
        reason=None,
        input_tokens=kw.get("input_tokens"),
        output_tokens=kw.get("output_tokens"),
        cached_input_tokens=0,
        model_calls=1 if kw.get("input_tokens") else 0,
        cache_hits=0,
        model_latency_s=None,
        confidence=confidence,
    )


def test_compare_cascade_on_given_thresholds_counts_accuracy_cost_and_share():
    labels = [True, False, False, True, False]
    cheap = ModelRun(
        "rules",
        "rules",
        [
            _outcome(0, True, True, 0.9),  # settled, right
            _outcome(1, False, False, 0.01),  # settled, right
            _outcome(2, False, True, 0.6),  # escalated
            _outcome(3, True, False, 0.3),  # escalated
            _outcome(4, False, None, None, status=JudgeStatus.SKIPPED),  # skipped: stands
        ],
    )
    tokens = {"input_tokens": 1_000_000, "output_tokens": 0}
    expensive = ModelRun(
        "big",
        "big-model",
        [
            _outcome(0, True, False, None, **tokens),  # wrong, but never used
            _outcome(1, False, False, None, **tokens),
            _outcome(2, False, False, None, **tokens),  # right
            _outcome(3, True, True, None, **tokens),  # right
            _outcome(4, False, None, None, status=JudgeStatus.SKIPPED),
        ],
    )
    prices = {
        "big-model": ModelPrice(input=2.0, output=0.0, source="test", as_of="2026-01"),
        "rules": ModelPrice(input=0.0, output=0.0, source="offline", as_of="2026-01"),
    }
    thresholds = _thresholds(0.8, 0.05)
    kept, escalated = cascade_outcomes(cheap.outcomes, expensive.outcomes, thresholds)
    assert escalated == [False, False, True, True, False]
    assert [o.predicted for o in kept] == [True, False, False, True, None]
    comparison = compare_cascade(
        cheap, expensive, thresholds=thresholds, prices=prices, settings=BenchSettings(resamples=50)
    )
    rows = {row.name: row for row in comparison.rows}
    assert set(rows) == {"rules alone", "big alone", "cascade rules -> big"}
    cascade = rows["cascade rules -> big"]
    assert cascade.score.metrics["accuracy"].value == 1.0
    assert rows["rules alone"].score.metrics["accuracy"].value == 0.5
    assert rows["big alone"].score.metrics["accuracy"].value == 0.75
    assert [o.label for o in cheap.outcomes] == labels
    # rules is free; the big model costs $2 per record it judges
    assert rows["big alone"].usd_per_1k == pytest.approx(4 * 2.0 / 5 * 1000)
    assert cascade.usd_per_1k == pytest.approx(2 * 2.0 / 5 * 1000)
    assert (cascade.reached_expensive, rows["big alone"].reached_expensive) == (0.4, 0.8)
    assert rows["rules alone"].reached_expensive == 0.0
    assert rows["rules alone"].usd_per_1k == 0.0
    unpriced = compare_cascade(cheap, expensive, thresholds=thresholds, prices={}, settings=None)
    assert [row.usd_per_1k for row in unpriced.rows] == [None, None, None]  # n/a, never $0
    assert comparison.calibration_records == 0
    assert comparison.scored_records == 5
    with pytest.raises(ValueError, match="same records"):
        cascade_outcomes(cheap.outcomes, expensive.outcomes[::-1], thresholds)


def test_split_is_by_id_hash_and_reproducible():
    ids = [f"item-{i}" for i in range(400)]
    first, rest = split_records(ids, 0.5)
    assert split_records(list(reversed(ids)), 0.5) == (first, rest)
    assert first.isdisjoint(rest)
    assert first | rest == set(ids)
    assert 150 < len(first) < 250
    with pytest.raises(ValueError, match="calibration_share"):
        split_records(ids, 1.0)


def test_the_bench_composition_matches_the_cascade_judge_record_by_record():
    items, _ = load_labelled(SAMPLE, FieldMapping(label_field="expected_perceived_error"))
    expensive_model = ScriptedChatModel(script=[NOT_AN_ERROR])
    settings = BenchSettings(resamples=20)
    judges = build_judges(["rules", expensive_model], settings=settings)
    cheap_run, expensive_run = run_benchmark(items, judges, settings=settings)
    thresholds = _thresholds(0.9, 0.02)
    kept, escalated = cascade_outcomes(cheap_run.outcomes, expensive_run.outcomes, thresholds)
    judge = CascadeJudge(judges[0][1], judges[1][1], thresholds)
    results = judge.batch([item.payload for item in items])
    assert [r.perceived_error for r in results] == [o.predicted for o in kept]
    assert [r.model == "scripted" for r in results] == escalated
    assert 0 < sum(escalated) < len(items)


# -- the command line ----------------------------------------------------------------------------


SPEC = "fireworks:accounts/fireworks/models/gpt-oss-20b"


@pytest.fixture
def fireworks_says_no(fireworks_server, monkeypatch):
    """The local Fireworks, answering "no perceived error" to every judge request."""
    monkeypatch.setenv("FIREWORKS_API_KEY", "fw-local-test")
    monkeypatch.setenv("FIREWORKS_API_BASE", fireworks_server.inference_url)
    fireworks_server.responder = lambda body: NOT_AN_ERROR
    return fireworks_server


def test_bench_cascade_then_judge_with_its_thresholds(fireworks_says_no, tmp_path: Path):
    report = tmp_path / "report"
    bench = CliRunner().invoke(
        app,
        [
            "bench",
            str(SAMPLE),
            "--cascade",
            f"rules,{SPEC}",
            "--label-field",
            "expected_perceived_error",
            "--cascade-min-settled",
            "3",
            "--resamples",
            "50",
            "--report",
            str(report),
        ],
    )
    assert bench.exit_code == 0, bench.output
    assert f"cascade rules -> {SPEC}" in bench.stdout
    assert "reached expensive" in bench.stdout
    thresholds = CascadeThresholds.load(report / "cascade.json")
    assert (thresholds.cheap, thresholds.expensive) == ("rules", SPEC)
    assert thresholds.chosen_on["label_field"] == "expected_perceived_error"
    comparison = json.loads((report / "cascade_comparison.json").read_text())
    shares = [row["reached_expensive"] for row in comparison["rows"]]
    assert shares[0] == 0.0
    assert shares[2] <= shares[1]
    again = CliRunner().invoke(
        app,
        [
            "bench",
            str(SAMPLE),
            "--cascade",
            f"rules,{SPEC}",
            "--cascade-thresholds",
            str(report / "cascade.json"),
            "--label-field",
            "expected_perceived_error",
            "--resamples",
            "20",
            "--format",
            "json",
        ],
    )
    assert again.exit_code == 0, again.output
    printed = json.loads(again.stdout)
    given = printed["cascade"]
    assert given["calibration_records"] == 0
    data = printed["data"]
    labelled = data["records"] - data["null_label_dropped"]
    assert given["scored_records"] == labelled == 52  # a given file: every record is scored
    assert given["thresholds"]["settle_below"] == thresholds.settle_below
    calls_before = len(fireworks_says_no.calls("POST", "chat/completions"))

    out = tmp_path / "out.jsonl"
    judged = CliRunner().invoke(
        app,
        [
            "judge",
            str(SAMPLE),
            "--cascade",
            f"rules,{SPEC}",
            "--cascade-thresholds",
            str(report / "cascade.json"),
            "-o",
            str(out),
        ],
    )
    assert judged.exit_code == 0, judged.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    models = {line["model"] for line in lines}
    escalated = [line for line in lines if line["model"] != "rules"]
    assert models <= {"rules", "accounts/fireworks/models/gpt-oss-20b"}
    calls = len(fireworks_says_no.calls("POST", "chat/completions")) - calls_before
    assert calls == len(escalated)
    assert all(line["perceived_error"] is False for line in escalated)
    assert "estimated cost" in judged.output
    assert "n/a (no known price)" not in judged.output  # both judges are priced


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cascade", "rules"], "--cascade takes CHEAP,EXPENSIVE"),
        (["--cascade", "rules,rules"], "two different judges"),
        (["--cascade", f"rules,{SPEC}"], "needs --cascade-thresholds FILE"),
        (["--cascade", f"rules,{SPEC}", "-m", "rules"], "either --model or --cascade"),
        (["--cascade-thresholds", "x.json"], "needs --cascade"),
        (["--cascade", f"rules,{SPEC}", "--cascade-thresholds", "{other}"], "chosen for rules,x"),
        (["--cascade", f"rules,{SPEC}", "--cascade-thresholds", "{missing}"], "cannot read"),
        (
            ["--cascade", f"{SPEC},rules", "--cascade-thresholds", "{compact}"],
            "chosen with the prompt perceived-error-compact",
        ),
    ],
)
def test_judge_cascade_misuse_exits_2(
    fireworks_says_no, tmp_path: Path, args: list[str], message: str
):
    other = tmp_path / "other.json"
    CascadeThresholds(cheap="rules", expensive="x", target_accuracy=0.9, min_settled=1).save(other)
    compact = tmp_path / "compact.json"
    CascadeThresholds(
        cheap=SPEC,
        expensive="rules",
        target_accuracy=0.9,
        min_settled=1,
        chosen_on={"prompt_version": PROMPT_VERSIONS["compact"]},
    ).save(compact)
    argv = [
        a.replace("{other}", str(other))
        .replace("{missing}", str(tmp_path / "nope.json"))
        .replace("{compact}", str(compact))
        for a in args
    ]
    answer = CliRunner().invoke(app, ["judge", str(SAMPLE), *argv])
    assert answer.exit_code == 2, answer.output
    assert message in answer.output
    assert fireworks_says_no.calls("POST", "chat/completions") == []


def test_watch_runs_the_cascade(fireworks_says_no, langsmith_server, tmp_path: Path):
    from tests.fixtures.conversation_runs import post_conversation_runs

    runs = post_conversation_runs(langsmith_server, "cascade-watch", 6)
    thresholds = tmp_path / "cascade.json"
    CascadeThresholds(
        cheap="rules", expensive=SPEC, settle_below=0.02, target_accuracy=0.9, min_settled=1
    ).save(thresholds)
    env = {"LANGSMITH_API_KEY": "lsv2-test-key", "LANGSMITH_ENDPOINT": langsmith_server.url}
    args = ["watch", "--project", "cascade-watch", "--runs", "--once", "--idle", "0"]
    answer = CliRunner().invoke(
        app,
        [
            *args,
            "--state",
            str(tmp_path / "state.json"),
            "--cascade",
            f"rules,{SPEC}",
            "--cascade-thresholds",
            str(thresholds),
        ],
        env=env,
    )
    assert answer.exit_code == 0, answer.output
    scores = {str(f["run_id"]): f["score"] for f in langsmith_server.feedback}
    assert set(scores) == {r.run_id for r in runs}
    # rules flags the corrections (0.72: not settled), so the local Fireworks judged them: "no"
    assert set(scores.values()) == {0}
    flagged_by_rules = sum(r.flagged for r in runs)
    assert len(fireworks_says_no.calls("POST", "chat/completions")) == flagged_by_rules


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give at least one --model (or --cascade CHEAP,EXPENSIVE)"),
        (["-m", "rules", "--cascade-thresholds", "x.json"], "needs --cascade"),
        (["--cascade", "rules,"], "--cascade takes CHEAP,EXPENSIVE"),
    ],
)
def test_bench_cascade_misuse_exits_2(args: list[str], message: str):
    answer = CliRunner().invoke(app, ["bench", str(SAMPLE), *args])
    assert answer.exit_code == 2, answer.output
    assert message in answer.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cascade", "rules"], "--cascade takes CHEAP,EXPENSIVE"),
        (["--cascade", f"rules,{SPEC}", "-m", "rules"], "either --model or --cascade"),
        (["--cascade-thresholds", "x.json"], "needs --cascade"),
        (["--cascade", f"rules,{SPEC}"], "needs --cascade-thresholds FILE"),
    ],
)
def test_watch_cascade_misuse_exits_2(langsmith_server, args: list[str], message: str):
    env = {"LANGSMITH_API_KEY": "lsv2-test-key", "LANGSMITH_ENDPOINT": langsmith_server.url}
    answer = CliRunner().invoke(app, ["watch", "--project", "p", "--once", *args], env=env)
    assert answer.exit_code == 2, answer.output
    assert message in answer.output
