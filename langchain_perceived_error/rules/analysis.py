"""The analysis of the offline judge: turns in, signals and a verdict out (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from langchain_perceived_error.core.eligibility import skip_reason
from langchain_perceived_error.core.schemas import Turn, Verdict
from langchain_perceived_error.rules.kinds import (
    NO_SIGNAL_REASON,
    NO_USER_TURN_AFTER_AI_REASON,
    REASON_TEMPLATES,
    SIGNAL_KINDS,
    Signal,
    SignalKind,
)
from langchain_perceived_error.rules.patterns import (
    ADMISSION_PATTERNS,
    ASSISTANT_NON_UNDERSTANDING_PATTERN,
    CLARIFICATION_REQUEST_PATTERN,
    CLOSING_PATTERN,
    COMPLAINT_PATTERN,
    CONTRAST_PATTERN,
    CONTRAST_STOPWORDS,
    EXASPERATION_PATTERN,
    HYPOTHESIS_PATTERN,
    NO_THEN_QUESTION_PATTERN,
    NOT_DONE_PATTERN,
    OFFER_PATTERN,
    SHORT_REPEAT_IGNORED,
    SHORT_REPEAT_MAX_TOKENS,
    SHORT_REPEAT_MAX_TOKENS_JUST,
    SHORT_REPEAT_MIN_EXTRA_TOKENS,
    SIGNAL_PATTERNS,
    STOP_ACTION_PATTERNS,
    STOPWORDS,
)
from langchain_perceived_error.rules.similarity import content_words, coverage, similarity, tokens

MAX_QUOTE_CHARS = 80
"""Quotes in reasons are cut to about this many characters."""

REPEAT_MIN_TOKENS = 4
"""A user turn needs at least this many words to count as a repeated request."""

REPEAT_MIN_CONTENT_TOKENS = 3
"""... and at least this many non-stopwords, so greetings and "yes, ok" never count."""

REPEAT_SIMILARITY_THRESHOLD = 0.85
"""The :func:`~langchain_perceived_error.rules.similarity.similarity` from which a later user
turn repeats an earlier one (the one number the benchmark tunes, leave-one-source-out)."""

SHORT_COMMAND_MIN_CONTENT_TOKENS = 2
"""A shorter user turn needs this many non-stopwords to count as a repeated command ..."""

SHORT_COMMAND_THRESHOLD = 0.95
"""... and this similarity (said again nearly word for word) ..."""

SHORT_COMMAND_MAX_COVERAGE = 0.5
"""... after an answer that mentioned less than this share of its words."""

RETRY_MIN_CONTENT_TOKENS = 1
"""A user turn after "sorry, I don't understand" needs this many content words to be a retry."""


class RulesConfig(BaseModel):
    """The settings of the offline judge (the defaults are what ``RulesJudge`` uses)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repeat_threshold: float = Field(
        default=REPEAT_SIMILARITY_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="Similarity from which a user turn repeats an earlier request.",
    )
    families: tuple[SignalKind, ...] = Field(
        default=SIGNAL_KINDS, description="The signal families looked for, in priority order."
    )


_APOSTROPHES_RE = re.compile(r"[\u2018\u2019\u201b\u02bc`\u00b4]")
_DOUBLE_QUOTES_RE = re.compile(r"[\u201c\u201d\u201e\"]")
_SPLIT_CONTRACTION_RE = re.compile(r"(\w)\s+'\s?(t|s|m|re|ve|ll|d)\b", re.IGNORECASE)
_SPLIT_NT_RE = re.compile(r"(\w)\s+(n't)\b", re.IGNORECASE)
_SPACED_APOSTROPHE_RE = re.compile(r"(\w)'\s+(t|s|m|re|ve|ll|d)\b", re.IGNORECASE)
_SPACES_RE = re.compile(r"[^\S\n]+")
_NEWLINES_RE = re.compile(r"\s*\n\s*")
_UNICODE_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_SENTENCE_END_RE = re.compile(r"[.!?]+(?=\s|$)|\n")
_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*")


