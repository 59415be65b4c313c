"""Panel review files: the traces the models could not settle, written out for a human.

A review file holds one :class:`ReviewItem` per line (the rendered transcript, every model's
:class:`ReviewVote`, and empty answer fields). :func:`read_reviews` streams its items;
:func:`read_review_answers` yields the answered ones as human-labelled records (provenance
``human``), counting the unanswered ones in a
:class:`~langchain_perceived_error.datasets.labels.LoadReport`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langchain_perceived_error.core.prompts import render_transcript
from langchain_perceived_error.core.schemas import (
    LabelledRecord,
    Provenance,
    SourceIds,
    Turn,
    Verdict,
)
from langchain_perceived_error.datasets.labels import (
    HUMAN_REASONS,
    LabelFileError,
    LoadReport,
    expect_object,
    read_json_lines,
    validation_problems,
)

__all__ = ["ReviewItem", "ReviewVote", "read_review_answers", "read_reviews"]


class ReviewVote(BaseModel):
    """One model's verdict on a review item, shown to the human."""

    model_config = ConfigDict(extra="forbid")

    stage: Literal["panel", "adjudication"]
    model: str
    status: str = Field(description="judged, skipped or failed.")
    perceived_error: bool | None = None
    reason: str | None = Field(default=None, description="The verdict's reason, or the error.")
    confidence: float | None = Field(
        default=None, description="The model's probability of a perceived error, if it gave one."
    )
    evidence_turn: int | None = Field(
        default=None, description="0-based index of the user turn its verdict rests on, if known."
    )


class ReviewItem(BaseModel):
    """One line of a panel review file: a trace the models could not settle, for a human.

    The human fills ``perceived_error`` (true/false; ``"yes"``/``"no"`` are read as such, anything
    else is an error), ``reason`` (optional: one sentence) and ``reviewer`` (optional: who
    answered); ``perceived-error label --import-reviews`` reads the answers back with
    :func:`read_review_answers`.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    why: str = Field(description="Why the item needs a human (split panel, a failure, ...).")
    transcript: str = Field(description="The transcript rendered as the judge reads it.")
    votes: list[ReviewVote] = Field(default_factory=list)
    perceived_error: bool | None = Field(default=None, description="The human's answer.")
    reason: str | None = Field(default=None, description="The human's reason (optional).")
    reviewer: str | None = Field(default=None, description="Who answered (optional).")
    reviewed_at: datetime | None = None
    turns: list[Turn] = Field(description="The transcript's turns (to rebuild the record).")
    sources: SourceIds = Field(default_factory=SourceIds)

    @classmethod
    def create(
        cls,
        record_id: str,
        turns: Sequence[Turn],
        votes: Sequence[ReviewVote],
        *,
        why: str,
        sources: SourceIds | None = None,
    ) -> ReviewItem:
        """A review item with the transcript rendered and empty answer fields."""
        return cls(
            id=record_id,
            why=why,
            transcript=render_transcript(turns),
            votes=list(votes),
            turns=list(turns),
            sources=sources or SourceIds(),
        )

    @property
    def answered(self) -> bool:
        """True when the human gave a true/false answer."""
        return self.perceived_error is not None

    def to_labelled(self) -> LabelledRecord:
        """The human's answer as a labelled record (provenance ``human``).

        Raises:
            ValueError: when the item has no answer yet.

        """
        if self.perceived_error is None:
            msg = f"review item {self.id!r} has no answer"
            raise ValueError(msg)
        reason = (self.reason or "").strip() or HUMAN_REASONS[self.perceived_error]
        return LabelledRecord(
            id=self.id,
            turns=self.turns,
            label=Verdict(perceived_error=self.perceived_error, reason=reason),
            provenance=Provenance(
                kind="human", by=self.reviewer or "reviewer", at=self.reviewed_at
            ),
            sources=self.sources,
            metadata={"label_stage": "human", "votes": [v.model_dump() for v in self.votes]},
        )


def read_reviews(path: str | Path) -> Iterator[ReviewItem]:
    """Stream every item of a review file, answered or not.

    Raises:
        LabelFileError: naming ``file:line`` for a line that is not a review item (for example
            a ``perceived_error`` typed as ``"yes"`` instead of true/false).

    """
    for where, value in read_json_lines(Path(path)):
        try:
            yield ReviewItem.model_validate(expect_object(where, value))
        except ValidationError as e:
            msg = (
                f"{where}: not a review item ({validation_problems(e)}): perceived_error is "
                "true, false or null, in the files `perceived-error label --review FILE` writes"
            )
            raise LabelFileError(msg) from e


def read_review_answers(
    path: str | Path, *, report: LoadReport | None = None
) -> Iterator[LabelledRecord]:
    """The answered items of a review file as human-labelled records; unanswered ones counted."""
    report = report if report is not None else LoadReport()
    for item in read_reviews(path):
        report.read += 1
        if not item.answered:
            report.skip("not answered yet", item.id)
            continue
        report.loaded += 1
        yield item.to_labelled()
