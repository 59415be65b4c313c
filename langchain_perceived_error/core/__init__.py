"""The core: the pure steps from a trace to a verdict, with no model call and no network.

Owns the data models (:mod:`.schemas`), reading input files safely (:mod:`.files`,
:mod:`.records`), trace-to-turns extraction (:mod:`.transcript`, its fast message reader
:mod:`.message_reader`), eligibility (:mod:`.eligibility`),
the token estimator and budget (:mod:`.tokens`, :mod:`.budget`), redaction applied to turns
(:mod:`.preparation`), the judge prompt (:mod:`.prompts`), verdict parsing (:mod:`.parsing`), and
the turn a reason quotes with the reply-metadata keys for confidence and evidence
(:mod:`.evidence`), and stable id-hash shares for sampling and splits (:mod:`.sampling`).
It also owns the two pure concepts every measuring layer shares, here because ``evaluation``,
``datasets`` and ``bench`` may all import the core and nothing else in common: the one confusion
matrix with Cohen's kappa and bootstrap intervals (:mod:`.metrics`) and the one labelled-data
model and loader with its field mapping (:mod:`.labelled`).

May import: :mod:`langchain_perceived_error.redaction` and third-party libraries only.
"""

from langchain_perceived_error.core.eligibility import skip_reason
from langchain_perceived_error.core.parsing import VerdictParseError, parse_verdict
from langchain_perceived_error.core.prompts import (
    COMPACT_SYSTEM_PROMPT,
    PROMPT_VERSION,
    SYSTEM_PROMPT,
    build_judge_messages,
    render_transcript,
)
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus, Turn, Verdict
from langchain_perceived_error.core.transcript import (
    TranscriptError,
    extract_thread,
    extract_transcript,
)

__all__ = [
    "COMPACT_SYSTEM_PROMPT",
    "PROMPT_VERSION",
    "SYSTEM_PROMPT",
    "JudgeResult",
    "JudgeStatus",
    "TranscriptError",
    "Turn",
    "Verdict",
    "VerdictParseError",
    "build_judge_messages",
    "extract_thread",
    "extract_transcript",
    "parse_verdict",
    "render_transcript",
    "skip_reason",
]