def normalize_text(text: str) -> str:
    """Normalise a turn for matching, keeping its case.

    Curly apostrophes become ``'``, tokenised contractions are re-joined ("doesn 't" and
    "do n't" become "doesn't" and "don't", "i 'm" becomes "i'm"), runs of spaces become one
    space and line breaks (sentence boundaries for quotes) are kept, one at a time.
    """
    text = _APOSTROPHES_RE.sub("'", text)
    text = _DOUBLE_QUOTES_RE.sub('"', text)
    text = _SPLIT_NT_RE.sub(r"\1\2", text)
    text = _SPLIT_CONTRACTION_RE.sub(r"\1'\2", text)
    text = _SPACED_APOSTROPHE_RE.sub(r"\1'\2", text)
    text = _SPACES_RE.sub(" ", text)
    return _NEWLINES_RE.sub("\n", text).strip()


def _shorten(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    text = text.replace('"', "'").strip(" ,;:-")
    if len(text) <= limit:
        return text
    cut = text[: limit - 3].rsplit(" ", 1)[0] if " " in text[: limit - 3] else text[: limit - 3]
    return cut.rstrip(" ,;:-") + "..."


def _quote_around(text: str, start: int, end: int) -> str:
    """The whole sentence of ``text`` holding ``text[start:end]``, cut to :data:`MAX_QUOTE_CHARS`.

    A sentence ends at ``.``, ``!`` or ``?`` followed by a space (so "auth.py" stays whole) or
    at a line break; a match that starts on punctuation is moved to its first word.
    """
    while start < end and not text[start].isalnum():
        start += 1
    sentence_start = 0
    for boundary in _SENTENCE_END_RE.finditer(text, 0, start):
        sentence_start = boundary.end()
    next_end = _SENTENCE_END_RE.search(text, end)
    sentence_end = next_end.start() if next_end else len(text)
    sentence = text[sentence_start:sentence_end].strip()
    if len(sentence) <= MAX_QUOTE_CHARS:
        return _shorten(sentence)
    window_start = max(sentence_start, start - 20)
    if window_start > sentence_start:
        space = text.find(" ", window_start, start)
        window_start = space + 1 if space >= 0 else window_start
    quote = _shorten(text[window_start:sentence_end])
    return ("..." + quote) if window_start > sentence_start else quote


def _match(patterns: Iterable[re.Pattern[str]], text: str) -> re.Match[str] | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return match
    return None


def _long_request(text: str) -> bool:
    return (
        len(tokens(text)) >= REPEAT_MIN_TOKENS
        and len(content_words(text)) >= REPEAT_MIN_CONTENT_TOKENS
    )


def _command_words(text: str) -> list[str]:
    """The content words of a short turn, acknowledgements and rituals ("thanks, bye") left out."""
    return content_words(" ".join(w for w in tokens(text) if w not in SHORT_REPEAT_IGNORED))


def _repeated_request(later: str, earlier: str, ai_text: str, threshold: float) -> bool:
    """Whether user turn ``later`` repeats user turn ``earlier``, which ``ai_text`` did not do.

    A request of some length counts when rephrased (similarity from ``threshold``) and the
    assistant did not report doing it. A short command ("play the jazz playlist") counts only
    when said again nearly word for word after an answer that asked nothing and mentioned
    little of it.
    """
    if _long_request(later) and _long_request(earlier):
        return similarity(later, earlier) >= threshold and not _carried_out(earlier, ai_text)
    return (
        min(len(_command_words(later)), len(_command_words(earlier)))
        >= SHORT_COMMAND_MIN_CONTENT_TOKENS
        and similarity(later, earlier) >= SHORT_COMMAND_THRESHOLD
        and "?" not in ai_text
        and coverage(earlier, ai_text) < SHORT_COMMAND_MAX_COVERAGE
    )


def _carried_out(request: str, ai_text: str) -> bool:
    """Whether ``ai_text`` reports doing ``request``: it names all of it, asks nothing and says
    nothing failed. Sending the same command again after that is not a perceived error."""
    return (
        "?" not in ai_text
        and not NOT_DONE_PATTERN.search(ai_text)
        and coverage(request, ai_text) >= 1.0
    )


def _repetition(
    text: str, answered_user_texts: Sequence[str], ai_text: str, threshold: float
) -> bool:
    """Whether user turn ``text`` repeats a request that ``ai_text`` did not carry out."""
    if CLARIFICATION_REQUEST_PATTERN.search(ai_text):
        return False  # the assistant asked for the repeat
    if _short_restatement(text, answered_user_texts, ai_text):
        return True
    return any(_repeated_request(text, old, ai_text, threshold) for old in answered_user_texts)


def _retry(text: str, ai_text: str) -> bool:
    """Whether the user tries again after the assistant said it did not understand or cannot."""
    return (
        ASSISTANT_NON_UNDERSTANDING_PATTERN.search(ai_text) is not None
        and not CLOSING_PATTERN.match(text)
        and len(content_words(text)) >= RETRY_MIN_CONTENT_TOKENS
    )


def _statement_tokens(ai_text: str) -> set[str]:
    """Words of an assistant turn's statements (its questions left out)."""
    words: set[str] = set()
    for sentence in _SENTENCE_RE.findall(ai_text):
        if not sentence.rstrip().endswith("?") and not sentence.lstrip().startswith("\u00bf"):
            words.update(_UNICODE_WORD_RE.findall(sentence.lower()))
    return words


def _contrast_correction(text: str, ai_text: str) -> re.Match[str] | None:
    """A "Thursday, not Tuesday" whose rejected word the assistant had just stated."""
    stated = _statement_tokens(ai_text)
    for match in CONTRAST_PATTERN.finditer(text):
        wanted = (match.group(1) or match.group(3)).lower()
        rejected = (match.group(2) or match.group(4)).lower()
        if (
            not HYPOTHESIS_PATTERN.match(text, match.end())
            and rejected in stated
            and wanted not in stated
            and len(rejected) > 1
            and not {wanted, rejected} & (STOPWORDS | CONTRAST_STOPWORDS)
        ):
            return match
    return None


def _exasperation(text: str) -> re.Match[str] | None:
    """An exasperated interjection in a turn that also complains about the assistant."""
    match = EXASPERATION_PATTERN.search(text)
    return match if match and COMPLAINT_PATTERN.search(text) else None


def _short_restatement(text: str, answered_user_texts: Sequence[str], ai_text: str) -> bool:
    """Whether a very short user turn restates part of the request the assistant missed.

    "Thursday." after a question about Thursday that the assistant answered without mentioning
    Thursday: every content word was in the answered request, some is missing from the answer,
    and the assistant asked nothing (a short reply to a question is an answer).
    """
    words_said = tokens(text)
    starts_with_just = bool(words_said) and words_said[0] in {"just", "only"}
    limit = SHORT_REPEAT_MAX_TOKENS_JUST if starts_with_just else SHORT_REPEAT_MAX_TOKENS
    if not words_said or len(words_said) > limit or "?" in ai_text:
        return False
    words = {t for t in words_said if t not in STOPWORDS and t not in SHORT_REPEAT_IGNORED}
    if not any(len(word) > 2 and not word.isdigit() for word in words):
        return False
    # a part of a longer request, not a ritual turn said again ("<SILENCE>", "what else?")
    requested_turns = [tokens(old) for old in answered_user_texts]
    if not any(
        len(old) >= len(words_said) + SHORT_REPEAT_MIN_EXTRA_TOKENS for old in requested_turns
    ):
        return False
    requested = {t for old in requested_turns for t in old}
    answer = set(tokens(ai_text))
    return words <= requested and not words <= answer


def _signal(kind: SignalKind, index: int, text: str, match: re.Match[str]) -> Signal:
    return Signal(kind=kind, turn_index=index, quote=_quote_around(text, *match.span()))


def _pattern_match(kind: SignalKind, text: str, ai_text: str) -> re.Match[str] | None:
    """The phrase evidence of ``kind`` in user turn ``text`` answering ``ai_text``, if any."""
    match = _match(SIGNAL_PATTERNS[kind], text)
    if match:
        return match
    if kind == "correction":
        return _contrast_correction(text, ai_text)
    if kind == "rejection" and not OFFER_PATTERN.search(ai_text):
        return _match(STOP_ACTION_PATTERNS, text)
    if kind == "insult":
        return _exasperation(text)
    if kind == "re_ask" and "?" not in ai_text:
        return NO_THEN_QUESTION_PATTERN.search(text)
    return None


def _human_turn_signals(
    index: int,
    text: str,
    answered_user_texts: Sequence[str],
    ai_text: str,
    config: RulesConfig,
) -> list[Signal]:
    """The signals in one user turn that answers the assistant turn ``ai_text``.

    ``answered_user_texts`` are the user turns that ``ai_text`` answered: the ones this turn
    may repeat.
    """
    signals: list[Signal] = []
    for kind in config.families:
        if kind == "admission":
            continue
        match = _pattern_match(kind, text, ai_text)
        if match:
            signals.append(_signal(kind, index, text, match))
        elif (kind == "retry" and _retry(text, ai_text)) or (
            kind == "repetition"
            and _repetition(text, answered_user_texts, ai_text, config.repeat_threshold)
        ):
            signals.append(Signal(kind=kind, turn_index=index, quote=_shorten(text)))
    return signals


def detect_signals(turns: Sequence[Turn], config: RulesConfig | None = None) -> list[Signal]:
    """Every perceived-error signal in ``turns``, in turn order (then kind priority).

    Only user turns that come after an assistant turn are read, so a first message that
    sounds like a correction is not a signal. A user turn is a repetition when it says so
    ("like I said") or when it restates a request the assistant just answered without carrying
    it out. An assistant turn counts only when it answers such a user turn and admits an error
    ("you're right, sorry").
    """
    config = config or RulesConfig()
    texts = [normalize_text(turn.text) for turn in turns]
    signals: list[Signal] = []
    ai_text: str | None = None  # the latest assistant turn
    answers_eligible_user = False  # whether the next assistant turn answers a read user turn
    answered: list[str] = []  # the user turns the latest assistant turn answered
    pending: list[str] = []  # the user turns since the latest assistant turn
    for index, (turn, text) in enumerate(zip(turns, texts, strict=True)):
        if turn.role == "ai":
            if answers_eligible_user and "admission" in config.families:
                match = _match(ADMISSION_PATTERNS, text)
                if match:
                    signals.append(_signal("admission", index, text, match))
            ai_text = text if ai_text is None or pending else f"{ai_text}\n{text}"
            answered, pending = (pending or answered), []
            answers_eligible_user = False
            continue
        if ai_text is not None:
            signals.extend(_human_turn_signals(index, text, answered, ai_text, config))
            answers_eligible_user = True
        pending.append(text)
    return signals


def reason_for(signals: Sequence[Signal]) -> str:
    """One short sentence for a verdict: names the first signal by kind priority and quotes it."""
    if not signals:
        return NO_SIGNAL_REASON
    best = min(signals, key=lambda signal: (SIGNAL_KINDS.index(signal.kind), signal.turn_index))
    return REASON_TEMPLATES[best.kind].format(quote=best.quote)


def judge_turns(turns: Sequence[Turn], config: RulesConfig | None = None) -> Verdict:
    """The rules verdict for a transcript: true when any signal is found, with its reason."""
    if skip_reason(turns) is not None:
        return Verdict(perceived_error=False, reason=NO_USER_TURN_AFTER_AI_REASON)
    signals = detect_signals(turns, config)
    return Verdict(perceived_error=bool(signals), reason=reason_for(signals))
