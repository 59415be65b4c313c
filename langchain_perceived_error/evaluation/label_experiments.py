"""Measure a judge against labels: one LangSmith experiment per model, and a score each.

:func:`run_label_experiments` runs one ``langsmith.evaluate`` experiment per model over labelled
Examples (:func:`~langchain_perceived_error.evaluation.examples.labelled_examples`, or a dataset
name): the target is :func:`~langchain_perceived_error.evaluation.targets.judge_target`, the
evaluator :func:`label_match_evaluator`, the ``experiment_prefix`` the model's name. Each
experiment's rows are summed into a :class:`LabelScore`, whose counts are the package's one
:class:`~langchain_perceived_error.core.metrics.ConfusionMatrix`.

Zero requests: with ``upload_results=False``, in-memory Examples and a client that is never used
(``Client(api_url="http://127.0.0.1:9", api_key="x", auto_batch_tracing=False, info={})``),
``evaluate`` sends nothing; ``aevaluate`` needs that client built with
``tracing_sampling_rate=0.0`` too, or it posts the target runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langsmith import aevaluate, evaluate

from langchain_perceived_error.core.metrics import ConfusionMatrix
from langchain_perceived_error.core.schemas import JudgeStatus
from langchain_perceived_error.evaluation.examples import LABEL_KEY
from langchain_perceived_error.evaluation.targets import ajudge_target, judge_target
from langchain_perceived_error.judge.graph import DEFAULT_MAX_ATTEMPTS
from langchain_perceived_error.judge.models import ModelSpec
from langchain_perceived_error.judge.runner import PerceivedErrorJudge

__all__ = [
    "LabelScore",
    "arun_label_experiments",
    "label_match",
    "label_match_evaluator",
    "label_scores",
    "run_label_experiments",
]


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

    The four verdict counts form :attr:`matrix`; ``accuracy``, ``precision`` and ``recall`` are
    its metrics, over judged examples (None when undefined; F1 and Cohen's kappa are there too).
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
    def matrix(self) -> ConfusionMatrix:
        """The verdicts against the labels, as a confusion matrix."""
        return ConfusionMatrix(
            tp=self.true_positives,
            fp=self.false_positives,
            fn=self.false_negatives,
            tn=self.true_negatives,
        )

    @property
    def judged(self) -> int:
        """Examples with a verdict and a label."""
        return self.matrix.n

    @property
    def correct(self) -> int:
        """Verdicts that match their label."""
        return self.true_positives + self.true_negatives

    @property
    def accuracy(self) -> float | None:
        """Correct verdicts over judged examples."""
        return self.matrix.accuracy

    @property
    def precision(self) -> float | None:
        """Of the flagged examples, the share labelled true."""
        return self.matrix.precision

    @property
    def recall(self) -> float | None:
        """Of the examples labelled true, the share flagged."""
        return self.matrix.recall


def label_scores(
    rows: Iterable[Mapping[str, Any]], *, model: str, experiment: str | None = None
) -> LabelScore:
    """Summarise experiment rows of a :func:`judge_target` run (``row["run"]``, ``row["example"]``).

    Uses :func:`label_match`, the comparison :func:`label_match_evaluator` makes.
    """
    pairs: list[tuple[bool, bool]] = []
    statuses = {JudgeStatus.SKIPPED.value: 0, JudgeStatus.FAILED.value: 0}
    unlabelled = 0
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
        elif outcome == "no_label":
            unlabelled += 1
        else:
            pairs.append((reference[LABEL_KEY], outputs[LABEL_KEY]))
        tokens[0] += outputs.get("input_tokens") or 0
        tokens[1] += outputs.get("output_tokens") or 0
    matrix = ConfusionMatrix.from_pairs(pairs)
    return LabelScore(
        model=model,
        experiment=experiment,
        total=total,
        true_positives=matrix.tp,
        true_negatives=matrix.tn,
        false_positives=matrix.fp,
        false_negatives=matrix.fn,
        skipped=statuses[JudgeStatus.SKIPPED.value],
        failed=statuses[JudgeStatus.FAILED.value],
        unlabelled=unlabelled,
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
        "prompt_version": judge.prompt_version,
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
