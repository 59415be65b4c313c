"""Fireworks SFT files from labelled records, and a local validator for them.

One function renders an example, :func:`sft_example`, and it is built on the judge's own
:func:`~langchain_perceived_error.core.prompts.build_judge_messages` and
:func:`~langchain_perceived_error.core.prompts.render_verdict`: the system message is the judge
prompt, the user message the transcript exactly as the judge renders it at inference, and the
assistant message the verdict JSON exactly as the judge must answer. Train/serve skew cannot creep
in through a second rendering, because there is none.

:func:`build_sft_files` goes, in order: drop records the judge would skip (no user turn after an
assistant turn: the judge never calls a model for them), drop duplicate transcripts (the first
one is kept; conflicting labels are counted), drop examples over ``max_tokens`` (counted; see
:mod:`~langchain_perceived_error.core.tokens` for the counter), split by conversation
(:func:`~langchain_perceived_error.datasets.split.split_records`), add class weights to the
train file when asked, and write ``train.jsonl``, ``holdout.jsonl`` and ``stats.json``.

Over-long examples are dropped, never truncated: the judge reads whole transcripts at inference
(messages are not trimmed), so a cut transcript or a cut marker would be an input the served model
never sees, and the label may rest on the turns that were cut (a repeat only reads as a repeat next
to the first request). Fireworks would cut them silently otherwise.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage
from pydantic import BaseModel, Field

from langchain_perceived_error.core.eligibility import skip_reason
from langchain_perceived_error.core.files import JsonLine, RawLine, numbered_lines, parse_line
from langchain_perceived_error.core.parsing import VerdictParseError, parse_verdict
from langchain_perceived_error.core.prompts import (
    PROMPT_VERSION,
    PROMPT_VERSIONS,
    PromptStyle,
    build_judge_messages,
    render_transcript,
    render_verdict,
)
from langchain_perceived_error.core.schemas import LabelledRecord, Turn
from langchain_perceived_error.core.tokens import (
    TokenCounter,
    count_message_tokens,
    resolve_token_counter,
)
from langchain_perceived_error.datasets.split import conversation_key, split_records

__all__ = [
    "DEFAULT_HOLDOUT",
    "DEFAULT_MAX_TOKENS",
    "HOLDOUT_FILE",
    "MAX_ROWS",
    "MIN_ROWS",
    "STATS_FILE",
    "TRAIN_FILE",
    "SftBuildStats",
    "SftIssue",
    "SplitStats",
    "ValidationReport",
    "build_sft_files",
    "judge_messages_as_dicts",
    "sft_example",
    "validate_sft_file",
]

TRAIN_FILE = "train.jsonl"
HOLDOUT_FILE = "holdout.jsonl"
STATS_FILE = "stats.json"
DEFAULT_HOLDOUT = 0.2
DEFAULT_MAX_TOKENS = 32_768
"""Fireworks' default training context: longer examples would be cut."""
MIN_ROWS = 3
MAX_ROWS = 3_000_000
"""Fireworks' limits on examples per SFT dataset."""

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_MESSAGE_KEYS = {"role", "content", "weight"}
_ROOT_KEYS = {"messages", "weight"}


# -- one rendering --------------------------------------------------------------------------------


def _as_dict(message: BaseMessage) -> dict[str, str]:
    if not isinstance(message.content, str):  # build_judge_messages only makes text messages
        msg = f"judge message of type {message.type!r} has non-text content"
        raise TypeError(msg)
    return {"role": _ROLES[message.type], "content": message.content}


def judge_messages_as_dicts(
    turns: Sequence[Turn], prompt: PromptStyle = "full"
) -> list[dict[str, str]]:
    """The judge's messages for ``turns`` as OpenAI-style dicts (system, then user).

    The same list is the prefix of an SFT example and the ``messages`` of a batch request.
    """
    return [_as_dict(m) for m in build_judge_messages(turns, prompt)]


def sft_example(
    record: LabelledRecord, *, weight: float | None = None, prompt: PromptStyle = "full"
) -> dict[str, Any]:
    """One Fireworks chat example: the judge's messages (with the ``prompt`` style the tuned
    judge will be served with) plus the verdict it must answer."""
    messages = judge_messages_as_dicts(record.turns, prompt)
    messages.append(
        {
            "role": "assistant",
            "content": render_verdict(record.label.perceived_error, record.label.reason),
        }
    )
    example: dict[str, Any] = {"messages": messages}
    if weight is not None:
        example["weight"] = weight
    return example


