"""LangSmith evaluation: the ``RunEvaluator`` and the helpers for offline ``evaluate()`` runs.

Owns :class:`PerceivedErrorEvaluator` and its factories (:mod:`.evaluators`), and the helpers of
offline experiments, one module per concern: Examples built from conversations or labelled
records, and a dataset to hold them (:mod:`.examples`); the ``evaluate()`` targets that replay a
conversation or run the judge (:mod:`.targets`); a judge measured against labels, one experiment
per model (:mod:`.label_experiments`); an agent run against simulated users (:mod:`.simulation`).

May import: :mod:`..judge`, :mod:`..core`.
"""

from langchain_perceived_error.evaluation.evaluators import (
    PerceivedErrorEvaluator,
    create_async_perceived_error_evaluator,
    create_perceived_error_evaluator,
)
from langchain_perceived_error.evaluation.examples import conversation_examples, labelled_examples
from langchain_perceived_error.evaluation.label_experiments import label_match_evaluator
from langchain_perceived_error.evaluation.targets import ajudge_target, judge_target, replay_target

__all__ = [
    "PerceivedErrorEvaluator",
    "ajudge_target",
    "conversation_examples",
    "create_async_perceived_error_evaluator",
    "create_perceived_error_evaluator",
    "judge_target",
    "label_match_evaluator",
    "labelled_examples",
    "replay_target",
]
