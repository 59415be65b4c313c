"""A cascade of two judges: the cheap one settles what it is sure of, the expensive one the rest.

``JudgeResult.confidence`` is a judge's probability that a perceived error is present. A
:class:`CascadeThresholds` says when the cheap judge's result stands:

- ``settle_above``: a FLAGGED result (``perceived_error`` true) stands when its confidence is at
  least this value;
- ``settle_below``: a NOT-FLAGGED result stands when its confidence is at most this value;
- a SKIPPED result stands (no user turn after an assistant turn: no judge can find an error,
  and no model is called);
- anything else (no confidence, a failed judgement, a confidence between the thresholds, a
  verdict on the other side of its own confidence) goes to the expensive judge, whose result is
  the cascade's.

The thresholds are never guessed: :func:`choose_thresholds` picks them on labelled data (the
cheap judge's verdicts and confidences against the labels) as the widest ranges whose settled
records reach ``target_accuracy`` with at least ``min_settled`` records; a side that cannot reach
it is ``None`` (never settled). They are saved as JSON beside a run's outputs
(:meth:`CascadeThresholds.save`, ``perceived-error bench --cascade ... --report DIR`` writes
``DIR/cascade.json``) and read back by ``perceived-error judge --cascade ... --cascade-thresholds``.

:class:`CascadeJudge` is a :class:`~langchain_perceived_error.judge.runner.PerceivedErrorJudge`,
so every batch entry point (``judge_many``, ``ajudge_many``, ``judge_as_completed``...) runs the
cascade (the async ones a batch at a time: :meth:`CascadeJudge.ajudge_batch`). Each result's
``model`` names the judge that settled it; an escalated result's
``latency_s`` includes the cheap judge's time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus
from langchain_perceived_error.judge.graph import REQUEST_SLOTS, RequestSlots
from langchain_perceived_error.judge.models import RULES
from langchain_perceived_error.judge.runner import PerceivedErrorJudge

__all__ = [
    "DEFAULT_MIN_SETTLED",
    "DEFAULT_TARGET_ACCURACY",
    "CascadeJudge",
    "CascadeThresholds",
    "CascadeThresholdsError",
    "SideFit",
    "choose_thresholds",
    "settles",
]

DEFAULT_TARGET_ACCURACY = 0.95
"""Accuracy the cheap judge's settled records must reach on the labelled data."""
DEFAULT_MIN_SETTLED = 10
"""A side settles nothing unless at least this many labelled records back its threshold."""


class CascadeThresholdsError(ValueError):
    """A thresholds file cannot be read, or does not fit the judges given."""


class SideFit(BaseModel):
    """How one side's threshold did on the labelled data it was chosen on."""

    model_config = ConfigDict(extra="forbid")

    settled: int = Field(ge=0, description="Labelled records this side settles.")
    correct: int = Field(ge=0, description="Of them, those whose verdict matches the label.")
    candidates: int = Field(ge=0, description="Records on this side with a confidence.")

    @property
    def accuracy(self) -> float | None:
        """Share of settled records judged right (None when none)."""
        return self.correct / self.settled if self.settled else None


class CascadeThresholds(BaseModel):
    """When the cheap judge's result stands (see the module doc), and where that was decided."""

    model_config = ConfigDict(extra="forbid")

    cheap: str = Field(description="The cheap judge's spec.")
    expensive: str = Field(description="The expensive judge's spec.")
    settle_above: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Flagged results with confidence >= this stand."
    )
    settle_below: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Unflagged results with confidence <= this stand."
    )
    target_accuracy: float = Field(gt=0.0, le=1.0)
    min_settled: int = Field(ge=1)
    positive: SideFit | None = Field(default=None, description="The flagged side's fit.")
    negative: SideFit | None = Field(default=None, description="The unflagged side's fit.")
    chosen_on: dict[str, Any] = Field(
        default_factory=dict, description="The labelled data: file, label field, records, split."
    )
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    def settles(self, result: JudgeResult) -> bool:
        """Whether the cheap judge's ``result`` stands."""
        return settles(self, result.status, result.perceived_error, result.confidence)

    def save(self, path: Path) -> None:
        """Write the thresholds as indented JSON."""
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> CascadeThresholds:
        """Read a thresholds file.

        Raises:
            CascadeThresholdsError: naming the file and what is wrong with it.

        """
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            msg = f"cannot read cascade thresholds {path}: {e}"
            raise CascadeThresholdsError(msg) from e
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the file"
            msg = f"{path} is not a cascade thresholds file: {where}: {first['msg']}"
            raise CascadeThresholdsError(msg) from e

    def check_judges(self, cheap: str, expensive: str) -> None:
        """Refuse thresholds chosen for other judges.

        Raises:
            CascadeThresholdsError: when the specs differ from the ones they were chosen for.

        """
        if (cheap, expensive) != (self.cheap, self.expensive):
            msg = (
                f"the cascade thresholds were chosen for {self.cheap},{self.expensive}, "
                f"not {cheap},{expensive}"
            )
            raise CascadeThresholdsError(msg)

    def check_prompt(self, prompt_version: str) -> None:
        """Refuse thresholds chosen with another prompt than the one the cheap judge will send.

        A model's confidence depends on the prompt it reads, so thresholds chosen on one prompt
        say nothing about another. The rules judge reads no prompt, and a file that does not
        record its prompt (``chosen_on["prompt_version"]``, written by ``bench`` since the
        compact prompt exists) is taken as it is.

        Raises:
            CascadeThresholdsError: naming both versions.

        """
        chosen = self.chosen_on.get("prompt_version")
        if self.cheap == RULES or chosen is None or chosen == prompt_version:
            return
        msg = (
            f"the cascade thresholds were chosen with the prompt {chosen}, but {self.cheap} "
            f"would be sent {prompt_version}: choose them again with that prompt "
            "(bench --prompt ...), or judge with the prompt they were chosen with"
        )
        raise CascadeThresholdsError(msg)


