"""The judge: a LangGraph graph over a chat model, and the runner that drives it.

Owns the graph (:mod:`.graph`: extract -> judge -> validate -> retry, over one trace or a batch),
the confidence and evidence turn read from a reply, its metadata or token log-probabilities
(:mod:`.confidence`), model resolution from a spec such as ``"rules"`` or
``"fireworks:<model id>"`` (:mod:`.models`), the
batch scheduling of the async many-trace paths (:mod:`.batching`), the runner that judges one
record or many, sync or async, in order or as completed (:mod:`.runner`), and the cascade of a
cheap and an expensive judge (:mod:`.cascade`).

May import: :mod:`..core`, :mod:`..rules`, :mod:`..redaction`, :mod:`..transport`.
"""

from langchain_perceived_error.judge.cascade import CascadeJudge, CascadeThresholds
from langchain_perceived_error.judge.graph import (
    DEFAULT_MAX_ATTEMPTS,
    JudgeState,
    build_judge_graph,
)
from langchain_perceived_error.judge.models import (
    DEFAULT_MODEL,
    ModelSpec,
    ModelSpecError,
    model_name,
    resolve_model,
)
from langchain_perceived_error.judge.runner import PerceivedErrorJudge, ajudge, judge

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MODEL",
    "CascadeJudge",
    "CascadeThresholds",
    "JudgeState",
    "ModelSpec",
    "ModelSpecError",
    "PerceivedErrorJudge",
    "ajudge",
    "build_judge_graph",
    "judge",
    "model_name",
    "resolve_model",
]