# -- building -------------------------------------------------------------------------------------


class TokenStats(BaseModel):
    """Token counts of one split's examples (estimates; see ``token_counter``)."""

    min: int = 0
    mean: float = 0.0
    max: int = 0
    total: int = 0


class SplitStats(BaseModel):
    """What one output file holds."""

    file: str
    examples: int = 0
    conversations: int = 0
    labels: dict[str, int] = Field(default_factory=lambda: {"true": 0, "false": 0})
    tokens: TokenStats = Field(default_factory=TokenStats)


class SftBuildStats(BaseModel):
    """Everything ``stats.json`` records about a build."""

    prompt: PromptStyle = "full"
    prompt_version: str = PROMPT_VERSION
    input_records: int = 0
    dropped: dict[str, int] = Field(
        default_factory=lambda: {"ineligible": 0, "duplicates": 0, "over_long": 0},
        description="Records left out, by reason.",
    )
    conflicting_duplicates: int = Field(
        default=0, description="Duplicates whose label differed from the kept record's."
    )
    holdout_ratio: float = DEFAULT_HOLDOUT
    seed: int = 0
    max_tokens: int = DEFAULT_MAX_TOKENS
    over_long_policy: str = "drop"
    token_counter: dict[str, str] = Field(default_factory=dict)
    train: SplitStats = Field(default_factory=lambda: SplitStats(file=TRAIN_FILE))
    holdout: SplitStats = Field(default_factory=lambda: SplitStats(file=HOLDOUT_FILE))
    weights: dict[str, float] | None = Field(
        default=None, description="Root sample weight per label in the train file (--balance)."
    )
    warnings: list[str] = Field(default_factory=list)


def _label(record: LabelledRecord) -> str:
    return str(record.label.perceived_error).lower()


def _transcript_hash(turns: Sequence[Turn]) -> str:
    return hashlib.sha256(render_transcript(turns).encode()).hexdigest()


def _filter(
    records: Iterable[LabelledRecord], stats: SftBuildStats, counter: TokenCounter
) -> tuple[list[LabelledRecord], dict[str, int]]:
    """Eligible, unique records that fit ``max_tokens``, and each kept record's token count."""
    kept: list[LabelledRecord] = []
    tokens: dict[str, int] = {}
    seen: dict[str, bool] = {}
    for record in records:
        stats.input_records += 1
        if skip_reason(record.turns) is not None:
            stats.dropped["ineligible"] += 1
            continue
        digest = _transcript_hash(record.turns)
        if digest in seen:
            stats.dropped["duplicates"] += 1
            stats.conflicting_duplicates += seen[digest] != record.label.perceived_error
            continue
        seen[digest] = record.label.perceived_error
        count = count_message_tokens(sft_example(record, prompt=stats.prompt)["messages"], counter)
        if count > stats.max_tokens:
            stats.dropped["over_long"] += 1
            continue
        tokens[digest] = count
        kept.append(record)
    return kept, tokens


def _class_weights(records: Sequence[LabelledRecord]) -> dict[str, float]:
    """Inverse-frequency weights that make each present class weigh the same in total."""
    counts = Counter(_label(r) for r in records)
    total = sum(counts.values())
    return {label: round(total / (len(counts) * n), 6) for label, n in sorted(counts.items())}


def _write_split(
    path: Path,
    records: Sequence[LabelledRecord],
    stats: SplitStats,
    tokens: dict[str, int],
    weights: dict[str, float] | None,
    prompt: PromptStyle,
) -> None:
    counts: list[int] = []
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            weight = weights[_label(record)] if weights else None
            example = sft_example(record, weight=weight, prompt=prompt)
            out.write(json.dumps(example, ensure_ascii=False) + "\n")
            stats.labels[_label(record)] += 1
            counts.append(tokens[_transcript_hash(record.turns)])
    stats.examples = len(records)
    stats.conversations = len({conversation_key(r) for r in records})
    if counts:
        stats.tokens = TokenStats(
            min=min(counts),
            mean=round(sum(counts) / len(counts), 1),
            max=max(counts),
            total=sum(counts),
        )


