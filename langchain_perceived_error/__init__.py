"""Did the user perceive that the assistant made a mistake? langchain-perceived-error.

Judge LangChain / LangGraph / LangSmith traces for that one signal, with any chat model or with
the built-in offline ``rules`` judge.

Map: task -> name -> cookbook file.

- Judge one trace or thread, or many: ``judge``, ``ajudge``, ``PerceivedErrorJudge``
  (``cookbook/01_judge_traces.py``); the outcome is a ``JudgeResult`` with a ``JudgeStatus`` and,
  when judged, a ``Verdict``.
- Score runs in LangSmith ``evaluate()``: ``PerceivedErrorEvaluator``,
  ``create_perceived_error_evaluator``, ``create_async_perceived_error_evaluator``
  (``cookbook/02_offline_experiment.py``).
- Watch a project online and flag to an annotation queue: ``Watcher``
  (``cookbook/03_online_watch.py``, ``cookbook/04_annotation_queue.py``).
- Label traces with a panel of judges: ``PanelLabeller`` (``perceived-error label``; no cookbook).
- Build Fireworks SFT files from labels: ``build_sft_files`` (``cookbook/05_build_sft_dataset.py``,
  then ``cookbook/06_finetune_on_fireworks.py``).
- The judge prompt and its version: ``SYSTEM_PROMPT``, ``PROMPT_VERSION``.

Everything else lives in a subpackage, grouped by layer (each one's docstring says what it owns
and what it may import): :mod:`.core` (trace -> turns -> prompt -> verdict, pure steps),
:mod:`.redaction`, :mod:`.transport` (retries, rate limiting, ordered concurrency), :mod:`.rules`
(the offline judge), :mod:`.judge` (the LangGraph judge graph and its runner), :mod:`.evaluation`
(LangSmith evaluators and experiment helpers), :mod:`.online`, :mod:`.datasets`, :mod:`.fireworks`,
:mod:`.bench` and :mod:`.cli`.
"""

from langchain_perceived_error.core.prompts import PROMPT_VERSION, SYSTEM_PROMPT
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus, Verdict
from langchain_perceived_error.datasets.panel import PanelLabeller
from langchain_perceived_error.datasets.sft import build_sft_files
from langchain_perceived_error.evaluation.evaluators import (
    PerceivedErrorEvaluator,
    create_async_perceived_error_evaluator,
    create_perceived_error_evaluator,
)
from langchain_perceived_error.judge import PerceivedErrorJudge, ajudge, judge
from langchain_perceived_error.online.watch import Watcher

__version__ = "0.1.0"

__all__ = [
    "PROMPT_VERSION",
    "SYSTEM_PROMPT",
    "JudgeResult",
    "JudgeStatus",
    "PanelLabeller",
    "PerceivedErrorEvaluator",
    "PerceivedErrorJudge",
    "Verdict",
    "Watcher",
    "__version__",
    "ajudge",
    "build_sft_files",
    "create_async_perceived_error_evaluator",
    "create_perceived_error_evaluator",
    "judge",
]
