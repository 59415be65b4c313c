"""The three offline-experiment uses, through the real langsmith evaluate()/aevaluate()."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langsmith import aevaluate, evaluate
from langsmith.schemas import Example
from openevals.simulators import (
    create_llm_simulated_user,
    run_multiturn_simulation,
    run_multiturn_simulation_async,
)

from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus
from langchain_perceived_error.core.transcript import TranscriptError
from langchain_perceived_error.evaluation.evaluators import (
    PerceivedErrorEvaluator,
    create_async_perceived_error_evaluator,
    create_perceived_error_evaluator,
)
from langchain_perceived_error.evaluation.examples import (
    conversation_examples,
    conversation_messages,
    labelled_examples,
    push_examples,
)
from langchain_perceived_error.evaluation.label_experiments import (
    LabelScore,
    arun_label_experiments,
    label_match,
    label_match_evaluator,
    label_scores,
    run_label_experiments,
)
from langchain_perceived_error.evaluation.simulation import (
    asimulation_target,
    simulation_record,
    simulation_target,
)
from langchain_perceived_error.evaluation.targets import (
    ajudge_target,
    areplay_target,
    judge_output,
    judge_target,
    replay_target,
)
from langchain_perceived_error.judge.runner import PerceivedErrorJudge
from tests.fakes import ScriptedChatModel

CORRECTED = [
    {"role": "user", "content": "Move my 1:1 with Sam to Tuesday."},
    {"role": "assistant", "content": "Done, it's now on Wednesday at 10:00."},
    {"role": "user", "content": "No, I said Tuesday."},
]
THANKED = [
    ("user", "Move my 1:1 with Sam to Tuesday."),
    ("assistant", "Done, it's now on Tuesday at 10:00."),
    ("user", "Great, thanks!"),
]
SINGLE_TURN = [HumanMessage("Hi!"), AIMessage("Hello, how can I help?")]
CLEAN_JSON = '{"perceived_error": false, "reason": "Nothing went wrong."}'


def first_score(row: dict[str, Any], key: str = "perceived_error") -> Any:
    return next(r.score for r in row["evaluation_results"]["results"] if r.key == key)


def by_record_id(rows: list[Any]) -> dict[str, Any]:
    return {row["example"].metadata["record_id"]: row for row in rows}


# -- a. recorded conversations ---------------------------------------------------------------------


def test_conversation_examples_read_any_shape_and_keep_ids():
    examples = conversation_examples(
        [
            {"id": "openai", "messages": CORRECTED},
            THANKED,
            {"messages": SINGLE_TURN},  # a LangGraph state
            {"inputs": {"question": "2+2?"}, "outputs": {"answer": "4"}},  # a LangSmith run
        ],
        metadata={"source": "test"},
    )
    assert [e.inputs["messages"] for e in examples] == [
        CORRECTED,
        [{"role": "user" if r == "user" else "assistant", "content": t} for r, t in THANKED],
        [
            {"role": "user", "content": "Hi!"},
            {"role": "assistant", "content": "Hello, how can I help?"},
        ],
        [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
    ]
    assert examples[0].metadata == {"source": "test", "record_id": "openai"}
    assert examples[1].metadata == {"source": "test"}
    assert all(e.outputs is None for e in examples)
    assert len({e.id for e in examples}) == 4


def test_conversation_examples_name_the_conversation_they_cannot_read():
    with pytest.raises(TranscriptError, match=r"conversation 1 \(id 'bad'\)"):
        conversation_examples([CORRECTED, {"id": "bad", "weird": 1}])


def test_replay_targets_return_the_recorded_conversation():
    assert replay_target({"messages": CORRECTED}) == {"messages": CORRECTED}
    with pytest.raises(TypeError, match="'messages' list"):
        replay_target({"question": "hi"})


async def test_areplay_target():
    assert await areplay_target({"messages": CORRECTED}) == {"messages": CORRECTED}


RECORDED = [
    {"id": "corrected", "messages": CORRECTED},
    {"id": "thanked", "messages": THANKED},
    {"id": "single", "messages": SINGLE_TURN},
]


def test_evaluate_replays_recorded_conversations_with_zero_requests(langsmith_server):
    results = evaluate(
        replay_target,
        data=conversation_examples(RECORDED),
        evaluators=[PerceivedErrorEvaluator("rules")],
        client=langsmith_server.client(),
        upload_results=False,
    )
    rows = by_record_id(list(results))
    assert {k: first_score(r) for k, r in rows.items()} == {
        "corrected": 1,
        "thanked": 0,
        "single": None,
    }
    assert langsmith_server.requests == []


async def test_aevaluate_replays_recorded_conversations_with_zero_requests(langsmith_server):
    results = await aevaluate(
        areplay_target,
        data=conversation_examples(RECORDED),
        evaluators=[PerceivedErrorEvaluator("rules")],
        client=langsmith_server.client(tracing_sampling_rate=0.0),
        upload_results=False,
    )
    rows = by_record_id([row async for row in results])
    assert {k: first_score(r) for k, r in rows.items()} == {
        "corrected": 1,
        "thanked": 0,
        "single": None,
    }
    assert langsmith_server.requests == []


def test_push_examples_creates_the_dataset_once(langsmith_server):
    client = langsmith_server.client()
    first = push_examples(conversation_examples(RECORDED), dataset_name="rec", client=client)
    again = push_examples(conversation_examples(RECORDED), dataset_name="rec", client=client)
    assert first.id == again.id
    assert len(langsmith_server.datasets) == 1
    assert len(langsmith_server.examples) == len(RECORDED)


# -- b. a judge against labels ---------------------------------------------------------------------

LABELLED = [
    {"id": "p1", "messages": CORRECTED, "strict": True, "source_dataset": "x"},
    {"id": "n1", "messages": THANKED, "strict": False, "source_dataset": "y"},
    {"id": "amb", "messages": THANKED, "strict": None, "source_dataset": "y"},
    {"id": "s1", "messages": SINGLE_TURN, "strict": False, "source_dataset": "y"},
]


def test_labelled_examples_map_fields_and_drop_null_labels():
    examples = labelled_examples(
        LABELLED, label_field="strict", metadata_fields=("source_dataset",)
    )
    assert [e.metadata["record_id"] for e in examples] == ["p1", "n1", "s1"]
    assert [e.outputs for e in examples] == [
        {"perceived_error": True},
        {"perceived_error": False},
        {"perceived_error": False},
    ]
    assert examples[0].inputs == {"messages": CORRECTED}
    assert examples[0].metadata == {"source_dataset": "x", "record_id": "p1"}


def test_labelled_examples_reject_missing_fields_and_non_boolean_labels():
    with pytest.raises(ValueError, match=r"record 0 \(id 'p1'\) has no 'perceived_error'"):
        labelled_examples(LABELLED)
    with pytest.raises(TypeError, match="must be true, false or null, got 'yes'"):
        labelled_examples([{"messages": CORRECTED, "label": "yes"}], label_field="label")
    with pytest.raises(ValueError, match="no 'dialogue'"):
        labelled_examples(
            [{"messages": CORRECTED, "label": True}], messages_field="dialogue", label_field="label"
        )


def test_labelled_examples_read_eurtad_style_items():
    item = {
        "id": "eurtad/x",
        "messages": [
            {"role": "user", "content": "book a table for six"},
            {"role": "assistant", "content": "i'm on it"},
            {"role": "user", "content": "<SILENCE>"},
        ],
        "perceived_error_strict": False,
        "perceived_error_lenient": None,
    }
    strict = labelled_examples([item], label_field="perceived_error_strict")
    lenient = labelled_examples([item], label_field="perceived_error_lenient")
    assert [e.outputs for e in strict] == [{"perceived_error": False}]
    assert lenient == []


def test_judge_target_outputs_the_verdict_and_usage():
    model = ScriptedChatModel(script=[CLEAN_JSON])
    outputs = judge_target(model)({"messages": THANKED})
    assert outputs == {
        "perceived_error": False,
        "reason": "Nothing went wrong.",
        "status": "judged",
        "model": "scripted",
        "attempts": 1,
        "input_tokens": 100,
        "output_tokens": 20,
    }
    skipped = judge_target("rules")({"messages": SINGLE_TURN})
    assert skipped["perceived_error"] is None
    assert skipped["status"] == "skipped"
    with pytest.raises(ValueError, match="not both"):
        judge_target("rules", judge=PerceivedErrorJudge("rules"))


async def test_ajudge_target():
    outputs = await ajudge_target(judge=PerceivedErrorJudge("rules"))({"messages": CORRECTED})
    assert (outputs["perceived_error"], outputs["status"]) == (True, "judged")


def result_scores(evaluation: dict[str, Any]) -> dict[str, Any]:
    return {r["key"]: r["score"] for r in evaluation["results"]}


@pytest.mark.parametrize(
    ("predicted", "label", "outcome", "scores"),
    [
        (True, True, "tp", {"correct": 1, "false_positive": 0, "false_negative": 0}),
        (False, False, "tn", {"correct": 1, "false_positive": 0, "false_negative": 0}),
        (True, False, "fp", {"correct": 0, "false_positive": 1, "false_negative": 0}),
        (False, True, "fn", {"correct": 0, "false_positive": 0, "false_negative": 1}),
    ],
)
def test_label_match_evaluator_on_verdicts(predicted, label, outcome, scores):
    outputs = {"perceived_error": predicted, "status": "judged"}
    reference = {"perceived_error": label}
    assert label_match(outputs, reference) == outcome
    assert result_scores(label_match_evaluator(outputs, reference)) == {
        **scores,
        "no_verdict": 0,
    }


@pytest.mark.parametrize("status", ["skipped", "failed"])
def test_label_match_evaluator_gives_no_score_without_a_verdict(status):
    outputs = {"perceived_error": None, "status": status, "reason": "why"}
    evaluation = label_match_evaluator(outputs, {"perceived_error": True})
    assert result_scores(evaluation) == {
        "correct": None,
        "false_positive": None,
        "false_negative": None,
        "no_verdict": 1,
    }
    assert all(f"{status}: why" in r["comment"] for r in evaluation["results"])


def test_label_match_evaluator_without_a_label():
    evaluation = label_match_evaluator({"perceived_error": True}, {})
    assert result_scores(evaluation) == {"correct": None}
    assert "no boolean" in evaluation["results"][0]["comment"]


def test_label_score_metrics():
    score = LabelScore(
        model="m",
        experiment=None,
        total=10,
        true_positives=2,
        true_negatives=5,
        false_positives=1,
        false_negatives=1,
        skipped=1,
        failed=0,
    )
    assert (score.judged, score.correct) == (9, 7)
    assert score.accuracy == pytest.approx(7 / 9)
    assert score.precision == pytest.approx(2 / 3)
    assert score.recall == pytest.approx(2 / 3)
    empty = LabelScore("m", None, 0, 0, 0, 0, 0, 0, 0)
    assert (empty.accuracy, empty.precision, empty.recall) == (None, None, None)


def test_label_scores_count_no_verdicts_by_status():
    def row(outputs: dict[str, Any], label: Any) -> dict[str, Any]:
        run = type("R", (), {"outputs": outputs})()
        example = Example(id=uuid.uuid4(), inputs={}, outputs={"perceived_error": label})
        return {"run": run, "example": example}

    failed = judge_output(JudgeResult(status=JudgeStatus.FAILED, error="boom", attempts=3))
    skipped = judge_output(JudgeResult(status=JudgeStatus.SKIPPED, skip_reason="one turn"))
    rows = [
        row({"perceived_error": True, "input_tokens": 5, "output_tokens": 1}, True),
        row({"perceived_error": True}, False),
        row(failed, True),
        row(skipped, False),
        row({"perceived_error": False}, None),
    ]
    score = label_scores(rows, model="m", experiment="e")
    assert (score.true_positives, score.false_positives, score.failed, score.skipped) == (
        1,
        1,
        1,
        1,
    )
    assert (score.unlabelled, score.total, score.input_tokens) == (1, 5, 5)


LABELS = [
    {"id": "p1", "messages": CORRECTED, "perceived_error": True},
    {"id": "n1", "messages": THANKED, "perceived_error": False},
    {"id": "s1", "messages": SINGLE_TURN, "perceived_error": False},
]


def never_flags() -> PerceivedErrorJudge:
    return PerceivedErrorJudge(ScriptedChatModel(script=[CLEAN_JSON]))


def test_run_label_experiments_offline_one_per_model_with_zero_requests(langsmith_server):
    scores = run_label_experiments(
        ["rules", never_flags()],
        iter(labelled_examples(LABELS)),  # a one-shot iterator is listed once, used by both
        client=langsmith_server.client(),
        upload_results=False,
    )
    assert [s.model for s in scores] == ["rules", "scripted"]
    rules, scripted = scores
    assert (rules.true_positives, rules.true_negatives, rules.skipped) == (1, 1, 1)
    assert rules.accuracy == 1.0
    # the single-turn conversation is skipped whatever the model: no model call
    assert (scripted.false_negatives, scripted.true_negatives, scripted.skipped) == (1, 1, 1)
    assert scripted.input_tokens == 200
    assert langsmith_server.requests == []


async def test_arun_label_experiments_offline_with_zero_requests(langsmith_server):
    scores = await arun_label_experiments(
        ["rules"],
        labelled_examples(LABELS),
        client=langsmith_server.client(tracing_sampling_rate=0.0),
        upload_results=False,
    )
    assert (scores[0].correct, scores[0].skipped) == (2, 1)
    assert langsmith_server.requests == []


def test_run_label_experiments_upload_one_experiment_per_model(langsmith_server):
    client = langsmith_server.client()
    dataset = push_examples(labelled_examples(LABELS), dataset_name="labels", client=client)
    scores = run_label_experiments(["rules", never_flags()], dataset.name, client=client)
    assert scores[0].experiment is not None
    assert scores[0].experiment.startswith("rules-")
    assert scores[1].experiment is not None
    assert scores[1].experiment.startswith("scripted-")
    correct = [f for f in langsmith_server.feedback if f["key"] == "correct"]
    by_experiment: dict[str, list[Any]] = {}
    for feedback in correct:
        by_experiment.setdefault(feedback["session_id"], []).append(feedback.get("score"))
    assert sorted(sorted(v, key=str) for v in by_experiment.values()) == sorted(
        [[0, 1, None], [1, 1, None]]
    )
    keys = {f["key"] for f in langsmith_server.feedback}
    assert keys == {"correct", "false_positive", "false_negative", "no_verdict"}
    experiments = [
        p for p in langsmith_server.projects if p.get("reference_dataset_id") == str(dataset.id)
    ]
    assert len(experiments) == 2
    assert all(p["extra"]["metadata"]["prompt_version"] for p in experiments)


# -- c. simulated users ----------------------------------------------------------------------------

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def day_in(text: str) -> str | None:
    return next((day for day in DAYS if day in text), None)


def agent(off_by: int):
    """Books the day asked (+ off_by); fixes it when corrected."""

    def app(message: dict[str, Any], **_: Any) -> dict[str, str]:
        text = str(message["content"])
        day = day_in(text) or "Monday"
        if text.startswith("No"):
            return {"role": "assistant", "content": f"Sorry! Moved it to {day}."}
        day = DAYS[(DAYS.index(day) + off_by) % len(DAYS)]
        return {"role": "assistant", "content": f"Booked for {day} at 9:00."}

    return app


async def aagent_wrong(message: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    return agent(1)(message, **kwargs)


def user_wanting(day: str):
    def user(trajectory: list[dict[str, Any]], *, turn_counter: int, **_: Any) -> dict[str, str]:
        if turn_counter == 0:
            return {"role": "user", "content": f"Book my dentist appointment for {day}."}
        booked = day_in(str(trajectory[-1]["content"]))
        if booked == day:
            return {"role": "user", "content": "Great, thanks!"}
        return {"role": "user", "content": f"No, I said {day}, not {booked}."}

    return user


def test_simulations_are_judged_as_trajectory_evaluators():
    evaluator = create_perceived_error_evaluator("rules")
    wrong = run_multiturn_simulation(
        app=agent(1), user=user_wanting("Tuesday"), max_turns=2, trajectory_evaluators=[evaluator]
    )
    right = run_multiturn_simulation(
        app=agent(0), user=user_wanting("Tuesday"), max_turns=2, trajectory_evaluators=[evaluator]
    )
    assert [r["score"] for r in wrong["evaluator_results"]] == [1]
    assert "No, I said Tuesday" in wrong["evaluator_results"][0]["comment"]
    assert [r["score"] for r in right["evaluator_results"]] == [0]


def test_simulation_record_makes_a_simulation_judgeable():
    result = run_multiturn_simulation(app=agent(1), user=user_wanting("Tuesday"), max_turns=2)
    record = simulation_record(result, record_id="sim-1")
    assert record["id"] == "sim-1"
    assert len(record["messages"]) == 4
    judged = PerceivedErrorJudge("rules").judge(record)
    assert (judged.id, judged.perceived_error) == ("sim-1", True)
    assert simulation_record(result["trajectory"]) == {"messages": result["trajectory"]}
    assert simulation_record({"messages": []}) == {"messages": []}
    with pytest.raises(TypeError, match="'trajectory' list"):
        simulation_record({"evaluator_results": []})


def test_openevals_llm_simulated_user_with_fixed_responses_and_a_fake_model():
    user_model = ScriptedChatModel(script=["No, I said Tuesday, not Wednesday."], usage=None)
    user = create_llm_simulated_user(
        system="You want a dentist appointment on Tuesday.",
        client=user_model,
        fixed_responses=["Book my dentist appointment for Tuesday."],
    )
    result = run_multiturn_simulation(app=agent(1), user=user, max_turns=2)
    judged = PerceivedErrorJudge("rules").judge(simulation_record(result))
    assert judged.perceived_error is True
    # the simulated user's model saw the agent's reply, role-flipped, after the system prompt
    assert "Wednesday" in str(user_model.calls[0][-1].content)


async def test_async_simulation_with_an_async_trajectory_evaluator():
    result = await run_multiturn_simulation_async(
        app=aagent_wrong,
        user=["Book my dentist appointment for Tuesday.", "No, I said Tuesday."],
        max_turns=2,
        trajectory_evaluators=[create_async_perceived_error_evaluator("rules")],
    )
    assert [r["score"] for r in result["evaluator_results"]] == [1]


SCENARIOS = [
    Example(id=uuid.uuid4(), inputs={"day": "Tuesday"}),
    Example(id=uuid.uuid4(), inputs={"day": "Thursday"}),
]


@pytest.mark.parametrize(("off_by", "expected"), [(1, [1, 1]), (0, [0, 0])])
def test_simulation_target_in_evaluate_with_zero_requests(langsmith_server, off_by, expected):
    results = evaluate(
        simulation_target(
            agent(off_by), user=lambda inputs: user_wanting(inputs["day"]), max_turns=2
        ),
        data=SCENARIOS,
        evaluators=[PerceivedErrorEvaluator("rules", source="outputs")],
        client=langsmith_server.client(),
        upload_results=False,
    )
    rows = list(results)
    assert [first_score(row) for row in rows] == expected
    assert all(len(row["run"].outputs["messages"]) == 4 for row in rows)
    assert langsmith_server.requests == []


async def test_asimulation_target_with_fixed_user_responses_in_aevaluate(langsmith_server):
    examples = [
        Example(
            id=uuid.uuid4(),
            inputs={"user_responses": ["Book my dentist appointment for Tuesday.", "No, Tuesday!"]},
        )
    ]
    results = await aevaluate(
        asimulation_target(aagent_wrong),
        data=examples,
        evaluators=[PerceivedErrorEvaluator("rules", source="outputs")],
        client=langsmith_server.client(tracing_sampling_rate=0.0),
        upload_results=False,
    )
    rows = [row async for row in results]
    assert [len(row["run"].outputs["messages"]) for row in rows] == [4]
    assert [first_score(row) for row in rows] == [1]
    assert langsmith_server.requests == []


def test_simulation_target_needs_a_user():
    target = simulation_target(agent(0), max_turns=1)
    with pytest.raises(ValueError, match="no simulated user"):
        target({"day": "Tuesday"})


def test_conversation_messages_keep_tools_on_request():
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "18C"},
        {"role": "assistant", "content": "18C and sunny."},
    ]
    assert len(conversation_messages(messages)) == 2
    with_tools = conversation_messages(messages, include_tools=True)
    assert "weather" in with_tools[1]["content"]


# -- the cookbook ----------------------------------------------------------------------------------

COOKBOOK = Path(__file__).resolve().parents[2] / "cookbook"


def _cookbook_02():
    spec = importlib.util.spec_from_file_location(
        "cookbook_02", COOKBOOK / "02_offline_experiment.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cookbook_02_runs_all_three_uses_offline(langsmith_server, monkeypatch, capsys):
    module = _cookbook_02()
    # the script's own offline client points at an unused port; point it here to count requests
    monkeypatch.setattr(module, "offline_client", langsmith_server.client)
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)

    summary = module.main([])

    recorded = {name: score for name, score, _ in summary["recorded"]}
    assert recorded == {"wrong-day": 1, "follow-up": 0, "one-turn": None}
    (rules,) = summary["labels"]
    assert rules.model == "rules"
    assert rules.total == 10  # the null label is dropped
    assert (rules.skipped, rules.failed) == (1, 0)
    assert rules.accuracy is not None
    assert rules.accuracy > 0.5
    simulated = {(agent, scenario): score for agent, scenario, score, _ in summary["simulated"]}
    assert set(simulated.values()) == {0, 1}
    assert all(score == 1 for (agent, _), score in simulated.items() if agent == "v1")
    assert all(score == 0 for (agent, _), score in simulated.items() if agent == "v2")
    out = capsys.readouterr().out
    for title in ("a. recorded conversations", "b. judges against", "c. simulated users"):
        assert title in out
    assert langsmith_server.requests == []

    with pytest.raises(SystemExit):
        module.main(["--upload"])  # no LANGSMITH_API_KEY: refused before anything is sent


def test_cookbook_02_names_a_model_without_its_key_in_one_line_before_judging(monkeypatch, capsys):
    module = _cookbook_02()
    monkeypatch.delenv("FIREWORKS_API_KEY", raising=False)

    with pytest.raises(SystemExit) as exited:
        module.main(["--model", "rules", "--model", "fireworks:accounts/x/models/y"])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before section a. ran
    assert "Traceback" not in captured.err
    assert captured.err.splitlines()[-1].endswith(  # after argparse's usage line and prog name
        ": error: FIREWORKS_API_KEY is not set: export it to judge with "
        "fireworks:accounts/x/models/y, or use the offline judge 'rules' (no key needed)"
    )
