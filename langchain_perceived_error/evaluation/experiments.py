"""Offline LangSmith experiments with the judge: three uses, each a few public helpers.

a. **Judge recorded conversations.** :func:`conversation_examples` turns conversations into
   ``langsmith`` Examples (``inputs={"messages": [...]}``); :func:`replay_target` returns the
   recorded conversation as the run's outputs, so
   ``evaluate(replay_target, data=examples, evaluators=[PerceivedErrorEvaluator()])`` scores each.
b. **Measure a judge against labels.** :func:`labelled_examples` builds Examples from labelled
   records (``outputs={"perceived_error": bool}``); :func:`judge_target` makes the judge itself
   the target; :func:`label_match_evaluator` compares its verdict with the label;
   :func:`run_label_experiments` runs one experiment per model (``experiment_prefix`` = the
   model's name) and returns a :class:`LabelScore` per model.
c. **Evaluate an agent before release with simulated users.** :func:`simulation_target` runs an
   openevals multi-turn simulation per example and returns the conversation as the run's outputs
   (judge it with ``PerceivedErrorEvaluator(source="outputs")``); :func:`simulation_record` turns
   one simulation result into a record the judge reads.

Conversations are stored as the human and AI turns the judge reads, as OpenAI-style
``{"role": "user" | "assistant", "content": ...}`` dicts: small, JSON-ready and provider-neutral.

Zero requests: with ``upload_results=False``, in-memory Examples and a client that is never used
(``Client(api_url="http://127.0.0.1:9", api_key="x", auto_batch_tracing=False, info={})``),
``evaluate`` sends nothing; ``aevaluate`` needs that client built with
``tracing_sampling_rate=0.0`` too, or it posts the target runs. The judge runs inside targets and
evaluators through :func:`~langchain_perceived_error.evaluation.evaluators.judge_quietly`, which
keeps its LangGraph runs from being posted when LangSmith traces in "local" (no upload) mode.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from langsmith import Client, aevaluate, evaluate
from langsmith.schemas import Dataset, Example

from langchain_perceived_error.core.prompts import PROMPT_VERSION
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus
from langchain_perceived_error.core.transcript import TranscriptError, extract_transcript
from langchain_perceived_error.evaluation.evaluators import ajudge_quietly, judge_quietly
from langchain_perceived_error.judge.graph import DEFAULT_MAX_ATTEMPTS
from langchain_perceived_error.judge.models import ModelSpec
from langchain_perceived_error.judge.runner import PerceivedErrorJudge, record_id_of, resolve_judge

__all__ = [
    "LABEL_KEY",
    "LabelScore",
    "ajudge_target",
    "areplay_target",
    "arun_label_experiments",
    "asimulation_target",
    "conversation_examples",
    "conversation_messages",
    "judge_output",
    "judge_target",
    "label_match",
    "label_match_evaluator",
    "label_scores",
    "labelled_examples",
    "push_examples",
    "replay_target",
    "run_label_experiments",
    "simulation_record",
    "simulation_target",
]

logger = logging.getLogger(__name__)

LABEL_KEY = "perceived_error"
"""The reference-output key holding an example's label, and the target-output key of the verdict."""

_OPENAI_ROLES = {"human": "user", "ai": "assistant"}

Target = Callable[[dict[str, Any]], dict[str, Any]]
AsyncTarget = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
UserFactory = Callable[[Mapping[str, Any]], Any]
"""Builds the simulated user of one example from its inputs (a list of fixed replies or a
callable openevals accepts)."""


# -- a. recorded conversations ---------------------------------------------------------------------


def conversation_messages(
    conversation: Any, *, include_tools: bool = False
) -> list[dict[str, str]]:
    """The human and AI turns of ``conversation`` (any shape the judge reads) as OpenAI dicts.

    Raises:
        TranscriptError: when the conversation cannot be read.

    """
    turns = extract_transcript(conversation, include_tools=include_tools)
    return [{"role": _OPENAI_ROLES[turn.role], "content": turn.text} for turn in turns]


