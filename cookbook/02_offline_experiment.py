"""Offline LangSmith experiments with the perceived-error judge: three uses, no keys needed.

    python cookbook/02_offline_experiment.py                  # offline: rules judge, no uploads
    python cookbook/02_offline_experiment.py --model rules --model fireworks:<model id>
    python cookbook/02_offline_experiment.py --upload         # needs LANGSMITH_API_KEY

a. Judge recorded conversations: the examples hold conversations, the target replays them, the
   evaluator scores each run.
b. Measure a judge against labels: the judge is the target, `label_match_evaluator` compares its
   verdict with each example's label; one experiment per model, comparable side by side.
c. Evaluate an agent before release with simulated users (openevals' multi-turn simulation): the
   judge scores every simulated conversation. Two versions of a booking agent meet the same
   simulated users; version 1 books the wrong day and its users correct it.

Offline, `langsmith.evaluate(..., upload_results=False)` runs against a client pointed at an
unused local address and sends nothing. With `--upload` the examples go to LangSmith datasets and
every experiment (runs and perceived_error feedback) is uploaded.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import Any
from uuid import uuid4

from langsmith import Client, evaluate
from langsmith.schemas import Example
from openevals.simulators import run_multiturn_simulation

from langchain_perceived_error import PerceivedErrorJudge
from langchain_perceived_error.evaluation.evaluators import PerceivedErrorEvaluator
from langchain_perceived_error.evaluation.examples import (
    conversation_examples,
    labelled_examples,
    push_examples,
)
from langchain_perceived_error.evaluation.label_experiments import (
    LabelScore,
    run_label_experiments,
)
from langchain_perceived_error.evaluation.simulation import (
    simulation_record,
    simulation_target,
)
from langchain_perceived_error.evaluation.targets import (
    replay_target,
)
from langchain_perceived_error.judge import ModelSpecError

# -- data (hand-written for this cookbook) ---------------------------------------------------------

RECORDED = [
    {
        "id": "wrong-day",
        "messages": [
            {"role": "user", "content": "Move my 1:1 with Sam to Tuesday."},
            {"role": "assistant", "content": "Done, it's now on Wednesday at 10:00."},
            {"role": "user", "content": "No, I said Tuesday."},
        ],
    },
    {
        "id": "follow-up",
        "messages": [
            ("user", "Suggest a pasta recipe for two."),
            ("assistant", "Try spaghetti aglio e olio: garlic, olive oil and chili."),
            ("user", "Nice. How long does it take to cook?"),
        ],
    },
    {
        "id": "one-turn",
        "messages": [
            ("user", "What's 12 times 12?"),
            ("assistant", "144."),
        ],
    },
]

LABELLED = [
    {
        "id": "l1",
        "label": True,
        "dialogue": [
            ("user", "What is the capital of Australia?"),
            ("assistant", "Sydney is the largest city in Australia."),
            ("user", "I asked for the capital of Australia."),
        ],
    },
    {
        "id": "l2",
        "label": True,
        "dialogue": [
            ("user", "Convert 5 miles to km."),
            ("assistant", "5 miles is 3.1 km."),
            ("user", "That is wrong, it should be about 8 km."),
        ],
    },
    {
        "id": "l3",
        "label": True,
        "dialogue": [
            ("user", "Set an alarm for 7."),
            ("assistant", "Alarm set for 7 PM."),
            ("user", "AM obviously."),
            ("assistant", "You're right, sorry, I changed it to 7 AM."),
        ],
    },
    {
        "id": "l4",
        "label": True,
        "dialogue": [
            ("user", "Book a table for four at 8."),
            ("assistant", "I booked a table for two at 8."),
            ("user", "Could you book the table for four people at 8, please?"),
        ],
    },
    {
        "id": "l5",
        "label": False,
        "dialogue": [
            ("user", "Find me a hotel in Lisbon."),
            ("assistant", "Here are three hotels in Lisbon: Alfama Inn, Rio View and Casa Azul."),
            ("user", "Only ones with a pool, please."),
        ],
    },
    {
        "id": "l6",
        "label": False,
        "dialogue": [
            ("user", "Is my train on time?"),
            ("assistant", "Your 8:15 train is delayed by 20 minutes."),
            ("user", "Ugh, this railway is always late."),
        ],
    },
    {
        "id": "l7",
        "label": False,
        "dialogue": [
            ("user", "Give me a synonym for happy."),
            ("assistant", "Cheerful."),
            ("user", "Thanks! And one for sad?"),
        ],
    },
    {
        "id": "l8",
        "label": True,  # a challenge with no correction word: rules misses it
        "dialogue": [
            ("user", "Which planet is closest to the sun?"),
            ("assistant", "Venus is the closest planet to the sun."),
            ("user", "Hm, I thought it was Mercury?"),
        ],
    },
    {
        "id": "l9",
        "label": True,  # a terse correction: rules misses it
        "dialogue": [
            ("user", "Translate 'good morning' into French."),
            ("assistant", "Buenos días."),
            ("user", "French, not Spanish."),
        ],
    },
    {
        "id": "l10",
        "label": False,  # one exchange: nothing the user could react to, so the judge skips it
        "dialogue": [("user", "What's 12 times 12?"), ("assistant", "144.")],
    },
    {
        "id": "l11",
        "label": None,  # the annotators disagreed: dropped
        "dialogue": [
            ("user", "Write a haiku about rain."),
            (
                "assistant",
                "Soft rain on tin roofs / the garden drinks in silence / clouds move on, unhurried",
            ),
            ("user", "Hmm, make it happier."),
        ],
    },
]

SCENARIOS = [
    {"task": "dentist appointment", "day": "Tuesday"},
    {"task": "haircut", "day": "Friday"},
]

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


# -- the agent under test and its simulated users --------------------------------------------------


def _day_in(text: str) -> str | None:
    return next((day for day in DAYS if day in text), None)


def booking_agent(version: int) -> Callable[..., dict[str, str]]:
    """A deterministic stand-in for a booking agent. Version 1 books the day after the one asked."""

    def agent(message: dict[str, Any], **_: Any) -> dict[str, str]:
        text = str(message["content"])
        day = _day_in(text) or "Monday"
        if text.startswith("No"):
            return {"role": "assistant", "content": f"Sorry about that! Moved it to {day}."}
        if version == 1:
            day = DAYS[(DAYS.index(day) + 1) % len(DAYS)]
        return {"role": "assistant", "content": f"Booked for {day} at 9:00."}

    return agent


def simulated_user(scenario: dict[str, Any]) -> Callable[..., dict[str, str]]:
    """A scripted simulated user (no model, no network) that corrects a wrong day.

    In a real pre-release run this would be `openevals.simulators.create_llm_simulated_user(
    system="You want to book ...", model="openai:...")`.
    """
    task, day = scenario["task"], scenario["day"]

    def user(trajectory: list[dict[str, Any]], *, turn_counter: int, **_: Any) -> dict[str, str]:
        if turn_counter == 0:
            return {"role": "user", "content": f"Please book my {task} for {day} at 9."}
        booked = _day_in(str(trajectory[-1]["content"]))
        if booked == day:
            return {"role": "user", "content": "Great, thanks!"}
        return {"role": "user", "content": f"No, I said {day}, not {booked}."}

    return user


# -- the three uses --------------------------------------------------------------------------------


def _data(examples: list[Any], name: str, client: Client, upload: bool) -> Any:
    """In-memory examples offline; a LangSmith dataset (created once) with --upload."""
    if not upload:
        return examples
    return push_examples(examples, dataset_name=name, client=client).name


def judge_recorded(client: Client, *, upload: bool, model: str) -> list[tuple[str, Any, str]]:
    """a. Replay recorded conversations and score each run."""
    examples = conversation_examples(RECORDED)
    results = evaluate(
        replay_target,
        data=_data(examples, "perceived-error-cookbook-recorded", client, upload),
        evaluators=[PerceivedErrorEvaluator(model)],
        experiment_prefix=f"recorded-{model}",
        client=client,
        upload_results=upload,
    )
    rows = []
    for row in results:
        result = row["evaluation_results"]["results"][0]
        rows.append((row["example"].metadata["record_id"], result.score, result.comment))
    print_table("a. recorded conversations", ("conversation", "score", "comment"), rows)
    return rows


def measure_against_labels(
    client: Client, *, upload: bool, models: Sequence[str]
) -> list[LabelScore]:
    """b. One experiment per judge model against hand-written labels."""
    examples = labelled_examples(LABELLED, label_field="label", messages_field="dialogue")
    scores = run_label_experiments(
        list(models),
        _data(examples, "perceived-error-cookbook-labelled", client, upload),
        client=client,
        upload_results=upload,
    )
    print_table(
        f"b. judges against {len(examples)} labels ({len(LABELLED) - len(examples)} null dropped)",
        ("model", "judged", "accuracy", "false +", "false -", "skipped", "failed"),
        [
            (
                s.model,
                s.judged,
                "n/a" if s.accuracy is None else f"{s.accuracy:.0%}",
                s.false_positives,
                s.false_negatives,
                s.skipped,
                s.failed,
            )
            for s in scores
        ],
    )
    return scores


def simulate_agents(client: Client, *, upload: bool, model: str) -> list[tuple[str, str, Any, str]]:
    """c. Each agent version meets every simulated user; the judge scores each conversation."""
    examples = [Example(id=uuid4(), inputs=dict(scenario)) for scenario in SCENARIOS]
    data = _data(examples, "perceived-error-cookbook-scenarios", client, upload)
    rows = []
    for version in (1, 2):
        results = evaluate(
            simulation_target(booking_agent(version), user=simulated_user, max_turns=2),
            data=data,
            evaluators=[PerceivedErrorEvaluator(model, source="outputs")],
            experiment_prefix=f"booking-agent-v{version}",
            client=client,
            upload_results=upload,
        )
        for row in results:
            result = row["evaluation_results"]["results"][0]
            rows.append(
                (f"v{version}", row["example"].inputs["task"], result.score, result.comment)
            )
    print_table("c. simulated users", ("agent", "scenario", "score", "comment"), rows)

    # One simulation outside an experiment: simulation_record makes its trajectory judgeable.
    result = run_multiturn_simulation(
        app=booking_agent(1), user=simulated_user(SCENARIOS[0]), max_turns=2
    )
    verdict = PerceivedErrorJudge(model).judge(simulation_record(result))
    print(f"single simulation of v1: perceived_error={verdict.perceived_error} ({verdict.reason})")
    return rows


# -- output and entry point ------------------------------------------------------------------------


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in header], *[["-" if c is None else str(c) for c in r] for r in rows]]
    widths = [min(max(len(row[i]) for row in cells), 60) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print(
            "  "
            + "  ".join(cell[:60].ljust(width) for cell, width in zip(row, widths, strict=True))
        )
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))


def offline_client() -> Client:
    """A client that is never used: nothing listens on port 9 and nothing is sent there."""
    return Client(api_url="http://127.0.0.1:9", api_key="x", auto_batch_tracing=False, info={})


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", help="judge model spec (repeatable)")
    parser.add_argument("--upload", action="store_true", help="upload to LangSmith")
    args = parser.parse_args(argv)
    models = args.model or ["rules"]
    if args.upload and not os.environ.get("LANGSMITH_API_KEY"):
        parser.error("--upload needs LANGSMITH_API_KEY")
    for model in models:  # a mistyped spec or a missing key: one line now, not a traceback later
        try:
            PerceivedErrorJudge(model)
        except ModelSpecError as e:
            parser.error(" ".join(str(e).split()))
    client = Client() if args.upload else offline_client()
    return {
        "recorded": judge_recorded(client, upload=args.upload, model=models[0]),
        "labels": measure_against_labels(client, upload=args.upload, models=models),
        "simulated": simulate_agents(client, upload=args.upload, model=models[0]),
    }


if __name__ == "__main__":
    main()