def settles(
    thresholds: CascadeThresholds,
    status: JudgeStatus,
    perceived_error: bool | None,
    confidence: float | None,
) -> bool:
    """Whether a cheap result with this status, verdict and confidence stands."""
    if status is JudgeStatus.SKIPPED:
        return True
    if status is not JudgeStatus.JUDGED or perceived_error is None or confidence is None:
        return False
    if perceived_error:
        return thresholds.settle_above is not None and confidence >= thresholds.settle_above
    return thresholds.settle_below is not None and confidence <= thresholds.settle_below


def _fit_side(
    pairs: Sequence[tuple[float, bool]], *, flagged: bool, target: float, min_settled: int
) -> tuple[float | None, SideFit]:
    """The widest threshold on one side whose settled records reach ``target`` accuracy.

    ``pairs`` are ``(confidence, label)`` of the cheap judge's results on this side. Flagged:
    a threshold ``t`` settles ``confidence >= t``; unflagged: ``confidence <= t``.
    """
    ordered = sorted(pairs, key=lambda pair: pair[0], reverse=flagged)  # most confident first
    best: tuple[float | None, SideFit] = (
        None,
        SideFit(settled=0, correct=0, candidates=len(pairs)),
    )
    correct = 0
    for index, (confidence, label) in enumerate(ordered):
        correct += label == flagged
        if index + 1 < len(ordered) and ordered[index + 1][0] == confidence:
            continue  # a threshold settles every record with that confidence or none
        settled = index + 1
        if settled >= min_settled and correct / settled >= target:
            best = (confidence, SideFit(settled=settled, correct=correct, candidates=len(pairs)))
    return best


def _picked(values: Sequence[Any] | None, positions: Sequence[int]) -> list[Any] | None:
    return None if values is None else [values[i] for i in positions]


def choose_thresholds(
    outcomes: Sequence[tuple[JudgeStatus, bool | None, float | None, bool]],
    *,
    cheap: str,
    expensive: str,
    target_accuracy: float = DEFAULT_TARGET_ACCURACY,
    min_settled: int = DEFAULT_MIN_SETTLED,
    chosen_on: dict[str, Any] | None = None,
) -> CascadeThresholds:
    """Thresholds from the cheap judge's ``(status, perceived_error, confidence, label)`` on
    labelled records: on each side, the widest range whose settled records reach
    ``target_accuracy`` (with at least ``min_settled`` of them); ``None`` when none does.

    Raises:
        ValueError: for a target outside (0, 1] or ``min_settled`` < 1.

    """
    if not 0.0 < target_accuracy <= 1.0:
        msg = f"target_accuracy must be in (0, 1], got {target_accuracy}"
        raise ValueError(msg)
    if min_settled < 1:
        msg = f"min_settled must be at least 1, got {min_settled}"
        raise ValueError(msg)
    sides: dict[bool, list[tuple[float, bool]]] = {True: [], False: []}
    for status, predicted, confidence, label in outcomes:
        if status is JudgeStatus.JUDGED and predicted is not None and confidence is not None:
            sides[predicted].append((confidence, label))
    above, positive = _fit_side(
        sides[True], flagged=True, target=target_accuracy, min_settled=min_settled
    )
    below, negative = _fit_side(
        sides[False], flagged=False, target=target_accuracy, min_settled=min_settled
    )
    return CascadeThresholds(
        cheap=cheap,
        expensive=expensive,
        settle_above=above,
        settle_below=below,
        target_accuracy=target_accuracy,
        min_settled=min_settled,
        positive=positive,
        negative=negative,
        chosen_on=chosen_on or {},
    )


