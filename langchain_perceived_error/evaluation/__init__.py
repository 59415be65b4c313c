"""LangSmith evaluation: the ``RunEvaluator`` and the helpers for offline ``evaluate()`` runs.

Owns :class:`PerceivedErrorEvaluator` and its factories (:mod:`.evaluators`), and experiment
helpers: targets, examples built from conversations or labelled files, and the score of a judge
against labels (:mod:`.experiments`).

May import: :mod:`..judge`, :mod:`..core`.
"""

from langchain_perceived_error.evaluation.evaluators import (
    PerceivedErrorEvaluator,
    create_async_perceived_error_evaluator,
    create_perceived_error_evaluator,
)
from langchain_perceived_error.evaluation.experiments import (
    ajudge_target,
    conversation_examples,
    judge_target,
    label_match_evaluator,
    labelled_examples,
    replay_target,
)

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