def build_sft_files(
    records: Iterable[LabelledRecord],
    out_dir: str | Path,
    *,
    holdout: float = DEFAULT_HOLDOUT,
    seed: int = 0,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    balance: bool = False,
    counter: TokenCounter | None = None,
    prompt: PromptStyle = "full",
) -> SftBuildStats:
    """Write ``train.jsonl``, ``holdout.jsonl`` and ``stats.json`` to ``out_dir`` (module doc).

    Args:
        records: labelled records, e.g. from
            :func:`~langchain_perceived_error.datasets.labels.read_labelled`.
        out_dir: created if missing; existing files of the same names are replaced.
        holdout: share of examples held out (by conversation, stratified by label).
        seed: split seed.
        max_tokens: examples estimated longer than this are dropped and counted.
        balance: give train examples a root ``weight`` so both classes weigh the same.
        counter: the token counter (default: :func:`resolve_token_counter` ``("auto")``).
        prompt: the judge's system prompt style; serve the tuned model with the same one
            (``PerceivedErrorJudge(model, prompt="compact")``).

    """
    counter = counter or resolve_token_counter("auto")
    stats = SftBuildStats(
        holdout_ratio=holdout,
        seed=seed,
        max_tokens=max_tokens,
        token_counter={"name": counter.name, "description": counter.description},
        prompt=prompt,
        prompt_version=PROMPT_VERSIONS[prompt],
    )
    kept, tokens = _filter(records, stats, counter)
    train, held = split_records(kept, holdout=holdout, seed=seed)
    if balance and train:
        stats.weights = _class_weights(train)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_split(out / TRAIN_FILE, train, stats.train, tokens, stats.weights, prompt)
    _write_split(out / HOLDOUT_FILE, held, stats.holdout, tokens, None, prompt)
    for split in (stats.train, stats.holdout):
        if split.examples < MIN_ROWS:
            stats.warnings.append(
                f"{split.file} has {split.examples} examples; Fireworks needs at least {MIN_ROWS}"
            )
    if stats.conflicting_duplicates:
        stats.warnings.append(
            f"{stats.conflicting_duplicates} duplicate transcripts carried a different label "
            "than the first copy, which was kept: review the labels"
        )
    (out / STATS_FILE).write_text(stats.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return stats


# -- validating -----------------------------------------------------------------------------------


class SftIssue(BaseModel):
    """One problem found in an SFT file; ``line`` is 1-based, None for the whole file."""

    line: int | None
    message: str

    def format(self, path: str) -> str:
        """``path:line: message`` (or ``path: message``)."""
        where = f"{path}:{self.line}" if self.line is not None else path
        return f"{where}: {self.message}"


class ValidationReport(BaseModel):
    """The result of :func:`validate_sft_file`."""

    path: str
    rows: int = 0
    weighted_rows: int = 0
    errors: list[SftIssue] = Field(default_factory=list)
    warnings: list[SftIssue] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not self.errors

    def lines(self) -> list[str]:
        """Every error, then every warning, as ``path:line: message`` strings."""
        return [f"error: {i.format(self.path)}" for i in self.errors] + [
            f"warning: {i.format(self.path)}" for i in self.warnings
        ]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_messages(messages: list[Any], line: int, report: ValidationReport) -> str | None:
    """Problems with roles, order and contents; returns the last assistant content when valid."""
    before = len(report.errors)
    expected = "user"
    for index, message in enumerate(messages, start=1):
        where = f"message {index}"
        if not isinstance(message, dict):
            report.errors.append(SftIssue(line=line, message=f"{where} is not an object"))
            return None
        role, content = message.get("role"), message.get("content")
        if not isinstance(content, str):
            report.errors.append(SftIssue(line=line, message=f"{where}: content is not a string"))
        extra = sorted(set(message) - _MESSAGE_KEYS)
        if extra:
            report.warnings.append(SftIssue(line=line, message=f"{where}: unknown keys {extra}"))
        if "weight" in message and message["weight"] not in (0, 1):
            report.errors.append(SftIssue(line=line, message=f"{where}: weight must be 0 or 1"))
        if role == "system" and index == 1:
            continue
        if role == "system":
            report.errors.append(
                SftIssue(line=line, message=f"{where}: a system message may only come first")
            )
        elif role != expected:
            report.errors.append(
                SftIssue(line=line, message=f"{where}: expected role {expected!r}, got {role!r}")
            )
        expected = "assistant" if role == "user" else "user"
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    if last.get("role") != "assistant":
        report.errors.append(
            SftIssue(line=line, message="the last message must be the assistant's answer")
        )
    if len(report.errors) > before:
        return None
    content = last.get("content")
    return content if isinstance(content, str) else None


def _check_verdict(content: str, line: int, report: ValidationReport) -> None:
    try:
        verdict = parse_verdict(content)
    except VerdictParseError as e:
        report.errors.append(SftIssue(line=line, message=f"assistant answer is not a verdict: {e}"))
        return
    if content != render_verdict(verdict.perceived_error, verdict.reason):
        report.warnings.append(
            SftIssue(
                line=line,
                message="assistant answer is a verdict but not exactly the judge's JSON "
                "(render_verdict): the model would learn a different output format",
            )
        )


def _check_row(
    row: Any,
    line: int,
    report: ValidationReport,
    max_tokens: int | None,
    counter: TokenCounter,
) -> bool:
    """Check one parsed row; True when it carries a root weight."""
    if not isinstance(row, dict):
        report.errors.append(SftIssue(line=line, message="not a JSON object"))
        return False
    extra = sorted(set(row) - _ROOT_KEYS)
    if extra:
        report.warnings.append(SftIssue(line=line, message=f"unknown keys {extra}"))
    weighted = "weight" in row
    if weighted and not (_is_number(row["weight"]) and row["weight"] > 0):
        report.errors.append(SftIssue(line=line, message="weight must be a positive number"))
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        report.errors.append(SftIssue(line=line, message="'messages' must be a non-empty list"))
        return weighted
    answer = _check_messages(messages, line, report)
    if answer is not None:
        _check_verdict(answer, line, report)
        if max_tokens is not None:
            count = count_message_tokens(messages, counter)
            if count > max_tokens:
                report.warnings.append(
                    SftIssue(
                        line=line,
                        message=f"about {count} tokens ({counter.name}), over {max_tokens}: "
                        "Fireworks would cut it",
                    )
                )
    return weighted


def _row(raw: RawLine, file: Path, report: ValidationReport) -> JsonLine | None:
    """The line read through the guarded reader; None (the problem reported) when unusable."""
    line = parse_line(raw, str(file))
    if line is None:
        report.errors.append(SftIssue(line=raw.number, message="blank line"))
    elif line.error is not None:
        message = str(line.error).removeprefix(f"{line.where}: ")
        report.errors.append(SftIssue(line=raw.number, message=message))
        return None
    return line


def validate_sft_file(
    path: str | Path,
    *,
    max_tokens: int | None = None,
    counter: TokenCounter | None = None,
) -> ValidationReport:
    """Check a Fireworks chat SFT file line by line before it is uploaded.

    Errors: a name not ending ``.jsonl``; blank or non-JSON lines; rows that are not objects with
    a non-empty ``messages`` list; messages that are not ``{"role", "content": str}``; roles out
    of order (an optional system message first, then user and assistant alternating, ending with
    the assistant); a last answer that :func:`~langchain_perceived_error.parse_verdict` rejects;
    per-message weights other than 0/1; root weights that are not positive numbers or are on
    some rows only; fewer than 3 or more than 3,000,000 rows. Warnings: unknown keys, answers that
    are verdicts but not the judge's exact JSON, and (with ``max_tokens``) over-long rows.
    """
    file = Path(path)
    report = ValidationReport(path=str(path))
    if file.suffix != ".jsonl":
        report.errors.append(SftIssue(line=None, message="the file name must end with .jsonl"))
    counter = counter or resolve_token_counter("auto")
    unweighted: list[int] = []
    try:
        with file.open("rb") as lines:
            for raw in numbered_lines(lines):
                report.rows += 1
                line = _row(raw, file, report)
                if line is None:
                    continue
                if _check_row(line.value, raw.number, report, max_tokens, counter):
                    report.weighted_rows += 1
                else:
                    unweighted.append(raw.number)
    except OSError as e:
        report.errors.append(SftIssue(line=None, message=f"cannot read the file: {e}"))
        return report
    if report.weighted_rows and unweighted:
        report.errors.append(
            SftIssue(
                line=unweighted[0],
                message=f"no root weight, but {report.weighted_rows} rows have one: weights "
                f"are all-or-none ({len(unweighted)} rows lack one)",
            )
        )
    if report.rows < MIN_ROWS:
        report.errors.append(
            SftIssue(line=None, message=f"{report.rows} rows; Fireworks needs at least {MIN_ROWS}")
        )
    if report.rows > MAX_ROWS:
        report.errors.append(
            SftIssue(line=None, message=f"{report.rows} rows; Fireworks allows at most {MAX_ROWS}")
        )
    return report
