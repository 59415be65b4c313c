"""The built-in offline judge: deterministic rules behind the same chat-model interface.

:class:`RulesJudge` is a :class:`~langchain_core.language_models.BaseChatModel`, so it runs
through exactly the same judge graph as an LLM judge. It receives the messages built by
:func:`~langchain_perceived_error.core.prompts.build_judge_messages`, reads the turns back from the
rendered ``<transcript>`` block, looks for perceived-error signals and answers with the verdict
JSON from :func:`~langchain_perceived_error.core.prompts.render_verdict`. It needs no keys, no
network and reports no token usage.

Modules, data flowing downward:

- :mod:`.kinds`: the signal families of the definition, their reasons, the :class:`Signal` model.
- :mod:`.patterns`: the phrase patterns and word lists per family (data only).
- :mod:`.similarity`: meaning-level similarity of two user turns (repetition, rephrasing).
- :mod:`.analysis`: turns in, signals and a verdict out (pure functions).
- :mod:`.confidence`: signal strength, the calibrated confidence table, the evidence turn.
- :mod:`.chat_model`: :class:`RulesJudge`, the chat-model adapter.

Only user turns that come after an assistant turn are read (plus the assistant turns around
them); the rules prefer precision, so an unclear turn is not flagged.

May import: :mod:`..core`.
"""

from langchain_perceived_error.rules.analysis import (
    MAX_QUOTE_CHARS,
    RulesConfig,
    detect_signals,
    judge_turns,
    normalize_text,
    reason_for,
)
from langchain_perceived_error.rules.chat_model import RulesJudge
from langchain_perceived_error.rules.confidence import (
    RULES_CALIBRATION,
    RulesAssessment,
    assess_turns,
    signal_strength,
)
from langchain_perceived_error.rules.kinds import (
    NO_SIGNAL_REASON,
    NO_USER_TURN_AFTER_AI_REASON,
    SIGNAL_KINDS,
    Signal,
    SignalKind,
)

__all__ = [
    "MAX_QUOTE_CHARS",
    "NO_SIGNAL_REASON",
    "NO_USER_TURN_AFTER_AI_REASON",
    "RULES_CALIBRATION",
    "SIGNAL_KINDS",
    "RulesAssessment",
    "RulesConfig",
    "RulesJudge",
    "Signal",
    "SignalKind",
    "assess_turns",
    "detect_signals",
    "judge_turns",
    "normalize_text",
    "reason_for",
    "signal_strength",
]
