"""Did the user perceive that the assistant made a mistake? langchain-perceived-error.

Judge LangChain / LangGraph / LangSmith traces for that one signal, with any chat model or with
the built-in offline ``rules`` judge.
"""

from langchain_perceived_error.eligibility import skip_reason
from langchain_perceived_error.evaluators import (
    PerceivedErrorEvaluator,
    create_async_perceived_error_evaluator,
    create_perceived_error_evaluator,
)
from langchain_perceived_error.experiments import (
    ajudge_target,
    conversation_examples,
    judge_target,
    label_match_evaluator,
    labelled_examples,
    replay_target,
)
from langchain_perceived_error.graph import DEFAULT_MAX_ATTEMPTS, JudgeState, build_judge_graph
from langchain_perceived_error.judge import PerceivedErrorJudge, ajudge, judge
from langchain_perceived_error.models import (
    DEFAULT_MODEL,
    ModelSpec,
    ModelSpecError,
    model_name,
    resolve_model,
)
from langchain_perceived_error.parsing import VerdictParseError, parse_verdict
from langchain_perceived_error.prompts import (
    PROMPT_VERSION,
    SYSTEM_PROMPT,
    build_judge_messages,
    render_transcript,
)
from langchain_perceived_error.rules import RulesJudge
from langchain_perceived_error.schemas import JudgeResult, JudgeStatus, Turn, Verdict
from langchain_perceived_error.transcript import TranscriptError, extract_thread, extract_transcript

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MODEL",
    "PROMPT_VERSION",
    "SYSTEM_PROMPT",
    "JudgeResult",
    "JudgeState",
    "JudgeStatus",
    "ModelSpec",
    "ModelSpecError",
    "PerceivedErrorEvaluator",
    "PerceivedErrorJudge",
    "RulesJudge",
    "TranscriptError",
    "Turn",
    "Verdict",
    "VerdictParseError",
    "__version__",
    "ajudge",
    "ajudge_target",
    "build_judge_graph",
    "build_judge_messages",
    "conversation_examples",
    "create_async_perceived_error_evaluator",
    "create_perceived_error_evaluator",
    "extract_thread",
    "extract_transcript",
    "judge",
    "judge_target",
    "label_match_evaluator",
    "labelled_examples",
    "model_name",
    "parse_verdict",
    "render_transcript",
    "replay_target",
    "resolve_model",
    "skip_reason",
]