class CascadeJudge(PerceivedErrorJudge):
    """Judge with ``cheap``; hand what its thresholds do not settle to ``expensive``.

    It shares the expensive judge's model, graph and rate limiter (``model``, ``graph`` and
    ``rate_limiter`` are the expensive judge's); ``model_name`` names both.
    """

    def __init__(
        self,
        cheap: PerceivedErrorJudge,
        expensive: PerceivedErrorJudge,
        thresholds: CascadeThresholds,
    ) -> None:
        """Bind the two judges and the thresholds chosen for them (no model is built here).

        Raises:
            CascadeThresholdsError: when the thresholds were chosen with another prompt than the
                one the cheap judge sends (:meth:`CascadeThresholds.check_prompt`).

        """
        thresholds.check_prompt(cheap.prompt_version)
        # Not PerceivedErrorJudge.__init__: both judges are built already; the attributes the
        # base class's batch methods and callers read are the expensive judge's.
        self.cheap = cheap
        self.expensive = expensive
        self.thresholds = thresholds
        self.model = expensive.model
        self.model_name = f"cascade({cheap.model_name} -> {expensive.model_name})"
        self.max_input_tokens = expensive.max_input_tokens
        self.max_attempts = expensive.max_attempts
        self.rate_limiter = expensive.rate_limiter
        self.graph = expensive.graph
        self.prompt = expensive.prompt
        versions = dict.fromkeys([cheap.prompt_version, expensive.prompt_version])
        self.prompt_version = "+".join(versions)  # one name when both send the same prompt

    def _escalated(self, cheap: JudgeResult, expensive: JudgeResult) -> JudgeResult:
        return expensive.model_copy(update={"latency_s": cheap.latency_s + expensive.latency_s})

    def judge(self, record: Any, *, context: Any = None) -> JudgeResult:
        """Judge one trace through the cascade."""
        first = self.cheap.judge(record, context=context)
        if self.thresholds.settles(first):
            return first
        return self._escalated(first, self.expensive.judge(record, context=context))

    async def ajudge(self, record: Any, *, context: Any = None) -> JudgeResult:
        """Async :meth:`judge`."""
        first = await self.cheap.ajudge(record, context=context)
        if self.thresholds.settles(first):
            return first
        return self._escalated(first, await self.expensive.ajudge(record, context=context))

    def judge_batch(
        self,
        records: Sequence[Any],
        *,
        contexts: Sequence[Any] | None = None,
        config: RunnableConfig | None = None,
    ) -> list[JudgeResult]:
        """Sync :meth:`ajudge_batch` (sync ``judge_many`` calls this, a batch per thread)."""
        records = list(records)
        firsts = self.cheap.judge_batch(records, contexts=contexts, config=config)
        rest = self._unsettled(firsts)
        if not rest:
            return firsts
        seconds = self.expensive.judge_batch(
            [records[i] for i in rest], contexts=_picked(contexts, rest), config=config
        )
        return self._combined(firsts, rest, seconds)

    async def ajudge_batch(
        self,
        records: Sequence[Any],
        *,
        contexts: Sequence[Any] | None = None,
        config: RunnableConfig | None = None,
    ) -> list[JudgeResult]:
        """Judge a batch through the cascade: one run of the cheap judge's graph over the batch,
        then one run of the expensive judge's over what it did not settle (the async many-trace
        paths call this)."""
        records = list(records)
        firsts = await self.cheap.ajudge_batch(records, contexts=contexts, config=config)
        rest = self._unsettled(firsts)
        if not rest:
            return firsts
        slots = ((config or {}).get("configurable") or {}).get(REQUEST_SLOTS)
        if isinstance(slots, RequestSlots):
            slots.admit()  # a second graph run for this batch, counted like the first
        seconds = await self.expensive.ajudge_batch(
            [records[i] for i in rest], contexts=_picked(contexts, rest), config=config
        )
        return self._combined(firsts, rest, seconds)

    def _unsettled(self, firsts: Sequence[JudgeResult]) -> list[int]:
        """Positions of the cheap judge's results its thresholds do not settle."""
        return [i for i, first in enumerate(firsts) if not self.thresholds.settles(first)]

    def _combined(
        self, firsts: Sequence[JudgeResult], rest: Sequence[int], seconds: Sequence[JudgeResult]
    ) -> list[JudgeResult]:
        results = list(firsts)
        for index, second in zip(rest, seconds, strict=True):
            results[index] = self._escalated(firsts[index], second)
        return results

    async def aclose(self) -> None:
        """Close both judges' async HTTP clients."""
        await self.cheap.aclose()
        await self.expensive.aclose()