def _example(
    inputs: dict[str, Any],
    outputs: dict[str, Any] | None,
    metadata: dict[str, Any],
    dataset_id: uuid.UUID | None,
) -> Example:
    fields: dict[str, Any] = {"id": uuid.uuid4(), "inputs": inputs, "metadata": metadata}
    if outputs is not None:
        fields["outputs"] = outputs
    if dataset_id is not None:
        fields["dataset_id"] = dataset_id
    return Example(**fields)


def _read_messages(conversation: Any, index: int, *, include_tools: bool) -> list[dict[str, str]]:
    try:
        return conversation_messages(conversation, include_tools=include_tools)
    except TranscriptError as e:
        record_id = record_id_of(conversation)
        where = f"conversation {index}" + (f" (id {record_id!r})" if record_id else "")
        msg = f"{where}: {e}"
        raise TranscriptError(msg) from e


def conversation_examples(
    conversations: Iterable[Any],
    *,
    include_tools: bool = False,
    dataset_id: uuid.UUID | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> list[Example]:
    """One Example per conversation, ``inputs={"messages": [...]}``, no reference outputs.

    A conversation's ``id`` (key or attribute), when it has one, is kept as
    ``metadata["record_id"]``; ``metadata`` is added to every example.

    Raises:
        TranscriptError: naming the conversation (index and id) that cannot be read.

    """
    examples = []
    for index, conversation in enumerate(conversations):
        messages = _read_messages(conversation, index, include_tools=include_tools)
        example_metadata = dict(metadata or {})
        record_id = record_id_of(conversation)
        if record_id is not None:
            example_metadata["record_id"] = record_id
        examples.append(_example({"messages": messages}, None, example_metadata, dataset_id))
    return examples


def _messages_of(inputs: Mapping[str, Any]) -> list[Any]:
    messages = inputs.get("messages")
    if not isinstance(messages, list):
        msg = f"expected inputs with a 'messages' list, got keys {sorted(inputs)}"
        raise TypeError(msg)
    return messages


def replay_target(inputs: dict[str, Any]) -> dict[str, Any]:
    """A ``langsmith.evaluate`` target that replays the recorded conversation as its outputs.

    Raises:
        TypeError: when the inputs hold no ``messages`` list.

    """
    return {"messages": _messages_of(inputs)}


async def areplay_target(inputs: dict[str, Any]) -> dict[str, Any]:
    """Async :func:`replay_target`, for ``langsmith.aevaluate`` (which takes async targets only)."""
    return replay_target(inputs)


# -- b. a judge against labels ---------------------------------------------------------------------


def labelled_examples(
    records: Iterable[Mapping[str, Any]],
    *,
    label_field: str = LABEL_KEY,
    messages_field: str = "messages",
    id_field: str = "id",
    metadata_fields: Sequence[str] = (),
    include_tools: bool = False,
    dataset_id: uuid.UUID | None = None,
) -> list[Example]:
    """Examples from labelled records: ``inputs={"messages"}``, ``outputs={"perceived_error"}``.

    ``label_field`` and ``messages_field`` map the record's fields (EURTAD items:
    ``label_field="perceived_error_strict"``). Records whose label is null (ambiguous) are dropped.
    ``id_field`` and ``metadata_fields`` are copied into each example's metadata.

    Raises:
        ValueError: when a record lacks ``messages_field`` or ``label_field`` (the message names
            the record).
        TypeError: when a label is neither a boolean nor null.
        TranscriptError: when a record's messages cannot be read.

    """
    examples = []
    dropped = 0
    for index, record in enumerate(records):
        where = f"record {index}" + (f" (id {record[id_field]!r})" if record.get(id_field) else "")
        for field in (label_field, messages_field):
            if field not in record:
                msg = f"{where} has no {field!r} field (fields: {sorted(record)})"
                raise ValueError(msg)
        label = record[label_field]
        if label is None:
            dropped += 1
            continue
        if not isinstance(label, bool):
            msg = f"{where}: {label_field!r} must be true, false or null, got {label!r}"
            raise TypeError(msg)
        messages = _read_messages(record[messages_field], index, include_tools=include_tools)
        metadata = {name: record.get(name) for name in metadata_fields}
        if record.get(id_field) is not None:
            metadata["record_id"] = str(record[id_field])
        examples.append(_example({"messages": messages}, {LABEL_KEY: label}, metadata, dataset_id))
    if dropped:
        logger.info("dropped %d records with a null %r label", dropped, label_field)
    return examples


def judge_output(result: JudgeResult) -> dict[str, Any]:
    """A judgement as a target's outputs (what LangSmith shows for each run of the judge).

    ``perceived_error`` is None unless judged; ``reason`` then holds the skip reason or error.
    """
    return {
        LABEL_KEY: result.perceived_error,
        "reason": result.reason,
        "status": result.status.value,
        "model": result.model,
        "attempts": result.attempts,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
    }


def judge_target(
    model: ModelSpec = None,
    *,
    judge: PerceivedErrorJudge | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    include_tools: bool = False,
) -> Target:
    """The judge as a ``langsmith.evaluate`` target: example inputs in, :func:`judge_output` out.

    The inputs (``{"messages": [...]}`` or any shape the judge reads) are judged as they are.
    """
    bound = resolve_judge(model, judge, max_attempts=max_attempts, include_tools=include_tools)

    def perceived_error_judge(inputs: dict[str, Any]) -> dict[str, Any]:
        return judge_output(judge_quietly(bound, inputs))

    return perceived_error_judge


def ajudge_target(
    model: ModelSpec = None,
    *,
    judge: PerceivedErrorJudge | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    include_tools: bool = False,
) -> AsyncTarget:
    """Async :func:`judge_target`, for ``langsmith.aevaluate``."""
    bound = resolve_judge(model, judge, max_attempts=max_attempts, include_tools=include_tools)

    async def perceived_error_judge(inputs: dict[str, Any]) -> dict[str, Any]:
        return judge_output(await ajudge_quietly(bound, inputs))

    return perceived_error_judge


def label_match(outputs: Mapping[str, Any], reference_outputs: Mapping[str, Any]) -> str:
    """Classify a verdict against its label: ``"tp"``, ``"tn"``, ``"fp"``, ``"fn"``,
    ``"no_verdict"`` (skipped or failed) or ``"no_label"`` (the example has no boolean label).
    """
    label = reference_outputs.get(LABEL_KEY)
    if not isinstance(label, bool):
        return "no_label"
    predicted = outputs.get(LABEL_KEY)
    if not isinstance(predicted, bool):
        return "no_verdict"
    return ("t" if predicted == label else "f") + ("p" if predicted else "n")


def label_match_evaluator(
    outputs: dict[str, Any], reference_outputs: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """Compare a :func:`judge_target` run with the example's label (a function evaluator).

    Keys (scores 1/0): ``correct`` (verdict == label), ``false_positive`` (flagged, label false),
    ``false_negative`` (not flagged, label true) and ``no_verdict`` (1 when the judge skipped or
    failed). For a skipped or failed judgement ``correct``, ``false_positive`` and
    ``false_negative`` carry NO score, only a comment, so LangSmith's averages (and
    :attr:`LabelScore.accuracy`) are over judged examples, and ``no_verdict`` shows the rest side
    by side: a judge that fails often cannot hide behind a high accuracy.
    """
    outcome = label_match(outputs, reference_outputs)
    label = reference_outputs.get(LABEL_KEY)
    status = outputs.get("status")
    if outcome == "no_label":
        comment = f"the example has no boolean {LABEL_KEY!r} reference label (got {label!r})"
        return {"results": [{"key": "correct", "score": None, "comment": comment}]}
    if outcome == "no_verdict":
        comment = f"no verdict ({status}: {outputs.get('reason')}); label {label}"
        results = [{"key": k, "score": None, "comment": comment} for k in _MATCH_KEYS]
        return {"results": [*results, {"key": "no_verdict", "score": 1, "comment": comment}]}
    comment = f"judge said {outputs.get(LABEL_KEY)}, label {label}"
    return {
        "results": [
            {"key": "correct", "score": int(outcome[0] == "t"), "comment": comment},
            {"key": "false_positive", "score": int(outcome == "fp"), "comment": comment},
            {"key": "false_negative", "score": int(outcome == "fn"), "comment": comment},
            {"key": "no_verdict", "score": 0, "comment": comment},
        ]
    }


_MATCH_KEYS = ("correct", "false_positive", "false_negative")


@dataclass(frozen=True)
class LabelScore:
    """How one judge did against the labels of one experiment.

    ``accuracy``, ``precision`` and ``recall`` are over judged examples (None when undefined);
    ``skipped`` and ``failed`` count the examples with no verdict, ``unlabelled`` those without a
    boolean label (not counted anywhere else).
    """

    model: str
    experiment: str | None
    total: int
    true_positives: int
    true_negatives: int
    false_positives: int
    false_negatives: int
    skipped: int
    failed: int
    unlabelled: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def judged(self) -> int:
        """Examples with a verdict and a label."""
        return (
            self.true_positives + self.true_negatives + self.false_positives + self.false_negatives
        )

    @property
    def correct(self) -> int:
        """Verdicts that match their label."""
        return self.true_positives + self.true_negatives

    @property
    def accuracy(self) -> float | None:
        """Correct verdicts over judged examples."""
        return self.correct / self.judged if self.judged else None

    @property
    def precision(self) -> float | None:
        """Of the flagged examples, the share labelled true."""
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """Of the examples labelled true, the share flagged."""
        positives = self.true_positives + self.false_negatives
        return self.true_positives / positives if positives else None


def label_scores(
    rows: Iterable[Mapping[str, Any]], *, model: str, experiment: str | None = None
) -> LabelScore:
    """Summarise experiment rows of a :func:`judge_target` run (``row["run"]``, ``row["example"]``).

    Uses :func:`label_match`, the comparison :func:`label_match_evaluator` makes.
    """
    counts = dict.fromkeys(("tp", "tn", "fp", "fn", "no_label"), 0)
    statuses = {JudgeStatus.SKIPPED.value: 0, JudgeStatus.FAILED.value: 0}
    tokens = [0, 0]
    total = 0
    for row in rows:
        total += 1
        outputs = row["run"].outputs or {}
        reference = row["example"].outputs or {}
        outcome = label_match(outputs, reference)
        if outcome == "no_verdict":
            status = outputs.get("status")
            key = status if status in statuses else JudgeStatus.FAILED.value
            statuses[key] += 1
        else:
            counts[outcome] += 1
        tokens[0] += outputs.get("input_tokens") or 0
        tokens[1] += outputs.get("output_tokens") or 0
    return LabelScore(
        model=model,
        experiment=experiment,
        total=total,
        true_positives=counts["tp"],
        true_negatives=counts["tn"],
        false_positives=counts["fp"],
        false_negatives=counts["fn"],
        skipped=statuses[JudgeStatus.SKIPPED.value],
        failed=statuses[JudgeStatus.FAILED.value],
        unlabelled=counts["no_label"],
        input_tokens=tokens[0],
        output_tokens=tokens[1],
    )


def _reusable(data: Any) -> Any:
    """``data`` as something every experiment can iterate again (a one-shot iterator is listed)."""
    if isinstance(data, (str, uuid.UUID, Sequence)):
        return data
    if isinstance(data, Iterable):
        return list(data)
    return data


def _experiment_options(judge: PerceivedErrorJudge, options: Mapping[str, Any]) -> dict[str, Any]:
    metadata = {
        "model": judge.model_name,
        "prompt_version": PROMPT_VERSION,
        **(options.get("metadata") or {}),
    }
    return {
        "experiment_prefix": judge.model_name,
        **options,
        "evaluators": [label_match_evaluator, *(options.get("evaluators") or [])],
        "metadata": metadata,
    }


def _judges(
    models: Sequence[ModelSpec | PerceivedErrorJudge], max_attempts: int
) -> list[PerceivedErrorJudge]:
    if not models:
        msg = "run_label_experiments needs at least one model"
        raise ValueError(msg)
    return [
        model
        if isinstance(model, PerceivedErrorJudge)
        else PerceivedErrorJudge(model, max_attempts=max_attempts)
        for model in models
    ]


def run_label_experiments(
    models: Sequence[ModelSpec | PerceivedErrorJudge],
    data: Any,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    **options: Any,
) -> list[LabelScore]:
    """One ``langsmith.evaluate`` experiment per model against labelled ``data``; a score each.

    ``data`` is what ``evaluate`` takes (a dataset name, or Examples from
    :func:`labelled_examples`). Each experiment's target is :func:`judge_target`, its evaluator
    :func:`label_match_evaluator` (plus ``options["evaluators"]``), its ``experiment_prefix`` the
    model's name and its metadata the model and prompt version, so the experiments line up side
    by side in LangSmith. Other ``options`` (``client``, ``upload_results``, ``max_concurrency``,
    ``description``, ...) go to ``evaluate``.
    """
    data = _reusable(data)
    scores = []
    for judge in _judges(models, max_attempts):
        results = evaluate(  # its return type lives in a private module: inferred
            judge_target(judge=judge), data=data, **_experiment_options(judge, options)
        )
        scores.append(
            label_scores(list(results), model=judge.model_name, experiment=results.experiment_name)
        )
    return scores


async def arun_label_experiments(
    models: Sequence[ModelSpec | PerceivedErrorJudge],
    data: Any,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    **options: Any,
) -> list[LabelScore]:
    """Async :func:`run_label_experiments` (``langsmith.aevaluate`` with :func:`ajudge_target`)."""
    data = _reusable(data)
    scores = []
    for judge in _judges(models, max_attempts):
        results = await aevaluate(
            ajudge_target(judge=judge), data=data, **_experiment_options(judge, options)
        )
        rows = [row async for row in results]
        name = results.experiment_name
        scores.append(label_scores(rows, model=judge.model_name, experiment=name))
    return scores


def push_examples(
    examples: Iterable[Example],
    *,
    dataset_name: str,
    client: Client,
    description: str | None = None,
) -> Dataset:
    """Create a LangSmith dataset holding ``examples`` and return it; reuse it if it exists.

    An existing dataset of that name is returned as it is (nothing is added), so re-running a
    script neither duplicates examples nor changes what earlier experiments were measured on; use
    a new name for new examples. Run experiments with ``data=dataset.name``: experiments on one
    dataset line up side by side in LangSmith.
    """
    if client.has_dataset(dataset_name=dataset_name):
        existing: Dataset = client.read_dataset(dataset_name=dataset_name)
        return existing
    dataset = client.create_dataset(dataset_name, description=description)
    client.create_examples(
        dataset_id=dataset.id,
        examples=[
            # ``reference_outputs``: the ``outputs`` key is deprecated in ExampleCreate
            {"inputs": e.inputs, "reference_outputs": e.outputs, "metadata": e.metadata}
            for e in examples
        ],
    )
    return dataset


# -- c. simulated users ----------------------------------------------------------------------------


def _simulators() -> ModuleType:
    try:
        return importlib.import_module("openevals.simulators")
    except ImportError as e:
        msg = "simulated users need openevals: pip install 'langchain-perceived-error[simulation]'"
        raise ImportError(msg) from e


def simulation_record(result: Any, *, record_id: str | None = None) -> dict[str, Any]:
    """A record the judge reads from an openevals simulation result (or a bare trajectory).

    ``result`` is what ``run_multiturn_simulation`` returns (``{"trajectory": [...],
    "evaluator_results": [...]}``), a ``{"messages": [...]}`` dict or the trajectory list itself.
    The record is ``{"messages": trajectory}`` plus ``"id"`` when ``record_id`` is given.

    Raises:
        TypeError: when no trajectory list is found.

    """
    if isinstance(result, Mapping):
        trajectory = result.get("trajectory", result.get("messages"))
    else:
        trajectory = result
    if not isinstance(trajectory, list):
        found = sorted(result) if isinstance(result, Mapping) else type(result).__name__
        msg = f"expected a simulation result with a 'trajectory' list, got {found}"
        raise TypeError(msg)
    record: dict[str, Any] = {"messages": list(trajectory)}
    if record_id is not None:
        record["id"] = record_id
    return record


def _simulation_kwargs(
    inputs: Mapping[str, Any],
    app: Callable[..., Any],
    user: UserFactory | None,
    max_turns: int | None,
    stopping_condition: Callable[..., Any] | None,
) -> dict[str, Any]:
    if user is not None:
        simulated_user = user(inputs)
    elif isinstance(inputs.get("user_responses"), list):
        simulated_user = inputs["user_responses"]
    else:
        msg = (
            "no simulated user: pass user=<factory of a simulated user from the example inputs> "
            f"or give examples a 'user_responses' list (inputs keys: {sorted(inputs)})"
        )
        raise ValueError(msg)
    turns = inputs.get("max_turns", max_turns)
    if turns is None and stopping_condition is None and isinstance(simulated_user, list):
        turns = len(simulated_user)
    return {
        "app": app,
        "user": simulated_user,
        "max_turns": turns,
        "stopping_condition": stopping_condition,
        "thread_id": str(inputs.get("thread_id") or uuid.uuid4()),
    }


def simulation_target(
    app: Callable[..., Any],
    *,
    user: UserFactory | None = None,
    max_turns: int | None = None,
    stopping_condition: Callable[..., bool] | None = None,
) -> Target:
    """A target that runs one openevals multi-turn simulation of ``app`` per example.

    The simulated user is ``user(example inputs)`` (e.g. ``create_llm_simulated_user(...)`` with a
    persona from the inputs), else the example's ``inputs["user_responses"]`` (fixed replies, one
    per turn). ``max_turns`` defaults to ``inputs["max_turns"]``, else the number of fixed replies.
    The outputs are ``{"messages": trajectory}``: judge them with
    ``PerceivedErrorEvaluator(source="outputs")`` or ``create_perceived_error_evaluator()``.

    Raises:
        ImportError: when openevals is not installed (with the install hint).

    """
    simulators = _simulators()

    def simulated_conversation(inputs: dict[str, Any]) -> dict[str, Any]:
        kwargs = _simulation_kwargs(inputs, app, user, max_turns, stopping_condition)
        return simulation_record(simulators.run_multiturn_simulation(**kwargs))

    return simulated_conversation


def asimulation_target(
    app: Callable[..., Any],
    *,
    user: UserFactory | None = None,
    max_turns: int | None = None,
    stopping_condition: Callable[..., Awaitable[bool]] | None = None,
) -> AsyncTarget:
    """Async :func:`simulation_target` (``run_multiturn_simulation_async``, for ``aevaluate``)."""
    simulators = _simulators()

    async def simulated_conversation(inputs: dict[str, Any]) -> dict[str, Any]:
        kwargs = _simulation_kwargs(inputs, app, user, max_turns, stopping_condition)
        return simulation_record(await simulators.run_multiturn_simulation_async(**kwargs))

    return simulated_conversation
